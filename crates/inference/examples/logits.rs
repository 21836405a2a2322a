//! Prints the top logits after a prompt of ids: compares builds (native and
//! wasm32-wasip1 under Node) on the same file.
//! `cargo run --release -p fineprint-inference --example logits -- MODEL.gguf IDS_FILE`,
//! or in headless Chromium with `scripts/wasi-chromium.mjs` (see there).
use fineprint_inference::decoder::Decoder;
use fineprint_inference::preflight;
use fineprint_inference::relaxed_dot;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, model, ids] = args.as_slice() else { return Err("usage: logits MODEL.gguf IDS_FILE".into()) };
    let ids: Vec<u32> = std::fs::read_to_string(ids)?
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let bytes = std::fs::read(model)?;
    let mut r = std::io::Cursor::new(bytes);
    let content = preflight::read_content(model, &mut r)?;
    let plan = preflight::plan(model, &content, r.get_ref().len() as u64, None)?;
    let mut d = Decoder::load(plan.arch, &content, &mut r, 512, plan.layers)?;
    choose_dot_sums();
    // Timed over several passes (PASSES, default 1): a wasm engine compiles hot
    // functions again while they run, so the later passes are the steady ones
    // (each overwrites the cache from position 0).
    let passes: usize = std::env::var("PASSES").ok().and_then(|p| p.parse().ok()).unwrap_or(1);
    let mut logits = Vec::new();
    let mut best = f64::INFINITY;
    for _ in 0..passes.max(1) {
        let t0 = std::time::Instant::now();
        logits = d.forward(&ids, 0)?;
        best = best.min(t0.elapsed().as_secs_f64());
    }
    eprintln!("{} prompt tokens in {:.0} ms (fastest of {passes} passes)", ids.len(), best * 1e3);
    // DECODE=n: then n greedy tokens, one at a time.
    let decode: usize = std::env::var("DECODE").ok().and_then(|p| p.parse().ok()).unwrap_or(0);
    if decode > 0 {
        let mut last = logits.clone();
        let mut out = Vec::with_capacity(decode);
        let t0 = std::time::Instant::now();
        for n in 0..decode {
            let next = (0..last.len()).max_by(|&a, &b| last[a].total_cmp(&last[b])).unwrap_or(0);
            out.push(next);
            last = d.forward(&[next as u32], ids.len() + n)?;
        }
        eprintln!("{decode} tokens decoded in {:.0} ms", t0.elapsed().as_secs_f64() * 1e3);
        eprintln!("ids {out:?}");
    }
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    for &i in order.iter().take(4) {
        println!("{i} {:.4}", logits[i]);
    }
    Ok(())
}

/// As the worker does, times relaxed SIMD's two dot products and keeps the
/// faster; DOT=i32 or DOT=i16 sets one instead, DOT=i16,i32 one for a lone row and one for
/// a tile (to compare them in one build).
pub fn choose_dot_sums() {
    let t0 = std::time::Instant::now();
    if let Some(choice) =
        relaxed_dot::set_or_choose(std::env::var("DOT").ok().as_deref(), &mut || t0.elapsed().as_secs_f64() * 1e3)
    {
        eprintln!("{choice:?}");
    }
    let (one, tile) = (relaxed_dot::current(relaxed_dot::Rows::One), relaxed_dot::current(relaxed_dot::Rows::Tile));
    eprintln!("dot sums: {one:?} for one row, {tile:?} for a tile");
}
