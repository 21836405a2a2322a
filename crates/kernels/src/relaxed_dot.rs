//! Relaxed SIMD has two 8-bit dot products, and which is faster depends on
//! the CPU and on the product, not on the model: this module holds the
//! kernels' choice, and times both to make it.
//!
//! `i32x4.relaxed_dot_i8x16_i7x16_add_s` is one instruction where the CPU has
//! AVX-VNNI (`vpdpbusd`) or Arm's dot product, but five on x86 without it:
//! V8 emits `pmaddubsw`, builds a vector of ones, widens with `pmaddwd` and
//! adds. `i16x8.relaxed_dot_i8x16_i7x16_s` is the `pmaddubsw` alone; a
//! block's pairs are summed in i16 and widened once. Without AVX-VNNI the
//! second runs the kernels faster. With it, which wins depends on the
//! product: one activation row against a weight vector (a decoded token)
//! waits on each accumulator's chain of one-instruction dot products, while
//! several rows against it (a prompt's tile) keep enough chains going for
//! the one instruction to win. So the form is chosen for each of the two
//! (`Rows`). Both forms give the same integer sums, so the products are the
//! same bit for bit whichever runs: the choice can be made by timing, on the
//! machine that runs the model.

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

/// The two kinds of product the form is chosen for, by how many activation
/// rows meet each unpacked weight vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    /// One row: a decoded token's products.
    One,
    /// A tile of several: a prompt's.
    Tile,
}

impl Rows {
    /// The kind of a kernel's tile of `rows` activation rows.
    #[inline(always)]
    pub const fn of(rows: usize) -> Self {
        if rows == 1 {
            Rows::One
        } else {
            Rows::Tile
        }
    }
}

/// What `choose` measured for one kind of product: the fastest of its
/// timings of each form, in milliseconds, and the one it chose.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timed {
    pub sums: DotSums,
    pub i32_ms: f64,
    pub i16_ms: f64,
}

/// What `choose` measured and chose, for each kind of product.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Choice {
    pub one: Timed,
    pub tile: Timed,
}

/// I32 until chosen otherwise: what the relaxed kernels did before the choice
/// existed, and the one instruction on the CPUs that have it.
static ONE_IN_I16: AtomicBool = AtomicBool::new(false);
static TILE_IN_I16: AtomicBool = AtomicBool::new(false);

fn flag(rows: Rows) -> &'static AtomicBool {
    match rows {
        Rows::One => &ONE_IN_I16,
        Rows::Tile => &TILE_IN_I16,
    }
}

/// Whether the kernels sum a tile of `rows` activation rows in i16 (read
/// once per weight row and tile).
#[inline(always)]
#[cfg_attr(not(feature = "relaxed-simd"), allow(dead_code, reason = "only the relaxed kernels read it"))]
pub(crate) fn in_i16(rows: usize) -> bool {
    flag(Rows::of(rows)).load(Ordering::Relaxed)
}

/// The form the kernels use now for `rows`.
pub fn current(rows: Rows) -> DotSums {
    if flag(rows).load(Ordering::Relaxed) {
        DotSums::I16
    } else {
        DotSums::I32
    }
}

/// Sets the form for every product of `rows` from now on, on every thread.
pub fn set_for(rows: Rows, sums: DotSums) {
    flag(rows).store(sums == DotSums::I16, Ordering::Relaxed);
}

/// Sets the form for every product from now on, on every thread.
pub fn set(sums: DotSums) {
    set_for(Rows::One, sums);
    set_for(Rows::Tile, sums);
}

/// Rounds of timings, alternating the two forms. The first ones run while
/// the engine still compiles the kernels (a browser tiers a function up only
/// after it has run a while, on a background thread that takes a core from
/// the timings), so the fastest of several is taken, and the rounds go on
/// until no form's fastest has improved for `STEADY` of them: in
/// Chromium the first rounds run far slower than the last, and a form
/// still coming up to speed after a fixed seven would lose.
const MIN_ROUNDS: usize = 7;
const STEADY: usize = 4;
const MAX_ROUNDS: usize = 24;

