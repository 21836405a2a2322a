//! Rows of f32 kept as Q8_0 blocks (an f16 scale, then 32 signed bytes)
//! outside any weight matrix: the 8-bit KV cache, as llama.cpp keeps one
//! (`--cache-type-k q8_0 --cache-type-v q8_0`). Quantized as ggml's
//! `quantize_row_q8_0_ref` does it, widened back to f32 for attention.

use crate::activations::rounding;
use crate::blocks::BLOCK;

/// Bytes of one block of 32 values.
pub const BLOCK_BYTES: usize = 34;

/// Bytes of a row of `len` values (`len` a multiple of 32).
pub const fn row_bytes(len: usize) -> usize {
    len / BLOCK * BLOCK_BYTES
}

/// Whether rows of `len` values can be kept as whole blocks.
pub const fn fits(len: usize) -> bool {
    len > 0 && len.is_multiple_of(BLOCK)
}

/// `x` (whole blocks of 32 values) into `out` (`row_bytes(x.len())` bytes):
/// each block's scale maps its value of largest magnitude to ±127, values
/// rounded half away from zero.
pub fn quantize_into(x: &[f32], out: &mut [u8]) {
    debug_assert_eq!(out.len(), row_bytes(x.len()));
    let mut q = [0i8; BLOCK];
    for (xs, blk) in x.chunks_exact(BLOCK).zip(out.chunks_exact_mut(BLOCK_BYTES)) {
        let d = rounding::abs_max(xs) / 127.0;
        let inv = if d != 0.0 { 1.0 / d } else { 0.0 };
        rounding::round_scaled(xs, inv, -127.0, &mut q);
        blk[..2].copy_from_slice(&half::f16::from_f32(d).to_le_bytes());
        for (o, &v) in blk[2..].iter_mut().zip(&q) {
            *o = v as u8;
        }
    }
}

/// Whole Q8_0 blocks back to f32, `out.len()` values.
pub fn widen_into(bytes: &[u8], out: &mut [f32]) {
    debug_assert_eq!(bytes.len(), row_bytes(out.len()));
    for (blk, o) in bytes.chunks_exact(BLOCK_BYTES).zip(out.chunks_exact_mut(BLOCK)) {
        let d = half::f16::from_le_bytes([blk[0], blk[1]]).to_f32();
        for (o, &q) in o.iter_mut().zip(&blk[2..]) {
            *o = f32::from(q as i8) * d;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::noise;

    /// Within half a step of each block's scale, and the same bytes as
    /// candle's (ggml's) Q8_0 quantizer.
    #[test]
    fn rows_come_back_within_half_a_step() {
        let x: Vec<f32> = noise(256, 3).iter().map(|v| v * 7.0).collect();
        let mut bytes = vec![0u8; row_bytes(x.len())];
        quantize_into(&x, &mut bytes);
        let mut back = vec![0f32; x.len()];
        widen_into(&bytes, &mut back);
        for (xs, (ys, blk)) in x.chunks(BLOCK).zip(back.chunks(BLOCK).zip(bytes.chunks(BLOCK_BYTES))) {
            let d = half::f16::from_le_bytes([blk[0], blk[1]]).to_f32();
            for (a, b) in xs.iter().zip(ys) {
                assert!((a - b).abs() <= 0.5 * d + 1e-3 * a.abs(), "{a} vs {b} (step {d})");
            }
        }
        let t = candle_core::Tensor::from_slice(&x, (1, x.len()), &candle_core::Device::Cpu).unwrap();
        let q = candle_core::quantized::QTensor::quantize(&t, candle_core::quantized::GgmlDType::Q8_0).unwrap();
        assert_eq!(q.data().unwrap().as_ref(), &bytes[..]);
        // A block of zeros stays zeros (no division by a zero scale).
        let mut zeros = vec![1u8; BLOCK_BYTES];
        quantize_into(&[0.0; BLOCK], &mut zeros);
        assert!(zeros.iter().all(|&b| b == 0));
    }
}
