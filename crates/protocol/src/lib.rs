//! The messages the page and the inference worker exchange.
//!
//! Each message travels as a JSON string (`serde_json`), so both sides agree by
//! construction; the dropped `File` handles travel beside it in the same
//! `postMessage` (see `worker/`), never copied into the message.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

/// Sampling settings. `temperature == 0` means greedy (argmax).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    pub temperature: f64,
    pub top_k: Option<usize>,
    pub top_p: Option<f64>,
    pub repeat_penalty: f32,
    pub repeat_last_n: usize,
    pub seed: u64,
    pub max_tokens: usize,
}

impl Default for Sampling {
    fn default() -> Self {
        Self {
            temperature: 0.7,
            top_k: Some(40),
            top_p: Some(0.9),
            repeat_penalty: 1.1,
            repeat_last_n: 64,
            seed: 299_792_458,
            max_tokens: 256,
        }
    }
}

impl Sampling {
    pub fn greedy(max_tokens: usize) -> Self {
        Self { temperature: 0.0, top_k: None, top_p: None, repeat_penalty: 1.0, repeat_last_n: 0, seed: 0, max_tokens }
    }
}

/// What the page asks of the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// Load the GGUF sent beside this message (and tokenizer.json /
    /// tokenizer_config.json when the folder has them).
    Load { model_name: String, tokenizer_name: Option<String>, today: String },
    /// Continue the conversation with one user turn (the KV cache is reused).
    Chat { message: String, system: Option<String>, sampling: Sampling },
    /// Generate from a prompt taken as is (chat template already applied).
    Complete { prompt: String, sampling: Sampling },
    /// Stop generating; takes effect before the next token.
    Stop,
    /// Forget the conversation, keep the model.
    Reset,
    /// Drop the model and free its memory.
    Unload,
    /// Time reading the weights a decoded token reads (`Event::Bandwidth`).
    ReadBandwidth,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Reading the GGUF header and metadata.
    Reading,
    /// Checking architecture, tensor types and memory.
    Parsing,
    /// Reading tensors into memory.
    Loading,
    /// Building the tokenizer and chat template.
    Tokenizer,
    /// Running a few tokens through the loaded model (see `Engine::warm_up`).
    WarmingUp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ModelInfo {
    pub name: String,
    pub architecture: String,
    pub parameters: Option<u64>,
    pub file_bytes: u64,
    pub quantization: String,
    pub context_length: usize,
    pub vocab_size: usize,
    /// "tokenizer.json" or "GGUF vocabulary".
    pub tokenizer_source: String,
    /// Where the chat template came from, or None (plain prompt).
    pub chat_template_source: Option<String>,
    /// What loading holds (the pre-flight estimate).
    pub estimated_bytes: u64,
    /// What each token of conversation adds (the KV cache, in f16).
    pub kv_bytes_per_token: u64,
    /// Past this many bytes the cache is kept in fewer bits (8-bit keys,
    /// then 4-bit values), and each token adds `kv_bytes_per_token_smallest`
    /// at the last step; None where it stays f16.
    #[serde(default)]
    pub cache_budget_bytes: Option<u64>,
    #[serde(default)]
    pub kv_bytes_per_token_smallest: u64,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Stats {
    pub load_ms: f64,
    pub prompt_tokens: usize,
    pub prompt_ms: f64,
    pub prompt_tok_s: f64,
    pub generated_tokens: usize,
    pub decode_ms: f64,
    pub decode_tok_s: f64,
    /// WebAssembly linear memory (in the worker) or peak RSS (native).
    pub memory_bytes: u64,
    /// The forms the KV cache holds keys and values in, by llama.cpp's names
    /// ("f16", "q8_0", "q8_0 keys, q4_0 values"): smaller as a long chat
    /// passes its memory budget. None where candle's models keep an f32 cache.
    #[serde(default)]
    pub kv_cache: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// An end-of-sequence or end-of-turn token.
    EndOfTurn,
    MaxTokens,
    /// The person pressed Stop.
    Stopped,
    /// The context window is full.
    ContextFull,
}

/// The wasm instructions the worker's integer kernels were built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Simd {
    /// simd128, in every browser that runs wasm workers.
    Simd128,
    /// Relaxed SIMD's 8-bit dot product besides, where the engine validates it.
    Relaxed,
}

/// Which of relaxed SIMD's two 8-bit dot products the worker's kernels use,
/// for a decoded token's products (one activation row) and for a prompt's
/// (tiles of rows): it times both forms for each on this CPU when it starts
/// (they give the same results) and keeps the faster.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DotSums {
    pub token: SumsTimed,
    pub prompt: SumsTimed,
}

/// One kind of product's form, and what timing it measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SumsTimed {
    /// Summed in i16 lanes (`i16x8.relaxed_dot_i8x16_i7x16_s`), else in i32
    /// (`i32x4.relaxed_dot_i8x16_i7x16_add_s`).
    pub in_i16: bool,
    /// The fastest of its timings of each, in milliseconds.
    pub i32_ms: f64,
    pub i16_ms: f64,
}

/// What the worker tells the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The worker's wasm is initialised (and its thread pool, in the threaded
    /// build); messages sent before this are lost.
    Ready {
        /// Threads the products run on: 1 in the plain build.
        threads: usize,
        /// The instructions its integer kernels use.
        simd: Simd,
        /// The dot product they chose, with relaxed SIMD.
        dot_sums: Option<DotSums>,
    },
    Progress {
        phase: Phase,
        done: u64,
        total: u64,
    },
    Loaded {
        info: ModelInfo,
        load_ms: f64,
        /// The worker's memory once loaded (to set against `info.estimated_bytes`).
        memory_bytes: u64,
    },
    /// Text to append; `ids` are the tokens it came from.
    Token {
        text: String,
        ids: Vec<u32>,
    },
    Done {
        reason: StopReason,
        stats: Stats,
        ids: Vec<u32>,
        /// Per token, the best logit's lead over the second best (near-ties are
        /// where engines may differ; conformance tests read it).
        margins: Vec<f32>,
    },
    /// `fatal`: the model is unusable and must be loaded again.
    Error {
        message: String,
        fatal: bool,
    },
    Unloaded,
    /// The rate the worker's threads stream the loaded model's weights at.
    Bandwidth {
        /// Bytes of weights one decoded token reads.
        bytes_per_token: u64,
        /// The fastest time to read them once, in milliseconds.
        read_ms: f64,
    },
}

impl Request {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
    pub fn from_json(s: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(s)
    }
}

impl Event {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
    pub fn from_json(s: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_events_round_trip() {
        let r = Request::Chat { message: "hi".into(), system: None, sampling: Sampling::greedy(8) };
        assert_eq!(Request::from_json(&r.to_json()).ok(), Some(r));
        let e = Event::Token { text: "é".into(), ids: vec![1, 2] };
        assert_eq!(Event::from_json(&e.to_json()).ok(), Some(e));
        assert!(Request::from_json("{\"type\":\"stop\"}").is_ok());
        assert!(Request::from_json("{\"type\":\"launch\"}").is_err());
    }
}
