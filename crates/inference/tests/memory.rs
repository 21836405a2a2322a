//! Memory of real files, counted by the allocator: what loading holds and
//! what it peaks at, against the pre-flight estimate, and after a 128-token
//! generation against the file's size. (The browser test reads the worker's
//! wasm memory, which never shrinks: it is this peak plus the module.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use fineprint_inference::{CacheForm, Engine, LoadInput};
use fineprint_protocol::Sampling;

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Relaxed) + l.size();
            PEAK.fetch_max(now, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            if new >= l.size() {
                let now = LIVE.fetch_add(new - l.size(), Relaxed) + new - l.size();
                PEAK.fetch_max(now, Relaxed);
            } else {
                LIVE.fetch_sub(l.size() - new, Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static A: Counting = Counting;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const FILES: [&str; 6] = [
    "sample/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf",
    "sample/requantized/Q8_0/SmolLM2-135M-Instruct.Q8_0.gguf",
    "sample/requantized/Q4_K/SmolLM2-135M-Instruct.Q4_K.gguf",
    "sample/requantized/Q6_K/SmolLM2-135M-Instruct.Q6_K.gguf",
    "sample/requantized/F16/SmolLM2-135M-Instruct.F16.gguf",
    "sample/gemma-3-270m/gemma-3-270m-q4_k_m.gguf",
];

/// Memory through a 2,000-token chat, as a multiple of the file: #27's
/// bound. The sample reaches it only with its cache's last rung, 8-bit keys
/// and 4-bit values (README, "A cache that steps down").
const LONG_CHAT_BOUND: f64 = 1.3;

/// One test, files in turn: the counters are process-wide (and this file has no other test).
#[test]
fn estimate_matches_loading_and_a_reply_stays_within_1_3x_the_file() {
    for rel in FILES {
        let path = root().join(rel);
        let file = std::fs::File::open(&path).unwrap_or_else(|e| {
            panic!("{} ({e}): run scripts/setup.sh (it makes the conformance files)", path.display())
        });
        let size = file.metadata().expect("size").len();
        let base = LIVE.load(Relaxed);
        PEAK.store(base, Relaxed);
        let input = LoadInput {
            model_name: rel,
            reader: std::io::BufReader::new(file),
            file_size: size,
            tokenizer_json: None,
            tokenizer_config: None,
            memory_limit: None,
        };
        let mut engine = Engine::load(input, &mut |_, _, _| {}).expect("load");
        let (held, peak) = (LIVE.load(Relaxed) - base, PEAK.load(Relaxed) - base);
        let estimate = engine.info.estimated_bytes as usize;
        let sampling = Sampling { temperature: 0.0, max_tokens: 128, ..Sampling::default() };
        let mut g = engine.start(&[1, 2, 3, 4, 5, 6, 7, 8], &sampling, &|| 0.0).expect("prompt");
        Engine::ignore_eos(&mut g);
        while let fineprint_inference::Step::Token { .. } = engine.step(&mut g, &|| 0.0).expect("step") {}
        let after = PEAK.load(Relaxed) - base;
        let mb = |b: usize| b as f64 / 1e6;
        eprintln!(
            "{rel}: file {:.1} MB, estimate {:.1} MB, loaded {:.1} MB (peak {:.1} MB, {:+.1}% vs estimate), after 128 tokens peak {:.1} MB = {:.2}x the file",
            mb(size as usize),
            mb(estimate),
            mb(held),
            mb(peak),
            (peak as f64 / estimate as f64 - 1.0) * 100.0,
            mb(after),
            after as f64 / size as f64
        );
        assert!(
            (peak as f64 - estimate as f64).abs() <= 0.15 * estimate as f64,
            "{rel}: loading peaked at {peak} bytes, the pre-flight estimated {estimate}"
        );
        assert!(after as f64 <= 1.3 * size as f64, "{rel}: {after} bytes after 128 tokens for a {size}-byte file");
        drop(g);
        if rel.contains("Q4_1") || rel.contains("gemma") {
            // A 2,000-token conversation: what it holds is what the pre-flight
            // counts, the load (with Gemma's sliding-window rings, a fixed size)
            // plus the cache per token of the other layers; the sample's f16
            // cache passes its budget (1.3× the file) on the way, and so does
            // its 8-bit one: keys stay in 8 bits and values take 4. Gemma's
            // (mostly rings) stays f16.
            engine.reset();
            let f16 = (CacheForm::F16, CacheForm::F16);
            assert_eq!(engine.cache_forms(), Some(f16), "{rel}: a new conversation starts in f16");
            let vocab = engine.info.vocab_size.min(40_000) as u32;
            let ids: Vec<u32> = (0..1900u32).map(|i| 200 + (i * 7919) % (vocab - 200)).collect();
            let sampling = Sampling { temperature: 0.0, max_tokens: 100, ..Sampling::default() };
            let mut g = engine.start(&ids, &sampling, &|| 0.0).expect("long prompt");
            Engine::ignore_eos(&mut g);
            while let fineprint_inference::Step::Token { .. } = engine.step(&mut g, &|| 0.0).expect("step") {}
            let (held, peak) = (LIVE.load(Relaxed) - base, PEAK.load(Relaxed) - base);
            let forms = engine.cache_forms().expect("our decoder's cache");
            let want = if rel.contains("Q4_1") { (CacheForm::Q8_0, CacheForm::Q4_0) } else { f16 };
            assert_eq!(forms, want, "{rel}: the cache's forms after 2,000 tokens");
            // Bytes per value, against f16's 2: Q8_0 34 per 32, Q4_0 18 per 32.
            let bytes = |f: CacheForm| match f {
                CacheForm::F16 => 2.0,
                CacheForm::Q8_0 => 34.0 / 32.0,
                CacheForm::Q4_0 => 18.0 / 32.0,
            };
            let per_token = engine.info.kv_bytes_per_token as f64 * (bytes(forms.0) + bytes(forms.1)) / 4.0;
            let expected = estimate as f64 + 2000.0 * per_token;
            eprintln!(
                "{rel}: after 2,000 tokens (cache {forms:?}) holds {:.1} MB (expected {:.1} MB), peak {:.1} MB = {:.2}x the file",
                mb(held),
                expected / 1e6,
                mb(peak),
                peak as f64 / size as f64
            );
            assert!(
                (held as f64 - expected).abs() <= 0.15 * expected,
                "{rel}: {held} bytes after 2,000 tokens, expected about {expected}"
            );
            assert!(
                peak as f64 <= LONG_CHAT_BOUND * size as f64,
                "{rel}: peaked at {peak} bytes through 2,000 tokens for a {size}-byte file"
            );
        }
        drop(engine);
    }
}
