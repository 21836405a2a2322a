//! The scale set: deterministic synthetic GGUFs with llama.cpp's Q4_K_M type
//! mix, at the shapes people run, for speed and memory benchmarks (they give
//! no sensible text). The tokenizer, chat template and other metadata come
//! from a real file of the same architecture (the llama shapes take SmolLM2's
//! vocabulary of 49,152, so their embeddings are smaller than the originals';
//! gemma3 takes Gemma 3 270M's of 262,144, as the original 1B has).
//!
//! `cargo run --release -p fineprint-inference --example scale_set -- LLAMA.gguf GEMMA3.gguf OUT_DIR [NAME…]`
//! (scripts/scale-set.sh runs it); NAME is one of the shapes below, all by default.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};

struct Shape {
    name: &'static str,
    /// Whose shape it is.
    like: &'static str,
    arch: &'static str,
    hidden: usize,
    layers: usize,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
    ffn: usize,
    /// An output head of its own (else tied to the embeddings).
    output: bool,
}

const SHAPES: &[Shape] = &[
    Shape {
        name: "llama-0.5b",
        like: "Qwen2.5 0.5B",
        arch: "llama",
        hidden: 896,
        layers: 24,
        heads: 14,
        kv_heads: 2,
        head_dim: 64,
        ffn: 4864,
        output: false,
    },
    Shape {
        name: "llama-1.2b",
        like: "Llama 3.2 1B",
        arch: "llama",
        hidden: 2048,
        layers: 16,
        heads: 32,
        kv_heads: 8,
        head_dim: 64,
        ffn: 8192,
        output: false,
    },
    Shape {
        name: "llama-3b",
        like: "Llama 3.2 3B",
        arch: "llama",
        hidden: 3072,
        layers: 28,
        heads: 24,
        kv_heads: 8,
        head_dim: 128,
        ffn: 8192,
        output: false,
    },
    Shape {
        name: "gemma3-1b",
        like: "Gemma 3 1B",
        arch: "gemma3",
        hidden: 1152,
        layers: 26,
        heads: 4,
        kv_heads: 1,
        head_dim: 256,
        ffn: 6912,
        output: false,
    },
];

/// llama.cpp's Q4_K_M: most matrices Q4_K; `attn_v` and `ffn_down` Q6_K in
/// the layers its `use_more_bits` picks (the first and last eighth, every
/// third between), and the output head Q6_K (the embedding table, when it
/// is the head too).
fn use_more_bits(layer: usize, layers: usize) -> bool {
    layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2
}

