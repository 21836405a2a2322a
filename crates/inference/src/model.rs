//! One type over the architectures this tool runs: the llama family through
//! our own decoder, the rest through candle-transformers' quantized models.

use std::io::{Read, Seek};

use candle_core::quantized::gguf_file::Content;
use candle_core::{Device, Tensor};
use candle_transformers::models::{quantized_llama, quantized_phi3};

use crate::arch::{uses_candle_model, Arch};
use crate::decoder::{CacheForm, Decoder};
use crate::error::InferenceError;
use fineprint_kernels::Holding;

pub enum Model {
    /// llama, mistral, qwen2, qwen3, gemma3: weights stay quantized, embedding included.
    Decoder(Box<Decoder>),
    /// Mixture-of-experts llama (Mixtral), which the decoder does not route.
    Llama(quantized_llama::ModelWeights),
    Phi3(quantized_phi3::ModelWeights),
}

impl Model {
    pub fn load<R: Read + Seek>(
        arch: Arch,
        content: Content,
        reader: &mut R,
        context: usize,
        layers: Holding,
        file: &str,
    ) -> Result<Self, InferenceError> {
        let device = Device::Cpu;
        let candle = |e: candle_core::Error| InferenceError::Load { file: file.to_owned(), reason: e.to_string() };
        if !uses_candle_model(arch, &content) {
            let d = Decoder::load(arch, &content, reader, context, layers)
                .map_err(|e| InferenceError::Load { file: file.to_owned(), reason: e.to_string() })?;
            return Ok(Model::Decoder(Box::new(d)));
        }
        Ok(match arch {
            Arch::Phi3 => {
                Model::Phi3(quantized_phi3::ModelWeights::from_gguf(false, content, reader, &device).map_err(candle)?)
            }
            _ => Model::Llama(quantized_llama::ModelWeights::from_gguf(content, reader, &device).map_err(candle)?),
        })
    }

    /// Rows of the embedding table, where the model exposes it.
    pub fn vocab_size(&self) -> Option<usize> {
        match self {
            Model::Decoder(d) => Some(d.vocab_size()),
            _ => None,
        }
    }

    /// See `Decoder::set_cache_budget` (candle's models keep their own cache).
    pub fn set_cache_budget(&mut self, bytes: Option<usize>) {
        if let Model::Decoder(d) = self {
            d.set_cache_budget(bytes);
        }
    }

    /// The forms our decoder keeps keys and values in now (candle's models
    /// keep theirs in f32).
    pub fn cache_forms(&self) -> Option<(CacheForm, CacheForm)> {
        match self {
            Model::Decoder(d) => Some(d.cache_forms()),
            _ => None,
        }
    }

    /// The weights one decoded token reads, where our decoder holds them.
    pub fn token_weights(&self) -> Option<Vec<&[u8]>> {
        match self {
            Model::Decoder(d) => d.token_weights(),
            _ => None,
        }
    }

    /// Logits of the last position, for `ids` placed at `pos` in the sequence:
    /// our decoder's own vector as it comes (not through a tensor, a copy of
    /// a megabyte a token for Gemma 3's vocabulary).
    pub fn forward(&mut self, ids: &[u32], pos: usize) -> candle_core::Result<Vec<f32>> {
        let device = Device::Cpu;
        let candle_input = || Tensor::new(ids, &device).and_then(|t| t.unsqueeze(0));
        let logits = match self {
            Model::Decoder(d) => return fineprint_kernels::parallel::within_pool(|| d.forward(ids, pos)),
            Model::Llama(m) => m.forward(&candle_input()?, pos)?,
            Model::Phi3(m) => m.forward(&candle_input()?, pos)?,
        };
        logits.squeeze(0)?.to_dtype(candle_core::DType::F32)?.to_vec1()
    }

    /// Empties the KV cache. Phi-3 resets its own when fed at position 0.
    pub fn clear_kv_cache(&mut self) {
        match self {
            Model::Decoder(d) => d.clear_kv_cache(),
            Model::Llama(m) => m.clear_kv_cache(),
            Model::Phi3(_) => {}
        }
    }
}
