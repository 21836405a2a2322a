#![no_main]
//! The SentencePiece tokenizer (a GGUF's vocabulary, text a person types) on
//! arbitrary vocabularies and text: it never panics, and its tokens cover
//! the text in order, each piece or byte where it came from.
use fineprint_inference::tokenizer::SentencePiece;
use libfuzzer_sys::fuzz_target;
use tokenizers::Model;

fuzz_target!(|data: &[u8]| {
    // Up to 64 pieces, NUL-separated, before the first 0xFF; the text after.
    let Some(cut) = data.iter().position(|&b| b == 0xFF) else { return };
    let Ok(text) = std::str::from_utf8(&data[cut + 1..]) else { return };
    let pieces: Vec<String> =
        data[..cut].split(|&b| b == 0).take(64).map(|p| String::from_utf8_lossy(p).into_owned()).collect();
    // Scores with ties; every fifth piece does not merge; the last is unknown.
    let scores: Vec<f64> = (0..pieces.len()).map(|i| -((i * 7 % 5) as f64)).collect();
    let unk = pieces.len().checked_sub(1).map(|u| u as u32);
    let sp = SentencePiece::new(pieces.clone(), &scores, |i| i % 5 != 4, unk);
    let tokens = sp.tokenize(text).expect("tokenize");
    let mut at = 0;
    for t in &tokens {
        assert!(t.offsets.0 >= at && t.offsets.0 < t.offsets.1 && t.offsets.1 <= text.len(), "{:?}", t.offsets);
        assert_eq!(sp.id_to_token(t.id).as_deref(), Some(t.value.as_str()));
        at = t.offsets.1;
    }
});
