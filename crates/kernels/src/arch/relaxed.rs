//! Relaxed SIMD's 8-bit dot product (`i32x4.relaxed_dot_i8x16_i7x16_add_s`)
//! for blocks of 32: its 7-bit operand must not be negative, so the values
//! are multiplied as stored and their offset taken off with the activations'
//! lane sums, and Q8_0's signed bytes meet the activations' positive and
//! negative parts. The tiling is simd128's (`tile` with `RELAXED`).

use std::arch::wasm32::*;

use super::simd128::tile;
use crate::activations::Act;
use crate::blocks::{with_block_type, BlockType, Blocks, BLOCK};

/// As `dot_tile`, with relaxed SIMD's 8-bit dot product, summed as
/// `DotSums` says. The integer sums are the same; the f32 lanes they are
/// added in are not, so results differ from `dot_tile`'s in the last bits
/// (and are the same whichever `DotSums`).
#[target_feature(enable = "relaxed-simd")]
pub unsafe fn dot_tile_relaxed<const R: usize>(kind: Blocks, t: &[f32], w: &[u8], acts: &[Act<'_>; R]) -> [f32; R] {
    if crate::relaxed_dot::in_i16(R) {
        relaxed::<R, true>(kind, t, w, acts)
    } else {
        relaxed::<R, false>(kind, t, w, acts)
    }
}

#[inline(always)]
unsafe fn relaxed<const R: usize, const I16: bool>(kind: Blocks, t: &[f32], w: &[u8], acts: &[Act<'_>; R]) -> [f32; R] {
    with_block_type!(kind, T => tile::<T, R, true, I16>(t, w, acts))
}

/// `acc` plus the 8-bit products of `a` (i8) and `w` (0..=127): with `I16`,
/// products summed in pairs into i16 lanes (`i16x8.relaxed_dot_i8x16_i7x16_s`
/// and an add), otherwise in fours into i32 lanes (one instruction).
#[inline(always)]
pub(crate) unsafe fn accumulate<const I16: bool>(acc: v128, a: v128, w: v128) -> v128 {
    if I16 {
        i16x8_add(acc, i16x8_relaxed_dot_i8x16_i7x16(a, w))
    } else {
        i32x4_relaxed_dot_i8x16_i7x16_add(a, w, acc)
    }
}

/// Block `b` of one activation row (`a0`, `a1` its values) against the
/// block's values as stored: four i32 partial sums.
#[inline(always)]
pub(super) unsafe fn block_dot<T: BlockType, const I16: bool>(
    v0: v128,
    v1: v128,
    a: &Act<'_>,
    b: usize,
    a0: v128,
    a1: v128,
) -> v128 {
    let load = |p: *const i8| (v128_load(p as *const v128), v128_load(p.add(16) as *const v128));
    let dot = i32x4_relaxed_dot_i8x16_i7x16_add;
    let dot16 = i16x8_relaxed_dot_i8x16_i7x16;
    if T::BYTE_VALUES {
        // The weights are the signed operand, the activations' two
        // halves the 7-bit one.
        let (p0, p1) = load(a.pos.as_ptr().add(b * BLOCK));
        let (n0, n1) = load(a.neg.as_ptr().add(b * BLOCK));
        if I16 {
            // A pair's product with one half is at most 2 × 128 × 127,
            // and only one half of each activation is not zero, so the
            // difference is the pair's exact sum: it fits i16. Two
            // halves' sums would not, so each is widened.
            let s0 = i16x8_sub(dot16(v0, p0), dot16(v0, n0));
            let s1 = i16x8_sub(dot16(v1, p1), dot16(v1, n1));
            return i32x4_add(i32x4_extadd_pairwise_i16x8(s0), i32x4_extadd_pairwise_i16x8(s1));
        }
        let zero = i32x4_splat(0);
        return i32x4_sub(dot(v0, p0, dot(v1, p1, zero)), dot(v0, n0, dot(v1, n1, zero)));
    }
    // The offset comes off the lanes: Σ (q − c)·a = Σ q·a − c·Σ a.
    // The lanes hold −16 · Σ a: Q5_0's offset, twice Q4_0's.
    let start = if T::CENTRE != 0 {
        let minus_16_sums = v128_load(a.lanes.as_ptr().add(4 * b) as *const v128);
        if T::CENTRE == 16 {
            minus_16_sums
        } else {
            i32x4_shr(minus_16_sums, 1)
        }
    } else {
        i32x4_splat(0)
    };
    if I16 {
        // Values of at most 5 bits: four products (2 × 2 × 31 × 127)
        // fit i16, so both halves are summed before one widening.
        // Lane k is then bytes 4k..4k+4 of each half, as with `dot`.
        return i32x4_add(start, i32x4_extadd_pairwise_i16x8(i16x8_add(dot16(a0, v0), dot16(a1, v1))));
    }
    dot(a0, v0, dot(a1, v1, start))
}
