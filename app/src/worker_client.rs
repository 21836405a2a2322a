//! The page's side of the inference worker: start it, queue messages until it
//! says Ready, replace it when it dies.

use std::cell::{Cell, RefCell};

use fineprint_protocol::{Event, Request};
use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Blob, ErrorEvent, MessageEvent, Worker};

thread_local! {
    static WORKER: RefCell<Option<Worker>> = const { RefCell::new(None) };
    static READY: Cell<bool> = const { Cell::new(false) };
    static PENDING: RefCell<Vec<JsValue>> = const { RefCell::new(Vec::new()) };
}

/// Starts the worker if none is running; `on_event` gets every event.
pub fn ensure(on_event: impl Fn(Event) + 'static) -> Result<(), String> {
    if WORKER.with(|w| w.borrow().is_some()) {
        return Ok(());
    }
    // trunk's loader shim uses importScripts, so this must be a classic worker.
    let worker = Worker::new("./worker_loader.js").map_err(|e| format!("the model worker could not start: {e:?}"))?;
    let on_event = std::rc::Rc::new(on_event);
    let handler = on_event.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        let Some(text) = ev.data().as_string() else { return };
        match Event::from_json(&text) {
            Ok(Event::Ready) => {
                READY.with(|r| r.set(true));
                let queued = PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()));
                WORKER.with(|w| {
                    if let Some(w) = w.borrow().as_ref() {
                        for m in queued {
                            let _ = w.post_message(&m);
                        }
                    }
                });
                handler(Event::Ready);
            }
            Ok(e) => handler(e),
            Err(e) => {
                handler(Event::Error { message: format!("unreadable message from the worker: {e}"), fatal: false })
            }
        }
    });
    let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |ev: ErrorEvent| {
        // A worker that panics or runs out of memory is gone: drop it so the
        // next load starts a fresh one.
        terminate();
        on_event(Event::Error {
            message: format!(
                "the model worker stopped ({}); it will be restarted on the next load. If this was a large model, the browser may have run out of memory",
                ev.message()
            ),
            fatal: true,
        });
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_message.forget();
    on_error.forget();
    READY.with(|r| r.set(false));
    WORKER.with(|w| *w.borrow_mut() = Some(worker));
    Ok(())
}

/// Sends a request, with `File`s beside it (they are handles, not copies).
pub fn send(req: &Request, attachments: &[(&str, &Blob)]) {
    let msg = Object::new();
    let _ = Reflect::set(&msg, &"json".into(), &JsValue::from_str(&req.to_json()));
    for (k, b) in attachments {
        let _ = Reflect::set(&msg, &JsValue::from_str(k), b);
    }
    let msg: JsValue = msg.into();
    if READY.with(Cell::get) {
        WORKER.with(|w| {
            if let Some(w) = w.borrow().as_ref() {
                let _ = w.post_message(&msg);
            }
        });
    } else {
        PENDING.with(|p| p.borrow_mut().push(msg));
    }
}

pub fn terminate() {
    WORKER.with(|w| {
        if let Some(w) = w.borrow_mut().take() {
            w.terminate();
        }
    });
    READY.with(|r| r.set(false));
    PENDING.with(|p| p.borrow_mut().clear());
}
