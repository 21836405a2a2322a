//! The wasm simd128 kernels for blocks of 32: each block unpacked into two
//! vectors of values, four blocks' integer sums gathered into one vector
//! for their scaling. With `RELAXED`, the values stay as stored and the dot
//! products are relaxed SIMD's (`super::relaxed`).

use std::arch::wasm32::*;

use crate::activations::Act;
use crate::blocks::{f16_at, with_block_type, BlockType, Blocks, BLOCK};
use crate::float16::simd::widen4;

/// Σ over 32 lanes of `w · a` as four i32 sums; `w` holds values of at most
/// 5 bits (signed or not), so the i16 partial sums (4 × 31 × 128) cannot overflow.
#[inline(always)]
unsafe fn dot_nibbles(lo: v128, hi: v128, a0: v128, a1: v128) -> v128 {
    let p0 = i16x8_add(i16x8_extmul_low_i8x16(lo, a0), i16x8_extmul_high_i8x16(lo, a0));
    let p1 = i16x8_add(i16x8_extmul_low_i8x16(hi, a1), i16x8_extmul_high_i8x16(hi, a1));
    i32x4_extadd_pairwise_i16x8(i16x8_add(p0, p1))
}

/// The same for full signed bytes. A product fits i16, and so does a sum of
/// two: activations are quantized to ±127 (never −128), so each product is
/// at most 128·127 and two of them 32,512.
#[inline(always)]
unsafe fn dot_bytes(w0: v128, w1: v128, a0: v128, a1: v128) -> v128 {
    let p0 = i16x8_add(i16x8_extmul_low_i8x16(w0, a0), i16x8_extmul_high_i8x16(w0, a0));
    let p1 = i16x8_add(i16x8_extmul_low_i8x16(w1, a1), i16x8_extmul_high_i8x16(w1, a1));
    i32x4_add(i32x4_extadd_pairwise_i16x8(p0), i32x4_extadd_pairwise_i16x8(p1))
}

#[inline(always)]
pub(crate) unsafe fn hsum(v: v128) -> f32 {
    f32x4_extract_lane::<0>(v) + f32x4_extract_lane::<1>(v) + f32x4_extract_lane::<2>(v) + f32x4_extract_lane::<3>(v)
}

