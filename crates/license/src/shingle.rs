//! Word-trigram fingerprints of license texts.
//!
//! Shared verbatim by `build.rs` (which fingerprints the canonical SPDX texts at
//! build time) and the runtime matcher, so both sides hash words identically.

/// Lower-cased runs of ASCII letters and digits; everything else separates.
/// Punctuation, markdown and line wrapping therefore never change a fingerprint.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for ch in text.chars() {
        if ch.is_ascii_alphanumeric() {
            cur.push(ch.to_ascii_lowercase());
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn fnv1a(parts: &[&str]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for p in parts {
        for b in p.bytes() {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
        h ^= 0x20;
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// Hashes of every three consecutive words, sorted and de-duplicated.
pub fn shingles_of_words(words: &[String]) -> Vec<u32> {
    let mut out: Vec<u32> = words.windows(3).map(|w| fnv1a(&[&w[0], &w[1], &w[2]])).collect();
    out.sort_unstable();
    out.dedup();
    out
}

pub fn shingles(text: &str) -> Vec<u32> {
    shingles_of_words(&words(text))
}
