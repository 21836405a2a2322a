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

use std::io::{Read, Seek, SeekFrom};

use fineprint_protocol::{ModelInfo, Phase, Sampling, Stats, StopReason};
use tokenizers::Tokenizer;

pub use error::{InferenceError, Result};
/// Relaxed SIMD's two dot products and the choice between them (the worker times them when it starts).
pub use fineprint_kernels::dot_sums;
use gguf::md_str;
use model::Model;
use preflight::Plan;
use sampling::Chooser;
use template::ChatTemplate;
use tokenizer::TextStream;

/// Tokens that end a turn in the chat formats in use, besides the GGUF's EOS id.
const END_OF_TURN: &[&str] =
    &["<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "</s>"];

/// The longest context this tool runs (the KV cache grows with it).
pub const MAX_CONTEXT: usize = 4096;

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

/// Counts bytes as the tensors are read, for the progress bar.
struct Progress<'a, R> {
    inner: R,
    read: u64,
    total: u64,
    last: u64,
    report: &'a mut dyn FnMut(Phase, u64, u64),
}

impl<R: Read> Read for Progress<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
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
}

/// A generation in progress.
pub struct Generation {
    chooser: Chooser,
    logits: Option<Vec<f32>>,
    sampling: Sampling,
    pub generated: Vec<u32>,
    /// For each generated token, how far the best logit led the second best
    /// (after the repeat penalty): where it is a few tenths, another engine's
    /// rounding may pick the other token, so tests compare greedy output up to there.
    pub margins: Vec<f32>,
    stream: TextStream,
    pub stats: Stats,
    ignore_eos: bool,
    text: String,
    record_reply: bool,
    /// A chat without a template ends its turn where the model starts a new
    /// role line ("user:", "assistant:", …); text that may be the start of one
    /// is held back until it is not.
    stop: Option<&'static [&'static str]>,
    held: String,
}

impl Generation {
    pub fn text(&self) -> &str {
        &self.text
    }
}

pub enum Step {
    /// A token; `text` is what it adds (None while a character is incomplete).
    Token {
        id: u32,
        text: Option<String>,
    },
    Done {
        reason: StopReason,
        text: Option<String>,
    },
}

fn candle_err(file: &str) -> impl Fn(candle_core::Error) -> InferenceError + '_ {
    move |e| InferenceError::Model { file: file.to_owned(), reason: e.to_string() }
}

