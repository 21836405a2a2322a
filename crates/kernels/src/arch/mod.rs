//! The kernels by target: `portable` (any CPU), `avx2` (x86-64 with AVX2 and
//! FMA, checked at run time, and with AVX-VNNI's `vpdpbusd` for blocks of 32
//! where the CPU has it), `simd128` (wasm) and `relaxed` (wasm with
//! relaxed SIMD's dot product, feature `relaxed-simd`). [`by_target!`] is the one place the
//! target is chosen, for blocks of 32 here and for the K-quants.

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2;
#[cfg_attr(target_feature = "simd128", allow(dead_code))]
pub(crate) mod portable;
#[cfg(all(target_feature = "simd128", feature = "relaxed-simd"))]
pub(crate) mod relaxed;
#[cfg(target_feature = "simd128")]
pub(crate) mod simd128;

use crate::activations::Act;
use crate::blocks::Blocks;

/// The expression for this build's target: relaxed SIMD or simd128 (wasm,
/// chosen at compile time), AVX2 with FMA, with or without AVX-VNNI (x86-64,
/// detected at run time; the result is cached) or the portable loop. A
/// kernel with no AVX-VNNI form leaves out `avx_vnni`, and runs its AVX2 one.
macro_rules! by_target {
    (relaxed => $relaxed:expr, simd128 => $simd128:expr, avx2 => $avx2:expr, portable => $portable:expr $(,)?) => {
        $crate::arch::by_target!(relaxed => $relaxed, simd128 => $simd128, avx_vnni => $avx2, avx2 => $avx2, portable => $portable)
    };
    (relaxed => $relaxed:expr, simd128 => $simd128:expr, avx_vnni => $vnni:expr, avx2 => $avx2:expr, portable => $portable:expr $(,)?) => {{
        #[cfg(all(target_feature = "simd128", feature = "relaxed-simd"))]
        {
            $relaxed
        }
        #[cfg(all(target_feature = "simd128", not(feature = "relaxed-simd")))]
        {
            $simd128
        }
        #[cfg(all(target_arch = "x86_64", not(target_feature = "simd128")))]
        {
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                if std::arch::is_x86_feature_detected!("avxvnni") {
                    $vnni
                } else {
                    $avx2
                }
            } else {
                $portable
            }
        }
        #[cfg(not(any(target_arch = "x86_64", target_feature = "simd128")))]
        {
            $portable
        }
    }};
}
pub(crate) use by_target;

/// One weight row of blocks of 32 against `R` activation rows.
#[inline(always)]
pub(crate) fn dot_tile<const R: usize>(kind: Blocks, t: &[f32], w: &[u8], acts: &[Act<'_>; R]) -> [f32; R] {
    by_target!(
        // SAFETY: the caller passes whole rows: `w` holds `d.len()` blocks of
        // this kind, each `qs`, `pos` and `neg` 32 values and `lanes` 4 sums
        // per block; simd128 is enabled at compile time, and the page loads a
        // relaxed-SIMD build only where the engine validates its dot product.
        relaxed => unsafe { relaxed::dot_tile_relaxed(kind, t, w, acts) },
        // SAFETY: as above, and simd128 is enabled at compile time.
        simd128 => unsafe { simd128::dot_tile(kind, t, w, acts) },
        // SAFETY: the CPU has AVX2, FMA and AVX-VNNI (`by_target!` checked); whole rows, as above.
        avx_vnni => unsafe { avx2::dot_tile_vnni(kind, t, w, acts) },
        // SAFETY: the CPU has AVX2 and FMA (`by_target!` checked); whole rows, as above.
        avx2 => unsafe { avx2::dot_tile(kind, t, w, acts) },
        portable => portable::dot_tile(kind, t, w, acts),
    )
}
