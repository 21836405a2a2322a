//! What each rung of the KV cache's ladder costs a long chat's decode: the
//! decoder is run from the first position with its cache pinned to each
//! rung, over a prompt of LENGTH tokens (default 1,900), then decodes 32
//! tokens, alternating the rungs for ROUNDS rounds (default 2) and keeping
//! each one's fastest: `cargo run --release -p fineprint-inference --example
//! cache_cost -- MODEL.gguf [LENGTH] [ROUNDS]`. Ratios within one run are
//! what to read; the machine's speed moves between runs.

use std::time::Instant;

use fineprint_inference::decoder::{CacheForm, Decoder};
use fineprint_inference::preflight;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: cache_cost MODEL.gguf [LENGTH] [ROUNDS]")?;
    let length: usize = args.next().map_or(Ok(1900), |a| a.parse())?;
    let rounds: usize = args.next().map_or(Ok(2), |a| a.parse())?;
    let bytes = std::fs::read(&path)?;
    let mut reader = std::io::Cursor::new(bytes);
    let content = fineprint_inference::gguf::read_content(&path, &mut reader)?;
    let plan = preflight::plan(&path, &content, reader.get_ref().len() as u64, None)?;
    let mut d = Decoder::load(plan.arch, &content, &mut reader, length + 64, plan.layers)?;
    let vocab = plan.vocab_size.min(40_000) as u32;
    // Ids past the first 200 (where the special tokens sit) when the vocabulary has them.
    let first = if vocab > 400 { 200 } else { 0 };
    if vocab == 0 {
        return Err(format!("{path}: no vocabulary to draw a prompt from").into());
    }
    let prompt: Vec<u32> = (0..length as u32).map(|i| first + (i * 7919) % (vocab - first)).collect();
    let (f16, q8, q4) = (CacheForm::F16, CacheForm::Q8_0, CacheForm::Q4_0);
    let rungs = [(f16, f16), (q8, q8), (q8, q4)];
    let mut best = [f64::INFINITY; 3];
    for _ in 0..rounds {
        for (rung, best) in rungs.iter().zip(&mut best) {
            d.set_cache_forms(*rung);
            d.clear_kv_cache();
            d.forward(&prompt, 0)?;
            let t0 = Instant::now();
            for (i, pos) in (length..length + 32).enumerate() {
                d.forward(&[prompt[i]], pos)?;
            }
            *best = best.min(32.0 / t0.elapsed().as_secs_f64());
        }
    }
    for ((k, v), tok_s) in rungs.iter().zip(best) {
        let ratio = tok_s / best[0];
        println!(
            "{path}: keys {} values {}: decode at {length} tokens {tok_s:.1} tok/s, {ratio:.2}x f16",
            k.name(),
            v.name()
        );
    }
    Ok(())
}
