//! The model's tokenizer: `tokenizer.json` when the folder has one, otherwise
//! rebuilt from the GGUF's own vocabulary (`tokenizer.ggml.*`): a GPT-2 BPE
//! from its merges, or a SentencePiece vocabulary from its scores
//! (`sentencepiece`).

mod bpe;
mod pieces;
mod sentencepiece;

use std::collections::HashMap;

use candle_core::quantized::gguf_file::Value;
use tokenizers::decoders::byte_fallback::ByteFallback;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence as DecoderSequence;
use tokenizers::decoders::strip::Strip;
use tokenizers::decoders::DecoderWrapper;
use tokenizers::normalizers::{NormalizerWrapper, Sequence as NormalizerSequence};
use tokenizers::normalizers::{Prepend, Replace};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence as PreSequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::processors::PostProcessorWrapper;
use tokenizers::{AddedToken, SplitDelimiterBehavior, TokenizerImpl};

use crate::error::{InferenceError, Result};
use crate::gguf::md_str;
pub use bpe::{Bpe, MergeOutOfVocabulary};
pub use sentencepiece::SentencePiece;

/// `tokenizers`' pipeline around a model of ours.
type Pipeline<M> = TokenizerImpl<M, NormalizerWrapper, PreTokenizerWrapper, PostProcessorWrapper, DecoderWrapper>;

/// A model's tokenizer: `tokenizers`' own from a tokenizer.json, or one
/// rebuilt from the GGUF (a GPT-2 BPE or a SentencePiece vocabulary) in
/// `tokenizers`' pipeline.
pub enum Tokenizer {
    HuggingFace(Box<tokenizers::Tokenizer>),
    Bpe(Box<Pipeline<Bpe>>),
    SentencePiece(Box<Pipeline<SentencePiece>>),
}

impl Tokenizer {
    /// The ids of `text`, with its control and user-defined tokens matched whole.
    pub fn encode(&self, text: &str) -> tokenizers::Result<Vec<u32>> {
        Ok(match self {
            Tokenizer::HuggingFace(t) => t.encode(text, false)?.get_ids().to_vec(),
            Tokenizer::Bpe(t) => t.encode(text, false)?.get_ids().to_vec(),
            Tokenizer::SentencePiece(t) => t.encode(text, false)?.get_ids().to_vec(),
        })
    }

    pub fn decode(&self, ids: &[u32], skip_special_tokens: bool) -> tokenizers::Result<String> {
        match self {
            Tokenizer::HuggingFace(t) => t.decode(ids, skip_special_tokens),
            Tokenizer::Bpe(t) => t.decode(ids, skip_special_tokens),
            Tokenizer::SentencePiece(t) => t.decode(ids, skip_special_tokens),
        }
    }

    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        match self {
            Tokenizer::HuggingFace(t) => t.token_to_id(token),
            Tokenizer::Bpe(t) => t.token_to_id(token),
            Tokenizer::SentencePiece(t) => t.token_to_id(token),
        }
    }

    pub fn id_to_token(&self, id: u32) -> Option<String> {
        match self {
            Tokenizer::HuggingFace(t) => t.id_to_token(id),
            Tokenizer::Bpe(t) => t.id_to_token(id),
            Tokenizer::SentencePiece(t) => t.id_to_token(id),
        }
    }

    /// Pieces, with the added tokens or without.
    pub fn get_vocab_size(&self, with_added_tokens: bool) -> usize {
        match self {
            Tokenizer::HuggingFace(t) => t.get_vocab_size(with_added_tokens),
            Tokenizer::Bpe(t) => t.get_vocab_size(with_added_tokens),
            Tokenizer::SentencePiece(t) => t.get_vocab_size(with_added_tokens),
        }
    }
}

const LLAMA3_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const QWEN2_SPLIT: &str =
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The GGUF metadata a tokenizer is rebuilt from: large arrays no one needs
/// once it is built.
pub const VOCABULARY_KEYS: [&str; 4] =
    ["tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type", "tokenizer.ggml.merges"];

fn strings(md: &HashMap<String, Value>, key: &str) -> Option<Vec<String>> {
    match md.get(key)? {
        Value::Array(a) => a.iter().map(|v| v.to_string().ok().cloned()).collect(),
        _ => None,
    }
}

