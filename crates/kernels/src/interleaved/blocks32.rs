//! Blocks of 32 (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) interleaved in quads of rows,
//! as ggml's `block_q4_0x4` / `block_q8_0x4` are: a quad's block
//! holds the four rows' blocks of the same 32 columns, and one vector four
//! consecutive values of each row, so a 4-byte broadcast of the activations
//! meets all four rows in one 8-bit dot product. The per-block work that the
//! GGUF's layout pays for each row (widening the sums, gathering four blocks'
//! sums, converting and scaling them) is paid once for four rows.
//!
//! A quad's block takes exactly the bytes of its four rows' blocks, so the
//! repack is a permutation in place and the store holds what the file does.

use crate::blocks::{with_block_type, BlockType, Blocks, BLOCK};

use super::QUAD;

/// Where a quad block's fifth bits start (after the four f16 scales, and
/// the four minimums for the types with one).
const fn fifth_at<T: BlockType>() -> usize {
    if T::HAS_MIN {
        16
    } else {
        8
    }
}

/// Where a quad block's values start (after the fifth bits, if any).
const fn values_at<T: BlockType>() -> usize {
    fifth_at::<T>() + if T::FIFTH_BIT { 16 } else { 0 }
}

/// Whether a matrix of `kind` with `rows` rows is interleaved in this
/// build: where relaxed SIMD is built in, whole quads of rows.
pub(crate) fn interleaves(_kind: Blocks, rows: usize) -> bool {
    super::USED && rows.is_multiple_of(QUAD)
}

/// The GGUF's rows of `kind` (`rows × cols`, `interleaves`) interleaved in
/// quads, in place. A quad's block of `kind`:
/// - `0..8` the four rows' f16 scales; Q4_1 and Q5_1: `8..16` their f16 minimums;
/// - the nibble types: for each 4-byte step `j` of the GGUF's 16 bytes of
///   nibbles, 16 bytes (at `values_at + 16 j`) holding row r's bytes
///   `4j ..+ 4` at `4r`: low nibbles are values `4j + k`, high nibbles
///   `16 + 4j + k`;
/// - Q5_0 and Q5_1 also: 16 bytes of fifth bits before the nibbles, byte
///   `4r + k` holding in bit `j` that of value `4j + k` and in bit `4 + j`
///   that of value `16 + 4j + k` (of row r), so each vector of values takes
///   its bits with one shift;
/// - Q8_0: for each 4-byte step `v` of the 32 values, 16 bytes (at
///   `8 + 16 v`) holding row r's values `4v ..+ 4` at `4r`.
pub(crate) fn repack(kind: Blocks, mut bytes: Vec<u8>, rows: usize, cols: usize) -> Vec<u8> {
    with_block_type!(kind, T => {
        let (nb, size) = (cols / BLOCK, T::BYTES);
        let row_bytes = nb * size;
        let mut rows_of_quad = vec![0u8; QUAD * row_bytes];
        for quad in bytes.chunks_exact_mut(QUAD * row_bytes).take(rows / QUAD) {
            rows_of_quad.copy_from_slice(quad);
            for (b, dst) in quad.chunks_exact_mut(QUAD * size).enumerate() {
                for r in 0..QUAD {
                    let at = r * row_bytes + b * size;
                    pack::<T>(&rows_of_quad[at..at + size], r, dst);
                }
            }
        }
    });
    bytes
}

/// Row `r`'s block `src` into its lanes of the quad's block `dst`.
fn pack<T: BlockType>(src: &[u8], r: usize, dst: &mut [u8]) {
    dst[2 * r..2 * r + 2].copy_from_slice(&src[..2]);
    if T::HAS_MIN {
        dst[8 + 2 * r..8 + 2 * r + 2].copy_from_slice(&src[2..4]);
    }
    let (at, to) = (T::QUANTS, values_at::<T>());
    if T::BYTE_VALUES {
        for v in 0..8 {
            dst[to + 16 * v + 4 * r..][..4].copy_from_slice(&src[at + 4 * v..][..4]);
        }
        return;
    }
    for j in 0..4 {
        dst[to + 16 * j + 4 * r..][..4].copy_from_slice(&src[at + 4 * j..][..4]);
    }
    if T::FIFTH_BIT {
        let qh = u32::from_le_bytes([src[at - 4], src[at - 3], src[at - 2], src[at - 1]]);
        for k in 0..4 {
            let mut byte = 0u8;
            for j in 0..4 {
                byte |= (((qh >> (4 * j + k)) & 1) as u8) << j;
                byte |= (((qh >> (16 + 4 * j + k)) & 1) as u8) << (4 + j);
            }
            dst[fifth_at::<T>() + 4 * r + k] = byte;
        }
    }
}

