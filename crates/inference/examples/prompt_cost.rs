//! A prompt's forward pass alone: LENGTH tokens (default 110) from position
//! 0, ROUNDS times (default 3), the fastest kept:
//! `cargo run --release -p fineprint-inference --example prompt_cost -- MODEL.gguf [LENGTH] [ROUNDS]`.
//! As the page's worker runs it: built with
//! `CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="-C target-feature=+simd128" cargo build --release -p fineprint-inference --example prompt_cost --target wasm32-wasip1 --features relaxed-simd`,
//! then `node scripts/wasi-chromium.mjs …/prompt_cost.wasm $PWD/MODEL.gguf` in headless Chromium;
//! `PROFILE=10` there (and `CARGO_PROFILE_RELEASE_STRIP=false` for names) shows where the time
//! goes, `DOT=i16` or `DOT=i32` fixes relaxed SIMD's dot-product form.

use std::time::Instant;

use fineprint_inference::decoder::Decoder;
use fineprint_inference::preflight;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Relaxed SIMD's two dot products: DOT=i32 or DOT=i16 sets one for every
    // product, DOT=i16,i32 one for a lone row and one for a tile; else the
    // faster for each is timed and kept, as the worker does.
    let t0 = Instant::now();
    let mut ms = || t0.elapsed().as_secs_f64() * 1e3;
    if let Some(choice) = fineprint_kernels::relaxed_dot::set_or_choose(std::env::var("DOT").ok().as_deref(), &mut ms) {
        println!("{choice:?}");
    }
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: prompt_cost MODEL.gguf [LENGTH] [ROUNDS]")?;
    let length: usize = args.next().map_or(Ok(110), |a| a.parse())?;
    let rounds: usize = args.next().map_or(Ok(3), |a| a.parse())?;
    let bytes = std::fs::read(&path)?;
    let mut reader = std::io::Cursor::new(bytes);
    let content = fineprint_inference::gguf::read_content(&path, &mut reader)?;
    let plan = preflight::plan(&path, &content, reader.get_ref().len() as u64, None)?;
    let mut d = Decoder::load(plan.arch, &content, &mut reader, length + 64, plan.layers)?;
    drop(reader);
    let vocab = plan.vocab_size.min(40_000) as u32;
    // Ids past the first 200 (where the special tokens sit) when the vocabulary has them.
    let first = if vocab > 400 { 200 } else { 0 };
    if vocab == 0 {
        return Err(format!("{path}: no vocabulary to draw a prompt from").into());
    }
    let prompt: Vec<u32> = (0..length as u32).map(|i| first + (i * 7919) % (vocab - first)).collect();
    let mut best = f64::INFINITY;
    for _ in 0..rounds {
        d.clear_kv_cache();
        let t0 = Instant::now();
        d.forward(&prompt, 0)?;
        best = best.min(t0.elapsed().as_secs_f64());
    }
    println!("{path}: prompt of {length} tokens {:.1} tok/s ({:.0} ms)", length as f64 / best, best * 1e3);
    Ok(())
}
