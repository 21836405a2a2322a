//! The decoder of the llama family (llama, mistral, qwen2, qwen3) and of
//! gemma3 over quantized weights that stay quantized, with a KV cache that
//! grows with the conversation.
//!
//! candle-transformers' quantized models dequantize the embedding table to
//! f32 (for SmolLM2-135M that alone is 113 MB next to a 98 MB file) and copy
//! the whole KV cache on every token (`cat` plus `repeat_kv`). Here the
//! embedding is looked up one quantized row at a time — the same table is the
//! output projection when the model ties them — and attention reads the cache
//! in place, grouped-query heads sharing their key/value head.
//!
//! Layout: one file per family (`llama.rs`, `qwen.rs`, `gemma3.rs`) turns the
//! header into a [`Config`] and a [`Rope`]; the layers they share are in
//! `layers.rs`, the tensor reading in `tensors.rs`; optional tensors (biases,
//! q/k norms, post-norms) are used where the file has them.

use std::collections::HashMap;
use std::io::{Read, Seek};

use candle_core::quantized::gguf_file::{Content, Value};

use crate::arch::Arch;
use crate::gguf::md_u64;
use fineprint_kernels::{matmul_shared, parallel, Activations, Holding, Weight};

mod cache;
mod gemma3;
mod layers;
mod llama;
mod qwen;
mod tensors;

pub use cache::Form as CacheForm;
use cache::Rows;
pub(crate) use cache::LADDER as CACHE_LADDER;
use layers::{add, add_rows, attention, gelu_tanh_mul, rms_norm, rms_norm_in_place, rotate, silu_mul, Rotation};
pub(crate) use tensors::holding_of;
use tensors::Tensors;

/// The feed-forward activation's cost per value in `parallel`'s units (bytes
/// of weights streamed in the same time): a value of the exponential in
/// vector code costs about what a dozen bytes of weights take to stream
/// through a kernel (the README's speed notes have the figures). A decoded
/// token's activation then stays on one thread, a prompt's splits.
const ACTIVATION_WORK: usize = 12;

/// Values per task of the feed-forward activation: a token's row splits too.
const ACTIVATION_CHUNK: usize = 512;

/// Prompt rows run at once: enough to unpack each weight block for many rows,
/// few enough that the working buffers stay small.
const PROMPT_CHUNK: usize = 128;

/// The header values of one architecture (`{prefix}.{key}`).
pub(super) struct Header<'a> {
    md: &'a HashMap<String, Value>,
    prefix: &'static str,
}

/// Whether layer `i` slides its window under a pattern of `p` (gemma3: five
/// local layers, then one global).
fn is_local(i: usize, p: usize) -> bool {
    i % p < p - 1
}

/// The sliding-window layers' caches, which stop growing at a ring's size:
/// (how many such layers, positions each keeps). For the pre-flight estimate.
pub(crate) fn ring_layers(arch: Arch, md: &HashMap<String, Value>) -> Option<(usize, usize)> {
    if arch != Arch::Gemma3 {
        return None;
    }
    let h = Header::new(arch, md);
    let (cfg, rope) = gemma3::config(&h).ok()?;
    let p = rope.local_pattern?;
    let n_layer = h.get("block_count").ok()?;
    Some(((0..n_layer).filter(|&i| is_local(i, p)).count(), cfg.sliding_window? + PROMPT_CHUNK))
}

impl<'a> Header<'a> {
    fn new(arch: Arch, md: &'a HashMap<String, Value>) -> Self {
        let prefix = match arch {
            Arch::Qwen2 => "qwen2",
            Arch::Qwen3 => "qwen3",
            Arch::Gemma3 => "gemma3",
            Arch::Phi3 => "phi3",
            Arch::Llama => match md.get("general.architecture").and_then(|v| v.to_string().ok()).map(String::as_str) {
                Some("mistral") => "mistral",
                _ => "llama",
            },
        };
        Self { md, prefix }
    }

