//! From a folder's files to a report, in stages: find the documents
//! ([`folder`]), identify each license text and the one that governs the
//! weights ([`identify`]), settle its terms ([`terms`]), training data
//! ([`training`]), compare with what is declared, then the summary, the
//! findings that prove it, and the verdict.

mod folder;
mod identify;
pub(crate) mod lineage;
mod terms;
mod training;

use serde_json::json;

use crate::clauses::Clause;
use crate::declared::Declared;
use crate::discover;
use crate::field::Field;
use crate::known::{Category, Commercial, Known, Redistribution};
use crate::report::{
    DocumentId, FileEntry, Finding, Published, Report, SourceText, Summary, Tone, TriWord, Tristate, Verdict,
};
use crate::text::Evidence;
use crate::InputFile;

use folder::{problem, Folder};
use identify::{Basis, Declarations, LicenseDoc, Method};
use terms::Settled;

/// Letters and digits of a license's name that say which license it is.
fn name_words(name: &str) -> Vec<String> {
    const FILLER: &[&str] =
        &["the", "license", "licence", "agreement", "terms", "of", "use", "version", "v", "and", "for", "a"];
    name.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !FILLER.contains(w))
        .map(str::to_owned)
        .collect()
}

/// Whether a declaration names the license of the governing text.
fn same_license(folder: &Folder, d: &Declared, basis: &Basis) -> bool {
    let gov = basis.known();
    let by_title = || {
        basis.text().is_some_and(|l| {
            let title = identify::title_line(&folder.docs[l.doc].0);
            let words = name_words(&d.value);
            !words.is_empty() && words.iter().all(|w| title.contains(w.as_str()))
        })
    };
    match (d.known, gov) {
        // Versions of one license share its id ("gemma") or its Hub name.
        (Some(a), Some(b)) => {
            std::ptr::eq(a, b)
                || (a.family == b.family
                    && !a.is_standard()
                    && !b.is_standard()
                    && ((a.id != "other" && a.id == b.id) || (a.hub_name.is_some() && a.hub_name == b.hub_name)))
        }
        // "other" with a name this tool does not know: it matches any custom license.
        (None, Some(b)) => (d.value.starts_with("other") && !b.is_standard()) || by_title(),
        (None, None) => d.value.starts_with("other") || by_title(),
        (Some(_), None) => by_title(),
    }
}

/// The declaration the report shows: metadata first; among a card's
/// statements, the one naming the governing license, else the first.
fn shown_declaration<'a>(folder: &Folder, decl: &'a Declarations, basis: &'a Basis) -> Option<&'a Declared> {
    decl.metadata
        .as_ref()
        .or_else(|| {
            let mut st = decl.statements.iter().map(|s| &s.declared);
            st.clone().find(|d| same_license(folder, d, basis)).or_else(|| st.next())
        })
        // A weak statement declares when it is what the license rests on.
        .or(match basis {
            Basis::Named(d) if decl.weak.iter().any(|w| std::ptr::eq(w, *d)) => Some(*d),
            _ => None,
        })
}

fn tone(s: &Summary) -> Tone {
    match s.category {
        Category::NoLicense => Tone::Bad,
        _ if s.osi_approved => Tone::Good,
        Category::NonCommercial | Category::ResearchOnly => Tone::Bad,
        _ => Tone::Caution,
    }
}

fn headline(s: &Summary) -> String {
    match s.category {
        Category::NoLicense => "No license found".into(),
        _ if s.osi_approved => "OSI-approved open source".into(),
        Category::PublicDomain => "Public domain dedication".into(),
        Category::Permissive | Category::Copyleft | Category::WeakCopyleft => {
            "Open license, not an OSI-approved software license".into()
        }
        Category::NonCommercial => "Non-commercial: not open source".into(),
        Category::ResearchOnly => "Research only: not open source".into(),
        Category::OpenWeightsRestricted => "Open weights under custom terms: not open source".into(),
        Category::Proprietary => "Proprietary terms".into(),
    }
}

