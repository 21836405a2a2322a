//! The activations of a product, quantized once to 8 bits for the integer
//! kernels: in blocks of 32 here (what ggml calls Q8_0 / Q8_1), with what
//! the relaxed-SIMD kernels need beside; K-quants take theirs as Q8_K
//! (`kquant::Act8K`). `rounding` holds the two steps every quantizer takes.

pub(crate) mod rounding;

use crate::blocks::{with_block_type, BlockType, Blocks, BLOCK};
use crate::kquant;

/// Whether the relaxed-SIMD kernels are compiled in (the browser builds for
/// engines that validate `i32x4.relaxed_dot_i8x16_i7x16_add_s`).
pub(crate) const RELAXED: bool = cfg!(all(feature = "relaxed-simd", target_feature = "simd128"));

/// What the relaxed-SIMD kernels need beside the quantized values, by the
/// block types a product meets (nothing in other builds).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Extras {
    /// Per-lane activation sums, for the types stored with an offset.
    pub(crate) lanes: bool,
    /// Positive and negative parts, for Q8_0.
    pub(crate) split: bool,
    /// Per-block activation sums, for interleaved types stored with an offset.
    pub(crate) sums: bool,
}

impl Extras {
    /// Everything this build's kernels may read (the tests).
    #[cfg(test)]
    pub(crate) const ALL: Extras = Extras { lanes: RELAXED, split: RELAXED, sums: RELAXED };

    pub(crate) fn of(kind: Blocks) -> Self {
        with_block_type!(kind, T => Extras {
            lanes: RELAXED && T::CENTRE != 0 && !T::BYTE_VALUES,
            split: RELAXED && T::BYTE_VALUES,
            sums: false,
        })
    }

    /// What the kernels of `kind` interleaved in quads read.
    pub(crate) fn of_quads(kind: Blocks) -> Self {
        with_block_type!(kind, T => Extras {
            lanes: false,
            split: RELAXED && T::BYTE_VALUES,
            sums: RELAXED && T::CENTRE != 0 && !T::BYTE_VALUES,
        })
    }

    pub(crate) fn or(self, other: Self) -> Self {
        Extras { lanes: self.lanes || other.lanes, split: self.split || other.split, sums: self.sums || other.sums }
    }
}

/// Activations quantized to 8 bits in blocks of 32: values, scale, and
/// scale × sum (what a block with a minimum, Q4_1, needs).
#[derive(Default)]
pub struct Activations {
    pub(crate) qs: Vec<i8>,
    pub(crate) d: Vec<f32>,
    pub(crate) s: Vec<f32>,
    /// Relaxed-SIMD builds only. The dot product's 7-bit operand must not be
    /// negative, so weights stored with an offset (Q4_0, Q5_0) are multiplied
    /// as stored and the offset taken off afterwards: per block, minus the sum
    /// of the eight activations each i32 lane of the product covers, times
    /// Q5_0's offset of 16 (Q4_0's 8 is half of it), so Q5_0's kernel adds it
    /// as it is.
    pub(crate) lanes: Vec<i32>,
    /// Relaxed-SIMD builds only: Q8_0's weights take every signed byte, so the
    /// activations are the 7-bit operand, split into their positive and
    /// negative parts (`a = pos − neg`, both within 0..=127).
    pub(crate) pos: Vec<i8>,
    pub(crate) neg: Vec<i8>,
    /// Relaxed-SIMD builds only: per block, −16 × the sum of its activations,
    /// for interleaved weights stored with an offset (`lanes` summed whole:
    /// an interleaved block's lanes are rows, not parts of one row).
    pub(crate) sums: Vec<i32>,
    /// The same rows quantized for K-quant weights.
    pub(crate) k: kquant::Act8K,
}

impl Activations {
    pub(crate) fn quantize(&mut self, x: &[f32], m: usize, cols: usize, extras: Extras) {
        let nb = cols / BLOCK;
        self.qs.resize(m * cols, 0);
        self.d.resize(m * nb, 0.0);
        self.s.resize(m * nb, 0.0);
        for ((xs, qs), (d, s)) in
            x.chunks_exact(BLOCK).zip(self.qs.chunks_exact_mut(BLOCK)).zip(self.d.iter_mut().zip(self.s.iter_mut()))
        {
            let scale = rounding::abs_max(xs) / 127.0;
            let inv = if scale != 0.0 { 1.0 / scale } else { 0.0 };
            // Within ±127 (the simd128 Q8_0 product relies on it).
            let sum = rounding::round_scaled(xs, inv, -127.0, qs);
            // Scales rounded to f16 as ggml and candle store them: greedy
            // decoding is sensitive enough that the exact f32 scale changes
            // SmolLM2's fifth token against every reference implementation.
            let dh = half::f16::from_f32(scale);
            *d = dh.to_f32();
            *s = (half::f16::from_f32(sum as f32) * dh).to_f32();
        }
        if extras.lanes {
            self.lanes.resize(m * nb * 4, 0);
            for (qs, lanes) in self.qs.chunks_exact(BLOCK).zip(self.lanes.chunks_exact_mut(4)) {
                // Lane k of a 16-byte dot product sums bytes 4k..4k+4 of each half.
                for (k, lane) in lanes.iter_mut().enumerate() {
                    let half =
                        |h: usize| qs[16 * h + 4 * k..16 * h + 4 * k + 4].iter().map(|&q| i32::from(q)).sum::<i32>();
                    *lane = -16 * (half(0) + half(1));
                }
            }
        }
        if extras.sums {
            self.sums.clear();
            self.sums.extend(self.qs.chunks_exact(BLOCK).map(|qs| -16 * qs.iter().map(|&q| i32::from(q)).sum::<i32>()));
        }
        if extras.split {
            self.pos.clear();
            self.pos.extend(self.qs.iter().map(|&q| q.max(0)));
            self.neg.clear();
            self.neg.extend(self.qs.iter().map(|&q| (-q).max(0)));
        }
    }
}

/// One activation row, quantized: values, scales, scale × sum per block (and
/// what the relaxed-SIMD kernels need besides, empty in other builds).
#[derive(Clone, Copy)]
pub(crate) struct Act<'a> {
    pub(crate) qs: &'a [i8],
    pub(crate) d: &'a [f32],
    pub(crate) s: &'a [f32],
    #[cfg_attr(not(all(feature = "relaxed-simd", target_feature = "simd128")), allow(dead_code))]
    pub(crate) lanes: &'a [i32],
    #[cfg_attr(not(all(feature = "relaxed-simd", target_feature = "simd128")), allow(dead_code))]
    pub(crate) pos: &'a [i8],
    #[cfg_attr(not(all(feature = "relaxed-simd", target_feature = "simd128")), allow(dead_code))]
    pub(crate) neg: &'a [i8],
    #[cfg_attr(not(all(feature = "relaxed-simd", target_feature = "simd128")), allow(dead_code))]
    pub(crate) sums: &'a [i32],
}
