//! What choosing a token costs per decoded token, apart from the model: the
//! engine's path (the logits out of their tensor, the repeat penalty, then
//! the chooser: argmax, or a draw after temperature, top-k and top-p, with the
//! margin over the runner-up) for SmolLM2's and Gemma 3's vocabulary sizes,
//! greedy (the benchmarks) and with the page's default settings.
//! `cargo run --release -p fineprint-inference --example sampling_cost`,
//! or built for wasm32-wasip1 (`CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="-C target-feature=+simd128"`)
//! and run with `node scripts/wasi-chromium.mjs …/sampling_cost.wasm`.
use candle_core::{Device, Tensor};
use fineprint_inference::sampling::{penalise_repeats, Chooser};
use fineprint_protocol::Sampling;

fn main() -> candle_core::Result<()> {
    for vocab in [49_152usize, 262_144] {
        // Logits spread as a model's are: most far below the few that matter.
        let logits: Vec<f32> = (0..vocab).map(|i| ((i * 7919 % 1000) as f32 / 100.0) - 5.0).collect();
        let no_top_k = Sampling { top_k: None, ..Sampling::default() };
        for (name, s) in
            [("greedy", Sampling::greedy(1)), ("page's default", Sampling::default()), ("top-p only", no_top_k)]
        {
            let mut chooser = Chooser::new(&s);
            let recent = [1u32, 2, 3];
            // The fastest of many: a browser runs the first on its baseline tier.
            let reps = 100;
            let mut ms = f64::INFINITY;
            for _ in 0..reps {
                let t = Tensor::from_vec(logits.clone(), vocab, &Device::Cpu)?;
                let t0 = std::time::Instant::now();
                let mut values = t.to_vec1::<f32>()?;
                if s.repeat_penalty != 1.0 {
                    penalise_repeats(&mut values, s.repeat_penalty, &recent);
                }
                std::hint::black_box(chooser.choose(&values));
                ms = ms.min(t0.elapsed().as_secs_f64() * 1e3);
            }
            println!("vocabulary {vocab}, {name}: {ms:.2} ms a token (fastest of {reps})");
        }
    }
    Ok(())
}