fn osd_failures(s: &Summary, terms_eu: bool) -> Vec<String> {
    let mut out = Vec::new();
    if s.osi_approved {
        return out;
    }
    if matches!(s.commercial_use, Commercial::Forbidden) {
        out.push("OSD 6 (no discrimination against fields of endeavor): commercial use is forbidden".into());
    }
    if s.use_restrictions {
        out.push("OSD 6 (no discrimination against fields of endeavor): it lists prohibited uses".into());
    }
    if s.user_threshold_mau.is_some() || s.revenue_threshold_usd.is_some() {
        out.push(
            "OSD 5 (no discrimination against persons or groups): large users or companies need another license".into(),
        );
    }
    if terms_eu {
        out.push(
            "OSD 5 (no discrimination against persons or groups): rights are withheld in the European Union".into(),
        );
    }
    if s.output_training_restriction {
        out.push("OSD 6: outputs may not be used to improve other models".into());
    }
    if s.commercial_use == Commercial::Conditional
        && s.user_threshold_mau.is_none()
        && s.revenue_threshold_usd.is_none()
    {
        out.push("OSD 7 (distribution of license): commercial use needs registration or approval".into());
    }
    out
}

fn summary(st: &Settled, training: Tristate, declared: Option<&Declared>, matches: Option<bool>) -> Summary {
    let t = &st.terms;
    let none = st.no_license;
    Summary {
        license_id: st.license_id.clone(),
        spdx: st.spdx.clone(),
        family: st.family.clone(),
        osi_approved: st.osi,
        category: if none { Category::NoLicense } else { t.category },
        commercial_use: if none { Commercial::Unknown } else { t.commercial },
        user_threshold_mau: t.mau,
        revenue_threshold_usd: t.revenue_usd,
        use_restrictions: !none && t.use_restrictions,
        attribution_required: !none && t.attribution,
        derivative_naming: t.naming,
        output_training_restriction: t.output_training,
        share_alike: t.share_alike,
        redistribution_allowed: if none {
            Tristate::Bool(false)
        } else {
            match t.redistribution {
                Redistribution::Allowed => Tristate::Bool(true),
                Redistribution::Conditional => Tristate::Word(TriWord::Conditional),
                Redistribution::Forbidden => Tristate::Bool(false),
            }
        },
        training_data_disclosed: training,
        declared_license: declared.map(|d| d.value.clone()),
        declared_matches_text: matches,
    }
}

/// A summary field's value as the JSON summary writes it.
fn summary_value(s: &Summary, field: Field) -> serde_json::Value {
    serde_json::to_value(s).ok().and_then(|v| v.get(field.name()).cloned()).unwrap_or(serde_json::Value::Null)
}

/// Findings from the governing license's clause sheet, for the fields whose
/// value is the license's own (a folder's policy or added text did not change
/// it). With the text in the folder, the sheet's sentence is found there and
/// quoted from it; with only a pointer or a declaration, the finding quotes
/// that and carries the published sentence.
fn sheet_findings(folder: &Folder, basis: &Basis, st: &Settled, s: &Summary, named: Option<&Evidence>) -> Vec<Finding> {
    let Some(k) = basis.known().filter(|k| !k.sheet.is_empty()) else { return Vec::new() };
    if st.modified || st.no_license {
        return Vec::new();
    }
    let doc = basis.text().map(|l| &folder.docs[l.doc].0);
    let mut out = Vec::new();
    for (field, sentence) in k.sheet {
        let value = summary_value(s, *field);
        // A sheet sentence that no longer supports the value (a folder's use
        // policy added restrictions, say) is not the evidence.
        let unchanged = match field {
            Field::UseRestrictions => s.use_restrictions == k.terms.use_restrictions,
            Field::AttributionRequired => s.attribution_required == k.terms.attribution,
            Field::OutputTrainingRestriction => s.output_training_restriction == k.terms.output_training,
            Field::CommercialUse => s.commercial_use == k.terms.commercial,
            Field::Category => s.category == k.terms.category,
            _ => true,
        };
        if !unchanged || value.is_null() || value == json!(false) {
            continue;
        }
        match doc {
            Some(d) => {
                if let Some(ev) = find_sentence(d, sentence) {
                    out.push(Finding::of(*field, value, &ev));
                }
            }
            None => {
                let Some(ev) = named else { continue };
                let mut f = Finding::of(*field, value, ev).with_note(format!(
                    "From the published text of the {}, not in this folder: \"{sentence}\"",
                    k.name
                ));
                f.published = Some(Published { license: k.name.to_owned(), sentence: (*sentence).to_owned() });
                out.push(f);
            }
        }
    }
    out
}

/// Where a sheet's sentence stands in a folder's copy of the license: the
/// whole sentence, else its opening words (copies differ in small ways).
fn find_sentence(doc: &crate::text::Document, sentence: &str) -> Option<Evidence> {
    let norm = crate::text::Document::new("", sentence.to_owned()).norm;
    let opening = crate::text::cut(&norm, 90);
    let found = [norm.as_str(), opening].into_iter().find_map(|n| doc.norm.find(n).map(|at| at..at + n.len()));
    found.map(|r| doc.exact(r))
}

