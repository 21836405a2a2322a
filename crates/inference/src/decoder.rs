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

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};

use candle_core::quantized::ggml_file::qtensor_from_ggml;
use candle_core::quantized::gguf_file::Content;
use candle_core::quantized::GgmlDType;
use candle_core::Device;

use crate::arch::Arch;
use crate::gguf::md_u64;
use fineprint_kernels::{matmul_shared, Activations, Weight};

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

struct Config {
    dim: usize,
    n_head: usize,
    n_kv_head: usize,
    head_dim: usize,
    rope_dim: usize,
    /// Qwen's rotation pairs element i with i + d/2; llama's GGUF weights are
    /// permuted so that it pairs 2i with 2i + 1.
    neox: bool,
    eps: f32,
    /// gemma3: the embedding is scaled by √dim.
    embed_scale: f32,
    /// gemma3: GELU (tanh approximation) gates the feed-forward, not SiLU.
    gelu: bool,
    /// The attention score scale (1/√head_dim unless the model says otherwise).
    query_scale: f32,
    /// gemma3: local layers attend to this many most recent positions only.
    sliding_window: Option<usize>,
    /// Logits squashed as cap·tanh(x/cap) where the file sets a cap.
    final_softcap: Option<f32>,
    attn_softcap: Option<f32>,
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
    /// Keys and values of the positions seen so far, `kv_dim` per position.
    k_cache: Vec<f32>,
    v_cache: Vec<f32>,
}

pub struct Decoder {
    cfg: Config,
    embd: Weight,
    /// None when the output projection is the embedding table.
    output: Option<Weight>,
    out_norm: Vec<f32>,
    layers: Vec<Layer>,
    cos: Vec<f32>,
    sin: Vec<f32>,
    /// Rotation tables of the local layers, where their base differs.
    local_rope: Option<(Vec<f32>, Vec<f32>)>,
    context: usize,
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
    proj: Vec<f32>,
    gate: Vec<f32>,
    up: Vec<f32>,
    scores: Vec<f32>,
    acts: Activations,
}

type Raw = (Vec<usize>, GgmlDType, Vec<u8>);

/// The tensors a decoder needs, read in file order: a forward skip inside a
/// buffered reader keeps its buffer, where a seek back would throw it away
/// and refill it (4 MB from the dropped file in the browser) for every small
/// norm vector. Each tensor is read straight into the buffer it lives in.
struct Tensors<'a> {
    content: &'a Content,
    raw: HashMap<String, Raw>,
}

impl<'a> Tensors<'a> {
    fn read<R: Read + Seek>(content: &'a Content, reader: &mut R, names: &[String]) -> Result<Self, LoadError> {
        let mut order = Vec::with_capacity(names.len());
        for name in names {
            let info = content.tensor_infos.get(name).ok_or_else(|| LoadError::Missing(name.clone()))?;
            order.push((info.offset, name));
        }
        order.sort();
        let mut raw = HashMap::with_capacity(order.len());
        for (offset, name) in order {
            let info = &content.tensor_infos[name];
            let dims = info.shape.dims().to_vec();
            let dtype = info.ggml_dtype;
            let len = dims.iter().product::<usize>() / dtype.block_size().max(1) * dtype.type_size();
            let at = content.tensor_data_offset + offset;
            let io = |source| LoadError::Io { name: name.clone(), source };
            let here = reader.stream_position().map_err(io)?;
            match at.checked_sub(here) {
                Some(0) => {}
                Some(ahead) => reader.seek_relative(ahead as i64).map_err(io)?,
                None => {
                    reader.seek(SeekFrom::Start(at)).map_err(io)?;
                }
            }
            let mut buf = vec![0u8; len];
            reader.read_exact(&mut buf).map_err(io)?;
            raw.insert(name.clone(), (dims, dtype, buf));
        }
        Ok(Self { content, raw })
    }

    fn has(&self, name: &str) -> bool {
        self.content.tensor_infos.contains_key(name)
    }

    fn take(&mut self, name: &str) -> Result<Raw, LoadError> {
        self.raw.remove(name).ok_or_else(|| LoadError::Missing(name.into()))
    }

    fn matrix(&mut self, name: &str, rows: Option<usize>, cols: usize) -> Result<Weight, LoadError> {
        let (dims, dtype, bytes) = self.take(name)?;
        if !(dims.len() == 2 && dims[1] == cols && rows.is_none_or(|r| dims[0] == r)) {
            let expected = format!("[{}, {cols}]", rows.map_or("n".into(), |r| r.to_string()));
            return Err(LoadError::Shape { name: name.into(), shape: dims, expected });
        }
        Weight::from_gguf_bytes(dtype, dims[0], cols, bytes)
            .map_err(|e| LoadError::Tensor { name: name.into(), reason: e.to_string() })
    }

