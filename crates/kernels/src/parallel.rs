//! Splitting work across threads: rayon's pool with the `parallel` feature,
//! the calling thread alone without it (the browser's plain build, which has
//! no threads to give).
//!
//! Every output element is computed by the same code whichever thread runs
//! it, so results do not depend on the thread count.
//!
//! Inside a forward pass (`within_pool`) the work is not handed over through
//! rayon's deques but through a *team*: the pass's thread publishes each
//! piece of work in one shared slot, the pool's other threads, spinning on
//! that slot, take its parts from a shared counter, and the pass's thread
//! waits for them spinning too, as ggml's threads do. With rayon, the pass's
//! thread fell asleep at the end of most products waiting for the other's
//! last band, and a wake-up (a futex natively, `Atomics.wait` in a browser)
//! cost about as much as a small model's product, so a second thread
//! gained little of what llama.cpp's second thread gains (the README's
//! speed notes have the figures).

use std::ops::Range;

/// Output rows per band at the least: a band is one task, and fewer rows make
/// the hand-over cost more than the work.
const MIN_BAND: usize = 16;

/// Bands start at multiples of this many rows: interleaved stores hold
/// rows in groups (`interleaved::QUAD`) that a band must not split.
const BAND_ALIGN: usize = 8;

/// Bytes of weights (times activation rows) below which a product stays on
/// one thread: sharing out a band costs a few microseconds even when the
/// pool's threads are awake (see `within_pool`), about what 64 KB of weights
/// take on one core.
pub const MIN_WORK: usize = 64 << 10;

/// Bands per thread: several, so that the threads finish a product close
/// together (one that came late to it, or was slowed by the OS, takes fewer)
/// — a band is one atomic increment to take.
const BANDS_PER_THREAD: usize = 8;

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

/// Runs `f` (a model's forward pass) on this thread, leading a team of as
/// many threads as the pool has: this one and the pool's others, which spin
/// for the length of the pass and take parts of every product as soon as it
/// is published (see the module's comment), then go back to sleep.
///
/// The pass stays on the calling thread (the browser's engine worker, the
/// command line's main thread): handing it to a pool thread and back cost
/// two more wake-ups per token, one of them on the way to the next token.
pub fn within_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    #[cfg(feature = "parallel")]
    if rayon::current_num_threads() > 1 && !team::leading() {
        return team::lead(f);
    }
    f()
}

/// Runs `f(state, k)` for every `k` in `0..n`, with a `state` made by `init`
/// for each thread's share (scratch space): on the calling thread alone
/// unless `split`, else across the team this thread leads, or else rayon's pool.
#[cfg_attr(not(feature = "parallel"), allow(unused_variables))]
fn each<T, I, F>(n: usize, split: bool, init: I, f: F)
where
    I: Fn() -> T + Sync + Send,
    F: Fn(&mut T, usize) + Sync + Send,
{
    #[cfg(feature = "parallel")]
    if split && n > 1 && threads() > 1 {
        use std::sync::atomic::{AtomicUsize, Ordering};
        // On a line of its own: it sits among the leader's locals, which the
        // other threads' increments would otherwise keep taking from its cache.
        let next = Line(AtomicUsize::new(0));
        let share = || {
            let mut state = None;
            loop {
                let k = next.0.fetch_add(1, Ordering::Relaxed);
                if k >= n {
                    break;
                }
                f(state.get_or_insert_with(&init), k);
            }
        };
        if team::run(&share) {
            return;
        }
        use rayon::prelude::*;
        (0..n).into_par_iter().for_each_init(&init, |t, k| f(t, k));
        return;
    }
    let mut state = init();
    for k in 0..n {
        f(&mut state, k);
    }
}

/// A value alone on its cache line, for atomics that other threads write.
#[cfg(feature = "parallel")]
#[repr(align(64))]
#[derive(Default)]
struct Line<T>(T);

/// A slice that tasks write disjoint parts of, through `part`.
struct Shared<T>(*mut T, usize);

// SAFETY: the tasks given a `Shared` each take a part no other takes (their
// indices come from one counter), so no element is reached from two threads.
unsafe impl<T: Send> Sync for Shared<T> {}
unsafe impl<T: Send> Send for Shared<T> {}

