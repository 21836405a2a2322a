//! Everything decided from the GGUF header before a byte of tensor data is
//! read: architecture, tensor types, file completeness and memory.

use std::collections::HashMap;

use candle_core::quantized::gguf_file::{Content, Value};

use crate::arch::NOT_YET;
pub use crate::arch::{Arch, SUPPORTED};
// Kept here too: callers read a header and plan in one place.
pub use crate::gguf::{md_str, md_u64, read_content};
use candle_core::quantized::GgmlDType;

use crate::decoder::holding_of;
use crate::error::{InferenceError, Result};
use fineprint_kernels::Holding;

/// A browser gives one wasm32 instance at most 4 GiB; keep headroom for the
/// allocator, the tokenizer and the JS side.
pub const WASM_MEMORY_LIMIT: u64 = 3_500 * 1024 * 1024;

/// Below this many tokens a chat is not worth having: refuse the model instead.
pub const MIN_CONTEXT: usize = 512;

#[derive(Debug, Clone)]
pub struct Plan {
    pub arch: Arch,
    pub arch_name: String,
    pub file_bytes: u64,
    pub tensor_bytes: u64,
    /// What loading holds (within 15 % of its peak: tests/memory.rs).
    pub estimated_bytes: u64,
    /// What the KV cache adds per token of conversation, in f16.
    pub kv_bytes_per_token: u64,
    /// What it adds once a long conversation has taken it down its ladder
    /// (`decoder::CacheForm`: 8-bit keys, 4-bit values), and the bytes it may
    /// take before it steps down; the f16 rate and None where the cache
    /// stays as it is (candle's models, heads not whole blocks of 32).
    pub kv_bytes_per_token_smallest: u64,
    pub cache_budget: Option<u64>,
    /// What the model was trained for (its header).
    pub context_length: usize,
    /// What this tool will run: capped at [`crate::MAX_CONTEXT`], and lower when
    /// the cache for more would not fit the memory limit.
    pub context: usize,
    pub vocab_size: usize,
    pub quantization: String,
    pub parameters: u64,
    /// How the layers' matrices are held: fast where that keeps what
    /// loading holds within `FAST_LAYERS_WITHIN` × the file and costs no
    /// context (`fineprint_kernels::Holding`).
    pub layers: Holding,
}

/// What loading may hold, as a multiple of the file, for the layers'
/// matrices to be held in their faster, larger form: the bound #27 sets a
/// 3B model's load to. Past it the memory is worth more than the speed.
pub const FAST_LAYERS_WITHIN: f64 = 1.15;

/// Memory, as a multiple of the file, past which the KV cache steps down
/// from f16 to fewer bits (see `decoder::CacheForm`): a long chat's f16
/// cache alone can pass the model's own size on small models.
pub const CACHE_STEPS_DOWN_PAST: f64 = 1.3;

/// The header values the loaders trust, checked before any of them is used:
/// a hostile or damaged file gets a named error, not a panic or a huge allocation.
fn check_header(file: &str, arch: &str, md: &HashMap<String, Value>) -> Result<()> {
    let bad = |key: &str, value: String, why: &'static str| InferenceError::BadHeader {
        file: file.into(),
        key: key.into(),
        value,
        why,
    };
    // Sizes every loader multiplies together: zero or absurd values are refused.
    let limits: [(&str, u64); 8] = [
        ("block_count", 1 << 12),
        ("embedding_length", 1 << 17),
        ("feed_forward_length", 1 << 20),
        ("attention.head_count", 1 << 12),
        ("attention.head_count_kv", 1 << 12),
        ("attention.key_length", 1 << 14),
        ("context_length", 1 << 24),
        ("attention.sliding_window", 1 << 24),
    ];
    for (k, max) in limits {
        let key = format!("{arch}.{k}");
        if let Some(v) = md.get(&key) {
            match md_u64(md, &key) {
                Some(n) if n >= 1 && n <= max => {}
                Some(n) => return Err(bad(&key, n.to_string(), "out of range")),
                // An array per layer (some converters) is left to the loader.
                None if matches!(v, Value::Array(_)) => {}
                None => return Err(bad(&key, format!("{v:?}"), "not a number")),
            }
        }
    }
    if let (Some(h), Some(kv)) =
        (md_u64(md, &format!("{arch}.attention.head_count")), md_u64(md, &format!("{arch}.attention.head_count_kv")))
    {
        if kv > h || !h.is_multiple_of(kv.max(1)) {
            return Err(bad(&format!("{arch}.attention.head_count_kv"), kv.to_string(), "must divide the head count"));
        }
    }
    Ok(())
}

