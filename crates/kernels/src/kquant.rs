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
    /// i16: a run's sum is at most 16 × 128, and the kernels multiply
    /// eight of them at a time by scales or minimums (`i32x4.dot_i16x8_s`).
    bsums: Vec<i16>,
}

impl Act8K {
    /// As ggml and candle do it (the scale maps the value of largest magnitude
    /// to ∓127), so that the integer sums are theirs exactly.
    /// A prompt's rows are shared out among the threads, as
    /// `Activations::quantize` does.
    pub(crate) fn quantize(&mut self, x: &[f32], m: usize, cols: usize) {
        use crate::activations::ROWS_PER_TASK;
        let nb = cols / SUPER;
        self.qs.resize(m * cols, 0);
        self.d.resize(m * nb, 0.0);
        self.bsums.resize(m * nb * GROUPS, 0);
        let (values, blocks) = (ROWS_PER_TASK * cols, ROWS_PER_TASK * nb);
        let rows = x[..m * cols]
            .chunks(values)
            .zip(self.qs.chunks_mut(values))
            .zip(self.d.chunks_mut(blocks).zip(self.bsums.chunks_mut(GROUPS * blocks)));
        crate::parallel::each_mut(rows, 4 * m * cols, |((x, qs), (d, bsums))| quantize_rows(x, qs, d, bsums));
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

/// Rows of `x` into their Q8_K values `qs`, scales `d` and run sums `bsums`.
fn quantize_rows(x: &[f32], qs: &mut [i8], d: &mut [f32], bsums: &mut [i16]) {
    for ((xs, qs), (d, bsums)) in
        x.chunks_exact(SUPER).zip(qs.chunks_exact_mut(SUPER)).zip(d.iter_mut().zip(bsums.chunks_exact_mut(GROUPS)))
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
            *s = run.iter().map(|&q| i16::from(q)).sum();
        }
        *d = 1.0 / iscale;
    }
}

/// One quantized activation row.
#[derive(Clone, Copy)]
pub(crate) struct Row<'a> {
    pub(crate) qs: &'a [i8],
    pub(crate) d: &'a [f32],
    pub(crate) bsums: &'a [i16],
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
pub(crate) fn scale_min(j: usize, s: &[u8]) -> (u8, u8) {
    if j < 4 {
        (s[j] & 63, s[j + 4] & 63)
    } else {
        ((s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4), (s[j + 4] >> 4) | ((s[j] >> 6) << 4))
    }
}

