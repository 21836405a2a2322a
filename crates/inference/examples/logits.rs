//! Prints the top logits after a prompt of ids: compares builds (native and
//! wasm32-wasip1 under Node) on the same file.
//! `cargo run --release -p fineprint-inference --example logits -- MODEL.gguf IDS_FILE`
use fineprint_inference::decoder::Decoder;
use fineprint_inference::preflight;

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
    let mut d = Decoder::load(plan.arch, &content, &mut r, 512)?;
    let logits = d.forward(&ids, 0)?;
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    for &i in order.iter().take(4) {
        println!("{i} {:.4}", logits[i]);
    }
    Ok(())
}
