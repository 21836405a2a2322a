//! Rows of f32 kept as GGUF blocks of 32 outside any weight matrix: the KV
//! cache once it is quantized, as llama.cpp keeps one (`--cache-type-k q8_0`,
//! `--cache-type-v q4_0`). Quantized as ggml's `quantize_row_q8_0_ref` and
//! `quantize_row_q4_0_ref` do it, widened back to f32 for attention.

use crate::activations::rounding;
use crate::blocks::BLOCK;

/// The block types a cache row may be kept in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An f16 scale, then 32 signed bytes: 34 bytes for 32 values.
    Q8_0,
    /// An f16 scale, then 32 four-bit values offset by 8, the first 16 in
    /// the low nibbles and the last 16 in the high ones: 18 bytes.
    Q4_0,
}

impl Kind {
    /// Bytes of one block of 32 values.
    pub const fn block_bytes(self) -> usize {
        match self {
            Kind::Q8_0 => 34,
            Kind::Q4_0 => 18,
        }
    }

    /// Bytes of a row of `len` values (`len` a multiple of 32).
    pub const fn row_bytes(self, len: usize) -> usize {
        len / BLOCK * self.block_bytes()
    }

    /// `x` (whole blocks of 32 values) into `out` (`row_bytes(x.len())` bytes).
    pub fn quantize_into(self, x: &[f32], out: &mut [u8]) {
        debug_assert_eq!(out.len(), self.row_bytes(x.len()));
        let blocks = x.chunks_exact(BLOCK).zip(out.chunks_exact_mut(self.block_bytes()));
        match self {
            Kind::Q8_0 => blocks.for_each(|(xs, blk)| quantize_q8_0(xs, blk)),
            Kind::Q4_0 => blocks.for_each(|(xs, blk)| quantize_q4_0(xs, blk)),
        }
    }

    /// Whole blocks back to f32, `out.len()` values.
    pub fn widen_into(self, bytes: &[u8], out: &mut [f32]) {
        debug_assert_eq!(bytes.len(), self.row_bytes(out.len()));
        let blocks = bytes.chunks_exact(self.block_bytes()).zip(out.chunks_exact_mut(BLOCK));
        match self {
            Kind::Q8_0 => blocks.for_each(|(blk, o)| {
                let d = scale(blk);
                for (o, &q) in o.iter_mut().zip(&blk[2..]) {
                    *o = f32::from(q as i8) * d;
                }
            }),
            Kind::Q4_0 => blocks.for_each(|(blk, o)| {
                let d = scale(blk);
                let (lo, hi) = o.split_at_mut(BLOCK / 2);
                for ((l, h), &q) in lo.iter_mut().zip(hi).zip(&blk[2..]) {
                    *l = (f32::from(q & 0x0f) - 8.0) * d;
                    *h = (f32::from(q >> 4) - 8.0) * d;
                }
            }),
        }
    }
}

/// Whether rows of `len` values can be kept as whole blocks.
pub const fn fits(len: usize) -> bool {
    len > 0 && len.is_multiple_of(BLOCK)
}

fn scale(blk: &[u8]) -> f32 {
    half::f16::from_le_bytes([blk[0], blk[1]]).to_f32()
}

/// The scale maps the block's value of largest magnitude to ±127, values
/// rounded half away from zero.
fn quantize_q8_0(xs: &[f32], blk: &mut [u8]) {
    let mut q = [0i8; BLOCK];
    let d = rounding::abs_max(xs) / 127.0;
    let inv = if d != 0.0 { 1.0 / d } else { 0.0 };
    rounding::round_scaled(xs, inv, -127.0, &mut q);
    blk[..2].copy_from_slice(&half::f16::from_f32(d).to_le_bytes());
    for (o, &v) in blk[2..].iter_mut().zip(&q) {
        *o = v as u8;
    }
}

/// The scale maps the block's value of largest magnitude (with its sign) to
/// -8, the one end of the four bits that has no mirror; the others are
/// truncated after adding 8.5, so rounded half up, and capped at 15.
fn quantize_q4_0(xs: &[f32], blk: &mut [u8]) {
    let max = xs.iter().fold(0f32, |m, &v| if v.abs() > m.abs() { v } else { m });
    let d = max / -8.0;
    let inv = if d != 0.0 { 1.0 / d } else { 0.0 };
    blk[..2].copy_from_slice(&half::f16::from_f32(d).to_le_bytes());
    let nibble = |v: f32| ((v * inv + 8.5) as i8).clamp(0, 15) as u8;
    let (lo, hi) = xs.split_at(BLOCK / 2);
    for ((o, &l), &h) in blk[2..].iter_mut().zip(lo).zip(hi) {
        *o = nibble(l) | nibble(h) << 4;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::noise;

    /// Within half a step of each block's scale (past Q4_0's range, of its
    /// end; a Q4_0 block's largest value exactly, where its scale is exact),
    /// and the same bytes as candle's (ggml's) quantizers.
    #[test]
    fn rows_come_back_within_half_a_step_as_ggml_quantizes_them() {
        let mut x: Vec<f32> = noise(256, 3).iter().map(|v| v * 7.0).collect();
        // A block whose largest magnitude is positive, another's negative.
        x[5] = 20.0;
        x[40] = -20.0;
        for (kind, dtype) in [
            (Kind::Q8_0, candle_core::quantized::GgmlDType::Q8_0),
            (Kind::Q4_0, candle_core::quantized::GgmlDType::Q4_0),
        ] {
            let mut bytes = vec![0u8; kind.row_bytes(x.len())];
            kind.quantize_into(&x, &mut bytes);
            let mut back = vec![0f32; x.len()];
            kind.widen_into(&bytes, &mut back);
            for (xs, (ys, blk)) in x.chunks(BLOCK).zip(back.chunks(BLOCK).zip(bytes.chunks(kind.block_bytes()))) {
                let d = scale(blk);
                // Q4_0 reaches -8 steps but only +7: values past +7 steps are capped there.
                let (lo, hi) = match kind {
                    Kind::Q8_0 => (f32::MIN, f32::MAX),
                    Kind::Q4_0 => ((-8.0 * d).min(7.0 * d), (-8.0 * d).max(7.0 * d)),
                };
                for (a, b) in xs.iter().zip(ys) {
                    let within = (a.clamp(lo, hi) - b).abs() <= 0.5 * d.abs() + 1e-3 * a.abs();
                    assert!(within, "{kind:?}: {a} vs {b} (step {d})");
                }
            }
            if kind == Kind::Q4_0 {
                // Its scale (±2.5) is exact in f16, so the block's largest value is too.
                assert_eq!((back[5], back[40]), (20.0, -20.0));
            }
            let t = candle_core::Tensor::from_slice(&x, (1, x.len()), &candle_core::Device::Cpu).unwrap();
            let q = candle_core::quantized::QTensor::quantize(&t, dtype).unwrap();
            assert_eq!(q.data().unwrap().as_ref(), &bytes[..], "{kind:?}");
            // A block of zeros comes back zeros (no division by a zero scale).
            let mut zeros = vec![1u8; kind.block_bytes()];
            kind.quantize_into(&[0.0; BLOCK], &mut zeros);
            let mut out = [1f32; BLOCK];
            kind.widen_into(&zeros, &mut out);
            assert!(out.iter().all(|&v| v == 0.0), "{kind:?}");
        }
    }
}
