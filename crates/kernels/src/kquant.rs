//! llama.cpp's K-quant super-blocks — Q4_K, Q5_K and Q6_K, 256 values each —
//! multiplied by activations quantized as ggml's Q8_K (256 signed bytes, an
//! f32 scale, and the sum of every run of 16).
//!
//! A super-block is unpacked once into 256 small integers and 16 integer
//! scales (one per run of 16 values; Q4_K and Q5_K repeat each of their 8
//! scales twice), so one inner loop serves all three types. The integer sums
//! are exact; as in ggml, only the per-super-block scaling is floating point:
//! `d_w · d_a · Σ_g sc_g · Σ q·a  −  dmin · d_a · Σ_s m_s · Σ a`.

use crate::blocks::f16_at;

/// Values per super-block.
pub const SUPER: usize = 256;
/// Runs of 16 values per super-block, each with its own scale.
const GROUPS: usize = SUPER / 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// f16 scale, f16 minimum, 12 bytes of 6-bit scales and minimums, 128 bytes of nibbles.
    Q4K,
    /// As Q4_K with 32 bytes of fifth bits before the nibbles.
    Q5K,
    /// 128 bytes of low nibbles, 64 of high 2-bit pairs, 16 signed scales, f16 scale; values offset by 32.
    Q6K,
}

impl Kind {
    pub(crate) fn of(dtype: candle_core::quantized::GgmlDType) -> Option<Self> {
        use candle_core::quantized::GgmlDType;
        match dtype {
            GgmlDType::Q4K => Some(Kind::Q4K),
            GgmlDType::Q5K => Some(Kind::Q5K),
            GgmlDType::Q6K => Some(Kind::Q6K),
            _ => None,
        }
    }

    pub(crate) const fn bytes(self) -> usize {
        match self {
            Kind::Q4K => 144,
            Kind::Q5K => 176,
            Kind::Q6K => 210,
        }
    }
}

/// Activation rows quantized as ggml's Q8_K.
#[derive(Default)]
pub(crate) struct Act8K {
    qs: Vec<i8>,
    d: Vec<f32>,
    /// Σ of each run of 16 values (what the minimums of Q4_K and Q5_K multiply).
    bsums: Vec<i32>,
}

impl Act8K {
    /// As ggml and candle do it (the scale maps the value of largest magnitude
    /// to ∓127), so that the integer sums are theirs exactly.
    pub(crate) fn quantize(&mut self, x: &[f32], m: usize, cols: usize) {
        let nb = cols / SUPER;
        self.qs.resize(m * cols, 0);
        self.d.resize(m * nb, 0.0);
        self.bsums.resize(m * nb * GROUPS, 0);
        for ((xs, qs), (d, bsums)) in x
            .chunks_exact(SUPER)
            .zip(self.qs.chunks_exact_mut(SUPER))
            .zip(self.d.iter_mut().zip(self.bsums.chunks_exact_mut(GROUPS)))
        {
            let amax = crate::activations::rounding::abs_max(xs);
            // ggml takes the sign of the first value of largest magnitude; either
            // sign gives the same products (d and every q flip together).
            let Some(&max) = xs.iter().find(|v| v.abs() == amax).filter(|_| amax != 0.0) else {
                qs.fill(0);
                bsums.fill(0);
                *d = 0.0;
                continue;
            };
            let iscale = -127.0 / max;
            crate::activations::rounding::round_scaled(xs, iscale, -128.0, qs);
            for (s, run) in bsums.iter_mut().zip(qs.chunks_exact(16)) {
                *s = run.iter().map(|&q| i32::from(q)).sum();
            }
            *d = 1.0 / iscale;
        }
    }

    pub(crate) fn row(&self, i: usize, cols: usize) -> Row<'_> {
        let nb = cols / SUPER;
        Row {
            qs: &self.qs[i * cols..(i + 1) * cols],
            d: &self.d[i * nb..(i + 1) * nb],
            bsums: &self.bsums[i * nb * GROUPS..(i + 1) * nb * GROUPS],
        }
    }
}

/// One quantized activation row.
#[derive(Clone, Copy)]
pub(crate) struct Row<'a> {
    qs: &'a [i8],
    d: &'a [f32],
    bsums: &'a [i32],
}