/// Q4_K's and Q5_K's 12 bytes of packed 6-bit scales and minimums, read as
/// three little-endian words, as four: the eight scales' bytes, then the
/// eight minimums' (ggml's `utmp` shuffle: four word expressions in place of
/// sixteen byte lookups). The SIMD kernels load the result into a register.
#[inline(always)]
pub(crate) const fn scales_mins_words([u0, u1, u2]: [u32; 3]) -> [u32; 4] {
    const LOW6: u32 = 0x3F3F_3F3F;
    const LOW4: u32 = 0x0F0F_0F0F;
    const LOW2: u32 = 0x0303_0303;
    [u0 & LOW6, (u2 & LOW4) | (((u0 >> 6) & LOW2) << 4), u1 & LOW6, ((u2 >> 4) & LOW4) | (((u1 >> 6) & LOW2) << 4)]
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
fn min_sum(mins: &[i32; 8], bsums: &[i16]) -> i32 {
    (0..8).map(|s| mins[s] * (i32::from(bsums[2 * s]) + i32::from(bsums[2 * s + 1]))).sum()
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
        // SAFETY: the CPU has AVX2, FMA and AVX-512 F, BW and VNNI
        // (`by_target!` checked); whole super-blocks, as above.
        avx512_vnni => unsafe { avx2::dot_tile_avx512(kind, t, w, acts) },
        // SAFETY: the CPU has AVX2 and FMA (`by_target!` checked); whole
        // super-blocks, as above. No AVX-VNNI form: `vpdpwssd` in place of
        // each run's `vpmaddwd` and add made the Q4_K and Q6_K products no
        // faster (its accumulator waits on the last, where the add's is one
        // cycle).
        avx2 => unsafe { avx2::dot_tile(kind, t, w, acts) },
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

/// The AVX2 kernels (ggml-cpu's `ggml_vec_dot_q4_K_q8_K` and its kin, over
/// `R` rows): a super-block is unpacked straight into eight registers of 32
/// values and eight of their scales, once for all rows. Where the CPU has
/// AVX-512 VNNI, a tile's super-blocks are unpacked the same way and joined
/// two registers into one (`dot_tile_avx512`).
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2 {
    use std::arch::x86_64::*;

    use super::{Kind, Row, GROUPS, SUPER};
    use crate::arch::avx2::hsum;
    use crate::blocks::f16_at;

    /// A super-block in registers: 32 values per run of 32 (unsigned for
    /// Q4_K and Q5_K, centred for Q6_K), and each run's scales as i16 lanes
    /// that meet `vpmaddubsw`'s pairs (the low eight its first 16 values').
    struct Unpacked {
        q: [__m256i; 8],
        scales: [__m256i; 8],
        /// Each sub-block's minimum in two i16 lanes (Q4_K, Q5_K).
        mins: __m256i,
        d: f32,
        dmin: f32,
    }

    /// Q4_K's and Q5_K's 12 bytes of packed 6-bit scales and minimums as
    /// eight bytes of each (`scales_mins_words`).
    #[inline(always)]
    fn scales_mins(packed: &[u8]) -> [[u8; 8]; 2] {
        let word =
            |i: usize| u32::from_le_bytes([packed[4 * i], packed[4 * i + 1], packed[4 * i + 2], packed[4 * i + 3]]);
        let [s0, s1, m0, m1] = super::scales_mins_words([word(0), word(1), word(2)]);
        let join = |a: u32, b: u32| {
            let (a, b) = (a.to_le_bytes(), b.to_le_bytes());
            [a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]]
        };
        [join(s0, s1), join(m0, m1)]
    }

    #[inline(always)]
    unsafe fn unpack(kind: Kind, t: &[f32], blk: &[u8]) -> Unpacked {
        let load = |at: usize| _mm256_loadu_si256(blk.as_ptr().add(at) as *const __m256i);
        let low4 = _mm256_set1_epi8(0x0F);
        let mut q = [_mm256_setzero_si256(); 8];
        match kind {
            Kind::Q4K | Kind::Q5K => {
                let (qs, fifth) = if kind == Kind::Q5K { (48, Some(load(16))) } else { (16, None) };
                for j in 0..4 {
                    let nibbles = load(qs + 32 * j);
                    let mut lo = _mm256_and_si256(nibbles, low4);
                    let mut hi = _mm256_and_si256(_mm256_srli_epi16::<4>(nibbles), low4);
                    if let Some(qh) = fifth {
                        let bit = |b: i32| {
                            let m = _mm256_set1_epi8((1u8 << b) as i8);
                            _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, m), m), _mm256_set1_epi8(0x10))
                        };
                        lo = _mm256_or_si256(lo, bit(2 * j as i32));
                        hi = _mm256_or_si256(hi, bit(2 * j as i32 + 1));
                    }
                    q[2 * j] = lo;
                    q[2 * j + 1] = hi;
                }
                let [scales8, mins8] = scales_mins(&blk[4..16]);
                let scales = std::array::from_fn(|k| _mm256_set1_epi16(i16::from(scales8[k])));
                // Each minimum twice, as the activations' run sums of 16 come.
                let mins8 = _mm_loadl_epi64(mins8.as_ptr() as *const __m128i);
                let mins = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mins8, mins8));
                Unpacked { q, scales, mins, d: f16_at(t, blk, 0), dmin: f16_at(t, blk, 2) }
            }
            Kind::Q6K => {
                let centre = _mm256_set1_epi8(32);
                let high = |h: __m256i, mask: i8| _mm256_and_si256(h, _mm256_set1_epi8(mask));
                for n in 0..2 {
                    let (ql0, ql1, h) = (load(64 * n), load(64 * n + 32), load(128 + 32 * n));
                    let parts = [
                        (_mm256_and_si256(ql0, low4), _mm256_slli_epi16::<4>(high(h, 0x03))),
                        (_mm256_and_si256(ql1, low4), _mm256_slli_epi16::<2>(high(h, 0x0C))),
                        (_mm256_and_si256(_mm256_srli_epi16::<4>(ql0), low4), high(h, 0x30)),
                        (_mm256_and_si256(_mm256_srli_epi16::<4>(ql1), low4), _mm256_srli_epi16::<2>(high(h, -0x40))),
                    ];
                    for (i, (lo, hi)) in parts.into_iter().enumerate() {
                        q[4 * n + i] = _mm256_sub_epi8(_mm256_or_si256(lo, hi), centre);
                    }
                }
                let sc = &blk[192..208];
                let scales = std::array::from_fn(|k| {
                    _mm256_set_m128i(
                        _mm_set1_epi16(i16::from(sc[2 * k + 1] as i8)),
                        _mm_set1_epi16(i16::from(sc[2 * k] as i8)),
                    )
                });
                Unpacked { q, scales, mins: _mm256_setzero_si256(), d: f16_at(t, blk, 208), dmin: 0.0 }
            }
        }
    }

    /// One weight row of super-blocks against `R` activation rows.
    ///
    /// # Safety
    /// The CPU has AVX2 and FMA; `w` holds whole super-blocks of `kind`.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot_tile<const R: usize>(kind: Kind, t: &[f32], w: &[u8], acts: &[Row<'_>; R]) -> [f32; R] {
        match kind {
            Kind::Q4K | Kind::Q5K => tile::<false, R>(kind, t, w, acts),
            Kind::Q6K => tile::<true, R>(kind, t, w, acts),
        }
    }

    /// As `dot_tile`, with AVX-512 for a tile of rows (`tile_wide`). A lone
    /// row keeps the AVX2 kernel: joining the runs into wide registers is
    /// then paid for one row, not shared, and it ran slower.
    ///
    /// # Safety
    /// As `dot_tile`, and the CPU has AVX-512 F, BW and VNNI.
    #[target_feature(enable = "avx2,fma,avx512f,avx512bw,avx512vnni")]
    pub unsafe fn dot_tile_avx512<const R: usize>(kind: Kind, t: &[f32], w: &[u8], acts: &[Row<'_>; R]) -> [f32; R] {
        match kind {
            _ if R == 1 => dot_tile(kind, t, w, acts),
            Kind::Q4K | Kind::Q5K => tile_wide::<false, R>(kind, t, w, acts),
            Kind::Q6K => tile_wide::<true, R>(kind, t, w, acts),
        }
    }

    /// Each row's activations reach as far as `w`'s super-blocks (`n`).
    #[inline(always)]
    fn check_rows(n: usize, acts: &[Row<'_>]) {
        for a in acts {
            assert!(a.qs.len() >= n * SUPER && a.d.len() >= n);
            assert!(a.bsums.len() >= n * GROUPS);
        }
    }

    /// `SIGNED`: the values are centred (Q6_K), so their signs move onto the
    /// activations before `vpmaddubsw`; Q4_K's and Q5_K's go in as they are.
    /// Sums stay in range: a pair of products is at most 2 · 32 · 127, and a
    /// run's 16 pairs times an 8-bit scale fit i32 many times over.
    #[inline(always)]
    unsafe fn tile<const SIGNED: bool, const R: usize>(
        kind: Kind,
        t: &[f32],
        w: &[u8],
        acts: &[Row<'_>; R],
    ) -> [f32; R] {
        let blocks = w.chunks_exact(kind.bytes());
        check_rows(blocks.len(), acts);
        let mut acc = [_mm256_setzero_ps(); R];
        for (b, blk) in blocks.enumerate() {
            let u = unpack(kind, t, blk);
            let abs: [__m256i; 8] =
                std::array::from_fn(|k| if SIGNED { _mm256_sign_epi8(u.q[k], u.q[k]) } else { u.q[k] });
            for (acc, a) in acc.iter_mut().zip(acts) {
                // In bounds: checked above for every super-block.
                let ys = a.qs.as_ptr().add(b * SUPER);
                let mut sums = _mm256_setzero_si256();
                for (k, ((q, abs), scales)) in u.q.iter().zip(&abs).zip(&u.scales).enumerate() {
                    let y = _mm256_loadu_si256(ys.add(32 * k) as *const __m256i);
                    let y = if SIGNED { _mm256_sign_epi8(y, *q) } else { y };
                    let pairs = _mm256_maddubs_epi16(*abs, y);
                    sums = _mm256_add_epi32(sums, _mm256_madd_epi16(pairs, *scales));
                }
                add_block::<SIGNED>(acc, sums, &u, a, b);
            }
        }
        acc.map(|v| hsum(v))
    }

    /// Each two runs of 32 in one 512-bit register: one `vpmaddubsw` and
    /// one `vpdpwssd` (the multiply by the runs' scales and the add) a row for
    /// 64 values, where `tile` takes two of each and two adds. AVX-512 has no
    /// `vpsignb`, so Q6_K's values (`SIGNED`) go in with their offset of 32
    /// and a second `vpmaddubsw` takes 32 times the activations' pairs off.
    /// Lane l of the low half sums the first run's bytes 4l..4l + 4 as lane l
    /// of `tile`'s sums does, and of the high half the second's; the halves
    /// added are `tile`'s eight sums, the same integers, so a row's product
    /// is the same bit for bit (`vpdpwssd` does not saturate, and a pair of
    /// products is at most 2 · 63 · 127 before the offset comes off).
    #[target_feature(enable = "avx2,fma,avx512f,avx512bw,avx512vnni")]
    unsafe fn tile_wide<const SIGNED: bool, const R: usize>(
        kind: Kind,
        t: &[f32],
        w: &[u8],
        acts: &[Row<'_>; R],
    ) -> [f32; R] {
        let blocks = w.chunks_exact(kind.bytes());
        check_rows(blocks.len(), acts);
        let centre = _mm256_set1_epi8(32);
        let offset = _mm512_set1_epi8(32);
        let join = |lo: __m256i, hi: __m256i| _mm512_inserti64x4::<1>(_mm512_castsi256_si512(lo), hi);
        let stored = |q: __m256i| if SIGNED { _mm256_add_epi8(q, centre) } else { q };
        let mut acc = [_mm256_setzero_ps(); R];
        for (b, blk) in blocks.enumerate() {
            let u = unpack(kind, t, blk);
            let q: [__m512i; 4] = std::array::from_fn(|j| join(stored(u.q[2 * j]), stored(u.q[2 * j + 1])));
            let scales: [__m512i; 4] = std::array::from_fn(|j| join(u.scales[2 * j], u.scales[2 * j + 1]));
            for (acc, a) in acc.iter_mut().zip(acts) {
                // In bounds: checked above for every super-block.
                let ys = a.qs.as_ptr().add(b * SUPER);
                let mut sums = _mm512_setzero_si512();
                for (j, (q, scales)) in q.iter().zip(&scales).enumerate() {
                    let y = _mm512_loadu_si512(ys.add(64 * j) as *const __m512i);
                    let mut pairs = _mm512_maddubs_epi16(*q, y);
                    if SIGNED {
                        pairs = _mm512_sub_epi16(pairs, _mm512_maddubs_epi16(offset, y));
                    }
                    sums = _mm512_dpwssd_epi32(sums, pairs, *scales);
                }
                let sums = _mm256_add_epi32(_mm512_castsi512_si256(sums), _mm512_extracti64x4_epi64::<1>(sums));
                add_block::<SIGNED>(acc, sums, &u, a, b);
            }
        }
        acc.map(|v| hsum(v))
    }

    /// A row's accumulator after super-block `b` (unpacked as `u`), whose
    /// eight lanes of integer sums are `sums`: scaled, and less the
    /// minimums' share (Q4_K, Q5_K).
    #[inline(always)]
    unsafe fn add_block<const SIGNED: bool>(acc: &mut __m256, sums: __m256i, u: &Unpacked, a: &Row<'_>, b: usize) {
        // In bounds: the kernels check every row against the super-blocks.
        let da = *a.d.get_unchecked(b);
        *acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), _mm256_set1_ps(u.d * da), *acc);
        if !SIGNED {
            let runs = _mm256_loadu_si256(a.bsums.as_ptr().add(b * GROUPS) as *const __m256i);
            let mins = _mm256_cvtepi32_ps(_mm256_madd_epi16(runs, u.mins));
            *acc = _mm256_fnmadd_ps(mins, _mm256_set1_ps(u.dmin * da), *acc);
        }
    }
}

#[cfg(target_feature = "simd128")]
mod simd {
    use std::arch::wasm32::*;

    use super::{Kind, Row, GROUPS, SUPER};
    use crate::arch::simd128::{hsum, moved_bits};

    /// Q4_K's and Q5_K's 12 bytes of packed 6-bit scales and minimums as one
    /// vector: the 8 scales in bytes 0..8, the 8 minimums in bytes 8..16
    /// (`scales_mins_words`).
    #[inline(always)]
    unsafe fn scales_mins(p: *const u8) -> v128 {
        let word = |i: usize| (p.add(4 * i) as *const u32).read_unaligned();
        let [s0, s1, m0, m1] = super::scales_mins_words([word(0), word(1), word(2)]);
        u32x4(s0, s1, m0, m1)
    }

    /// i16 lane `i` of `v` in every i16 lane: a one-input shuffle of 16-bit
    /// lanes, which engines lower to two shuffles by immediate (a byte
    /// swizzle that zeroes bytes became a two-input shuffle, several times that).
    #[inline(always)]
    unsafe fn splat_i16(v: v128, i: usize) -> v128 {
        match i {
            0 => i16x8_shuffle::<0, 0, 0, 0, 0, 0, 0, 0>(v, v),
            1 => i16x8_shuffle::<1, 1, 1, 1, 1, 1, 1, 1>(v, v),
            2 => i16x8_shuffle::<2, 2, 2, 2, 2, 2, 2, 2>(v, v),
            3 => i16x8_shuffle::<3, 3, 3, 3, 3, 3, 3, 3>(v, v),
            4 => i16x8_shuffle::<4, 4, 4, 4, 4, 4, 4, 4>(v, v),
            5 => i16x8_shuffle::<5, 5, 5, 5, 5, 5, 5, 5>(v, v),
            6 => i16x8_shuffle::<6, 6, 6, 6, 6, 6, 6, 6>(v, v),
            _ => i16x8_shuffle::<7, 7, 7, 7, 7, 7, 7, 7>(v, v),
        }
    }

    /// The f16 at `p` as f32, through the table of all 65,536.
    #[inline(always)]
    unsafe fn f16_at(t: &[f32], p: *const u8) -> f32 {
        *t.get_unchecked(usize::from((p as *const u16).read_unaligned()))
    }

    #[cfg_attr(feature = "relaxed-simd", allow(dead_code))]
    pub unsafe fn dot_tile<const R: usize>(kind: Kind, t: &[f32], w: &[u8], acts: &[Row<'_>; R]) -> [f32; R] {
        match kind {
            Kind::Q4K => tile_k4::<false, R, false, false>(t, w, acts),
            Kind::Q5K => tile_k4::<true, R, false, false>(t, w, acts),
            Kind::Q6K => tile_q6k::<R, false, false>(t, w, acts),
        }
    }

    /// As `dot_tile`, with relaxed SIMD's 8-bit dot product, summed as
    /// `DotSums` says; the weights are its 7-bit operand (Q6_K's taken as
    /// stored, 0..=63, and its offset of 32 taken off through the activations'
    /// run sums). The integer sums are exact either way; they reach the f32
    /// lanes grouped otherwise, so results differ from `dot_tile`'s in the
    /// last bits (and are the same whichever `DotSums`).
    #[cfg(feature = "relaxed-simd")]
    #[target_feature(enable = "relaxed-simd")]
    pub unsafe fn dot_tile_relaxed<const R: usize>(kind: Kind, t: &[f32], w: &[u8], acts: &[Row<'_>; R]) -> [f32; R] {
        match (kind, crate::relaxed_dot::in_i16(R)) {
            (Kind::Q4K, false) => tile_k4::<false, R, true, false>(t, w, acts),
            (Kind::Q5K, false) => tile_k4::<true, R, true, false>(t, w, acts),
            (Kind::Q6K, false) => tile_q6k::<R, true, false>(t, w, acts),
            (Kind::Q4K, true) => tile_k4::<false, R, true, true>(t, w, acts),
            (Kind::Q5K, true) => tile_k4::<true, R, true, true>(t, w, acts),
            (Kind::Q6K, true) => tile_q6k::<R, true, true>(t, w, acts),
        }
    }

    /// Σ over two runs of 16 that share a scale, times that scale, as four
    /// i32 partial sums. The values are at most 5 bits (Q4_K, Q5_K), so
    /// i16 sums of four products (4 × 31 × 128) cannot overflow. With
    /// `I16` (relaxed SIMD only) the scale (`sc16`, an i16 splat) multiplies
    /// the pairs' sums as they are widened; otherwise `sc32` (an i32 splat)
    /// multiplies the widened sums.
    #[inline(always)]
    #[cfg_attr(not(feature = "relaxed-simd"), allow(unused_variables))]
    unsafe fn scaled_pair<const RELAXED: bool, const I16: bool>(
        v0: v128,
        v1: v128,
        x0: v128,
        x1: v128,
        sc16: v128,
        sc32: v128,
    ) -> v128 {
        if !RELAXED {
            let p0 = i16x8_add(i16x8_extmul_low_i8x16(v0, x0), i16x8_extmul_high_i8x16(v0, x0));
            let p1 = i16x8_add(i16x8_extmul_low_i8x16(v1, x1), i16x8_extmul_high_i8x16(v1, x1));
            return i32x4_mul(i32x4_extadd_pairwise_i16x8(i16x8_add(p0, p1)), sc32);
        }
        #[cfg(feature = "relaxed-simd")]
        {
            if I16 {
                let dot16 = i16x8_relaxed_dot_i8x16_i7x16;
                i32x4_dot_i16x8(i16x8_add(dot16(x0, v0), dot16(x1, v1)), sc16)
            } else {
                let dot = i32x4_relaxed_dot_i8x16_i7x16_add;
                i32x4_mul(dot(x0, v0, dot(x1, v1, i32x4_splat(0))), sc32)
            }
        }
        #[cfg(not(feature = "relaxed-simd"))]
        unreachable!("relaxed SIMD is not compiled in")
    }

    /// A run of 16's activations of row `r`, block `b`, run `g`.
    #[inline(always)]
    unsafe fn act(acts: &[Row<'_>], r: usize, b: usize, g: usize) -> v128 {
        v128_load(acts.get_unchecked(r).qs.as_ptr().add(b * SUPER + 16 * g) as *const v128)
    }

    /// Row `r`'s run sums of block `b`, runs 0..8 and 8..16.
    #[inline(always)]
    unsafe fn run_sums(acts: &[Row<'_>], r: usize, b: usize) -> (v128, v128) {
        let p = acts.get_unchecked(r).bsums.as_ptr().add(b * GROUPS);
        (v128_load(p as *const v128), v128_load(p.add(8) as *const v128))
    }

    /// Q4_K (`FIFTH` false) and Q5_K against `R` rows. Each row keeps f32
    /// lanes across super-blocks, summed once at the end, as ggml's AVX2
    /// kernel does; a super-block's values are unpacked 64 at a time and
    /// met by every row while they are in registers.
    #[inline(always)]
    unsafe fn tile_k4<const FIFTH: bool, const R: usize, const RELAXED: bool, const I16: bool>(
        t: &[f32],
        w: &[u8],
        acts: &[Row<'_>; R],
    ) -> [f32; R] {
        let size = if FIFTH { Kind::Q5K.bytes() } else { Kind::Q4K.bytes() };
        let nb = acts[0].d.len();
        let low = u8x16_splat(0x0F);
        let fifth = u8x16_splat(0x10);
        let mut facc = [f32x4_splat(0.0); R];
        for b in 0..nb {
            let off = b * size;
            let blk = w.as_ptr().add(off);
            let (d, dmin) = (f16_at(t, blk), f16_at(t, blk.add(2)));
            let sm = scales_mins(blk.add(4));
            let (scales, mins) = (u16x8_extend_low_u8x16(sm), u16x8_extend_high_u8x16(sm));
            let qs = blk.add(if FIFTH { 48 } else { 16 });
            let (h0, h1) = if FIFTH {
                (v128_load(blk.add(16) as *const v128), v128_load(blk.add(32) as *const v128))
            } else {
                (i8x16_splat(0), i8x16_splat(0))
            };
            let mut acc = [i32x4_splat(0); R];
            for j in 0..4 {
                let a = v128_load(qs.add(32 * j) as *const v128);
                let c = v128_load(qs.add(32 * j + 16) as *const v128);
                let mut q = [v128_and(a, low), v128_and(c, low), moved_bits(a, 4, 0, low), moved_bits(c, 4, 0, low)];
                if FIFTH {
                    // Sub-block pair j's fifth bits are bits 2j and 2j + 1 of the high bytes.
                    let bit = |h: v128, from: usize| moved_bits(h, from as u32, 4, fifth);
                    q[0] = v128_or(q[0], bit(h0, 2 * j));
                    q[1] = v128_or(q[1], bit(h1, 2 * j));
                    q[2] = v128_or(q[2], bit(h0, 2 * j + 1));
                    q[3] = v128_or(q[3], bit(h1, 2 * j + 1));
                }
                // Low nibbles are sub-block 2j (runs 4j, 4j + 1), high ones 2j + 1.
                for half in 0..2 {
                    let s = 2 * j + half;
                    let sc16 = splat_i16(scales, s);
                    let sc32 = i32x4_extend_low_i16x8(sc16);
                    for (r, acc) in acc.iter_mut().enumerate() {
                        let (x0, x1) = (act(acts, r, b, 4 * j + 2 * half), act(acts, r, b, 4 * j + 2 * half + 1));
                        let pair = scaled_pair::<RELAXED, I16>(q[2 * half], q[2 * half + 1], x0, x1, sc16, sc32);
                        *acc = i32x4_add(*acc, pair);
                    }
                }
            }
            // Each minimum twice, once for each of its sub-block's two runs.
            let m0 = i16x8_shuffle::<0, 0, 1, 1, 2, 2, 3, 3>(mins, mins);
            let m1 = i16x8_shuffle::<4, 4, 5, 5, 6, 6, 7, 7>(mins, mins);
            for (r, (acc, facc)) in acc.iter().zip(facc.iter_mut()).enumerate() {
                let (s0, s1) = run_sums(acts, r, b);
                let min_sum = i32x4_add(i32x4_dot_i16x8(m0, s0), i32x4_dot_i16x8(m1, s1));
                let da = *acts.get_unchecked(r).d.get_unchecked(b);
                let scaled = f32x4_mul(f32x4_convert_i32x4(*acc), f32x4_splat(d * da));
                let minus = f32x4_mul(f32x4_convert_i32x4(min_sum), f32x4_splat(dmin * da));
                *facc = f32x4_add(*facc, f32x4_sub(scaled, minus));
            }
        }
        facc.map(|v| hsum(v))
    }

    /// Q6_K against `R` rows, as `tile_k4`. Without relaxed SIMD the values
    /// are centred (−32..32) before the products; with it they are taken as
    /// stored and 32 · scale · run sum taken off after.
    #[inline(always)]
    unsafe fn tile_q6k<const R: usize, const RELAXED: bool, const I16: bool>(
        t: &[f32],
        w: &[u8],
        acts: &[Row<'_>; R],
    ) -> [f32; R] {
        let size = Kind::Q6K.bytes();
        let nb = acts[0].d.len();
        let low = u8x16_splat(0x0F);
        let pair = u8x16_splat(0x30);
        let centre = i8x16_splat(32);
        let mut facc = [f32x4_splat(0.0); R];
        for b in 0..nb {
            let off = b * size;
            let blk = w.as_ptr().add(off);
            let d = f16_at(t, blk.add(208));
            let sv = v128_load(blk.add(192) as *const v128);
            let scales = [i16x8_extend_low_i8x16(sv), i16x8_extend_high_i8x16(sv)];
            let mut acc = [i32x4_splat(0); R];
            for (n, &half_scales) in scales.iter().enumerate() {
                let ql = blk.add(64 * n);
                let qh = blk.add(128 + 32 * n);
                let l = [0, 16, 32, 48].map(|o| v128_load(ql.add(o) as *const v128));
                let (h0, h1) = (v128_load(qh as *const v128), v128_load(qh.add(16) as *const v128));
                // Bits 2k, 2k+1 of the high byte, moved to bits 4 and 5.
                let hb = |h: v128, k: u32| moved_bits(h, k, 4, pair);
                let mut q = [
                    v128_or(v128_and(l[0], low), hb(h0, 0)),
                    v128_or(v128_and(l[1], low), hb(h1, 0)),
                    v128_or(v128_and(l[2], low), hb(h0, 2)),
                    v128_or(v128_and(l[3], low), hb(h1, 2)),
                    v128_or(moved_bits(l[0], 4, 0, low), hb(h0, 4)),
                    v128_or(moved_bits(l[1], 4, 0, low), hb(h1, 4)),
                    v128_or(moved_bits(l[2], 4, 0, low), hb(h0, 6)),
                    v128_or(moved_bits(l[3], 4, 0, low), hb(h1, 6)),
                ];
                if !RELAXED {
                    q = q.map(|v| i8x16_sub(v, centre));
                }
                // Runs 8n..8n + 8, each with its own scale.
                for (k, &v) in q.iter().enumerate() {
                    let g = 8 * n + k;
                    let sc16 = splat_i16(half_scales, k);
                    let sc32 = i32x4_extend_low_i16x8(sc16);
                    for (r, acc) in acc.iter_mut().enumerate() {
                        let run = scaled_run::<RELAXED, I16>(v, act(acts, r, b, g), sc16, sc32);
                        *acc = i32x4_add(*acc, run);
                    }
                }
            }
            for (r, (acc, facc)) in acc.iter().zip(facc.iter_mut()).enumerate() {
                let sumi = if RELAXED {
                    let (s0, s1) = run_sums(acts, r, b);
                    let offset = i32x4_add(i32x4_dot_i16x8(scales[0], s0), i32x4_dot_i16x8(scales[1], s1));
                    i32x4_sub(*acc, i32x4_shl(offset, 5))
                } else {
                    *acc
                };
                let da = *acts.get_unchecked(r).d.get_unchecked(b);
                *facc = f32x4_add(*facc, f32x4_mul(f32x4_convert_i32x4(sumi), f32x4_splat(d * da)));
            }
        }
        facc.map(|v| hsum(v))
    }

    /// Σ over one run of 16 of `v · x` times the run's scale, as four i32
    /// partial sums. With `I16` (relaxed SIMD only), the pairs' sums
    /// (2 × 63 × 128 at most: Q6_K) are multiplied by the scale as they are
    /// widened.
    #[inline(always)]
    #[cfg_attr(not(feature = "relaxed-simd"), allow(unused_variables))]
    unsafe fn scaled_run<const RELAXED: bool, const I16: bool>(v: v128, x: v128, sc16: v128, sc32: v128) -> v128 {
        if !RELAXED {
            let p = i16x8_add(i16x8_extmul_low_i8x16(v, x), i16x8_extmul_high_i8x16(v, x));
            return i32x4_mul(i32x4_extadd_pairwise_i16x8(p), sc32);
        }
        #[cfg(feature = "relaxed-simd")]
        {
            if I16 {
                i32x4_dot_i16x8(i16x8_relaxed_dot_i8x16_i7x16(x, v), sc16)
            } else {
                i32x4_mul(i32x4_relaxed_dot_i8x16_i7x16_add(x, v, i32x4_splat(0)), sc32)
            }
        }
        #[cfg(not(feature = "relaxed-simd"))]
        unreachable!("relaxed SIMD is not compiled in")
    }
}
