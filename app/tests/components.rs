//! The page's components mounted alone in headless Chromium: the drop zone,
//! the page's error boundary, the file list and the report, fed a folder made
//! of in-memory files through the same check action a drop dispatches.
#![cfg(target_arch = "wasm32")]

use fineprint_app::chat::{on_event, Chat};
use fineprint_app::error::PageError;
use fineprint_app::folder::Entry;
use fineprint_app::report_view::Report;
use fineprint_app::state::AppState;
use fineprint_app::{DropZone, FileList, PageErrors, Slot};
use fineprint_protocol::{DotSums, Event, Phase, Simd, SumsTimed};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Mounts `f` with a fresh app state in its own element; returns both.
fn mount<V: IntoView + 'static>(f: impl FnOnce() -> V + 'static) -> (web_sys::HtmlElement, AppState) {
    let doc = web_sys::window().and_then(|w| w.document()).expect("a document");
    let host: web_sys::HtmlElement = doc.create_element("div").expect("a div").unchecked_into();
    doc.body().expect("a body").append_child(&host).expect("appended");
    let st = AppState::new();
    leptos::mount::mount_to(host.clone(), move || {
        provide_context(st);
        f()
    })
    .forget();
    (host, st)
}

fn file(path: &str, text: &str) -> Entry {
    let parts = js_sys::Array::of1(&text.into());
    let blob = web_sys::Blob::new_with_str_sequence(&parts).expect("a blob");
    Entry { path: path.into(), size: blob.size() as u64, blob }
}

/// Waits (up to 5 s) for `cond`, letting the page's tasks run.
async fn until(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..500 {
        if cond() {
            return;
        }
        gloo_timers::future::TimeoutFuture::new(10).await;
    }
    panic!("timed out waiting for {what}");
}

const MIT: &str = "MIT License\n\nCopyright (c) 2024 Someone\n\nPermission is hereby granted, free of charge, to any person obtaining a copy of this software and associated documentation files (the \"Software\"), to deal in the Software without restriction, including without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the following conditions:\n\nThe above copyright notice and this permission notice shall be included in all copies or substantial portions of the Software.\n\nTHE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.\n";

fn text(host: &web_sys::HtmlElement, selector: &str) -> Option<String> {
    host.query_selector(selector).ok().flatten().and_then(|e| e.text_content())
}

#[wasm_bindgen_test]
fn the_drop_zone_offers_a_folder_a_file_and_the_sample() {
    let (host, _) = mount(|| view! { <DropZone target=Slot::Primary title="Check a model folder" with_sample=true/> });
    assert_eq!(text(&host, "h2").as_deref(), Some("Check a model folder"));
    let dir = host.query_selector("[data-testid=drop-primary-dir]").unwrap().expect("a folder input");
    assert!(dir.has_attribute("multiple"));
    assert!(host.query_selector("#try-sample").unwrap().is_some(), "the sample button");
    assert!(host.query_selector("section.dropzone").unwrap().is_some());
}

#[wasm_bindgen_test]
async fn an_empty_drop_is_an_error_in_the_boundary_and_a_good_folder_clears_it() {
    let (host, st) = mount(|| view! { <PageErrors/><FileList/><Report/> });
    st.check_folder(Slot::Primary, None, Vec::new());
    until("the error", || text(&host, "[data-testid=error]").is_some()).await;
    assert_eq!(st.check.value().get_untracked(), Some(Err(PageError::EmptyDrop)));
    assert!(text(&host, "[data-testid=error]").unwrap().contains("The drop held no files"));
    assert_eq!(
        host.query_selector("[data-testid=error]").unwrap().unwrap().get_attribute("role").as_deref(),
        Some("alert")
    );

    let card = "---\nlicense: mit\n---\n# A model\n";
    st.check_folder(Slot::Primary, Some("tiny".into()), vec![file("README.md", card), file("LICENSE", MIT)]);
    until("the report", || st.report.primary.with_untracked(Option::is_some)).await;
    until("the error to clear", || text(&host, "[data-testid=error]").is_none()).await;
    let files = text(&host, "[data-testid=file-list]").expect("the file list");
    assert!(files.contains("LICENSE") && files.contains("README.md"), "{files}");
    let summary = st.report.primary.get_untracked().unwrap().report.summary.clone();
    // The id as the Hugging Face hub spells it, and the SPDX one.
    assert_eq!(summary.license_id.as_deref(), Some("mit"));
    assert_eq!(summary.spdx.as_deref(), Some("MIT"));
    assert!(summary.osi_approved);
    assert!(host.text_content().unwrap_or_default().contains("MIT"), "the report names the license");
}

/// The model panel as the worker's events set it: the warm-up is a loading
/// step of its own (counted in tokens, so no sizes), and the engine line
/// records which dot product the worker timed faster, with both timings.
#[wasm_bindgen_test]
async fn the_model_panel_shows_the_warm_up_and_the_workers_dot_product() {
    let (host, st) = mount(|| view! { <Chat/> });
    st.check_folder(Slot::Primary, Some("tiny".into()), vec![file("LICENSE", MIT), file("tiny.gguf", "GGUF")]);
    until("the report", || st.report.primary.with_untracked(Option::is_some)).await;
    st.chat.acked.set(true);
    on_event(st.chat, Event::Progress { phase: Phase::Loading, done: 1 << 20, total: 2 << 20 });
    until("the loading step", || text(&host, "[data-testid=progress]").is_some()).await;
    let loading = text(&host, "[data-testid=progress]").unwrap();
    assert!(loading.starts_with("Loading weights") && loading.contains(" of "), "{loading}");
    on_event(st.chat, Event::Progress { phase: Phase::WarmingUp, done: 0, total: 1 });
    until("the warm-up step", || text(&host, "[data-testid=progress]").is_some_and(|t| t.starts_with("Warming up")))
        .await;
    assert!(!text(&host, "[data-testid=progress]").unwrap().contains(" of "), "no sizes for the warm-up");

    let engine = || host.query_selector("[data-testid=engine]").unwrap();
    let dot_sums = DotSums {
        token: SumsTimed { in_i16: true, i32_ms: 5.6, i16_ms: 4.5 },
        prompt: SumsTimed { in_i16: false, i32_ms: 7.5, i16_ms: 9.3 },
    };
    on_event(st.chat, Event::Ready { threads: 1, simd: Simd::Relaxed, dot_sums: Some(dot_sums) });
    until("the engine line", || engine().is_some()).await;
    let line = engine().unwrap();
    assert_eq!(line.get_attribute("data-simd").as_deref(), Some("relaxed"));
    assert_eq!(line.get_attribute("data-token-sums").as_deref(), Some("i16"));
    assert_eq!(line.get_attribute("data-prompt-sums").as_deref(), Some("i32"));
    let title = line.get_attribute("title").unwrap_or_default();
    assert!(title.contains("16-bit lanes for a token (4.5 ms against 5.6 ms"), "{title}");
    assert!(title.contains("32-bit lanes for a prompt (7.5 ms against 9.3 ms"), "{title}");

    on_event(st.chat, Event::Ready { threads: 1, simd: Simd::Simd128, dot_sums: None });
    until("the simd128 engine line", || {
        engine().and_then(|e| e.get_attribute("data-simd")).as_deref() == Some("simd128")
    })
    .await;
    let line = engine().unwrap();
    let sums = [line.get_attribute("data-token-sums"), line.get_attribute("data-prompt-sums")];
    assert_eq!(sums, [None, None], "no relaxed dot product to choose");
}
