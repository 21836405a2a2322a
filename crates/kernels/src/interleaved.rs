//! Q4_K and Q6_K rows interleaved four at a time (and in `blocks32` the
//! blocks of 32 without a minimum), for relaxed SIMD's
//! outer-product kernels (ggml's repacked `block_q4_Kx8` and its
//! `gemv`/`gemm` are the model; four rows fill a 128-bit vector as eight
//! fill AVX2's 256).
//!
//! In the GGUF's layout a 128-bit product takes 16 values of one row, and
//! each 32 values' sums are widened and scaled on their own. Interleaved,
//! one vector holds four consecutive values of each of four rows; four
//! activations broadcast to every lane meet all four rows in one 8-bit dot
//! product, each lane a row's own sum, the sums stay in narrow lanes over
//! a whole sub-block, and one multiply scales four rows' sub-blocks. A
//! prompt's activation rows share each unpacked weight vector.
//!
//! The weights are repacked once, when the model loads, and only in the
//! relaxed-SIMD build (`interleaves`); rows are whole quads, and a band of a
//! product is too (`parallel`'s bands start at multiples of eight rows).

pub(crate) mod blocks32;

use crate::kquant::{Kind, SUPER};
use crate::weight::Holding;

/// Rows per quad.
pub(crate) const QUAD: usize = 4;

/// Bytes of one quad's Q4_K super-block (four rows' 256 values each):
/// - `0..16` the four rows' scales `d` (f32: the f16 widened, exactly);
/// - `16..32` their minimums' scales `dmin` (f32);
/// - `32..64` the 6-bit sub-block scales, `[sub-block s][row r]`;
/// - `64..96` the 6-bit sub-block minimums, `[pair p][row r][s − 2p]`
///   (two sub-blocks' minimums of a row side by side: one i16 multiply-add
///   takes both);
/// - `96..608` the nibbles: for each 32-byte chunk `j` of the GGUF's
///   block and each 4-byte step `l` in it, row r's bytes `32j + 4l ..+ 4`
///   at `16 (8j + l) + 4r`. A byte's low nibble is value `64j + 4l + k`,
///   its high nibble value `64j + 32 + 4l + k`, as in the GGUF.
const Q4K_BYTES: usize = 608;

/// Bytes of one quad's Q6_K super-block:
/// - `0..16` the four rows' scales `d` (f32);
/// - `16..80` the 8-bit sub-block scales (16 sub-blocks of 16 values),
///   `[pair p][row r][g − 2p]`;
/// - `80..848` the values: for each half `n` of the GGUF's block and each
///   4-byte step `l` in its 32, 48 bytes at `80 + 48 (8n + l)`: the low
///   bits `ql[64n + 4l ..+ 4]`, then `ql[64n + 32 + 4l ..+ 4]`, then the high
///   bits `qh[32n + 4l ..+ 4]`, each as four rows' four bytes.
const Q6K_BYTES: usize = 848;

/// Bytes of one quad's Q6_K super-block held a byte a value (`Holding::Fast`):
/// - `0..80` as in `Q6K_BYTES`;
/// - `80..1104` the values as stored (0..=63, offset by 32): for each step
///   `s` of four values, row r's values `4s ..+ 4` at `80 + 16s + 4r`.
///
/// 31 % more bytes than the GGUF's six bits, and no unpacking in the kernel.
const Q6K_WIDE_BYTES: usize = 1104;

/// What a quad's super-blocks hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    Q4K,
    /// Q6_K's six bits, as the GGUF packs them.
    Q6K,
    /// Q6_K a byte a value.
    Q6KWide,
}

impl Layout {
    /// How a `kind` matrix is interleaved when held as `holding` says (Q4_K
    /// and Q6_K only).
    pub(crate) fn of(kind: Kind, holding: Holding) -> Self {
        match (kind, holding) {
            (Kind::Q6K, Holding::Fast) => Layout::Q6KWide,
            (Kind::Q6K, Holding::Compact) => Layout::Q6K,
            _ => Layout::Q4K,
        }
    }

    /// Bytes of one quad's super-block.
    pub(crate) const fn quad_bytes(self) -> usize {
        match self {
            Layout::Q4K => Q4K_BYTES,
            Layout::Q6K => Q6K_BYTES,
            Layout::Q6KWide => Q6K_WIDE_BYTES,
        }
    }

