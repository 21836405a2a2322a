//! The two steps every activation quantizer here takes on a run of floats:
//! its largest magnitude, then each value scaled, rounded half away from zero
//! (as C's `roundf`, what ggml's reference quantizers use) and clamped to a
//! signed byte. They run once per product on every input row, as often as the
//! kernels themselves in a token; in wasm, scalar, they stood out in a
//! prompt's profile (`PROFILE=…` in `scripts/wasi-chromium.mjs`), so they
//! have a simd128 path that gives the same bytes.

/// The largest `|x|` of `xs` (0 for an empty run; NaNs are passed over).
pub(crate) fn abs_max(xs: &[f32]) -> f32 {
    #[cfg(target_feature = "simd128")]
    {
        simd::abs_max(xs)
    }
    #[cfg(not(target_feature = "simd128"))]
    {
        xs.iter().fold(0f32, |a, &v| a.max(v.abs()))
    }
}

/// `qs[i] = clamp(round(xs[i] · mul), lo, 127)`, and the sum of the `qs`.
pub(crate) fn round_scaled(xs: &[f32], mul: f32, lo: f32, qs: &mut [i8]) -> i32 {
    debug_assert_eq!(xs.len(), qs.len());
    #[cfg(target_feature = "simd128")]
    {
        simd::round_scaled(xs, mul, lo, qs)
    }
    #[cfg(not(target_feature = "simd128"))]
    {
        portable_round_scaled(xs, mul, lo, qs)
    }
}

#[cfg_attr(target_feature = "simd128", allow(dead_code))]
fn portable_round_scaled(xs: &[f32], mul: f32, lo: f32, qs: &mut [i8]) -> i32 {
    let mut sum = 0;
    for (q, &v) in qs.iter_mut().zip(xs) {
        *q = (v * mul).round().clamp(lo, 127.0) as i8;
        sum += i32::from(*q);
    }
    sum
}

#[cfg(target_feature = "simd128")]
mod simd {
    use std::arch::wasm32::*;

    pub(super) fn abs_max(xs: &[f32]) -> f32 {
        let mut chunks = xs.chunks_exact(4);
        let mut m = f32x4_splat(0.0);
        for c in &mut chunks {
            // SAFETY: `c` holds four f32 (16 bytes); wasm loads need no alignment.
            let v = unsafe { v128_load(c.as_ptr() as *const v128) };
            // pmax keeps the first operand unless the second is greater: a NaN never wins.
            m = f32x4_pmax(m, f32x4_abs(v));
        }
        let lanes = [
            f32x4_extract_lane::<0>(m),
            f32x4_extract_lane::<1>(m),
            f32x4_extract_lane::<2>(m),
            f32x4_extract_lane::<3>(m),
        ];
        lanes.into_iter().chain(chunks.remainder().iter().map(|v| v.abs())).fold(0f32, f32::max)
    }

    pub(super) fn round_scaled(xs: &[f32], mul: f32, lo: f32, qs: &mut [i8]) -> i32 {
        let (mulv, lov, hiv) = (f32x4_splat(mul), f32x4_splat(lo), f32x4_splat(127.0));
        let (half, one, sign) = (f32x4_splat(0.5), f32x4_splat(1.0), f32x4_splat(-0.0));
        let round = |v: v128| {
            let v = f32x4_mul(v, mulv);
            // Half away from zero, exactly: v − trunc(v) is exact in f32, and a
            // magnitude of at least ½ steps one away from zero.
            let t = f32x4_trunc(v);
            let step = v128_and(f32x4_ge(f32x4_abs(f32x4_sub(v, t)), half), v128_or(one, v128_and(v, sign)));
            // pmax/pmin keep their first operand unless the second beats it, so a
            // NaN stays NaN and converts to 0, as the scalar cast does.
            let r = f32x4_pmin(f32x4_pmax(f32x4_add(t, step), lov), hiv);
            i32x4_trunc_sat_f32x4(r)
        };
        let mut sum = i32x4_splat(0);
        let mut out = qs.chunks_exact_mut(16);
        let mut ins = xs.chunks_exact(16);
        for (o, c) in (&mut out).zip(&mut ins) {
            // SAFETY: `c` holds sixteen f32 and `o` sixteen bytes; wasm loads
            // and stores need no alignment.
            unsafe {
                let p = c.as_ptr() as *const v128;
                let q = [
                    round(v128_load(p)),
                    round(v128_load(p.add(1))),
                    round(v128_load(p.add(2))),
                    round(v128_load(p.add(3))),
                ];
                sum = i32x4_add(sum, i32x4_add(i32x4_add(q[0], q[1]), i32x4_add(q[2], q[3])));
                // Within −128..=127 already, so the saturating narrowings are exact.
                let bytes = i8x16_narrow_i16x8(i16x8_narrow_i32x4(q[0], q[1]), i16x8_narrow_i32x4(q[2], q[3]));
                v128_store(o.as_mut_ptr() as *mut v128, bytes);
            }
        }
        let total = i32x4_extract_lane::<0>(sum)
            + i32x4_extract_lane::<1>(sum)
            + i32x4_extract_lane::<2>(sum)
            + i32x4_extract_lane::<3>(sum);
        total + super::portable_round_scaled(ins.remainder(), mul, lo, out.into_remainder())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values at and around every rounding edge, and beyond the clamps.
    fn edges() -> Vec<f32> {
        let mut xs = Vec::new();
        for k in -130..=130 {
            let k = k as f32;
            for d in [0.0, 0.25, 0.5, 0.75] {
                let v = k + d;
                xs.extend([v, f32::from_bits(v.to_bits() + 1), f32::from_bits(v.to_bits().saturating_sub(1)), -v]);
            }
        }
        xs.extend([f32::MAX, f32::MIN, f32::INFINITY, f32::NEG_INFINITY, -0.0, 1e-30, f32::NAN]);
        xs
    }

    #[test]
    fn rounding_is_roundf_clamped() {
        let xs = edges();
        for lo in [-127.0, -128.0] {
            for len in [xs.len(), 16, 17, 5] {
                let xs = &xs[..len];
                let mut qs = vec![0i8; len];
                let sum = round_scaled(xs, 1.0, lo, &mut qs);
                let want: Vec<i8> = xs.iter().map(|&v| v.round().clamp(lo, 127.0) as i8).collect();
                assert_eq!(qs, want, "lo {lo}, {len} values");
                assert_eq!(sum, want.iter().map(|&q| i32::from(q)).sum::<i32>());
            }
        }
    }

    #[test]
    fn abs_max_passes_over_nans() {
        let mut xs = edges()[..40].to_vec();
        assert!(xs.iter().all(|v| !v.is_nan()));
        let want = xs.iter().fold(0f32, |a, &v| a.max(v.abs()));
        xs.insert(3, f32::NAN);
        xs.push(f32::NAN);
        assert_eq!(abs_max(&xs), want);
        assert_eq!(abs_max(&[]), 0.0);
        assert_eq!(abs_max(&[-3.0, 2.0, 1.0]), 3.0);
    }
}
