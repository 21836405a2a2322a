//! Half floats: F16 matrices kept as f16 (candle widens them to f32 on load,
//! twice the file's size in memory), widened a row at a time for their
//! products (`vector::dot`); and the f16 KV cache's narrowing and widening.
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

/// f16 bits widened to f32 (a cache row, before several queries meet it).
pub fn widen_into(src: &[u16], out: &mut [f32]) {
    #[cfg(target_feature = "simd128")]
    {
        let n = out.len().min(src.len());
        // SAFETY: simd128 is enabled at compile time; `src` holds `n` values.
        unsafe { simd::widen(src.as_ptr(), &mut out[..n]) }
    }
    #[cfg(not(target_feature = "simd128"))]
    {
        for (o, &h) in out.iter_mut().zip(src) {
            *o = widen(h);
        }
    }
}

/// Row `bytes` (little-endian f16) widened into `out`.
pub(crate) fn widen_row(bytes: &[u8], out: &mut [f32]) {
    #[cfg(target_feature = "simd128")]
    {
        let n = out.len().min(bytes.len() / 2);
        // SAFETY: simd128 is enabled at compile time; `bytes` holds `n` f16
        // values, read without alignment.
        unsafe { simd::widen(bytes.as_ptr().cast(), &mut out[..n]) }
    }
    #[cfg(not(target_feature = "simd128"))]
    {
        let (pairs, _) = bytes.as_chunks::<2>();
        for (o, p) in out.iter_mut().zip(pairs) {
            *o = widen(u16::from_le_bytes(*p));
        }
    }
}

#[cfg(target_feature = "simd128")]
pub(crate) mod simd {
    use std::arch::wasm32::*;

    use super::REBIAS;

    /// Eight f16 values at `p` as two f32x4: each value paired with itself
    /// into a u32 lane (one unpack instruction), whose low half `widen4` drops.
    #[inline(always)]
    unsafe fn widen8(p: *const u16) -> (v128, v128) {
        let h = v128_load(p as *const v128);
        (widen4(i16x8_shuffle::<0, 0, 1, 1, 2, 2, 3, 3>(h, h)), widen4(i16x8_shuffle::<4, 4, 5, 5, 6, 6, 7, 7>(h, h)))
    }

    /// Four f16 values, one in the high half of each u32 lane (the low half
    /// is ignored), as f32 lanes. Shifted down arithmetically, the value's
    /// sign lands in f32's and its exponent and mantissa in theirs, with
    /// three copies of the sign between that the mask clears, then the
    /// exponent is rebiased by the multiply: three instructions, where
    /// moving the sign apart from the magnitude took six.
    #[inline(always)]
    pub(crate) fn widen4(high: v128) -> v128 {
        f32x4_mul(v128_and(i32x4_shr(high, 3), u32x4_splat(0x8FFF_E000)), f32x4_splat(REBIAS))
    }

    /// `out.len()` f16 values from `p` widened into `out`; `p` needs no
    /// alignment (wasm loads have none), so a GGUF's bytes serve as well as
    /// the cache's `u16`s.
    pub unsafe fn widen(p: *const u16, out: &mut [f32]) {
        let n = out.len();
        let po = out.as_mut_ptr();
        let mut i = 0;
        while i + 8 <= n {
            let (w0, w1) = widen8(p.add(i));
            v128_store(po.add(i) as *mut v128, w0);
            v128_store(po.add(i + 4) as *mut v128, w1);
            i += 8;
        }
        for (k, o) in out.iter_mut().enumerate().skip(i) {
            *o = super::widen(p.add(k).read_unaligned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_helpers_agree_with_widened_f32() {
        // 77 values: nine vectors of eight and a tail.
        let b: Vec<f32> = (0..77).map(|i| ((i * 53 % 97) as f32 - 48.0) / 7.0).collect();
        let mut h = Vec::new();
        narrow(&b, &mut h);
        let wide: Vec<f32> = h.iter().map(|&x| half::f16::from_bits(x).to_f32()).collect();
        let mut widened = vec![0f32; h.len()];
        widen_into(&h, &mut widened);
        assert_eq!(widened, wide);
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
