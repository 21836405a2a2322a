//! The license report, the use form with its answers, the document viewer,
//! export, and the side-by-side comparison.

use fineprint_license::field::Field;
use fineprint_license::report::{questions, Finding, Question};
use fineprint_license::usage::{self, Answer, Purpose};
use fineprint_license::Report as LicenseReport;
use leptos::prelude::*;

use crate::state::{AppState, Checked, ViewerTarget};
use crate::{DropZone, Slot};

#[component]
fn Quote(f: Finding) -> impl IntoView {
    let st = expect_context::<AppState>();
    let lines = f.quote.lines().count().max(1);
    let (file, line) = (f.file.clone(), f.line);
    let clickable = line > 0;
    let open = move |_| {
        if clickable {
            st.report.viewer.set(Some(ViewerTarget { file: file.clone(), from: line, to: line + lines - 1 }));
        }
    };
    let place = if line > 0 { format!("{}:{}", f.file, f.line) } else { format!("{} (metadata)", f.file) };
    view! {
        <blockquote class="quote">
            <button class="link" on:click=open disabled=!clickable title="Open the document at this line">{place}</button>
            <span class="qtext">{f.quote.clone()}</span>
            {f.note.clone().map(|n| view! { <span class="note">{n}</span> })}
        </blockquote>
    }
}

#[component]
pub fn Report() -> impl IntoView {
    let st = expect_context::<AppState>();
    move || {
        st.report.primary.get().map(|c| {
            let r = &c.report;
            let s = &r.summary;
            let mismatch = s.declared_matches_text == Some(false);
            let verdict_class = format!("verdict {}", r.verdict.tone.name());
            let added: Vec<Finding> = r.findings_for("added_clause").cloned().collect();
            let info: Vec<Finding> = ["region", "termination", "terms_change", "jurisdiction", "text_absent", "user_threshold_dau"]
                .iter()
                .flat_map(|k| r.findings_for(k).cloned().collect::<Vec<_>>())
                .collect();
            let rows = questions(s)
                .into_iter()
                .map(|Question { field, question: q, answer: a }| {
                    let f = r.findings_for(field.name()).next().cloned();
                    view! {
                        <tr data-field=field.name()>
                            <th scope="row">{q}</th>
                            <td class="answer">{a}</td>
                            <td>{f.map(|f| view! { <Quote f=f/> })}</td>
                        </tr>
                    }
                })
                .collect_view();
            let declared = s.declared_license.clone().map(|d| {
                let f = r.findings_for(Field::DeclaredLicense.name()).next().cloned();
                view! {
                    <div class="declared" class:mismatch=mismatch data-testid="declared">
                        <strong>{if mismatch { "The declared license does not match the license text. " } else { "Declared license: " }}</strong>
                        {format!("the metadata says \"{d}\"")}
                        {if mismatch { format!("; the text is {}.", r.verdict.license_name.clone().unwrap_or_default()) } else if s.declared_matches_text == Some(true) { ", which matches the text.".into() } else { ".".into() }}
                        {f.map(|f| view! { <Quote f=f/> })}
                    </div>
                }
            });
            view! {
                <section class="panel report" aria-labelledby="report-h" data-testid="report">
                    <h2 id="report-h">"License report"</h2>
                    {mismatch.then(|| view! { <p class="alert" role="alert" data-testid="mismatch">"Warning: the model card or GGUF declares a different license than the license text in the folder."</p> })}
                    {r.findings_for("base_license_conflict").next().map(|f| view! {
                        <p class="alert" role="alert" data-testid="conflict-alert">
                            {format!("Warning: {}", f.note.clone().unwrap_or_default())}" See “Where it comes from” below."
                        </p>
                    })}
                    <div class=verdict_class data-testid="verdict">
                        <p class="headline">{r.verdict.headline.clone()}</p>
                        <p class="lname">{r.verdict.license_name.clone().unwrap_or_else(|| "No license".into())}
                            {s.spdx.clone().map(|x| format!(" · SPDX {x}"))}</p>
                        <ul class="osd">{r.verdict.osd_failures.iter().map(|f| view! { <li>{f.clone()}</li> }).collect_view()}</ul>
                    </div>
                    {declared}
                    <table class="questions" data-testid="questions">
                        <thead><tr><th>"Question"</th><th>"Answer"</th><th>"Where it says so"</th></tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                    {(!added.is_empty()).then(|| view! {
                        <div class="added" data-testid="added">
                            <h3>"Added to the standard text"</h3>
                            {added.into_iter().map(|f| view! { <Quote f=f/> }).collect_view()}
                        </div>
                    })}
                    {(!info.is_empty()).then(|| view! {
                        <div class="info">
                            <h3>"Also in the terms"</h3>
                            {info.into_iter().map(|f| view! { <p class="field">{f.field.replace('_', " ")}</p><Quote f=f/> }).collect_view()}
                        </div>
                    })}
                    <Lineage report=r.clone()/>
                    <Openness report=r.clone()/>
                    {(!r.problems.is_empty()).then(|| view! {
                        <div class="problems" data-testid="problems">
                            <h3>"Problems reading the folder"</h3>
                            <ul>{r.problems.iter().map(|p| view! { <li><code>{p.file.clone()}</code>" "{p.message.clone()}</li> }).collect_view()}</ul>
                        </div>
                    })}
                    <Export report=r.clone()/>
                    <DocViewer checked=c.clone()/>
                </section>
            }
        })
    }
}

