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

/// Activation rows a thread takes at a time when a prompt's rows are
/// quantized across the team: a few, so that the threads finish together.
pub(crate) const ROWS_PER_TASK: usize = 4;

/// Some rows of `Activations`, to be filled from their rows of `x`.
struct Rows<'a> {
    x: &'a [f32],
    qs: &'a mut [i8],
    d: &'a mut [f32],
    s: &'a mut [f32],
    lanes: &'a mut [i32],
    sums: &'a mut [i32],
    pos: &'a mut [i8],
    neg: &'a mut [i8],
}

impl Rows<'_> {
    fn fill(&mut self) {
        for ((xs, qs), (d, s)) in self
            .x
            .chunks_exact(BLOCK)
            .zip(self.qs.chunks_exact_mut(BLOCK))
            .zip(self.d.iter_mut().zip(self.s.iter_mut()))
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
        for (qs, lanes) in self.qs.chunks_exact(BLOCK).zip(self.lanes.chunks_exact_mut(4)) {
            // Lane k of a 16-byte dot product sums bytes 4k..4k+4 of each half.
            for (k, lane) in lanes.iter_mut().enumerate() {
                let half = |h: usize| qs[16 * h + 4 * k..16 * h + 4 * k + 4].iter().map(|&q| i32::from(q)).sum::<i32>();
                *lane = -16 * (half(0) + half(1));
            }
        }
        for (qs, sum) in self.qs.chunks_exact(BLOCK).zip(self.sums.iter_mut()) {
            *sum = -16 * qs.iter().map(|&q| i32::from(q)).sum::<i32>();
        }
        for ((&q, pos), neg) in self.qs.iter().zip(self.pos.iter_mut()).zip(self.neg.iter_mut()) {
            (*pos, *neg) = (q.max(0), (-q).max(0));
        }
    }
}

impl Activations {
    /// The `m` rows of `x` (`cols` values each), with the `extras` the
    /// products read (the rest left empty). A prompt's rows are shared out
    /// among the threads; each row's arithmetic is the same on any of them.
    pub(crate) fn quantize(&mut self, x: &[f32], m: usize, cols: usize, extras: Extras) {
        let nb = cols / BLOCK;
        self.qs.resize(m * cols, 0);
        self.d.resize(m * nb, 0.0);
        self.s.resize(m * nb, 0.0);
        self.lanes.resize(if extras.lanes { m * nb * 4 } else { 0 }, 0);
        self.sums.resize(if extras.sums { m * nb } else { 0 }, 0);
        self.pos.resize(if extras.split { m * cols } else { 0 }, 0);
        self.neg.resize(if extras.split { m * cols } else { 0 }, 0);
        let (values, blocks) = (ROWS_PER_TASK * cols, ROWS_PER_TASK * nb);
        // An extra no product reads yields no parts: those rows take it empty.
        let (mut qs, mut d, mut s) = (self.qs.chunks_mut(values), self.d.chunks_mut(blocks), self.s.chunks_mut(blocks));
        let (mut lanes, mut sums) = (self.lanes.chunks_mut(4 * blocks), self.sums.chunks_mut(blocks));
        let (mut pos, mut neg) = (self.pos.chunks_mut(values), self.neg.chunks_mut(values));
        let x = &x[..m * cols];
        let rows = x.chunks(values).map(|x| Rows {
            x,
            qs: qs.next().unwrap_or_default(),
            d: d.next().unwrap_or_default(),
            s: s.next().unwrap_or_default(),
            lanes: lanes.next().unwrap_or_default(),
            sums: sums.next().unwrap_or_default(),
            pos: pos.next().unwrap_or_default(),
            neg: neg.next().unwrap_or_default(),
        });
        crate::parallel::each_mut(rows, 4 * x.len(), Rows::fill);
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

#[cfg(test)]
mod tests {
    use super::{Activations, Extras};

    /// Row `i` of `v` (`n` a row), or nothing where `v` is empty.
    fn row_of<T>(v: &[T], i: usize, n: usize) -> &[T] {
        v.get(i * n..(i + 1) * n).unwrap_or(&[])
    }

    /// A prompt's rows quantized at once (in parts, across threads in a
    /// build with `parallel`) are each row quantized alone, every array the
    /// kernels read included; a row count that is not a multiple of the
    /// parts' rows leaves a short last part.
    #[test]
    fn rows_quantized_together_are_each_row_quantized_alone() {
        let cols = 512;
        for m in [1, 4, 37] {
            let x: Vec<f32> = crate::testing::noise(m * cols, m as u64).iter().map(|v| v * 3.0).collect();
            let mut all = Activations::default();
            all.quantize(&x, m, cols, Extras::ALL);
            all.k.quantize(&x, m, cols);
            assert!(4 * x.len() >= crate::parallel::MIN_WORK || m < 37, "37 rows are worth sharing out");
            for (i, row) in x.chunks_exact(cols).enumerate() {
                let mut one = Activations::default();
                one.quantize(row, 1, cols, Extras::ALL);
                one.k.quantize(row, 1, cols);
                let nb = cols / crate::blocks::BLOCK;
                assert_eq!(one.qs, row_of(&all.qs, i, cols), "row {i} of {m}");
                assert_eq!(one.d, row_of(&all.d, i, nb), "row {i} of {m}");
                assert_eq!(one.s, row_of(&all.s, i, nb), "row {i} of {m}");
                // Empty in builds whose kernels do not read them.
                assert_eq!(one.lanes, row_of(&all.lanes, i, 4 * nb), "row {i} of {m}");
                assert_eq!(one.sums, row_of(&all.sums, i, nb), "row {i} of {m}");
                assert_eq!(one.pos, row_of(&all.pos, i, cols), "row {i} of {m}");
                assert_eq!(one.neg, row_of(&all.neg, i, cols), "row {i} of {m}");
                let (k, k1) = (all.k.row(i, cols), one.k.row(0, cols));
                assert_eq!((k.qs, k.d, k.bsums), (k1.qs, k1.d, k1.bsums), "row {i} of {m}, Q8_K");
            }
        }
    }
}
