//! Splitting work across threads: rayon's pool with the `parallel` feature,
//! the calling thread alone without it (the browser's plain build, which has
//! no threads to give).
//!
//! Every output element is computed by the same code whichever thread runs
//! it, so results do not depend on the thread count.

use std::ops::Range;

/// Output rows per band at the least: a band is one task, and fewer rows make
/// the hand-over cost more than the work.
#[cfg(feature = "parallel")]
const MIN_BAND: usize = 16;

/// Bytes of weights (times activation rows) below which a product stays on
/// one thread: sharing out a band costs a few microseconds even when the
/// pool's threads are awake (see `within_pool`), about what 64 KB of weights
/// take on one core.
pub const MIN_WORK: usize = 64 << 10;

/// Bands per thread: a few, so that a thread slowed by the OS does not hold
/// up the others at the end of a product.
#[cfg(feature = "parallel")]
const BANDS_PER_THREAD: usize = 4;

/// Threads the products here use.
pub fn threads() -> usize {
    #[cfg(feature = "parallel")]
    {
        rayon::current_num_threads()
    }
    #[cfg(not(feature = "parallel"))]
    {
        1
    }
}

/// Sets the number of threads for every product from now on (the native
/// command line; the browser's threaded build sizes its pool from the page).
/// Fails if called twice.
#[cfg(feature = "parallel")]
pub fn use_threads(n: usize) -> Result<(), rayon::ThreadPoolBuildError> {
    rayon::ThreadPoolBuilder::new().num_threads(n).build_global()
}

/// Runs `f` (a model's forward pass) on one of the pool's threads while the
/// others stay awake, taking bands as soon as they are shared out.
///
/// A thread outside the pool would hand each product over and sleep until it
/// is done, and the pool's threads fall asleep in the gaps between products
/// (norms, attention): each product would then cost wake-ups, which in a
/// browser take longer than a small model's product. So the pool's other
/// threads spin on rayon's queue for the length of the pass, as ggml's
/// threads do for a graph, and go back to sleep after it.
pub fn within_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    #[cfg(feature = "parallel")]
    if rayon::current_num_threads() > 1 && rayon::current_thread_index().is_none() {
        return rayon::join(|| awake(f), || ()).0;
    }
    f()
}

/// Empty polls of rayon's queue before a helper naps (see `awake`).
#[cfg(feature = "parallel")]
const SPINS: u32 = 4096;

#[cfg(feature = "parallel")]
fn awake<R>(f: impl FnOnce() -> R) -> R {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    /// Ends the spinning however `f` ends.
    struct Done(Arc<AtomicBool>);
    impl Drop for Done {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Release);
        }
    }
    let done = Done(Arc::new(AtomicBool::new(false)));
    let flag = done.0.clone();
    let me = rayon::current_thread_index();
    // One job per pool thread, each run by that thread; this thread's returns
    // at once (it may meet it while waiting inside `f`).
    rayon::spawn_broadcast(move |ctx| {
        if Some(ctx.index()) == me {
            return;
        }
        // Spin while bands keep coming; past a few thousand empty polls (a
        // long stretch of one-thread work, or fewer free cores than threads)
        // nap 50 µs at a time, so that a starved core goes to the thread
        // doing the work.
        let mut idle = 0u32;
        while !flag.load(Ordering::Acquire) {
            if rayon::yield_now() == Some(rayon::Yield::Executed) {
                idle = 0;
            } else if idle < SPINS {
                idle += 1;
                std::hint::spin_loop();
            } else {
                std::thread::sleep(std::time::Duration::from_micros(50));
            }
        }
    });
    let out = f();
    drop(done);
    out
}

/// Computes an `m × rows` row-major output by bands of its `rows` columns:
/// `band(js, o)` fills `o`, the `m × js.len()` block of columns `js`
/// (row-major, stride `js.len()`). A band that covers every column is `out`
/// itself; narrower bands of a one-row output are slices of `out` too, and
/// those of a taller output are gathered into it afterwards. `work` is the
/// product's size in bytes read (see `MIN_WORK`).
// Without threads, the sizes that choose a split go unused.
#[cfg_attr(not(feature = "parallel"), allow(unused_variables))]
pub fn bands<F>(rows: usize, m: usize, work: usize, out: &mut [f32], band: F)
where
    F: Fn(Range<usize>, &mut [f32]) + Sync,
{
    debug_assert_eq!(out.len(), m * rows);
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        let threads = rayon::current_num_threads();
        let width = rows.div_ceil(threads * BANDS_PER_THREAD).max(MIN_BAND);
        if threads > 1 && width < rows && work >= MIN_WORK {
            if m == 1 {
                out.par_chunks_mut(width).enumerate().for_each(|(b, o)| band(b * width..b * width + o.len(), o));
            } else {
                let parts: Vec<(Range<usize>, Vec<f32>)> = (0..rows.div_ceil(width))
                    .into_par_iter()
                    .map(|b| {
                        let js = b * width..((b + 1) * width).min(rows);
                        let mut o = vec![0.0; m * js.len()];
                        band(js.clone(), &mut o);
                        (js, o)
                    })
                    .collect();
                for (js, o) in parts {
                    for (i, src) in o.chunks_exact(js.len()).enumerate() {
                        out[i * rows + js.start..i * rows + js.end].copy_from_slice(src);
                    }
                }
            }
            return;
        }
    }
    band(0..rows, out);
}

