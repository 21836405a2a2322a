//! What choosing a token costs per decoded token, apart from the model: the
//! engine's path (the logits into a tensor, the repeat penalty, then
//! `choose_token`: argmax or candle's sampler, and the margin over the
//! runner-up) for SmolLM2's and Gemma 3's
//! vocabulary sizes, greedy (the benchmarks) and with the page's default
//! settings. `cargo run --release -p fineprint-inference --example sampling_cost`,
//! or built for wasm32-wasip1 (`CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="-C target-feature=+simd128"`)
//! and run with `node scripts/wasi-chromium.mjs …/sampling_cost.wasm`.
use candle_core::{Device, Tensor};
use candle_transformers::generation::LogitsProcessor;
use fineprint_inference::{choose_token, to_sampler};
use fineprint_protocol::Sampling;

fn main() -> candle_core::Result<()> {
    for vocab in [49_152usize, 262_144] {
        // Logits spread as a model's are: most far below the few that matter.
        let logits: Vec<f32> = (0..vocab).map(|i| ((i * 7919 % 1000) as f32 / 100.0) - 5.0).collect();
        for (name, s) in [("greedy", Sampling::greedy(1)), ("page's default", Sampling::default())] {
            let mut sampler = LogitsProcessor::from_sampling(s.seed, to_sampler(&s));
            let recent = [1u32, 2, 3];
            // The fastest of many: a browser runs the first on its baseline tier.
            let reps = 100;
            let mut ms = f64::INFINITY;
            for _ in 0..reps {
                let owned = logits.clone();
                let t0 = std::time::Instant::now();
                let mut t = Tensor::from_vec(owned, vocab, &Device::Cpu)?;
                if s.repeat_penalty != 1.0 {
                    t = candle_transformers::utils::apply_repeat_penalty(&t, s.repeat_penalty, &recent)?;
                }
                std::hint::black_box(choose_token(&mut sampler, &s, &t)?);
                ms = ms.min(t0.elapsed().as_secs_f64() * 1e3);
            }
            println!("vocabulary {vocab}, {name}: {ms:.2} ms a token (fastest of {reps})");
        }
    }
    Ok(())
}