/// Every summary field with the sentence that settles it.
fn findings(
    folder: &Folder,
    basis: &Basis,
    st: &Settled,
    s: &Summary,
    declared: Option<&Declared>,
    mut out: Vec<Finding>,
) -> Vec<Finding> {
    let c = &st.clauses;
    let named_ev = match basis {
        Basis::Text(l) | Basis::Pointer(l) => Some(l.where_named.clone()),
        Basis::Named(d) => Some(d.evidence.clone()),
        Basis::None => None,
    };
    if let Some(ev) = &named_ev {
        let note = match basis {
            Basis::Pointer(_) => {
                Some("The folder names this license but does not contain its text; its published terms were used.")
            }
            Basis::Named(_) => {
                Some("No license text for the weights: the terms come from the declared license's published text.")
            }
            _ => None,
        };
        let mut f = Finding::of(Field::LicenseId, json!(s.license_id), ev);
        if let Some(n) = note {
            f = f.with_note(n);
            out.push(Finding::new("text_absent", true, ev).with_note(n));
        }
        out.push(f);
        out.push(Finding::of(Field::Category, json!(s.category), ev));
    }
    if let Some(l) = basis.text().filter(|l| !l.added.is_empty()) {
        let doc = &folder.docs[l.doc].0;
        let name = l.known.map_or("", |k| k.name);
        for &(a, b) in &l.added {
            let quote = doc.text.lines().skip(a).take(b - a).collect::<Vec<_>>().join("\n");
            let ev =
                Evidence { file: doc.path.clone(), line: doc.line_of_text_line(a + 1), quote: quote.trim().to_owned() };
            out.push(Finding::new("added_clause", true, &ev).with_note(if l.modified {
                format!("Not part of the standard {name} text: this addition changes its terms.")
            } else {
                format!("Not part of the standard {name} text, but it adds no restriction.")
            }));
        }
    }
    // Fields the license's clause sheet settles quote its sentence: in the
    // folder's copy of the text, or from the published text beside the pointer.
    let sheet = sheet_findings(folder, basis, st, s, named_ev.as_ref());
    let settled_by_sheet = |f: Field| sheet.iter().any(|x| x.field == f.name());
    // Without a sentence that settles a field, a pointer or a declaration is the
    // evidence (the terms are its license's); a text's title line is not.
    let fallback = named_ev.clone().filter(|_| !matches!(basis, Basis::Text(_)));
    let mut pushed = Vec::new();
    let mut push = |field: Field, ev: Option<&Evidence>| {
        if settled_by_sheet(field) {
            return;
        }
        if let Some(e) = ev.or(fallback.as_ref()) {
            pushed.push(Finding::of(field, summary_value(s, field), e));
        }
    };
    if !st.no_license {
        push(Field::CommercialUse, st.commercial_ev.as_ref());
        push(Field::UseRestrictions, c.get(Clause::UseRestrictions));
        push(Field::AttributionRequired, c.get(Clause::Attribution));
        push(Field::RedistributionAllowed, c.get(Clause::NoDistribution).or(c.get(Clause::DistributionGrant)));
    }
    out.extend(pushed);
    if let Some((n, e)) = c.mau.as_ref().filter(|_| !settled_by_sheet(Field::UserThresholdMau)) {
        out.push(Finding::of(Field::UserThresholdMau, *n, e));
    }
    if let Some((n, e)) = &c.dau {
        out.push(Finding::new("user_threshold_dau", *n, e).with_note("A daily-active-user cap."));
    }
    if let Some((m, e)) = &c.revenue {
        let f = Finding::of(Field::RevenueThresholdUsd, m.amount, e);
        out.push(if m.currency == "USD" { f } else { f.with_note(format!("The cap is in {}, not USD.", m.currency)) });
    }
    for (clause, e) in c.iter() {
        let Some(field) = clause.finding_field() else { continue };
        let on_sheet = Field::parse(field).is_some_and(settled_by_sheet);
        if (st.custom_text || clause == Clause::Termination) && !on_sheet {
            out.push(Finding::new(field, true, e));
        }
    }
    out.extend(sheet);
    if let Some(e) = c.get(Clause::EuExcluded) {
        out.push(Finding::new("region", "EU excluded", e).with_note(
            "Rights are withheld from individuals domiciled in, or companies based in, the European Union.",
        ));
    }
    if let Some((place, e)) = &c.jurisdiction {
        out.push(Finding::new("jurisdiction", place.as_str(), e));
    }
    if let Some(d) = declared {
        let mut f = Finding::of(Field::DeclaredLicense, d.value.as_str(), &d.evidence);
        if s.declared_matches_text == Some(false) {
            f = f.with_note(format!(
                "The declared license disagrees with the license text ({}).",
                s.license_id.as_deref().unwrap_or("unrecognised text")
            ));
        }
        out.push(f);
        if let Some(m) = s.declared_matches_text {
            out.push(Finding::of(Field::DeclaredMatchesText, m, &d.evidence));
        }
    }
    // A finding from a text file always quotes it; only GGUF metadata (line 0) has nothing to quote.
    out.retain(|f| !f.quote.is_empty() || f.line == 0);
    out
}

