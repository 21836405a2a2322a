//! The portable kernels for blocks of 32: plain loops the compiler
//! vectorises (and compiles again for AVX2 on x86-64, chosen at run time).

use crate::blocks::{block_values, f16_at, with_block_type, BlockType, Blocks, BLOCK};

/// Σ a·b over i16 products, the shape compilers turn into `pmaddwd`-style
/// multiply-adds on any x86-64.
#[inline(always)]
fn madd(a: &[i16; 32], b: &[i8; 32]) -> i32 {
    let mut acc = 0i32;
    for (x, y) in a.iter().zip(b) {
        // Wrapping only to spare the overflow checks of test builds, which
        // stop vectorisation: |x·y| ≤ 128·128 fits i16, 32 of them fit i32.
        acc = acc.wrapping_add(i32::from(x.wrapping_mul(i16::from(*y))));
    }
    acc
}

/// The portable loop compiled for AVX2: the compiler vectorises it with
/// 256-bit multiply-adds (the `fineprint run` command line on x86-64).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub unsafe fn dot_avx2(kind: Blocks, t: &[f32], w: &[u8], qs: &[i8], d: &[f32], s: &[f32]) -> f32 {
    dot(kind, t, w, qs, d, s)
}

#[inline(always)]
pub fn dot(kind: Blocks, t: &[f32], w: &[u8], qs: &[i8], d: &[f32], s: &[f32]) -> f32 {
    with_block_type!(kind, T => dot_of::<T>(t, w, qs, d, s))
}

/// One loop per block type, over fixed-size blocks: no bounds checks left
/// inside, so the compiler vectorises it.
#[inline(always)]
fn dot_of<T: BlockType>(t: &[f32], w: &[u8], qs: &[i8], d: &[f32], s: &[f32]) -> f32 {
    let (acts, _) = qs.as_chunks::<BLOCK>();
    let mut sum = 0f32;
    for (((blk, a), db), sb) in T::blocks(w).iter().zip(acts).zip(d).zip(s) {
        let blk = blk.as_ref();
        let (v, min) = block_values::<T>(t, blk);
        sum += madd(&v, a) as f32 * f16_at(t, blk, 0) * db + min * sb;
    }
    sum
}
