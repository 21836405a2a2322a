//! Time to rebuild a GGUF's tokenizer from its vocabulary (part of loading,
//! so of the time to a first token): `cargo run --release -p
//! fineprint-inference --example tokenizer_cost -- MODEL.gguf`.

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: tokenizer_cost MODEL.gguf")?;
    let content =
        fineprint_inference::gguf::read_content(&path, &mut std::io::BufReader::new(std::fs::File::open(&path)?))?;
    let runs = (0..3)
        .map(|_| {
            let t0 = Instant::now();
            let tok = fineprint_inference::tokenizer::from_gguf(&path, &content.metadata);
            (t0.elapsed().as_secs_f64() * 1e3, tok.map(|t| t.get_vocab_size(true)))
        })
        .collect::<Vec<_>>();
    let best = runs.iter().map(|r| r.0).fold(f64::INFINITY, f64::min);
    let vocab = runs[0].1.as_ref().map_err(|e| e.to_string())?;
    println!("{path}: {vocab} tokens, rebuilt in {best:.0} ms (fastest of 3)");
    Ok(())
}
