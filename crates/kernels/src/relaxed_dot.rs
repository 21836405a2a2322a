//! Relaxed SIMD has two 8-bit dot products, and which is faster depends on
//! the CPU, not on the model: this module holds the kernels' choice, and
//! times both to make it.
//!
//! `i32x4.relaxed_dot_i8x16_i7x16_add_s` is one instruction where the CPU has
//! AVX-VNNI (`vpdpbusd`) or Arm's dot product, but five on x86 without it:
//! V8 emits `pmaddubsw`, builds a vector of ones, widens with `pmaddwd` and
//! adds. `i16x8.relaxed_dot_i8x16_i7x16_s` is the `pmaddubsw` alone; a
//! block's pairs are summed in i16 and widened once. Without AVX-VNNI the
//! second runs the kernels faster; with it, the first is the one
//! instruction (the README's speed notes have the figures). Both give the same integer sums, so the
//! products are the same bit for bit whichever runs: the choice can be made
//! by timing, on the machine that runs the model.

use std::sync::atomic::{AtomicBool, Ordering};

use candle_core::quantized::GgmlDType;

use crate::activations::{Activations, Extras, RELAXED};
use crate::{Holding, Weight};

/// How the relaxed-SIMD kernels sum their 8-bit products.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DotSums {
    /// In i32 lanes, `i32x4.relaxed_dot_i8x16_i7x16_add_s` for every 16 bytes.
    I32,
    /// In i16 lanes, `i16x8.relaxed_dot_i8x16_i7x16_s`, widened once a block.
    I16,
}

/// What `choose` measured: the fastest of its timings of each, in
/// milliseconds, and the one it chose.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Choice {
    pub sums: DotSums,
    pub i32_ms: f64,
    pub i16_ms: f64,
}

/// I32 until chosen otherwise: what the relaxed kernels did before the choice
/// existed, and the one instruction on the CPUs that have it.
static IN_I16: AtomicBool = AtomicBool::new(false);

/// Whether the kernels sum in i16 (read once per weight row and tile).
#[inline(always)]
pub(crate) fn in_i16() -> bool {
    IN_I16.load(Ordering::Relaxed)
}

/// The form the kernels use now.
pub fn current() -> DotSums {
    if in_i16() {
        DotSums::I16
    } else {
        DotSums::I32
    }
}

/// Sets the form for every product from now on, on every thread.
pub fn set(sums: DotSums) {
    IN_I16.store(sums == DotSums::I16, Ordering::Relaxed);
}

/// Rounds of timings, alternating the two forms: the first ones run while
/// the engine still compiles the kernels (a browser tiers a function up only
/// after it has run a while), so the fastest of several is taken.
const ROUNDS: usize = 7;

/// Products per timing: about 4 ms on one core, far above the 0.1 ms to which
/// a page that is not cross-origin isolated rounds its clock.
const REPS: usize = 192;

/// Times both forms on one thread over products of the three families of
/// block (Q4_1, Q8_0, Q4_K; synthetic weights of about 150–280 KB each, so
/// they stay in cache and the arithmetic is what is timed), and keeps the
/// faster. `clock` is in milliseconds. In a build without relaxed SIMD there
/// is nothing to choose: `None`, and nothing is timed.
pub fn choose(clock: &mut dyn FnMut() -> f64) -> Option<Choice> {
    if !RELAXED {
        return None;
    }
    let (rows, cols) = (256, 1024);
    let weights: Vec<Weight> = [GgmlDType::Q4_1, GgmlDType::Q8_0, GgmlDType::Q4K]
        .into_iter()
        .filter_map(|dtype| {
            Weight::from_gguf_bytes(dtype, rows, cols, synthetic(dtype, rows * cols), Holding::Compact).ok()
        })
        .collect();
    let x: Vec<f32> = (0..cols).map(|i| ((i * 7919 % 1000) as f32 / 500.0) - 1.0).collect();
    // Quantized once for every family: the timings are of the kernels alone.
    let mut acts = Activations::default();
    acts.quantize(&x, 1, cols, Extras { lanes: true, split: true, sums: true });
    acts.k.quantize(&x, 1, cols);
    let mut out = vec![0f32; rows];
    let mut best = [f64::INFINITY; 2];
    for _ in 0..ROUNDS {
        for (form, best) in [DotSums::I32, DotSums::I16].into_iter().zip(best.iter_mut()) {
            set(form);
            let t0 = clock();
            for _ in 0..REPS / weights.len().max(1) {
                for w in &weights {
                    w.band(&x, 1, &acts, 0..rows, &mut out);
                }
            }
            *best = best.min(clock() - t0);
        }
    }
    let sums = if best[1] < best[0] { DotSums::I16 } else { DotSums::I32 };
    set(sums);
    Some(Choice { sums, i32_ms: best[0], i16_ms: best[1] })
}

