//! Trying the model: acknowledge its license, load it in the worker, chat.

use fineprint_license::discover::Role;
use fineprint_protocol::{Event, Phase, Request, Role as ChatRole, Simd, StopReason, SumsTimed};
use leptos::prelude::*;

use crate::error::PageError;
use crate::folder::human_size;
use crate::state::{AppState, ChatState, EngineInfo, ModelState};

fn today() -> String {
    let d = js_sys::Date::new_0();
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!("{:02} {} {}", d.get_date(), MONTHS[d.get_month() as usize % 12], d.get_full_year())
}

pub fn on_event(st: ChatState, e: Event) {
    match e {
        Event::Ready { threads, simd, dot_sums } => st.engine.set(Some(EngineInfo { threads, simd, sums: dot_sums })),
        Event::Progress { phase, done, total } => st.model.set(ModelState::Loading { phase, done, total }),
        Event::Loaded { info, load_ms, memory_bytes } => {
            st.stats.update(|s| {
                let mut n = s.clone().unwrap_or_default();
                n.load_ms = load_ms;
                n.memory_bytes = memory_bytes;
                *s = Some(n);
            });
            st.model.set(ModelState::Ready(info));
        }
        Event::Token { text, .. } => st.append_reply(&text),
        Event::Done { reason, stats, ids, margins } => {
            st.generating.set(false);
            st.last_ids.set(ids);
            st.last_margins.set(margins);
            let load_ms = st.stats.get_untracked().map_or(0.0, |s| s.load_ms);
            st.stats.set(Some(fineprint_protocol::Stats { load_ms, ..stats }));
            st.notice.set(match reason {
                StopReason::Stopped => Some("Stopped.".into()),
                StopReason::MaxTokens => {
                    Some("Reached the token limit; raise \"Max new tokens\" for longer replies.".into())
                }
                StopReason::ContextFull => {
                    Some("The conversation filled the model's context; start a new chat.".into())
                }
                StopReason::EndOfTurn => None,
            });
        }
        Event::Error { message, fatal } => {
            st.generating.set(false);
            if fatal {
                st.model.set(ModelState::Failed(PageError::Model(message)));
            } else {
                st.notice.set(Some(message));
            }
        }
        Event::Unloaded => st.model.set(ModelState::Idle),
        // The answer to the benchmark's `ReadBandwidth`, which the page does not send.
        Event::Bandwidth { .. } => {}
    }
}

fn load_model(st: AppState) {
    let files = st.report.files.get_value();
    let Some(gguf) =
        files.iter().filter(|e| fineprint_license::discover::role(&e.path) == Role::Gguf).max_by_key(|e| e.size)
    else {
        st.chat.model.set(ModelState::Failed(PageError::NoGguf));
        return;
    };
    let find = |name: &str| files.iter().find(|e| e.path.rsplit('/').next() == Some(name));
    if let Err(e) = st.chat.worker().ensure(move |ev| on_event(st.chat, ev)) {
        st.chat.model.set(ModelState::Failed(e));
        return;
    }
    st.chat.model.set(ModelState::Loading { phase: Phase::Reading, done: 0, total: gguf.size });
    let tok = find("tokenizer.json");
    let cfg = find("tokenizer_config.json");
    let req =
        Request::Load { model_name: gguf.path.clone(), tokenizer_name: tok.map(|t| t.path.clone()), today: today() };
    let mut att: Vec<(&str, &web_sys::Blob)> = vec![("model", &gguf.blob)];
    if let Some(t) = tok {
        att.push(("tokenizer", &t.blob));
    }
    if let Some(c) = cfg {
        att.push(("tokenizer_config", &c.blob));
    }
    st.chat.worker().send(&req, &att);
}