/// Where the model comes from: its bases, their licenses, and what their
/// terms mean for it (a conflict, inherited terms, the naming duty).
#[component]
fn Lineage(report: LicenseReport) -> impl IntoView {
    let (own, bases) = report.lineage.split_last()?;
    let kinds = ["base_license_conflict", "base_terms", "naming_duty"];
    let raised: Vec<Finding> = kinds.iter().flat_map(|k| report.findings_for(k).cloned().collect::<Vec<_>>()).collect();
    let how = own.relation.map_or("made from", |r| r.phrase());
    let chain = bases
        .iter()
        .map(|l| {
            let license = l.license_name.clone().or_else(|| l.license_id.clone());
            let named = report
                .findings_for("base_model")
                .find(|f| f.value.as_str() == Some(l.repo.as_deref().unwrap_or(&l.name)))
                .cloned();
            view! {
                <li data-testid="lineage-base">
                    <strong>{l.repo.clone().unwrap_or_else(|| l.name.clone())}</strong>
                    " · "{license.unwrap_or_else(|| "license not known to Fine Print".into())}
                    {l.binds_derivatives.then_some(" · its terms bind models made from it")}
                    {(!l.carries.is_empty()).then(|| view! {
                        <ul class="carries" data-testid="carries">{l.carries.iter().map(|c| view! { <li>{c.term.clone()}</li> }).collect_view()}</ul>
                    })}
                    {named.map(|f| view! { <Quote f=f/> })}
                </li>
            }
        })
        .collect_view();
    Some(view! {
        <div class="lineage" data-testid="lineage">
            <h3>"Where it comes from"</h3>
            <ol class="chain">{chain}</ol>
            <p data-testid="lineage-self">{format!("{}: {how} the model above.", own.name)}</p>
            {raised.into_iter().map(|f| {
                let alert = f.field == "base_license_conflict" || (f.field == "naming_duty" && f.value == serde_json::json!(false));
                let testid = f.field.replace('_', "-");
                view! {
                    <div class="raised" class:alert=alert data-testid=testid>
                        <Quote f=f/>
                    </div>
                }
            }).collect_view()}
        </div>
    })
}