/// Deterministic values in ±`scale` around `centre` (splitmix64 of the seed and index).
fn values(n: usize, seed: u64, scale: f32, centre: f32) -> Vec<f32> {
    (0..n as u64)
        .map(|i| {
            let mut z = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(i.wrapping_mul(0xBF58_476D_1CE4_E5B9));
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            centre + scale * ((z >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0)
        })
        .collect()
}

fn tensor(dims: &[usize], dtype: GgmlDType, seed: u64, scale: f32, centre: f32) -> candle_core::Result<QTensor> {
    let n = dims.iter().product();
    // Rows that are not whole super-blocks of 256 take llama.cpp's fallback:
    // Q5_0 for Q4_K, Q8_0 for Q6_K (Qwen2.5 0.5B's 896 and Gemma's 1152 columns).
    let cols = dims.last().copied().unwrap_or(0);
    let dtype = match dtype {
        GgmlDType::Q4K if cols % 256 != 0 => GgmlDType::Q5_0,
        GgmlDType::Q6K if cols % 256 != 0 => GgmlDType::Q8_0,
        other => other,
    };
    let t = Tensor::from_vec(values(n, seed, scale, centre), dims, &Device::Cpu)?;
    QTensor::quantize(&t, dtype)
}

fn build(s: &Shape, source: &gguf_file::Content, out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let vocab = match source.metadata.get("tokenizer.ggml.tokens") {
        Some(Value::Array(a)) => a.len(),
        _ => return Err("the source GGUF has no tokenizer.ggml.tokens".into()),
    };
    let (q, kv) = (s.heads * s.head_dim, s.kv_heads * s.head_dim);
    let a = s.arch;
    let mut md: Vec<(String, Value)> = source
        .metadata
        .iter()
        .filter(|(k, _)| !k.starts_with(&format!("{a}.")) && !k.starts_with("general.") && !k.starts_with("quantize."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let u = |n: usize| Value::U32(n as u32);
    let k = |x: &str| format!("{a}.{x}");
    md.extend([
        ("general.architecture".to_owned(), Value::String(a.into())),
        ("general.name".to_owned(), Value::String(format!("Fine Print scale set {} ({} shape)", s.name, s.like))),
        ("general.file_type".to_owned(), u(15)),
        (MIX_KEY.to_owned(), u(MIX_VERSION as usize)),
        ("general.quantization_version".to_owned(), u(2)),
        (k("context_length"), u(4096)),
        (k("embedding_length"), u(s.hidden)),
        (k("block_count"), u(s.layers)),
        (k("feed_forward_length"), u(s.ffn)),
        (k("attention.head_count"), u(s.heads)),
        (k("attention.head_count_kv"), u(s.kv_heads)),
        (k("attention.key_length"), u(s.head_dim)),
        (k("attention.value_length"), u(s.head_dim)),
        (k("rope.dimension_count"), u(s.head_dim)),
        (k("rope.freq_base"), Value::F32(if a == "gemma3" { 1_000_000.0 } else { 500_000.0 })),
        (k("attention.layer_norm_rms_epsilon"), Value::F32(1e-6)),
    ]);
    if a == "gemma3" {
        md.push((k("attention.sliding_window"), u(512)));
    }
    let norm = |dims: &[usize], seed: u64| tensor(dims, GgmlDType::F32, seed, 0.05, 1.0);
    let w = |dims: &[usize], dtype: GgmlDType, seed: u64| tensor(dims, dtype, seed, 0.04, 0.0);
    let mut tensors: Vec<(String, QTensor)> = vec![
        // A tied table is the output head too, and takes the head's type (as
        // llama.cpp's quantizer gives it: Q6_K, Q8_0 where rows are not whole super-blocks).
        ("token_embd.weight".into(), w(&[vocab, s.hidden], if s.output { GgmlDType::Q4K } else { GgmlDType::Q6K }, 1)?),
        ("output_norm.weight".into(), norm(&[s.hidden], 2)?),
    ];
    if s.output {
        tensors.push(("output.weight".into(), w(&[vocab, s.hidden], GgmlDType::Q6K, 3)?));
    }
    for l in 0..s.layers {
        let seed = 1000 * (l as u64 + 1);
        let n = |x: &str| format!("blk.{l}.{x}");
        let more = if use_more_bits(l, s.layers) { GgmlDType::Q6K } else { GgmlDType::Q4K };
        tensors.push((n("attn_norm.weight"), norm(&[s.hidden], seed + 1)?));
        tensors.push((n("ffn_norm.weight"), norm(&[s.hidden], seed + 2)?));
        tensors.push((n("attn_q.weight"), w(&[q, s.hidden], GgmlDType::Q4K, seed + 3)?));
        tensors.push((n("attn_k.weight"), w(&[kv, s.hidden], GgmlDType::Q4K, seed + 4)?));
        tensors.push((n("attn_v.weight"), w(&[kv, s.hidden], more, seed + 5)?));
        tensors.push((n("attn_output.weight"), w(&[s.hidden, q], GgmlDType::Q4K, seed + 6)?));
        tensors.push((n("ffn_gate.weight"), w(&[s.ffn, s.hidden], GgmlDType::Q4K, seed + 7)?));
        tensors.push((n("ffn_up.weight"), w(&[s.ffn, s.hidden], GgmlDType::Q4K, seed + 8)?));
        tensors.push((n("ffn_down.weight"), w(&[s.hidden, s.ffn], more, seed + 9)?));
        if a == "gemma3" {
            tensors.push((n("attn_q_norm.weight"), norm(&[s.head_dim], seed + 10)?));
            tensors.push((n("attn_k_norm.weight"), norm(&[s.head_dim], seed + 11)?));
            tensors.push((n("post_attention_norm.weight"), norm(&[s.hidden], seed + 12)?));
            tensors.push((n("post_ffw_norm.weight"), norm(&[s.hidden], seed + 13)?));
        }
    }
    let params: usize = tensors.iter().map(|(_, t)| t.shape().elem_count()).sum();
    // In key order: the source's metadata is a hash map, and the conformance
    // test checks each file by its sha256.
    md.sort_by(|x, y| x.0.cmp(&y.0));
    let md_refs: Vec<(&str, &Value)> = md.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let t_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let tmp = out.with_extension("gguf.part");
    gguf_file::write(&mut BufWriter::new(File::create(&tmp)?), &md_refs, &t_refs)?;
    std::fs::rename(&tmp, out)?;
    let bytes = std::fs::metadata(out)?.len();
    println!(
        "{}: {:.2} B parameters ({} shape), {:.0} MB",
        out.display(),
        params as f64 / 1e9,
        s.like,
        bytes as f64 / 1e6
    );
    Ok(())
}

/// The type mix's version, kept in each file's header: a file made by an
/// earlier version is made again. 2: a tied embedding table takes the head's type;
/// 3: the metadata in key order (the same bytes on every run).
const MIX_VERSION: u32 = 3;
const MIX_KEY: &str = "fineprint.scale_set.mix";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, llama, gemma, out, names @ ..] = args.as_slice() else {
        return Err("usage: scale_set LLAMA.gguf GEMMA3.gguf OUT_DIR [NAME…]".into());
    };
    std::fs::create_dir_all(out)?;
    let read = |p: &str| -> Result<gguf_file::Content, Box<dyn std::error::Error>> {
        Ok(gguf_file::Content::read(&mut BufReader::new(File::open(p)?))?)
    };
    let (llama, gemma) = (read(llama)?, read(gemma)?);
    for s in SHAPES.iter().filter(|s| names.is_empty() || names.iter().any(|n| n == s.name)) {
        let path = Path::new(out).join(format!("{}-q4_k_m.gguf", s.name));
        let current = path.exists()
            && read(&path.to_string_lossy())
                .is_ok_and(|c| matches!(c.metadata.get(MIX_KEY), Some(Value::U32(v)) if *v == MIX_VERSION));
        if current {
            println!("{}: present", path.display());
            continue;
        }
        build(s, if s.arch == "gemma3" { &gemma } else { &llama }, &path)?;
    }
    Ok(())
}
