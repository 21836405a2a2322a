//! A SentencePiece vocabulary from a GGUF (`tokenizer.ggml.model = "llama"`)
//! as llama.cpp tokenizes it (`llm_tokenizer_spm`): each character a
//! symbol, then the adjacent pair whose joined piece scores highest merged,
//! again and again, from a queue of candidate pairs; what is left
//! that is not a piece comes out as byte tokens.
//!
//! It needs only the vocabulary. The same tokenization as a BPE wants a
//! merge table of every split of every piece into two pieces, ranked by
//! score: half a million merges for Gemma's 262,144 pieces, which cost most
//! of the time to a first token to build (the README's speed notes).
//!
//! A `tokenizers` model, so the pipeline around it (the control and
//! user-defined tokens matched whole, the normalizer, the decoder) is
//! `tokenizers`' own.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use tokenizers::models::bpe::BpeTrainer;
use tokenizers::{Model, Token};

use super::pieces::Pieces;

/// A vocabulary of scored pieces.
pub struct SentencePiece {
    pieces: Pieces,
    scores: Vec<f32>,
    /// Whether a piece takes part in merges: normal pieces and bytes, as
    /// llama.cpp's SentencePiece vocabularies mark them (control,
    /// user-defined and unused pieces are matched whole or not at all).
    merges: Vec<bool>,
    /// `<0x00>` … `<0xFF>`, where the vocabulary has them.
    bytes: [Option<u32>; 256],
    unk: Option<u32>,
}

impl SentencePiece {
    /// `pieces[i]` scores `scores[i]`; `merges(i)` says whether it takes part in merges.
    pub fn new(pieces: Vec<String>, scores: &[f64], merges: impl Fn(usize) -> bool, unk: Option<u32>) -> Self {
        let pieces = Pieces::new(pieces);
        let bytes = std::array::from_fn(|b| pieces.get(&format!("<0x{b:02X}>")));
        let scores = (0..pieces.len()).map(|i| scores.get(i).copied().unwrap_or(0.0) as f32).collect();
        let merges = (0..pieces.len()).map(merges).collect();
        Self { pieces, scores, merges, bytes, unk }
    }

    /// The text of a piece the vocabulary has (bytes and the unknown piece).
    fn piece(&self, id: u32) -> String {
        self.pieces.piece(id).unwrap_or_default().to_owned()
    }

    /// The piece `text` is, if it takes part in merges.
    fn mergeable(&self, text: &str) -> Option<u32> {
        self.pieces.get(text).filter(|&id| self.merges[id as usize])
    }
}

/// A run of the text: one character at first, grown by merges.
#[derive(Clone, Copy)]
struct Symbol {
    start: usize,
    end: usize,
    /// Its piece, where it is one that merges.
    id: Option<u32>,
    prev: Option<usize>,
    next: Option<usize>,
}

/// Two adjacent symbols whose joined text is a piece.
#[derive(PartialEq)]
struct Pair {
    score: f32,
    id: u32,
    /// The left symbol (its index is its first byte's), where they meet, and
    /// where the right one ends: a pair is stale once either has grown.
    left: usize,
    mid: usize,
    end: usize,
}

impl Eq for Pair {}

impl Ord for Pair {
    /// Highest score first; between equal scores, the piece earlier in the
    /// vocabulary, then the shorter left part, then the leftmost pair.
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then(other.id.cmp(&self.id))
            .then((other.mid - other.left).cmp(&(self.mid - self.left)))
            .then(other.left.cmp(&self.left))
    }
}

impl PartialOrd for Pair {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl SentencePiece {
    /// The pair of symbols `l` and `r`, if their joined text is a piece and both are pieces that merge.
    fn pair(&self, text: &str, symbols: &[Symbol], l: usize, r: usize) -> Option<Pair> {
        let (a, b) = (&symbols[l], &symbols[r]);
        a.id?;
        b.id?;
        let id = self.mergeable(&text[a.start..b.end])?;
        Some(Pair { score: self.scores[id as usize], id, left: l, mid: a.end, end: b.end })
    }
}

impl Model for SentencePiece {
    type Trainer = BpeTrainer;