/// How open the folder is: the MOF class it reaches and what the next lacks,
/// the components it shows, the OSAID requirements not met.
#[component]
fn Openness(report: LicenseReport) -> impl IntoView {
    use fineprint_license::openness::Status;
    let o = report.openness;
    let class = o.mof_class.clone().map_or("No MOF class reached".to_owned(), |c| format!("MOF Class {c}"));
    let rows = o
        .components
        .into_iter()
        .map(|c| {
            let status = match c.status {
                Status::Present => "in the folder",
                Status::Linked => "linked",
                Status::Absent => "absent",
            };
            let terms = match (c.terms, c.open) {
                (Some(t), Some(false)) => format!("{t} (not open)"),
                (Some(t), _) => t,
                (None, _) => String::new(),
            };
            view! { <tr data-component=c.id><td>{c.name}</td><td>{c.class}</td><td>{status}</td><td>{terms}</td></tr> }
        })
        .collect_view();
    view! {
        <div class="openness" data-testid="openness">
            <h3>"How open it is"</h3>
            <p><strong data-testid="mof-class">{class}</strong>
                {format!(" · Open Source AI Definition: {}", if o.osaid.conforms { "met" } else { "not met" })}</p>
            {(!o.missing.is_empty()).then(|| view! {
                <p>"Missing for the next class:"</p>
                <ul data-testid="mof-missing">{o.missing.iter().map(|m| view! { <li>{m.clone()}</li> }).collect_view()}</ul>
            })}
            {(!o.osaid.unmet.is_empty()).then(|| view! {
                <p>"OSAID requirements not shown as met:"</p>
                <ul data-testid="osaid-unmet">{o.osaid.unmet.iter().map(|m| view! { <li>{m.clone()}</li> }).collect_view()}</ul>
            })}
            <details>
                <summary>"Components"</summary>
                <table class="components"><thead><tr><th>"Component"</th><th>"Class"</th><th>"Shown"</th><th>"Terms"</th></tr></thead>
                    <tbody>{rows}</tbody></table>
            </details>
            <p class="note">{format!("{} ({})", o.note, o.framework)}</p>
        </div>
    }
}

#[component]
fn DocViewer(checked: std::sync::Arc<Checked>) -> impl IntoView {
    let st = expect_context::<AppState>();
    let doc: NodeRef<leptos::html::Pre> = NodeRef::new();
    // Effects run after the view has rendered: the highlighted lines exist.
    Effect::new(move |_| {
        let (Some(_), Some(pre)) = (st.report.viewer.get(), doc.get()) else { return };
        if let Ok(Some(first)) = pre.query_selector(".hl") {
            first.scroll_into_view();
        }
    });
    move || {
        st.report.viewer.get().map(|ViewerTarget { file, from, to }| {
            let text = checked.texts.iter().find(|t| t.path == file).map(|t| t.text.as_str()).unwrap_or_default();
            let lines: Vec<(usize, String)> = text.lines().enumerate().map(|(i, l)| (i + 1, l.to_string())).collect();
            view! {
                <div class="viewer" role="dialog" aria-label=format!("{file}, line {from}") data-testid="viewer">
                    <div class="viewer-bar">
                        <strong>{file.clone()}</strong>
                        <button class="button secondary" on:click=move |_| st.report.viewer.set(None)>"Close"</button>
                    </div>
                    <pre class="doc" node_ref=doc>{lines.into_iter().map(|(n, l)| {
                        let hl = n >= from && n <= to;
                        view! { <span class="ln" class:hl=hl data-line=n><span class="no">{n}</span>{l}"\n"</span> }
                    }).collect_view()}</pre>
                </div>
            }
        })
    }
}

/// An object URL for `body`, for a download link; `None` where the browser
/// refuses to make one (the link is then not offered).
fn object_url(mime: &str, body: &str) -> Option<String> {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(body));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts).ok()?;
    web_sys::Url::create_object_url_with_blob(&blob).ok()
}

/// The report as a CycloneDX 1.6 BOM and an SPDX 2.3 document, named after
/// the dropped model file (or "model").
fn standard_documents(report: &LicenseReport) -> (String, String) {
    use fineprint_license::sbom;
    let name = report
        .files
        .iter()
        .find(|f| f.path.to_ascii_lowercase().ends_with(".gguf"))
        .map(|f| f.path.rsplit('/').next().unwrap_or(&f.path).to_owned())
        .unwrap_or_else(|| "model".to_owned());
    // SPDX wants seconds, no fraction: 2026-11-29T10:00:00Z.
    let iso: String = js_sys::Date::new_0().to_iso_string().into();
    let now = format!("{}Z", iso.get(..19).unwrap_or("1970-01-01T00:00:00"));
    let version = env!("CARGO_PKG_VERSION");
    let model = [sbom::Model { name: &name, version: None, report }];
    let ns = format!("https://fineprint.invalid/spdx/{}-{}", name.replace(' ', "-"), now.replace([':', '-'], ""));
    let pretty = |v: serde_json::Value| serde_json::to_string_pretty(&v).unwrap_or_default();
    (pretty(sbom::cyclonedx(&model, version, &now)), pretty(sbom::spdx(&model, &name, &ns, version, &now)))
}

