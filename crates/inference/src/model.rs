//! One type over the quantized architectures candle-transformers implements.

use std::io::{Read, Seek};

use candle_core::quantized::gguf_file::Content;
use candle_core::{Device, Tensor};
use candle_transformers::models::{
    quantized_gemma3, quantized_llama, quantized_phi3, quantized_qwen2, quantized_qwen3,
};

use crate::preflight::Arch;

pub enum Model {
    Llama(quantized_llama::ModelWeights),
    Qwen2(quantized_qwen2::ModelWeights),
    Qwen3(quantized_qwen3::ModelWeights),
    Phi3(quantized_phi3::ModelWeights),
    Gemma3(quantized_gemma3::ModelWeights),
}

impl Model {
    pub fn load<R: Read + Seek>(
        arch: Arch,
        content: Content,
        reader: &mut R,
        device: &Device,
    ) -> candle_core::Result<Self> {
        Ok(match arch {
            Arch::Llama => Model::Llama(quantized_llama::ModelWeights::from_gguf(content, reader, device)?),
            Arch::Qwen2 => Model::Qwen2(quantized_qwen2::ModelWeights::from_gguf(content, reader, device)?),
            Arch::Qwen3 => Model::Qwen3(quantized_qwen3::ModelWeights::from_gguf(content, reader, device)?),
            Arch::Phi3 => Model::Phi3(quantized_phi3::ModelWeights::from_gguf(false, content, reader, device)?),
            Arch::Gemma3 => Model::Gemma3(quantized_gemma3::ModelWeights::from_gguf(content, reader, device)?),
        })
    }

    /// Logits of the last position, for `ids` placed at `pos` in the sequence.
    pub fn forward(&mut self, ids: &Tensor, pos: usize) -> candle_core::Result<Tensor> {
        match self {
            Model::Llama(m) => m.forward(ids, pos),
            Model::Qwen2(m) => m.forward(ids, pos),
            Model::Qwen3(m) => m.forward(ids, pos),
            Model::Phi3(m) => m.forward(ids, pos),
            Model::Gemma3(m) => m.forward(ids, pos),
        }
    }

    /// Empties the KV cache. Phi-3 and Gemma 3 reset theirs when fed at position 0.
    pub fn clear_kv_cache(&mut self) {
        match self {
            Model::Llama(m) => m.clear_kv_cache(),
            Model::Qwen2(m) => m.clear_kv_cache(),
            Model::Qwen3(m) => m.clear_kv_cache(),
            Model::Phi3(_) | Model::Gemma3(_) => {}
        }
    }
}
