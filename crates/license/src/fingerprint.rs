//! Matching a text against the canonical standard licenses by word-trigram
//! overlap (the idea behind askalono, on a precomputed index small enough to
//! ship in the page).

use std::sync::OnceLock;

use crate::shingle;

static BLOB: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/fingerprints.bin"));

struct Entry {
    spdx: &'static str,
    shingles: Vec<u32>,
}

fn index() -> &'static [Entry] {
    static INDEX: OnceLock<Vec<Entry>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut out = Vec::new();
        let mut at = 0;
        while at < BLOB.len() {
            let n = usize::from(BLOB[at]);
            at += 1;
            let id = std::str::from_utf8(&BLOB[at..at + n]).unwrap_or("");
            at += n;
            let count = u32::from_le_bytes([BLOB[at], BLOB[at + 1], BLOB[at + 2], BLOB[at + 3]]) as usize;
            at += 4;
            let shingles = BLOB[at..at + 4 * count]
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            at += 4 * count;
            out.push(Entry { spdx: id, shingles });
        }
        out
    })
}

/// How a text compares with one canonical license.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub spdx: &'static str,
    /// Dice coefficient of the two trigram sets (1.0 = same words in the same order).
    pub score: f32,
    /// Share of the canonical text's trigrams found in the text.
    pub coverage: f32,
}

fn overlap(a: &[u32], b: &[u32]) -> usize {
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
    let mut best: Option<(f32, Match)> = None;
    for e in index() {
        let common = overlap(&sh, &e.shingles) as f32;
        let score = 2.0 * common / (sh.len() + e.shingles.len()) as f32;
        let coverage = common / e.shingles.len().max(1) as f32;
        // Coverage only speaks for a license embedded in a much longer text;
        // otherwise it would favour a short license contained in a longer
        // one (BSD-2-Clause inside BSD-3-Clause).
        let embedded = sh.len() as f32 > 1.3 * e.shingles.len() as f32;
        let rank = if embedded { score.max(coverage * 0.98) } else { score };
        if best.as_ref().is_none_or(|(r, _)| rank > *r) {
            best = Some((rank, Match { spdx: e.spdx, score, coverage }));
        }
    }
    best.map(|(_, m)| m).filter(|m| m.score >= 0.55 || m.coverage >= 0.8)
}

/// Paragraphs of `text` (as 0-based line ranges) that the canonical license
/// does not contain: the clauses someone added to a standard license.
pub fn added_paragraphs(text: &str, spdx: &str) -> Vec<(usize, usize)> {
    let Some(entry) = index().iter().find(|e| e.spdx == spdx) else {
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
        assert_eq!(m.spdx, "MIT");
        assert!(m.score > 0.9, "{m:?}");
        let modified = format!("{MIT}\nThe Software may not be used for any commercial purpose whatsoever without a separate written agreement with the authors.\n");
        assert_eq!(best(&modified).map(|m| m.spdx), Some("MIT"));
        let added = added_paragraphs(&modified, "MIT");
        assert_eq!(added.len(), 1);
    }

    #[test]
    fn prose_is_not_a_license() {
        assert!(best("This is a model card about a small language model trained on web text. It answers questions.")
            .is_none());
    }
}
