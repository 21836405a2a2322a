//! The layers every family shares: RMS norm, rotary position embedding,
//! grouped-query attention over the cache, the feed-forward activations.

use fineprint_kernels::{parallel, vector};

use super::cache::Rows;
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

/// Query rows per attention task in a prompt.
const ROWS: usize = 4;

/// Causal attention of `m` query rows at positions `pos..pos + m` over the
/// cache (in any of its forms). A task (see `fineprint_kernels::parallel`) takes up to `ROWS`
/// rows and the query heads that share one key/value head, so each cached
/// key and value row is widened to f32 once for all of them: the widening
/// costs more than the dot product, and every query head of the group (three
/// in SmolLM2, four in Gemma 3 270M) and the nearby rows of a prompt read
/// the same rows. The tasks write `grouped`, laid out by group, then row;
/// `out` gets it back row by row. One row (a token being decoded) goes to
/// `attention_one`, which also splits by runs of keys and uses `grouped`
/// as its scratch.
#[allow(clippy::too_many_arguments)]
pub(super) fn attention(
    c: &Config,
    q: &[f32],
    k: &Rows,
    v: &Rows,
    pos: usize,
    m: usize,
    window: Option<usize>,
    ring: Option<usize>,
    grouped: &mut Vec<f32>,
    out: &mut [f32],
) {
    if m == 1 {
        return attention_one(c, q, k, v, pos, window, ring, grouped, out);
    }
    let ring = ring.unwrap_or(usize::MAX);
    let hd = c.head_dim;
    let (q_dim, kv_dim) = (c.n_head * hd, c.n_kv_head * hd);
    let group = c.n_head / c.n_kv_head;
    let width = group * hd;
    let blocks = m.div_ceil(ROWS);
    debug_assert_eq!(out.len(), m * q_dim);
    // Every task clears its own part: no need to zero the whole buffer first.
    grouped.resize(c.n_kv_head * blocks * ROWS * width, 0.0);
    // Positions `first(i)..seen(i)` are what row i attends to: causal, and
    // for a sliding-window layer only the last `window` of them.
    let seen = |i: usize| pos + i + 1;
    let first = |i: usize| window.map_or(0, |w| seen(i).saturating_sub(w));
    // Work: every head reads its keys and values (counted as f16).
    let work = m * c.n_head * (pos + m) * hd * 4;
    parallel::chunks(grouped, ROWS * width, work, Task::default, |t: &mut Task, at, o| {
        let (kvh, rows) = (at / blocks, (at % blocks) * ROWS..((at % blocks + 1) * ROWS).min(m));
        let (lo, hi) = (first(rows.start), seen(rows.end - 1));
        let n = hi - lo;
        // Scores of (row r, head h) at `(r · group + h) · n`, over keys `lo..hi`.
        t.scores.clear();
        t.scores.resize(rows.len() * group * n, 0.0);
        t.row.resize(hd, 0.0);
        let heads = |r: usize| (rows.start + r, r * group..(r + 1) * group);
        for (key, slot) in (lo..hi).zip(slots(lo, ring)) {
            k.widen(slot, kv_dim, kvh * hd, &mut t.row);
            for r in 0..rows.len() {
                let (i, hs) = heads(r);
                if key < first(i) || key >= seen(i) {
                    continue;
                }
                for h in hs {
                    let qh = &q[i * q_dim + (kvh * group + h % group) * hd..][..hd];
                    t.scores[h * n + key - lo] = score(c, qh, &t.row);
                }
            }
        }
        // Softmax per (row, head) over the keys it sees; the weights are left
        // divided by their sum.
        for r in 0..rows.len() {
            let (i, hs) = heads(r);
            for h in hs {
                let sc = &mut t.scores[h * n..][first(i) - lo..seen(i) - lo];
                let (_, sum) = exp_shifted(sc);
                sc.iter_mut().for_each(|s| *s /= sum);
            }
        }
        o.fill(0.0);
        for (key, slot) in (lo..hi).zip(slots(lo, ring)) {
            v.widen(slot, kv_dim, kvh * hd, &mut t.row);
            for r in 0..rows.len() {
                let (i, hs) = heads(r);
                if key < first(i) || key >= seen(i) {
                    continue;
                }
                for h in hs {
                    vector::axpy(&mut o[h * hd..][..hd], t.scores[h * n + key - lo], &t.row);
                }
            }
        }
    });
    for (at, block) in grouped.chunks_exact(ROWS * width).enumerate() {
        let (kvh, start) = (at / blocks, (at % blocks) * ROWS);
        for (i, src) in (start..m).zip(block.chunks_exact(width)) {
            out[i * q_dim + kvh * width..][..width].copy_from_slice(src);
        }
    }
}