    /// A size: present, positive and below 2^20.
    pub(super) fn get(&self, k: &str) -> Result<usize, LoadError> {
        md_u64(self.md, &format!("{}.{k}", self.prefix))
            .and_then(|v| usize::try_from(v).ok())
            .filter(|&v| v > 0 && v < 1 << 20)
            .ok_or_else(|| LoadError::Header(format!("{}.{k}", self.prefix)))
    }

    pub(super) fn f32_or(&self, k: &str, default: f32) -> f32 {
        self.md.get(&format!("{}.{k}", self.prefix)).and_then(|v| v.to_f32().ok()).unwrap_or(default)
    }

    pub(super) fn string(&self, k: &str) -> Option<&'a str> {
        self.md.get(&format!("{}.{k}", self.prefix)).and_then(|v| v.to_string().ok()).map(String::as_str)
    }

    /// What every family reads alike, with llama's defaults for the rest.
    pub(super) fn common(&self) -> Result<(Config, Rope), LoadError> {
        let dim = self.get("embedding_length")?;
        let n_head = self.get("attention.head_count")?;
        let n_kv_head = self.get("attention.head_count_kv").unwrap_or(n_head);
        let head_dim = self.get("attention.key_length").unwrap_or(dim / n_head);
        let rope_dim = self.get("rope.dimension_count").unwrap_or(head_dim).min(head_dim);
        if head_dim == 0 || n_kv_head > n_head || !n_head.is_multiple_of(n_kv_head) || rope_dim % 2 == 1 {
            return Err(LoadError::Header(format!(
                "{}.attention.* ({n_head} heads, {n_kv_head} key/value heads, head size {head_dim}, rotary size {rope_dim})",
                self.prefix
            )));
        }
        let softcap = |k: &str| Some(self.f32_or(k, 0.0)).filter(|c| c.is_finite() && *c > 0.0);
        let cfg = Config {
            dim,
            n_head,
            n_kv_head,
            head_dim,
            rope_dim,
            neox: false,
            eps: self.f32_or("attention.layer_norm_rms_epsilon", 1e-5),
            embed_scale: 1.0,
            gelu: false,
            query_scale: 1.0 / (head_dim as f32).sqrt(),
            sliding_window: None,
            final_softcap: softcap("final_logit_softcapping"),
            attn_softcap: softcap("attn_logit_softcapping"),
        };
        let rope = Rope {
            base: self.f32_or("rope.freq_base", 10_000.0),
            linear_scale: 1.0,
            local_pattern: None,
            local_base: 10_000.0,
        };
        Ok((cfg, rope))
    }
}

/// How a family rotates positions.
pub(super) struct Rope {
    pub(super) base: f32,
    /// Positions divided by this (linear RoPE scaling).
    pub(super) linear_scale: f32,
    /// Sliding-window layers: all but every `n`-th, rotating with `local_base`.
    pub(super) local_pattern: Option<usize>,
    pub(super) local_base: f32,
}

/// Why a decoder could not be built from a GGUF.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("the tensor {0} is missing")]
    Missing(String),
    #[error("the tensor {name} has shape {shape:?}, expected {expected}")]
    Shape { name: String, shape: Vec<usize>, expected: String },
    #[error("reading the tensor {name}: {source}")]
    Io { name: String, source: std::io::Error },
    #[error("the tensor {name}: {reason}")]
    Tensor { name: String, reason: String },
    #[error("the header value {0} is missing or out of range")]
    Header(String),
}

/// What the shared layers need to know of a family.
pub(super) struct Config {
    pub(super) dim: usize,
    pub(super) n_head: usize,
    pub(super) n_kv_head: usize,
    pub(super) head_dim: usize,
    pub(super) rope_dim: usize,
    /// Qwen's rotation pairs element i with i + d/2; llama's GGUF weights are
    /// permuted so that it pairs 2i with 2i + 1.
    pub(super) neox: bool,
    pub(super) eps: f32,
    /// gemma3: the embedding is scaled by √dim.
    pub(super) embed_scale: f32,
    /// gemma3: GELU (tanh approximation) gates the feed-forward, not SiLU.
    pub(super) gelu: bool,
    /// The attention score scale (1/√head_dim unless the model says otherwise).
    pub(super) query_scale: f32,
    /// gemma3: local layers attend to this many most recent positions only.
    pub(super) sliding_window: Option<usize>,
    /// Logits squashed as cap·tanh(x/cap) where the file sets a cap.
    pub(super) final_softcap: Option<f32>,
    pub(super) attn_softcap: Option<f32>,
}

