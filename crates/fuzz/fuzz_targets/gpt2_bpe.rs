#![no_main]
//! The GPT-2 BPE (a GGUF's vocabulary and merges, text a person types)
//! against `tokenizers`' own BPE on the same arbitrary vocabulary and
//! merges: a merge outside the vocabulary is refused, and otherwise both
//! give the same ids for any text; it never panics.
use fineprint_inference::tokenizer::Bpe;
use libfuzzer_sys::fuzz_target;
use tokenizers::models::bpe::BPE;
use tokenizers::Model;

fuzz_target!(|data: &[u8]| {
    // Up to 48 pieces, NUL-separated, before the first 0xFF; then a count
    // of merges and a pair of piece indices for each; the text after.
    let Some(cut) = data.iter().position(|&b| b == 0xFF) else { return };
    let mut pieces: Vec<String> =
        data[..cut].split(|&b| b == 0).take(48).map(|p| String::from_utf8_lossy(p).into_owned()).collect();
    let rest = &data[cut + 1..];
    let Some((&count, rest)) = rest.split_first() else { return };
    let count = usize::from(count % 32);
    if rest.len() < 2 * count {
        return;
    }
    let (pairs, text) = rest.split_at(2 * count);
    let Ok(text) = std::str::from_utf8(text) else { return };
    let n = pieces.len();
    let mut merges: Vec<(String, String)> = Vec::new();
    for pair in pairs.chunks(2) {
        let (a, b) = (pieces[usize::from(pair[0]) % n].clone(), pieces[usize::from(pair[1]) % n].clone());
        // Mostly merges whose result is a piece, sometimes one that is not.
        if pair[0] & 0x80 == 0 && !pieces.contains(&format!("{a}{b}")) {
            pieces.push(format!("{a}{b}"));
        }
        merges.push((a, b));
    }
    let ours = Bpe::new(pieces.clone(), merges.iter().map(|(a, b)| (a.as_str(), b.as_str())));
    // A merge outside the vocabulary is refused (`tokenizers`' builder
    // panics on one whose result is longer than every piece).
    if !merges.iter().all(|(a, b)| [a.clone(), b.clone(), format!("{a}{b}")].iter().all(|p| pieces.contains(p))) {
        assert!(ours.is_err(), "a merge outside the vocabulary was taken");
        return;
    }
    let ours = ours.expect("merges in the vocabulary");
    let vocab: tokenizers::models::bpe::Vocab = pieces.iter().enumerate().map(|(i, p)| (p.clone(), i as u32)).collect();
    // No cache: its entries live in a thread-local map that outlives each model.
    let theirs = BPE::builder().vocab_and_merges(vocab, merges).cache_capacity(0).build().expect("tokenizers' BPE");
    let want: Vec<u32> = theirs.tokenize(text).expect("theirs").iter().map(|t| t.id).collect();
    let got = ours.tokenize(text).expect("ours");
    assert_eq!(got.iter().map(|t| t.id).collect::<Vec<_>>(), want);
    let mut at = 0;
    for t in &got {
        assert!(t.offsets.0 >= at && t.offsets.0 < t.offsets.1 && t.offsets.1 <= text.len(), "{:?}", t.offsets);
        assert_eq!(ours.id_to_token(t.id).as_deref(), Some(t.value.as_str()));
        at = t.offsets.1;
    }
});