    fn tokenize(&self, text: &str) -> tokenizers::Result<Vec<Token>> {
        // Symbols are indexed by their first byte, so that a pair names its
        // left symbol whatever merges happen around it.
        let mut symbols = vec![Symbol { start: 0, end: 0, id: None, prev: None, next: None }; text.len()];
        let mut last = None;
        for (at, c) in text.char_indices() {
            let end = at + c.len_utf8();
            symbols[at] = Symbol { start: at, end, id: self.mergeable(&text[at..end]), prev: last, next: None };
            if let Some(p) = last {
                symbols[p].next = Some(at);
            }
            last = Some(at);
        }
        let mut queue = BinaryHeap::new();
        for (at, _) in text.char_indices() {
            if let Some(next) = symbols[at].next {
                queue.extend(self.pair(text, &symbols, at, next));
            }
        }
        while let Some(p) = queue.pop() {
            let l = symbols[p.left];
            let Some(r) = l.next else { continue };
            if l.end != p.mid || symbols[r].end != p.end {
                continue;
            }
            let next = symbols[r].next;
            symbols[p.left] = Symbol { end: p.end, id: Some(p.id), next, ..l };
            // The right one is gone: empty, so no pair naming it is taken.
            symbols[r].end = symbols[r].start;
            if let Some(n) = next {
                symbols[n].prev = Some(p.left);
            }
            if let Some(prev) = l.prev {
                queue.extend(self.pair(text, &symbols, prev, p.left));
            }
            if let Some(n) = next {
                queue.extend(self.pair(text, &symbols, p.left, n));
            }
        }
        let mut tokens = Vec::new();
        let mut at = text.char_indices().next().map(|_| 0);
        while let Some(i) = at {
            let s = symbols[i];
            let piece = &text[s.start..s.end];
            // A merged symbol is a piece; a character may be one that does not merge.
            match s.id.or_else(|| self.pieces.get(piece)) {
                Some(id) => tokens.push(Token::new(id, piece.to_owned(), (s.start, s.end))),
                None => {
                    let bytes: Option<Vec<u32>> = piece.bytes().map(|b| self.bytes[b as usize]).collect();
                    match (bytes, self.unk) {
                        (Some(ids), _) => {
                            for (k, id) in ids.into_iter().enumerate() {
                                let value = self.piece(id);
                                tokens.push(Token::new(id, value, (s.start + k, s.start + k + 1)));
                            }
                        }
                        // Unknown characters in a row are one unknown token.
                        (None, Some(unk)) => match tokens.last_mut() {
                            Some(t) if t.id == unk && t.offsets.1 == s.start => t.offsets.1 = s.end,
                            _ => tokens.push(Token::new(unk, self.piece(unk), (s.start, s.end))),
                        },
                        (None, None) => {}
                    }
                }
            }
            at = s.next;
        }
        Ok(tokens)
    }

    super::pieces::vocabulary_methods!();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab(pieces: &[(&str, f64)]) -> SentencePiece {
        let mut all: Vec<String> = pieces.iter().map(|p| p.0.to_owned()).collect();
        let mut scores: Vec<f64> = pieces.iter().map(|p| p.1).collect();
        all.push("<unk>".into());
        scores.push(0.0);
        for b in 0..=255u8 {
            all.push(format!("<0x{b:02X}>"));
            scores.push(0.0);
        }
        let unk = pieces.len() as u32;
        SentencePiece::new(all, &scores, move |i| i != unk as usize, Some(unk))
    }

    fn ids(v: &SentencePiece, text: &str) -> Vec<String> {
        v.tokenize(text).unwrap().into_iter().map(|t| t.value).collect()
    }

    #[test]
    fn the_best_scoring_pair_merges_first() {
        let v = vocab(&[("a", -1.0), ("b", -1.0), ("c", -1.0), ("ab", -3.0), ("bc", -2.0)]);
        assert_eq!(ids(&v, "abc"), ["a", "bc"]);
        let v = vocab(&[("a", -1.0), ("b", -1.0), ("c", -1.0), ("ab", -2.0), ("bc", -3.0)]);
        assert_eq!(ids(&v, "abc"), ["ab", "c"]);
        // A piece made by a merge merges on: "ab" + "c", though "abc" scores lowest.
        let v = vocab(&[("a", -1.0), ("b", -1.0), ("c", -1.0), ("ab", -2.0), ("abc", -9.0)]);
        assert_eq!(ids(&v, "abc"), ["abc"]);
        // Equal pairs: the leftmost first.
        let v = vocab(&[("a", -1.0), ("aa", -2.0)]);
        assert_eq!(ids(&v, "aaa"), ["aa", "a"]);
    }

    #[test]
    fn a_merged_symbol_takes_no_more_merges_of_its_own() {
        // "ह" merges into "▁ह" first; the pair "हि" queued before must not
        // merge the gone "ह" again (Devanagari from Gemma's vocabulary).
        let v = vocab(&[
            ("▁", -9.0),
            ("ह", -9.0),
            ("ि", -9.0),
            ("न", -9.0),
            ("्", -9.0),
            ("द", -9.0),
            ("ी", -9.0),
            ("▁ह", -0.1),
            ("न्", -0.2),
            ("िन", -0.3),
            ("दी", -0.4),
            ("▁हि", -0.5),
            ("हि", -0.6),
            ("न्द", -0.7),
            ("न्दी", -0.8),
            ("▁हिन्दी", -0.9),
        ]);
        assert_eq!(ids(&v, "▁हिन्दी"), ["▁हिन्दी"]);
    }

    #[test]
    fn characters_outside_the_vocabulary_become_bytes() {
        let v = vocab(&[("a", -1.0)]);
        assert_eq!(ids(&v, "aé"), ["a", "<0xC3>", "<0xA9>"]);
        assert_eq!(ids(&v, ""), Vec::<String>::new());
    }

    #[test]
    fn pieces_that_do_not_merge_are_not_made() {
        // "ab" is a piece but marked not to merge (as a control token is).
        let pieces = vec!["a".to_owned(), "b".to_owned(), "ab".to_owned()];
        let v = SentencePiece::new(pieces, &[-1.0, -1.0, -0.5], |i| i != 2, None);
        assert_eq!(ids(&v, "ab"), ["a", "b"]);
    }
}