impl<T> Shared<T> {
    fn new(v: &mut [T]) -> Self {
        Shared(v.as_mut_ptr(), v.len())
    }

    /// # Safety
    /// No two live parts may overlap.
    #[allow(clippy::mut_from_ref)]
    unsafe fn part(&self, r: Range<usize>) -> &mut [T] {
        assert!(r.start <= r.end && r.end <= self.1, "part {r:?} of {}", self.1);
        // SAFETY: in bounds (checked above); disjointness is the caller's.
        unsafe { std::slice::from_raw_parts_mut(self.0.add(r.start), r.end - r.start) }
    }
}

/// Computes an `m × rows` row-major output by bands of its `rows` columns:
/// `band(js, o)` fills `o`, the `m × js.len()` block of columns `js`
/// (row-major, stride `js.len()`). A band that covers every column is `out`
/// itself; narrower bands of a one-row output are slices of `out` too, and
/// those of a taller output are gathered into it afterwards. `work` is the
/// product's size in bytes read (see `MIN_WORK`).
pub fn bands<F>(rows: usize, m: usize, work: usize, out: &mut [f32], band: F)
where
    F: Fn(Range<usize>, &mut [f32]) + Sync,
{
    debug_assert_eq!(out.len(), m * rows);
    let threads = threads();
    let width = rows.div_ceil(threads * BANDS_PER_THREAD).max(MIN_BAND).next_multiple_of(BAND_ALIGN);
    if threads == 1 || width >= rows || work < MIN_WORK {
        return band(0..rows, out);
    }
    let cols = |b: usize| b * width..((b + 1) * width).min(rows);
    let n = rows.div_ceil(width);
    if m == 1 {
        let o = Shared::new(out);
        // SAFETY: band b takes columns `cols(b)` only.
        each(n, true, || (), |_, b| band(cols(b), unsafe { o.part(cols(b)) }));
        return;
    }
    // Band b's block at `m · cols(b).start` of a scratch, then gathered.
    let mut blocks = vec![0.0; m * rows];
    let o = Shared::new(&mut blocks);
    let block = |b: usize| m * cols(b).start..m * cols(b).end;
    // SAFETY: band b takes its own block only.
    each(n, true, || (), |_, b| band(cols(b), unsafe { o.part(block(b)) }));
    for b in 0..n {
        let js = cols(b);
        for (i, src) in blocks[block(b)].chunks_exact(js.len()).enumerate() {
            out[i * rows + js.start..i * rows + js.end].copy_from_slice(src);
        }
    }
}

/// Several products of one input at once (`m` rows each): `items` holds, per
/// product, what `band` needs, its output rows, its size in bytes read and its
/// output. One row of input (a token being decoded) shares every product's
/// bands among the threads in one go; taller inputs go product by product,
/// each split as `bands` does.
pub fn bands_many<T, F>(m: usize, items: Vec<(&T, usize, usize, &mut [f32])>, band: F)
where
    T: Sync + ?Sized,
    F: Fn(&T, Range<usize>, &mut [f32]) + Sync,
{
    let (threads, work) = (threads(), items.iter().fold(0usize, |w, i| w.saturating_add(i.2)));
    if m == 1 && threads > 1 && work >= MIN_WORK {
        let total: usize = items.iter().map(|i| i.1).sum();
        let width = total.div_ceil(threads * BANDS_PER_THREAD).max(MIN_BAND).next_multiple_of(BAND_ALIGN);
        let tasks: Vec<(&T, Range<usize>, Shared<f32>)> = items
            .into_iter()
            .flat_map(|(t, _, _, out)| {
                out.chunks_mut(width).enumerate().map(move |(b, o)| (t, b * width..b * width + o.len(), Shared::new(o)))
            })
            .collect();
        each(
            tasks.len(),
            true,
            || (),
            |_, k| {
                let (t, js, o) = &tasks[k];
                // SAFETY: each task is its own slice of an output.
                band(t, js.clone(), unsafe { o.part(0..js.len()) })
            },
        );
        return;
    }
    for (t, rows, work, out) in items {
        bands(rows, m, work, out, |js, o| band(t, js, o));
    }
}