/// `Engine::warm_up`'s prompt (one more than the kernels' prompt tile of
/// eight rows) and the tokens it decodes after.
const WARM_UP_PROMPT: usize = 9;
const WARM_UP_TOKENS: usize = 2;

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
        let token_text = |key: &str| {
            md.get(key).and_then(|v| v.to_u32().ok()).and_then(|id| tokenizer.id_to_token(id)).unwrap_or_default()
        };
        let (bos, eos_text) = (token_text("tokenizer.ggml.bos_token_id"), token_text("tokenizer.ggml.eos_token_id"));
        let config: Option<serde_json::Value> =
            input.tokenizer_config.as_deref().and_then(|b| serde_json::from_slice(b).ok());
        let mut notes = Vec::new();
        let template = match config.as_ref().and_then(ChatTemplate::from_tokenizer_config) {
            Some((tpl, b, e)) => Some(ChatTemplate::new(
                tpl,
                "tokenizer_config.json",
                b.unwrap_or(bos.clone()),
                e.unwrap_or(eos_text.clone()),
            )),
            None => md_str(md, "tokenizer.chat_template").map(|t| {
                ChatTemplate::new(t.to_owned(), "GGUF tokenizer.chat_template", bos.clone(), eos_text.clone())
            }),
        };
        if template.is_none() {
            notes.push("This model has no chat template: prompts are sent as plain \"role: text\" lines.".to_string());
        }
        let mut eos: Vec<u32> =
            md.get("tokenizer.ggml.eos_token_id").and_then(|v| v.to_u32().ok()).into_iter().collect();
        for t in END_OF_TURN {
            if let Some(id) = tokenizer.token_to_id(t) {
                if !eos.contains(&id) {
                    eos.push(id);
                }
            }
        }

        // The beginning-of-sequence token, where the model wants one (SentencePiece models,
        // Llama 3, Gemma): llama.cpp adds it to every prompt that does not begin with it.
        let bos_id = md
            .get("tokenizer.ggml.add_bos_token")
            .and_then(|v| v.to_bool().ok())
            .unwrap_or(md_str(md, "tokenizer.ggml.model") == Some("llama"))
            .then(|| md.get("tokenizer.ggml.bos_token_id").and_then(|v| v.to_u32().ok()))
            .flatten();
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
            notes,
        };
        // The vocabulary arrays are in the tokenizer now; dropped before the
        // tensors arrive, they do not add to the peak (27 MB for Gemma's 262k tokens).
        content.metadata.retain(|k, _| !tokenizer::VOCABULARY_KEYS.contains(&k.as_str()));
        let mut counted = Progress { inner: reader, read: 0, total: plan.tensor_bytes, last: 0, report: progress };
        let model = Model::load(plan.arch, content, &mut counted, context, &file).map_err(|e| match e {
            InferenceError::Load { reason, .. }
                if reason.contains("failed to fill whole buffer") || reason.contains("UnexpectedEof") =>
            {
                InferenceError::Truncated {
                    file: file.clone(),
                    tensor: "(tensor data)".into(),
                    needed: plan.file_bytes,
                    size: input.file_size,
                }
            }
            e => e,
        })?;
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
        })
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The prompt's token ids, beginning with the model's BOS token where it wants one
    /// (once: a chat template that writes it already is not given a second).
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>> {
        let mut ids = self
            .tokenizer
            .encode(text, false)
            .map(|e| e.get_ids().to_vec())
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

    /// Forgets the conversation; the next prompt starts from an empty cache.
    pub fn reset(&mut self) {
        self.history.clear();
        self.cached.clear();
        self.model.clear_kv_cache();
    }

    /// Starts a chat turn: renders the template, reuses the cached prefix.
    pub fn start_chat(
        &mut self,
        user: &str,
        system: Option<&str>,
        today: &str,
        sampling: &Sampling,
        now: &dyn Fn() -> f64,
    ) -> Result<Generation> {
        let prompt = self.chat_prompt(user, system, today)?;
        let ids = self.tokenize(&prompt)?;
        let mut g = self.start(&ids, sampling, now)?;
        if let Some(s) = system.filter(|s| !s.trim().is_empty()) {
            if self.history.is_empty() {
                self.history.push(("system".into(), s.into()));
            }
        }
        self.history.push(("user".into(), user.into()));
        g.record_reply = true;
        if self.template.is_none() {
            g.stop = Some(template::PLAIN_TURN_ENDS);
        }
        Ok(g)
    }

    /// Runs the prompt through the model and returns a generation ready to step.
    pub fn start(&mut self, ids: &[u32], sampling: &Sampling, now: &dyn Fn() -> f64) -> Result<Generation> {
        if ids.len() + 1 >= self.context {
            return Err(InferenceError::ContextFull { tokens: ids.len(), context: self.context });
        }
        // Reuse the cache when it holds a prefix of this prompt; otherwise start over.
        let reuse = !self.cached.is_empty() && ids.len() > self.cached.len() && ids.starts_with(&self.cached);
        if !reuse {
            self.cached.clear();
            self.model.clear_kv_cache();
        }
        let new = &ids[self.cached.len()..];
        let t0 = now();
        let logits = self.forward(new, self.cached.len()).inspect_err(|_| self.forget_cache())?;
        let prompt_ms = now() - t0;
        self.cached.extend_from_slice(new);
        Ok(Generation {
            chooser: Chooser::new(sampling),
            logits: Some(logits),
            sampling: sampling.clone(),
            generated: Vec::new(),
            margins: Vec::new(),
            stream: TextStream::default(),
            stats: Stats {
                prompt_tokens: new.len(),
                prompt_ms,
                prompt_tok_s: rate(new.len(), prompt_ms),
                ..Stats::default()
            },
            ignore_eos: false,
            text: String::new(),
            record_reply: false,
            stop: None,
            held: String::new(),
        })
    }

    /// For benchmarks and the golden test: generate `max_tokens` whatever comes.
    pub fn ignore_eos(g: &mut Generation) {
        g.ignore_eos = true;
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

    /// One token: sample it, then (unless generation ends) run it through the model.
    pub fn step(&mut self, g: &mut Generation, now: &dyn Fn() -> f64) -> Result<Step> {
        let step = self.try_step(g, now);
        if step.is_err() {
            // The reply so far is kept so the conversation stays user/assistant
            // alternating (strict templates refuse two user turns in a row).
            self.finish(g, StopReason::Stopped);
            self.forget_cache();
        }
        step
    }

    fn try_step(&mut self, g: &mut Generation, now: &dyn Fn() -> f64) -> Result<Step> {
        let Some(mut logits) = g.logits.take() else {
            return Ok(Step::Done { reason: StopReason::MaxTokens, text: None });
        };
        let t0 = now();
        if g.sampling.repeat_penalty != 1.0 && g.sampling.repeat_last_n > 0 {
            let start = g.generated.len().saturating_sub(g.sampling.repeat_last_n);
            sampling::penalise_repeats(&mut logits, g.sampling.repeat_penalty, &g.generated[start..]);
        }
        let (id, margin) = g.chooser.choose(&logits);
        if !g.ignore_eos && self.eos.contains(&id) {
            return Ok(self.finish(g, StopReason::EndOfTurn));
        }
        g.generated.push(id);
        g.margins.push(margin);
        let text = g.stream.push(&self.tokenizer, id);
        let (text, turn_over) = match (g.stop, text) {
            (Some(stop), Some(t)) => hold_back(&mut g.held, &t, stop),
            (_, t) => (t, false),
        };
        if let Some(t) = &text {
            g.text.push_str(t);
        }
        if turn_over {
            // The reply's last token is in the cache; the next prompt re-renders the turn.
            let pos = self.cached.len();
            self.forward(&[id], pos)?;
            self.cached.push(id);
            g.held.clear();
            return Ok(match self.finish(g, StopReason::EndOfTurn) {
                Step::Done { reason, text: rest } => Step::Done { reason, text: join(text, rest) },
                s => s,
            });
        }
        if g.generated.len() >= g.sampling.max_tokens {
            // The last token still goes into the cache so the conversation can continue.
            let pos = self.cached.len();
            self.forward(&[id], pos)?;
            self.cached.push(id);
            g.stats.decode_ms += now() - t0;
            return Ok(match self.finish(g, StopReason::MaxTokens) {
                Step::Done { reason, text: rest } => Step::Done { reason, text: join(text, rest) },
                s => s,
            });
        }
        if self.cached.len() + 1 >= self.context {
            return Ok(match self.finish(g, StopReason::ContextFull) {
                Step::Done { reason, text: rest } => Step::Done { reason, text: join(text, rest) },
                s => s,
            });
        }
        let pos = self.cached.len();
        g.logits = Some(self.forward(&[id], pos)?);
        self.cached.push(id);
        g.stats.decode_ms += now() - t0;
        Ok(Step::Token { id, text })
    }

    /// Ends a generation early (the person pressed Stop) or at its natural end.
    pub fn finish(&mut self, g: &mut Generation, reason: StopReason) -> Step {
        g.logits = None;
        let tail = g.stream.finish(&self.tokenizer);
        let held = std::mem::take(&mut g.held);
        let rest = match (held.is_empty(), tail) {
            (true, t) => t,
            (false, t) => Some(held + t.as_deref().unwrap_or("")),
        };
        let rest = match (g.stop, rest) {
            (Some(stops), Some(r)) => Some(match first_stop(&r, stops) {
                Some(i) => r[..i].to_owned(),
                None => r,
            }),
            (_, r) => r,
        };
        if let Some(r) = &rest {
            g.text.push_str(r);
        }
        g.stats.generated_tokens = g.generated.len();
        g.stats.decode_tok_s = rate(g.generated.len(), g.stats.decode_ms);
        if g.record_reply {
            self.history.push(("assistant".into(), g.text.clone()));
            g.record_reply = false;
        }
        Step::Done { reason, text: rest }
    }
}

/// Where the first of `stops` begins in `text`.
fn first_stop(text: &str, stops: &[&str]) -> Option<usize> {
    stops.iter().filter_map(|s| text.find(s)).min()
}

/// Adds `piece` to what is held back and returns what can be shown: all of it
/// but a tail that may begin one of `stops`, or what comes before the first
/// stop (true: the turn is over).
fn hold_back(held: &mut String, piece: &str, stops: &[&str]) -> (Option<String>, bool) {
    held.push_str(piece);
    if let Some(i) = first_stop(held, stops) {
        let shown = held[..i].to_owned();
        held.clear();
        return ((!shown.is_empty()).then_some(shown), true);
    }
    let keep = held
        .char_indices()
        .map(|(i, _)| i)
        .find(|&i| stops.iter().any(|s| s.starts_with(&held[i..])))
        .unwrap_or(held.len());
    let shown: String = held.drain(..keep).collect();
    ((!shown.is_empty()).then_some(shown), false)
}

fn join(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a + &b),
        (a, b) => a.or(b),
    }
}

