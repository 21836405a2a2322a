//! What can go wrong running a model, in words that name the file and what to do.

#[derive(Debug, thiserror::Error)]
pub enum InferenceError {
    #[error("{file} is not a GGUF model (it does not start with \"GGUF\"); drop the .gguf file of a quantized model")]
    NotGguf { file: String },
    #[error("{file} cannot be read as GGUF: {reason}; the download may be damaged, get it again")]
    BadGguf { file: String, reason: String },
    #[error(
        "{file} is truncated: tensor {tensor} needs bytes up to {needed} but the file has {size}; download it again"
    )]
    Truncated { file: String, tensor: String, needed: u64, size: u64 },
    #[error("{file} is a \"{arch}\" model, which this tool cannot run; supported: {supported}")]
    UnsupportedArchitecture { file: String, arch: String, supported: &'static str },
    #[error("{file} is a \"{arch}\" model: close to one this tool runs, but it computes differently and is not supported yet; supported: {supported}")]
    ArchitectureNotYet { file: String, arch: String, supported: &'static str },
    #[error("{file} has a header value this tool cannot trust: {key} = {value} ({why}); the file is damaged or was not written by a GGUF converter, get it again")]
    BadHeader { file: String, key: String, value: String, why: &'static str },
    #[error("{file} uses tensor type {dtype}, which candle cannot run; pick a Q4_0, Q4_1, Q5_*, Q8_0 or K-quant file")]
    UnsupportedType { file: String, dtype: String },
    #[error("{file} needs about {need_mb} MB of memory to run, more than the {limit_mb} MB a browser gives one WebAssembly worker; pick a smaller model or a smaller quantization (e.g. Q4_K_M of a model under 3B parameters)")]
    TooBig { file: String, need_mb: u64, limit_mb: u64 },
    #[error("{file} has no tokenizer: the folder has no tokenizer.json and the GGUF has no tokenizer.ggml vocabulary")]
    NoTokenizer { file: String },
    #[error("{tokenizer} does not belong to {file}: it has {tokenizer_vocab} tokens, the model {model_vocab}; drop the tokenizer.json that came with this model, or remove it to use the GGUF's own vocabulary")]
    TokenizerMismatch { file: String, tokenizer: String, tokenizer_vocab: usize, model_vocab: usize },
    #[error("{file}: {reason}")]
    Tokenizer { file: String, reason: String },
    #[error("the chat template from {source_name} failed to render ({reason}); use the plain prompt instead")]
    Template { source_name: String, reason: String },
    #[error("the prompt ({tokens} tokens) does not fit the model's context of {context} tokens; start a new chat or shorten it")]
    ContextFull { tokens: usize, context: usize },
    #[error("{file}: reading failed: {reason}")]
    Io { file: String, reason: String },
    #[error("{file} could not be loaded: {reason}; the download may be damaged, or the file made by a converter this tool does not follow: get it again or try another quantization")]
    Load { file: String, reason: String },
    #[error("{file}: the model failed while running: {reason}")]
    Model { file: String, reason: String },
}

pub type Result<T> = std::result::Result<T, InferenceError>;