/// Calls `f(state, index, chunk)` for each `chunk`-long piece of `out`, with
/// a `state` made by `init` for each thread's share (scratch space); on one
/// thread if `work` (bytes read) is below `MIN_WORK`.
pub fn chunks<T, I, F>(out: &mut [f32], chunk: usize, work: usize, init: I, f: F)
where
    I: Fn() -> T + Sync + Send,
    F: Fn(&mut T, usize, &mut [f32]) + Sync + Send,
{
    let (len, n) = (out.len(), out.len().div_ceil(chunk));
    let o = Shared::new(out);
    let piece = |k: usize| k * chunk..((k + 1) * chunk).min(len);
    // SAFETY: task k takes piece k only.
    each(n, work >= MIN_WORK, init, |t, k| f(t, k, unsafe { o.part(piece(k)) }));
}

/// Calls `f` on each of `items` (disjoint parts of some outputs, with what
/// fills them): spread over the team when `work` (bytes read) is at least
/// `MIN_WORK`, else one after another on this thread, without collecting
/// them (a decoded token's activation row takes this way on every token).
pub fn each_mut<T, F>(items: impl Iterator<Item = T>, work: usize, f: F)
where
    T: Send,
    F: Fn(&mut T) + Sync + Send,
{
    if work < MIN_WORK || threads() == 1 {
        return items.for_each(|mut t| f(&mut t));
    }
    let mut items: Vec<T> = items.collect();
    let (n, o) = (items.len(), Shared::new(&mut items));
    // SAFETY: task k takes item k only.
    each(n, true, || (), |_, k| f(unsafe { &mut o.part(k..k + 1)[0] }));
}

/// The pass's thread and the pool's other threads while a pass runs.
#[cfg(feature = "parallel")]
mod team {
    use std::cell::{Cell, RefCell};
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::Line;

    /// Empty polls of the team's slot before a helper naps 50 µs at a time
    /// (a long stretch of one-thread work, or fewer free cores than threads:
    /// a starved core then goes to the thread doing the work). `spin_loop`
    /// is a pause of tens of nanoseconds natively, so 4,096 polls are about
    /// 0.2 ms; in wasm it is nothing, and 2¹⁶ polls ran out within the
    /// leader's own work between two products often enough that a helper
    /// slept through the next one. 2²² polls are a few milliseconds (the
    /// pass bounds the spinning anyway), enough to stay awake between a
    /// pass's products; empty jobs to keep it polling added nothing on top
    /// (the README's speed notes have the figures).
    const SPINS: u32 = if cfg!(target_arch = "wasm32") { 1 << 22 } else { 1 << 12 };

    #[derive(Default)]
    pub(super) struct Team {
        /// Number of the latest published job.
        seq: Line<AtomicUsize>,
        /// The job being run, null between jobs.
        job: Line<AtomicPtr<Job>>,
        /// Helpers that may be looking at `job`.
        users: Line<AtomicUsize>,
        /// A helper's part of a job panicked.
        failed: AtomicBool,
        /// The pass is over: helpers leave.
        done: Line<AtomicBool>,
    }

    /// A job: one closure that every thread coming by runs once, taking its
    /// parts from a counter of the closure's own.
    struct Job {
        seq: usize,
        // The borrow's lifetime is erased: `Team::run` does not return (nor
        // unwind) while a helper may still call it.
        body: *const (dyn Fn() + Sync),
    }

    thread_local! {
        /// The team this thread leads, during its pass.
        static LEADS: RefCell<Option<Arc<Team>>> = const { RefCell::new(None) };
        /// This thread is running a job of its team (a nested split runs on rayon).
        static BUSY: Cell<bool> = const { Cell::new(false) };
    }

    /// This thread leads a team now.
    pub(super) fn leading() -> bool {
        LEADS.with(|l| l.borrow().is_some())
    }

