//! The Web Worker shell: a message loop around `fineprint-inference`.
//!
//! Files arrive as `File` handles beside the JSON request and are read in
//! slices with `FileReaderSync`, so the model is never copied whole into the
//! worker before parsing. Generation yields to the event loop after every
//! token, which is how a Stop message gets in.

use std::cell::RefCell;
use std::io::{Read, Seek, SeekFrom};
use std::rc::Rc;

use fineprint_inference::{preflight::WASM_MEMORY_LIMIT, Engine, Generation, LoadInput, Step};
use fineprint_protocol::{DotSums, Event, Phase, Request, Simd, StopReason, SumsTimed};
use js_sys::{Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Blob, DedicatedWorkerGlobalScope, FileReaderSync, MessageChannel, MessageEvent};

/// The most one `FileReaderSync` call reads: each call makes an
/// `ArrayBuffer` of what it reads, and a tensor read whole (Gemma 3's
/// embedding table is over 200 MB) made one of that size.
const READ_CHUNK: u64 = 8 << 20;

/// `Read + Seek` over a `Blob`, one `FileReaderSync` call per read of at most `READ_CHUNK`.
struct BlobReader {
    blob: Blob,
    reader: FileReaderSync,
    pos: u64,
    size: u64,
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let end = (self.pos + (buf.len() as u64).min(READ_CHUNK)).min(self.size);
        let io = |e: JsValue| std::io::Error::other(format!("{e:?}"));
        let slice = self.blob.slice_with_f64_and_f64(self.pos as f64, end as f64).map_err(io)?;
        let ab = self.reader.read_as_array_buffer(&slice).map_err(io)?;
        let arr = Uint8Array::new(&ab);
        let n = arr.length() as usize;
        arr.copy_to(&mut buf[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for BlobReader {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        let new = match pos {
            SeekFrom::Start(p) => p as i128,
            SeekFrom::End(d) => self.size as i128 + d as i128,
            SeekFrom::Current(d) => self.pos as i128 + d as i128,
        };
        if new < 0 {
            return Err(std::io::Error::other("seek before the start of the file"));
        }
        self.pos = new as u64;
        Ok(self.pos)
    }
}

#[derive(Default)]
struct State {
    engine: Option<Engine>,
    generating: bool,
    stop: bool,
    today: String,
    /// The worker's memory before its first model: what a fresh worker holds.
    fresh: Option<u64>,
}

thread_local! {
    static STATE: Rc<RefCell<State>> = Rc::new(RefCell::new(State::default()));
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn post(e: &Event) {
    let _ = scope().post_message(&JsValue::from_str(&e.to_json()));
}

fn now() -> f64 {
    js_sys::Date::now()
}

fn memory_bytes() -> u64 {
    // An ArrayBuffer, or a SharedArrayBuffer in the threaded build: both have
    // `byteLength`.
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .ok()
        .and_then(|m| Reflect::get(&m.buffer(), &JsValue::from_str("byteLength")).ok())
        .and_then(|n| n.as_f64())
        .map_or(0, |n| n as u64)
}

fn blob_field(data: &JsValue, key: &str) -> Option<Blob> {
    Reflect::get(data, &JsValue::from_str(key)).ok().and_then(|v| v.dyn_into::<Blob>().ok())
}

fn read_all(blob: &Blob) -> Result<Vec<u8>, String> {
    let reader = FileReaderSync::new().map_err(|e| format!("{e:?}"))?;
    let ab = reader.read_as_array_buffer(blob).map_err(|e| format!("{e:?}"))?;
    Ok(Uint8Array::new(&ab).to_vec())
}

fn load(data: &JsValue, model_name: String, tokenizer_name: Option<String>) -> Result<(), String> {
    let model = blob_field(data, "model").ok_or("no model file was sent to the worker")?;
    let reader = BlobReader {
        reader: FileReaderSync::new().map_err(|e| format!("{e:?}"))?,
        size: model.size() as u64,
        pos: 0,
        blob: model,
    };
    let size = reader.size;
    let tokenizer_json = match (blob_field(data, "tokenizer"), tokenizer_name) {
        (Some(b), Some(name)) => Some((name, read_all(&b)?)),
        _ => None,
    };
    let tokenizer_config = blob_field(data, "tokenizer_config").map(|b| read_all(&b)).transpose()?;
    // Free the previous model before reading the next one.
    STATE.with(|s| s.borrow_mut().engine = None);
    // Wasm memory never shrinks: after an earlier model, what this load holds
    // is what the memory grew by on top of a fresh worker's, not the total
    // (most of it the earlier model's, free again). Where the load reused
    // that free memory, this is below the estimate and the estimate stands.
    let before = memory_bytes();
    let fresh = STATE.with(|s| *s.borrow_mut().fresh.get_or_insert(before));
    let t0 = now();
    let input = LoadInput {
        model_name: &model_name,
        reader: std::io::BufReader::with_capacity(4 << 20, reader),
        file_size: size,
        tokenizer_json: tokenizer_json.as_ref().map(|(n, b)| (n.as_str(), b.clone())),
        tokenizer_config,
        memory_limit: Some(WASM_MEMORY_LIMIT),
    };
    let mut engine = Engine::load(input, &mut |phase, done, total| post(&Event::Progress { phase, done, total }))
        .map_err(|e| e.to_string())?;
    post(&Event::Progress { phase: Phase::WarmingUp, done: 0, total: 1 });
    engine.warm_up().map_err(|e| e.to_string())?;
    engine.measured_load(memory_bytes().saturating_sub(before).saturating_add(fresh));
    post(&Event::Loaded { info: engine.info.clone(), load_ms: now() - t0, memory_bytes: memory_bytes() });
    STATE.with(|s| s.borrow_mut().engine = Some(engine));
    Ok(())
}

thread_local! {
    /// A private channel for queueing a task behind whatever the page has sent.
    /// setTimeout(0) would do the same, but browsers clamp nested timers to
    /// 4 ms, a large share of each token's time when decoding.
    static TICK: Option<MessageChannel> = MessageChannel::new().ok();
}

/// Resolves on the next turn of the event loop, letting queued messages in.
async fn yield_now() {
    let p = Promise::new(&mut |resolve, _| {
        let queued = TICK.with(|ch| {
            ch.as_ref().is_some_and(|ch| {
                ch.port1().set_onmessage(Some(resolve.unchecked_ref()));
                ch.port2().post_message(&JsValue::NULL).is_ok()
            })
        });
        if !queued {
            let _ = scope().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(p).await;
}

async fn generate(mut g: Generation) {
    let state = STATE.with(Rc::clone);
    loop {
        yield_now().await;
        let mut st = state.borrow_mut();
        let stop = st.stop;
        let Some(engine) = st.engine.as_mut() else {
            post(&Event::Error { message: "the model was unloaded".into(), fatal: false });
            break;
        };
        let step = if stop { Ok(engine.finish(&mut g, StopReason::Stopped)) } else { engine.step(&mut g, &now) };
        match step {
            Ok(Step::Token { id, text }) => {
                if let Some(text) = text {
                    post(&Event::Token { text, ids: vec![id] });
                }
            }
            Ok(Step::Done { reason, text }) => {
                if let Some(text) = text {
                    post(&Event::Token { text, ids: vec![] });
                }
                let mut stats = g.stats.clone();
                stats.memory_bytes = memory_bytes();
                post(&Event::Done { reason, stats, ids: g.generated.clone(), margins: g.margins.clone() });
                break;
            }
            Err(e) => {
                post(&Event::Error { message: e.to_string(), fatal: false });
                break;
            }
        }
    }
    let mut st = state.borrow_mut();
    st.generating = false;
    st.stop = false;
}

/// Starts a generation unless one is running, then steps it on the event loop.
fn start(begin: impl FnOnce(&mut Engine, &str) -> Result<Generation, String>) {
    let started = STATE.with(|s| {
        let mut st = s.borrow_mut();
        if st.generating {
            return Err("a reply is still being generated; stop it first".to_string());
        }
        let today = st.today.clone();
        let engine = st.engine.as_mut().ok_or("no model is loaded")?;
        let g = begin(engine, &today)?;
        st.generating = true;
        st.stop = false;
        Ok(g)
    });
    match started {
        Ok(g) => wasm_bindgen_futures::spawn_local(generate(g)),
        Err(message) => post(&Event::Error { message, fatal: false }),
    }
}

fn handle(ev: MessageEvent) {
    let data = ev.data();
    let json =
        Reflect::get(&data, &JsValue::from_str("json")).ok().and_then(|v| v.as_string()).or_else(|| data.as_string());
    let req = match json.as_deref().map(Request::from_json) {
        Some(Ok(r)) => r,
        _ => {
            post(&Event::Error {
                message: "the worker received a message it does not understand".into(),
                fatal: false,
            });
            return;
        }
    };
    match req {
        Request::Load { model_name, tokenizer_name, today } => {
            STATE.with(|s| s.borrow_mut().today = today);
            if let Err(message) = load(&data, model_name, tokenizer_name) {
                post(&Event::Error { message, fatal: true });
            }
        }
        Request::Chat { message, system, sampling } => start(|engine, today| {
            engine.start_chat(&message, system.as_deref(), today, &sampling, &now).map_err(|e| e.to_string())
        }),
        Request::Complete { prompt, sampling } => start(|engine, _| {
            let ids = engine.tokenize(&prompt).map_err(|e| e.to_string())?;
            engine.reset();
            let mut g = engine.start(&ids, &sampling, &now).map_err(|e| e.to_string())?;
            Engine::ignore_eos(&mut g);
            Ok(g)
        }),
        Request::Stop => STATE.with(|s| {
            let mut st = s.borrow_mut();
            if st.generating {
                st.stop = true;
            }
        }),
        Request::Reset => STATE.with(|s| {
            if let Some(e) = s.borrow_mut().engine.as_mut() {
                e.reset();
            }
        }),
        Request::ReadBandwidth => STATE.with(|s| {
            let st = s.borrow();
            let measured = match (st.generating, st.engine.as_ref()) {
                (true, _) => Err("a reply is still being generated; stop it first"),
                (_, None) => Err("no model is loaded"),
                (_, Some(engine)) => {
                    engine.read_bandwidth(&now).ok_or("this model runs through candle, not these kernels")
                }
            };
            match measured {
                Ok(b) => post(&Event::Bandwidth { bytes_per_token: b.bytes_per_token, read_ms: b.read_ms }),
                Err(message) => post(&Event::Error { message: message.into(), fatal: false }),
            }
        }),
        Request::Unload => {
            STATE.with(|s| s.borrow_mut().engine = None);
            post(&Event::Unloaded);
        }
    }
}

/// Threads for the pool: the CPUs the browser reports, at most 8 (a small
/// model's products are too short to share among more).
#[cfg(feature = "threads")]
fn pool_size() -> usize {
    let cpus = scope().navigator().hardware_concurrency();
    (cpus as usize).clamp(1, 8)
}

/// Which kernels this build has (its loader chose it by probing the engine).
const SIMD: Simd = if cfg!(feature = "relaxed-simd") { Simd::Relaxed } else { Simd::Simd128 };

/// Times relaxed SIMD's two dot products on this CPU and keeps the faster,
/// for a decoded token's products and for a prompt's (a fraction of a
/// second, before any model: see `relaxed_dot`); `None` in the simd128 build.
fn choose_dot_sums() -> Option<DotSums> {
    use fineprint_inference::relaxed_dot::{self, Timed};
    let performance = scope().performance()?;
    let choice = relaxed_dot::choose(&mut || performance.now())?;
    let timed =
        |t: Timed| SumsTimed { in_i16: t.sums == relaxed_dot::DotSums::I16, i32_ms: t.i32_ms, i16_ms: t.i16_ms };
    Some(DotSums { token: timed(choice.one), prompt: timed(choice.tile) })
}

fn main() {
    console_error_panic_hook::set_once();
    let dot_sums = choose_dot_sums();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(handle);
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    #[cfg(not(feature = "threads"))]
    post(&Event::Ready { threads: 1, simd: SIMD, dot_sums });
    // The pool's workers start asynchronously; the page holds its messages
    // until Ready, so nothing reaches rayon before the pool exists.
    #[cfg(feature = "threads")]
    wasm_bindgen_futures::spawn_local(async move {
        let threads = pool_size();
        match wasm_bindgen_futures::JsFuture::from(wasm_bindgen_rayon::init_thread_pool(threads)).await {
            Ok(_) => post(&Event::Ready { threads, simd: SIMD, dot_sums }),
            Err(e) => {
                post(&Event::Error { message: format!("the worker's thread pool did not start: {e:?}"), fatal: true })
            }
        }
    });
}
