//! The GPT-2 BPE rebuilt from a GGUF's vocabulary and merges against
//! `tokenizers`' own BPE built from the same (what this engine used before:
//! it matched llama.cpp's prompt tokens, and still does in engine.rs), in
//! the same pipeline: the same ids on text of many kinds, and the same
//! text back.

use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{Content, Value};
use fineprint_inference::tokenizer;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::AddedToken;

mod texts;

fn sample() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../sample/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(p.is_file(), "the sample is not set up at {}: run scripts/setup.sh", p.display());
    p
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().map(|v| v.to_string().expect("string").clone()).collect(),
        _ => panic!("not an array"),
    }
}

#[test]
fn gpt2_bpe_matches_tokenizers_own_on_the_same_vocabulary() {
    let mut reader = std::io::BufReader::new(std::fs::File::open(sample()).expect("open"));
    let content = Content::read(&mut reader).expect("header");
    let md = &content.metadata;
    assert_eq!(md["tokenizer.ggml.pre"].to_string().expect("pre"), "smollm");
    let ours = tokenizer::from_gguf("sample", md).expect("tokenizer");
    assert!(matches!(ours, tokenizer::Tokenizer::Bpe(_)), "a GPT-2 BPE");

    let tokens = strings(&md["tokenizer.ggml.tokens"]);
    let types: Vec<i32> = match &md["tokenizer.ggml.token_type"] {
        Value::Array(a) => a.iter().map(|v| v.to_i32().expect("i32")).collect(),
        _ => panic!("token types"),
    };
    let vocab: Vocab = tokens.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
    let merges = strings(&md["tokenizer.ggml.merges"])
        .into_iter()
        .filter_map(|m| m.split_once(' ').map(|(a, b)| (a.to_owned(), b.to_owned())))
        .collect();
    let mut theirs = tokenizers::Tokenizer::new(BPE::builder().vocab_and_merges(vocab, merges).build().expect("bpe"));
    theirs.with_pre_tokenizer(Some(Sequence::new(vec![
        Digits::new(true).into(),
        ByteLevel::new(false, true, true).into(),
    ])));
    theirs.with_decoder(Some(tokenizers::decoders::byte_level::ByteLevel::default()));
    let control: Vec<AddedToken> =
        tokens.iter().zip(&types).filter(|(_, &t)| t == 3).map(|(p, _)| AddedToken::from(p.clone(), true)).collect();
    assert_eq!(control.len(), 17, "the sample's control tokens");
    theirs.add_special_tokens(control).expect("control");

    assert_eq!(ours.get_vocab_size(true), theirs.get_vocab_size(true));
    let mut compared = 0;
    for text in texts::all() {
        let want = theirs.encode(text.as_str(), false).expect("theirs").get_ids().to_vec();
        let got = ours.encode(&text).expect("ours");
        assert_eq!(got, want, "{:?}", text.chars().take(80).collect::<String>());
        assert_eq!(ours.decode(&got, false).expect("decode"), theirs.decode(&want, false).expect("decode"));
        compared += got.len();
    }
    assert!(compared > 10_000, "{compared} tokens compared");
    for id in [0, 1, 17, 1000, 49151] {
        assert_eq!(ours.id_to_token(id), theirs.id_to_token(id), "piece {id}");
    }
}

#[test]
fn a_merge_outside_the_vocabulary_is_named_with_what_to_do() {
    let array = |xs: &[&str]| Value::Array(xs.iter().map(|x| Value::String(x.to_string())).collect());
    let md = std::collections::HashMap::from([
        ("tokenizer.ggml.model".to_string(), Value::String("gpt2".into())),
        ("tokenizer.ggml.tokens".to_string(), array(&["a", "b"])),
        ("tokenizer.ggml.merges".to_string(), array(&["a b"])),
    ]);
    let err = tokenizer::from_gguf("m.gguf", &md).err().expect("refused").to_string();
    assert!(err.starts_with("m.gguf: "), "{err}");
    assert!(err.contains("merge 0 (\"a b\"): \"ab\" is not in the vocabulary"), "{err}");
    assert!(err.contains("add the model's tokenizer.json to the folder"), "{err}");
}
