//! Loading a model: the header and pre-flight, then the tokenizer, the chat
//! template and the special tokens (found in milliseconds, before the
//! tensors), then the tensors with progress.

use std::io::{Read, Seek, SeekFrom};

use fineprint_protocol::{ModelInfo, Phase};

use crate::error::{InferenceError, Result};
use crate::gguf::{self, md_str};
use crate::model::Model;
use crate::preflight::{self, Plan};
use crate::template::ChatTemplate;
use crate::tokenizer::Tokenizer;
use crate::{tokenizer, Engine, MAX_CONTEXT};

/// Tokens that end a turn in the chat formats in use, besides the GGUF's EOS id.
const END_OF_TURN: &[&str] =
    &["<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "</s>"];

/// What the caller hands over to load a model.
pub struct LoadInput<'a, R> {
    pub model_name: &'a str,
    pub reader: R,
    pub file_size: u64,
    /// (file name, bytes) of tokenizer.json, when the folder has one.
    pub tokenizer_json: Option<(&'a str, Vec<u8>)>,
    pub tokenizer_config: Option<Vec<u8>>,
    /// Refuse models estimated to need more (the browser passes the wasm32 limit).
    pub memory_limit: Option<u64>,
}

/// Counts bytes as the tensors are read, for the progress bar, and notes
/// where the file ran out: a loader that then fails was cut short by a
/// truncated file, whatever words its error uses.
struct Progress<'a, R> {
    inner: R,
    read: u64,
    total: u64,
    last: u64,
    report: &'a mut dyn FnMut(Phase, u64, u64),
    ran_out: bool,
}

impl<R: Read> Read for Progress<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.ran_out |= n == 0 && !buf.is_empty();
        self.read += n as u64;
        if self.read - self.last >= 4 << 20 {
            self.last = self.read;
            (self.report)(Phase::Loading, self.read, self.total);
        }
        Ok(n)
    }
}

impl<R: Seek> Seek for Progress<'_, R> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }

    // Forwarded so a buffered reader underneath keeps its buffer on short skips.
    fn seek_relative(&mut self, offset: i64) -> std::io::Result<()> {
        self.inner.seek_relative(offset)
    }

    fn stream_position(&mut self) -> std::io::Result<u64> {
        self.inner.stream_position()
    }
}

impl Engine {
    /// Reads the header, checks the model can run, then loads the tensors.
    pub fn load<R: Read + Seek>(input: LoadInput<'_, R>, progress: &mut dyn FnMut(Phase, u64, u64)) -> Result<Self> {
        let file = input.model_name.to_owned();
        let mut reader = input.reader;
        progress(Phase::Reading, 0, input.file_size);
        let mut content = gguf::read_content(&file, &mut reader)?;
        progress(Phase::Parsing, content.tensor_data_offset, input.file_size);
        let plan: Plan = preflight::plan(&file, &content, input.file_size, input.memory_limit)?;

        // Tokenizer and template come before the tensors: a mismatch is found in
        // milliseconds, not after reading gigabytes.
        progress(Phase::Tokenizer, 0, 1);
        let md = &content.metadata;
        let (tokenizer, tokenizer_source) = match &input.tokenizer_json {
            Some((name, bytes)) => {
                (tokenizer::from_json(name, bytes, &file, plan.vocab_size)?, "tokenizer.json".to_string())
            }
            None => {
                let t = tokenizer::from_gguf(&file, md)?;
                tokenizer::check_vocab(&t, "the GGUF vocabulary", &file, plan.vocab_size)?;
                (t, "GGUF vocabulary".to_string())
            }
        };
        let template = chat_template(md, &tokenizer, input.tokenizer_config.as_deref());
        let mut notes = Vec::new();
        if template.is_none() {
            notes.push("This model has no chat template: prompts are sent as plain \"role: text\" lines.".to_string());
        }
        let (eos, bos_id) = (end_of_turn_ids(md, &tokenizer), bos_id(md));
        let name = md_str(md, "general.name").unwrap_or(&file).to_owned();
        let context = plan.context;
        if context < plan.context_length.min(MAX_CONTEXT) {
            notes.push(format!(
                "The context is limited to {context} tokens (the model allows {}) so that its cache fits the memory a browser gives one worker.",
                plan.context_length
            ));
        }
        let info = ModelInfo {
            name,
            architecture: plan.arch_name.clone(),
            parameters: Some(plan.parameters),
            file_bytes: plan.file_bytes,
            quantization: plan.quantization.clone(),
            context_length: context,
            vocab_size: plan.vocab_size,
            tokenizer_source,
            chat_template_source: template.as_ref().map(|t| t.source_name.clone()),
            estimated_bytes: plan.estimated_bytes,
            kv_bytes_per_token: plan.kv_bytes_per_token,
            cache_budget_bytes: plan.cache_budget,
            kv_bytes_per_token_smallest: plan.kv_bytes_per_token_smallest,
            notes,
        };
        // The vocabulary arrays are in the tokenizer now; dropped before the
        // tensors arrive, they do not add to the peak (27 MB for Gemma's 262k tokens).
        content.metadata.retain(|k, _| !tokenizer::VOCABULARY_KEYS.contains(&k.as_str()));
        let mut counted =
            Progress { inner: reader, read: 0, total: plan.tensor_bytes, last: 0, report: progress, ran_out: false };
        let loaded = Model::load(plan.arch, content, &mut counted, context, plan.layers, &file);
        let mut model = match loaded {
            Err(InferenceError::Load { .. }) if counted.ran_out => {
                return Err(InferenceError::Truncated {
                    file,
                    tensor: "(tensor data)".into(),
                    needed: plan.file_bytes,
                    size: input.file_size,
                })
            }
            loaded => loaded?,
        };
        model.set_cache_budget(plan.cache_budget.map(|b| usize::try_from(b).unwrap_or(usize::MAX)));
        if let Some(rows) = model.vocab_size().filter(|&rows| rows < plan.vocab_size) {
            return Err(InferenceError::Load {
                file,
                reason: format!("its embedding table has {rows} rows for a vocabulary of {} tokens", plan.vocab_size),
            });
        }
        (counted.report)(Phase::Loading, plan.tensor_bytes, plan.tensor_bytes);
        Ok(Self {
            model,
            tokenizer,
            template,
            eos,
            bos: bos_id,
            info,
            file,
            history: Vec::new(),
            cached: Vec::new(),
            context,
            cache_bound: plan.cache_budget.map(|b| b.saturating_add(plan.estimated_bytes)),
        })
    }
}