struct Layer {
    attn_norm: Vec<f32>,
    q: Weight,
    k: Weight,
    v: Weight,
    o: Weight,
    /// qwen2 has biases on the query, key and value projections.
    bias: Option<[Vec<f32>; 3]>,
    /// qwen3 normalises each query and key head.
    qk_norm: Option<[Vec<f32>; 2]>,
    ffn_norm: Vec<f32>,
    /// gemma3 normalises the attention and feed-forward outputs too.
    post_norms: Option<[Vec<f32>; 2]>,
    /// A sliding-window layer (gemma3's local layers), with its own rotation base.
    local: bool,
    gate: Weight,
    up: Weight,
    down: Weight,
    /// Keys and values of the positions seen so far, `kv_dim` per position,
    /// as f16 (as llama.cpp keeps them), or in fewer bits past the cache's
    /// budget (`cache::LADDER`).
    k_cache: Rows,
    v_cache: Rows,
    /// Positions in the cache.
    len: usize,
    /// A sliding-window layer keeps only its window (and one prompt chunk,
    /// which is appended before it is attended to) in a ring of this many
    /// positions, position `t` at slot `t % ring`: Gemma 3's local layers are
    /// five in six, so a long chat's cache stays a fraction of its length.
    ring: Option<usize>,
}

/// How the cache's forms are chosen (see `Decoder::set_cache_budget` and
/// `set_cache_forms`).
#[derive(Clone, Copy)]
enum CachePolicy {
    /// f16 whatever its length.
    F16,
    /// Down `cache::LADDER` as the growing layers' cache passes these bytes.
    Budget(usize),
    /// These forms whatever its length.
    Forms((CacheForm, CacheForm)),
}

pub struct Decoder {
    cfg: Config,
    embd: Weight,
    /// None when the output projection is the embedding table.
    output: Option<Weight>,
    out_norm: Vec<f32>,
    layers: Vec<Layer>,
    rotation: Rotation,
    /// The local layers' rotation, where its base differs.
    local_rotation: Option<Rotation>,
    context: usize,
    /// How the cache's forms are chosen as it grows.
    cache_policy: CachePolicy,
    scratch: Scratch,
}

#[derive(Default)]
struct Scratch {
    x: Vec<f32>,
    h: Vec<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    att: Vec<f32>,
    /// The attention output laid out by key/value head (see `attention`).
    att_grouped: Vec<f32>,
    proj: Vec<f32>,
    gate: Vec<f32>,
    up: Vec<f32>,
    acts: Activations,
    /// The rotary embedding's rows for the positions being run (global and,
    /// for gemma3's sliding-window layers, local).
    cos: Vec<f32>,
    sin: Vec<f32>,
    local_cos: Vec<f32>,
    local_sin: Vec<f32>,
}

