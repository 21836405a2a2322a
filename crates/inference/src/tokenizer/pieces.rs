//! A vocabulary's pieces, held once: their text end to end, where each
//! ends, and a hash index of ids looked up by text.
//!
//! A map from owned strings to ids beside a list of the same strings (or
//! two maps, as `tokenizers`' BPE keeps) holds every piece twice, each in
//! an allocation of its own, with a 32-byte bucket per piece and room to
//! spare: about a hundred bytes a piece where the text averages under ten.
//! A browser worker has only what the model leaves it, so the index holds
//! 4-byte ids and compares against the text in place.

use std::collections::HashMap;
use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

pub(crate) struct Pieces {
    text: String,
    /// Where each piece ends in `text`; it starts where the one before ends.
    ends: Vec<usize>,
    index: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

impl Pieces {
    /// Piece `i` gets id `i`. A piece listed twice is found by its last id,
    /// as a map collected from the list would find it.
    pub fn new<S: AsRef<str>>(pieces: impl IntoIterator<Item = S>) -> Self {
        let (mut text, mut ends) = (String::new(), Vec::new());
        for p in pieces {
            text.push_str(p.as_ref());
            ends.push(text.len());
        }
        text.shrink_to_fit();
        let hasher = DefaultHashBuilder::default();
        let mut index = HashTable::with_capacity(ends.len());
        for id in 0..ends.len() as u32 {
            let piece = &text[span(&ends, id)];
            let hash = hasher.hash_one(piece);
            match index.find_mut(hash, |&other| &text[span(&ends, other)] == piece) {
                Some(slot) => *slot = id,
                None => {
                    index.insert_unique(hash, id, |&other| hasher.hash_one(&text[span(&ends, other)]));
                }
            }
        }
        Self { text, ends, index, hasher }
    }

    /// The id of `piece`.
    pub fn get(&self, piece: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(piece);
        self.index.find(hash, |&id| self.at(id) == piece).copied()
    }

    /// The text of piece `id`.
    pub fn piece(&self, id: u32) -> Option<&str> {
        ((id as usize) < self.ends.len()).then(|| self.at(id))
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Each piece to its id, as `tokenizers`' `Model::get_vocab` wants it.
    pub fn to_map(&self) -> HashMap<String, u32> {
        self.index.iter().map(|&id| (self.at(id).to_owned(), id)).collect()
    }

    fn at(&self, id: u32) -> &str {
        &self.text[span(&self.ends, id)]
    }
}

/// The `tokenizers::Model` methods of a model whose vocabulary is the
/// `Pieces` in its field `pieces`: kept in the GGUF, never trained.
macro_rules! vocabulary_methods {
    () => {
        fn token_to_id(&self, token: &str) -> Option<u32> {
            self.pieces.get(token)
        }

        fn id_to_token(&self, id: u32) -> Option<String> {
            self.pieces.piece(id).map(str::to_owned)
        }

        fn get_vocab(&self) -> std::collections::HashMap<String, u32> {
            self.pieces.to_map()
        }

        fn get_vocab_size(&self) -> usize {
            self.pieces.len()
        }

        /// Nothing to save: the vocabulary lives in the GGUF.
        fn save(
            &self,
            _folder: &std::path::Path,
            _prefix: Option<&str>,
        ) -> tokenizers::Result<Vec<std::path::PathBuf>> {
            Ok(Vec::new())
        }

        /// The trait asks for a trainer; this model is never trained.
        fn get_trainer(&self) -> tokenizers::models::bpe::BpeTrainer {
            tokenizers::models::bpe::BpeTrainer::default()
        }
    };
}
pub(super) use vocabulary_methods;

fn span(ends: &[usize], id: u32) -> std::ops::Range<usize> {
    let i = id as usize;
    (if i == 0 { 0 } else { ends[i - 1] })..ends[i]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_are_found_by_text_and_by_id() {
        let v = Pieces::new(["a", "", "ab", "▁hé", "b"]);
        assert_eq!(v.len(), 5);
        assert_eq!([v.get("a"), v.get(""), v.get("ab"), v.get("▁hé"), v.get("b")], [0, 1, 2, 3, 4].map(Some));
        assert_eq!(v.get("abc"), None);
        assert_eq!(v.get("▁h"), None);
        assert_eq!(v.piece(3), Some("▁hé"));
        assert_eq!(v.piece(1), Some(""));
        assert_eq!(v.piece(5), None);
        assert_eq!(v.to_map().len(), 5);
    }

    #[test]
    fn a_piece_listed_twice_is_found_by_its_last_id() {
        let v = Pieces::new(["x", "y", "x"]);
        assert_eq!(v.get("x"), Some(2));
        assert_eq!(v.piece(0), Some("x"));
        assert_eq!(v.len(), 3);
        assert_eq!(v.to_map(), HashMap::from([("x".to_owned(), 2), ("y".to_owned(), 1)]));
    }

    #[test]
    fn a_large_vocabulary_finds_every_piece() {
        let words: Vec<String> = (0..70_000).map(|i| format!("w{i}")).collect();
        let v = Pieces::new(&words);
        assert!(words.iter().enumerate().all(|(i, w)| v.get(w) == Some(i as u32)));
    }
}
