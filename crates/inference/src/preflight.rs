//! Everything decided from the GGUF header before a byte of tensor data is
//! read: architecture, tensor types, file completeness and memory.

use std::collections::HashMap;
use std::io::{Read, Seek};

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::quantized::GgmlDType;

use crate::error::{InferenceError, Result};

/// The architectures candle-transformers has quantized models for, and this
/// tool wires up.
pub const SUPPORTED: &str = "llama (also mistral), qwen2, qwen3, phi3, gemma3";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    Llama,
    Qwen2,
    Qwen3,
    Phi3,
    Gemma3,
}

impl Arch {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "llama" | "mistral" => Arch::Llama,
            "qwen2" => Arch::Qwen2,
            "qwen3" => Arch::Qwen3,
            "phi3" => Arch::Phi3,
            "gemma3" | "gemma2" | "gemma" => Arch::Gemma3,
            _ => return None,
        })
    }
}

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
    pub estimated_bytes: u64,
    /// What the model was trained for (its header).
    pub context_length: usize,
    /// What this tool will run: capped at [`crate::MAX_CONTEXT`], and lower when
    /// the cache for more would not fit the memory limit.
    pub context: usize,
    pub vocab_size: usize,
    pub quantization: String,
    pub parameters: u64,
}

pub fn md_str<'a>(md: &'a HashMap<String, Value>, key: &str) -> Option<&'a str> {
    md.get(key).and_then(|v| v.to_string().ok()).map(String::as_str)
}

pub fn md_u64(md: &HashMap<String, Value>, key: &str) -> Option<u64> {
    let v = md.get(key)?;
    v.to_u64()
        .ok()
        .or_else(|| v.to_u32().ok().map(u64::from))
        .or_else(|| v.to_i32().ok().and_then(|x| u64::try_from(x).ok()))
}

/// Reads the header (metadata and tensor table) from `reader`.
pub fn read_content<R: Read + Seek>(file: &str, reader: &mut R) -> Result<Content> {
    let mut magic = [0u8; 4];
    reader.read_exact(&mut magic).map_err(|e| InferenceError::Io { file: file.into(), reason: e.to_string() })?;
    if &magic != b"GGUF" {
        return Err(InferenceError::NotGguf { file: file.into() });
    }
    reader
        .seek(std::io::SeekFrom::Start(0))
        .map_err(|e| InferenceError::Io { file: file.into(), reason: e.to_string() })?;
    Content::read(reader).map_err(|e| {
        let reason = e.to_string();
        if reason.contains("unknown dtype") {
            InferenceError::UnsupportedType { file: file.into(), dtype: reason }
        } else {
            InferenceError::BadGguf { file: file.into(), reason }
        }
    })
}

/// Checks that the model can run here and estimates what loading it costs.
pub fn plan(file: &str, content: &Content, file_size: u64, memory_limit: Option<u64>) -> Result<Plan> {
    let md = &content.metadata;
    let arch_name = md_str(md, "general.architecture").unwrap_or("unknown").to_owned();
    let arch = Arch::parse(&arch_name).ok_or_else(|| InferenceError::UnsupportedArchitecture {
        file: file.into(),
        arch: arch_name.clone(),
        supported: SUPPORTED,
    })?;
    let mut tensor_bytes = 0u64;
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
        parameters += elems;
        *counts.entry(format!("{:?}", info.ggml_dtype)).or_default() += bytes;
        if name == "token_embd.weight" && crate::model::uses_candle_model(arch, content) {
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
    // The f32 KV cache grows with the conversation; saturating, as every factor
    // comes from the header.
    let kv_per_token = n_layer.saturating_mul(2).saturating_mul(n_kv).saturating_mul(head_dim).saturating_mul(4);
    let fixed = tensor_bytes.saturating_add(largest_f32_embedding).saturating_add(64 * 1024 * 1024);
    let wanted = context_length.clamp(1, crate::MAX_CONTEXT);
    let mut context = wanted;
    if let Some(limit) = memory_limit {
        // A model that fits but whose full-context cache would not runs with a
        // shorter context rather than not at all.
        let room = limit.saturating_sub(fixed) / kv_per_token.max(1);
        if (room as usize) < wanted {
            context = (room as usize / 256 * 256).min(wanted);
        }
        if context < MIN_CONTEXT.min(wanted) {
            return Err(InferenceError::TooBig {
                file: file.into(),
                need_mb: fixed.saturating_add(kv_per_token.saturating_mul(MIN_CONTEXT as u64)) >> 20,
                limit_mb: limit >> 20,
            });
        }
    }
    let estimated_bytes = fixed.saturating_add(kv_per_token.saturating_mul(context as u64));
    let quantization = counts.into_iter().max_by_key(|(_, b)| *b).map(|(t, _)| t).unwrap_or_default();
    Ok(Plan {
        arch,
        arch_name,
        file_bytes: file_size,
        tensor_bytes,
        estimated_bytes,
        context_length,
        context,
        vocab_size,
        quantization,
        parameters,
    })
}