/// The report's downloads as real links. Each object URL lives as long as the
/// report it was made from: revoking one right after a scripted click races
/// the browser's own asynchronous read of the blob, and a link the person
/// clicks needs no script at all.
#[component]
fn Export(report: LicenseReport) -> impl IntoView {
    let copied = RwSignal::new(false);
    let para = report.summary_paragraph();
    let para2 = para.clone();
    let (cyclonedx, spdx) = standard_documents(&report);
    let files = [
        ("license-report.md", "text/markdown", report.to_markdown(), "download-markdown", "Download Markdown"),
        (
            "license-report.json",
            "application/json",
            serde_json::to_string_pretty(&report).unwrap_or_default(),
            "download-json",
            "Download JSON",
        ),
        ("license.cdx.json", "application/vnd.cyclonedx+json", cyclonedx, "download-cyclonedx", "Download CycloneDX"),
        ("license.spdx.json", "application/spdx+json", spdx, "download-spdx", "Download SPDX"),
    ];
    let links: Vec<_> = files
        .into_iter()
        .filter_map(|(name, mime, body, id, label)| Some((name, object_url(mime, &body)?, id, label)))
        .collect();
    let urls: Vec<String> = links.iter().map(|(_, url, _, _)| url.clone()).collect();
    on_cleanup(move || {
        for url in &urls {
            let _ = web_sys::Url::revoke_object_url(url);
        }
    });
    view! {
        <div class="export">
            {links.into_iter().map(|(name, url, id, label)| view! {
                <a class="button secondary" id=id href=url download=name>{label}</a>
            }).collect_view()}
            <button class="button secondary" on:click=move |_| {
                if let Some(w) = web_sys::window() {
                    let _ = w.navigator().clipboard().write_text(&para);
                    copied.set(true);
                }
            }>{move || if copied.get() { "Copied" } else { "Copy summary" }}</button>
            <p class="summary" data-testid="summary">{para2}</p>
        </div>
    }
}