/// A super-block unpacked: `value_i = d · scale_{i/16} · q_i − dmin · min_{i/32}`.
struct Unpacked {
    q: [i8; SUPER],
    scales: [i32; GROUPS],
    mins: [i32; 8],
    d: f32,
    dmin: f32,
}

/// Q4_K's and Q5_K's packed 6-bit scale and minimum of sub-block `j` (ggml's `get_scale_min_k4`).
#[inline(always)]
fn scale_min(j: usize, s: &[u8]) -> (u8, u8) {
    if j < 4 {
        (s[j] & 63, s[j + 4] & 63)
    } else {
        ((s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4), (s[j + 4] >> 4) | ((s[j] >> 6) << 4))
    }
}

/// The scales and minimums of a Q4_K or Q5_K super-block: scales per run of 16.
#[inline(always)]
fn scales_k4(blk: &[u8]) -> ([i32; GROUPS], [i32; 8]) {
    let (mut scales, mut mins) = ([0i32; GROUPS], [0i32; 8]);
    for j in 0..8 {
        let (sc, m) = scale_min(j, &blk[4..16]);
        scales[2 * j] = i32::from(sc);
        scales[2 * j + 1] = i32::from(sc);
        mins[j] = i32::from(m);
    }
    (scales, mins)
}

#[inline(always)]
fn unpack(kind: Kind, t: &[f32], blk: &[u8]) -> Unpacked {
    let mut q = [0i8; SUPER];
    match kind {
        Kind::Q4K | Kind::Q5K => {
            let (scales, mins) = scales_k4(blk);
            let (qh, qs) = if kind == Kind::Q5K { (&blk[16..48], &blk[48..176]) } else { (&blk[0..0], &blk[16..144]) };
            for j in 0..4 {
                for l in 0..32 {
                    let b = qs[32 * j + l];
                    let (mut lo, mut hi) = (b & 0x0F, b >> 4);
                    if kind == Kind::Q5K {
                        lo |= ((qh[l] >> (2 * j)) & 1) << 4;
                        hi |= ((qh[l] >> (2 * j + 1)) & 1) << 4;
                    }
                    q[64 * j + l] = lo as i8;
                    q[64 * j + 32 + l] = hi as i8;
                }
            }
            Unpacked { q, scales, mins, d: f16_at(t, blk, 0), dmin: f16_at(t, blk, 2) }
        }
        Kind::Q6K => {
            let (ql, qh, sc) = (&blk[0..128], &blk[128..192], &blk[192..208]);
            for n in 0..2 {
                let (ql, qh) = (&ql[64 * n..], &qh[32 * n..]);
                for l in 0..32 {
                    let e = 128 * n + l;
                    q[e] = ((ql[l] & 0x0F) | ((qh[l] & 3) << 4)) as i8 - 32;
                    q[e + 32] = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) as i8 - 32;
                    q[e + 64] = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i8 - 32;
                    q[e + 96] = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i8 - 32;
                }
            }
            let scales = std::array::from_fn(|g| i32::from(sc[g] as i8));
            Unpacked { q, scales, mins: [0; 8], d: f16_at(t, blk, 208), dmin: 0.0 }
        }
    }
}

/// One row of super-blocks as f32, with candle's float operations in candle's
/// order (an embedding row equals candle's dequantized row bit for bit).
pub(crate) fn dequantize_row(kind: Kind, t: &[f32], row: &[u8], out: &mut [f32]) {
    for (blk, o) in row.chunks_exact(kind.bytes()).zip(out.chunks_exact_mut(SUPER)) {
        let u = unpack(kind, t, blk);
        for (i, (o, &q)) in o.iter_mut().zip(&u.q).enumerate() {
            let d1 = u.d * u.scales[i / 16] as f32;
            *o = if kind == Kind::Q6K { d1 * f32::from(q) } else { d1 * f32::from(q) - u.dmin * u.mins[i / 32] as f32 };
        }
    }
}

/// The minimum term's integer part: Σ over sub-blocks of 32 of `min · Σ a`.
#[inline(always)]
fn min_sum(mins: &[i32; 8], bsums: &[i32]) -> i32 {
    (0..8).map(|s| mins[s] * (bsums[2 * s] + bsums[2 * s + 1])).sum()
}