    /// Runs `f` on this thread as the leader of a team as large as the pool:
    /// this thread (a pool thread or not) and the first others of the pool.
    ///
    /// Led from outside the pool, the team leaves one pool thread out, and it
    /// must: helpers serve only the team, so work that `f` hands to rayon
    /// itself (candle's own kernels for the rare types without one here)
    /// would wait for the pass to end, and the pass for it, were every pool
    /// thread a helper.
    pub(super) fn lead<R>(f: impl FnOnce() -> R) -> R {
        let team = Arc::new(Team::default());
        let (size, me) = (rayon::current_num_threads(), rayon::current_thread_index());
        // One job per pool thread, each run by that thread; this thread's and
        // those beyond the team's size return at once (this thread's may be
        // met while it waits inside `f`).
        let helpers = team.clone();
        rayon::spawn_broadcast(move |ctx| {
            let i = ctx.index();
            let rank = match me {
                Some(me) if i == me => return,
                Some(me) if i > me => i - 1,
                _ => i,
            };
            if rank + 1 < size {
                helpers.help();
            }
        });
        /// Ends the team however `f` ends.
        struct Over(Arc<Team>);
        impl Drop for Over {
            fn drop(&mut self) {
                LEADS.with(|l| l.borrow_mut().take());
                self.0.done.0.store(true, Ordering::Release);
            }
        }
        LEADS.with(|l| *l.borrow_mut() = Some(team.clone()));
        let _over = Over(team);
        f()
    }

    /// Runs `body` on this thread and on each helper of the team it leads that
    /// comes by, returning when all are done; false (nothing run) if this
    /// thread leads no team or is inside a job already.
    pub(super) fn run(body: &(dyn Fn() + Sync)) -> bool {
        if BUSY.get() {
            return false;
        }
        LEADS.with(|l| match &*l.borrow() {
            Some(team) => {
                /// Clears `BUSY` however the job ends.
                struct Busy;
                impl Drop for Busy {
                    fn drop(&mut self) {
                        BUSY.set(false);
                    }
                }
                BUSY.set(true);
                let _busy = Busy;
                team.run(body);
                true
            }
            None => false,
        })
    }

    impl Team {
        fn run(&self, body: &(dyn Fn() + Sync)) {
            let seq = self.seq.0.load(Ordering::Relaxed) + 1;
            // SAFETY: only the lifetime changes; `Withdraw` below keeps the
            // closure alive until no helper can reach it.
            let body: *const (dyn Fn() + Sync + 'static) = unsafe { std::mem::transmute(body) };
            let job = Job { seq, body };
            self.job.0.store(&job as *const Job as *mut Job, Ordering::SeqCst);
            self.seq.0.store(seq, Ordering::Release);

            /// Takes the job back and waits for every helper to leave it, also
            /// when the leader's part panics (the job lives on its stack).
            struct Withdraw<'a>(&'a Team);
            impl Drop for Withdraw<'_> {
                fn drop(&mut self) {
                    self.0.job.0.store(std::ptr::null_mut(), Ordering::SeqCst);
                    while self.0.users.0.load(Ordering::SeqCst) != 0 {
                        std::hint::spin_loop();
                    }
                }
            }
            let withdraw = Withdraw(self);
            // SAFETY: `body` is the closure passed in, alive for this call.
            unsafe { (*job.body)() };
            drop(withdraw);
            if self.failed.swap(false, Ordering::Relaxed) {
                panic!("a part of a product panicked on another thread");
            }
        }

