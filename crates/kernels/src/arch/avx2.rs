//! The x86-64 kernels with AVX2 and FMA (the command line's `fineprint run`;
//! `by_target!` checks the CPU at run time). They follow ggml-cpu's AVX2
//! kernels: 32 weight values in one register as signed bytes, multiplied by
//! 32 activation bytes with `vpmaddubsw` after moving the weights' signs onto
//! the activations, and a float accumulator of eight lanes per row, summed
//! across once at the end of the row.
//!
//! Every block is unpacked once for all `R` activation rows. Each row's
//! arithmetic does not depend on `R`, so a row's product is the same in any
//! tile (and on any number of threads).
//!
//! Where the CPU has AVX-VNNI (`VNNI`), `vpdpbusd` does `vpmaddubsw` and the
//! widening `vpmaddwd` in one instruction. The operands are the same and
//! neither form saturates (see `dot_i8`), so the sums, and the products, are
//! the same bit for bit.

use std::arch::x86_64::*;

use crate::activations::Act;
use crate::blocks::{f16_at, with_block_type, BlockType, Blocks, BLOCK};

/// `Σ x·y` over 32 signed bytes as eight i32 sums (ggml's `mul_sum_i8_pairs`),
/// given `ax = |x|`. Every `|y| ≤ 127` (the activation quantizers map the
/// largest magnitude to 127) and `|x| ≤ 128`, so no pair of products
/// saturates `vpmaddubsw`'s i16.
#[inline(always)]
unsafe fn dot_i8<const VNNI: bool>(ax: __m256i, x: __m256i, y: __m256i) -> __m256i {
    if VNNI {
        return _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), ax, _mm256_sign_epi8(y, x));
    }
    let products = _mm256_maddubs_epi16(ax, _mm256_sign_epi8(y, x));
    _mm256_madd_epi16(products, _mm256_set1_epi16(1))
}

/// The sum of eight f32 lanes.
#[inline(always)]
pub(crate) unsafe fn hsum(v: __m256) -> f32 {
    let x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    let x = _mm_add_ss(x, _mm_movehdup_ps(x));
    _mm_cvtss_f32(x)
}

/// Byte `i` all ones where bit `i` of `bits` is set (ggml's `bytes_from_bits_32`).
#[inline(always)]
unsafe fn bytes_from_bits(bits: u32) -> __m256i {
    let spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32(bits as i32),
        _mm256_set_epi64x(0x0303_0303_0303_0303, 0x0202_0202_0202_0202, 0x0101_0101_0101_0101, 0),
    );
    let all_but_own_bit = _mm256_set1_epi64x(0x7fbf_dfef_f7fb_fdfe);
    _mm256_cmpeq_epi8(_mm256_or_si256(spread, all_but_own_bit), _mm256_set1_epi64x(-1))
}

/// One weight row of blocks of 32 against `R` activation rows.
///
/// # Safety
/// The CPU has AVX2 and FMA; `w` holds whole blocks of `kind`, and each
/// activation row has `BLOCK` values, a scale and a sum per block.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn dot_tile<const R: usize>(kind: Blocks, t: &[f32], w: &[u8], acts: &[Act<'_>; R]) -> [f32; R] {
    with_block_type!(kind, T => dot_tile_of::<T, R, false>(t, w, acts))
}

/// As `dot_tile`, with AVX-VNNI's `vpdpbusd`.
///
/// # Safety
/// As `dot_tile`, and the CPU has AVX-VNNI.
#[target_feature(enable = "avx2,fma,avxvnni")]
pub unsafe fn dot_tile_vnni<const R: usize>(kind: Blocks, t: &[f32], w: &[u8], acts: &[Act<'_>; R]) -> [f32; R] {
    with_block_type!(kind, T => dot_tile_of::<T, R, true>(t, w, acts))
}

/// A block's 32 values as signed bytes, centred for the types stored with an
/// offset: element `i` is `v[i] · scale + min`.
#[inline(always)]
unsafe fn values<T: BlockType>(blk: &[u8]) -> __m256i {
    let at = T::QUANTS;
    let p = blk.as_ptr().add(at);
    if T::BYTE_VALUES {
        return _mm256_loadu_si256(p as *const __m256i);
    }
    let nibbles = _mm_loadu_si128(p as *const __m128i);
    let low4 = _mm_set1_epi8(0x0F);
    let lo = _mm_and_si128(nibbles, low4);
    let hi = _mm_and_si128(_mm_srli_epi16::<4>(nibbles), low4);
    let mut v = _mm256_set_m128i(hi, lo);
    if T::FIFTH_BIT {
        let qh = u32::from_le_bytes([blk[at - 4], blk[at - 3], blk[at - 2], blk[at - 1]]);
        v = _mm256_or_si256(v, _mm256_and_si256(bytes_from_bits(qh), _mm256_set1_epi8(0x10)));
    }
    if T::CENTRE != 0 {
        v = _mm256_sub_epi8(v, _mm256_set1_epi8(T::CENTRE as i8));
    }
    v
}

#[inline(always)]
unsafe fn dot_tile_of<T: BlockType, const R: usize, const VNNI: bool>(
    t: &[f32],
    w: &[u8],
    acts: &[Act<'_>; R],
) -> [f32; R] {
    let blocks = T::blocks(w);
    for a in acts {
        assert!(a.qs.len() >= blocks.len() * BLOCK && a.d.len() >= blocks.len() && a.s.len() >= blocks.len());
    }
    let mut acc = [_mm256_setzero_ps(); R];
    let mut mins = [0f32; R];
    for (b, blk) in blocks.iter().enumerate() {
        let blk = blk.as_ref();
        let x = values::<T>(blk);
        let ax = _mm256_sign_epi8(x, x);
        let scale = f16_at(t, blk, 0);
        let min = if T::HAS_MIN { f16_at(t, blk, 2) } else { 0.0 };
        for ((acc, mins), a) in acc.iter_mut().zip(&mut mins).zip(acts) {
            // In bounds: checked above for every block.
            let y = _mm256_loadu_si256(a.qs.as_ptr().add(b * BLOCK) as *const __m256i);
            let sums = _mm256_cvtepi32_ps(dot_i8::<VNNI>(ax, x, y));
            *acc = _mm256_fmadd_ps(sums, _mm256_set1_ps(scale * *a.d.get_unchecked(b)), *acc);
            if T::HAS_MIN {
                *mins += min * *a.s.get_unchecked(b);
            }
        }
    }
    std::array::from_fn(|r| hsum(acc[r]) + mins[r])
}
