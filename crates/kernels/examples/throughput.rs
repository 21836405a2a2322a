//! Kernel throughput on SmolLM2-135M's shapes, one token (m = 1) and a
//! 110-token prompt: `cargo run --release -p fineprint-kernels --example throughput`,
//! or as wasm under Node (what the worker's kernels do in V8):
//! `CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="-C target-feature=+simd128" cargo build --release -p fineprint-kernels --example throughput --target wasm32-wasip1`
//! then `node scripts/wasi-runner.mjs target/wasm32-wasip1/release/examples/throughput.wasm`;
//! or, built with `--features relaxed-simd` too, `node scripts/wasi-chromium.mjs …/throughput.wasm`
//! in headless Chromium (whose V8 runs relaxed SIMD, as the page's worker does). Chromium tiers
//! functions up while they run: the first lines are the least steady, compare the per-byte ones
//! (`PER_BYTE=1` runs only those; `ONLY=Q4K,Q6K` only those types of them;
//! `FROM_MEMORY=1` times one row against matrices past every cache, `ONLY` choosing
//! the types there too).

use std::time::Instant;

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use fineprint_kernels::relaxed_dot;
use fineprint_kernels::{Activations, Holding, Weight};

/// A `rows × cols` matrix of `dtype` as the GGUF stores it.
fn quantized(dtype: GgmlDType, rows: usize, cols: usize) -> Vec<u8> {
    let v: Vec<f32> = (0..rows * cols).map(|i| ((i * 7919 % 1000) as f32 / 500.0) - 1.0).collect();
    let q = QTensor::quantize(&Tensor::from_vec(v, (rows, cols), &Device::Cpu).expect("t"), dtype).expect("q");
    q.data().expect("bytes").into_owned()
}

fn weight(dtype: GgmlDType, rows: usize, cols: usize, holding: Holding) -> Weight {
    Weight::from_gguf_bytes(dtype, rows, cols, quantized(dtype, rows, cols), holding).expect("weight")
}

/// The types `per_byte` and `from_memory` time, each as it is held: Q6_K
/// twice, as compact as the file, and held fast (a byte a value where the
/// build interleaves it; MB/s still of the file's bytes).
const TYPES: [(GgmlDType, Holding); 8] = [
    (GgmlDType::Q4_1, Holding::Compact),
    (GgmlDType::Q5_0, Holding::Compact),
    (GgmlDType::Q8_0, Holding::Compact),
    (GgmlDType::Q4K, Holding::Compact),
    (GgmlDType::Q5K, Holding::Compact),
    (GgmlDType::Q6K, Holding::Compact),
    (GgmlDType::Q6K, Holding::Fast),
    (GgmlDType::F16, Holding::Compact),
];

/// `TYPES` as `ONLY` (a type's name, or several joined by commas) chooses
/// them, or all; exits naming the types when `ONLY` names none of them.
fn chosen_types() -> Vec<(GgmlDType, Holding)> {
    let only = std::env::var("ONLY").ok();
    let chosen = |dtype: GgmlDType| only.as_deref().is_none_or(|o| o.split(',').any(|t| t == format!("{dtype:?}")));
    let types: Vec<_> = TYPES.into_iter().filter(|&(dtype, _)| chosen(dtype)).collect();
    if types.is_empty() {
        let mut names: Vec<String> = TYPES.iter().map(|(dtype, _)| format!("{dtype:?}")).collect();
        names.dedup();
        eprintln!("ONLY names no type timed here; the types are {}", names.join(", "));
        std::process::exit(2);
    }
    types
}

/// " held fast" for `Holding::Fast`, to follow a type's name.
fn held(holding: Holding) -> &'static str {
    if holding == Holding::Fast {
        " held fast"
    } else {
        ""
    }
}

fn main() {
    // Relaxed SIMD's two dot products: DOT=i32 or DOT=i16 sets one for every
    // product, DOT=i16,i32 one for a lone row and one for a tile; else the
    // faster for each is timed and kept, as the worker does.
    let t0 = Instant::now();
    if let Some(choice) =
        relaxed_dot::set_or_choose(std::env::var("DOT").ok().as_deref(), &mut || t0.elapsed().as_secs_f64() * 1e3)
    {
        println!("{choice:?}");
    }
    if std::env::var("FROM_MEMORY").is_ok() {
        return from_memory();
    }
    if std::env::var("PER_BYTE").is_ok() {
        return per_byte();
    }
    // One layer's matrices (q, k, v, o, gate, up, down) and the tied output head.
    let layer = [(576, 576), (192, 576), (192, 576), (576, 576), (1536, 576), (1536, 576), (576, 1536)];
    for dtype in [GgmlDType::Q4_1, GgmlDType::Q5_0, GgmlDType::Q8_0] {
        let ws: Vec<Weight> = layer.iter().map(|&(r, c)| weight(dtype, r, c, Holding::Compact)).collect();
        let head = weight(GgmlDType::Q8_0, 49152, 576, Holding::Compact);
        for m in [1usize, 110] {
            let mut acts = Activations::default();
            // In f64: 30 layers of a 110-token prompt overflow a wasm32 usize.
            let macs_layer = layer.iter().map(|(r, c)| (r * c) as f64).sum::<f64>() * m as f64;
            let macs = 30.0 * macs_layer + (49152 * 576) as f64;
            let reps = if m == 1 { 20 } else { 1 };
            let t0 = Instant::now();
            for _ in 0..reps {
                for _ in 0..30 {
                    for (w, &(r, c)) in ws.iter().zip(&layer) {
                        let x = vec![0.5f32; m * c];
                        let mut out = vec![0f32; m * r];
                        w.matmul(&x, m, &mut out, &mut acts).expect("matmul");
                    }
                }
                let mut logits = vec![0f32; 49152];
                head.matmul(&[0.25f32; 576], 1, &mut logits, &mut acts).expect("head");
            }
            let s = t0.elapsed().as_secs_f64() / reps as f64;
            println!(
                "{dtype:?} m={m}: {:.1} ms per forward, {:.2} GMAC/s, {:.1} tok/s if only the kernels ran",
                s * 1e3,
                macs / s / 1e9,
                m as f64 / s
            );
        }
    }
    per_byte();
}