/// Several products of one input at once (`m` rows each): `items` holds, per
/// product, what `band` needs, its output rows, its size in bytes read and its
/// output. One row of input (a token being decoded) shares every product's
/// bands among the threads in one go; taller inputs go product by product,
/// each split as `bands` does.
// Without threads, the sizes that choose a split go unused.
#[cfg_attr(not(feature = "parallel"), allow(unused_variables))]
pub fn bands_many<T, F>(m: usize, items: Vec<(&T, usize, usize, &mut [f32])>, band: F)
where
    T: Sync + ?Sized,
    F: Fn(&T, Range<usize>, &mut [f32]) + Sync,
{
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        let threads = rayon::current_num_threads();
        let work = items.iter().fold(0usize, |w, i| w.saturating_add(i.2));
        if threads > 1 && work >= MIN_WORK {
            if m == 1 {
                let total: usize = items.iter().map(|i| i.1).sum();
                let width = total.div_ceil(threads * BANDS_PER_THREAD).max(MIN_BAND);
                let tasks: Vec<(&T, Range<usize>, &mut [f32])> = items
                    .into_iter()
                    .flat_map(|(t, _, _, out)| {
                        out.chunks_mut(width).enumerate().map(move |(b, o)| (t, b * width..b * width + o.len(), o))
                    })
                    .collect();
                tasks.into_par_iter().for_each(|(t, js, o)| band(t, js, o));
            } else {
                for (t, rows, work, out) in items {
                    bands(rows, m, work, out, |js, o| band(t, js, o));
                }
            }
            return;
        }
    }
    for (t, rows, _, out) in items {
        band(t, 0..rows, out);
    }
}

/// Calls `f(state, index, chunk)` for each `chunk`-long piece of `out`, with
/// a `state` made by `init` for each thread's share (scratch space); on one
/// thread if `work` (bytes read) is below `MIN_WORK`.
// Without threads, the sizes that choose a split go unused.
#[cfg_attr(not(feature = "parallel"), allow(unused_variables))]
pub fn chunks<T, I, F>(out: &mut [f32], chunk: usize, work: usize, init: I, f: F)
where
    I: Fn() -> T + Sync + Send,
    F: Fn(&mut T, usize, &mut [f32]) + Sync + Send,
{
    #[cfg(feature = "parallel")]
    if rayon::current_num_threads() > 1 && work >= MIN_WORK {
        use rayon::prelude::*;
        out.par_chunks_mut(chunk).enumerate().for_each_init(init, |t, (k, o)| f(t, k, o));
        return;
    }
    let mut t = init();
    for (k, o) in out.chunks_mut(chunk).enumerate() {
        f(&mut t, k, o);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each band writes its own coordinates: every cell must hold its own,
    /// whatever the split.
    #[test]
    fn bands_cover_every_cell_once() {
        for (rows, m) in [(1, 1), (15, 1), (17, 1), (1000, 1), (999, 3), (64, 128), (4097, 5)] {
            let mut out = vec![-1.0; rows * m];
            bands(rows, m, usize::MAX, &mut out, |js, o| {
                let n = js.len();
                assert_eq!(o.len(), m * n);
                for i in 0..m {
                    for (jj, j) in js.clone().enumerate() {
                        o[i * n + jj] = (i * rows + j) as f32;
                    }
                }
            });
            for (k, v) in out.iter().enumerate() {
                assert_eq!(*v, k as f32, "rows {rows} m {m} cell {k}");
            }
        }
    }

    /// Products of several heights at once: each cell holds (product, row, column).
    #[test]
    fn bands_many_cover_every_product() {
        for m in [1, 3] {
            let heights = [576usize, 192, 192, 17, 1];
            let mut outs: Vec<Vec<f32>> = heights.iter().map(|h| vec![-1.0; m * h]).collect();
            let ids: Vec<usize> = (0..heights.len()).collect();
            let items = ids
                .iter()
                .zip(&heights)
                .zip(outs.iter_mut())
                .map(|((p, &h), o)| (p, h, usize::MAX, &mut o[..]))
                .collect();
            bands_many(m, items, |p: &usize, js, o| {
                let n = js.len();
                for i in 0..m {
                    for (jj, j) in js.clone().enumerate() {
                        o[i * n + jj] = (p * 1_000_000 + i * 1000 + j) as f32;
                    }
                }
            });
            for (p, (o, h)) in outs.iter().zip(heights).enumerate() {
                for i in 0..m {
                    for j in 0..h {
                        assert_eq!(
                            o[i * h + j],
                            (p * 1_000_000 + i * 1000 + j) as f32,
                            "m {m} product {p} cell {i},{j}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn chunks_visit_every_index() {
        let mut out = vec![0.0; 100];
        chunks(
            &mut out,
            7,
            usize::MAX,
            || 0usize,
            |calls, k, o| {
                *calls += 1;
                o.fill(k as f32);
            },
        );
        for (i, v) in out.iter().enumerate() {
            assert_eq!(*v, (i / 7) as f32);
        }
    }
}