impl Decoder {
    pub fn load<R: Read + Seek>(
        arch: Arch,
        content: &Content,
        reader: &mut R,
        context: usize,
        layers: Holding,
    ) -> Result<Self, LoadError> {
        let h = Header::new(arch, &content.metadata);
        let (cfg, rope) = match arch {
            Arch::Llama | Arch::Phi3 => llama::config(&h)?,
            Arch::Qwen2 | Arch::Qwen3 => qwen::config(&h)?,
            Arch::Gemma3 => gemma3::config(&h)?,
        };
        let (dim, n_head, n_kv_head, head_dim, rope_dim) =
            (cfg.dim, cfg.n_head, cfg.n_kv_head, cfg.head_dim, cfg.rope_dim);
        let n_layer = h.get("block_count")?;
        let is_local = |i: usize| rope.local_pattern.is_some_and(|p| is_local(i, p));

        // Every tensor the decoder will take, so that they can be read in file order.
        let mut names: Vec<String> = vec!["token_embd.weight".into(), "output_norm.weight".into()];
        let mut optional: Vec<String> = vec!["output.weight".into(), "rope_freqs.weight".into()];
        for i in 0..n_layer {
            let required = [
                "attn_norm",
                "attn_q",
                "attn_k",
                "attn_v",
                "attn_output",
                "ffn_norm",
                "ffn_gate",
                "ffn_up",
                "ffn_down",
            ];
            names.extend(required.iter().map(|n| format!("blk.{i}.{n}.weight")));
            let extra = [
                "attn_q.bias",
                "attn_k.bias",
                "attn_v.bias",
                "attn_q_norm.weight",
                "attn_k_norm.weight",
                "post_attention_norm.weight",
                "post_ffw_norm.weight",
            ];
            optional.extend(extra.iter().map(|n| format!("blk.{i}.{n}")));
        }
        optional.retain(|n| content.tensor_infos.contains_key(n));
        names.extend(optional);
        let mut t = Tensors::read(content, reader, &names, layers)?;
        let embd = t.matrix("token_embd.weight", None, dim)?;
        let vocab = embd.rows;
        // Llama 3.1+ scales some rotation frequencies; the factors ship as a tensor.
        let factors =
            if t.has("rope_freqs.weight") { Some(t.vector("rope_freqs.weight", rope_dim / 2)?) } else { None };
        let rotation = Rotation::new(rope_dim, rope.base, rope.linear_scale, factors.as_deref());
        let local_rotation = (0..n_layer).any(is_local).then(|| Rotation::new(rope_dim, rope.local_base, 1.0, None));
        let out_norm = t.vector("output_norm.weight", dim)?;
        let output = if t.has("output.weight") { Some(t.matrix("output.weight", Some(vocab), dim)?) } else { None };
        let (q_dim, kv_dim) = (n_head * head_dim, n_kv_head * head_dim);
        let mut layers = Vec::with_capacity(n_layer);
        for i in 0..n_layer {
            let n = |s: &str| format!("blk.{i}.{s}");
            let bias = if t.has(&n("attn_q.bias")) {
                Some([
                    t.vector(&n("attn_q.bias"), q_dim)?,
                    t.vector(&n("attn_k.bias"), kv_dim)?,
                    t.vector(&n("attn_v.bias"), kv_dim)?,
                ])
            } else {
                None
            };
            let qk_norm = if t.has(&n("attn_q_norm.weight")) {
                Some([t.vector(&n("attn_q_norm.weight"), head_dim)?, t.vector(&n("attn_k_norm.weight"), head_dim)?])
            } else {
                None
            };
            let post_norms = if t.has(&n("post_attention_norm.weight")) {
                Some([t.vector(&n("post_attention_norm.weight"), dim)?, t.vector(&n("post_ffw_norm.weight"), dim)?])
            } else {
                None
            };
            let ffn = t.raw.get(&n("ffn_gate.weight")).and_then(|(dims, ..)| dims.first().copied());
            let ffn = ffn.ok_or_else(|| LoadError::Missing(n("ffn_gate.weight")))?;
            layers.push(Layer {
                attn_norm: t.vector(&n("attn_norm.weight"), dim)?,
                q: t.matrix(&n("attn_q.weight"), Some(q_dim), dim)?,
                k: t.matrix(&n("attn_k.weight"), Some(kv_dim), dim)?,
                v: t.matrix(&n("attn_v.weight"), Some(kv_dim), dim)?,
                o: t.matrix(&n("attn_output.weight"), Some(dim), q_dim)?,
                bias,
                qk_norm,
                ffn_norm: t.vector(&n("ffn_norm.weight"), dim)?,
                post_norms,
                local: is_local(i),
                ring: cfg.sliding_window.filter(|_| is_local(i)).map(|w| w + PROMPT_CHUNK),
                len: 0,
                gate: t.matrix(&n("ffn_gate.weight"), Some(ffn), dim)?,
                up: t.matrix(&n("ffn_up.weight"), Some(ffn), dim)?,
                down: t.matrix(&n("ffn_down.weight"), Some(dim), ffn)?,
                k_cache: Rows::default(),
                v_cache: Rows::default(),
            });
        }
        Ok(Self {
            cfg,
            embd,
            output,
            out_norm,
            layers,
            rotation,
            local_rotation,
            context,
            cache_policy: CachePolicy::F16,
            scratch: Scratch::default(),
        })
    }

