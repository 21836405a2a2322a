//! The page's side of the inference worker: start it, queue messages until it
//! says Ready, replace it when it dies.
//!
//! Two builds of the worker exist. A cross-origin-isolated page (the service
//! worker adds COOP/COEP to the page's own responses, so from the second visit
//! on) gets the threaded one: wasm shared memory and a pool of helper workers.
//! Any other page, or a threaded worker that fails before it is ready, gets
//! the plain single-threaded build.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use fineprint_protocol::{Event, Request};
use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Blob, ErrorEvent, MessageEvent, Worker, WorkerOptions, WorkerType};

use crate::error::PageError;

/// Which build of the worker runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    /// Single-threaded; wasm-bindgen's no-modules glue, so a classic worker.
    Plain,
    /// Atomics and shared memory; wasm-bindgen's `--target web` glue, a module worker.
    Threaded,
}

impl Build {
    fn start(self) -> Result<Worker, JsValue> {
        match self {
            Build::Plain => Worker::new("./worker-loader.js"),
            Build::Threaded => {
                let opts = WorkerOptions::new();
                opts.set_type(WorkerType::Module);
                Worker::new_with_options("./worker-mt-loader.js", &opts)
            }
        }
    }
}

/// Whether this page may share memory between threads.
pub fn isolated() -> bool {
    let global = js_sys::global();
    let flag = Reflect::get(&global, &"crossOriginIsolated".into()).ok().and_then(|v| v.as_bool()).unwrap_or(false);
    flag && Reflect::has(&global, &"SharedArrayBuffer".into()).unwrap_or(false)
}

struct Running {
    /// Which start this is: a retired worker's late events are ignored.
    id: u32,
    worker: Worker,
    build: Build,
    ready: bool,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(ErrorEvent)>,
    /// A threaded worker not ready by then gives way to the plain build.
    _deadline: Option<gloo_timers::callback::Timeout>,
}

/// How long a threaded worker may take to start its pool: a few hundred
/// milliseconds normally; seen hanging now and then in Firefox.
const THREADS_DEADLINE_MS: u32 = 15_000;

impl Drop for Running {
    fn drop(&mut self) {
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
        self.worker.terminate();
    }
}

#[derive(Default)]
struct Inner {
    running: Option<Running>,
    /// Requests sent before Ready, delivered in order when it comes.
    pending: Vec<JsValue>,
    /// The threaded build failed to start here once: use the plain one.
    threads_failed: bool,
    /// Workers started so far.
    started: u32,
}

/// A handle on the worker (cheap to clone; clones share it).
#[derive(Clone, Default)]
pub struct WorkerClient {
    inner: Rc<RefCell<Inner>>,
}

/// Takes a retired worker's closures out of the way of the callback that
/// retired it: they are dropped once that callback has returned.
fn retire(running: Option<Running>) {
    if let Some(r) = running {
        wasm_bindgen_futures::spawn_local(async move { drop(r) });
    }
}

impl WorkerClient {
    /// Starts the worker if none is running; `on_event` gets every event.
    pub fn ensure(&self, on_event: impl Fn(Event) + 'static) -> Result<(), PageError> {
        if self.inner.borrow().running.is_some() {
            return Ok(());
        }
        let threaded = isolated() && !self.inner.borrow().threads_failed;
        self.start(if threaded { Build::Threaded } else { Build::Plain }, Rc::new(on_event))
    }