    /// The tile a prompt's rows meet these quads in: Q6_K held a byte a
    /// value is loaded, not unpacked, so two rows against two quads.
    #[cfg(all(target_feature = "simd128", feature = "relaxed-simd"))]
    pub(crate) fn prompt_tile(self) -> crate::tiling::PromptTile {
        use crate::tiling::PromptTile;
        match self {
            Layout::Q6KWide => PromptTile::TwoRowsTwoQuads,
            Layout::Q4K | Layout::Q6K => PromptTile::ThreeRows,
        }
    }

    /// The GGUF's type.
    pub(crate) const fn kind(self) -> Kind {
        match self {
            Layout::Q4K => Kind::Q4K,
            Layout::Q6K | Layout::Q6KWide => Kind::Q6K,
        }
    }
}

/// Whether this build multiplies K-quants through interleaved quads.
const USED: bool = cfg!(all(target_feature = "simd128", feature = "relaxed-simd"));

/// Whether a `rows × cols` matrix of `kind` is interleaved in this build.
pub(crate) fn interleaves(kind: Kind, rows: usize, cols: usize) -> bool {
    USED && matches!(kind, Kind::Q4K | Kind::Q6K) && rows.is_multiple_of(QUAD) && cols.is_multiple_of(SUPER)
}

/// The GGUF's rows (`rows × cols`, `interleaves`) interleaved in quads as `layout` says.
///
/// In place, last quad first: a quad's interleaved bytes take more room than
/// its GGUF rows, so each lands over its own rows (copied out first) and the
/// later quads' (already done), never over an earlier quad's. Loading holds
/// each matrix once: a second buffer per matrix left holes in wasm memory,
/// which never shrinks, that later matrices did not fill. `bytes` grows to
/// the interleaved size; a tensor read with that capacity
/// (`Weight::held_bytes`) is not moved.
pub(crate) fn repack(layout: Layout, t: &[f32], mut bytes: Vec<u8>, rows: usize, cols: usize) -> Vec<u8> {
    let (nb, size, quad) = (cols / SUPER, layout.kind().bytes(), layout.quad_bytes());
    let (row_bytes, quads) = (nb * size, rows / QUAD);
    let (gguf_quad, packed_quad) = (QUAD * row_bytes, nb * quad);
    bytes.resize(quads * packed_quad, 0);
    let mut rows_of_quad = vec![0u8; gguf_quad];
    for q in (0..quads).rev() {
        rows_of_quad.copy_from_slice(&bytes[q * gguf_quad..(q + 1) * gguf_quad]);
        let out = &mut bytes[q * packed_quad..(q + 1) * packed_quad];
        for (b, dst) in out.chunks_exact_mut(quad).enumerate() {
            for r in 0..QUAD {
                let at = r * row_bytes + b * size;
                let src = &rows_of_quad[at..at + size];
                match layout {
                    Layout::Q4K => repack_q4k(t, src, r, dst),
                    Layout::Q6K => repack_q6k(t, src, r, dst),
                    Layout::Q6KWide => repack_q6k_wide(t, src, r, dst),
                }
            }
        }
    }
    bytes
}

/// Row `r`'s Q4_K super-block `src` into its lanes of the quad's `dst`.
fn repack_q4k(t: &[f32], src: &[u8], r: usize, dst: &mut [u8]) {
    let d = crate::blocks::f16_at(t, src, 0);
    let dmin = crate::blocks::f16_at(t, src, 2);
    dst[4 * r..4 * r + 4].copy_from_slice(&d.to_le_bytes());
    dst[16 + 4 * r..16 + 4 * r + 4].copy_from_slice(&dmin.to_le_bytes());
    for s in 0..8 {
        let (sc, m) = crate::kquant::scale_min(s, &src[4..16]);
        dst[32 + QUAD * s + r] = sc;
        dst[64 + 8 * (s / 2) + 2 * r + s % 2] = m;
    }
    let qs = &src[16..];
    for j in 0..4 {
        for l in 0..8 {
            let to = 96 + 16 * (8 * j + l) + 4 * r;
            dst[to..to + 4].copy_from_slice(&qs[32 * j + 4 * l..][..4]);
        }
    }
}

