//! The kernels by target: `portable` (any CPU), `avx2` (x86-64 with AVX2 and
//! FMA, checked at run time, and with AVX-VNNI's `vpdpbusd` for blocks of 32
//! where the CPU has it; a prompt's K-quant tiles with AVX-512's VNNI where
//! it has that), `simd128` (wasm) and `relaxed` (wasm with
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
/// chosen at compile time), or on x86-64 (detected at run time; the result
/// is cached) AVX-512 with VNNI, AVX2 with FMA and AVX-VNNI, AVX2 with FMA,
/// or the portable loop. A kernel with no AVX-512 or AVX-VNNI form leaves
/// that arm out and runs the next one the CPU has. The checks are separate
/// because a CPU may have either VNNI without the other (Ice Lake's servers
/// have AVX-512's and no AVX-VNNI).
macro_rules! by_target {
    (
        relaxed => $relaxed:expr,
        simd128 => $simd128:expr,
        $(avx512_vnni => $avx512:expr,)?
        $(avx_vnni => $vnni:expr,)?
        avx2 => $avx2:expr,
        portable => $portable:expr $(,)?
    ) => {{
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
                $(if $crate::arch::has_avx512_vnni() {
                    $avx512
                } else)? $(if std::arch::is_x86_feature_detected!("avxvnni") {
                    $vnni
                } else)? {
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

/// Whether the CPU has what the AVX-512 kernels use: 512-bit byte and word
/// operations (`avx512bw`) and VNNI's dot products (`avx512vnni`).
#[cfg(target_arch = "x86_64")]
pub(crate) fn has_avx512_vnni() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512vnni")
}

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