/// Row `r`'s block back from the quad's block `quad`, as the GGUF has it.
fn unpack<T: BlockType>(quad: &[u8], r: usize, out: &mut [u8]) {
    out[..2].copy_from_slice(&quad[2 * r..2 * r + 2]);
    if T::HAS_MIN {
        out[2..4].copy_from_slice(&quad[8 + 2 * r..8 + 2 * r + 2]);
    }
    let (at, from) = (T::QUANTS, values_at::<T>());
    if T::BYTE_VALUES {
        for v in 0..8 {
            out[at + 4 * v..][..4].copy_from_slice(&quad[from + 16 * v + 4 * r..][..4]);
        }
        return;
    }
    for j in 0..4 {
        out[at + 4 * j..][..4].copy_from_slice(&quad[from + 16 * j + 4 * r..][..4]);
    }
    if T::FIFTH_BIT {
        let mut qh = 0u32;
        for k in 0..4 {
            let byte = u32::from(quad[fifth_at::<T>() + 4 * r + k]);
            for j in 0..4 {
                qh |= ((byte >> j) & 1) << (4 * j + k);
                qh |= ((byte >> (4 + j)) & 1) << (16 + 4 * j + k);
            }
        }
        out[at - 4..at].copy_from_slice(&qh.to_le_bytes());
    }
}

/// Row `r` of an interleaved matrix, as the GGUF stores it (its
/// dequantization is then the GGUF layout's, bit for bit).
pub(crate) fn gguf_row(kind: Blocks, quads: &[u8], cols: usize, r: usize) -> Vec<u8> {
    with_block_type!(kind, T => {
        let (nb, size) = (cols / BLOCK, T::BYTES);
        let quad = &quads[r / QUAD * QUAD * nb * size..][..QUAD * nb * size];
        let mut row = vec![0u8; nb * size];
        for (blk, out) in quad.chunks_exact(QUAD * size).zip(row.chunks_exact_mut(size)) {
            unpack::<T>(blk, r % QUAD, out);
        }
        row
    })
}

/// The tile a prompt's rows meet quads of `kind` in: Q8_0's values are
/// loaded, not unpacked, so two rows against two quads.
#[cfg(all(target_feature = "simd128", feature = "relaxed-simd"))]
pub(crate) fn prompt_tile(kind: Blocks) -> crate::tiling::PromptTile {
    with_block_type!(kind, T => if T::BYTE_VALUES {
        crate::tiling::PromptTile::TwoRowsTwoQuads
    } else {
        crate::tiling::PromptTile::ThreeRows
    })
}