        /// A helper's loop: runs each new job once, until the pass is over.
        fn help(&self) {
            let mut last = 0;
            let mut idle = 0u32;
            while !self.done.0.load(Ordering::Acquire) {
                let seq = self.seq.0.load(Ordering::Acquire);
                if seq == last || self.job.0.load(Ordering::Relaxed).is_null() {
                    if idle < SPINS {
                        idle += 1;
                        std::hint::spin_loop();
                    } else {
                        std::thread::sleep(std::time::Duration::from_micros(50));
                    }
                    continue;
                }
                idle = 0;
                // Counted in before looking at the job: the leader takes it
                // back, then waits for the count to reach zero (both SeqCst,
                // so one of the two sees the other's write).
                self.users.0.fetch_add(1, Ordering::SeqCst);
                let job = self.job.0.load(Ordering::SeqCst);
                // SAFETY: not null, and the leader keeps it alive while `users` counts us.
                if let Some(job) = unsafe { job.as_ref() } {
                    if job.seq != last {
                        last = job.seq;
                        // SAFETY: as above, the closure outlives our count.
                        if catch_unwind(AssertUnwindSafe(|| unsafe { (*job.body)() })).is_err() {
                            self.failed.store(true, Ordering::Relaxed);
                        }
                    }
                }
                self.users.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `check` on one thread, on a pool of three through rayon, and on
    /// the same pool as a team's leader (a forward pass's setting).
    fn everywhere(check: impl Fn() + Sync) {
        check();
        #[cfg(feature = "parallel")]
        {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().expect("a pool of three");
            pool.install(&check);
            pool.install(|| team::lead(&check));
            // Many short jobs in one pass: the helpers meet each one or not.
            pool.install(|| team::lead(|| (0..200).for_each(|_| check())));
        }
    }

    /// Each band writes its own coordinates: every cell must hold its own,
    /// whatever the split.
    #[test]
    fn bands_cover_every_cell_once() {
        everywhere(|| {
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
        });
    }

    /// Products of several heights at once: each cell holds (product, row, column).
    #[test]
    fn bands_many_cover_every_product() {
        everywhere(|| {
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
        });
    }

    #[test]
    fn chunks_visit_every_index() {
        everywhere(|| {
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
        });
    }

    /// Threads that ran a part of small jobs, run until `want` have (or a
    /// hundred thousand jobs went by).
    #[cfg(feature = "parallel")]
    fn threads_taking_parts(want: usize) -> usize {
        use std::collections::HashSet;
        use std::sync::Mutex;
        let seen = Mutex::new(HashSet::new());
        for _ in 0..100_000 {
            let mut out = vec![0.0; 64];
            chunks(
                &mut out,
                8,
                usize::MAX,
                || (),
                |_, _, _| {
                    seen.lock().expect("not poisoned").insert(std::thread::current().id());
                    std::hint::black_box((0..2000).sum::<u64>());
                },
            );
            if seen.lock().expect("not poisoned").len() >= want {
                break;
            }
        }
        let n = seen.lock().expect("not poisoned").len();
        n
    }

    /// The helpers take parts: over a pass of small jobs, every thread of
    /// the pool runs some.
    #[cfg(feature = "parallel")]
    #[test]
    fn helpers_take_parts() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().expect("a pool of three");
        assert_eq!(pool.install(|| team::lead(|| threads_taking_parts(3))), 3, "threads that ran a part");
    }

    /// A pass led from outside the pool (the engine's own thread) is shared
    /// with the pool's threads: the team is as large as the pool.
    #[cfg(feature = "parallel")]
    #[test]
    fn a_pass_outside_the_pool_leads_a_team_of_its_size() {
        let size = rayon::current_num_threads();
        let ran = std::thread::scope(|scope| {
            scope.spawn(|| within_pool(|| threads_taking_parts(size))).join().expect("the pass ran")
        });
        assert_eq!(ran, size, "threads that ran a part");
    }

    /// Work that a pass led from outside the pool hands to rayon itself (as
    /// candle's kernels do) completes: a pool thread is left out of the team
    /// for it. Run with a deadline, so that a deadlock fails the test.
    #[cfg(feature = "parallel")]
    #[test]
    fn rayon_work_inside_a_pass_completes() {
        use rayon::prelude::*;
        let (sent, got) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let sum = within_pool(|| {
                let mut out = vec![0.0; 64];
                chunks(&mut out, 8, usize::MAX, || (), |_, k, o| o.fill(k as f32));
                (0..10_000u64).into_par_iter().sum::<u64>() + out.iter().sum::<f32>() as u64
            });
            let _ = sent.send(sum);
        });
        let sum = got.recv_timeout(std::time::Duration::from_secs(60)).expect("the pass ended");
        assert_eq!(sum, 49_995_000 + 8 * (0..8).sum::<u64>());
    }

    /// A part that panics on a helper reaches the leader as a panic, and the
    /// pool is usable afterwards (no helper left counted in).
    #[cfg(feature = "parallel")]
    #[test]
    fn a_panicking_part_panics_the_pass() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().expect("a pool of three");
        let pass = || {
            pool.install(|| {
                team::lead(|| {
                    let mut out = vec![0.0; 64 * 50];
                    chunks(&mut out, 64, usize::MAX, || (), |_, k, _| assert!(k != 49, "part 49"));
                })
            })
        };
        for _ in 0..20 {
            assert!(std::panic::catch_unwind(std::panic::AssertUnwindSafe(pass)).is_err());
        }
        // Every thread still leads its team's jobs (not left marked busy).
        let led = pool.broadcast(|_| team::lead(|| team::run(&|| ())));
        assert!(led.iter().all(|&l| l), "threads leading a team: {led:?}");
    }
}
