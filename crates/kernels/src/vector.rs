//! f32 vectors: the dot product and `out += w · v` of attention and of F16
//! weight rows, with a simd128 path for the dot product.

/// `Σ a·b`: in wasm with `SUMS` running f32x4 sums (2 or 4), natively with
/// eight scalar ones (a shape compilers vectorise). The order of the
/// additions, so the last bits of the result, depend on `SUMS`: attention
/// keeps two, the order its scores have always had (Gemma 3's first answer
/// token is a near-tie that four sums flipped), F16 weight rows take four.
#[inline(always)]
pub fn dot<const SUMS: usize>(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_feature = "simd128")]
    {
        // SAFETY: simd128 is enabled at compile time; both slices have the same length.
        unsafe { simd::dot::<SUMS>(a, b) }
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

/// `out += w · v` (a weighted value row into an attention output; the
/// compiler vectorises it).
pub fn axpy(out: &mut [f32], w: f32, v: &[f32]) {
    for (o, x) in out.iter_mut().zip(v) {
        *o += w * x;
    }
}

#[cfg(target_feature = "simd128")]
mod simd {
    use std::arch::wasm32::*;

    pub unsafe fn dot<const SUMS: usize>(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = [f32x4_splat(0.0); SUMS];
        let mut i = 0;
        while i + 4 * SUMS <= n {
            for (k, acc) in acc.iter_mut().enumerate() {
                let x = v128_load(pa.add(i + 4 * k) as *const v128);
                let y = v128_load(pb.add(i + 4 * k) as *const v128);
                *acc = f32x4_add(*acc, f32x4_mul(x, y));
            }
            i += 4 * SUMS;
        }
        // Added in pairs, then the pairs: (s0 + s1) + (s2 + s3).
        let v = acc.chunks(2).map(|p| f32x4_add(p[0], p[1])).reduce(|x, y| f32x4_add(x, y)).unwrap_or(f32x4_splat(0.0));
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
    fn dot_and_axpy_agree_with_plain_sums() {
        // 77 values: nine vectors of eight and a tail.
        let a: Vec<f32> = (0..77).map(|i| ((i * 37 % 101) as f32 - 50.0) / 13.0).collect();
        let b: Vec<f32> = (0..77).map(|i| ((i * 53 % 97) as f32 - 48.0) / 7.0).collect();
        let want: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        for got in [dot::<2>(&a, &b), dot::<4>(&a, &b)] {
            assert!((got - want).abs() <= 1e-4 * want.abs().max(1.0));
        }
        let mut out = a.clone();
        axpy(&mut out, 0.5, &b);
        for ((o, x), y) in out.iter().zip(&a).zip(&b) {
            assert!((o - (x + 0.5 * y)).abs() <= 1e-6 * (x + 0.5 * y).abs().max(1.0));
        }
    }
}