fn send_prompt(st: AppState, text: String) {
    if text.trim().is_empty() || st.chat.generating.get_untracked() {
        return;
    }
    st.chat.notice.set(None);
    st.chat.push_message(ChatRole::User, text.clone());
    st.chat.push_message(ChatRole::Assistant, String::new());
    st.chat.generating.set(true);
    let system = Some(st.chat.system.get_untracked()).filter(|s| !s.trim().is_empty());
    st.chat.worker().send(&Request::Chat { message: text, system, sampling: st.chat.sampling.get_untracked() }, &[]);
}

fn phase_label(p: Phase) -> &'static str {
    match p {
        Phase::Reading => "Reading the header",
        Phase::Parsing => "Checking architecture and memory",
        Phase::Tokenizer => "Building the tokenizer",
        Phase::Loading => "Loading weights",
        Phase::WarmingUp => "Warming up: a few tokens through the model, so that the first reply runs at full speed",
    }
}

#[component]
pub fn Chat() -> impl IntoView {
    let st = expect_context::<AppState>();
    let prompt = RwSignal::new(String::new());
    let ack_box = move || {
        st.report.primary.get().map(|c| {
            let name = c.report.verdict.license_name.clone().unwrap_or_else(|| "no license found".into());
            let key = c.ack_key();
            view! {
                <label class="check ack">
                    <input type="checkbox" id="ack" prop:checked=move || st.chat.acked.get()
                        on:change=move |ev| { let v = event_target_checked(&ev); st.chat.acked.set(v); crate::storage::set_flag(&key, v); }/>
                    {format!(" I have read the license report above and will follow the terms of {name}.")}
                </label>
            }
        })
    };
    let body = move || {
        let c = st.report.primary.get()?;
        let gguf = c.gguf().cloned()?;
        Some(view! {
            <section class="panel chat" aria-labelledby="chat-h" data-testid="chat">
                <h2 id="chat-h">"Try the model"</h2>
                <p class="muted">{format!("{} ({}) runs on this device's CPU, in a background worker.", gguf.path, human_size(gguf.size))}</p>
                {ack_box}
                {move || (!st.chat.acked.get()).then(|| view! { <p class="muted" data-testid="gate">"Read the report and tick the box to open the chat."</p> })}
                {move || st.chat.acked.get().then(|| view! { <ChatBody prompt=prompt/> })}
            </section>
        })
    };
    body
}

