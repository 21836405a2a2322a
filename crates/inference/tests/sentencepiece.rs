//! The SentencePiece tokenizer rebuilt from a GGUF's scores against the same
//! vocabulary read as a BPE whose merges are every split of every piece into
//! two pieces, ranked by the joined piece's score (how Hugging Face converts
//! these vocabularies, and what this engine built before: it matched
//! llama.cpp's prompt tokens): the same ids on text of many kinds.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{Content, Value};
use fineprint_inference::tokenizer;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::normalizers::{Prepend, Replace, Sequence};
use tokenizers::AddedToken;

mod texts;

fn gemma() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sample/gemma-3-270m/gemma-3-270m-q4_k_m.gguf");
    assert!(p.is_file(), "Gemma 3 270M is not set up at {}: run scripts/setup.sh", p.display());
    p
}

fn strings(md: &HashMap<String, Value>, key: &str) -> Vec<String> {
    match &md[key] {
        Value::Array(a) => a.iter().map(|v| v.to_string().expect("string").clone()).collect(),
        _ => panic!("{key} is not an array"),
    }
}

fn numbers(md: &HashMap<String, Value>, key: &str) -> Vec<f64> {
    match &md[key] {
        Value::Array(a) => a
            .iter()
            .map(|v| match *v {
                Value::F32(x) => f64::from(x),
                Value::I32(x) => f64::from(x),
                _ => panic!("{key}: not f32 or i32"),
            })
            .collect(),
        _ => panic!("{key} is not an array"),
    }
}

/// The BPE reading of a SentencePiece vocabulary.
fn as_bpe(md: &HashMap<String, Value>) -> tokenizers::Tokenizer {
    let (tokens, scores, types) = (
        strings(md, "tokenizer.ggml.tokens"),
        numbers(md, "tokenizer.ggml.scores"),
        numbers(md, "tokenizer.ggml.token_type"),
    );
    let normal = |i: usize| matches!(types.get(i).map(|t| *t as i32), None | Some(1) | Some(6));
    let vocab: Vocab = tokens.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
    let mut merges: Vec<(f64, usize, (String, String))> = Vec::new();
    for (i, piece) in tokens.iter().enumerate().filter(|(i, _)| normal(*i)) {
        for (cut, _) in piece.char_indices().skip(1) {
            let (a, b) = piece.split_at(cut);
            let known = |p: &str| vocab.get(p).is_some_and(|&j| normal(j as usize));
            if known(a) && known(b) {
                merges.push((scores[i], i, (a.to_owned(), b.to_owned())));
            }
        }
    }
    merges.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
    let merges = merges.into_iter().map(|(_, _, m)| m).collect();
    let unk = md.get("tokenizer.ggml.unknown_token_id").and_then(|v| v.to_u32().ok());
    let mut builder = BPE::builder().vocab_and_merges(vocab, merges).byte_fallback(true).fuse_unk(true);
    if let Some(unk) = unk {
        builder = builder.unk_token(tokens[unk as usize].clone());
    }
    let mut tok = tokenizers::Tokenizer::new(builder.build().expect("bpe"));
    let mut steps = vec![Replace::new(" ", "\u{2581}").expect("replace").into()];
    if md.get("tokenizer.ggml.add_space_prefix").and_then(|v| v.to_bool().ok()).unwrap_or(true) {
        steps.insert(0, Prepend::new("\u{2581}".into()).into());
    }
    tok.with_normalizer(Some(Sequence::new(steps))).expect("normalizer");
    let of_type = |want: i32| -> Vec<AddedToken> {
        tokens
            .iter()
            .enumerate()
            .filter(|(i, _)| types[*i] as i32 == want)
            .map(|(_, t)| AddedToken::from(t.clone(), want == 3))
            .collect()
    };
    tok.add_special_tokens(of_type(3)).expect("control");
    tok.add_tokens(of_type(4)).expect("user-defined");
    tok
}

#[test]
fn sentencepiece_matches_the_bpe_reading_of_its_vocabulary() {
    let path = gemma();
    let mut reader = std::io::BufReader::new(std::fs::File::open(&path).expect("open"));
    let content = Content::read(&mut reader).expect("header");
    let md = &content.metadata;
    let ours = tokenizer::from_gguf("gemma", md).expect("tokenizer");
    assert!(matches!(ours, tokenizer::Tokenizer::SentencePiece(_)), "a SentencePiece vocabulary");
    let bpe = as_bpe(md);
    let texts = texts::all();
    let mut tokens = 0;
    for text in &texts {
        let want = bpe.encode(text.as_str(), false).expect("bpe").get_ids().to_vec();
        let got = ours.encode(text).expect("ours");
        assert_eq!(got, want, "{:?}", text.chars().take(80).collect::<String>());
        // And back to the text (a "▁" of its own reads as a space, as in llama.cpp).
        if !text.contains('\u{2581}') {
            assert_eq!(&ours.decode(&got, false).expect("decode"), text);
        }
        tokens += got.len();
    }
    assert!(tokens > 10_000, "{tokens} tokens compared");
}