/// Every type with a kernel on one 2048 × 2048 matrix (a width K-quants
/// take): weight bytes streamed per second, one token and a 110-row prompt.
/// "As fast per byte" compares these MB/s columns.
fn per_byte() {
    let (rows, cols) = (2048, 2048);
    let types = chosen_types();
    if types.iter().any(|&(dtype, _)| dtype == GgmlDType::Q8_0) {
        // Gemma 3's tied output head, 262,144 × 640 in Q8_0 (178 MB): one
        // token streams it from memory, not from cache.
        let head = weight(GgmlDType::Q8_0, 262_144, 640, Holding::Compact);
        let mut acts = Activations::default();
        let mut logits = vec![0f32; 262_144];
        let s = (0..5)
            .map(|_| {
                let t0 = Instant::now();
                head.matmul(&[0.25f32; 640], 1, &mut logits, &mut acts).expect("head");
                t0.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min);
        println!("Q8_0 262144x640 (178.3 MB):  m=1: {:.0} MB/s of weights, {:.1} ms", 178.3e6 / s / 1e6, s * 1e3);
    }
    for (dtype, holding) in types {
        let w = weight(dtype, rows, cols, holding);
        let bytes = (rows * cols / dtype.block_size() * dtype.type_size()) as f64;
        let mut line = format!("{dtype:?}{} 2048x2048 ({:.1} MB):", held(holding), bytes / 1e6);
        // The fastest of several timed runs: the first ones run before V8
        // tiers up, and this machine's neighbours come and go. A run is
        // many products, well above the browser clock's coarse ticks.
        for (m, runs, reps) in [(1usize, 10, 40), (110, 5, 1)] {
            let mut acts = Activations::default();
            let x = vec![0.5f32; m * cols];
            let mut out = vec![0f32; m * rows];
            let s = (0..runs)
                .map(|_| {
                    let t0 = Instant::now();
                    for _ in 0..reps {
                        w.matmul(&x, m, &mut out, &mut acts).expect("matmul");
                    }
                    t0.elapsed().as_secs_f64() / reps as f64
                })
                .fold(f64::INFINITY, f64::min);
            line += &format!("  m={m}: {:.0} MB/s of weights", bytes / s / 1e6);
        }
        println!("{line}");
    }
}

/// A decoded token's pace from memory: one row against as many copies of
/// an 8192 × 2048 matrix as make about 450 MB (past every cache, as a
/// model's layers are), beside the stream probe's read of as many bytes,
/// for each type `ONLY` names (all by default). In cache (`PER_BYTE`) the
/// kernels run faster than memory streams; how far under the probe one
/// falls here is what memory costs it.
fn from_memory() {
    let (rows, cols) = (8192usize, 2048usize);
    for (dtype, holding) in chosen_types() {
        let bytes = quantized(dtype, rows, cols);
        let n = 450_000_000usize.div_ceil(bytes.len());
        let ws: Vec<Weight> = (0..n)
            .map(|_| Weight::from_gguf_bytes(dtype, rows, cols, bytes.clone(), holding).expect("weight"))
            .collect();
        let raw: Vec<Vec<u8>> = (0..n).map(|k| vec![k as u8; bytes.len()]).collect();
        let parts: Vec<&[u8]> = raw.iter().map(Vec::as_slice).collect();
        let total = (n * bytes.len()) as f64;
        let (x, mut out, mut acts) = (vec![0.5f32; cols], vec![0f32; rows], Activations::default());
        for _ in 0..4 {
            let t0 = Instant::now();
            for w in &ws {
                w.matmul(&x, 1, &mut out, &mut acts).expect("matmul");
            }
            let s = t0.elapsed().as_secs_f64();
            let t1 = Instant::now();
            std::hint::black_box(fineprint_kernels::stream::read(&parts));
            let p = t1.elapsed().as_secs_f64();
            println!(
                "{dtype:?}{} {n} x {rows}x{cols} ({:.0} MB) from memory: m=1: {:.0} MB/s of weights, stream probe {:.0} MB/s",
                held(holding),
                total / 1e6,
                total / s / 1e6,
                total / p / 1e6
            );
        }
    }
}