type Metadata = std::collections::HashMap<String, candle_core::quantized::gguf_file::Value>;

/// The chat template: tokenizer_config.json's where the folder has one, else
/// the GGUF's `tokenizer.chat_template`; `None` for a model without one.
fn chat_template(md: &Metadata, tokenizer: &Tokenizer, config: Option<&[u8]>) -> Option<ChatTemplate> {
    let token_text = |key: &str| {
        md.get(key).and_then(|v| v.to_u32().ok()).and_then(|id| tokenizer.id_to_token(id)).unwrap_or_default()
    };
    let (bos, eos) = (token_text("tokenizer.ggml.bos_token_id"), token_text("tokenizer.ggml.eos_token_id"));
    let config: Option<serde_json::Value> = config.and_then(|b| serde_json::from_slice(b).ok());
    match config.as_ref().and_then(ChatTemplate::from_tokenizer_config) {
        Some((tpl, b, e)) => Some(ChatTemplate::new(tpl, "tokenizer_config.json", b.unwrap_or(bos), e.unwrap_or(eos))),
        None => md_str(md, "tokenizer.chat_template")
            .map(|t| ChatTemplate::new(t.to_owned(), "GGUF tokenizer.chat_template", bos, eos)),
    }
}

/// The ids that end a turn: the GGUF's EOS id and the end-of-turn tokens of
/// the chat formats in use that this vocabulary has.
fn end_of_turn_ids(md: &Metadata, tokenizer: &Tokenizer) -> Vec<u32> {
    let mut eos: Vec<u32> = md.get("tokenizer.ggml.eos_token_id").and_then(|v| v.to_u32().ok()).into_iter().collect();
    for t in END_OF_TURN {
        if let Some(id) = tokenizer.token_to_id(t) {
            if !eos.contains(&id) {
                eos.push(id);
            }
        }
    }
    eos
}

/// The beginning-of-sequence token, where the model wants one (SentencePiece
/// models, Llama 3, Gemma): llama.cpp adds it to every prompt that does not
/// begin with it.
fn bos_id(md: &Metadata) -> Option<u32> {
    md.get("tokenizer.ggml.add_bos_token")
        .and_then(|v| v.to_bool().ok())
        .unwrap_or(md_str(md, "tokenizer.ggml.model") == Some("llama"))
        .then(|| md.get("tokenizer.ggml.bos_token_id").and_then(|v| v.to_u32().ok()))
        .flatten()
}