#[component]
fn ChatBody(prompt: RwSignal<String>) -> impl IntoView {
    let st = expect_context::<AppState>();
    // A failed load is an error for the boundary below; the other states are views.
    let status = move || -> Result<AnyView, PageError> {
        Ok(match st.chat.model.get() {
        ModelState::Idle => view! {
            <div><button class="button" id="load-model" on:click=move |_| load_model(st)>"Load the model"</button></div>
        }.into_any(),
        ModelState::Loading { phase, done, total } => {
            let pct = if total > 0 { (done as f64 / total as f64 * 100.0).min(100.0) } else { 0.0 };
            view! {
                <div class="progress" role="status" data-testid="progress">
                    <span>{match phase {
                        // Counted in tokens, not bytes: the label says it all.
                        Phase::WarmingUp => phase_label(phase).to_string(),
                        _ => format!("{} — {} of {}", phase_label(phase), human_size(done), human_size(total)),
                    }}</span>
                    <div class="bar"><div class="fill" style:width=format!("{pct:.0}%")></div></div>
                </div>
            }.into_any()
        }
        ModelState::Failed(e) => return Err(e),
        ModelState::Ready(info) => view! {
            <p class="muted" data-testid="model-ready" data-estimated=info.estimated_bytes.to_string()>
                {format!("Loaded {} · {} · {} · tokenizer from {} · memory estimated {} plus {} per 1,000 tokens of conversation{}", info.name, info.architecture, info.quantization, info.tokenizer_source, human_size(info.estimated_bytes), human_size(info.kv_bytes_per_token * 1000),
                    info.cache_budget_bytes.map(|b| format!(" ({} per 1,000 once the cache passes {}: it is then kept in fewer bits, as llama.cpp's q8_0 and q4_0 caches)", human_size(info.kv_bytes_per_token_smallest * 1000), human_size(b))).unwrap_or_default())}
                {info.notes.iter().map(|n| format!(" · {n}")).collect::<String>()}
            </p>
        }.into_any(),
        })
    };
    let ready = move || matches!(st.chat.model.get(), ModelState::Ready(_));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = prompt.get_untracked();
        prompt.set(String::new());
        send_prompt(st, text);
    };
    let s = st.chat.sampling;
    let ids_attr = move || st.chat.last_ids.get().iter().map(u32::to_string).collect::<Vec<String>>().join(",");
    let margins_attr =
        move || st.chat.last_margins.get().iter().map(|m| format!("{m:.3}")).collect::<Vec<String>>().join(",");
    let memory_attr = move || st.chat.stats.get().map(|x| x.memory_bytes.to_string());
    let items = move || st.chat.messages.get();
    let engine = move || {
        st.chat.engine.get().map(|EngineInfo { threads: n, simd, sums: dot_sums }| {
            let threads = match (n, crate::worker_client::isolated()) {
                (1, false) => "1 thread (this page is not cross-origin isolated yet; after a reload, once it works offline, it can use every core)".to_string(),
                (1, true) => "1 thread".to_string(),
                (n, _) => format!("{n} threads (cross-origin isolated page, shared memory)"),
            };
            let (simd_attr, simd_text) = match simd {
                Simd::Relaxed => ("relaxed", "relaxed SIMD"),
                Simd::Simd128 => ("simd128", "SIMD"),
            };
            // Which dot product the worker timed faster on this CPU, for a
            // token and for a prompt: for whoever compares machines, not a
            // choice the person makes.
            let form = |t: &SumsTimed| if t.in_i16 { "i16" } else { "i32" };
            let (token_attr, prompt_attr) = (dot_sums.map(|d| form(&d.token)), dot_sums.map(|d| form(&d.prompt)));
            let sums_title = dot_sums.map(|d| {
                let part = |t: &SumsTimed, of: &str| {
                    let (lanes, chosen, other) =
                        if t.in_i16 { ("16-bit", t.i16_ms, t.i32_ms) } else { ("32-bit", t.i32_ms, t.i16_ms) };
                    format!("in {lanes} lanes for {of} ({chosen:.1} ms against {other:.1} ms the other way)")
                };
                format!(
                    "8-bit dot products summed {} and {}, timed on this CPU",
                    part(&d.token, "a token"),
                    part(&d.prompt, "a prompt")
                )
            });
            view! {
                <p
                    class="muted engine"
                    data-testid="engine"
                    data-threads=n.to_string()
                    data-simd=simd_attr
                    data-token-sums=token_attr
                    data-prompt-sums=prompt_attr
                    title=sums_title
                >
                    {format!("Engine: {threads}; {simd_text}")}
                </p>
            }
        })
    };
    let failed = move |errors: ArcRwSignal<Errors>| {
        view! {
            <crate::ErrorList errors testid="model-error">
                <button class="button secondary" on:click=move |_| load_model(st)>"Try again"</button>
            </crate::ErrorList>
        }
    };
    view! {
        <ErrorBoundary fallback=failed>{status}</ErrorBoundary>
        {engine}
        <div class="messages" aria-live="polite" data-testid="messages">
            <For each=items key=|m| m.id children=move |m| {
                let user = m.role == ChatRole::User;
                view! {
                    <div class=if user { "msg user" } else { "msg assistant" }>
                        <span class="who">{if user { "You" } else { "Model" }}</span>
                        <p>{move || m.content.get()}</p>
                    </div>
                }
            }/>
        </div>
        {move || st.chat.notice.get().map(|n| view! { <p class="notice" role="status" data-testid="notice">{n}</p> })}
        <form class="prompt" on:submit=submit>
            <label for="prompt" class="visually-hidden">"Prompt"</label>
            <textarea id="prompt" rows="3" placeholder="Ask the model something" prop:value=move || prompt.get()
                on:input=move |ev| prompt.set(event_target_value(&ev))
                on:keydown=move |ev: web_sys::KeyboardEvent| {
                    if ev.key() == "Enter" && !ev.shift_key() {
                        ev.prevent_default();
                        let text = prompt.get_untracked();
                        prompt.set(String::new());
                        send_prompt(st, text);
                    }
                }></textarea>
            <div class="buttons">
                <button class="button" type="submit" id="send" disabled=move || !ready() || st.chat.generating.get()>"Send"</button>
                <button class="button secondary" type="button" id="stop" disabled=move || !st.chat.generating.get()
                    on:click=move |_| st.chat.worker().send(&Request::Stop, &[])>"Stop"</button>
                <button class="button secondary" type="button" id="new-chat" disabled=move || st.chat.generating.get()
                    on:click=move |_| { st.chat.worker().send(&Request::Reset, &[]); st.chat.messages.set(Vec::new()); st.chat.notice.set(None); }>"New chat"</button>
            </div>
        </form>
        <p class="stats" data-testid="stats" data-ids=ids_attr data-margins=margins_attr data-memory=memory_attr>{move || st.chat.stats.get().map(|x| format!(
            "load {:.1} s · prompt {} tokens at {:.1} tok/s · {} new tokens at {:.1} tok/s · worker memory {}{}",
            x.load_ms / 1000.0, x.prompt_tokens, x.prompt_tok_s, x.generated_tokens, x.decode_tok_s, human_size(x.memory_bytes),
            x.kv_cache.as_ref().map(|c| format!(" · cache {c}")).unwrap_or_default()))}</p>
        <details class="settings">
            <summary>"Sampling settings"</summary>
            <label>"System prompt " <input prop:value=move || st.chat.system.get() on:change=move |ev| st.chat.system.set(event_target_value(&ev))/></label>
            <label>"Temperature (0 = greedy) " <input type="number" step="0.1" min="0" max="2" id="temperature" prop:value=move || s.get().temperature.to_string()
                on:change=move |ev| { if let Ok(v) = event_target_value(&ev).parse() { s.update(|x| x.temperature = v) } }/></label>
            <label>"Top-k " <input type="number" min="0" prop:value=move || s.get().top_k.unwrap_or(0).to_string()
                on:change=move |ev| { if let Ok(v) = event_target_value(&ev).parse::<usize>() { s.update(|x| x.top_k = (v > 0).then_some(v)) } }/></label>
            <label>"Top-p " <input type="number" step="0.05" min="0" max="1" prop:value=move || s.get().top_p.unwrap_or(1.0).to_string()
                on:change=move |ev| { if let Ok(v) = event_target_value(&ev).parse::<f64>() { s.update(|x| x.top_p = (v < 1.0).then_some(v)) } }/></label>
            <label>"Repeat penalty " <input type="number" id="repeat-penalty" step="0.05" min="1" max="2" prop:value=move || s.get().repeat_penalty.to_string()
                on:change=move |ev| { if let Ok(v) = event_target_value(&ev).parse() { s.update(|x| x.repeat_penalty = v) } }/></label>
            <label>"Seed " <input type="number" min="0" prop:value=move || s.get().seed.to_string()
                on:change=move |ev| { if let Ok(v) = event_target_value(&ev).parse() { s.update(|x| x.seed = v) } }/></label>
            <label>"Max new tokens " <input type="number" min="1" max="4096" id="max-tokens" prop:value=move || s.get().max_tokens.to_string()
                on:change=move |ev| { if let Ok(v) = event_target_value(&ev).parse() { s.update(|x| x.max_tokens = v) } }/></label>
        </details>
    }
}