/// The score of query head `qh` against a widened key row.
#[inline(always)]
fn score(c: &Config, qh: &[f32], key: &[f32]) -> f32 {
    let sc = vector::dot::<2>(qh, key) * c.query_scale;
    match c.attn_softcap {
        Some(cap) => cap * (sc / cap).tanh(),
        None => sc,
    }
}

/// Replaces scores `s` by `e^(s − max)` and returns `(max, Σ)`: the
/// exponentials in vector code (`exp` below), summed after, in order.
fn exp_shifted(sc: &mut [f32]) -> (f32, f32) {
    let max = sc.iter().fold(f32::NEG_INFINITY, |a, &b| if b > a { b } else { a });
    sc.iter_mut().for_each(|s| *s = exp(*s - max));
    (max, sc.iter().sum())
}

/// Keys per task of one token's attention. One token has only as many tasks
/// by head as the model has key/value heads (three in SmolLM2, one in Gemma
/// 3 270M), too few to keep two threads busy; split by runs of keys, each
/// with its own maximum and sum, the parts are merged after. The runs are
/// fixed, not sized by the thread count, so that results do not depend on it.
const KEYS: usize = 64;

/// `attention` for one query row (a token being decoded): tasks by
/// key/value head and run of `KEYS` keys. Task `(kvh, run)` leaves in its
/// part of `parts`, per query head of the group, the values weighted by
/// `e^(score − max)` and then that max and the weights' sum; the runs of a
/// head are merged into `out` as one softmax over all its keys.
#[allow(clippy::too_many_arguments)]
fn attention_one(
    c: &Config,
    q: &[f32],
    k: &Rows,
    v: &Rows,
    pos: usize,
    window: Option<usize>,
    ring: Option<usize>,
    parts: &mut Vec<f32>,
    out: &mut [f32],
) {
    let ring = ring.unwrap_or(usize::MAX);
    let hd = c.head_dim;
    let kv_dim = c.n_kv_head * hd;
    let group = c.n_head / c.n_kv_head;
    let (seen, first) = (pos + 1, window.map_or(0, |w| (pos + 1).saturating_sub(w)));
    let runs = (seen - first).div_ceil(KEYS);
    // A part: the group's weighted values, then its maxima, then its sums.
    let part = group * (hd + 2);
    parts.resize(c.n_kv_head * runs * part, 0.0);
    let work = c.n_head * (seen - first) * hd * 4;
    parallel::chunks(parts, part, work, Task::default, |t: &mut Task, at, o| {
        let (kvh, run) = (at / runs, at % runs);
        let lo = first + run * KEYS;
        let n = KEYS.min(seen - lo);
        t.scores.clear();
        t.scores.resize(group * n, 0.0);
        // The run's key rows widened at once, then each head's scores.
        t.rows.resize(n * hd, 0.0);
        k.widen_run(slots(lo, ring).take(n), kv_dim, kvh * hd, hd, &mut t.rows);
        let qs = &q[kvh * group * hd..][..group * hd];
        for (h, qh) in qs.chunks_exact(hd).enumerate() {
            for (s, key) in t.scores[h * n..][..n].iter_mut().zip(t.rows.chunks_exact(hd)) {
                *s = score(c, qh, key);
            }
        }
        let (vals, stats) = o.split_at_mut(group * hd);
        for (h, sc) in t.scores.chunks_exact_mut(n).enumerate() {
            (stats[h], stats[group + h]) = exp_shifted(sc);
        }
        // The run's value rows likewise, then each head's weighted sum over
        // them with its output held in registers (`vector::mix`).
        v.widen_run(slots(lo, ring).take(n), kv_dim, kvh * hd, hd, &mut t.rows);
        vals.fill(0.0);
        for (h, o) in vals.chunks_exact_mut(hd).enumerate() {
            vector::mix(o, &t.scores[h * n..][..n], &t.rows);
        }
    });
    for (kvh, head_parts) in parts.chunks_exact(runs * part).enumerate() {
        for h in 0..group {
            let stat = |r: usize, which: usize| head_parts[r * part + group * hd + which * group + h];
            let max = (0..runs).map(|r| stat(r, 0)).fold(f32::NEG_INFINITY, f32::max);
            let scale = |r: usize| (stat(r, 0) - max).exp();
            let sum: f32 = (0..runs).map(|r| stat(r, 1) * scale(r)).sum();
            let o = &mut out[(kvh * group + h) * hd..][..hd];
            o.fill(0.0);
            for r in 0..runs {
                vector::axpy(o, scale(r) / sum, &head_parts[r * part + h * hd..][..hd]);
            }
        }
    }
}