/// Row `r`'s Q6_K super-block `src` into its lanes of the quad's `dst`.
fn repack_q6k(t: &[f32], src: &[u8], r: usize, dst: &mut [u8]) {
    repack_q6k_scales(t, src, r, dst);
    let (ql, qh) = (&src[..128], &src[128..192]);
    for n in 0..2 {
        for l in 0..8 {
            let to = 80 + 48 * (8 * n + l) + 4 * r;
            dst[to..to + 4].copy_from_slice(&ql[64 * n + 4 * l..][..4]);
            dst[to + 16..to + 20].copy_from_slice(&ql[64 * n + 32 + 4 * l..][..4]);
            dst[to + 32..to + 36].copy_from_slice(&qh[32 * n + 4 * l..][..4]);
        }
    }
}

/// Row `r`'s Q6_K super-block `src` into its lanes of the wide quad's `dst`.
fn repack_q6k_wide(t: &[f32], src: &[u8], r: usize, dst: &mut [u8]) {
    repack_q6k_scales(t, src, r, dst);
    let (ql, qh) = (&src[..128], &src[128..192]);
    for i in 0..SUPER {
        dst[80 + 16 * (i / 4) + 4 * r + i % 4] = q6k_value(ql, qh, i);
    }
}

/// Row `r`'s scale and sub-block scales into a Q6_K quad's first 80 bytes
/// (the same in both layouts).
fn repack_q6k_scales(t: &[f32], src: &[u8], r: usize, dst: &mut [u8]) {
    let d = crate::blocks::f16_at(t, src, 208);
    dst[4 * r..4 * r + 4].copy_from_slice(&d.to_le_bytes());
    for g in 0..16 {
        dst[16 + 8 * (g / 2) + 2 * r + g % 2] = src[192 + g];
    }
}

/// Value `i` (0..=63, before its offset of 32) of a GGUF Q6_K super-block
/// whose low bits are `ql` and high bits `qh`: half n, quarter c of it,
/// position k in the quarter.
fn q6k_value(ql: &[u8], qh: &[u8], i: usize) -> u8 {
    let (n, c, k) = (i / 128, i % 128 / 32, i % 32);
    let low = ql[64 * n + 32 * (c % 2) + k];
    let low = if c < 2 { low & 0x0F } else { low >> 4 };
    let high = (qh[32 * n + k] >> (2 * c)) & 3;
    low | (high << 4)
}

/// Row `r` of an interleaved matrix as f32, with the GGUF layout's
/// dequantization's float operations in its order (bit for bit the same).
pub(crate) fn dequantize_row(layout: Layout, quads: &[u8], cols: usize, r: usize, out: &mut [f32]) {
    let (nb, size) = (cols / SUPER, layout.quad_bytes());
    let (q, lane) = (r / QUAD, r % QUAD);
    let quad = &quads[q * nb * size..(q + 1) * nb * size];
    for (blk, o) in quad.chunks_exact(size).zip(out.chunks_exact_mut(SUPER)) {
        match layout {
            Layout::Q4K => dequantize_q4k(blk, lane, o),
            Layout::Q6K | Layout::Q6KWide => dequantize_q6k(layout, blk, lane, o),
        }
    }
}

/// The f32 at byte `at` of a quad super-block.
fn f32_at(blk: &[u8], at: usize) -> f32 {
    f32::from_le_bytes([blk[at], blk[at + 1], blk[at + 2], blk[at + 3]])
}

/// Row `lane` of one quad's Q4_K super-block `blk`.
fn dequantize_q4k(blk: &[u8], lane: usize, out: &mut [f32]) {
    let (d, dmin) = (f32_at(blk, 4 * lane), f32_at(blk, 16 + 4 * lane));
    for (i, o) in out.iter_mut().enumerate() {
        let (j, within) = (i / 64, i % 64);
        let (high, k) = (within >= 32, within % 32);
        let byte = blk[96 + 16 * (8 * j + k / 4) + 4 * lane + k % 4];
        let v = if high { byte >> 4 } else { byte & 0x0F };
        let s = i / 32;
        let (sc, m) = (blk[32 + QUAD * s + lane], blk[64 + 8 * (s / 2) + 2 * lane + s % 2]);
        let d1 = d * f32::from(sc);
        *o = d1 * f32::from(v) - dmin * f32::from(m);
    }
}