fn document_ids(folder: &Folder, licenses: &[LicenseDoc], basis: &Basis) -> Vec<DocumentId> {
    let governing = match basis {
        Basis::Text(l) | Basis::Pointer(l) => Some(l.doc),
        _ => None,
    };
    licenses
        .iter()
        .map(|l| DocumentId {
            file: folder.docs[l.doc].0.path.clone(),
            license_id: l.known.map(|k| k.id.to_string()),
            name: l.known.map(|k| k.name.to_string()),
            method: match l.method {
                Method::Title => "title",
                Method::TextMatch { .. } => "text match",
                Method::Pointer => "pointer",
                Method::Unrecognised => "unrecognised",
            }
            .into(),
            score: match l.method {
                Method::TextMatch { score } => Some(score),
                _ => None,
            },
            added: l.added.iter().map(|&(a, b)| (a + 1, b)).collect(),
            governs_weights: governing == Some(l.doc),
        })
        .collect()
}

/// A license's published terms as a report of their own: the summary of its
/// record and a finding per clause-sheet sentence, each quoting `named` (where
/// the folder names the model under that license) with the published sentence.
/// A base model's terms are answered from this.
pub(crate) fn published_report(k: &'static Known, named: &Evidence) -> crate::Report {
    let settled = Settled {
        terms: k.terms,
        clauses: Default::default(),
        commercial_ev: None,
        license_id: Some(k.id.to_owned()),
        spdx: k.spdx.map(str::to_owned),
        family: k.family.to_owned(),
        license_name: k.hub_name.map(str::to_owned),
        osi: k.osi_approved(),
        no_license: false,
        modified: false,
        custom_text: false,
    };
    let summary = summary(&settled, Tristate::Word(TriWord::Unknown), None, None);
    let mut findings = vec![Finding::of(Field::LicenseId, json!(k.report_id()), named)];
    // What the license is and allows, for a sheet that does not quote it.
    for field in [Field::Category, Field::CommercialUse] {
        if k.sentence(field).is_none() {
            findings.push(
                Finding::of(field, summary_value(&summary, field), named)
                    .with_note(format!("From the published terms of the {}.", k.name)),
            );
        }
    }
    for (field, sentence) in k.sheet {
        let mut f = Finding::of(*field, summary_value(&summary, *field), named)
            .with_note(format!("From the published text of the {}: \"{sentence}\"", k.name));
        f.published = Some(Published { license: k.name.to_owned(), sentence: (*sentence).to_owned() });
        findings.push(f);
    }
    crate::Report {
        verdict: Verdict {
            headline: headline(&summary),
            tone: tone(&summary),
            license_name: Some(k.name.to_owned()),
            osd_failures: osd_failures(&summary, k.terms.eu_excluded),
        },
        summary,
        license_name: k.hub_name.map(str::to_owned),
        findings,
        documents: Vec::new(),
        files: Vec::new(),
        problems: Vec::new(),
        uses: None,
        datasets: Vec::new(),
        license_link: None,
        lineage: Vec::new(),
        openness: Default::default(),
    }
}

/// Checks a folder's files and reports on the license that governs the weights.
pub fn check(files: &[InputFile]) -> crate::Report {
    analyse(files, false).0
}

/// [`check`], and the license-bearing files as decoded, whose lines the
/// report's quotes count (the page's document viewer shows them).
pub fn check_with_texts(files: &[InputFile]) -> (crate::Report, Vec<SourceText>) {
    analyse(files, true)
}