/// A task's scratch: its scores, one widened cache row, and a run of them.
#[derive(Default)]
struct Task {
    scores: Vec<f32>,
    row: Vec<f32>,
    rows: Vec<f32>,
}

/// The cache slots of positions `first, first + 1, …` in a ring of `ring`
/// (`usize::MAX` for a cache that does not wrap): counted, not divided, as
/// this runs once per key and head.
fn slots(first: usize, ring: usize) -> impl Iterator<Item = usize> {
    std::iter::successors(Some(first % ring), move |&s| Some(if s + 1 == ring { 0 } else { s + 1 }))
}

/// `gate[i] = gelu(gate[i]) · up[i]`, GELU with the tanh approximation
/// (Gemma's `gelu_pytorch_tanh`), written as `x · σ(2u)`, which is
/// `½x(1 + tanh u)` without the cancellation near `tanh u = −1`, on `exp`
/// below: the loop compiles to vector code, where libm's `tanhf` (a call per
/// value) took a twelfth of Gemma's prompt in the browser.
pub(super) fn gelu_tanh_mul(gate: &mut [f32], up: &[f32]) {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    for (g, u) in gate.iter_mut().zip(up) {
        let x = *g;
        let two_u = 2.0 * SQRT_2_OVER_PI * (x + 0.044_715 * x * x * x);
        *g = x / (1.0 + exp(-two_u)) * u;
    }
}

/// `gate[i] = silu(gate[i]) · up[i]`, SiLU as `x · σ(x)` on `exp` below, in
/// vector code: libm's `expf`, a call per value, took about a millisecond of
/// every SmolLM2 token in the browser, a thirtieth of its decoding.
pub(super) fn silu_mul(gate: &mut [f32], up: &[f32]) {
    for (g, u) in gate.iter_mut().zip(up) {
        let x = *g;
        *g = x / (1.0 + exp(-x)) * u;
    }
}