// Kept a function of its own: inlined into the tiling loops, V8 compiled
// the blocks-of-32 kernels slower (the README's speed notes).
#[cfg_attr(feature = "relaxed-simd", allow(dead_code))]
#[inline(never)]
pub unsafe fn dot_tile<const R: usize>(kind: Blocks, t: &[f32], w: &[u8], acts: &[Act<'_>; R]) -> [f32; R] {
    // One monomorphised loop per block type: no branch on the type inside it.
    with_block_type!(kind, T => tile::<T, R, false, false>(t, w, acts))
}

/// A block's 32 values as two vectors (values 0..16, 16..32): signed bytes
/// for Q8_0; for the others, small integers, centred only if `CENTRED`.
#[inline(always)]
unsafe fn unpack<T: BlockType, const CENTRED: bool>(blk: *const u8) -> (v128, v128) {
    let quants = T::QUANTS;
    if T::BYTE_VALUES {
        return (v128_load(blk.add(quants) as *const v128), v128_load(blk.add(quants + 16) as *const v128));
    }
    let q = v128_load(blk.add(quants) as *const v128);
    let nibble = u8x16_splat(0x0F);
    let (lo, hi) = (v128_and(q, nibble), moved_bits(q, 4, 0, nibble));
    if T::FIFTH_BIT {
        // Lane j of the low half takes bit j of qh, lane j of the high
        // half bit j + 16: each byte of qh looked up as its 8 lanes.
        let centred = CENTRED && T::CENTRE != 0;
        let table = if centred { FIFTH_CENTRED.as_ptr() } else { FIFTH.as_ptr() };
        let qh = blk.add(quants - 4);
        let lanes = |k: usize, l: usize| {
            let low = v128_load64_zero(table.add(*qh.add(k) as usize));
            v128_load64_lane::<1>(low, table.add(*qh.add(l) as usize))
        };
        return (v128_or(lo, lanes(0, 1)), v128_or(hi, lanes(2, 3)));
    }
    if CENTRED && T::CENTRE != 0 {
        let centre = i8x16_splat(T::CENTRE as i8);
        (i8x16_sub(lo, centre), i8x16_sub(hi, centre))
    } else {
        (lo, hi)
    }
}

/// `v`, read back from memory: to V8 a value computed before a kernel's
/// loops, which it keeps in a register, rather than a constant, which it
/// builds again (three instructions for a mask) at each use inside them.
#[cfg(feature = "relaxed-simd")]
#[inline(always)]
pub(crate) fn held(v: v128) -> v128 {
    // SAFETY: a read of a local just written.
    unsafe { std::ptr::read_volatile(&v) }
}

/// Each byte's bits moved from bit `from` to bit `to`, then masked with
/// `mask`, which must keep none of the bits a byte's neighbour shifted in.
/// Shifted as u16 lanes: V8 lowers an i8 shift to that same shift and a
/// mask it builds again every time, five instructions where two do.
#[inline(always)]
pub(crate) unsafe fn moved_bits(v: v128, from: u32, to: u32, mask: v128) -> v128 {
    let moved = if from > to { u16x8_shr(v, from - to) } else { u16x8_shl(v, to - from) };
    v128_and(moved, mask)
}

/// Q5's fifth bits, a byte of them at a time: byte j of entry `b` is 0x10
/// where bit j of `b` is set. Two lookups give a half block's 16 lanes,
/// where spreading the bits with swizzles, masks and compares took a dozen
/// vector instructions a block, as much as the dot products in a decoded token.
static FIFTH: [u64; 256] = fifth_bits(0x10, 0x00);

/// The same for centred values: a value without its fifth bit is its
/// nibble − 16, which is the nibble with 0xF0 set (as i8); with it, the nibble.
static FIFTH_CENTRED: [u64; 256] = fifth_bits(0x00, 0xF0);

const fn fifth_bits(set: u8, unset: u8) -> [u64; 256] {
    let mut table = [0u64; 256];
    let mut b = 0;
    while b < 256 {
        let mut j = 0;
        while j < 8 {
            let byte = if b >> j & 1 == 1 { set } else { unset };
            table[b] |= (byte as u64) << (8 * j);
            j += 1;
        }
        b += 1;
    }
    table
}

/// Block `b` of one activation row against the block's values `(v0, v1)`:
/// four i32 partial sums. `RELAXED` takes the values as stored (not
/// centred) and relaxed SIMD's dot product (`super::relaxed`), summing in
/// i32 or, with `I16`, in i16 (see `DotSums`); the sums are the same either way.
#[inline(always)]
pub(super) unsafe fn block_dot<T: BlockType, const RELAXED: bool, const I16: bool>(
    v0: v128,
    v1: v128,
    a: &Act<'_>,
    b: usize,
) -> v128 {
    let (a0, a1) = (
        v128_load(a.qs.as_ptr().add(b * BLOCK) as *const v128),
        v128_load(a.qs.as_ptr().add(b * BLOCK + 16) as *const v128),
    );
    if !RELAXED {
        return if T::BYTE_VALUES { dot_bytes(v0, v1, a0, a1) } else { dot_nibbles(v0, v1, a0, a1) };
    }
    #[cfg(feature = "relaxed-simd")]
    {
        super::relaxed::block_dot::<T, I16>(v0, v1, a, b, a0, a1)
    }
    #[cfg(not(feature = "relaxed-simd"))]
    unreachable!("relaxed SIMD is not compiled in")
}

#[inline(always)]
pub(super) unsafe fn tile<T: BlockType, const R: usize, const RELAXED: bool, const I16: bool>(
    t: &[f32],
    w: &[u8],
    acts: &[Act<'_>; R],
) -> [f32; R] {
    let size = T::BYTES;
    let has_min = T::HAS_MIN;
    let nb = acts[0].d.len();
    let wp = w.as_ptr();
    let mut acc = [f32x4_splat(0.0); R];
    let mut mins = [f32x4_splat(0.0); R];
    // Four blocks at a time: their four integer sums gathered into one
    // vector (lane i: block b + i), so the per-block scaling, the float
    // work that dominates once the integer dot product is one instruction,
    // is one conversion and two multiplies for four blocks.
    let mut b = 0;
    while b + 4 <= nb {
        let p = wp.add(b * size);
        let (v00, v01) = values::<T, RELAXED>(p);
        let (v10, v11) = values::<T, RELAXED>(p.add(size));
        let (v20, v21) = values::<T, RELAXED>(p.add(2 * size));
        let (v30, v31) = values::<T, RELAXED>(p.add(3 * size));
        let (dw, mw) = scales4(p, size, has_min);
        for r in 0..R {
            let a = acts.get_unchecked(r);
            let sums = gather4(
                block_dot::<T, RELAXED, I16>(v00, v01, a, b),
                block_dot::<T, RELAXED, I16>(v10, v11, a, b + 1),
                block_dot::<T, RELAXED, I16>(v20, v21, a, b + 2),
                block_dot::<T, RELAXED, I16>(v30, v31, a, b + 3),
            );
            let da = v128_load(a.d.as_ptr().add(b) as *const v128);
            let acc_r = acc.get_unchecked_mut(r);
            *acc_r = f32x4_add(*acc_r, f32x4_mul(f32x4_convert_i32x4(sums), f32x4_mul(dw, da)));
            if has_min {
                let m = mins.get_unchecked_mut(r);
                *m = f32x4_add(*m, f32x4_mul(mw, v128_load(a.s.as_ptr().add(b) as *const v128)));
            }
        }
        b += 4;
    }
    // The last blocks one at a time; their lanes land anywhere in the
    // accumulators, which are summed whole at the end.
    while b < nb {
        let (v0, v1) = values::<T, RELAXED>(wp.add(b * size));
        let dw = f16_at(t, w, b * size);
        let mw = if has_min { f16_at(t, w, b * size + 2) } else { 0.0 };
        for r in 0..R {
            let a = acts.get_unchecked(r);
            let si = block_dot::<T, RELAXED, I16>(v0, v1, a, b);
            let acc_r = acc.get_unchecked_mut(r);
            *acc_r = f32x4_add(*acc_r, f32x4_mul(f32x4_convert_i32x4(si), f32x4_splat(dw * *a.d.get_unchecked(b))));
            if has_min {
                let m = mins.get_unchecked_mut(r);
                *m = f32x4_add(*m, f32x4_replace_lane::<0>(f32x4_splat(0.0), mw * *a.s.get_unchecked(b)));
            }
        }
        b += 1;
    }
    let mut out = [0f32; R];
    for r in 0..R {
        out[r] = hsum(f32x4_add(acc[r], mins[r]));
    }
    out
}

/// A block's values as `tile` multiplies them: as stored for relaxed SIMD,
/// centred for simd128.
#[inline(always)]
unsafe fn values<T: BlockType, const RELAXED: bool>(blk: *const u8) -> (v128, v128) {
    if RELAXED {
        unpack::<T, false>(blk)
    } else {
        unpack::<T, true>(blk)
    }
}

/// The scales of four consecutive blocks (their first f16) as f32 lanes,
/// and for the types with a minimum (the f16 after it) their minimums,
/// widened in vectors: eight table lookups and lane inserts cost about as
/// much as the four blocks' dot products.
#[inline(always)]
unsafe fn scales4(p: *const u8, size: usize, min: bool) -> (v128, v128) {
    if min {
        // Each u32 lane holds a block's scale (low half) and minimum
        // (high half, where `widen4` takes it).
        let mut v = u32x4_splat(0);
        v = v128_load32_lane::<0>(v, p as *const u32);
        v = v128_load32_lane::<1>(v, p.add(size) as *const u32);
        v = v128_load32_lane::<2>(v, p.add(2 * size) as *const u32);
        v = v128_load32_lane::<3>(v, p.add(3 * size) as *const u32);
        (widen4(u32x4_shl(v, 16)), widen4(v))
    } else {
        // Each scale into the high half of a u32 lane.
        let mut v = u32x4_splat(0);
        v = v128_load16_lane::<1>(v, p as *const u16);
        v = v128_load16_lane::<3>(v, p.add(size) as *const u16);
        v = v128_load16_lane::<5>(v, p.add(2 * size) as *const u16);
        v = v128_load16_lane::<7>(v, p.add(3 * size) as *const u16);
        (widen4(v), f32x4_splat(0.0))
    }
}

/// Four vectors' lane totals as one vector: lane i is the sum of `s_i`'s lanes.
#[inline(always)]
unsafe fn gather4(s0: v128, s1: v128, s2: v128, s3: v128) -> v128 {
    let s01 = i32x4_add(i32x4_shuffle::<0, 4, 1, 5>(s0, s1), i32x4_shuffle::<2, 6, 3, 7>(s0, s1));
    let s23 = i32x4_add(i32x4_shuffle::<0, 4, 1, 5>(s2, s3), i32x4_shuffle::<2, 6, 3, 7>(s2, s3));
    i32x4_add(i32x4_shuffle::<0, 1, 4, 5>(s01, s23), i32x4_shuffle::<2, 3, 6, 7>(s01, s23))
}
