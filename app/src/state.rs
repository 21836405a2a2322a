//! The page's state: what was dropped, its report, the stated use, the model.

use fineprint_license::discover::Role;
use fineprint_license::{Report, UseProfile};
use fineprint_protocol::{DotSums, ModelInfo, Phase, Role as ChatRole, Sampling, Simd, Stats};
use leptos::prelude::*;

use crate::error::PageError;
use crate::folder::Entry;
use crate::worker_client::WorkerClient;

/// A checked folder as the page shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Checked {
    pub name: Option<String>,
    pub files: Vec<(String, u64, Role)>,
    pub report: Report,
    /// Text documents, for the viewer: (path, text).
    pub docs: Vec<(String, String)>,
}

impl Checked {
    pub fn gguf(&self) -> Option<&(String, u64, Role)> {
        self.files.iter().filter(|f| f.2 == Role::Gguf).max_by_key(|f| f.1)
    }
    /// Remembers the person's acknowledgement per model file and license.
    pub fn ack_key(&self) -> String {
        let (name, size) = self.gguf().map_or(("", 0), |g| (g.0.as_str(), g.1));
        format!("fineprint.ack.{name}.{size}.{}", self.report.summary.license_id.as_deref().unwrap_or("none"))
    }
}

/// One chat message as the page holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub id: usize,
    pub role: ChatRole,
    pub content: RwSignal<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ModelState {
    Idle,
    Loading { phase: Phase, done: u64, total: u64 },
    Ready(ModelInfo),
    Failed(PageError),
}

#[derive(Clone, Copy)]
pub struct AppState {
    pub busy: RwSignal<Option<String>>,
    pub error: RwSignal<Option<PageError>>,
    pub primary: RwSignal<Option<Checked>>,
    pub compare: RwSignal<Option<Checked>>,
    pub profile: RwSignal<UseProfile>,
    pub viewer: RwSignal<Option<(String, usize, usize)>>,
    pub acked: RwSignal<bool>,
    pub model: RwSignal<ModelState>,
    /// The conversation; each message's text is its own signal, so a streamed
    /// token updates one text node instead of re-creating the message.
    pub messages: RwSignal<Vec<Message>>,
    pub generating: RwSignal<bool>,
    pub stats: RwSignal<Option<Stats>>,
    pub sampling: RwSignal<Sampling>,
    pub system: RwSignal<String>,
    pub notice: RwSignal<Option<String>>,
    /// Token ids of the last reply (shown to tests and the curious as data-ids).
    pub last_ids: RwSignal<Vec<u32>>,
    /// Their logit margins over the runner-up (data-margins: where engines may differ).
    pub last_margins: RwSignal<Vec<f32>>,
    /// The checked folder's files themselves: browser handles (not `Send`), not
    /// reactive data, so a local stored value rather than a signal.
    pub files: StoredValue<Vec<Entry>, LocalStorage>,
    /// The inference worker (a browser handle, so local too).
    pub worker: StoredValue<WorkerClient, LocalStorage>,
    /// Threads the worker runs on and its kernels' instructions, once it is ready.
    pub engine: RwSignal<Option<(usize, Simd, Option<DotSums>)>>,
}

impl Default for AppState {
    fn default() -> Self {
        Self::new()
    }
}

impl AppState {
    pub fn new() -> Self {
        Self {
            busy: RwSignal::new(None),
            error: RwSignal::new(None),
            primary: RwSignal::new(None),
            compare: RwSignal::new(None),
            profile: RwSignal::new(crate::storage::load_profile()),
            viewer: RwSignal::new(None),
            acked: RwSignal::new(false),
            model: RwSignal::new(ModelState::Idle),
            messages: RwSignal::new(Vec::new()),
            generating: RwSignal::new(false),
            stats: RwSignal::new(None),
            sampling: RwSignal::new(Sampling::default()),
            system: RwSignal::new(String::new()),
            notice: RwSignal::new(None),
            last_ids: RwSignal::new(Vec::new()),
            last_margins: RwSignal::new(Vec::new()),
            files: StoredValue::new_local(Vec::new()),
            worker: StoredValue::new_local(WorkerClient::default()),
            engine: RwSignal::new(None),
        }
    }

    pub fn worker(&self) -> WorkerClient {
        self.worker.get_value()
    }

    pub fn append_reply(&self, text: &str) {
        self.messages.with_untracked(|m| {
            if let Some(last) = m.last().filter(|l| l.role == ChatRole::Assistant) {
                last.content.update(|c| c.push_str(text));
            }
        });
    }

    /// Adds a message with the next id.
    pub fn push_message(&self, role: ChatRole, content: String) {
        self.messages.update(|m| {
            let id = m.last().map_or(0, |l| l.id + 1);
            m.push(Message { id, role, content: RwSignal::new(content) });
        });
    }
}