/// `eˣ` within two units in the last place (Cephes' `expf`: `x = n·ln 2 + r`,
/// a polynomial in `r`, `2ⁿ` put in the exponent bits), in arithmetic only,
/// so that loops over it vectorise. Clamped to the finite range: `eˣ` of −87
/// is about 1.6·10⁻³⁸, of 88 about 1.7·10³⁸.
#[inline(always)]
fn exp(x: f32) -> f32 {
    // Rounds to the nearest integer (ties to even) for |v| < 2²²: the sum
    // has no bits below the units.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * std::f32::consts::LOG2_E + ROUND) - ROUND;
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r + 1.666_666_5e-1)
        * r
        + 0.5;
    let e = p * r * r + r + 1.0;
    e * f32::from_bits(((n as i32 + 127) as u32) << 23)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectorisable GELU against the formula in f64, over the range a
    /// feed-forward layer gives and beyond: within a few f32 roundings of the
    /// value, relative, times the size of `exp`'s argument (whose own rounding
    /// `exp` magnifies: 71 at x = −9.3), or 10⁻³⁶ absolute where the value
    /// vanishes below `exp`'s clamp. The reference is the sigmoid form too: in
    /// the tanh form f64 itself cancels to 0 below −9.
    #[test]
    fn gelu_matches_the_tanh_formula() {
        let u = |x: f64| (2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x);
        check_activation(
            "gelu",
            gelu_tanh_mul,
            0.001,
            &[-90.0, -50.0, 50.0, 90.0],
            |x| x / (1.0 + (-2.0 * u(x)).exp()),
            |x| 4.0 + 4.0 * u(x).abs(),
        );
    }

    /// `act` (gate · up with up = 1) on x = k · `step` for |k| ≤ 20,000, on
    /// `extra`, ±10⁻³⁰ and 0, against `want` in f64: within `roundings(x)`
    /// f32 roundings, relative, or 10⁻³⁶ absolute.
    fn check_activation(
        name: &str,
        act: fn(&mut [f32], &[f32]),
        step: f32,
        extra: &[f32],
        want: impl Fn(f64) -> f64,
        roundings: impl Fn(f64) -> f64,
    ) {
        let xs: Vec<f32> = (-20_000..=20_000)
            .map(|i| i as f32 * step)
            .chain(extra.iter().copied())
            .chain([1e-30, -1e-30, 0.0])
            .collect();
        let mut got = xs.clone();
        act(&mut got, &vec![1.0; xs.len()]);
        for (&x, &g) in xs.iter().zip(&got) {
            let (x64, want) = (x as f64, want(x as f64));
            let err = (g as f64 - want).abs();
            assert!(err <= roundings(x64) * 1.2e-7 * want.abs() || err <= 1e-36, "{name}({x}) = {g}, want {want}");
        }
    }

    fn config(n_head: usize, n_kv_head: usize, head_dim: usize, softcap: Option<f32>) -> Config {
        Config {
            dim: n_head * head_dim,
            n_head,
            n_kv_head,
            head_dim,
            rope_dim: head_dim,
            neox: false,
            eps: 1e-6,
            embed_scale: 1.0,
            gelu: false,
            query_scale: 1.0 / (head_dim as f32).sqrt(),
            sliding_window: None,
            final_softcap: None,
            attn_softcap: softcap,
        }
    }

    /// Values in about ±3, from a seed.
    fn noise(n: usize, seed: u64) -> Vec<f32> {
        fineprint_kernels::testing::noise(n, seed).into_iter().map(|v| v * 3.0).collect()
    }

    /// One token's attention, split into runs of keys and merged, against
    /// the softmax over all its keys in f64 (on the values the cache holds,
    /// in each of its forms): within one run and across several, with a sliding
    /// window over a ring that has wrapped, and with a score cap.
    #[test]
    fn one_token_attention_is_the_softmax_over_its_keys() {
        use super::super::cache::{Form, LADDER};
        let f16 = (Form::F16, Form::F16);
        let shapes = [
            (6, 2, 16, None, f16),
            (4, 1, 40, Some(50.0), f16),
            (3, 3, 8, None, f16),
            (4, 2, 64, None, LADDER[1]),
            (3, 1, 64, Some(50.0), LADDER[2]),
        ];
        for (n_head, n_kv_head, hd, softcap, forms) in shapes {
            let c = config(n_head, n_kv_head, hd, softcap);
            let (q_dim, kv_dim, group) = (n_head * hd, n_kv_head * hd, n_head / n_kv_head);
            for (pos, window) in [(0, None), (63, None), (64, None), (200, None), (200, Some(70)), (300, Some(64))] {
                let ring = window.map(|w| w + 8);
                let (keys, values) = (noise((pos + 1) * kv_dim, 1), noise((pos + 1) * kv_dim, 2));
                let (mut k, mut v) = (Rows::default(), Rows::default());
                k.requantize(forms.0, kv_dim);
                v.requantize(forms.1, kv_dim);
                for p in 0..=pos {
                    k.append(p, &keys[p * kv_dim..][..kv_dim], kv_dim, ring);
                    v.append(p, &values[p * kv_dim..][..kv_dim], kv_dim, ring);
                }
                let q = noise(q_dim, 3);
                let (mut parts, mut out) = (Vec::new(), vec![0.0; q_dim]);
                attention(&c, &q, &k, &v, pos, 1, window, ring, &mut parts, &mut out);
                // Head `kvh`'s part of the row the cache holds for position `p`.
                let held = |rows: &Rows, p: usize, kvh: usize| {
                    let mut row = vec![0f32; hd];
                    rows.widen(p % ring.unwrap_or(usize::MAX), kv_dim, kvh * hd, &mut row);
                    row
                };
                let first = window.map_or(0, |w| (pos + 1).saturating_sub(w));
                for h in 0..n_head {
                    let kvh = h / group;
                    let qh = &q[h * hd..][..hd];
                    let scores: Vec<f64> = (first..=pos)
                        .map(|p| {
                            let s = qh.iter().zip(held(&k, p, kvh)).map(|(&a, b)| a as f64 * b as f64).sum::<f64>()
                                * c.query_scale as f64;
                            softcap.map_or(s, |cap| cap as f64 * (s / cap as f64).tanh())
                        })
                        .collect();
                    let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    let sum: f64 = scores.iter().map(|s| (s - max).exp()).sum();
                    let vals: Vec<Vec<f32>> = (first..=pos).map(|p| held(&v, p, kvh)).collect();
                    for d in 0..hd {
                        let want: f64 =
                            vals.iter().zip(&scores).map(|(row, s)| (s - max).exp() / sum * row[d] as f64).sum();
                        let got = out[h * hd + d] as f64;
                        assert!(
                            (got - want).abs() <= 1e-5 * (1.0 + want.abs()),
                            "heads {n_head}/{n_kv_head} (cache {forms:?}), position {pos}, window {window:?}: head {h}[{d}] = {got}, want {want}"
                        );
                    }
                }
                // A prompt's rows (the other path) give the same row for the last position.
                let qs: Vec<f32> = noise(2 * q_dim, 4).into_iter().take(q_dim).chain(q.iter().copied()).collect();
                if pos > 0 && window.is_none() {
                    let mut rows = vec![0.0; 2 * q_dim];
                    attention(&c, &qs, &k, &v, pos - 1, 2, None, ring, &mut parts, &mut rows);
                    for (a, b) in rows[q_dim..].iter().zip(&out) {
                        assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "prompt path {a}, one-token path {b}");
                    }
                }
            }
        }
    }

    /// The vectorisable SiLU against the formula in f64: within a few f32
    /// roundings, relative, times the size of `exp`'s argument, or 10⁻³⁶
    /// absolute where the value vanishes below `exp`'s clamp.
    #[test]
    fn silu_matches_the_formula() {
        check_activation(
            "silu",
            silu_mul,
            0.005,
            &[-90.0, -87.5, 88.5, 90.0],
            |x| x / (1.0 + (-x).exp()),
            |x| 4.0 + 2.0 * x.abs(),
        );
    }

    /// `exp` within two units in the last place of f64's over the range it serves.
    #[test]
    fn exp_is_within_two_ulp() {
        for i in -86_999..=87_999 {
            let x = i as f32 * 0.001;
            let want = (x as f64).exp();
            let ulp = (want as f32).abs() * f32::EPSILON;
            assert!(((exp(x) as f64) - want).abs() <= 2.0 * ulp as f64, "exp({x}) = {}, want {want}", exp(x));
        }
    }
}