fn parse_num(s: &str) -> Option<u64> {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[component]
pub fn UseForm() -> impl IntoView {
    let st = expect_context::<AppState>();
    let p = st.report.profile;
    let set = move |f: &dyn Fn(&mut fineprint_license::UseProfile)| {
        p.update(|x| f(x));
        p.with_untracked(crate::storage::save_profile);
    };
    // The answers change only with the report or the stated use, and are
    // compared before the list is drawn again.
    let answers = Memo::new(move |_| {
        st.report.primary.with(|c| c.as_ref().map(|c| p.with(|profile| usage::answer(&c.report, profile))))
    });
    let answers = move || {
        answers.get().map(|list| {
            list.into_iter()
                .map(|a| {
                    let cls = match a.answer {
                        Answer::Allowed => "ans allowed",
                        Answer::NotAllowed => "ans not-allowed",
                        Answer::NeedsAgreement => "ans agreement",
                        Answer::Unclear => "ans unclear",
                    };
                    view! {
                        <li class=cls data-key=a.key.clone()>
                            <span class="q">{a.question.clone()}</span>
                            <strong class="a">{a.answer.label()}</strong>
                            <span class="why">{a.reason.clone()}</span>
                            {a.evidence.clone().map(|f| view! { <Quote f=f/> })}
                        </li>
                    }
                })
                .collect_view()
        })
    };
    move || {
        st.report.primary.with(Option::is_some).then(|| {
            view! {
                <section class="panel" aria-labelledby="use-h" data-testid="use">
                    <h2 id="use-h">"My use"</h2>
                    <form class="use-form" on:submit=|ev| ev.prevent_default()>
                        <label>"I will use it for "
                            <select id="purpose" on:change=move |ev| {
                                let v = event_target_value(&ev);
                                set(&|x| x.purpose = Purpose::parse(&v).unwrap_or_default());
                            } prop:value=move || p.with(|p| p.purpose.name())>
                                <option value="personal">"personal use"</option>
                                <option value="research">"research"</option>
                                <option value="internal">"internal use at a company"</option>
                                <option value="product">"a commercial product"</option>
                                <option value="hosted">"a hosted service for others"</option>
                            </select>
                        </label>
                        <label>"Monthly active users "
                            <input id="users" inputmode="numeric" placeholder="e.g. 2000000"
                                prop:value=move || p.with(|p| p.monthly_users.map(|n| n.to_string()).unwrap_or_default())
                                on:change=move |ev| { let v = event_target_value(&ev); set(&|x| x.monthly_users = parse_num(&v)); }/>
                        </label>
                        <label>"Annual revenue (USD) "
                            <input id="revenue" inputmode="numeric" placeholder="e.g. 5000000"
                                prop:value=move || p.with(|p| p.annual_revenue_usd.map(|n| n.to_string()).unwrap_or_default())
                                on:change=move |ev| { let v = event_target_value(&ev); set(&|x| x.annual_revenue_usd = parse_num(&v)); }/>
                        </label>
                        <label class="check"><input type="checkbox" id="finetune" prop:checked=move || p.with(|p| p.fine_tune_and_share)
                            on:change=move |ev| { let v = event_target_checked(&ev); set(&|x| x.fine_tune_and_share = v); }/>" I will fine-tune it and share the result"</label>
                        <label class="check"><input type="checkbox" id="outputs" prop:checked=move || p.with(|p| p.train_on_outputs)
                            on:change=move |ev| { let v = event_target_checked(&ev); set(&|x| x.train_on_outputs = v); }/>" I will train other models on its outputs"</label>
                        <label>"Where I am based "
                            <input id="region" placeholder="e.g. EU, US" prop:value=move || p.with(|p| p.region.clone().unwrap_or_default())
                                on:change=move |ev| { let v = event_target_value(&ev); set(&|x| x.region = Some(v.clone()).filter(|r| !r.trim().is_empty())); }/>
                        </label>
                    </form>
                    <ul class="answers" aria-live="polite" data-testid="answers">{answers}</ul>
                </section>
            }
        })
    }
}

/// The change of terms from the first folder to the second, clause by
/// clause, as `fineprint diff` prints it.
#[component]
fn RevisionDiff(old: std::sync::Arc<Checked>, new: std::sync::Arc<Checked>) -> impl IntoView {
    use fineprint_license::diff::{compare, Revision};
    let d = compare(
        &Revision { report: &old.report, texts: &old.texts },
        &Revision { report: &new.report, texts: &new.texts },
    );
    view! {
        <div class="revision-diff" data-testid="revision-diff">
            <h3>"What changed from the first to the second"</h3>
            {if d.is_empty() {
                view! { <p data-testid="revision-same">"The terms are the same."</p> }.into_any()
            } else {
                view! { <ul>{d.lines().into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ul> }.into_any()
            }}
        </div>
    }
}

#[component]
pub fn Compare() -> impl IntoView {
    let st = expect_context::<AppState>();
    let table = move || {
        let (Some(a), Some(b)) = (st.report.primary.get(), st.report.compare.get()) else { return None };
        let qa = questions(&a.report.summary);
        let qb = questions(&b.report.summary);
        let name = |c: &Checked| c.report.verdict.license_name.clone().unwrap_or_else(|| "no license".into());
        Some(view! {
            <table class="compare" data-testid="compare-table">
                <thead><tr><th>"Question"</th>
                    <th>{a.name.clone().unwrap_or_else(|| "first folder".into())}<br/><small>{name(&a)}</small></th>
                    <th>{b.name.clone().unwrap_or_else(|| "second folder".into())}<br/><small>{name(&b)}</small></th></tr></thead>
                <tbody>
                    <tr><th scope="row">"Verdict"</th><td>{a.report.verdict.headline.clone()}</td><td>{b.report.verdict.headline.clone()}</td></tr>
                    {qa.into_iter().zip(qb).map(|(Question { question: q, answer: x, .. }, Question { answer: y, .. })| {
                        let differ = x != y;
                        view! { <tr class:differ=differ><th scope="row">{q}</th><td>{x}</td><td>{y}</td></tr> }
                    }).collect_view()}
                </tbody>
            </table>
            <RevisionDiff old=a.clone() new=b.clone()/>
        })
    };
    move || {
        st.report.primary.with(Option::is_some).then(|| {
            view! {
                <section class="panel" aria-labelledby="cmp-h">
                    <h2 id="cmp-h">"Compare with another model"</h2>
                    <DropZone target=Slot::Compare title="Drop a second folder to compare"/>
                    {table}
                </section>
            }
        })
    }
}