    pub fn vocab_size(&self) -> usize {
        self.embd.rows
    }

    /// The matrices one decoded token reads, in the order it reads them
    /// (the embedding table only where it is the output projection too), as
    /// the kernels hold them; None if candle holds any of them.
    pub fn token_weights(&self) -> Option<Vec<&[u8]>> {
        let layers = self.layers.iter().flat_map(|l| [&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down]);
        let output = self.output.as_ref().unwrap_or(&self.embd);
        layers.chain([output]).map(|w| w.stored()).collect()
    }

    /// A new conversation starts with an f16 cache again (where its budget
    /// lets it: short chats then compute as llama.cpp's default does).
    pub fn clear_kv_cache(&mut self) {
        for l in &mut self.layers {
            l.k_cache = Rows::default();
            l.v_cache = Rows::default();
            l.len = 0;
        }
        if let CachePolicy::Forms(forms) = self.cache_policy {
            self.requantize_cache(forms);
        }
    }

    /// Bytes the cache of the layers that grow with the context (not the
    /// sliding-window rings, a fixed size) may take. Past them, every layer's
    /// keys and values step down `cache::LADDER` to the first forms whose
    /// cache at that length fits (or the last) and are kept so for the rest of
    /// the conversation. Heads whose width is not whole blocks of 32 keep f16.
    pub fn set_cache_budget(&mut self, bytes: Option<usize>) {
        self.cache_policy = bytes.map_or(CachePolicy::F16, CachePolicy::Budget);
    }

    /// Keeps the cache in `forms` whatever its length, in place of a budget
    /// (what it holds now is requantized, where `forms` are smaller; a
    /// cleared cache starts in them again): llama.cpp's `--cache-type-k`/`-v`,
    /// how the conformance test runs each rung from the first position.
    pub fn set_cache_forms(&mut self, forms: (CacheForm, CacheForm)) {
        self.cache_policy = CachePolicy::Forms(forms);
        self.requantize_cache(forms);
    }

    fn requantize_cache(&mut self, forms: (CacheForm, CacheForm)) {
        if !fineprint_kernels::cache_blocks::fits(self.cfg.head_dim) {
            return;
        }
        let kv_dim = self.cfg.n_kv_head * self.cfg.head_dim;
        for l in &mut self.layers {
            l.k_cache.requantize(forms.0, kv_dim);
            l.v_cache.requantize(forms.1, kv_dim);
        }
    }

    /// The forms the cache keeps keys and values in now.
    pub fn cache_forms(&self) -> (CacheForm, CacheForm) {
        self.layers.first().map_or((CacheForm::F16, CacheForm::F16), |l| (l.k_cache.form(), l.v_cache.form()))
    }

    /// Steps the cache down its ladder as far as positions up to `end` need
    /// for the growing layers to stay within the budget.
    fn fit_cache(&mut self, end: usize) {
        let CachePolicy::Budget(budget) = self.cache_policy else { return };
        let kv_dim = self.cfg.n_kv_head * self.cfg.head_dim;
        let growing = self.layers.iter().filter(|l| l.ring.is_none()).count();
        let now = self.cache_forms();
        // What the growing layers reserve (whole chunks) at `end`, the
        // allocation a step must stay within. Saturating: on wasm32 a large
        // header's product can pass usize.
        let positions = growing.saturating_mul(cache::reserved(end));
        let cost = |(k, v): (CacheForm, CacheForm)| {
            positions.saturating_mul(k.position_bytes(kv_dim) + v.position_bytes(kv_dim))
        };
        let last = cache::LADDER[cache::LADDER.len() - 1];
        let rung =
            cache::LADDER.into_iter().filter(|&rung| rung >= now).find(|&rung| cost(rung) <= budget).unwrap_or(last);
        if rung != now {
            self.requantize_cache(rung);
        }
    }