/// The form `wanted` names ("i32" or "i16": the benchmark examples' `DOT`,
/// to compare both in one build), else `choose`'s; what `choose` measured, if
/// it ran.
pub fn set_or_choose(wanted: Option<&str>, clock: &mut dyn FnMut() -> f64) -> Option<Choice> {
    match wanted {
        Some("i32") => set(DotSums::I32),
        Some("i16") => set(DotSums::I16),
        _ => return choose(clock),
    }
    None
}

/// GGUF bytes of `n` values of `dtype`: arbitrary quants, and every f16 of a
/// block's header 1.0 (a random one could be an infinity or a NaN, or make
/// the sums subnormal, which some CPUs take far longer over).
fn synthetic(dtype: GgmlDType, n: usize) -> Vec<u8> {
    let header = match dtype {
        GgmlDType::Q4_1 | GgmlDType::Q4K => 4,
        _ => 2,
    };
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut bytes = Vec::with_capacity(n / dtype.block_size() * dtype.type_size());
    for _ in 0..n / dtype.block_size() {
        for at in 0..dtype.type_size() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            bytes.push(if at < header { [0x00, 0x3C][at % 2] } else { state as u8 });
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_weights_load_and_multiply_to_finite_values() {
        for dtype in [GgmlDType::Q4_1, GgmlDType::Q8_0, GgmlDType::Q4K] {
            let (rows, cols) = (4, 512);
            let w =
                Weight::from_gguf_bytes(dtype, rows, cols, synthetic(dtype, rows * cols), Holding::Compact).unwrap();
            let mut out = vec![0f32; rows];
            w.matmul(&vec![0.5; cols], 1, &mut out, &mut Activations::default()).unwrap();
            assert!(out.iter().all(|v| v.is_finite() && *v != 0.0), "{dtype:?}: {out:?}");
        }
    }

    #[test]
    fn a_named_form_is_set_without_timing() {
        let before = current();
        let mut ticks = 0;
        for (name, form) in [("i16", DotSums::I16), ("i32", DotSums::I32)] {
            let choice = set_or_choose(Some(name), &mut || {
                ticks += 1;
                0.0
            });
            assert_eq!((choice, current()), (None, form));
        }
        assert_eq!(ticks, 0, "nothing timed");
        set(before);
    }

    /// A clock that runs slower while `slow` is the kernels' form: `choose`
    /// must keep the other, and leave the kernels using it.
    fn choice_with(slow: DotSums) -> Option<Choice> {
        let mut t = 0.0;
        choose(&mut || {
            t += if current() == slow { 2.0 } else { 1.0 };
            t
        })
    }

    #[test]
    fn the_faster_form_is_chosen_and_used() {
        let before = current();
        for (slow, fast) in [(DotSums::I32, DotSums::I16), (DotSums::I16, DotSums::I32)] {
            let choice = choice_with(slow);
            if RELAXED {
                let choice = choice.unwrap();
                assert_eq!((choice.sums, current()), (fast, fast), "{choice:?}");
                assert!(choice.i32_ms.is_finite() && choice.i16_ms.is_finite(), "{choice:?}");
            } else {
                assert_eq!(choice, None);
                assert_eq!(current(), before, "nothing to choose, nothing set");
            }
        }
        set(before);
    }
}
