//! f32 vectors: the dot product and `out += w · v` of attention and of F16
//! weight rows, and attention's weighted sum of a run of value rows, with
//! simd128 paths for the dot product and the sum.

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

/// `out += Σ_j weights[j] · rows[j]`, the rows `out.len()` values each,
/// end to end in `rows`: what `axpy` once per row gives, in the same order
/// of additions (so the same bits), with `out` held in registers across
/// the rows instead of loaded and stored for each.
#[inline]
pub fn mix(out: &mut [f32], weights: &[f32], rows: &[f32]) {
    assert!(rows.len() >= weights.len() * out.len(), "{} rows of {} values", weights.len(), out.len());
    #[cfg(target_feature = "simd128")]
    {
        // SAFETY: simd128 is enabled at compile time; `rows` holds
        // `weights.len()` rows of `out.len()` values (asserted above).
        unsafe { simd::mix(out, weights, rows) }
    }
    #[cfg(not(target_feature = "simd128"))]
    for (w, row) in weights.iter().zip(rows.chunks_exact(out.len())) {
        axpy(out, *w, row);
    }
}

#[cfg(target_feature = "simd128")]
mod simd {
    use std::arch::wasm32::*;

    pub unsafe fn mix(out: &mut [f32], weights: &[f32], rows: &[f32]) {
        let len = out.len();
        let (po, pr) = (out.as_mut_ptr(), rows.as_ptr());
        let mut c = 0;
        // Sixteen values (four vectors) of `out` at a time, then four, then one.
        while c + 16 <= len {
            let mut acc: [v128; 4] = std::array::from_fn(|k| v128_load(po.add(c + 4 * k) as *const v128));
            for (j, &w) in weights.iter().enumerate() {
                let (w, r) = (f32x4_splat(w), pr.add(j * len + c));
                for (k, acc) in acc.iter_mut().enumerate() {
                    *acc = f32x4_add(*acc, f32x4_mul(w, v128_load(r.add(4 * k) as *const v128)));
                }
            }
            for (k, acc) in acc.iter().enumerate() {
                v128_store(po.add(c + 4 * k) as *mut v128, *acc);
            }
            c += 16;
        }
        while c + 4 <= len {
            let mut acc = v128_load(po.add(c) as *const v128);
            for (j, &w) in weights.iter().enumerate() {
                acc = f32x4_add(acc, f32x4_mul(f32x4_splat(w), v128_load(pr.add(j * len + c) as *const v128)));
            }
            v128_store(po.add(c) as *mut v128, acc);
            c += 4;
        }
        for c in c..len {
            for (j, &w) in weights.iter().enumerate() {
                out[c] += w * rows[j * len + c];
            }
        }
    }

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
        assert_eq!(out, {
            let mut m = a.clone();
            mix(&mut m, &[0.5], &b);
            m
        });
        for ((o, x), y) in out.iter().zip(&a).zip(&b) {
            assert!((o - (x + 0.5 * y)).abs() <= 1e-6 * (x + 0.5 * y).abs().max(1.0));
        }
    }

    #[test]
    fn mix_is_axpy_row_by_row_to_the_bit() {
        // Rows of 64 (a head), 37 (every path: sixteens, fours, a tail) and 3.
        for len in [64, 37, 3] {
            let n = 11;
            let rows: Vec<f32> = (0..n * len).map(|i| ((i * 53 % 97) as f32 - 48.0) / 7.0).collect();
            let weights: Vec<f32> = (0..n).map(|j| ((j * 29 % 13) as f32 - 6.0) / 11.0).collect();
            let start: Vec<f32> = (0..len).map(|i| ((i * 37 % 101) as f32 - 50.0) / 13.0).collect();
            let mut want = start.clone();
            for (w, row) in weights.iter().zip(rows.chunks_exact(len)) {
                axpy(&mut want, *w, row);
            }
            let mut got = start.clone();
            mix(&mut got, &weights, &rows);
            assert_eq!(
                got.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                want.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                "rows of {len}"
            );
        }
    }
}
