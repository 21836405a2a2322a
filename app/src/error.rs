//! What can go wrong on the page, each said so that the person knows which
//! file or step failed and what to do. Shown through `ErrorBoundary`s; what
//! the person dropped is never touched by any of them.

use thiserror::Error;
use wasm_bindgen::{JsCast, JsValue};

#[derive(Debug, Clone, PartialEq, Error)]
pub enum PageError {
    #[error("The drop held no files. Drop the model's folder (or pick it with \"Choose a folder\").")]
    EmptyDrop,
    #[error("The folder could not be read ({0}). Try \"Choose a folder\" instead of dropping it.")]
    DropRead(String),
    #[error("The sample model is not installed here ({0}); run the README's first command.")]
    SampleMissing(String),
    #[error("{url} could not be fetched: {detail}")]
    Fetch { url: String, detail: String },
    #[error("could not be read: {0}")]
    FileRead(String),
    #[error("The folder has no .gguf file to run. Add the model's GGUF file to the folder and drop it again.")]
    NoGguf,
    #[error("The model worker could not start ({0}); reload the page.")]
    WorkerStart(String),
    #[error(
        "The model worker stopped ({0}); it will be restarted on the next load. If this was a large model, the browser may have run out of memory."
    )]
    WorkerStopped(String),
    #[error("unreadable message from the worker: {0}")]
    WorkerMessage(String),
    /// The worker's own account of a failed load (it names the file).
    #[error("{0}")]
    Model(String),
    #[error("{name} could not be kept: {detail} — the folder you dropped is untouched.")]
    Keep { name: String, detail: String },
    #[error("{name} could not be opened: {detail}")]
    KeptOpen { name: String, detail: String },
    #[error("{name} could not be removed: {detail}")]
    KeptRemove { name: String, detail: String },
    #[error("This browser's storage for kept models could not be read: {0}")]
    Storage(String),
}

/// A thrown JavaScript value as text: an `Error`'s message, else its debug form.
pub fn js_detail(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).unwrap_or_else(|| format!("{e:?}"))
}
