//! Real files against llama.cpp. The set-up puts Gemma 3 270M Q4_K_M in
//! `sample/gemma-3-270m`; `../shared/fixtures/golden` holds llama.cpp's greedy
//! text for it (the SmolLM2 sample's golden tokens are checked in engine.rs).
//!
//! Greedy decoding is compared teacher-forced: llama.cpp's own continuation is
//! fed back, and at every step its token must be ours, or lie within a hair of
//! ours. Gemma's very first step is such a near-tie: llama.cpp gives " provide"
//! a log-probability of −2.554 and " be" −2.586, the exact f32 computation on
//! the same dequantized weights puts " be" 0.010 ahead (a numpy forward pass
//! over `gguf`'s dequantization); which one wins depends on rounding, so
//! free-running text cannot be compared token for token.

use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::Content;
use fineprint_inference::arch::Arch;
use fineprint_inference::decoder::Decoder;
use fineprint_inference::preflight;
use fineprint_inference::tokenizer;

/// Largest logit gap at which another token counts as a tie with ours. Both
/// engines round activations to 8 bits before every product; over 18 layers
/// that moves logits of about 18 by a few tenths of a percent. Measured: our
/// " be" leads llama.cpp's " provide" by 0.146 at Gemma's first step.
const NEAR_TIE: f32 = 0.25;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn gemma() -> PathBuf {
    let p = root().join("sample/gemma-3-270m/gemma-3-270m-q4_k_m.gguf");
    assert!(
        p.is_file(),
        "Gemma 3 270M is not set up at {}: run scripts/setup.sh (it runs scripts/gemma.sh)",
        p.display()
    );
    p
}

fn golden(name: &str) -> serde_json::Value {
    let p = root().join("../shared/fixtures/golden").join(name);
    let text = std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{} is needed ({e}): ../shared must be beside the project", p.display()));
    serde_json::from_str(&text).expect("golden JSON")
}

#[test]
fn gemma3_q4_k_m_follows_llama_cpp_for_16_tokens() {
    let path = gemma();
    let g = golden("gemma-3-270m-q4_k_m.json");
    let (prompt, reference) = (g["prompt"].as_str().expect("prompt"), g["greedy_text"].as_str().expect("text"));
    let file = std::fs::File::open(&path).expect("open");
    let mut reader = std::io::BufReader::new(file);
    let content = Content::read(&mut reader).expect("header");
    let size = std::fs::metadata(&path).expect("size").len();
    let plan = preflight::plan("gemma", &content, size, None).expect("plan");
    assert_eq!(plan.arch, Arch::Gemma3);
    assert_eq!(plan.quantization, "Q4_K_M");
    let tok = tokenizer::from_gguf("gemma", &content.metadata).expect("tokenizer");
    let encode = |t: &str| tok.encode(t, false).expect("encode").get_ids().to_vec();
    let mut prompt_ids = vec![2];
    prompt_ids.extend(encode(prompt));
    assert_eq!(prompt_ids.len(), g["prompt_tokens_with_bos"].as_u64().expect("count") as usize);
    let reference: Vec<u32> = encode(reference).into_iter().take(16).collect();
    let mut d = Decoder::load(Arch::Gemma3, &content, &mut reader, 512).expect("decoder");

    let mut logits = d.forward(&prompt_ids, 0).expect("prompt");
    let mut exact = 0;
    for (pos, (step, &want)) in (prompt_ids.len()..).zip(reference.iter().enumerate()) {
        let best = (0..logits.len()).max_by(|&a, &b| logits[a].total_cmp(&logits[b])).expect("logits");
        let gap = logits[best] - logits[want as usize];
        if best as u32 == want {
            exact += 1;
        } else {
            eprintln!("step {step}: near-tie, llama.cpp's token {gap} logits behind ours");
            assert!(
                gap <= NEAR_TIE,
                "step {step}: llama.cpp picks {want} ({:?}), we pick {best} ({:?}), {gap} logits ahead",
                tok.decode(&[want], false),
                tok.decode(&[best as u32], false)
            );
        }
        logits = d.forward(&[want], pos).expect("step");
    }
    eprintln!("gemma3: {exact} of 16 llama.cpp tokens are our greedy choice; the rest within {NEAR_TIE} logits");
    // Near-ties are the exception, not the rule.
    assert!(exact >= 14, "only {exact} of 16 greedy tokens are ours outright");
}
