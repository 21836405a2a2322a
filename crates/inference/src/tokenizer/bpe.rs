//! A GPT-2 BPE from a GGUF (`tokenizer.ggml.model = "gpt2"`): the pieces
//! and the ranked merges of `tokenizer.ggml.tokens` and `.merges`, merged
//! as `tokenizers`' BPE merges them (and llama.cpp's `llm_tokenizer_bpe`):
//! each character a symbol, then the adjacent pair of lowest rank joined,
//! the leftmost first between equals, until no pair has a merge.
//!
//! `tokenizers`' own BPE gives the same tokens; it keeps the vocabulary as
//! two maps of owned strings (text to id and back) beside a map of merges,
//! several times the text's size in a browser worker that has only what the
//! model leaves it (the README's memory notes have the figures). Here the
//! pieces are held once (`Pieces`) and a merge is 16 bytes in a hash table. A
//! `tokenizers` model, so the pipeline around it (pre-tokenizer, added
//! tokens, byte-level decoder) is `tokenizers`' own.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};
use tokenizers::models::bpe::BpeTrainer;
use tokenizers::{Model, Token};

use super::pieces::Pieces;

/// Two pieces that join into a third, and the rank of that merge (its
/// place in the list: the lower, the sooner it is made).
#[derive(Clone, Copy)]
struct Merge {
    left: u32,
    right: u32,
    rank: u32,
    id: u32,
}

pub struct Bpe {
    pieces: Pieces,
    merges: HashTable<Merge>,
    hasher: DefaultHashBuilder,
}

/// A merge whose parts or result the vocabulary does not have.
#[derive(Debug, thiserror::Error)]
#[error("merge {rank} (\"{left} {right}\"): \"{missing}\" is not in the vocabulary")]
pub struct MergeOutOfVocabulary {
    pub rank: usize,
    pub left: String,
    pub right: String,
    pub missing: String,
}

impl Bpe {
    /// `merges` in rank order, each a pair of pieces. A pair listed twice
    /// keeps its last rank, as `tokenizers` keeps it.
    pub fn new<'m>(
        pieces: Vec<String>,
        merges: impl IntoIterator<Item = (&'m str, &'m str)>,
    ) -> Result<Self, MergeOutOfVocabulary> {
        let pieces = Pieces::new(pieces);
        let hasher = DefaultHashBuilder::default();
        let merges = merges.into_iter();
        let mut table: HashTable<Merge> = HashTable::with_capacity(merges.size_hint().0);
        let mut joined = String::new();
        for (rank, (left, right)) in merges.enumerate() {
            let id_of = |p: &str| {
                pieces.get(p).ok_or_else(|| MergeOutOfVocabulary {
                    rank,
                    left: left.to_owned(),
                    right: right.to_owned(),
                    missing: p.to_owned(),
                })
            };
            let (l, r) = (id_of(left)?, id_of(right)?);
            joined.clear();
            joined.push_str(left);
            joined.push_str(right);
            let merge = Merge { left: l, right: r, rank: rank as u32, id: id_of(&joined)? };
            let hash = hasher.hash_one((l, r));
            match table.find_mut(hash, |m| (m.left, m.right) == (l, r)) {
                Some(m) => *m = merge,
                None => {
                    table.insert_unique(hash, merge, |m| hasher.hash_one((m.left, m.right)));
                }
            }
        }
        table.shrink_to_fit(|m| hasher.hash_one((m.left, m.right)));
        Ok(Self { pieces, merges: table, hasher })
    }

    fn merge(&self, left: u32, right: u32) -> Option<Merge> {
        self.merges.find(self.hasher.hash_one((left, right)), |m| (m.left, m.right) == (left, right)).copied()
    }
}

/// A run of the word: one character at first, grown by merges; empty once
/// merged into the symbol on its left.
#[derive(Clone, Copy)]
struct Symbol {
    id: u32,
    start: usize,
    end: usize,
    prev: Option<usize>,
    next: Option<usize>,
}

/// A merge to make of the symbol at `at` and the one after it.
#[derive(PartialEq, Eq)]
struct Candidate {
    rank: u32,
    at: usize,
    id: u32,
}

