//! Fine Print's page: drop a model folder, read its license report, state your
//! use, then try the model. UI only: the license engine runs here (it is
//! fast), the model runs in the worker.

pub mod chat;
pub mod error;
pub mod folder;
mod kept;
pub mod report_view;
pub mod state;
mod storage;
mod worker_client;

use std::sync::Arc;

use fineprint_license::discover::Role;
use leptos::prelude::*;
use leptos::task::spawn_local;

use error::PageError;
use folder::{human_size, Entry};
use state::{AppState, ChatState, Checked, FileRow, ReportState};

#[derive(Clone, Copy, PartialEq)]
pub enum Slot {
    Primary,
    Compare,
}

/// Reads a folder's license-bearing files, checks them and shows the report;
/// the dropped files stay in memory untouched. The body of the check action
/// ([`AppState::check_folder`]).
pub(crate) async fn check_and_show(
    report: ReportState,
    chat: ChatState,
    slot: Slot,
    name: Option<String>,
    entries: Vec<Entry>,
) -> Result<(), PageError> {
    if entries.is_empty() {
        return Err(PageError::EmptyDrop);
    }
    let (inputs, read_errors) = folder::license_inputs(&entries).await;
    let (mut checked_report, texts) = fineprint_license::check_with_texts(&inputs);
    for (file, message) in read_errors {
        checked_report.problems.push(fineprint_license::report::Problem { file, message });
    }
    if let Some(n) = &name {
        checked_report.name_from_folder(n);
    }
    let files = entries
        .iter()
        .map(|e| FileRow { path: e.path.clone(), size: e.size, role: fineprint_license::discover::role(&e.path) })
        .collect();
    let checked = Arc::new(Checked { name, files, report: checked_report, texts });
    match slot {
        Slot::Primary => {
            report.files.set_value(entries);
            chat.acked.set(storage::get_flag(&checked.ack_key()));
            report.viewer.set(None);
            chat.messages.set(Vec::new());
            chat.stats.set(None);
            chat.model.set(state::ModelState::Idle);
            chat.worker().send(&fineprint_protocol::Request::Unload, &[]);
            report.primary.set(Some(checked));
        }
        Slot::Compare => report.compare.set(Some(checked)),
    }
    Ok(())
}

/// What an `ErrorBoundary` caught, as an alert (with what the person can do
/// about it, if anything, as children).
#[component]
pub(crate) fn ErrorList(
    errors: ArcRwSignal<Errors>,
    testid: &'static str,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <div class="error" role="alert" data-testid=testid>
            {move || errors.get().into_iter().map(|(_, e)| view! { <p>{e.to_string()}</p> }).collect_view()}
            {children.map(|c| c())}
        </div>
    }
}

/// The page's own errors (a drop that could not be read or checked, the
/// sample missing, the worker not starting), through an `ErrorBoundary`.
#[component]
pub fn PageErrors() -> impl IntoView {
    let st = expect_context::<AppState>();
    let checked = st.check.value();
    view! {
        <ErrorBoundary fallback=|errors| view! { <ErrorList errors testid="error"/> }>
            {move || match st.error.get() {
                Some(e) => Err(e),
                None => checked.get().unwrap_or(Ok(())),
            }}
        </ErrorBoundary>
    }
}

/// What the page is doing, while it reads or checks a folder.
#[component]
fn Busy() -> impl IntoView {
    let st = expect_context::<AppState>();
    let files = st.check.input();
    move || {
        if st.fetching_sample.get() {
            Some("Loading the sample folder from this page's own server…".to_string())
        } else if st.check.pending().get() {
            Some(files.with(|r| format!("Reading {} files…", r.as_ref().map_or(0, |r| r.entries.len()))))
        } else {
            None
        }
        .map(|b| view! { <p class="busy" role="status">{b}</p> })
    }
}

#[component]
pub fn DropZone(target: Slot, title: &'static str, #[prop(optional)] with_sample: bool) -> impl IntoView {
    let slot = target;
    let st = expect_context::<AppState>();
    let over = RwSignal::new(false);
    let dir_input: NodeRef<leptos::html::Input> = NodeRef::new();
    let file_input: NodeRef<leptos::html::Input> = NodeRef::new();
    let on_drop = move |ev: web_sys::DragEvent| {
        ev.prevent_default();
        over.set(false);
        let Some(dt) = ev.data_transfer() else { return };
        spawn_local(async move {
            match folder::from_drop(&dt).await {
                Ok((name, entries)) => st.check_folder(slot, name, entries),
                Err(e) => st.error.set(Some(e)),
            }
        });
    };
    let on_pick = move |input: Option<web_sys::HtmlInputElement>| {
        if let Some(input) = input {
            let (name, entries) = folder::from_input(&input);
            st.check_folder(slot, name, entries);
            input.set_value("");
        }
    };
    let sample = move |_| {
        st.fetching_sample.set(true);
        spawn_local(async move {
            let fetched = folder::sample().await;
            st.fetching_sample.set(false);
            match fetched {
                Ok((name, entries)) => st.check_folder(slot, name, entries),
                Err(e) => st.error.set(Some(e)),
            }
        });
    };
    let id = if slot == Slot::Primary { "drop-primary" } else { "drop-compare" };
    view! {
        <section
            class="dropzone"
            class:over=move || over.get()
            id=id
            aria-label=title
            on:dragover=move |ev: web_sys::DragEvent| { ev.prevent_default(); over.set(true); }
            on:dragleave=move |_| over.set(false)
            on:drop=on_drop
        >
            <h2>{title}</h2>
            <p>"Drop a downloaded model folder here. It is read on this device; nothing is uploaded."</p>
            <div class="actions">
                <label class="button">
                    "Choose a folder"
                    <input type="file" class="visually-hidden" prop:webkitdirectory=true multiple node_ref=dir_input
                        data-testid=format!("{id}-dir")
                        on:change=move |_| on_pick(dir_input.get())/>
                </label>
                <label class="button secondary">
                    "Choose files"
                    <input type="file" class="visually-hidden" multiple node_ref=file_input
                        data-testid=format!("{id}-files")
                        on:change=move |_| on_pick(file_input.get())/>
                </label>
                {with_sample.then(|| view! { <button class="button" id="try-sample" on:click=sample>"Try the sample model"</button> })}
            </div>
        </section>
    }
}