/// A numeric array (scores are f32, token types i32), matched on the value's
/// type: candle's `to_f32` on an i32 builds an error that formats the value,
/// once per token of a large vocabulary (the README's speed notes have the cost).
fn numbers(md: &HashMap<String, Value>, key: &str) -> Vec<f64> {
    let number = |v: &Value| match *v {
        Value::F32(x) => f64::from(x),
        Value::F64(x) => x,
        Value::I32(x) => f64::from(x),
        Value::U32(x) => f64::from(x),
        Value::I8(x) => f64::from(x),
        Value::U8(x) => f64::from(x),
        Value::I16(x) => f64::from(x),
        Value::U16(x) => f64::from(x),
        Value::I64(x) => x as f64,
        Value::U64(x) => x as f64,
        _ => 0.0,
    };
    match md.get(key) {
        Some(Value::Array(a)) => a.iter().map(number).collect(),
        _ => Vec::new(),
    }
}

fn tok_err(file: &str, e: impl std::fmt::Display) -> InferenceError {
    InferenceError::Tokenizer { file: file.into(), reason: e.to_string() }
}

/// Rebuilds the tokenizer from GGUF metadata.
pub fn from_gguf(file: &str, md: &HashMap<String, Value>) -> Result<Tokenizer> {
    let tokens =
        strings(md, "tokenizer.ggml.tokens").ok_or_else(|| InferenceError::NoTokenizer { file: file.into() })?;
    let types = numbers(md, "tokenizer.ggml.token_type");
    let model = md_str(md, "tokenizer.ggml.model").unwrap_or("gpt2");
    let pre = md_str(md, "tokenizer.ggml.pre").unwrap_or("default");
    // Control and user-defined tokens are matched whole, as the model was trained.
    // Only control tokens are special (left out of decoded text): user-defined ones
    // are text (Gemma's "\n", runs of spaces, HTML tags).
    let of_type = |want: i32| -> Vec<AddedToken> {
        tokens
            .iter()
            .enumerate()
            .filter(|(i, _)| types.get(*i).map(|t| *t as i32) == Some(want))
            .map(|(_, t)| AddedToken::from(t.clone(), want == 3))
            .collect()
    };
    let (control, user) = (of_type(3), of_type(4));
    match model {
        "gpt2" => {
            // The merges as they stand in the metadata ("left right"), not copied.
            let merges: Vec<(&str, &str)> = match md.get("tokenizer.ggml.merges") {
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|v| v.to_string().ok())
                    .collect::<Option<Vec<_>>>()
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|m| m.split_once(' '))
                    .collect(),
                _ => Vec::new(),
            };
            let bpe = Bpe::new(tokens, merges).map_err(|e| {
                tok_err(file, format!("its vocabulary cannot be merged ({e}); add the model's tokenizer.json to the folder"))
            })?;
            let mut tok = Pipeline::new(bpe);
            let pre_tok: PreTokenizerWrapper = match pre {
                // llama.cpp's "smollm" pre-tokenizer: digits one by one, then GPT-2 byte level
                // without a prefix space (candle's own GGUF tokenizer gets this wrong).
                "smollm" | "starcoder" | "refact" => PreSequence::new(vec![
                    Digits::new(true).into(),
                    ByteLevel::new(false, true, true).into(),
                ])
                .into(),
                "llama3" | "llama-bpe" | "smaug-bpe" | "dbrx" | "falcon3" => PreSequence::new(vec![
                    Split::new(SplitPattern::Regex(LLAMA3_SPLIT.into()), SplitDelimiterBehavior::Isolated, false).map_err(|e| tok_err(file, e))?.into(),
                    ByteLevel::new(false, true, false).into(),
                ])
                .into(),
                "qwen2" | "deepseek-r1-qwen" => PreSequence::new(vec![
                    Split::new(SplitPattern::Regex(QWEN2_SPLIT.into()), SplitDelimiterBehavior::Isolated, false).map_err(|e| tok_err(file, e))?.into(),
                    ByteLevel::new(false, true, false).into(),
                ])
                .into(),
                _ => ByteLevel::new(false, true, true).into(),
            };
            tok.with_pre_tokenizer(Some(pre_tok));
            tok.with_decoder(Some(DecoderWrapper::from(ByteLevelDecoder::default())));
            tok.add_special_tokens(control).map_err(|e| tok_err(file, e))?;
            tok.add_tokens(user).map_err(|e| tok_err(file, e))?;
            Ok(Tokenizer::Bpe(Box::new(tok)))
        }
        "llama" => {
            // llama.cpp merges the adjacent pair whose joined piece scores
            // highest (a Unigram reading of the same scores splits words into
            // many small pieces). Normal pieces and bytes take part in merges.
            let scores = numbers(md, "tokenizer.ggml.scores");
            let normal = |i: usize| matches!(types.get(i).map(|t| *t as i32), None | Some(1) | Some(6));
            let unk = md.get("tokenizer.ggml.unknown_token_id").and_then(|v| v.to_u32().ok());
            let unk = unk.filter(|&u| (u as usize) < tokens.len());
            let mut tok = Pipeline::new(SentencePiece::new(tokens, &scores, normal, unk));
            let prefix = md.get("tokenizer.ggml.add_space_prefix").and_then(|v| v.to_bool().ok()).unwrap_or(true);
            let mut steps: Vec<NormalizerWrapper> = Vec::new();
            if prefix {
                steps.push(Prepend::new("\u{2581}".into()).into());
            }
            steps.push(Replace::new(" ", "\u{2581}").map_err(|e| tok_err(file, e))?.into());
            tok.with_normalizer(Some(NormalizerSequence::new(steps))).map_err(|e| tok_err(file, e))?;
            let mut decoders: Vec<DecoderWrapper> = vec![
                Replace::new("\u{2581}", " ").map_err(|e| tok_err(file, e))?.into(),
                ByteFallback::new().into(),
                Fuse::new().into(),
            ];
            if prefix {
                decoders.push(Strip::new(' ', 1, 0).into());
            }
            tok.with_decoder(Some(DecoderWrapper::from(DecoderSequence::new(decoders))));
            tok.add_special_tokens(control).map_err(|e| tok_err(file, e))?;
            tok.add_tokens(user).map_err(|e| tok_err(file, e))?;
            Ok(Tokenizer::SentencePiece(Box::new(tok)))
        }
        other => Err(InferenceError::Tokenizer {
            file: file.into(),
            reason: format!("tokenizer type \"{other}\" cannot be rebuilt from the GGUF; add the model's tokenizer.json to the folder"),
        }),
    }
}