impl Ord for Candidate {
    /// The lowest rank first; between equal ranks, the leftmost.
    fn cmp(&self, other: &Self) -> Ordering {
        other.rank.cmp(&self.rank).then(other.at.cmp(&self.at))
    }
}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Model for Bpe {
    type Trainer = BpeTrainer;

    fn tokenize(&self, text: &str) -> tokenizers::Result<Vec<Token>> {
        // A character that is not a piece is left out, and its neighbours
        // meet, as in `tokenizers`' BPE without an unknown token (byte-level
        // text has none).
        let mut symbols: Vec<Symbol> = Vec::with_capacity(text.len());
        for (start, c) in text.char_indices() {
            let end = start + c.len_utf8();
            if let Some(id) = self.pieces.get(&text[start..end]) {
                let prev = symbols.len().checked_sub(1);
                if let Some(p) = prev {
                    symbols[p].next = Some(symbols.len());
                }
                symbols.push(Symbol { id, start, end, prev, next: None });
            }
        }
        let candidate = |symbols: &[Symbol], at: usize| {
            let next = symbols[at].next?;
            let m = self.merge(symbols[at].id, symbols[next].id)?;
            Some(Candidate { rank: m.rank, at, id: m.id })
        };
        let mut queue: BinaryHeap<Candidate> = (0..symbols.len()).filter_map(|at| candidate(&symbols, at)).collect();
        while let Some(top) = queue.pop() {
            let l = symbols[top.at];
            let Some(r) = l.next else { continue };
            // Stale: the symbol was merged away, or either side has grown
            // since this candidate was queued.
            if l.start == l.end || self.merge(l.id, symbols[r].id).is_none_or(|m| m.id != top.id) {
                continue;
            }
            let right = symbols[r];
            symbols[top.at] = Symbol { id: top.id, end: right.end, next: right.next, ..l };
            symbols[r].end = symbols[r].start;
            if let Some(n) = right.next {
                symbols[n].prev = Some(top.at);
            }
            if let Some(p) = l.prev {
                queue.extend(candidate(&symbols, p));
            }
            queue.extend(candidate(&symbols, top.at));
        }
        Ok(symbols
            .iter()
            .filter(|s| s.start != s.end)
            .map(|s| Token::new(s.id, self.pieces.piece(s.id).unwrap_or_default().to_owned(), (s.start, s.end)))
            .collect())
    }

    super::pieces::vocabulary_methods!();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bpe(pieces: &[&str], merges: &[(&'static str, &'static str)]) -> Bpe {
        Bpe::new(pieces.iter().map(|p| p.to_string()).collect(), merges.iter().copied()).expect("merges in vocabulary")
    }

    fn pieces(v: &Bpe, text: &str) -> Vec<String> {
        v.tokenize(text).expect("tokenize").into_iter().map(|t| t.value).collect()
    }

    #[test]
    fn the_lowest_ranked_pair_merges_first() {
        let v = bpe(&["a", "b", "c", "ab", "bc"], &[("b", "c"), ("a", "b")]);
        assert_eq!(pieces(&v, "abc"), ["a", "bc"]);
        let v = bpe(&["a", "b", "c", "ab", "bc"], &[("a", "b"), ("b", "c")]);
        assert_eq!(pieces(&v, "abc"), ["ab", "c"]);
        // A merged symbol merges on.
        let v = bpe(&["a", "b", "c", "ab", "abc"], &[("a", "b"), ("ab", "c")]);
        assert_eq!(pieces(&v, "abc"), ["abc"]);
        // Equal ranks: the leftmost first.
        let v = bpe(&["a", "aa"], &[("a", "a")]);
        assert_eq!(pieces(&v, "aaa"), ["aa", "a"]);
        assert_eq!(pieces(&v, "aaaa"), ["aa", "aa"]);
    }

    #[test]
    fn ids_and_offsets_are_the_pieces_and_where_they_came_from() {
        let v = bpe(&["é", "t", "ét"], &[("é", "t")]);
        let t = v.tokenize("étét").expect("tokenize");
        assert_eq!(t.iter().map(|t| (t.id, t.offsets)).collect::<Vec<_>>(), [(2, (0, 3)), (2, (3, 6))]);
    }

    #[test]
    fn characters_outside_the_vocabulary_are_left_out() {
        let v = bpe(&["a", "b", "ab"], &[("a", "b")]);
        assert_eq!(pieces(&v, "axb"), ["ab"]);
        assert_eq!(pieces(&v, "xa"), ["a"]);
        assert_eq!(pieces(&v, ""), Vec::<String>::new());
    }

    #[test]
    fn a_merge_outside_the_vocabulary_is_named() {
        let e = Bpe::new(vec!["a".into(), "b".into()], [("a", "b")]).err().expect("refused");
        assert_eq!(e.to_string(), "merge 0 (\"a b\"): \"ab\" is not in the vocabulary");
    }
}