    fn vector(&mut self, name: &str, len: usize) -> Result<Vec<f32>, LoadError> {
        let (dims, dtype, bytes) = self.take(name)?;
        if dims.iter().product::<usize>() != len {
            return Err(LoadError::Shape { name: name.into(), shape: dims, expected: format!("[{len}]") });
        }
        let err = |e: candle_core::Error| LoadError::Tensor { name: name.into(), reason: e.to_string() };
        let t = qtensor_from_ggml(dtype, &bytes, dims, &Device::Cpu).map_err(err)?;
        t.dequantize(&Device::Cpu).and_then(|t| t.flatten_all()?.to_vec1()).map_err(err)
    }
}

impl Decoder {
    pub fn load<R: Read + Seek>(
        arch: Arch,
        content: &Content,
        reader: &mut R,
        context: usize,
    ) -> Result<Self, LoadError> {
        let md = &content.metadata;
        let prefix = match arch {
            Arch::Qwen2 => "qwen2",
            Arch::Qwen3 => "qwen3",
            Arch::Gemma3 => "gemma3",
            _ => match md.get("general.architecture").and_then(|v| v.to_string().ok()).map(String::as_str) {
                Some("mistral") => "mistral",
                _ => "llama",
            },
        };
        let get = |k: &str| {
            md_u64(md, &format!("{prefix}.{k}"))
                .and_then(|v| usize::try_from(v).ok())
                .filter(|&v| v > 0 && v < 1 << 20)
                .ok_or_else(|| LoadError::Header(format!("{prefix}.{k}")))
        };
        let f32_of =
            |k: &str, default: f32| md.get(&format!("{prefix}.{k}")).and_then(|v| v.to_f32().ok()).unwrap_or(default);
        let dim = get("embedding_length")?;
        let n_head = get("attention.head_count")?;
        let n_kv_head = get("attention.head_count_kv").unwrap_or(n_head);
        let head_dim = get("attention.key_length").unwrap_or(dim / n_head);
        let rope_dim = get("rope.dimension_count").unwrap_or(head_dim).min(head_dim);
        let n_layer = get("block_count")?;
        if head_dim == 0 || n_kv_head > n_head || !n_head.is_multiple_of(n_kv_head) || rope_dim % 2 == 1 {
            return Err(LoadError::Header(format!(
                "{prefix}.attention.* ({n_head} heads, {n_kv_head} key/value heads, head size {head_dim}, rotary size {rope_dim})"
            )));
        }
        let gemma = arch == Arch::Gemma3;
        let softcap = |k: &str| Some(f32_of(k, 0.0)).filter(|c| c.is_finite() && *c > 0.0);
        // llama.cpp's rule: Gemma 3 27B (62 layers) scales queries by 1/√(dim/heads).
        let query_pre_attn = if gemma && n_layer == 62 { dim / n_head } else { head_dim };
        let cfg = Config {
            dim,
            n_head,
            n_kv_head,
            head_dim,
            rope_dim,
            neox: matches!(arch, Arch::Qwen2 | Arch::Qwen3 | Arch::Gemma3),
            eps: f32_of("attention.layer_norm_rms_epsilon", 1e-5),
            embed_scale: if gemma { (dim as f32).sqrt() } else { 1.0 },
            gelu: gemma,
            query_scale: 1.0 / (query_pre_attn as f32).sqrt(),
            sliding_window: if gemma { get("attention.sliding_window").ok() } else { None },
            final_softcap: softcap("final_logit_softcapping"),
            attn_softcap: softcap("attn_logit_softcapping"),
        };
        let base = f32_of("rope.freq_base", 10_000.0);
        // Gemma 3: every sixth layer is global, the others see a sliding window
        // and rotate with base 10,000; global layers may stretch theirs linearly.
        let swa_pattern = get("attention.sliding_window_pattern").unwrap_or(6);
        let is_local = |i: usize| cfg.sliding_window.is_some() && i % swa_pattern < swa_pattern - 1;
        let linear_scale = match md.get(&format!("{prefix}.rope.scaling.type")).and_then(|v| v.to_string().ok()) {
            Some(t) if t == "linear" => f32_of("rope.scaling.factor", 1.0).max(1.0),
            _ => 1.0,
        };

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
        let mut t = Tensors::read(content, reader, &names)?;
        let embd = t.matrix("token_embd.weight", None, dim)?;
        let vocab = embd.rows;
        // Llama 3.1+ scales some rotation frequencies; the factors ship as a tensor.
        let factors =
            if t.has("rope_freqs.weight") { Some(t.vector("rope_freqs.weight", rope_dim / 2)?) } else { None };
        let (cos, sin) = rope_tables(context, rope_dim, base, linear_scale, factors.as_deref());
        let local_rope = (0..n_layer).any(is_local).then(|| rope_tables(context, rope_dim, 10_000.0, 1.0, None));
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
                gate: t.matrix(&n("ffn_gate.weight"), Some(ffn), dim)?,
                up: t.matrix(&n("ffn_up.weight"), Some(ffn), dim)?,
                down: t.matrix(&n("ffn_down.weight"), Some(dim), ffn)?,
                k_cache: Vec::new(),
                v_cache: Vec::new(),
            });
        }
        Ok(Self { cfg, embd, output, out_norm, layers, cos, sin, local_rope, context, scratch: Scratch::default() })
    }

    pub fn vocab_size(&self) -> usize {
        self.embd.rows
    }

    pub fn clear_kv_cache(&mut self) {
        for l in &mut self.layers {
            l.k_cache.clear();
            l.v_cache.clear();
        }
    }

    /// Runs `ids` at positions `pos..`, keeping their keys and values, and
    /// returns the logits of the last one. Cached positions from `pos` on are
    /// dropped first, so a caller may rewind.
    pub fn forward(&mut self, ids: &[u32], pos: usize) -> candle_core::Result<Vec<f32>> {
        let m = ids.len();
        if m == 0 {
            candle_core::bail!("nothing to run");
        }
        if pos + m > self.context {
            candle_core::bail!("positions {pos}..{} are past the context of {}", pos + m, self.context);
        }
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
        for layer in &mut self.layers {
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
            let (cos_t, sin_t) = match (&self.local_rope, layer.local) {
                (Some((cos, sin)), true) => (cos, sin),
                _ => (&self.cos, &self.sin),
            };
            for i in 0..m {
                let at = (pos + i) * half;
                let (cos, sin) = (&cos_t[at..at + half], &sin_t[at..at + half]);
                for head in s.q[i * q_dim..(i + 1) * q_dim].chunks_exact_mut(hd) {
                    rotate(head, cos, sin, c.neox, c.rope_dim);
                }
                for head in s.k[i * kv_dim..(i + 1) * kv_dim].chunks_exact_mut(hd) {
                    rotate(head, cos, sin, c.neox, c.rope_dim);
                }
            }
            append(&mut layer.k_cache, pos * kv_dim, &s.k, kv_dim);
            append(&mut layer.v_cache, pos * kv_dim, &s.v, kv_dim);
            s.att.resize(m * q_dim, 0.0);
            let window = if layer.local { c.sliding_window } else { None };
            attention(c, &s.q, &layer.k_cache, &layer.v_cache, pos, m, window, &mut s.att, &mut s.scores);
            s.proj.resize(m * dim, 0.0);
            layer.o.matmul(&s.att, m, &mut s.proj, &mut s.acts)?;
            if let Some([post_attn, _]) = &layer.post_norms {
                rms_norm_in_place(&mut s.proj, post_attn, c.eps);
            }
            add(&mut s.x, &s.proj);

            // Feed-forward: down(silu(gate(h)) · up(h)).
            rms_norm(&s.x, &layer.ffn_norm, c.eps, &mut s.h);
            let ffn = layer.gate.rows;
            s.gate.resize(m * ffn, 0.0);
            s.up.resize(m * ffn, 0.0);
            matmul_shared(&s.h, m, &mut [(&layer.gate, &mut s.gate), (&layer.up, &mut s.up)], &mut s.acts)?;
            if c.gelu {
                for (g, u) in s.gate.iter_mut().zip(&s.up) {
                    *g = gelu_tanh(*g) * u;
                }
            } else {
                for (g, u) in s.gate.iter_mut().zip(&s.up) {
                    *g = *g / (1.0 + (-*g).exp()) * u;
                }
            }
            layer.down.matmul(&s.gate, m, &mut s.proj, &mut s.acts)?;
            if let Some([_, post_ffn]) = &layer.post_norms {
                rms_norm_in_place(&mut s.proj, post_ffn, c.eps);
            }
            add(&mut s.x, &s.proj);
        }
        let last = &s.x[(m - 1) * dim..];
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

fn rope_tables(
    context: usize,
    rope_dim: usize,
    base: f32,
    linear_scale: f32,
    factors: Option<&[f32]>,
) -> (Vec<f32>, Vec<f32>) {
    let half = rope_dim / 2;
    let freqs: Vec<f32> = (0..half)
        .map(|j| {
            let f = 1.0 / base.powf((2 * j) as f32 / rope_dim as f32) / linear_scale;
            f / factors.map_or(1.0, |fs| fs[j])
        })
        .collect();
    let mut cos = Vec::with_capacity(context * half);
    let mut sin = Vec::with_capacity(context * half);
    for p in 0..context {
        for f in &freqs {
            let a = p as f32 * f;
            cos.push(a.cos());
            sin.push(a.sin());
        }
    }
    (cos, sin)
}

fn rotate(x: &mut [f32], cos: &[f32], sin: &[f32], neox: bool, rope_dim: usize) {
    let half = rope_dim / 2;
    for j in 0..half {
        let (a, b) = if neox { (j, j + half) } else { (2 * j, 2 * j + 1) };
        let (x0, x1) = (x[a], x[b]);
        x[a] = x0 * cos[j] - x1 * sin[j];
        x[b] = x0 * sin[j] + x1 * cos[j];
    }
}

/// Keeps the first `keep` values and appends `rows`, growing the buffer by
/// whole chunks so a long chat does not double its cache at the wrong moment.
fn append(cache: &mut Vec<f32>, keep: usize, rows: &[f32], row_len: usize) {
    cache.truncate(keep);
    let need = cache.len() + rows.len();
    if need > cache.capacity() {
        let chunk = 256 * row_len;
        cache.reserve_exact(need.div_ceil(chunk) * chunk - cache.len());
    }
    cache.extend_from_slice(rows);
}

#[allow(clippy::too_many_arguments)]
fn attention(
    c: &Config,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    pos: usize,
    m: usize,
    window: Option<usize>,
    out: &mut [f32],
    scores: &mut Vec<f32>,
) {
    let hd = c.head_dim;
    let (q_dim, kv_dim) = (c.n_head * hd, c.n_kv_head * hd);
    let group = c.n_head / c.n_kv_head;
    let scale = c.query_scale;
    for i in 0..m {
        // Causal: position pos + i sees keys 0..=pos + i; a sliding-window layer
        // only the last `window` of them.
        let seen = pos + i + 1;
        let first = window.map_or(0, |w| seen.saturating_sub(w));
        scores.resize(seen - first, 0.0);
        for h in 0..c.n_head {
            let kv = (h / group) * hd;
            let qh = &q[i * q_dim + h * hd..][..hd];
            let mut max = f32::NEG_INFINITY;
            for (j, sc) in scores.iter_mut().enumerate() {
                let t = first + j;
                *sc = dot(qh, &k[t * kv_dim + kv..][..hd]) * scale;
                if let Some(cap) = c.attn_softcap {
                    *sc = cap * (*sc / cap).tanh();
                }
                max = max.max(*sc);
            }
            let mut sum = 0.0;
            for sc in scores.iter_mut() {
                *sc = (*sc - max).exp();
                sum += *sc;
            }
            let o = &mut out[i * q_dim + h * hd..][..hd];
            o.fill(0.0);
            for (j, sc) in scores.iter().enumerate() {
                let t = first + j;
                let w = sc / sum;
                for (o, v) in o.iter_mut().zip(&v[t * kv_dim + kv..][..hd]) {
                    *o += w * v;
                }
            }
        }
    }
}

/// A dot product with eight running sums, which the compiler turns into
/// vector adds (a single running sum would pin it to one lane).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ac.remainder().iter().zip(bc.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ac.zip(bc) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// GELU with the tanh approximation, as Gemma's `gelu_pytorch_tanh`.
fn gelu_tanh(x: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    0.5 * x * (1.0 + (SQRT_2_OVER_PI * (x + 0.044_715 * x * x * x)).tanh())
}

fn rms_norm(x: &[f32], w: &[f32], eps: f32, out: &mut Vec<f32>) {
    out.clear();
    out.extend_from_slice(x);
    rms_norm_in_place(out, w, eps);
}

fn rms_norm_in_place(x: &mut [f32], w: &[f32], eps: f32) {
    for r in x.chunks_exact_mut(w.len()) {
        let ms = r.iter().map(|v| v * v).sum::<f32>() / w.len() as f32;
        let inv = 1.0 / (ms + eps).sqrt();
        for (v, g) in r.iter_mut().zip(w) {
            *v = *v * inv * g;
        }
    }
}

fn add_rows(x: &mut [f32], b: &[f32]) {
    for r in x.chunks_exact_mut(b.len()) {
        add(r, b);
    }
}

fn add(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += b;
    }
}
