//! F16 matrices kept as f16 (candle widens them to f32 on load, twice the
//! file's size in memory), multiplied by f32 activations.
//!
//! Each weight row is widened once per product into a scratch row, then met
//! by every activation row. The widening is a bit move and one multiply
//! (`bits(|h|) << 13` is the value scaled by 2^-112, subnormals included),
//! which vectorises where a table lookup would not. Infinities and NaNs are
//! not weights and are not kept as such.

/// 2^112: undoes the exponent bias difference between f16 (15) and f32 (127).
const REBIAS: f32 = f32::from_bits((127 + 112) << 23);

#[inline(always)]
fn widen(h: u16) -> f32 {
    let sign = u32::from(h & 0x8000) << 16;
    let magnitude = f32::from_bits(u32::from(h & 0x7FFF) << 13) * REBIAS;
    f32::from_bits(magnitude.to_bits() | sign)
}

/// Row `bytes` (little-endian f16) widened into `out`.
pub(crate) fn widen_row(bytes: &[u8], out: &mut [f32]) {
    #[cfg(target_feature = "simd128")]
    {
        // SAFETY: simd128 is enabled at compile time; the loop stays within both slices.
        unsafe { simd::widen_row(bytes, out) }
    }
    #[cfg(not(target_feature = "simd128"))]
    {
        let (pairs, _) = bytes.as_chunks::<2>();
        for (o, p) in out.iter_mut().zip(pairs) {
            *o = widen(u16::from_le_bytes(*p));
        }
    }
}

/// `Σ a·b` with eight running sums (a shape compilers vectorise).
#[inline(always)]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_feature = "simd128")]
    {
        // SAFETY: simd128 is enabled at compile time; both slices have the same length.
        unsafe { simd::dot(a, b) }
    }
    #[cfg(not(target_feature = "simd128"))]
    {
        let (ac, ar) = a.as_chunks::<8>();
        let (bc, br) = b.as_chunks::<8>();
        let mut acc = [0f32; 8];
        for (x, y) in ac.iter().zip(bc) {
            for k in 0..8 {
                acc[k] += x[k] * y[k];
            }
        }
        let tail: f32 = ar.iter().zip(br).map(|(x, y)| x * y).sum();
        acc.iter().sum::<f32>() + tail
    }
}

#[cfg(target_feature = "simd128")]
mod simd {
    use std::arch::wasm32::*;

    use super::{widen, REBIAS};

    pub unsafe fn widen_row(bytes: &[u8], out: &mut [f32]) {
        let n = out.len().min(bytes.len() / 2);
        let (mag_mask, sign_mask) = (u32x4_splat(0x7FFF), u32x4_splat(0x8000));
        let rebias = f32x4_splat(REBIAS);
        let mut i = 0;
        while i + 8 <= n {
            let h = v128_load(bytes.as_ptr().add(2 * i) as *const v128);
            for (half, wide) in [(0, u32x4_extend_low_u16x8(h)), (4, u32x4_extend_high_u16x8(h))] {
                let magnitude = f32x4_mul(u32x4_shl(v128_and(wide, mag_mask), 13), rebias);
                let sign = u32x4_shl(v128_and(wide, sign_mask), 16);
                v128_store(out.as_mut_ptr().add(i + half) as *mut v128, v128_or(magnitude, sign));
            }
            i += 8;
        }
        for k in i..n {
            out[k] = widen(u16::from_le_bytes([bytes[2 * k], bytes[2 * k + 1]]));
        }
    }

    pub unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = [f32x4_splat(0.0); 4];
        let mut i = 0;
        while i + 16 <= n {
            for (k, acc) in acc.iter_mut().enumerate() {
                let x = v128_load(pa.add(i + 4 * k) as *const v128);
                let y = v128_load(pb.add(i + 4 * k) as *const v128);
                *acc = f32x4_add(*acc, f32x4_mul(x, y));
            }
            i += 16;
        }
        let v = f32x4_add(f32x4_add(acc[0], acc[1]), f32x4_add(acc[2], acc[3]));
        let mut sum = f32x4_extract_lane::<0>(v)
            + f32x4_extract_lane::<1>(v)
            + f32x4_extract_lane::<2>(v)
            + f32x4_extract_lane::<3>(v);
        for k in i..n {
            sum += a[k] * b[k];
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widening_is_exact_for_every_finite_f16() {
        let bytes: Vec<u8> = (0..=u16::MAX).flat_map(u16::to_le_bytes).collect();
        let mut out = vec![0f32; 1 << 16];
        widen_row(&bytes, &mut out);
        for (h, w) in (0..=u16::MAX).zip(&out) {
            let want = half::f16::from_bits(h);
            if want.is_finite() {
                assert_eq!(w.to_bits(), want.to_f32().to_bits(), "{h:#06x}");
            }
        }
    }
}
