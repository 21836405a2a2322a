//! "Keep on this device": the dropped folder stored in the Origin Private
//! File System (with persistent storage asked for), a panel of what is kept
//! with sizes and the quota, and a kept model opened again without
//! re-dropping it — through the same check and load as a dropped folder.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::prelude::*;

use crate::error::{js_detail, PageError};
use crate::folder::{human_size, Entry};
use crate::state::AppState;
use crate::Slot;

#[wasm_bindgen(module = "/src/kept.js")]
extern "C" {
    #[wasm_bindgen(catch, js_name = keep)]
    async fn js_keep(folder: &str, entries: JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = list)]
    async fn js_list() -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = open)]
    async fn js_open(folder: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = remove)]
    async fn js_remove(folder: &str) -> Result<JsValue, JsValue>;
}

/// One kept model as the panel lists it.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
pub struct KeptModel {
    pub name: String,
    pub size: f64,
    pub files: u32,
}

#[derive(Clone, Debug, PartialEq, Default, serde::Deserialize)]
pub struct Storage {
    pub models: Vec<KeptModel>,
    pub usage: f64,
    pub quota: f64,
    pub persisted: bool,
}

async fn storage() -> Result<Storage, PageError> {
    let v = js_list().await.map_err(|e| PageError::Storage(js_detail(&e)))?;
    serde_wasm_bindgen::from_value(v).map_err(|e| PageError::Storage(e.to_string()))
}

/// One file handed to the JavaScript side: its path and the browser's own blob.
#[derive(serde::Serialize)]
struct KeptFile<'a> {
    path: &'a str,
    #[serde(with = "serde_wasm_bindgen::preserve")]
    file: JsValue,
}

/// One kept file handed back: the `File` object itself, kept as it is.
#[derive(serde::Deserialize)]
struct OpenedFile {
    path: String,
    #[serde(with = "serde_wasm_bindgen::preserve")]
    file: JsValue,
}

/// A kept folder's name: the dropped folder's, else the model file's.
fn folder_name(name: Option<String>, entries: &[Entry]) -> String {
    name.or_else(|| {
        entries.iter().max_by_key(|e| e.size).map(|e| e.path.rsplit('/').next().unwrap_or(&e.path).to_owned())
    })
    .unwrap_or_else(|| "model".into())
    .replace(['/', '\\'], "_")
}

#[component]
pub fn KeptModels() -> impl IntoView {
    let st = expect_context::<AppState>();
    // What is kept, read again after each keep or remove.
    let store = LocalResource::new(storage);
    // What the last action did, or why it failed (for the boundary below).
    let status = RwSignal::new(None::<Result<String, PageError>>);
    let keep = move |_| {
        let Some(checked) = st.report.primary.get_untracked() else { return };
        let entries = st.report.files.get_value();
        let name = folder_name(checked.name.clone(), &entries);
        let total: u64 = entries.iter().map(|e| e.size).sum();
        status.set(Some(Ok(format!("Keeping {name} ({}) on this device…", human_size(total)))));
        spawn_local(async move {
            let files: Vec<KeptFile> =
                entries.iter().map(|e| KeptFile { path: &e.path, file: e.blob.clone().into() }).collect();
            let kept = match serde_wasm_bindgen::to_value(&files) {
                Ok(files) => js_keep(&name, files).await,
                Err(e) => Err(JsValue::from_str(&e.to_string())),
            };
            match kept {
                Ok(persisted) => status.set(Some(Ok(format!(
                    "Kept {name} on this device{}.",
                    if persisted.as_bool() == Some(true) {
                        " (persistent storage granted)"
                    } else {
                        "; the browser may clear it when space runs low"
                    }
                )))),
                Err(e) => status.set(Some(Err(PageError::Keep { name, detail: js_detail(&e) }))),
            }
            store.refetch();
        });
    };
    let open = move |name: String| {
        spawn_local(async move {
            let opened = js_open(&name)
                .await
                .and_then(|v| serde_wasm_bindgen::from_value::<Vec<OpenedFile>>(v).map_err(JsValue::from));
            match opened {
                Ok(files) => {
                    let entries: Vec<Entry> = files
                        .into_iter()
                        .filter_map(|f| {
                            let blob: web_sys::Blob = f.file.dyn_into().ok()?;
                            Some(Entry { path: f.path, size: blob.size() as u64, blob })
                        })
                        .collect();
                    st.check_folder(Slot::Primary, Some(name), entries);
                }
                Err(e) => status.set(Some(Err(PageError::KeptOpen { name, detail: js_detail(&e) }))),
            }
        });
    };
    let remove = move |name: String| {
        spawn_local(async move {
            status.set(Some(match js_remove(&name).await {
                Ok(_) => Ok(format!("Removed {name} from this device.")),
                Err(e) => Err(PageError::KeptRemove { name, detail: js_detail(&e) }),
            }));
            store.refetch();
        });
    };
    // A failed listing is shown as the status; the panel stays usable.
    Effect::new(move |_| {
        if let Some(Err(e)) = store.get() {
            status.set(Some(Err(e)));
        }
    });
    let kept = move || store.get().and_then(Result::ok).unwrap_or_default();
    let can_keep = move || st.report.primary.with(|c| c.as_ref().is_some_and(|c| c.gguf().is_some()));
    view! {
        <section class="panel kept" data-testid="kept" aria-label="Kept on this device">
            <h2>"Kept on this device"</h2>
            <p class="muted" data-testid="quota">{move || {
                let s = kept();
                format!("{} used of {} this site may use{}", human_size(s.usage as u64), human_size(s.quota as u64),
                    if s.persisted { " · persistent" } else { "" })
            }}</p>
            <ul>
                {move || kept().models.into_iter().map(|m| {
                    let (n1, n2) = (m.name.clone(), m.name.clone());
                    view! {
                        <li data-testid="kept-model" data-name=m.name.clone()>
                            <span>{format!("{} · {} files · {}", m.name, m.files, human_size(m.size as u64))}</span>
                            " "
                            <button class="button secondary kept-open" on:click=move |_| open(n1.clone())>"Open"</button>
                            " "
                            <button class="button secondary kept-remove" on:click=move |_| remove(n2.clone())>"Remove"</button>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <button class="button secondary" id="keep" disabled=move || !can_keep() on:click=keep>
                "Keep the checked model on this device"
            </button>
            <ErrorBoundary fallback=|errors| view! { <crate::ErrorList errors testid="kept-status"/> }>
                {move || status.get().transpose().map(|s| s.map(|s| view! { <p class="muted" role="status" data-testid="kept-status">{s}</p> }))}
            </ErrorBoundary>
        </section>
    }
}
