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

/// Rounds of timings, alternating the two forms. The first ones run while
/// the engine still compiles the kernels (a browser tiers a function up only
/// after it has run a while, on a background thread that takes a core from
/// the timings), so the fastest of several is taken, and the rounds go on
/// until neither form's fastest has improved for `STEADY` of them: in
/// Chromium the first rounds run far slower than the last, and a form
/// still coming up to speed after a fixed seven would lose.
const MIN_ROUNDS: usize = 7;
const STEADY: usize = 4;
const MAX_ROUNDS: usize = 24;

/// A timing improves a form's fastest when it is this much below it: finer
/// differences are the clock's ticks and the machine's noise.
const IMPROVES: f64 = 0.98;

/// Products per timing (rows times weights): a few ms on one core, far above
/// the 0.1 ms to which a page that is not cross-origin isolated rounds its
/// clock. A quarter are one row (a decoded token), the rest tiles of
/// `PROMPT_ROWS` rows (a prompt's): the forms run one row alike on CPUs with
/// AVX-VNNI and a prompt apart, and timed on one row alone, the choice went
/// either way with the machine's noise.
const REPS: usize = 288;
const PROMPT_ROWS: usize = 3;

/// Times both forms on one thread over products of the three families of
/// block (Q4_1, Q8_0, Q4_K; synthetic weights of about 150–280 KB each, so
/// they stay in cache and the arithmetic is what is timed), one row and a
/// prompt's tile, and keeps the faster. `clock` is in milliseconds. In a
/// build without relaxed SIMD there is nothing to choose: `None`, and nothing
/// is timed.
pub fn choose(clock: &mut dyn FnMut() -> f64) -> Option<Choice> {
    if !RELAXED {
        return None;
    }
    let (rows, cols, m) = (256, 1024, PROMPT_ROWS);
    let weights: Vec<Weight> = [GgmlDType::Q4_1, GgmlDType::Q8_0, GgmlDType::Q4K]
        .into_iter()
        .filter_map(|dtype| {
            Weight::from_gguf_bytes(dtype, rows, cols, synthetic(dtype, rows * cols), Holding::Compact).ok()
        })
        .collect();
    let x: Vec<f32> = (0..m * cols).map(|i| ((i * 7919 % 1000) as f32 / 500.0) - 1.0).collect();
    // Quantized once for every family: the timings are of the kernels alone.
    let quantized = |m: usize| {
        let mut acts = Activations::default();
        acts.quantize(&x[..m * cols], m, cols, Extras { lanes: true, split: true, sums: true });
        acts.k.quantize(&x[..m * cols], m, cols);
        acts
    };
    let (one, tile) = (quantized(1), quantized(m));
    let mut out = vec![0f32; m * rows];
    let n = weights.len().max(1);
    let mut best = [f64::INFINITY; 2];
    let mut steady = 0;
    for round in 0..MAX_ROUNDS {
        let mut improved = false;
        for (form, best) in [DotSums::I32, DotSums::I16].into_iter().zip(best.iter_mut()) {
            set(form);
            let t0 = clock();
            for w in &weights {
                for _ in 0..REPS / 4 / n {
                    w.band(&x[..cols], 1, &one, 0..rows, &mut out[..rows]);
                }
                for _ in 0..REPS * 3 / 4 / n / m {
                    w.band(&x, m, &tile, 0..rows, &mut out);
                }
            }
            let ms = clock() - t0;
            improved |= ms < *best * IMPROVES;
            *best = best.min(ms);
        }
        steady = if improved { 0 } else { steady + 1 };
        if round + 1 >= MIN_ROUNDS && steady >= STEADY {
            break;
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

    /// A form whose kernels come up to speed slowly (five slow timings, then
    /// faster every round until twice as fast as the other: ahead of it only
    /// after the seventh) is still found the faster: the rounds go on while
    /// a form's fastest improves.
    #[test]
    fn a_form_that_tiers_up_late_is_still_chosen() {
        let before = current();
        let (mut t, mut i16_timings) = (0.0, 0u32);
        let mut reads = 0;
        let choice = choose(&mut || {
            reads += 1;
            // Every second read ends a timing.
            if reads % 2 == 0 {
                t += match current() {
                    DotSums::I32 => 2.0,
                    DotSums::I16 => {
                        i16_timings += 1;
                        if i16_timings <= 5 {
                            10.0
                        } else {
                            (3.0 - 0.3 * f64::from(i16_timings - 6)).max(1.0)
                        }
                    }
                };
            }
            t
        });
        if RELAXED {
            let choice = choice.unwrap();
            assert_eq!((choice.sums, choice.i16_ms, choice.i32_ms), (DotSums::I16, 1.0, 2.0), "{choice:?}");
            assert!((i16_timings as usize) < MAX_ROUNDS, "it stops once steady: {i16_timings} rounds");
        } else {
            assert_eq!(choice, None);
        }
        set(before);
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
