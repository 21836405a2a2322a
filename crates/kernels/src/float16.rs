//! Half floats: F16 matrices kept as f16 (candle widens them to f32 on load,
//! twice the file's size in memory), multiplied by f32 activations; and the
//! f16 KV cache's narrowing, dot product and weighted sum.
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

/// f32 values rounded to f16 bits (nearest, ties to even), appended to `out`.
pub fn narrow(src: &[f32], out: &mut Vec<u16>) {
    out.extend(src.iter().map(|&v| half::f16::from_f32(v).to_bits()));
}

/// f32 values rounded to f16 bits, written over `out` (as long as `src`).
pub fn narrow_into(src: &[f32], out: &mut [u16]) {
    for (o, &v) in out.iter_mut().zip(src) {
        *o = half::f16::from_f32(v).to_bits();
    }
}

/// `Σ a·widen(b)` over f16 bits `b`.
pub fn dot_f16(a: &[f32], b: &[u16]) -> f32 {
    #[cfg(target_feature = "simd128")]
    {
        // SAFETY: simd128 is enabled at compile time; the loops stay within both slices.
        unsafe { simd::dot_f16(a, b) }
    }
    #[cfg(not(target_feature = "simd128"))]
    {
        let (ac, ar) = a.as_chunks::<8>();
        let (bc, br) = b.as_chunks::<8>();
        let mut acc = [0f32; 8];
        for (x, y) in ac.iter().zip(bc) {
            for k in 0..8 {
                acc[k] += x[k] * widen(y[k]);
            }
        }
        let tail: f32 = ar.iter().zip(br).map(|(x, y)| x * widen(*y)).sum();
        acc.iter().sum::<f32>() + tail
    }
}

/// `out += w · widen(v)` over f16 bits `v`.
pub fn axpy_f16(out: &mut [f32], w: f32, v: &[u16]) {
    #[cfg(target_feature = "simd128")]
    {
        // SAFETY: simd128 is enabled at compile time; the loops stay within both slices.
        unsafe { simd::axpy_f16(out, w, v) }
    }
    #[cfg(not(target_feature = "simd128"))]
    {
        for (o, h) in out.iter_mut().zip(v) {
            *o += w * widen(*h);
        }
    }
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

    /// Eight f16 values at `p` as two f32x4.
    #[inline(always)]
    unsafe fn widen8(p: *const u16) -> (v128, v128) {
        let h = v128_load(p as *const v128);
        let (mag_mask, sign_mask) = (u32x4_splat(0x7FFF), u32x4_splat(0x8000));
        let rebias = f32x4_splat(REBIAS);
        let one = |wide: v128| {
            let magnitude = f32x4_mul(u32x4_shl(v128_and(wide, mag_mask), 13), rebias);
            v128_or(magnitude, u32x4_shl(v128_and(wide, sign_mask), 16))
        };
        (one(u32x4_extend_low_u16x8(h)), one(u32x4_extend_high_u16x8(h)))
    }

    pub unsafe fn dot_f16(a: &[f32], b: &[u16]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let (mut s0, mut s1) = (f32x4_splat(0.0), f32x4_splat(0.0));
        let mut i = 0;
        while i + 8 <= n {
            let (w0, w1) = widen8(pb.add(i));
            s0 = f32x4_add(s0, f32x4_mul(v128_load(pa.add(i) as *const v128), w0));
            s1 = f32x4_add(s1, f32x4_mul(v128_load(pa.add(i + 4) as *const v128), w1));
            i += 8;
        }
        let v = f32x4_add(s0, s1);
        let mut sum = f32x4_extract_lane::<0>(v)
            + f32x4_extract_lane::<1>(v)
            + f32x4_extract_lane::<2>(v)
            + f32x4_extract_lane::<3>(v);
        for k in i..n {
            sum += a[k] * widen(b[k]);
        }
        sum
    }

    pub unsafe fn axpy_f16(out: &mut [f32], w: f32, v: &[u16]) {
        let n = out.len().min(v.len());
        let (po, pv) = (out.as_mut_ptr(), v.as_ptr());
        let ws = f32x4_splat(w);
        let mut i = 0;
        while i + 8 <= n {
            let (v0, v1) = widen8(pv.add(i));
            let o0 = po.add(i) as *mut v128;
            let o1 = po.add(i + 4) as *mut v128;
            v128_store(o0, f32x4_add(v128_load(o0), f32x4_mul(ws, v0)));
            v128_store(o1, f32x4_add(v128_load(o1), f32x4_mul(ws, v1)));
            i += 8;
        }
        for k in i..n {
            out[k] += w * widen(v[k]);
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
    fn cache_helpers_agree_with_widened_f32() {
        // 77 values: nine vectors of eight and a tail.
        let a: Vec<f32> = (0..77).map(|i| ((i * 37 % 101) as f32 - 50.0) / 13.0).collect();
        let b: Vec<f32> = (0..77).map(|i| ((i * 53 % 97) as f32 - 48.0) / 7.0).collect();
        let mut h = Vec::new();
        narrow(&b, &mut h);
        let wide: Vec<f32> = h.iter().map(|&x| half::f16::from_bits(x).to_f32()).collect();
        let want: f32 = a.iter().zip(&wide).map(|(x, y)| x * y).sum();
        assert!((dot_f16(&a, &h) - want).abs() <= 1e-4 * want.abs().max(1.0));
        let mut out = a.clone();
        axpy_f16(&mut out, 0.5, &h);
        for ((o, x), y) in out.iter().zip(&a).zip(&wide) {
            assert!((o - (x + 0.5 * y)).abs() <= 1e-6 * (x + 0.5 * y).abs().max(1.0));
        }
    }

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
