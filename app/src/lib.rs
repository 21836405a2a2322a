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

use fineprint_license::discover::Role;
use fineprint_license::text;
use leptos::prelude::*;
use leptos::task::spawn_local;

use error::PageError;
use folder::{human_size, Entry};
use state::{AppState, Checked};

#[derive(Clone, Copy, PartialEq)]
pub enum Slot {
    Primary,
    Compare,
}

/// Checks a folder and shows it; the dropped files stay in memory untouched.
pub fn check_folder(st: AppState, slot: Slot, name: Option<String>, entries: Vec<Entry>) {
    st.error.set(None);
    if entries.is_empty() {
        st.error.set(Some(PageError::EmptyDrop));
        return;
    }
    st.busy.set(Some(format!("Reading {} files…", entries.len())));
    spawn_local(async move {
        let (inputs, read_errors) = folder::license_inputs(&entries).await;
        let mut report = fineprint_license::check(&inputs);
        for (file, message) in read_errors {
            report.problems.push(fineprint_license::report::Problem { file, message });
        }
        let docs = inputs
            .iter()
            .filter(|f| {
                matches!(
                    fineprint_license::discover::role(&f.path),
                    Role::License | Role::Notice | Role::UsePolicy | Role::ModelCard
                )
            })
            .filter_map(|f| text::decode(&f.bytes, f.size).ok().map(|(t, _)| (f.path.clone(), t)))
            .collect();
        let files =
            entries.iter().map(|e| (e.path.clone(), e.size, fineprint_license::discover::role(&e.path))).collect();
        let checked = Checked { name, files, report, docs };
        match slot {
            Slot::Primary => {
                st.files.set_value(entries);
                st.acked.set(storage::get_flag(&checked.ack_key()));
                st.viewer.set(None);
                st.messages.set(Vec::new());
                st.stats.set(None);
                st.model.set(state::ModelState::Idle);
                st.worker().send(&fineprint_protocol::Request::Unload, &[]);
                st.primary.set(Some(checked));
            }
            Slot::Compare => st.compare.set(Some(checked)),
        }
        st.busy.set(None);
    });
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

/// The page's own errors (a drop that could not be read, the sample missing,
/// the worker not starting), through an `ErrorBoundary`.
#[component]
pub fn PageErrors() -> impl IntoView {
    let st = expect_context::<AppState>();
    view! {
        <ErrorBoundary fallback=|errors| view! { <ErrorList errors testid="error"/> }>
            {move || st.error.get().map_or(Ok(()), Err)}
        </ErrorBoundary>
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
                Ok((name, entries)) => check_folder(st, slot, name, entries),
                Err(e) => st.error.set(Some(e)),
            }
        });
    };
    let on_pick = move |input: Option<web_sys::HtmlInputElement>| {
        if let Some(input) = input {
            let (name, entries) = folder::from_input(&input);
            check_folder(st, slot, name, entries);
            input.set_value("");
        }
    };
    let sample = move |_| {
        st.busy.set(Some("Loading the sample folder from this page's own server…".into()));
        spawn_local(async move {
            match folder::sample().await {
                Ok((name, entries)) => check_folder(st, slot, name, entries),
                Err(e) => {
                    st.busy.set(None);
                    st.error.set(Some(e));
                }
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
        st.primary.get().map(|c| {
            let has = |r: Role| c.files.iter().any(|f| f.2 == r);
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
                            {rows.into_iter().map(|(p, s, r)| view! {
                                <tr><td class="path">{p}</td><td>{role_label(r)}</td><td class="num">{human_size(s)}</td></tr>
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
    if let Err(e) = st.worker().ensure(move |ev| chat::on_event(st, ev)) {
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
            {move || st.busy.get().map(|b| view! { <p class="busy" role="status">{b}</p> })}
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
    let secure = w.location().protocol().is_ok_and(|p| p == "https:" || p == "http:");
    if secure && js_sys::Reflect::has(&w.navigator(), &"serviceWorker".into()).unwrap_or(false) {
        let _ = w.navigator().service_worker().register("sw.js");
    }
}