/// llama.cpp's name for a file's `general.file_type` (its `llama_ftype`).
fn file_type_name(t: u64) -> Option<&'static str> {
    Some(match t {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        25 => "IQ4_NL",
        30 => "IQ4_XS",
        32 => "BF16",
        _ => return None,
    })
}

/// The tensor types of a file without a known `general.file_type`, largest share first.
fn type_mix(counts: &HashMap<String, u64>, total: u64) -> String {
    let mut v: Vec<(&String, &u64)> = counts.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    v.iter()
        .take(3)
        .map(|(t, b)| format!("{t} {}%", (**b * 100).checked_div(total).unwrap_or(0)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Working buffers, the f16 table and the allocator's slack, measured.
const RUNTIME_BYTES: u64 = 4 << 20;

/// What the tokenizer holds once built (`tokenizer::Bpe`,
/// `tokenizer::SentencePiece`): each piece's text once, and about 24 bytes a
/// piece besides (where it ends, its slot in the index, its score) and a
/// GPT-2 BPE's merges (16 bytes in a hash table with room to spare).
fn tokenizer_bytes(md: &HashMap<String, Value>) -> u64 {
    let text: u64 = match md.get("tokenizer.ggml.tokens") {
        Some(Value::Array(a)) => a.iter().map(|v| v.to_string().map_or(0, |s| s.len() as u64 + 24)).sum(),
        _ => 0,
    };
    let merges = match md.get("tokenizer.ggml.merges") {
        Some(Value::Array(a)) => a.len() as u64,
        _ => 0,
    };
    text + 24 * merges
}

/// How the layers' matrices are held, for a `file`-byte model whose load
/// holds `compact` bytes with them compact and `fast` held fast: fast where
/// that stays within `FAST_LAYERS_WITHIN` × the file and the memory left
/// for the cache (`context_with` bytes held) gives as long a context.
fn layers_holding(file: u64, compact: u64, fast: u64, context_with: impl Fn(u64) -> usize) -> Holding {
    if fast as f64 <= FAST_LAYERS_WITHIN * file as f64 && context_with(fast) == context_with(compact) {
        Holding::Fast
    } else {
        Holding::Compact
    }
}

/// Checks that the model can run here and estimates what loading it costs.
pub fn plan(file: &str, content: &Content, file_size: u64, memory_limit: Option<u64>) -> Result<Plan> {
    let md = &content.metadata;
    let arch_name = md_str(md, "general.architecture").unwrap_or("unknown").to_owned();
    let arch = Arch::parse(&arch_name).ok_or_else(|| {
        if NOT_YET.contains(&arch_name.as_str()) {
            InferenceError::ArchitectureNotYet { file: file.into(), arch: arch_name.clone(), supported: SUPPORTED }
        } else {
            InferenceError::UnsupportedArchitecture { file: file.into(), arch: arch_name.clone(), supported: SUPPORTED }
        }
    })?;
    check_header(file, &arch_name, md)?;
    let mut tensor_bytes = 0u64;
    // What the decoder holds, with the layers compact and held fast.
    let (mut held_compact, mut held_fast) = (0u64, 0u64);
    let mut parameters = 0u64;
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut largest_f32_embedding = 0u64;
    for (name, info) in &content.tensor_infos {
        // In u64: on wasm32 a usize element count overflows for tensors past 4G elements,
        // which are exactly the ones this check must catch.
        // Checked: a hostile header can make even the u64 product wrap to a small,
        // harmless-looking size.
        let block = info.ggml_dtype.block_size() as u64;
        let size =
            info.shape.dims().iter().try_fold(1u64, |a, &d| a.checked_mul(d as u64)).and_then(|elems| {
                Some((elems, (elems / block.max(1)).checked_mul(info.ggml_dtype.type_size() as u64)?))
            });
        let Some((elems, bytes)) = size else {
            return Err(InferenceError::BadGguf {
                file: file.into(),
                reason: format!("tensor {name} has an impossible shape {:?}", info.shape.dims()),
            });
        };
        let end = content.tensor_data_offset.saturating_add(info.offset).saturating_add(bytes);
        if end > file_size {
            return Err(InferenceError::Truncated {
                file: file.into(),
                tensor: name.clone(),
                needed: end,
                size: file_size,
            });
        }
        if matches!(info.ggml_dtype, GgmlDType::BF16) {
            return Err(InferenceError::UnsupportedType {
                file: file.into(),
                dtype: format!("{:?} (tensor {name})", info.ggml_dtype),
            });
        }
        tensor_bytes += bytes;
        // As our decoder holds it: the relaxed-SIMD build repacks K-quants.
        let held = |layers| match info.shape.dims() {
            [rows, cols] if !crate::arch::uses_candle_model(arch, content) => {
                let holding = holding_of(name, layers);
                fineprint_kernels::Weight::held_bytes(info.ggml_dtype, *rows, *cols, bytes, holding)
            }
            _ => bytes,
        };
        held_compact += held(Holding::Compact);
        held_fast += held(Holding::Fast);
        parameters += elems;
        *counts.entry(format!("{:?}", info.ggml_dtype)).or_default() += bytes;
        if name == "token_embd.weight" && crate::arch::uses_candle_model(arch, content) {
            // candle-transformers' quantized models dequantize the embedding table to f32.
            largest_f32_embedding = elems.saturating_mul(4);
        }
    }
    let key = |k: &str| format!("{arch_name}.{k}");
    let context_length = md_u64(md, &key("context_length")).unwrap_or(2048) as usize;
    let n_layer = md_u64(md, &key("block_count")).unwrap_or(0);
    let n_embd = md_u64(md, &key("embedding_length")).unwrap_or(0);
    let n_head = md_u64(md, &key("attention.head_count")).unwrap_or(1).max(1);
    let n_kv = md_u64(md, &key("attention.head_count_kv")).unwrap_or(n_head);
    let vocab_size = match md.get("tokenizer.ggml.tokens") {
        Some(Value::Array(a)) => a.len(),
        _ => md_u64(md, &key("vocab_size")).unwrap_or(0) as usize,
    };
    let head_dim = md_u64(md, &key("attention.key_length")).unwrap_or(n_embd / n_head);
    // The KV cache grows with the conversation: f16 in our decoder, f32 in
    // candle-transformers' models. Saturating, as every factor comes from the header.
    let kv_value = if crate::arch::uses_candle_model(arch, content) { 4 } else { 2 };
    let layer_kv = 2u64.saturating_mul(n_kv).saturating_mul(head_dim).saturating_mul(kv_value);
    // Sliding-window layers keep a ring of positions: a fixed size, so only
    // the other layers' caches grow with the conversation.
    let (ring_layers, ring) = if crate::arch::uses_candle_model(arch, content) {
        (0, 0)
    } else {
        crate::decoder::ring_layers(arch, md).map_or((0, 0), |(n, r)| (n as u64, r as u64))
    };
    let growing = n_layer.saturating_sub(ring_layers);
    let kv_per_token = growing.saturating_mul(layer_kv);
    let rings = ring_layers.saturating_mul(ring).saturating_mul(layer_kv);
    // Our decoder's cache steps down to its last rung as a chat grows (whole
    // blocks of 32 per head): the context is sized by that rung's bytes.
    let ladder = !crate::arch::uses_candle_model(arch, content)
        && usize::try_from(head_dim).is_ok_and(fineprint_kernels::cache_blocks::fits);
    let smallest_per_token = match (ladder, crate::decoder::CACHE_LADDER.last()) {
        (true, Some(&(k, v))) => {
            let kv_dim = usize::try_from(n_kv.saturating_mul(head_dim)).unwrap_or(usize::MAX);
            growing.saturating_mul(k.position_bytes(kv_dim).saturating_add(v.position_bytes(kv_dim)) as u64)
        }
        _ => kv_per_token,
    };
    // What loading holds: the tensors as the decoder keeps them, the tokenizer,
    // and working buffers (measured by tests/memory.rs).
    let besides_tensors =
        largest_f32_embedding.saturating_add(tokenizer_bytes(md)).saturating_add(RUNTIME_BYTES).saturating_add(rings);
    let fixed_with = |held: u64| held.saturating_add(besides_tensors);
    let wanted = context_length.clamp(1, crate::MAX_CONTEXT);
    // A model that fits but whose full-context cache would not runs with a
    // shorter context rather than not at all.
    let context_with = |fixed: u64| match memory_limit {
        Some(limit) => {
            let room = (limit.saturating_sub(fixed) / smallest_per_token.max(1)) as usize;
            if room < wanted {
                (room / 256 * 256).min(wanted)
            } else {
                wanted
            }
        }
        None => wanted,
    };
    let (compact, fast) = (fixed_with(held_compact), fixed_with(held_fast));
    let layers = layers_holding(file_size, compact, fast, context_with);
    let fixed = if layers == Holding::Fast { fast } else { compact };
    let context = context_with(fixed);
    if let Some(limit) = memory_limit.filter(|_| context < MIN_CONTEXT.min(wanted)) {
        return Err(InferenceError::TooBig {
            file: file.into(),
            need_mb: fixed.saturating_add(smallest_per_token.saturating_mul(MIN_CONTEXT as u64)) >> 20,
            limit_mb: limit >> 20,
        });
    }
    // Loading holds `fixed`; the cache then grows with the conversation,
    // stepping down as it passes its budget: within the memory limit as well
    // as the bound, as the context is sized by its last rung.
    let estimated_bytes = fixed;
    let cache_budget = ladder.then(|| {
        let bound = (CACHE_STEPS_DOWN_PAST * file_size as f64) as u64;
        bound.min(memory_limit.unwrap_or(u64::MAX)).saturating_sub(fixed)
    });
    let quantization = md_u64(md, "general.file_type")
        .and_then(file_type_name)
        .map(str::to_owned)
        .unwrap_or_else(|| type_mix(&counts, tensor_bytes));
    Ok(Plan {
        arch,
        arch_name,
        file_bytes: file_size,
        tensor_bytes,
        estimated_bytes,
        kv_bytes_per_token: kv_per_token,
        kv_bytes_per_token_smallest: smallest_per_token,
        cache_budget,
        context_length,
        context,
        vocab_size,
        quantization,
        parameters,
        layers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_are_held_fast_only_within_the_bound_and_at_no_cost_in_context() {
        let full = |_: u64| 4096;
        // A 1.0 GB file whose load holds 1.05 GB compact.
        let (file, compact) = (1_000_000_000, 1_050_000_000);
        assert_eq!(layers_holding(file, compact, 1_140_000_000, full), Holding::Fast);
        assert_eq!(layers_holding(file, compact, 1_150_000_000, full), Holding::Fast);
        assert_eq!(layers_holding(file, compact, 1_160_000_000, full), Holding::Compact);
        // A model already past the bound when compact stays compact.
        assert_eq!(layers_holding(file, 1_200_000_000, 1_210_000_000, full), Holding::Compact);
        // Within the bound, but the memory left for the cache would give a
        // shorter context: compact.
        let limited = |held: u64| if held > 1_100_000_000 { 3840 } else { 4096 };
        assert_eq!(layers_holding(file, compact, 1_140_000_000, limited), Holding::Compact);
        assert_eq!(layers_holding(file, compact, 1_090_000_000, limited), Holding::Fast);
    }
}