    /// Runs `ids` at positions `pos..`, keeping their keys and values, and
    /// returns the logits of the last one. Cached positions from `pos` on are
    /// dropped first, so a caller may rewind, except into what a
    /// sliding-window layer's ring has already overwritten.
    pub fn forward(&mut self, ids: &[u32], pos: usize) -> candle_core::Result<Vec<f32>> {
        let m = ids.len();
        if m == 0 {
            candle_core::bail!("nothing to run");
        }
        if let Some(l) = self.layers.iter().find(|l| pos < l.len && pos > 0 && l.ring.is_some_and(|r| l.len > r)) {
            candle_core::bail!(
                "cannot go back to position {pos}: the sliding-window cache holds positions from {} on",
                l.len - l.ring.unwrap_or(0)
            );
        }
        if pos + m > self.context {
            candle_core::bail!("positions {pos}..{} are past the context of {}", pos + m, self.context);
        }
        // A long prompt runs in chunks: the working buffers grow with the rows
        // run at once (for SmolLM2 about 28 KB a row), the cache only by its keys and values.
        let chunks = ids.chunks(PROMPT_CHUNK).count();
        for (i, chunk) in ids.chunks(PROMPT_CHUNK).enumerate().take(chunks - 1) {
            self.run(chunk, pos + i * PROMPT_CHUNK, 0)?;
        }
        let last = (chunks - 1) * PROMPT_CHUNK;
        self.run(&ids[last..], pos + last, 1)?;
        self.logits()
    }