/// A timing improves a form's fastest when it is this much below it: finer
/// differences are the clock's ticks and the machine's noise.
const IMPROVES: f64 = 0.98;

/// Products of a weight matrix and one activation row per timing, for each
/// kind of product: enough for each timing to span many ticks of the clock
/// a page that is not cross-origin isolated gets (0.1 ms). The tiles get
/// more: their choice sets a prompt's speed, and their two forms can time
/// close enough together that a few ticks would decide it.
const ONE_REPS: usize = 144;
const TILE_REPS: usize = 216;
const PROMPT_ROWS: usize = 3;

/// Times both forms on one thread over products of the three families of
/// block (Q4_1, Q8_0, Q4_K; synthetic weights of about 150–280 KB each, so
/// they stay in cache and the arithmetic is what is timed), one row and a
/// prompt's tile apart, and keeps the faster for each. `clock` is in
/// milliseconds. In a build without relaxed SIMD there is nothing to choose:
/// `None`, and nothing is timed.
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
    // The fastest timing of [one row, tile][I32, I16].
    let mut best = [[f64::INFINITY; 2]; 2];
    let mut steady = 0;
    for round in 0..MAX_ROUNDS {
        let mut improved = false;
        for (f, form) in [DotSums::I32, DotSums::I16].into_iter().enumerate() {
            set(form);
            let t0 = clock();
            for w in &weights {
                for _ in 0..ONE_REPS / n {
                    w.band(&x[..cols], 1, &one, 0..rows, &mut out[..rows]);
                }
            }
            let t1 = clock();
            for w in &weights {
                for _ in 0..TILE_REPS / n / m {
                    w.band(&x, m, &tile, 0..rows, &mut out);
                }
            }
            let t2 = clock();
            for (best, ms) in best.iter_mut().zip([t1 - t0, t2 - t1]) {
                improved |= ms < best[f] * IMPROVES;
                best[f] = best[f].min(ms);
            }
        }
        steady = if improved { 0 } else { steady + 1 };
        if round + 1 >= MIN_ROUNDS && steady >= STEADY {
            break;
        }
    }
    let timed = |[i32_ms, i16_ms]: [f64; 2]| Timed {
        sums: if i16_ms < i32_ms { DotSums::I16 } else { DotSums::I32 },
        i32_ms,
        i16_ms,
    };
    let choice = Choice { one: timed(best[0]), tile: timed(best[1]) };
    set_for(Rows::One, choice.one.sums);
    set_for(Rows::Tile, choice.tile.sums);
    Some(choice)
}