/// `Σ_k w[k] · a[k]` for one weight row against `R` activation rows, each
/// super-block unpacked once for all of them.
#[inline(always)]
pub(crate) fn dot_tile<const R: usize>(kind: Kind, t: &[f32], w: &[u8], acts: &[Row<'_>; R]) -> [f32; R] {
    crate::arch::by_target!(
        // SAFETY: whole rows are passed (`w` holds `d.len()` super-blocks of
        // this kind, each `qs` 256 values per super-block); simd128 is enabled
        // at compile time, and the page loads a relaxed-SIMD build only where
        // the engine validates its dot product.
        relaxed => unsafe { simd::dot_tile_relaxed(kind, t, w, acts) },
        // SAFETY: as above, and simd128 is enabled at compile time.
        simd128 => unsafe { simd::dot_tile(kind, t, w, acts) },
        // SAFETY: the CPU has AVX2 (`by_target!` checked).
        avx2 => unsafe { portable::dot_tile_avx2(kind, t, w, acts) },
        portable => portable::dot_tile(kind, t, w, acts),
    )
}

/// One row's product through each wasm kernel (the relaxed-SIMD test).
#[cfg(all(test, feature = "relaxed-simd", target_feature = "simd128"))]
pub(crate) unsafe fn simd_dot(kind: Kind, t: &[f32], w: &[u8], a: Row<'_>) -> f32 {
    simd::dot_tile(kind, t, w, &[a])[0]
}

#[cfg(all(test, feature = "relaxed-simd", target_feature = "simd128"))]
pub(crate) unsafe fn relaxed_dot(kind: Kind, t: &[f32], w: &[u8], a: Row<'_>) -> f32 {
    simd::dot_tile_relaxed(kind, t, w, &[a])[0]
}

#[cfg_attr(target_feature = "simd128", allow(dead_code))]
pub(crate) mod portable {
    use super::{min_sum, unpack, Kind, Row, GROUPS, SUPER};

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    pub unsafe fn dot_tile_avx2<const R: usize>(kind: Kind, t: &[f32], w: &[u8], acts: &[Row<'_>; R]) -> [f32; R] {
        dot_tile(kind, t, w, acts)
    }

    /// Fixed-size runs of 16, no bounds checks inside: the shape compilers
    /// vectorise into widening multiply-adds.
    #[inline(always)]
    fn dot_groups(q: &[i8; SUPER], a: &[i8], scales: &[i32; GROUPS]) -> i32 {
        let (qs, _) = q.as_chunks::<16>();
        let (as_, _) = a.as_chunks::<16>();
        let mut sum = 0i32;
        for ((qg, ag), sc) in qs.iter().zip(as_).zip(scales) {
            let mut s = 0i32;
            for (x, y) in qg.iter().zip(ag) {
                // |x·y| ≤ 32·128: no overflow; wrapping spares test builds' checks.
                s = s.wrapping_add(i32::from(i16::from(*x).wrapping_mul(i16::from(*y))));
            }
            sum = sum.wrapping_add(s.wrapping_mul(*sc));
        }
        sum
    }

    #[inline(always)]
    pub fn dot_tile<const R: usize>(kind: Kind, t: &[f32], w: &[u8], acts: &[Row<'_>; R]) -> [f32; R] {
        let mut out = [0f32; R];
        for (b, blk) in w.chunks_exact(kind.bytes()).enumerate() {
            let u = unpack(kind, t, blk);
            for (o, a) in out.iter_mut().zip(acts) {
                let da = a.d[b];
                let sumi = dot_groups(&u.q, &a.qs[b * SUPER..(b + 1) * SUPER], &u.scales);
                *o += u.d * da * sumi as f32;
                if kind != Kind::Q6K {
                    *o -= u.dmin * da * min_sum(&u.mins, &a.bsums[b * GROUPS..(b + 1) * GROUPS]) as f32;
                }
            }
        }
        out
    }
}

#[cfg(target_feature = "simd128")]
mod simd {
    use std::arch::wasm32::*;

    use super::{scales_k4, Kind, Row, GROUPS, SUPER};
    use crate::arch::simd128::moved_bits;
    use crate::blocks::f16_at;

    /// The 256 values of a super-block as 16 vectors of 16 bytes; Q6_K's
    /// centred (signed) only if `CENTRED`.
    #[inline(always)]
    unsafe fn unpack<const CENTRED: bool>(kind: Kind, blk: *const u8) -> [v128; GROUPS] {
        let mut v = [i8x16_splat(0); GROUPS];
        let low = u8x16_splat(0x0F);
        match kind {
            Kind::Q4K | Kind::Q5K => {
                let qs = blk.add(if kind == Kind::Q5K { 48 } else { 16 });
                let (h0, h1) = if kind == Kind::Q5K {
                    (v128_load(blk.add(16) as *const v128), v128_load(blk.add(32) as *const v128))
                } else {
                    (i8x16_splat(0), i8x16_splat(0))
                };
                let fifth = u8x16_splat(0x10);
                for j in 0..4 {
                    let a = v128_load(qs.add(32 * j) as *const v128);
                    let b = v128_load(qs.add(32 * j + 16) as *const v128);
                    let mut q =
                        [v128_and(a, low), v128_and(b, low), moved_bits(a, 4, 0, low), moved_bits(b, 4, 0, low)];
                    if kind == Kind::Q5K {
                        // Group pair j's fifth bits are bits 2j and 2j + 1 of the high bytes.
                        let bit = |h: v128, from: usize| moved_bits(h, from as u32, 4, fifth);
                        q[0] = v128_or(q[0], bit(h0, 2 * j));
                        q[1] = v128_or(q[1], bit(h1, 2 * j));
                        q[2] = v128_or(q[2], bit(h0, 2 * j + 1));
                        q[3] = v128_or(q[3], bit(h1, 2 * j + 1));
                    }
                    v[4 * j..4 * j + 4].copy_from_slice(&q);
                }
            }
            Kind::Q6K => {
                let pair = u8x16_splat(0x30);
                let centre = i8x16_splat(32);
                for n in 0..2 {
                    let ql = blk.add(64 * n);
                    let qh = blk.add(128 + 32 * n);
                    let l = [0, 16, 32, 48].map(|o| v128_load(ql.add(o) as *const v128));
                    let (h0, h1) = (v128_load(qh as *const v128), v128_load(qh.add(16) as *const v128));
                    // Bits 2k, 2k+1 of the high byte, moved to bits 4 and 5.
                    let hb = |h: v128, k: u32| moved_bits(h, k, 4, pair);
                    let q = [
                        v128_or(v128_and(l[0], low), hb(h0, 0)),
                        v128_or(v128_and(l[1], low), hb(h1, 0)),
                        v128_or(v128_and(l[2], low), hb(h0, 2)),
                        v128_or(v128_and(l[3], low), hb(h1, 2)),
                        v128_or(moved_bits(l[0], 4, 0, low), hb(h0, 4)),
                        v128_or(moved_bits(l[1], 4, 0, low), hb(h1, 4)),
                        v128_or(moved_bits(l[2], 4, 0, low), hb(h0, 6)),
                        v128_or(moved_bits(l[3], 4, 0, low), hb(h1, 6)),
                    ];
                    for (g, q) in q.into_iter().enumerate() {
                        v[8 * n + g] = if CENTRED { i8x16_sub(q, centre) } else { q };
                    }
                }
            }
        }
        v
    }

    #[inline(always)]
    unsafe fn hsum_i32(v: v128) -> i32 {
        i32x4_extract_lane::<0>(v)
            + i32x4_extract_lane::<1>(v)
            + i32x4_extract_lane::<2>(v)
            + i32x4_extract_lane::<3>(v)
    }

    #[cfg_attr(feature = "relaxed-simd", allow(dead_code))]
    pub unsafe fn dot_tile<const R: usize>(kind: Kind, t: &[f32], w: &[u8], acts: &[Row<'_>; R]) -> [f32; R] {
        match kind {
            Kind::Q4K => tile::<0, R, false, false>(t, w, acts),
            Kind::Q5K => tile::<1, R, false, false>(t, w, acts),
            Kind::Q6K => tile::<2, R, false, false>(t, w, acts),
        }
    }

    /// As `dot_tile`, with relaxed SIMD's 8-bit dot product, summed as
    /// `DotSums` says; the weights are its 7-bit operand (Q6_K's taken as
    /// stored, 0..=63, and its offset of 32 taken off through the activations'
    /// run sums). The integer sums are exact either way, so the results are
    /// `dot_tile`'s bit for bit.
    #[cfg(feature = "relaxed-simd")]
    #[target_feature(enable = "relaxed-simd")]
    pub unsafe fn dot_tile_relaxed<const R: usize>(kind: Kind, t: &[f32], w: &[u8], acts: &[Row<'_>; R]) -> [f32; R] {
        match (kind, crate::relaxed_dot::in_i16()) {
            (Kind::Q4K, false) => tile::<0, R, true, false>(t, w, acts),
            (Kind::Q5K, false) => tile::<1, R, true, false>(t, w, acts),
            (Kind::Q6K, false) => tile::<2, R, true, false>(t, w, acts),
            (Kind::Q4K, true) => tile::<0, R, true, true>(t, w, acts),
            (Kind::Q5K, true) => tile::<1, R, true, true>(t, w, acts),
            (Kind::Q6K, true) => tile::<2, R, true, true>(t, w, acts),
        }
    }

    /// Σ over one run of 16 of `v · x` times the run's scale, as four i32
    /// partial sums. With `I16` (relaxed SIMD only), the pairs' sums
    /// (2 × 63 × 128 at most: Q6_K) are multiplied by the scale as they are
    /// widened, one `i32x4.dot_i16x8_s` for a widening and an i32 multiply.
    #[inline(always)]
    #[cfg_attr(not(feature = "relaxed-simd"), allow(unused_variables))]
    unsafe fn scaled_run<const RELAXED: bool, const I16: bool>(v: v128, x: v128, sc: v128, sc16: v128) -> v128 {
        if !RELAXED {
            let p = i16x8_add(i16x8_extmul_low_i8x16(v, x), i16x8_extmul_high_i8x16(v, x));
            return i32x4_mul(i32x4_extadd_pairwise_i16x8(p), sc);
        }
        #[cfg(feature = "relaxed-simd")]
        {
            if I16 {
                i32x4_dot_i16x8(i16x8_relaxed_dot_i8x16_i7x16(x, v), sc16)
            } else {
                i32x4_mul(i32x4_relaxed_dot_i8x16_i7x16_add(x, v, i32x4_splat(0)), sc)
            }
        }
        #[cfg(not(feature = "relaxed-simd"))]
        unreachable!("relaxed SIMD is not compiled in")
    }

    /// The same over two runs of 16 sharing a scale; the values are at most
    /// 5 bits (Q4_K, Q5_K), so i16 sums of four products (4 × 31 × 128)
    /// cannot overflow.
    #[inline(always)]
    #[cfg_attr(not(feature = "relaxed-simd"), allow(unused_variables))]
    unsafe fn scaled_pair<const RELAXED: bool, const I16: bool>(
        v0: v128,
        v1: v128,
        x0: v128,
        x1: v128,
        sc: v128,
        sc16: v128,
    ) -> v128 {
        if !RELAXED {
            let p0 = i16x8_add(i16x8_extmul_low_i8x16(v0, x0), i16x8_extmul_high_i8x16(v0, x0));
            let p1 = i16x8_add(i16x8_extmul_low_i8x16(v1, x1), i16x8_extmul_high_i8x16(v1, x1));
            return i32x4_mul(i32x4_extadd_pairwise_i16x8(i16x8_add(p0, p1)), sc);
        }
        #[cfg(feature = "relaxed-simd")]
        {
            if I16 {
                let dot16 = i16x8_relaxed_dot_i8x16_i7x16;
                i32x4_dot_i16x8(i16x8_add(dot16(x0, v0), dot16(x1, v1)), sc16)
            } else {
                let dot = i32x4_relaxed_dot_i8x16_i7x16_add;
                i32x4_mul(dot(x0, v0, dot(x1, v1, i32x4_splat(0))), sc)
            }
        }
        #[cfg(not(feature = "relaxed-simd"))]
        unreachable!("relaxed SIMD is not compiled in")
    }

    /// One monomorphised loop per type (K: 0 Q4_K, 1 Q5_K, 2 Q6_K).
    #[inline(always)]
    unsafe fn tile<const K: u8, const R: usize, const RELAXED: bool, const I16: bool>(
        t: &[f32],
        w: &[u8],
        acts: &[Row<'_>; R],
    ) -> [f32; R] {
        let kind = [Kind::Q4K, Kind::Q5K, Kind::Q6K][K as usize];
        let size = kind.bytes();
        let nb = acts[0].d.len();
        let mut out = [0f32; R];
        for b in 0..nb {
            let off = b * size;
            let blk = w.as_ptr().add(off);
            let v = if RELAXED { unpack::<false>(kind, blk) } else { unpack::<true>(kind, blk) };
            let (scales, mins, d, dmin) = if kind == Kind::Q6K {
                let sc = std::slice::from_raw_parts(blk.add(192), 16);
                (std::array::from_fn(|g| i32::from(sc[g] as i8)), [0; 8], f16_at(t, w, off + 208), 0.0)
            } else {
                let (s, m) = scales_k4(std::slice::from_raw_parts(blk, 16));
                (s, m, f16_at(t, w, off), f16_at(t, w, off + 2))
            };
            let sc: [v128; GROUPS] = scales.map(|s| i32x4_splat(s));
            // The same as i16 lanes, for `I16`'s widening multiply (a scale is 6 or 8 bits).
            let sc16: [v128; GROUPS] = scales.map(|s| i16x8_splat(s as i16));
            // What the activations' run sums are multiplied by, four runs to a
            // vector: Q6_K's offset of 32 (relaxed SIMD takes the values as
            // stored) times each run's scale, or Q4_K's and Q5_K's minimum of
            // each pair of runs. Integer sums, the scalar ones exactly.
            let by_sum: [v128; 4] = std::array::from_fn(|i| {
                if kind == Kind::Q6K {
                    let s = &scales[4 * i..];
                    i32x4_shl(i32x4(s[0], s[1], s[2], s[3]), 5)
                } else {
                    i32x4(mins[2 * i], mins[2 * i], mins[2 * i + 1], mins[2 * i + 1])
                }
            });
            // Group by group, each row's sum in its own accumulator: a
            // group's values and scale stay in registers while every row meets
            // them (all 16 groups' values and scales, held while one row
            // after another ran, did not fit V8's 16 vector registers).
            let mut acc = [i32x4_splat(0); R];
            let at = |r: usize, g: usize| {
                v128_load(acts.get_unchecked(r).qs.as_ptr().add(b * SUPER + 16 * g) as *const v128)
            };
            if kind == Kind::Q6K {
                for g in 0..GROUPS {
                    for (r, acc) in acc.iter_mut().enumerate() {
                        *acc = i32x4_add(*acc, scaled_run::<RELAXED, I16>(v[g], at(r, g), sc[g], sc16[g]));
                    }
                }
            } else {
                // Q4_K's and Q5_K's runs share their scale in pairs: one
                // multiply per pair.
                for g in (0..GROUPS).step_by(2) {
                    for (r, acc) in acc.iter_mut().enumerate() {
                        let pair = scaled_pair::<RELAXED, I16>(v[g], v[g + 1], at(r, g), at(r, g + 1), sc[g], sc16[g]);
                        *acc = i32x4_add(*acc, pair);
                    }
                }
            }
            for (r, &acc) in acc.iter().enumerate() {
                let a = acts.get_unchecked(r);
                let bsums = a.bsums.get_unchecked(b * GROUPS..(b + 1) * GROUPS);
                // Σ by_sum · run sums, in vectors: as 16 scalar multiplies
                // and adds per row they stood out in the tile's profile.
                let sums = (0..4).fold(i32x4_splat(0), |acc, i| {
                    let bs = v128_load(bsums.as_ptr().add(4 * i) as *const v128);
                    i32x4_add(acc, i32x4_mul(by_sum[i], bs))
                });
                let da = *a.d.get_unchecked(b);
                let o = out.get_unchecked_mut(r);
                if kind == Kind::Q6K {
                    let sumi = hsum_i32(if RELAXED { i32x4_sub(acc, sums) } else { acc });
                    *o += d * da * sumi as f32;
                } else {
                    *o += d * da * hsum_i32(acc) as f32;
                    *o -= dmin * da * hsum_i32(sums) as f32;
                }
            }
        }
        out
    }
}