/// The check, keeping a copy of each decoded text only when the caller shows them.
fn analyse(files: &[InputFile], keep_texts: bool) -> (crate::Report, Vec<SourceText>) {
    // Find the documents.
    let mut folder = folder::read(files, keep_texts);
    let texts = std::mem::take(&mut folder.sources);
    // Identify each license text; collect what is declared; decide what governs.
    let licenses = identify::all(&folder);
    let declarations = identify::declarations(&folder);
    let basis = identify::governing(&folder, &licenses, &declarations);
    // Terms.
    let settled = terms::settle(&folder, &basis);
    // Declared against the text.
    // A file that only names the license is itself a declaration of it.
    let pointer_declared = match &basis {
        Basis::Pointer(l) => {
            Some(Declared { value: l.named_as.clone(), known: l.known, evidence: l.where_named.clone() })
        }
        _ => None,
    };
    let stated = shown_declaration(&folder, &declarations, &basis);
    // A declaration is compared with the folder's license file, even one that only
    // names the license; a pointer that is the only declaration has nothing to meet.
    let matches = match (stated, &basis) {
        (Some(d), Basis::Text(_) | Basis::Pointer(_)) => Some(same_license(&folder, d, &basis)),
        _ => None,
    };
    let declared = stated.or(pointer_declared.as_ref());
    // Summary and findings.
    let mut found = Vec::new();
    let training = training::disclosed(&folder, &mut found);
    let summary = summary(&settled, training, declared, matches);
    let mut findings = findings(&folder, &basis, &settled, &summary, declared, found);
    // Where the model comes from, and what its bases' terms mean for it.
    let lineage = lineage::read(&folder, &summary, &findings);
    // A base whose terms the folder's license conflicts with colours the
    // verdict as its own terms would: the folder's label does not lift them.
    let conflicted = lineage.findings.iter().any(|f| f.field == "base_license_conflict");
    let base_tone =
        lineage.binding.iter().filter(|_| conflicted).map(|(k, ev)| published_report(k, ev).verdict.tone).max_by_key(
            |t| match t {
                Tone::Good => 0,
                Tone::Caution => 1,
                Tone::Bad => 2,
            },
        );
    findings.extend(lineage.findings);

    if settled.no_license {
        folder.problems.push(problem(".", "no license found: no LICENSE, COPYING or license terms file, no license in the model card's front matter, and none in the GGUF metadata. Without a license you have no permission to use, share or modify the model; ask its author"));
    }
    if let Some(l) = basis.text().filter(|l| l.method == Method::Unrecognised) {
        folder.problems.push(problem(&folder.docs[l.doc].0.path, "is a license text this tool does not recognise; its terms were read from the text itself, check them against the original"));
    }
    // Verdict.
    let known = basis.known();
    let verdict = Verdict {
        headline: headline(&summary),
        tone: match (tone(&summary), base_tone) {
            (Tone::Bad, _) | (_, None) => tone(&summary),
            (_, Some(t)) => t,
        },
        license_name: if settled.no_license {
            None
        } else if settled.modified {
            known.map(|k| format!("{} (modified)", k.name))
        } else {
            Some(known.map_or_else(
                || match &basis {
                    Basis::Named(d) => d.value.clone(),
                    _ => "Unrecognised custom license".to_string(),
                },
                |k: &Known| k.name.to_string(),
            ))
        },
        osd_failures: osd_failures(&summary, settled.terms.eu_excluded),
    };
    let report = Report {
        summary,
        verdict,
        license_name: settled.license_name.clone(),
        findings,
        documents: document_ids(&folder, &licenses, &basis),
        files: files
            .iter()
            .map(|f| FileEntry { path: f.path.clone(), size: f.size, role: discover::role(&f.path) })
            .collect(),
        datasets: training::datasets(&folder),
        license_link: folder.front_matter.iter().find_map(|(_, fm)| fm.license_link.clone()),
        problems: folder.problems,
        uses: None,
        lineage: lineage.chain,
        openness: Default::default(),
    };
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    // (folder.problems went into the report: the cards are read field by field.)
    let cards: Vec<&crate::text::Document> =
        folder.docs.iter().filter(|(_, r)| *r == discover::Role::ModelCard).map(|(d, _)| d).collect();
    let openness = crate::openness::assess(
        &paths,
        &cards,
        &report.summary,
        report.verdict.license_name.as_deref(),
        &report.findings,
    );
    let report = crate::Report { openness, ..report };
    (report, texts)
}