/// `P` quads of rows (`w`: each its blocks) against `R` activation rows: for
/// each quad, each row's products with the quad's four rows (as
/// `interleaved::dot_tile`).
#[cfg(all(target_feature = "simd128", feature = "relaxed-simd"))]
#[inline(always)]
pub(crate) fn dot_tile<const R: usize, const P: usize>(
    kind: Blocks,
    w: [&[u8]; P],
    acts: &[crate::activations::Act<'_>; R],
) -> [[[f32; QUAD]; R]; P] {
    // SAFETY: each of `w` holds whole quad blocks of `kind`, as many as
    // each row has blocks, and the activations carry what
    // `Extras::of_quads` asks for; the page loads the relaxed-SIMD build
    // only where the engine validates its dot product.
    unsafe {
        if crate::relaxed_dot::in_i16(R) {
            with_block_type!(kind, T => relaxed::tile::<T, R, P, true>(w, acts))
        } else {
            with_block_type!(kind, T => relaxed::tile::<T, R, P, false>(w, acts))
        }
    }
}

#[cfg(all(target_feature = "simd128", feature = "relaxed-simd"))]
mod relaxed {
    use std::arch::wasm32::*;

    use super::{fifth_at, values_at, QUAD};
    use crate::activations::Act;
    use crate::arch::relaxed::accumulate;
    use crate::arch::simd128::{held, moved_bits};
    use crate::blocks::{BlockType, BLOCK};
    use crate::float16::simd::widen4;
    use crate::interleaved::relaxed::{blocks, lanes};

    /// The quads' products. Nibbles are multiplied as stored (relaxed SIMD's
    /// 7-bit operand) and their offset taken off with the block's activation
    /// sum; with `I16` a half block's pairs are summed in i16 lanes (four
    /// steps of at most 2 × 31 × 127). Q8_0's bytes meet the activations'
    /// positive and negative parts, each step's difference widened. The
    /// minimums of Q4_1 and Q5_1 meet the blocks' scaled activation sums.
    #[target_feature(enable = "relaxed-simd")]
    pub(super) unsafe fn tile<T: BlockType, const R: usize, const P: usize, const I16: bool>(
        w: [&[u8]; P],
        acts: &[Act<'_>; R],
    ) -> [[[f32; QUAD]; R]; P] {
        let nb = acts[0].d.len();
        let size = QUAD * T::BYTES;
        let mut facc = [[f32x4_splat(0.0); R]; P];
        // The nibbles' masks: the low four bits, the fifth.
        let masks = (held(u8x16_splat(0x0F)), held(u8x16_splat(0x10)));
        for b in 0..nb {
            let blk = blocks(&w, b, size);
            let sums = if T::BYTE_VALUES {
                bytes::<R, P, I16>(blk, acts, b)
            } else {
                nibbles::<T, R, P, I16>(blk, acts, b, masks)
            };
            for q in 0..P {
                // Four f16 values into the high halves of u32 lanes, widened.
                let f16s =
                    |p: *const u8| widen4(u32x4_shl(u32x4_extend_low_u16x8(v128_load64_zero(p as *const u64)), 16));
                let d = f16s(blk[q]);
                let mins = if T::HAS_MIN { f16s(blk[q].add(8)) } else { f32x4_splat(0.0) };
                for (r, (sum, facc)) in sums[q].iter().zip(facc[q].iter_mut()).enumerate() {
                    let a = acts.get_unchecked(r);
                    let da = f32x4_splat(*a.d.get_unchecked(b));
                    *facc = f32x4_add(*facc, f32x4_mul(f32x4_convert_i32x4(*sum), f32x4_mul(d, da)));
                    if T::HAS_MIN {
                        *facc = f32x4_add(*facc, f32x4_mul(mins, f32x4_splat(*a.s.get_unchecked(b))));
                    }
                }
            }
        }
        facc.map(|f| f.map(lanes))
    }

    /// Block `b` of each quad of nibbles against each activation row: the
    /// four rows' integer sums, the offset of Q4_0 and Q5_0 taken off.
    #[inline(always)]
    unsafe fn nibbles<T: BlockType, const R: usize, const P: usize, const I16: bool>(
        blk: [*const u8; P],
        acts: &[Act<'_>; R],
        b: usize,
        (low, fifth_bit): (v128, v128),
    ) -> [[v128; R]; P] {
        let zero = i32x4_splat(0);
        let (mut lo_acc, mut hi_acc) = ([[zero; R]; P], [[zero; R]; P]);
        for j in 0..4 {
            for q in 0..P {
                let values = blk[q].add(values_at::<T>());
                let v = v128_load(values.add(16 * j) as *const v128);
                let (mut lo, mut hi) = (v128_and(v, low), moved_bits(v, 4, 0, low));
                if T::FIFTH_BIT {
                    let fifth = v128_load(blk[q].add(fifth_at::<T>()) as *const v128);
                    lo = v128_or(lo, moved_bits(fifth, j as u32, 4, fifth_bit));
                    hi = v128_or(hi, moved_bits(fifth, 4 + j as u32, 4, fifth_bit));
                }
                for r in 0..R {
                    let a = acts.get_unchecked(r).qs.as_ptr().add(b * BLOCK + 4 * j);
                    let (a_lo, a_hi) = (v128_load32_splat(a as *const u32), v128_load32_splat(a.add(16) as *const u32));
                    lo_acc[q][r] = accumulate::<I16>(lo_acc[q][r], a_lo, lo);
                    hi_acc[q][r] = accumulate::<I16>(hi_acc[q][r], a_hi, hi);
                }
            }
        }
        std::array::from_fn(|q| {
            std::array::from_fn(|r| {
                let sum = if I16 {
                    i32x4_add(i32x4_extadd_pairwise_i16x8(lo_acc[q][r]), i32x4_extadd_pairwise_i16x8(hi_acc[q][r]))
                } else {
                    i32x4_add(lo_acc[q][r], hi_acc[q][r])
                };
                // Σ (q − c)·a = Σ q·a − c·Σ a, with −16 · Σ a kept per block
                // (Q5_0's offset; Q4_0's 8 is half of it).
                let minus_16_sum = || i32x4_splat(*acts.get_unchecked(r).sums.get_unchecked(b));
                match T::CENTRE {
                    16 => i32x4_add(sum, minus_16_sum()),
                    8 => i32x4_add(sum, i32x4_shr(minus_16_sum(), 1)),
                    _ => sum,
                }
            })
        })
    }

    /// Block `b` of each quad of Q8_0 against each activation row.
    #[inline(always)]
    unsafe fn bytes<const R: usize, const P: usize, const I16: bool>(
        blk: [*const u8; P],
        acts: &[Act<'_>; R],
        b: usize,
    ) -> [[v128; R]; P] {
        let zero = i32x4_splat(0);
        let (mut pos_acc, mut neg_acc) = ([[zero; R]; P], [[zero; R]; P]);
        for v in 0..8 {
            for q in 0..P {
                let w = v128_load(blk[q].add(8 + 16 * v) as *const v128);
                for r in 0..R {
                    let a = acts.get_unchecked(r);
                    let at = b * BLOCK + 4 * v;
                    let pos = v128_load32_splat(a.pos.as_ptr().add(at) as *const u32);
                    let neg = v128_load32_splat(a.neg.as_ptr().add(at) as *const u32);
                    if I16 {
                        // A pair's product with one part is at most 2 × 128 × 127
                        // and only one part of each activation is not zero: the
                        // difference is the pair's exact sum, inside i16.
                        let pair =
                            i16x8_sub(i16x8_relaxed_dot_i8x16_i7x16(w, pos), i16x8_relaxed_dot_i8x16_i7x16(w, neg));
                        pos_acc[q][r] = i32x4_add(pos_acc[q][r], i32x4_extadd_pairwise_i16x8(pair));
                    } else {
                        pos_acc[q][r] = i32x4_relaxed_dot_i8x16_i7x16_add(w, pos, pos_acc[q][r]);
                        neg_acc[q][r] = i32x4_relaxed_dot_i8x16_i7x16_add(w, neg, neg_acc[q][r]);
                    }
                }
            }
        }
        std::array::from_fn(|q| {
            std::array::from_fn(|r| if I16 { pos_acc[q][r] } else { i32x4_sub(pos_acc[q][r], neg_acc[q][r]) })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::quantized;
    use candle_core::quantized::GgmlDType;

    /// Interleaving is a permutation: every row comes back byte for byte,
    /// from what a quantizer writes and from arbitrary bytes.
    #[test]
    fn interleaved_rows_come_back_as_the_ggufs() {
        let (rows, cols) = (8, 96);
        for (dtype, kind) in
            [(GgmlDType::Q4_0, Blocks::Q4_0), (GgmlDType::Q5_0, Blocks::Q5_0), (GgmlDType::Q8_0, Blocks::Q8_0)]
        {
            let (written, _) = quantized(dtype, rows, cols, 7);
            let arbitrary: Vec<u8> =
                crate::testing::noise(written.len(), 8).iter().map(|v| ((v + 1.0) * 127.9) as u8).collect();
            for bytes in [written, arbitrary] {
                let quads = repack(kind, bytes.clone(), rows, cols);
                assert_eq!(quads.len(), bytes.len());
                let row_bytes = bytes.len() / rows;
                for r in 0..rows {
                    let row = gguf_row(kind, &quads, cols, r);
                    assert_eq!(row, bytes[r * row_bytes..(r + 1) * row_bytes], "{kind:?} row {r}");
                }
            }
        }
    }
}
