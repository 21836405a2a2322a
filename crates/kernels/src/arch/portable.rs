//! The portable kernels for blocks of 32: plain loops, for any CPU without
//! a kernel of its own.

use crate::activations::Act;
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

/// One weight row against `R` activation rows.
#[inline(always)]
pub fn dot_tile<const R: usize>(kind: Blocks, t: &[f32], w: &[u8], acts: &[Act<'_>; R]) -> [f32; R] {
    with_block_type!(kind, T => dot_tile_of::<T, R>(t, w, acts))
}

/// One loop per block type, over fixed-size blocks: no bounds checks left
/// inside, so the compiler vectorises it. Each block is unpacked once for
/// all `R` rows; each row's sum is the one-row sum, in the same order.
#[inline(always)]
fn dot_tile_of<T: BlockType, const R: usize>(t: &[f32], w: &[u8], acts: &[Act<'_>; R]) -> [f32; R] {
    let rows: [_; R] = std::array::from_fn(|r| (acts[r].qs.as_chunks::<BLOCK>().0, acts[r].d, acts[r].s));
    let mut sums = [0f32; R];
    for (b, blk) in T::blocks(w).iter().enumerate() {
        let blk = blk.as_ref();
        let (v, min) = block_values::<T>(t, blk);
        let scale = f16_at(t, blk, 0);
        for (sum, (qs, d, s)) in sums.iter_mut().zip(&rows) {
            *sum += madd(&v, &qs[b]) as f32 * scale * d[b] + min * s[b];
        }
    }
    sums
}
