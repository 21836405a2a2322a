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
use crate::{check_folder, Slot};

#[wasm_bindgen(inline_js = r#"
async function keptRoot(create) {
  if (!navigator.storage || !navigator.storage.getDirectory) throw new Error("this browser has no Origin Private File System");
  const root = await navigator.storage.getDirectory();
  return root.getDirectoryHandle("kept", { create });
}
async function walk(dir, prefix, out) {
  for await (const [name, h] of dir.entries()) {
    if (h.kind === "file") out.push({ path: prefix + name, file: await h.getFile() });
    else await walk(h, prefix + name + "/", out);
  }
  return out;
}
// A marker written last: a half-written folder (a full disk, a closed tab) never shows as kept.
const COMPLETE = ".fineprint-complete";
export async function keep(folder, entries) {
  // Firefox asks the person before granting persistence: ask, but do not wait on the answer to write.
  const persisting = navigator.storage.persist ? navigator.storage.persist().catch(() => false) : Promise.resolve(false);
  const kept = await keptRoot(true);
  try { await kept.removeEntry(folder, { recursive: true }); } catch (_) {}
  const dir = await kept.getDirectoryHandle(folder, { create: true });
  try {
    for (const e of entries) {
      const parts = e.path.split("/");
      let d = dir;
      for (const p of parts.slice(0, -1)) d = await d.getDirectoryHandle(p, { create: true });
      const fh = await d.getFileHandle(parts[parts.length - 1], { create: true });
      if (!fh.createWritable) throw new Error("this browser cannot write files to its private storage");
      const w = await fh.createWritable();
      await w.write(e.file);
      await w.close();
    }
    await dir.getFileHandle(COMPLETE, { create: true });
  } catch (err) {
    try { await kept.removeEntry(folder, { recursive: true }); } catch (_) {}
    throw err;
  }
  return Promise.race([persisting, new Promise((r) => setTimeout(() => r(false), 1000))]);
}
async function complete(dir) {
  try { await dir.getFileHandle(COMPLETE); return true; } catch (_) { return false; }
}
export async function list() {
  const est = navigator.storage && navigator.storage.estimate ? await navigator.storage.estimate() : {};
  const persisted = navigator.storage && navigator.storage.persisted ? await navigator.storage.persisted() : false;
  const models = [];
  let kept;
  try { kept = await keptRoot(false); } catch (_) { kept = null; }
  if (kept) {
    for await (const [name, h] of kept.entries()) {
      if (h.kind !== "directory" || !(await complete(h))) continue;
      const files = (await walk(h, "", [])).filter((f) => f.path !== COMPLETE);
      models.push({ name, size: files.reduce((a, f) => a + f.file.size, 0), files: files.length });
    }
  }
  models.sort((a, b) => a.name.localeCompare(b.name));
  return { models, usage: est.usage || 0, quota: est.quota || 0, persisted };
}
export async function open(folder) {
  const kept = await keptRoot(false);
  return (await walk(await kept.getDirectoryHandle(folder), "", [])).filter((f) => f.path !== COMPLETE);
}
export async function remove(folder) {
  const kept = await keptRoot(false);
  await kept.removeEntry(folder, { recursive: true });
}
"#)]
extern "C" {
    #[wasm_bindgen(catch, js_name = keep)]
    async fn js_keep(folder: &str, entries: js_sys::Array) -> Result<JsValue, JsValue>;
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
    let failed = |e: JsValue| PageError::Storage(js_detail(&e));
    let v = js_list().await.map_err(failed)?;
    let json = js_sys::JSON::stringify(&v).map_err(failed)?;
    serde_json::from_str(&String::from(json)).map_err(|e| PageError::Storage(e.to_string()))
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
    let store = RwSignal::new(Storage::default());
    // What the last action did, or why it failed (for the boundary below).
    let status = RwSignal::new(None::<Result<String, PageError>>);
    let refresh = move || {
        spawn_local(async move {
            match storage().await {
                Ok(s) => store.set(s),
                Err(e) => status.set(Some(Err(e))),
            }
        })
    };
    refresh();
    let keep = move |_| {
        let Some(checked) = st.primary.get_untracked() else { return };
        let entries = st.files.get_value();
        let name = folder_name(checked.name.clone(), &entries);
        let total: u64 = entries.iter().map(|e| e.size).sum();
        status.set(Some(Ok(format!("Keeping {name} ({}) on this device…", human_size(total)))));
        spawn_local(async move {
            let arr = js_sys::Array::new();
            for e in &entries {
                let o = js_sys::Object::new();
                let _ = js_sys::Reflect::set(&o, &"path".into(), &e.path.clone().into());
                let _ = js_sys::Reflect::set(&o, &"file".into(), &e.blob);
                arr.push(&o);
            }
            match js_keep(&name, arr).await {
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
            refresh();
        });
    };
    let open = move |name: String| {
        spawn_local(async move {
            match js_open(&name).await {
                Ok(v) => {
                    let arr: js_sys::Array = v.unchecked_into();
                    let entries: Vec<Entry> = arr
                        .iter()
                        .filter_map(|v| {
                            let path = js_sys::Reflect::get(&v, &"path".into()).ok()?.as_string()?;
                            let blob: web_sys::Blob = js_sys::Reflect::get(&v, &"file".into()).ok()?.dyn_into().ok()?;
                            Some(Entry { path, size: blob.size() as u64, blob })
                        })
                        .collect();
                    check_folder(st, Slot::Primary, Some(name), entries);
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
            refresh();
        });
    };
    let can_keep = move || st.primary.get().is_some_and(|c| c.gguf().is_some());
    view! {
        <section class="panel kept" data-testid="kept" aria-label="Kept on this device">
            <h2>"Kept on this device"</h2>
            <p class="muted" data-testid="quota">{move || {
                let s = store.get();
                format!("{} used of {} this site may use{}", human_size(s.usage as u64), human_size(s.quota as u64),
                    if s.persisted { " · persistent" } else { "" })
            }}</p>
            <ul>
                {move || store.get().models.into_iter().map(|m| {
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