    fn start(&self, build: Build, on_event: Rc<dyn Fn(Event)>) -> Result<(), PageError> {
        let worker = build.start().map_err(|e| PageError::WorkerStart(format!("{e:?}")))?;
        let id = {
            let mut inner = self.inner.borrow_mut();
            inner.started += 1;
            inner.started
        };
        // Each callback acts only while its worker is the running one.
        let current = {
            let weak: Weak<RefCell<Inner>> = Rc::downgrade(&self.inner);
            move || {
                let inner = weak.upgrade()?;
                let is = inner.borrow().running.as_ref().is_some_and(|r| r.id == id);
                is.then_some(WorkerClient { inner })
            }
        };
        let (on_ready, on_fail, on_late) = (current.clone(), current.clone(), current);
        let handler = on_event.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            let Some(client) = on_ready() else { return };
            let Some(text) = ev.data().as_string() else { return };
            match Event::from_json(&text) {
                Ok(e @ Event::Ready { .. }) => {
                    client.ready();
                    handler(e);
                }
                // A threaded worker that reports a failure before it is ready
                // (its pool did not start) gives way to the plain build.
                Ok(Event::Error { .. }) if client.fall_back(id, handler.clone()) => {}
                Ok(e) => handler(e),
                Err(e) => {
                    handler(Event::Error { message: PageError::WorkerMessage(e.to_string()).to_string(), fatal: false })
                }
            }
        });
        let for_deadline = on_event.clone();
        let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |ev: ErrorEvent| {
            let Some(client) = on_fail() else { return };
            // A worker that panics or runs out of memory is gone: drop it so the
            // next load starts a fresh one. A threaded worker that fails before
            // it is ready (a browser without nested module workers, say) gives
            // way to the plain build, with the queued requests kept.
            if client.fall_back(id, on_event.clone()) {
                return;
            }
            client.terminate();
            on_event(Event::Error { message: PageError::WorkerStopped(ev.message()).to_string(), fatal: true });
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let deadline = (build == Build::Threaded).then(|| {
            gloo_timers::callback::Timeout::new(THREADS_DEADLINE_MS, move || {
                if let Some(client) = on_late() {
                    client.fall_back(id, for_deadline);
                }
            })
        });
        let running = Running {
            id,
            worker,
            build,
            ready: false,
            _on_message: on_message,
            _on_error: on_error,
            _deadline: deadline,
        };
        let old = self.inner.borrow_mut().running.replace(running);
        retire(old);
        Ok(())
    }

    /// The running worker said Ready: deliver what was queued for it.
    fn ready(&self) {
        let mut inner = self.inner.borrow_mut();
        let queued = std::mem::take(&mut inner.pending);
        if let Some(r) = inner.running.as_mut() {
            r.ready = true;
            for m in queued {
                let _ = r.worker.post_message(&m);
            }
        }
    }

    /// Replaces worker `id`, if it is running, threaded and not ready (failed,
    /// or stuck starting its pool), by the plain build for the rest of the
    /// visit, keeping the queued requests. False if there was none to replace.
    fn fall_back(&self, id: u32, on_event: Rc<dyn Fn(Event)>) -> bool {
        let stuck =
            self.inner.borrow().running.as_ref().is_some_and(|r| r.id == id && r.build == Build::Threaded && !r.ready);
        if !stuck {
            return false;
        }
        let running = {
            let mut inner = self.inner.borrow_mut();
            inner.threads_failed = true;
            inner.running.take()
        };
        retire(running);
        self.start(Build::Plain, on_event).is_ok()
    }

    /// Sends a request, with `File`s beside it (they are handles, not copies).
    pub fn send(&self, req: &Request, attachments: &[(&str, &Blob)]) {
        let msg = Object::new();
        let _ = Reflect::set(&msg, &"json".into(), &JsValue::from_str(&req.to_json()));
        for (k, b) in attachments {
            let _ = Reflect::set(&msg, &JsValue::from_str(k), b);
        }
        let msg: JsValue = msg.into();
        let mut inner = self.inner.borrow_mut();
        match inner.running.as_ref().filter(|r| r.ready) {
            Some(r) => {
                let _ = r.worker.post_message(&msg);
            }
            None => inner.pending.push(msg),
        }
    }

    pub fn terminate(&self) {
        let running = {
            let mut inner = self.inner.borrow_mut();
            inner.pending.clear();
            inner.running.take()
        };
        retire(running);
    }
}