#[component]
pub fn FileList() -> impl IntoView {
    let st = expect_context::<AppState>();
    move || {
        st.report.primary.get().map(|c| {
            let has = |r: Role| c.files.iter().any(|f| f.role == r);
            let mut missing = Vec::new();
            if !has(Role::License) {
                missing.push(match &c.report.summary.declared_license {
                    Some(d) => format!("No license file: the model card or GGUF declares \"{d}\"."),
                    None => "No license file, and no declared license.".to_string(),
                });
            }
            if !has(Role::ModelCard) {
                missing.push("No model card (README.md).".into());
            }
            if !has(Role::Gguf) {
                missing.push("No .gguf model file: the license can be checked, but the model cannot be run here.".into());
            }
            let rows = c.files.clone();
            view! {
                <section class="panel" aria-labelledby="files-h">
                    <h2 id="files-h">{c.name.clone().unwrap_or_else(|| "Dropped files".into())}" — "{rows.len()}" files"</h2>
                    <table class="files" data-testid="file-list">
                        <thead><tr><th>"File"</th><th>"Kind"</th><th class="num">"Size"</th></tr></thead>
                        <tbody>
                            {rows.into_iter().map(|f| view! {
                                <tr><td class="path">{f.path}</td><td>{role_label(f.role)}</td><td class="num">{human_size(f.size)}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    <ul class="missing">{missing.into_iter().map(|m| view! { <li>{m}</li> }).collect_view()}</ul>
                </section>
            }
        })
    }
}

pub fn role_label(r: Role) -> &'static str {
    match r {
        Role::License => "license",
        Role::Notice => "notice",
        Role::UsePolicy => "use policy",
        Role::ModelCard => "model card",
        Role::Config => "config",
        Role::Manifest => "manifest",
        Role::TokenizerConfig => "tokenizer config",
        Role::Tokenizer => "tokenizer",
        Role::Gguf => "weights (GGUF)",
        Role::Weights => "weights",
        Role::Other => "other",
    }
}

#[component]
fn PrivacyBadge() -> impl IntoView {
    let now = || web_sys::window().map(|w| w.navigator().on_line()).unwrap_or(true);
    let online = RwSignal::new(now());
    // Removed with the component, unlike a leaked closure.
    let on = window_event_listener(leptos::ev::online, move |_| online.set(now()));
    let off = window_event_listener(leptos::ev::offline, move |_| online.set(now()));
    on_cleanup(move || {
        on.remove();
        off.remove();
    });
    view! {
        <p class="badge" role="status" data-testid="privacy">
            {move || if online.get() { "online" } else { "offline" }}
            " · nothing leaves this device"
        </p>
    }
}

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let st = AppState::new();
    provide_context(st);
    // Start the worker with the page, so every static asset is fetched at load
    // and nothing at all is requested while a folder is checked or a model runs.
    if let Err(e) = st.chat.worker().ensure(move |ev| chat::on_event(st.chat, ev)) {
        st.error.set(Some(e));
    }
    view! {
        <header class="top">
            <div>
                <h1>"Fine Print"</h1>
                <p class="tagline">"What does this model's license actually let me do?"</p>
            </div>
            <PrivacyBadge/>
        </header>
        <main>
            <DropZone target=Slot::Primary title="Check a model folder" with_sample=true/>
            <Busy/>
            <PageErrors/>
            <FileList/>
            <report_view::Report/>
            <report_view::UseForm/>
            <chat::Chat/>
            <kept::KeptModels/>
            <report_view::Compare/>
        </main>
        <footer>
            <p>"Fine Print reads licenses on your device and runs models in your browser. It is not legal advice: read the quoted clauses, and ask a lawyer when it matters."</p>
            <p class="credit">{fineprint_license::known::DATA_CREDIT}</p>
        </footer>
    }
}

/// Registers the service worker that makes the page work offline after one visit.
pub fn register_service_worker() {
    let Some(w) = web_sys::window() else { return };
    // Service workers need a page served over HTTP(S) (https:, or http: on
    // loopback), not a file: URL.
    let served = w.location().protocol().is_ok_and(|p| p == "https:" || p == "http:");
    if served && js_sys::Reflect::has(&w.navigator(), &"serviceWorker".into()).unwrap_or(false) {
        let _ = w.navigator().service_worker().register("sw.js");
    }
}