    /// Runs `ids` at positions `pos..` through every layer, keeping every
    /// row's keys and values and leaving the last `keep` rows' hidden states
    /// at the end of the scratch buffer.
    fn run(&mut self, ids: &[u32], pos: usize, keep: usize) -> candle_core::Result<()> {
        let m = ids.len();
        let keep = keep.min(m);
        let n_layers = self.layers.len();
        self.fit_cache(pos + m);
        let c = &self.cfg;
        let (dim, hd) = (c.dim, c.head_dim);
        let (q_dim, kv_dim) = (c.n_head * hd, c.n_kv_head * hd);
        let s = &mut self.scratch;
        s.x.resize(m * dim, 0.0);
        for (row, &id) in s.x.chunks_exact_mut(dim).zip(ids) {
            self.embd.row(id as usize, row)?;
            if c.embed_scale != 1.0 {
                row.iter_mut().for_each(|v| *v *= c.embed_scale);
            }
        }
        self.rotation.rows(pos, m, &mut s.cos, &mut s.sin);
        if let Some(local) = &self.local_rotation {
            local.rows(pos, m, &mut s.local_cos, &mut s.local_sin);
        }
        for (l, layer) in self.layers.iter_mut().enumerate() {
            // Attention.
            rms_norm(&s.x, &layer.attn_norm, c.eps, &mut s.h);
            s.q.resize(m * q_dim, 0.0);
            s.k.resize(m * kv_dim, 0.0);
            s.v.resize(m * kv_dim, 0.0);
            matmul_shared(
                &s.h,
                m,
                &mut [(&layer.q, &mut s.q), (&layer.k, &mut s.k), (&layer.v, &mut s.v)],
                &mut s.acts,
            )?;
            if let Some([bq, bk, bv]) = &layer.bias {
                add_rows(&mut s.q, bq);
                add_rows(&mut s.k, bk);
                add_rows(&mut s.v, bv);
            }
            if let Some([nq, nk]) = &layer.qk_norm {
                rms_norm_in_place(&mut s.q, nq, c.eps);
                rms_norm_in_place(&mut s.k, nk, c.eps);
            }
            let half = c.rope_dim / 2;
            let (cos_t, sin_t) = if layer.local && self.local_rotation.is_some() {
                (&s.local_cos, &s.local_sin)
            } else {
                (&s.cos, &s.sin)
            };
            for i in 0..m {
                let at = i * half;
                let (cos, sin) = (&cos_t[at..at + half], &sin_t[at..at + half]);
                for head in s.q[i * q_dim..(i + 1) * q_dim].chunks_exact_mut(hd) {
                    rotate(head, cos, sin, c.neox, c.rope_dim);
                }
                for head in s.k[i * kv_dim..(i + 1) * kv_dim].chunks_exact_mut(hd) {
                    rotate(head, cos, sin, c.neox, c.rope_dim);
                }
            }
            layer.k_cache.append(pos, &s.k, kv_dim, layer.ring);
            layer.v_cache.append(pos, &s.v, kv_dim, layer.ring);
            layer.len = pos + m;
            // From here on a row's work feeds only its own hidden state, and
            // after the last layer only the last `keep` rows' are read (the
            // logits): there the other rows stop once their keys and values
            // are cached, as llama.cpp's graphs stop every row but the
            // outputs (`inp_out_ids`).
            let from = if l + 1 == n_layers { m - keep } else { 0 };
            let rows = m - from;
            if rows == 0 {
                continue;
            }
            s.att.resize(rows * q_dim, 0.0);
            let window = if layer.local { c.sliding_window } else { None };
            attention(
                c,
                &s.q[from * q_dim..],
                &layer.k_cache,
                &layer.v_cache,
                pos + from,
                rows,
                window,
                layer.ring,
                &mut s.att_grouped,
                &mut s.att,
            );
            let x = &mut s.x[from * dim..];
            s.proj.resize(rows * dim, 0.0);
            layer.o.matmul(&s.att, rows, &mut s.proj, &mut s.acts)?;
            if let Some([post_attn, _]) = &layer.post_norms {
                rms_norm_in_place(&mut s.proj, post_attn, c.eps);
            }
            add(x, &s.proj);

            // Feed-forward: down(silu(gate(h)) · up(h)).
            rms_norm(x, &layer.ffn_norm, c.eps, &mut s.h);
            let ffn = layer.gate.rows;
            s.gate.resize(rows * ffn, 0.0);
            s.up.resize(rows * ffn, 0.0);
            matmul_shared(&s.h, rows, &mut [(&layer.gate, &mut s.gate), (&layer.up, &mut s.up)], &mut s.acts)?;
            // Split across threads: in a prompt, Gemma's tanh alone took about
            // a twelfth of the time when it ran on one.
            let up = &s.up;
            parallel::chunks(
                &mut s.gate,
                ACTIVATION_CHUNK,
                rows * ffn * ACTIVATION_WORK,
                || (),
                |_, k, gate| {
                    let up = &up[k * ACTIVATION_CHUNK..][..gate.len()];
                    if c.gelu {
                        gelu_tanh_mul(gate, up);
                    } else {
                        silu_mul(gate, up);
                    }
                },
            );
            layer.down.matmul(&s.gate, rows, &mut s.proj, &mut s.acts)?;
            if let Some([_, post_ffn]) = &layer.post_norms {
                rms_norm_in_place(&mut s.proj, post_ffn, c.eps);
            }
            add(x, &s.proj);
        }
        Ok(())
    }

    /// The logits of the last position run.
    fn logits(&mut self) -> candle_core::Result<Vec<f32>> {
        let (c, s) = (&self.cfg, &mut self.scratch);
        let last = &s.x[s.x.len() - c.dim..];
        rms_norm(last, &self.out_norm, c.eps, &mut s.h);
        let out = self.output.as_ref().unwrap_or(&self.embd);
        let mut logits = vec![0f32; out.rows];
        out.matmul(&s.h, 1, &mut logits, &mut s.acts)?;
        if let Some(cap) = c.final_softcap {
            logits.iter_mut().for_each(|l| *l = cap * (*l / cap).tanh());
        }
        Ok(logits)
    }
}
