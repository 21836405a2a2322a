//! The page's state, in two parts: the report (what was dropped, its report,
//! the stated use, the document open in the viewer) and the chat (the
//! acknowledgement, the model in the worker, the conversation).

use std::sync::Arc;

use fineprint_license::discover::Role;
use fineprint_license::report::SourceText;
use fineprint_license::{Report, UseProfile};
use fineprint_protocol::{DotSums, ModelInfo, Phase, Role as ChatRole, Sampling, Simd, Stats};
use leptos::prelude::*;

use crate::error::PageError;
use crate::folder::Entry;
use crate::worker_client::WorkerClient;

/// One file of a checked folder, as the file list shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct FileRow {
    pub path: String,
    pub size: u64,
    pub role: Role,
}

/// A checked folder as the page shows it. Shared (`Arc`): reading the signal
/// that holds it never copies the report or its texts.
#[derive(Clone, Debug, PartialEq)]
pub struct Checked {
    pub name: Option<String>,
    pub files: Vec<FileRow>,
    pub report: Report,
    /// The license-bearing files as the engine decoded them, for the viewer.
    pub texts: Vec<SourceText>,
}

impl Checked {
    pub fn gguf(&self) -> Option<&FileRow> {
        self.files.iter().filter(|f| f.role == Role::Gguf).max_by_key(|f| f.size)
    }
    /// Remembers the person's acknowledgement per model file and license.
    pub fn ack_key(&self) -> String {
        let (name, size) = self.gguf().map_or(("", 0), |g| (g.path.as_str(), g.size));
        format!("fineprint.ack.{name}.{size}.{}", self.report.summary.license_id.as_deref().unwrap_or("none"))
    }
}

/// Where the document viewer stands: a file and its highlighted lines.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewerTarget {
    pub file: String,
    pub from: usize,
    pub to: usize,
}

/// The engine the worker runs, once it is ready.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EngineInfo {
    pub threads: usize,
    pub simd: Simd,
    /// Relaxed SIMD's dot product the worker timed faster, where it has relaxed SIMD.
    pub sums: Option<DotSums>,
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

/// A folder to check, and where it goes.
pub struct CheckRequest {
    pub slot: crate::Slot,
    pub name: Option<String>,
    pub entries: Vec<Entry>,
}

/// The license side of the page.
#[derive(Clone, Copy)]
pub struct ReportState {
    pub primary: RwSignal<Option<Arc<Checked>>>,
    pub compare: RwSignal<Option<Arc<Checked>>>,
    pub profile: RwSignal<UseProfile>,
    pub viewer: RwSignal<Option<ViewerTarget>>,
    /// The checked folder's files themselves: browser handles (not `Send`), not
    /// reactive data, so a local stored value rather than a signal.
    pub files: StoredValue<Vec<Entry>, LocalStorage>,
}

/// The model side of the page.
#[derive(Clone, Copy)]
pub struct ChatState {
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
    /// The inference worker (a browser handle, so local).
    pub worker: StoredValue<WorkerClient, LocalStorage>,
    pub engine: RwSignal<Option<EngineInfo>>,
}

#[derive(Clone, Copy)]
pub struct AppState {
    pub report: ReportState,
    pub chat: ChatState,
    /// Checking a folder: its `pending()` is the busy line, its value the
    /// outcome (an error goes to the page's error boundary).
    pub check: Action<CheckRequest, Result<(), PageError>>,
    /// Fetching the sample folder from the page's own server, before it is checked.
    pub fetching_sample: RwSignal<bool>,
    /// The page's own errors besides checking (the sample missing, the worker not starting).
    pub error: RwSignal<Option<PageError>>,
}

impl AppState {
    pub fn new() -> Self {
        let report = ReportState {
            primary: RwSignal::new(None),
            compare: RwSignal::new(None),
            profile: RwSignal::new(crate::storage::load_profile()),
            viewer: RwSignal::new(None),
            files: StoredValue::new_local(Vec::new()),
        };
        let chat = ChatState {
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
            worker: StoredValue::new_local(WorkerClient::default()),
            engine: RwSignal::new(None),
        };
        let check = Action::new_local(move |req: &CheckRequest| {
            let (slot, name, entries) = (req.slot, req.name.clone(), req.entries.clone());
            crate::check_and_show(report, chat, slot, name, entries)
        });
        Self { report, chat, check, fetching_sample: RwSignal::new(false), error: RwSignal::new(None) }
    }

    /// Checks a folder and shows it when done. Two folders dropped in quick
    /// succession are each checked; the one whose check ends last is shown.
    pub fn check_folder(&self, slot: crate::Slot, name: Option<String>, entries: Vec<Entry>) {
        self.error.set(None);
        self.check.dispatch_local(CheckRequest { slot, name, entries });
    }
}

impl Default for AppState {
    fn default() -> Self {
        Self::new()
    }
}

impl ChatState {
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