fn rate(n: usize, ms: f64) -> f64 {
    if ms > 0.0 {
        n as f64 * 1000.0 / ms
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_turn_ends_before_the_next_role_line_and_never_shows_it() {
        let stops = template::PLAIN_TURN_ENDS;
        let mut held = String::new();
        assert_eq!(hold_back(&mut held, " Paris.", stops), (Some(" Paris.".into()), false));
        assert_eq!(hold_back(&mut held, "\n", stops), (None, false));
        assert_eq!(hold_back(&mut held, "us", stops), (None, false));
        assert_eq!(hold_back(&mut held, "er: more", stops), (None, true));
        // A newline that turns out not to start a role line is shown after all.
        let mut held = String::new();
        assert_eq!(hold_back(&mut held, "a\n", stops), (Some("a".into()), false));
        assert_eq!(hold_back(&mut held, "Café", stops), (Some("\nCafé".into()), false));
    }

    #[test]
    fn a_made_up_assistant_or_system_turn_ends_the_reply_too() {
        let stops = template::PLAIN_TURN_ENDS;
        for (pieces, shown) in [
            (&["4.", "\nassistant", ": Would you like to see the answer?"][..], "4."),
            (&["Sure.\n", "System: be brief"][..], "Sure."),
            (&["Yes.\nUser:", " and then?"][..], "Yes."),
        ] {
            let mut held = String::new();
            let mut out = String::new();
            let mut over = false;
            for p in pieces {
                let (text, done) = hold_back(&mut held, p, stops);
                out.push_str(text.as_deref().unwrap_or(""));
                if done {
                    over = true;
                    break;
                }
            }
            assert!(over, "{pieces:?}");
            assert_eq!(out, shown);
        }
        // A role word inside a sentence is not a new turn.
        let mut held = String::new();
        assert_eq!(hold_back(&mut held, "the user: a person\n", stops), (Some("the user: a person".into()), false));
    }
}
