//! The dropped folder: walking it, reading what the license check asks for,
//! and the sample model served from the page's own origin.

use fineprint_license::{discover, InputFile, ReadPlan};
use js_sys::{Array, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::Blob;

use crate::error::{js_detail, PageError};

#[wasm_bindgen(inline_js = r#"
// Directory entries only offer callbacks; this walks them into [{path, file}].
function entryFiles(entry, prefix, out, depth) {
  if (entry.isFile) {
    return new Promise((res) => entry.file((f) => { out.push({ path: prefix + f.name, file: f }); res(); }, () => res()));
  }
  if (!entry.isDirectory || depth > 32) return Promise.resolve();
  const reader = entry.createReader();
  return new Promise((res) => {
    const all = [];
    const next = () => reader.readEntries((batch) => {
      if (batch.length === 0) {
        Promise.all(all.map((e) => entryFiles(e, prefix + entry.name + "/", out, depth + 1))).then(() => res());
      } else { all.push(...batch); next(); }
    }, () => res());
    next();
  });
}
export async function filesFromDrop(dt) {
  const out = [];
  const entries = [];
  for (const item of dt.items) {
    const e = item.webkitGetAsEntry ? item.webkitGetAsEntry() : null;
    if (e) entries.push(e); else { const f = item.getAsFile(); if (f) out.push({ path: f.name, file: f }); }
  }
  await Promise.all(entries.map((e) => entryFiles(e, "", out, 0)));
  return out;
}
export function filesFromInput(input) {
  return Array.from(input.files || []).map((f) => ({ path: f.webkitRelativePath || f.name, file: f }));
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = filesFromDrop)]
    fn files_from_drop(dt: &web_sys::DataTransfer) -> js_sys::Promise;
    #[wasm_bindgen(js_name = filesFromInput)]
    fn files_from_input(input: &web_sys::HtmlInputElement) -> Array;
}

/// One file of a dropped folder, path relative to the folder.
#[derive(Clone)]
pub struct Entry {
    pub path: String,
    pub size: u64,
    pub blob: Blob,
}

/// A single dropped folder's name is a prefix of every path: drop it, so
/// paths read "LICENSE", not "Llama-3.1-8B/LICENSE".
fn strip_common_root(mut entries: Vec<Entry>) -> (Option<String>, Vec<Entry>) {
    let first_dir = entries.first().and_then(|e| e.path.split_once('/').map(|(d, _)| d.to_owned()));
    if let Some(dir) = first_dir {
        let prefix = format!("{dir}/");
        if entries.iter().all(|e| e.path.starts_with(&prefix)) {
            for e in &mut entries {
                e.path = e.path[prefix.len()..].to_owned();
            }
            return (Some(dir), entries);
        }
    }
    (None, entries)
}

fn from_pairs(arr: Array) -> Vec<Entry> {
    arr.iter()
        .filter_map(|v| {
            let path = Reflect::get(&v, &"path".into()).ok()?.as_string()?;
            let blob: Blob = Reflect::get(&v, &"file".into()).ok()?.dyn_into().ok()?;
            Some(Entry { path, size: blob.size() as u64, blob })
        })
        .collect()
}

pub async fn from_drop(dt: &web_sys::DataTransfer) -> Result<(Option<String>, Vec<Entry>), PageError> {
    let v = JsFuture::from(files_from_drop(dt)).await.map_err(|e| PageError::DropRead(js_detail(&e)))?;
    Ok(strip_common_root(from_pairs(v.unchecked_into())))
}

pub fn from_input(input: &web_sys::HtmlInputElement) -> (Option<String>, Vec<Entry>) {
    strip_common_root(from_pairs(files_from_input(input)))
}

async fn fetch_blob(url: &str) -> Result<Blob, PageError> {
    let failed = |detail: String| PageError::Fetch { url: url.to_owned(), detail };
    let window = web_sys::window().ok_or_else(|| failed("no window".into()))?;
    let resp = JsFuture::from(window.fetch_with_str(url)).await.map_err(|e| failed(js_detail(&e)))?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| failed("not a response".into()))?;
    if !resp.ok() {
        return Err(failed(format!("HTTP {}", resp.status())));
    }
    let blob =
        JsFuture::from(resp.blob().map_err(|e| failed(js_detail(&e)))?).await.map_err(|e| failed(js_detail(&e)))?;
    blob.dyn_into().map_err(|_| failed("not a blob".into()))
}

/// The sample folder the set-up placed beside the page (`sample/index.json` lists it).
pub async fn sample() -> Result<(Option<String>, Vec<Entry>), PageError> {
    let index = fetch_blob("sample/index.json").await.map_err(|e| PageError::SampleMissing(e.to_string()))?;
    let missing = |detail: String| PageError::SampleMissing(format!("sample/index.json: {detail}"));
    let text = JsFuture::from(index.text()).await.map_err(|e| missing(js_detail(&e)))?.as_string().unwrap_or_default();
    let idx: serde_json::Value = serde_json::from_str(&text).map_err(|e| missing(e.to_string()))?;
    let folder = idx.get("folder").and_then(|f| f.as_str()).unwrap_or("").to_owned();
    let mut out = Vec::new();
    for name in idx.get("files").and_then(|f| f.as_array()).into_iter().flatten().filter_map(|n| n.as_str()) {
        let blob = fetch_blob(&format!("sample/{folder}/{name}")).await?;
        out.push(Entry { path: name.to_owned(), size: blob.size() as u64, blob });
    }
    Ok((Some(folder), out))
}

pub async fn read_bytes(blob: &Blob, n: u64) -> Result<Vec<u8>, PageError> {
    let failed = |e: JsValue| PageError::FileRead(js_detail(&e));
    let part = blob.slice_with_f64_and_f64(0.0, n.min(blob.size() as u64) as f64).map_err(failed)?;
    let ab = JsFuture::from(part.array_buffer()).await.map_err(failed)?;
    Ok(Uint8Array::new(&ab).to_vec())
}

/// Reads, from each file, only what the license check needs.
pub async fn license_inputs(entries: &[Entry]) -> (Vec<InputFile>, Vec<(String, String)>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for e in entries {
        let want = match discover::plan(&e.path, e.size) {
            ReadPlan::Whole(n) | ReadPlan::Head(n) => n as u64,
            ReadPlan::Skip => 0,
        };
        let bytes = if want > 0 {
            match read_bytes(&e.blob, want).await {
                Ok(b) => b,
                Err(err) => {
                    errors.push((e.path.clone(), err.to_string()));
                    Vec::new()
                }
            }
        } else {
            Vec::new()
        };
        out.push(InputFile { path: e.path.clone(), size: e.size, bytes });
    }
    (out, errors)
}

pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
