//! The layers every family shares: RMS norm, rotary position embedding,
//! grouped-query attention over the cache, the feed-forward activations.

use fineprint_kernels::{float16, parallel};

use super::Config;

/// A rotary embedding's frequencies. The cosines and sines are made for the
/// positions a forward pass runs, not kept for the whole context: a table for
/// 4,096 positions is 8 MB for a 256-wide head (Gemma 3 keeps two), and a
/// pass needs a few rows of it.
pub(super) struct Rotation {
    freqs: Vec<f32>,
}

impl Rotation {
    pub(super) fn new(rope_dim: usize, base: f32, linear_scale: f32, factors: Option<&[f32]>) -> Self {
        let freqs = (0..rope_dim / 2)
            .map(|j| {
                let f = 1.0 / base.powf((2 * j) as f32 / rope_dim as f32) / linear_scale;
                f / factors.map_or(1.0, |fs| fs[j])
            })
            .collect();
        Self { freqs }
    }

    /// The cosines and sines of positions `pos..pos + m`, a row of
    /// `rope_dim / 2` each.
    pub(super) fn rows(&self, pos: usize, m: usize, cos: &mut Vec<f32>, sin: &mut Vec<f32>) {
        cos.clear();
        sin.clear();
        for p in pos..pos + m {
            for f in &self.freqs {
                let a = p as f32 * f;
                cos.push(a.cos());
                sin.push(a.sin());
            }
        }
    }
}

pub(super) fn rotate(x: &mut [f32], cos: &[f32], sin: &[f32], neox: bool, rope_dim: usize) {
    let half = rope_dim / 2;
    for j in 0..half {
        let (a, b) = if neox { (j, j + half) } else { (2 * j, 2 * j + 1) };
        let (x0, x1) = (x[a], x[b]);
        x[a] = x0 * cos[j] - x1 * sin[j];
        x[b] = x0 * sin[j] + x1 * cos[j];
    }
}

/// Stores `rows` (`row_len` values each) as f16 at positions `pos..`, after
/// dropping what lies at `pos` and beyond. A linear cache grows by whole
/// chunks so a long chat does not double it at the wrong moment; a ring of
/// `ring` positions is allocated whole at its first use (growing it in steps
/// left the smaller blocks behind in the worker's memory, which never
/// shrinks) and then overwrites its oldest slots.
pub(super) fn append(cache: &mut Vec<u16>, pos: usize, rows: &[f32], row_len: usize, ring: Option<usize>) {
    let m = rows.len() / row_len;
    match ring {
        Some(ring) if pos + m > ring => {
            for (r, row) in rows.chunks_exact(row_len).enumerate() {
                let at = (pos + r) % ring * row_len;
                if at < cache.len() {
                    float16::narrow_into(row, &mut cache[at..at + row_len]);
                } else {
                    float16::narrow(row, cache);
                }
            }
        }
        _ => {
            cache.truncate(pos * row_len);
            let need = cache.len() + rows.len();
            if need > cache.capacity() {
                let chunk = 256 * row_len;
                let cap = ring.map_or(need.div_ceil(chunk) * chunk, |r| r * row_len);
                cache.reserve_exact(cap.max(need) - cache.len());
            }
            float16::narrow(rows, cache);
        }
    }
}

/// Causal attention of `m` query rows at positions `pos..pos + m` over the
/// f16 cache; each (row, head) is one task (see `fineprint_kernels::parallel`).
#[allow(clippy::too_many_arguments)]
pub(super) fn attention(
    c: &Config,
    q: &[f32],
    k: &[u16],
    v: &[u16],
    pos: usize,
    m: usize,
    window: Option<usize>,
    ring: Option<usize>,
    out: &mut [f32],
) {
    let ring = ring.unwrap_or(usize::MAX);
    let hd = c.head_dim;
    let (q_dim, kv_dim) = (c.n_head * hd, c.n_kv_head * hd);
    let group = c.n_head / c.n_kv_head;
    let scale = c.query_scale;
    debug_assert_eq!(out.len(), m * q_dim);
    // Bytes of cache read: every head reads its keys and values (f16).
    let work = m * c.n_head * (pos + m) * hd * 4;
    parallel::chunks(out, hd, work, Vec::new, |scores: &mut Vec<f32>, at, o| {
        let (i, h) = (at / c.n_head, at % c.n_head);
        // Causal: position pos + i sees keys 0..=pos + i; a sliding-window layer
        // only the last `window` of them.
        let seen = pos + i + 1;
        let first = window.map_or(0, |w| seen.saturating_sub(w));
        scores.resize(seen - first, 0.0);
        let kv = (h / group) * hd;
        let qh = &q[i * q_dim + h * hd..][..hd];
        let mut max = f32::NEG_INFINITY;
        for (sc, slot) in scores.iter_mut().zip(slots(first, ring)) {
            *sc = float16::dot_f16(qh, &k[slot * kv_dim + kv..][..hd]) * scale;
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
        o.fill(0.0);
        for (sc, slot) in scores.iter().zip(slots(first, ring)) {
            float16::axpy_f16(o, sc / sum, &v[slot * kv_dim + kv..][..hd]);
        }
    });
}

/// The cache slots of positions `first, first + 1, …` in a ring of `ring`
/// (`usize::MAX` for a cache that does not wrap): counted, not divided, as
/// this runs once per key and head.
fn slots(first: usize, ring: usize) -> impl Iterator<Item = usize> {
    std::iter::successors(Some(first % ring), move |&s| Some(if s + 1 == ring { 0 } else { s + 1 }))
}

/// GELU with the tanh approximation, as Gemma's `gelu_pytorch_tanh`.
pub(super) fn gelu_tanh(x: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    0.5 * x * (1.0 + (SQRT_2_OVER_PI * (x + 0.044_715 * x * x * x)).tanh())
}

pub(super) fn rms_norm(x: &[f32], w: &[f32], eps: f32, out: &mut Vec<f32>) {
    out.clear();
    out.extend_from_slice(x);
    rms_norm_in_place(out, w, eps);
}

pub(super) fn rms_norm_in_place(x: &mut [f32], w: &[f32], eps: f32) {
    for r in x.chunks_exact_mut(w.len()) {
        let ms = r.iter().map(|v| v * v).sum::<f32>() / w.len() as f32;
        let inv = 1.0 / (ms + eps).sqrt();
        for (v, g) in r.iter_mut().zip(w) {
            *v = *v * inv * g;
        }
    }
}

pub(super) fn add_rows(x: &mut [f32], b: &[f32]) {
    for r in x.chunks_exact_mut(b.len()) {
        add(r, b);
    }
}

pub(super) fn add(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += b;
    }
}