/// The form `wanted` names ("i32" or "i16" for every product, or two joined
/// by a comma, one row's then a tile's: the benchmark examples' `DOT`, to
/// compare the forms in one build), else `choose`'s; what `choose`
/// measured, if it ran.
pub fn set_or_choose(wanted: Option<&str>, clock: &mut dyn FnMut() -> f64) -> Option<Choice> {
    let form = |name: &str| match name {
        "i32" => Some(DotSums::I32),
        "i16" => Some(DotSums::I16),
        _ => None,
    };
    let named = wanted.and_then(|w| match w.split_once(',') {
        Some((one, tile)) => form(one).zip(form(tile)),
        None => form(w).map(|f| (f, f)),
    });
    match named {
        Some((one, tile)) => {
            set_for(Rows::One, one);
            set_for(Rows::Tile, tile);
            None
        }
        None => choose(clock),
    }
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

    /// Held by each test that sets the kernels' forms: they are global, and
    /// tests run on threads side by side.
    static FORMS: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn forms() -> std::sync::MutexGuard<'static, ()> {
        FORMS.lock().unwrap_or_else(|e| e.into_inner())
    }

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
        let _forms = forms();
        let before = (current(Rows::One), current(Rows::Tile));
        let mut ticks = 0;
        for (name, one, tile) in [
            ("i16", DotSums::I16, DotSums::I16),
            ("i32", DotSums::I32, DotSums::I32),
            ("i16,i32", DotSums::I16, DotSums::I32),
            ("i32,i16", DotSums::I32, DotSums::I16),
        ] {
            let choice = set_or_choose(Some(name), &mut || {
                ticks += 1;
                0.0
            });
            assert_eq!((choice, current(Rows::One), current(Rows::Tile)), (None, one, tile), "{name}");
        }
        assert_eq!(ticks, 0, "nothing timed");
        set_for(Rows::One, before.0);
        set_for(Rows::Tile, before.1);
    }

    #[test]
    fn a_tile_of_one_row_is_a_lone_row() {
        let _forms = forms();
        assert_eq!([1, 2, 3, 5].map(Rows::of), [Rows::One, Rows::Tile, Rows::Tile, Rows::Tile]);
        set_for(Rows::One, DotSums::I16);
        set_for(Rows::Tile, DotSums::I32);
        assert!(in_i16(1) && !in_i16(3));
        set(DotSums::I32);
    }

    /// A clock for `choose` whose timings last `ms(rows, form)`: `choose`
    /// reads it three times a form and round (at the start, after the lone
    /// rows, after the tiles).
    fn clock_of(mut ms: impl FnMut(Rows, DotSums) -> f64) -> impl FnMut() -> f64 {
        let (mut t, mut reads) = (0.0, 0u64);
        move || {
            reads += 1;
            match reads % 3 {
                2 => t += ms(Rows::One, current(Rows::One)),
                0 => t += ms(Rows::Tile, current(Rows::Tile)),
                _ => {}
            }
            t
        }
    }

    /// A form whose kernels come up to speed slowly (five slow timings, then
    /// faster every round until twice as fast as the other: ahead of it only
    /// after the seventh) is still found the faster: the rounds go on while
    /// a form's fastest improves.
    #[test]
    fn a_form_that_tiers_up_late_is_still_chosen() {
        let _forms = forms();
        let mut i16_timings = 0u32;
        let choice = choose(&mut clock_of(|rows, form| match form {
            DotSums::I32 => 2.0,
            DotSums::I16 => {
                if rows == Rows::Tile {
                    i16_timings += 1;
                }
                if i16_timings <= 5 {
                    10.0
                } else {
                    (3.0 - 0.3 * f64::from(i16_timings - 6)).max(1.0)
                }
            }
        }));
        if RELAXED {
            let choice = choice.unwrap();
            for timed in [choice.one, choice.tile] {
                assert_eq!((timed.sums, timed.i16_ms, timed.i32_ms), (DotSums::I16, 1.0, 2.0), "{choice:?}");
            }
            assert!((i16_timings as usize) < MAX_ROUNDS, "it stops once steady: {i16_timings} rounds");
        } else {
            assert_eq!(choice, None);
        }
        set(DotSums::I32);
    }

    /// `choose` must keep, for each kind of product, the form the clock
    /// times faster for it, and leave the kernels using it.
    #[test]
    fn each_kind_of_product_gets_its_faster_form() {
        let _forms = forms();
        let before = (current(Rows::One), current(Rows::Tile));
        for (one, tile) in [
            (DotSums::I16, DotSums::I16),
            (DotSums::I32, DotSums::I32),
            (DotSums::I16, DotSums::I32),
            (DotSums::I32, DotSums::I16),
        ] {
            let fast = |rows| if rows == Rows::One { one } else { tile };
            let choice = choose(&mut clock_of(|rows, form| if form == fast(rows) { 1.0 } else { 1.5 }));
            if RELAXED {
                let choice = choice.unwrap();
                assert_eq!((choice.one.sums, choice.tile.sums), (one, tile), "{choice:?}");
                assert_eq!((current(Rows::One), current(Rows::Tile)), (one, tile));
                assert!([choice.one, choice.tile].iter().all(|t| t.i32_ms.is_finite() && t.i16_ms.is_finite()));
            } else {
                assert_eq!(choice, None);
                assert_eq!((current(Rows::One), current(Rows::Tile)), before, "nothing to choose, nothing set");
            }
        }
        set_for(Rows::One, before.0);
        set_for(Rows::Tile, before.1);
    }
}
