//! The architectures this tool knows: which it runs, how, and which it
//! refuses by name. A new family starts here, then gets a file in `decoder/`
//! beside the shared layers (`decoder/layers.rs`) that reads its header into
//! their `Config` (see `decoder/gemma3.rs`).

use candle_core::quantized::gguf_file::Content;

use crate::gguf::md_u64;

/// The architectures candle-transformers has quantized models for, and this
/// tool wires up.
pub const SUPPORTED: &str = "llama (also mistral), qwen2, qwen3, phi3, gemma3";

/// Architectures close to a supported one that run differently: refused by
/// name rather than handed to a loader that would compute nonsense.
pub const NOT_YET: &[&str] = &["gemma", "gemma2", "gemma3n", "llama4", "qwen2moe", "qwen3moe", "phi2", "mamba"];

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
            "gemma3" => Arch::Gemma3,
            _ => return None,
        })
    }
}

/// Whether `arch` runs through candle-transformers (which holds the embedding
/// table as f32) rather than our decoder.
pub fn uses_candle_model(arch: Arch, content: &Content) -> bool {
    match arch {
        Arch::Phi3 => true,
        Arch::Llama => md_u64(&content.metadata, "llama.expert_count").unwrap_or(0) > 1,
        Arch::Qwen2 | Arch::Qwen3 | Arch::Gemma3 => false,
    }
}