/// Loads `tokenizer.json` and checks it belongs to the model.
pub fn from_json(name: &str, bytes: &[u8], model_file: &str, model_vocab: usize) -> Result<Tokenizer> {
    let tok = tokenizers::Tokenizer::from_bytes(bytes).map_err(|e| InferenceError::Tokenizer {
        file: name.into(),
        reason: format!("is not a valid tokenizer.json ({e})"),
    })?;
    let tok = Tokenizer::HuggingFace(Box::new(tok));
    check_vocab(&tok, name, model_file, model_vocab)?;
    Ok(tok)
}

pub fn check_vocab(tok: &Tokenizer, name: &str, model_file: &str, model_vocab: usize) -> Result<()> {
    let n = tok.get_vocab_size(true);
    // Embedding tables are often padded past the vocabulary (to a multiple of 64 or 128);
    // a tokenizer larger than the model, or much smaller, is another model's.
    if model_vocab > 0 && (n > model_vocab || n + 1024 < model_vocab) {
        return Err(InferenceError::TokenizerMismatch {
            file: model_file.into(),
            tokenizer: name.into(),
            tokenizer_vocab: n,
            model_vocab,
        });
    }
    Ok(())
}

/// Turns a growing list of token ids into text a piece at a time, never
/// cutting a multi-byte character (the pattern of candle's TokenOutputStream).
#[derive(Debug, Default)]
pub struct TextStream {
    tokens: Vec<u32>,
    prev: usize,
    current: usize,
}

impl TextStream {
    pub fn push(&mut self, tok: &Tokenizer, id: u32) -> Option<String> {
        let prev_text = decode(tok, &self.tokens[self.prev..self.current]);
        self.tokens.push(id);
        let text = decode(tok, &self.tokens[self.prev..]);
        if text.len() > prev_text.len() && !text.ends_with('\u{FFFD}') {
            let new = text.get(prev_text.len()..).unwrap_or("").to_owned();
            self.prev = self.current;
            self.current = self.tokens.len();
            Some(new)
        } else {
            None
        }
    }

    /// Whatever is left when generation ends.
    pub fn finish(&mut self, tok: &Tokenizer) -> Option<String> {
        let prev_text = decode(tok, &self.tokens[self.prev..self.current]);
        let text = decode(tok, &self.tokens[self.prev..]);
        (text.len() > prev_text.len()).then(|| text.get(prev_text.len()..).unwrap_or("").to_owned())
    }
}

fn decode(tok: &Tokenizer, ids: &[u32]) -> String {
    tok.decode(ids, true).unwrap_or_default()
}