/// Row `lane` of one quad's Q6_K super-block `blk` (either layout).
fn dequantize_q6k(layout: Layout, blk: &[u8], lane: usize, out: &mut [f32]) {
    let d = f32_at(blk, 4 * lane);
    for (i, o) in out.iter_mut().enumerate() {
        let stored = if layout == Layout::Q6KWide {
            blk[80 + 16 * (i / 4) + 4 * lane + i % 4]
        } else {
            // Value i: half n, quarter c of it, position k in the quarter.
            let (n, c, k) = (i / 128, i % 128 / 32, i % 32);
            let at = 80 + 48 * (8 * n + k / 4) + 4 * lane + k % 4;
            let low = blk[at + 16 * (c % 2)];
            let low = if c < 2 { low & 0x0F } else { low >> 4 };
            let high = (blk[at + 32] >> (2 * c)) & 3;
            low | (high << 4)
        };
        let v = stored as i8 - 32;
        let g = i / 16;
        let sc = blk[16 + 8 * (g / 2) + 2 * lane + g % 2] as i8;
        let d1 = d * f32::from(sc);
        *o = d1 * f32::from(v);
    }
}

/// `P` quads (`w`: each its super-blocks) against `R` activation rows: for
/// each quad, each row's products with the quad's four rows. A prompt's
/// tile is a few rows against one or two quads (`tiling::PromptTile`); a
/// decoded token's, one row against four (`tiling::lone_row`). Each
/// product is the same, bit for bit, whatever the tile.
#[cfg(all(target_feature = "simd128", feature = "relaxed-simd"))]
#[inline(always)]
pub(crate) fn dot_tile<const R: usize, const P: usize>(
    layout: Layout,
    w: [&[u8]; P],
    acts: &[crate::kquant::Row<'_>; R],
) -> [[[f32; QUAD]; R]; P] {
    // SAFETY: each of `w` holds a whole quad's super-blocks, as many as
    // each row has (the caller passes quads of a matrix whose activations
    // these are); the page loads the relaxed-SIMD build only where the
    // engine validates its dot product.
    unsafe {
        match (layout, crate::relaxed_dot::in_i16(R)) {
            (Layout::Q6K, true) => relaxed::tile_q6k::<R, P, true>(w, acts),
            (Layout::Q6K, false) => relaxed::tile_q6k::<R, P, false>(w, acts),
            (Layout::Q6KWide, true) => relaxed::tile_q6k_wide::<R, P, true>(w, acts),
            (Layout::Q6KWide, false) => relaxed::tile_q6k_wide::<R, P, false>(w, acts),
            (Layout::Q4K, true) => relaxed::tile_q4k::<R, P, true>(w, acts),
            (Layout::Q4K, false) => relaxed::tile_q4k::<R, P, false>(w, acts),
        }
    }
}

#[cfg(all(target_feature = "simd128", feature = "relaxed-simd"))]
mod relaxed {
    use std::arch::wasm32::*;

    use super::{Q4K_BYTES, Q6K_BYTES, Q6K_WIDE_BYTES, QUAD};
    use crate::arch::relaxed::accumulate;
    use crate::arch::simd128::{held, moved_bits};
    use crate::kquant::{Row, SUPER};

    /// Each quad's block `b` of `bytes` (a super-block, or a quad block of 32).
    #[inline(always)]
    pub(super) unsafe fn blocks<const P: usize>(w: &[&[u8]; P], b: usize, bytes: usize) -> [*const u8; P] {
        std::array::from_fn(|q| w.get_unchecked(q).as_ptr().add(b * bytes))
    }

    /// Q4_K's quads. With `I16`, each 8-bit product's pairs are summed in i16 lanes over a
    /// sub-block (eight steps of at most 2 × 15 × 128: 30,720, inside i16)
    /// and widened by the multiply with the sub-block's scale; otherwise
    /// summed in i32 lanes and multiplied after.
    #[target_feature(enable = "relaxed-simd")]
    pub(super) unsafe fn tile_q4k<const R: usize, const P: usize, const I16: bool>(
        w: [&[u8]; P],
        acts: &[Row<'_>; R],
    ) -> [[[f32; QUAD]; R]; P] {
        let nb = acts[0].d.len();
        let low = held(u8x16_splat(0x0F));
        let zero = i32x4_splat(0);
        let mut facc = [[f32x4_splat(0.0); R]; P];
        // In i32 lanes a sum is a chain of dot products, each waiting on the
        // last; one row against one quad has too few chains to fill the dot
        // product's latency, so it keeps `CHAINS` of them per half.
        let chains = if !I16 && R * P == 1 { CHAINS } else { 1 };
        // What is loaded where keeps V8's registers for the accumulators:
        // the scales are read after the products they scale, the block's
        // `d` and `dmin` at its end, and the sub-block minimums' sums are
        // written out term by term (as a loop over four pairs LLVM left a
        // switch and an array in memory). With one more vector live through
        // the products, V8 kept an accumulator on the stack, and its chain
        // of dot products waited on a store and a load every step. The
        // activations are loaded per quad as written; LLVM loads them once.
        for b in 0..nb {
            let blk = blocks(&w, b, Q4K_BYTES);
            let mut sumi = [[zero; R]; P];
            for j in 0..4 {
                let (mut lo_acc, mut hi_acc) = ([[[zero; CHAINS]; R]; P], [[[zero; CHAINS]; R]; P]);
                for l in 0..8 {
                    let c = l % chains;
                    for q in 0..P {
                        let v = v128_load(blk[q].add(96).add(16 * (8 * j + l)) as *const v128);
                        let (lo, hi) = (v128_and(v, low), moved_bits(v, 4, 0, low));
                        for r in 0..R {
                            let a = acts.get_unchecked(r).qs.as_ptr().add(b * SUPER).add(64 * j + 4 * l);
                            let (a_lo, a_hi) =
                                (v128_load32_splat(a as *const u32), v128_load32_splat(a.add(32) as *const u32));
                            lo_acc[q][r][c] = accumulate::<I16>(lo_acc[q][r][c], a_lo, lo);
                            hi_acc[q][r][c] = accumulate::<I16>(hi_acc[q][r][c], a_hi, hi);
                        }
                    }
                }
                for q in 0..P {
                    let (lo_acc, hi_acc) =
                        (lo_acc[q].map(|c| joined::<I16>(c, chains)), hi_acc[q].map(|c| joined::<I16>(c, chains)));
                    // Sub-blocks 2j (low nibbles) and 2j + 1 (high): the four
                    // rows' scales, as i16 pairs (one per i16 lane of a row's
                    // sums) or as i32 lanes.
                    let sc = u16x8_extend_low_u8x16(v128_load64_zero(blk[q].add(32 + 8 * j) as *const u64));
                    let (sc_lo, sc_hi) = if I16 {
                        (
                            i16x8_shuffle::<0, 0, 1, 1, 2, 2, 3, 3>(sc, sc),
                            i16x8_shuffle::<4, 4, 5, 5, 6, 6, 7, 7>(sc, sc),
                        )
                    } else {
                        (u32x4_extend_low_u16x8(sc), u32x4_extend_high_u16x8(sc))
                    };
                    for r in 0..R {
                        let scaled = if I16 {
                            i32x4_add(i32x4_dot_i16x8(lo_acc[r], sc_lo), i32x4_dot_i16x8(hi_acc[r], sc_hi))
                        } else {
                            i32x4_add(i32x4_mul(lo_acc[r], sc_lo), i32x4_mul(hi_acc[r], sc_hi))
                        };
                        sumi[q][r] = i32x4_add(sumi[q][r], scaled);
                    }
                }
            }
            for q in 0..P {
                // Σ_s min[s][row] · (the activations' sum over sub-block s): a
                // pair of sub-blocks per i16 multiply-add.
                let min = |p: usize| u16x8_extend_low_u8x16(v128_load64_zero(blk[q].add(64 + 8 * p) as *const u64));
                let mins = [min(0), min(1), min(2), min(3)];
                let (d, dmin) = (v128_load(blk[q] as *const v128), v128_load(blk[q].add(16) as *const v128));
                for (r, (sumi, facc)) in sumi[q].iter().zip(facc[q].iter_mut()).enumerate() {
                    let row = acts.get_unchecked(r);
                    let bs = row.bsums.as_ptr().add(b * 16);
                    let (s0, s1) = (v128_load(bs as *const v128), v128_load(bs.add(8) as *const v128));
                    // Sums over sub-blocks of 32 (at most 32 × 128: i16 holds them).
                    let by_32 = i16x8_narrow_i32x4(i32x4_extadd_pairwise_i16x8(s0), i32x4_extadd_pairwise_i16x8(s1));
                    let min_sum = i32x4_add(
                        i32x4_add(
                            i32x4_dot_i16x8(mins[0], splat_i32(by_32, 0)),
                            i32x4_dot_i16x8(mins[1], splat_i32(by_32, 1)),
                        ),
                        i32x4_add(
                            i32x4_dot_i16x8(mins[2], splat_i32(by_32, 2)),
                            i32x4_dot_i16x8(mins[3], splat_i32(by_32, 3)),
                        ),
                    );
                    let da = f32x4_splat(*row.d.get_unchecked(b));
                    let scaled = f32x4_mul(f32x4_convert_i32x4(*sumi), f32x4_mul(d, da));
                    let minus = f32x4_mul(f32x4_convert_i32x4(min_sum), f32x4_mul(dmin, da));
                    *facc = f32x4_add(*facc, f32x4_sub(scaled, minus));
                }
            }
        }
        facc.map(|f| f.map(lanes))
    }

    /// Independent sums kept by a lone row's Q4_K product in i32 lanes.
    const CHAINS: usize = 4;

    /// The first `n` of `sums` added (in i16 or i32 lanes).
    #[inline(always)]
    fn joined<const I16: bool>(sums: [v128; CHAINS], n: usize) -> v128 {
        sums[1..n].iter().fold(sums[0], |acc, &s| if I16 { i16x8_add(acc, s) } else { i32x4_add(acc, s) })
    }

    /// A quad's four f32 lanes.
    #[inline(always)]
    pub(super) fn lanes(v: v128) -> [f32; QUAD] {
        [f32x4_extract_lane::<0>(v), f32x4_extract_lane::<1>(v), f32x4_extract_lane::<2>(v), f32x4_extract_lane::<3>(v)]
    }

    /// i32 lane `k` of `v` in every lane.
    #[inline(always)]
    unsafe fn splat_i32(v: v128, k: usize) -> v128 {
        match k {
            0 => i32x4_shuffle::<0, 0, 0, 0>(v, v),
            1 => i32x4_shuffle::<1, 1, 1, 1>(v, v),
            2 => i32x4_shuffle::<2, 2, 2, 2>(v, v),
            _ => i32x4_shuffle::<3, 3, 3, 3>(v, v),
        }
    }

    /// Q6_K's quads. The values are taken as stored (0..=63, relaxed SIMD's
    /// 7-bit operand) and their offset of 32 taken off through the
    /// activations' run sums. Products are summed over two steps (with
    /// `I16` in i16 lanes: 2 × 2 × 63 × 128 at most), then scaled.
    #[target_feature(enable = "relaxed-simd")]
    pub(super) unsafe fn tile_q6k<const R: usize, const P: usize, const I16: bool>(
        w: [&[u8]; P],
        acts: &[Row<'_>; R],
    ) -> [[[f32; QUAD]; R]; P] {
        let nb = acts[0].d.len();
        let (low, pair) = (held(u8x16_splat(0x0F)), held(u8x16_splat(0x30)));
        let zero = i32x4_splat(0);
        let mut facc = [[f32x4_splat(0.0); R]; P];
        for b in 0..nb {
            let blk = blocks(&w, b, Q6K_BYTES);
            let d: [v128; P] = std::array::from_fn(|q| v128_load(blk[q] as *const v128));
            let pairs: [[v128; 8]; P] = std::array::from_fn(|q| q6k_pairs(blk[q]));
            let mut sumi = [[zero; R]; P];
            for n in 0..2 {
                // Steps 2t, 2t + 1 of this half: sub-blocks 8n + 2c + t / 2 for quarter c.
                for t in 0..4 {
                    let h = t / 2;
                    let mut acc = [[[zero; 4]; R]; P];
                    for l in 2 * t..2 * t + 2 {
                        for q in 0..P {
                            let p = blk[q].add(80 + 48 * (8 * n + l));
                            let (a, c, hi) = (
                                v128_load(p as *const v128),
                                v128_load(p.add(16) as *const v128),
                                v128_load(p.add(32) as *const v128),
                            );
                            let values = [
                                v128_or(v128_and(a, low), moved_bits(hi, 0, 4, pair)),
                                v128_or(v128_and(c, low), moved_bits(hi, 2, 4, pair)),
                                v128_or(moved_bits(a, 4, 0, low), v128_and(hi, pair)),
                                v128_or(moved_bits(c, 4, 0, low), moved_bits(hi, 6, 4, pair)),
                            ];
                            for (r, acc) in acc[q].iter_mut().enumerate() {
                                let x = acts.get_unchecked(r).qs.as_ptr().add(b * SUPER + 128 * n + 4 * l);
                                for (quarter, acc) in acc.iter_mut().enumerate() {
                                    let xs = v128_load32_splat(x.add(32 * quarter) as *const u32);
                                    *acc = accumulate::<I16>(*acc, xs, values[quarter]);
                                }
                            }
                        }
                    }
                    for (q, acc) in acc.iter().enumerate() {
                        for quarter in 0..4 {
                            // Sub-block 8n + 2·quarter + h.
                            let sc = q6k_scale::<I16>(&pairs[q], 8 * n + 2 * quarter + h);
                            for (sumi, acc) in sumi[q].iter_mut().zip(acc) {
                                let scaled =
                                    if I16 { i32x4_dot_i16x8(acc[quarter], sc) } else { i32x4_mul(acc[quarter], sc) };
                                *sumi = i32x4_add(*sumi, scaled);
                            }
                        }
                    }
                }
            }
            for q in 0..P {
                q6k_scaled(b, d[q], &pairs[q], &sumi[q], acts, &mut facc[q]);
            }
        }
        facc.map(|f| f.map(lanes))
    }

    /// A Q6_K quad super-block's 16 pairs of 8-bit scales, as i16 lanes:
    /// pair p holds row r's sub-blocks 2p and 2p + 1 at lanes 2r, 2r + 1.
    #[inline(always)]
    unsafe fn q6k_pairs(blk: *const u8) -> [v128; 8] {
        std::array::from_fn(|p| i16x8_extend_low_i8x16(v128_load64_zero(blk.add(16 + 8 * p) as *const u64)))
    }

    /// Sub-block `g`'s scales from `q6k_pairs`: with `I16` in both i16 lanes
    /// of each row (for `i32x4.dot_i16x8_s`), otherwise sign-extended to i32.
    #[inline(always)]
    unsafe fn q6k_scale<const I16: bool>(pairs: &[v128; 8], g: usize) -> v128 {
        let v = pairs[g / 2];
        match (I16, g % 2) {
            (true, 0) => i16x8_shuffle::<0, 0, 2, 2, 4, 4, 6, 6>(v, v),
            (true, _) => i16x8_shuffle::<1, 1, 3, 3, 5, 5, 7, 7>(v, v),
            (false, 0) => i32x4_shr(i32x4_shl(v, 16), 16),
            (false, _) => i32x4_shr(v, 16),
        }
    }

    /// Super-block `b`'s scaled integer sums (`sumi`, the values as stored)
    /// into `facc`, with the values' offset of 32 taken off: 32 · Σ_g
    /// scale[g][row] · (the activations' sum over run g).
    #[inline(always)]
    unsafe fn q6k_scaled<const R: usize>(
        b: usize,
        d: v128,
        pairs: &[v128; 8],
        sumi: &[v128; R],
        acts: &[Row<'_>; R],
        facc: &mut [v128; R],
    ) {
        for (r, (sumi, facc)) in sumi.iter().zip(facc.iter_mut()).enumerate() {
            let row = acts.get_unchecked(r);
            let bs = row.bsums.as_ptr().add(b * 16);
            let runs = [v128_load(bs as *const v128), v128_load(bs.add(8) as *const v128)];
            let offset = (0..8).fold(i32x4_splat(0), |acc, p| {
                i32x4_add(acc, i32x4_dot_i16x8(pairs[p], splat_i32(runs[p / 4], p % 4)))
            });
            let sumi = i32x4_sub(*sumi, i32x4_shl(offset, 5));
            let da = f32x4_splat(*row.d.get_unchecked(b));
            *facc = f32x4_add(*facc, f32x4_mul(f32x4_convert_i32x4(sumi), f32x4_mul(d, da)));
        }
    }

    /// Q6_K's wide quads: the values a byte each, as stored (0..=63), so a
    /// step is one load. Each sub-block of 16 is summed over two pairs of
    /// steps (with `I16` in i16 lanes: 2 × 2 × 63 × 128 at most), then scaled.
    #[target_feature(enable = "relaxed-simd")]
    pub(super) unsafe fn tile_q6k_wide<const R: usize, const P: usize, const I16: bool>(
        w: [&[u8]; P],
        acts: &[Row<'_>; R],
    ) -> [[[f32; QUAD]; R]; P] {
        let nb = acts[0].d.len();
        let zero = i32x4_splat(0);
        let mut facc = [[f32x4_splat(0.0); R]; P];
        for b in 0..nb {
            let blk = blocks(&w, b, Q6K_WIDE_BYTES);
            let d: [v128; P] = std::array::from_fn(|q| v128_load(blk[q] as *const v128));
            let pairs: [[v128; 8]; P] = std::array::from_fn(|q| q6k_pairs(blk[q]));
            let mut sumi = [[zero; R]; P];
            for g in 0..16 {
                let mut acc = [[[zero; 2]; R]; P];
                for s in 0..4 {
                    for q in 0..P {
                        let v = v128_load(blk[q].add(80 + 16 * (4 * g + s)) as *const v128);
                        for (r, acc) in acc[q].iter_mut().enumerate() {
                            let x = acts.get_unchecked(r).qs.as_ptr().add(b * SUPER + 16 * g + 4 * s);
                            acc[s / 2] = accumulate::<I16>(acc[s / 2], v128_load32_splat(x as *const u32), v);
                        }
                    }
                }
                for (q, acc) in acc.iter().enumerate() {
                    let sc = q6k_scale::<I16>(&pairs[q], g);
                    for (sumi, acc) in sumi[q].iter_mut().zip(acc) {
                        let scaled = if I16 {
                            i32x4_add(i32x4_dot_i16x8(acc[0], sc), i32x4_dot_i16x8(acc[1], sc))
                        } else {
                            i32x4_mul(i32x4_add(acc[0], acc[1]), sc)
                        };
                        *sumi = i32x4_add(*sumi, scaled);
                    }
                }
            }
            for q in 0..P {
                q6k_scaled(b, d[q], &pairs[q], &sumi[q], acts, &mut facc[q]);
            }
        }
        facc.map(|f| f.map(lanes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::f16_table;
    use crate::kquant;
    use crate::tests::quantized;
    use candle_core::quantized::GgmlDType;

    #[test]
    fn interleaved_rows_dequantize_as_the_ggufs() {
        let (rows, cols) = (8, 512);
        let layouts = [Layout::Q4K, Layout::Q6K, Layout::Q6KWide];
        for (dtype, layout) in [GgmlDType::Q4K, GgmlDType::Q6K, GgmlDType::Q6K].into_iter().zip(layouts) {
            let kind = layout.kind();
            // What a quantizer writes, and arbitrary bytes (every scale and
            // high-bit pattern) with small finite f16 scales.
            let (written, _) = quantized(dtype, rows, cols, 7);
            let mut arbitrary: Vec<u8> =
                crate::testing::noise(written.len(), 8).iter().map(|v| ((v + 1.0) * 127.9) as u8).collect();
            let scale_at: &[usize] = if kind == Kind::Q6K { &[208] } else { &[0, 2] };
            for blk in arbitrary.chunks_exact_mut(kind.bytes()) {
                for &at in scale_at {
                    blk[at..at + 2].copy_from_slice(&half::f16::from_f32(0.01).to_le_bytes());
                }
            }
            for bytes in [written, arbitrary] {
                let t = f16_table();
                let quads = repack(layout, t, bytes.clone(), rows, cols);
                assert_eq!(quads.len(), rows / QUAD * cols / SUPER * layout.quad_bytes());
                let row_bytes = cols / SUPER * kind.bytes();
                for r in 0..rows {
                    let (mut want, mut got) = (vec![0f32; cols], vec![0f32; cols]);
                    kquant::dequantize_row(kind, t, &bytes[r * row_bytes..(r + 1) * row_bytes], &mut want);
                    dequantize_row(layout, &quads, cols, r, &mut got);
                    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&got), bits(&want), "{layout:?} row {r}");
                }
            }
        }
    }
}
