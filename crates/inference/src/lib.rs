//! Fine Print's inference engine: a quantized GGUF model on the CPU through
//! candle, from any `Read + Seek` (a file natively, the dropped `File` in the
//! browser worker), with the model's own tokenizer and chat template.
//!
//! Generation is a step at a time ([`Engine::step`]) so the caller can stop
//! between any two tokens: the worker yields to its message loop there.

pub mod arch;
pub mod decoder;
pub mod error;
pub mod gguf;
pub mod model;
pub mod preflight;
pub mod sampling;
pub mod template;
pub mod tokenizer;

use fineprint_protocol::ModelInfo;
use tokenizer::Tokenizer;

pub use error::{InferenceError, Result};
/// Relaxed SIMD's two dot products and the choice between them (the worker times them when it starts).
pub use fineprint_kernels::relaxed_dot;
// How the decoder holds its layers' matrices (`preflight::Plan::layers`).
pub use fineprint_kernels::Holding;
use model::Model;
use template::ChatTemplate;

/// The longest context this tool runs (the KV cache grows with it).
pub const MAX_CONTEXT: usize = 4096;

mod generate;
mod load;

pub use decoder::CacheForm;
pub use generate::{Generation, Step};
pub use load::LoadInput;

/// `Engine::read_bandwidth`'s measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bandwidth {
    /// Bytes of weights one decoded token reads.
    pub bytes_per_token: u64,
    /// The fastest time to read them once, in milliseconds.
    pub read_ms: f64,
    /// The reads' sum, so that no compiler drops them.
    pub check: u32,
}

pub struct Engine {
    model: Model,
    tokenizer: Tokenizer,
    template: Option<ChatTemplate>,
    eos: Vec<u32>,
    bos: Option<u32>,
    pub info: ModelInfo,
    file: String,
    /// The conversation so far, as (role, text).
    history: Vec<(String, String)>,
    /// Tokens whose keys and values sit in the model's cache, in order.
    cached: Vec<u32>,
    context: usize,
    /// What loading and the cache may hold together, where the cache steps
    /// down to stay within it (`preflight::Plan::cache_budget`).
    cache_bound: Option<u64>,
}

fn candle_err(file: &str) -> impl Fn(candle_core::Error) -> InferenceError + '_ {
    move |e| InferenceError::Model { file: file.to_owned(), reason: e.to_string() }
}

/// `Engine::warm_up`'s prompt (one more than the kernels' prompt tile of
/// eight rows) and the tokens it decodes after.
const WARM_UP_PROMPT: usize = 9;
const WARM_UP_TOKENS: usize = 2;

impl Engine {
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The prompt's token ids, beginning with the model's BOS token where it wants one
    /// (once: a chat template that writes it already is not given a second).
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>> {
        let mut ids = self
            .tokenizer
            .encode(text)
            .map_err(|e| InferenceError::Tokenizer { file: self.file.clone(), reason: e.to_string() })?;
        if let Some(bos) = self.bos.filter(|b| ids.first() != Some(b)) {
            ids.insert(0, bos);
        }
        Ok(ids)
    }

    /// The prompt for the conversation so far plus a new user turn.
    pub fn chat_prompt(&self, user: &str, system: Option<&str>, today: &str) -> Result<String> {
        let mut msgs: Vec<(&str, &str)> = Vec::new();
        if let Some(s) = system.filter(|s| !s.trim().is_empty()) {
            msgs.push(("system", s));
        }
        msgs.extend(self.history.iter().map(|(r, c)| (r.as_str(), c.as_str())));
        msgs.push(("user", user));
        match &self.template {
            Some(t) => t.render(&msgs, true, today),
            None => Ok(template::plain_prompt(&msgs)),
        }
    }

    /// Runs a short prompt and a few tokens through the model and forgets them.
    /// A browser's engine compiles a function with its optimizing tier only
    /// once it has run a while, and a forward pass is one long call: without
    /// this, the first reply ran partly on baseline code while the optimizing
    /// compiles took the same cores.
    pub fn warm_up(&mut self) -> Result<()> {
        // Longer than one prompt tile, so that both the prompt and the
        // one-token paths run (eight tokens instead of two made no
        // difference to the first reply's decoding); shorter where the
        // model's context is, which a header may set as low as one position.
        let prompt = vec![0u32; WARM_UP_PROMPT.min(self.context)];
        let tokens = WARM_UP_TOKENS.min(self.context - prompt.len());
        let run = (|| {
            self.forward(&prompt, 0)?;
            for pos in prompt.len()..prompt.len() + tokens {
                self.forward(&[0], pos)?;
            }
            Ok(())
        })();
        self.forget_cache();
        run
    }

    /// How fast the threads the products use stream the weights a decoded
    /// token reads (the same bytes, summed: `fineprint_kernels::stream`),
    /// the fastest of three reads after one untimed; None where candle runs
    /// the model. Decoding can at best go at `bytes_per_token` per token at
    /// this rate.
    pub fn read_bandwidth(&self, now: &dyn Fn() -> f64) -> Option<Bandwidth> {
        let parts = self.model.token_weights()?;
        let bytes_per_token = parts.iter().map(|p| p.len() as u64).sum();
        let read = || fineprint_kernels::parallel::within_pool(|| fineprint_kernels::stream::read(&parts));
        let mut check = read();
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let t0 = now();
            check = check.wrapping_add(read());
            best = best.min(now() - t0);
        }
        Some(Bandwidth { bytes_per_token, read_ms: best, check })
    }

    /// Forgets the conversation; the next prompt starts from an empty cache.
    pub fn reset(&mut self) {
        self.history.clear();
        self.cached.clear();
        self.model.clear_kv_cache();
    }

    /// Sets the cache's budget from what loading was measured to hold (in
    /// the worker, what its wasm memory grew by on top of a fresh worker's,
    /// which counts what the estimate cannot: the module's own data, the
    /// pages the allocator took while loading), where that is more than the
    /// estimate, so the cache steps down within the same bound.
    pub fn measured_load(&mut self, held: u64) {
        let Some(bound) = self.cache_bound.filter(|_| held > self.info.estimated_bytes) else { return };
        let budget = bound.saturating_sub(held);
        self.model.set_cache_budget(Some(usize::try_from(budget).unwrap_or(usize::MAX)));
        self.info.cache_budget_bytes = Some(budget);
    }

    /// The forms the KV cache keeps keys and values in now (smaller ones once
    /// the conversation took it past its budget: see `Decoder::set_cache_budget`);
    /// None for the architectures candle runs, whose cache is f32.
    pub fn cache_forms(&self) -> Option<(CacheForm, CacheForm)> {
        self.model.cache_forms()
    }

    fn forward(&mut self, ids: &[u32], pos: usize) -> Result<Vec<f32>> {
        self.model.forward(ids, pos).map_err(candle_err(&self.file))
    }

    /// Drops the KV cache after a failed forward pass, which may have left it
    /// half-written; the next prompt runs from the start.
    fn forget_cache(&mut self) {
        self.cached.clear();
        self.model.clear_kv_cache();
    }
}
