//! Matching a text against the license texts of ScanCode's LicenseDB by
//! word-trigram overlap (the idea behind askalono), on an index that build.rs
//! makes small enough to ship in the page: every trigram of the licenses with
//! a data file, a bottom-k sketch of the other SPDX-listed ones.

use std::sync::OnceLock;

use crate::known::{Known, KNOWN};
use crate::shingle;

static BLOB: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/fingerprints.bin"));

struct Entry {
    known: &'static Known,
    /// Every trigram (`true`), or the smallest hashes only.
    whole: bool,
    /// How many distinct trigrams the text has.
    total: usize,
    shingles: Vec<u32>,
}

fn u32_at(at: usize) -> u32 {
    BLOB.get(at..at + 4).map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn index() -> &'static [Entry] {
    static INDEX: OnceLock<Vec<Entry>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut out = Vec::new();
        let mut at = 0;
        // The blob is build.rs's own output; a record index past the table would be its bug.
        while at + 13 <= BLOB.len() {
            let record = u32_at(at) as usize;
            let whole = BLOB[at + 4] == 1;
            let total = u32_at(at + 5) as usize;
            let count = u32_at(at + 9) as usize;
            at += 13;
            let shingles = (0..count).map(|i| u32_at(at + 4 * i)).collect();
            at += 4 * count;
            if let Some(known) = KNOWN.get(record) {
                out.push(Entry { known, whole, total, shingles });
            }
        }
        out
    })
}

/// How a text compares with one license of the database.
#[derive(Debug, Clone)]
pub struct Match {
    pub known: &'static Known,
    /// Dice coefficient of the two trigram sets (1.0 = same words in the same order).
    pub score: f32,
    /// Share of the license text's trigrams found in the text.
    pub coverage: f32,
}

/// How many hashes two sorted sets share: a merge, or for a small set (a
/// sketch) against a large one, a binary search per hash.
fn overlap(a: &[u32], b: &[u32]) -> usize {
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if small.len() * 16 < large.len() {
        return small.iter().filter(|h| large.binary_search(h).is_ok()).count();
    }
    merge_overlap(a, b)
}

fn merge_overlap(a: &[u32], b: &[u32]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// The best standard license for `text`, if any resembles it.
///
/// A whole license scores high on `score`; a license embedded in a longer
/// document (a README quoting it, a license with clauses added) is found by
/// `coverage` instead.
pub fn best(text: &str) -> Option<Match> {
    let sh = shingle::shingles(text);
    if sh.len() < 8 {
        return None;
    }
    // Of the licenses the text resembles (as a whole, or holding most of one),
    // the one that explains most of its trigrams: MIT over MIT-0 in an MIT
    // text with a clause added, BSD-3-Clause over BSD-2-Clause.
    let mut best: Option<(f32, f32, Match)> = None;
    for e in index() {
        // A sketch's share of hashes found estimates the share of the whole text found.
        let coverage = overlap(&sh, &e.shingles) as f32 / e.shingles.len().max(1) as f32;
        let common = coverage * e.total as f32;
        let score = 2.0 * common / (sh.len() + e.total) as f32;
        if score < 0.55 && coverage < 0.8 {
            continue;
        }
        // A sketch's estimate wavers: it wins only when it is clearly ahead.
        let explained = if e.whole { common } else { 0.9 * common };
        let better = best.as_ref().is_none_or(|(x, s, _)| explained > *x || (explained == *x && score > *s));
        if better {
            best = Some((explained, score, Match { known: e.known, score, coverage }));
        }
    }
    best.map(|(_, _, m)| m)
}

/// Of several licenses (versions sharing a title), the one whose published
/// text explains most of `text`; the first when none has a text.
pub fn closest(text: &str, candidates: &[&'static Known]) -> Option<&'static Known> {
    let sh = shingle::shingles(text);
    let explained = |k: &Known| {
        index().iter().filter(|e| std::ptr::eq(e.known, k)).map(|e| overlap(&sh, &e.shingles)).max().unwrap_or(0)
    };
    let mut best: Option<(usize, &'static Known)> = None;
    for k in candidates {
        let n = explained(k);
        if best.is_none_or(|(b, _)| n > b) {
            best = Some((n, k));
        }
    }
    best.map(|(_, k)| k)
}

/// Whether `text` holds the license's own text rather than naming it: most
/// of its published text where the database has it, else a text of a
/// license's length.
pub fn holds_text(text: &str, known: &Known) -> bool {
    let sh = shingle::shingles(text);
    let mut texts = index().iter().filter(|e| std::ptr::eq(e.known, known)).peekable();
    if texts.peek().is_none() {
        return sh.len() >= MIN_LICENSE_TRIGRAMS;
    }
    texts.any(|e| overlap(&sh, &e.shingles) as f32 >= 0.3 * e.shingles.len() as f32)
}

/// The fewest distinct word trigrams of a license text: the shortest
/// licenses the database holds (ISC, MIT-0) have about a hundred; a file
/// that names a license and links it has a few dozen.
const MIN_LICENSE_TRIGRAMS: usize = 90;

/// Paragraphs of `text` (as 0-based line ranges) that the canonical license
/// does not contain: the clauses someone added to a standard license.
pub fn added_paragraphs(text: &str, known: &Known) -> Vec<(usize, usize)> {
    let Some(entry) = index().iter().find(|e| e.whole && std::ptr::eq(e.known, known)) else {
        return Vec::new();
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut start = 0;
    while start < lines.len() {
        if lines[start].trim().is_empty() {
            start += 1;
            continue;
        }
        let mut end = start;
        while end < lines.len() && !lines[end].trim().is_empty() {
            end += 1;
        }
        let para = lines[start..end].join(" ");
        let words = shingle::words(&para);
        if words.len() >= 12 {
            let sh = shingle::shingles_of_words(&words);
            let common = overlap(&sh, &entry.shingles);
            let known = common as f32 / sh.len().max(1) as f32;
            // A paragraph mostly new, or a standard paragraph with a sentence or more
            // written into it (a changed definition, a clause added mid-section).
            if known < 0.25 || sh.len() - common >= 24 {
                out.push((start, end));
            }
        }
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIT: &str = "MIT License\n\nCopyright (c) 2024 Someone\n\nPermission is hereby granted, free of charge, to any person obtaining a copy of this software and associated documentation files (the \"Software\"), to deal in the Software without restriction, including without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the following conditions:\n\nThe above copyright notice and this permission notice shall be included in all copies or substantial portions of the Software.\n\nTHE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.\n";

    #[test]
    fn identifies_mit_and_its_additions() {
        let m = best(MIT).expect("match");
        assert_eq!(m.known.spdx, Some("MIT"));
        assert!(m.score > 0.9, "{m:?}");
        let modified = format!("{MIT}\nThe Software may not be used for any commercial purpose whatsoever without a separate written agreement with the authors.\n");
        assert_eq!(best(&modified).and_then(|m| m.known.spdx), Some("MIT"));
        let added = added_paragraphs(&modified, m.known);
        assert_eq!(added.len(), 1);
    }

    #[test]
    fn prose_is_not_a_license() {
        assert!(best("This is a model card about a small language model trained on web text. It answers questions.")
            .is_none());
    }
}
