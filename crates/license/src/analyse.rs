//! From a folder's files to a report.

use serde_json::json;

use crate::clauses::{self, Clauses};
use crate::declared::{self, Declared};
use crate::discover::{self, Role};
use crate::fingerprint;
use crate::frontmatter::{self, FrontMatter};
use crate::gguf;
use crate::known::{self, Category, Commercial, Known, Redistribution, Terms};
use crate::report::{DocumentId, FileEntry, Finding, Problem, Report, Summary, TriWord, Tristate, Verdict};
use crate::text::{self, DecodeNote, Document, Evidence};
use crate::InputFile;

/// How a license document was recognised.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Method {
    Title,
    TextMatch { score: f32 },
    Pointer,
    Unrecognised,
}

struct LicenseDoc {
    doc: usize,
    known: Option<&'static Known>,
    method: Method,
    /// 0-based line ranges a standard license does not contain.
    added: Vec<(usize, usize)>,
    /// The clauses standing in `added`, read once here and reused for the report.
    added_clauses: Option<Clauses>,
    where_named: Option<Evidence>,
}

impl LicenseDoc {
    /// A standard license with paragraphs added that change its terms
    /// (an appended disclaimer or third-party notice does not).
    fn modified(&self) -> bool {
        self.added_clauses.as_ref().is_some_and(restricts)
    }
}

#[derive(Default)]
struct Folder {
    docs: Vec<(Document, Role)>,
    front_matter: Vec<(usize, FrontMatter)>,
    gguf: Vec<(String, gguf::Metadata)>,
    config_license: Vec<(String, String)>,
    problems: Vec<Problem>,
}

fn problem(file: &str, message: impl Into<String>) -> Problem {
    Problem { file: file.to_owned(), message: message.into() }
}

fn read_folder(files: &[InputFile]) -> Folder {
    let mut f = Folder::default();
    for file in files {
        let role = discover::role(&file.path);
        match role {
            Role::License | Role::Notice | Role::UsePolicy | Role::ModelCard => {
                match text::decode(&file.bytes, file.size) {
                    Ok((t, notes)) => {
                        for n in notes {
                            f.problems.push(problem(&file.path, match n {
                                DecodeNote::InvalidUtf8 => "contains bytes that are not UTF-8; they were replaced, so quotes may show \u{FFFD}".to_string(),
                                DecodeNote::Utf16 => "is UTF-16 text; it was converted to read it".to_string(),
                                DecodeNote::Truncated { size } => format!("is {size} bytes; only the first {} were read", text::MAX_TEXT_BYTES),
                            }));
                        }
                        let doc = Document::new(file.path.clone(), t);
                        if role == Role::ModelCard {
                            match frontmatter::parse(&doc.text) {
                                Ok(Some(fm)) => f.front_matter.push((f.docs.len(), fm)),
                                Ok(None) => {}
                                Err(e) => f.problems.push(problem(&file.path, e.to_string())),
                            }
                        }
                        f.docs.push((doc, role));
                    }
                    Err(e) => {
                        let advice = match role {
                            Role::License => "; replace it with the license text from the model's source",
                            _ => "",
                        };
                        f.problems.push(problem(&file.path, format!("{e}{advice}")));
                    }
                }
            }
            Role::Config | Role::TokenizerConfig => match serde_json::from_slice::<serde_json::Value>(&file.bytes) {
                Ok(v) => {
                    if let Some(l) = v.get("license").and_then(|l| l.as_str()) {
                        f.config_license.push((file.path.clone(), l.to_owned()));
                    }
                }
                Err(e) => {
                    f.problems.push(problem(&file.path, format!("is not valid JSON ({e}); the model may not load")))
                }
            },
            Role::Gguf => match gguf::read_metadata(&file.bytes, file.size) {
                Ok(m) => f.gguf.push((file.path.clone(), m)),
                Err(e) => f.problems.push(problem(&file.path, e.to_string())),
            },
            _ => {}
        }
    }
    f
}

/// Known licenses mentioned by name in a short text that is not itself a license.
fn named_in(doc: &Document) -> Option<(&'static Known, Evidence)> {
    let mut best: Option<(usize, &'static Known, usize)> = None;
    for k in known::KNOWN {
        let names = std::iter::once(k.name).chain(k.aliases.iter().copied()).chain(k.markers.iter().copied());
        for n in names {
            let n = n.to_lowercase();
            if n.len() < 6 {
                continue;
            }
            if let Some(at) = doc.norm.find(&n) {
                if best.is_none_or(|(b, _, _)| at < b) {
                    best = Some((at, k, n.len()));
                }
            }
        }
    }
    best.map(|(at, k, len)| (k, doc.evidence(at..at + len)))
}

fn identify(doc: &Document, idx: usize) -> LicenseDoc {
    let head = text::cut(&doc.norm, 3000);
    if let Some(k) = known::by_marker(head) {
        let at = k.markers.iter().filter_map(|m| head.find(m)).min().unwrap_or(0);
        let ev = doc.line_evidence(doc.original(at..at + 1).start);
        return LicenseDoc {
            doc: idx,
            known: Some(k),
            method: Method::Title,
            added: Vec::new(),
            added_clauses: None,
            where_named: Some(ev),
        };
    }
    if let Some(m) = fingerprint::best(&doc.text) {
        if let Some(k) = known::by_spdx(m.spdx) {
            let added = fingerprint::added_paragraphs(&doc.text, m.spdx);
            let added_clauses = (!added.is_empty()).then(|| restrict_to_added(clauses::read(doc), &added));
            // A title or copyright line is a fine place to point at for the whole text.
            let first = doc.text.find(|c: char| !c.is_whitespace()).unwrap_or(0);
            return LicenseDoc {
                doc: idx,
                known: Some(k),
                method: Method::TextMatch { score: m.score.max(m.coverage) },
                added,
                added_clauses,
                where_named: Some(doc.line_evidence(first)),
            };
        }
    }
    if doc.norm.len() < 4000 {
        if let Some((k, ev)) = named_in(doc) {
            return LicenseDoc {
                doc: idx,
                known: Some(k),
                method: Method::Pointer,
                added: Vec::new(),
                added_clauses: None,
                where_named: Some(ev),
            };
        }
    }
    let first = doc.text.find(|c: char| !c.is_whitespace()).unwrap_or(0);
    LicenseDoc {
        doc: idx,
        known: None,
        method: Method::Unrecognised,
        added: Vec::new(),
        added_clauses: None,
        where_named: Some(doc.line_evidence(first)),
    }
}

fn governing_rank(folder: &Folder, l: &LicenseDoc) -> i32 {
    let path = &folder.docs[l.doc].0.path;
    let mut r = discover::weights_affinity(path) * 100;
    r += match (l.method, l.known) {
        (Method::Title, Some(k)) if !k.is_standard() => 50,
        (Method::Title | Method::TextMatch { .. }, Some(_)) => 20,
        (Method::Unrecognised, _) => 10,
        (Method::Pointer, _) => 5,
        _ => 0,
    };
    // Files at the top of the folder describe the folder; nested ones, their subfolder.
    r -= 3 * path.matches('/').count() as i32;
    r
}

/// Only clauses standing in the added paragraphs of a modified standard license count.
fn within(ev: &Option<Evidence>, ranges: &[(usize, usize)]) -> bool {
    ev.as_ref().is_some_and(|e| ranges.iter().any(|&(a, b)| e.line > a && e.line <= b))
}

fn restrict_to_added(c: Clauses, added: &[(usize, usize)]) -> Clauses {
    let keep = |e: Option<Evidence>| if within(&e, added) { e } else { None };
    let keep_n = |e: Option<(u64, Evidence)>| e.filter(|(_, ev)| within(&Some(ev.clone()), added));
    Clauses {
        grant: c.grant,
        distribution_grant: c.distribution_grant,
        no_distribution: keep(c.no_distribution),
        commercial_allowed: c.commercial_allowed,
        commercial_registration: keep(c.commercial_registration),
        non_commercial: keep(c.non_commercial),
        research_only: keep(c.research_only),
        mau: keep_n(c.mau),
        dau: keep_n(c.dau),
        revenue: c.revenue.filter(|(_, ev)| within(&Some(ev.clone()), added)),
        use_restrictions: keep(c.use_restrictions),
        attribution: c.attribution,
        naming: keep(c.naming),
        output_training: keep(c.output_training),
        share_alike: c.share_alike,
        eu_excluded: keep(c.eu_excluded),
        termination: c.termination,
        terms_change: keep(c.terms_change),
        jurisdiction: c.jurisdiction,
    }
}

fn restricts(c: &Clauses) -> bool {
    c.non_commercial.is_some()
        || c.research_only.is_some()
        || c.mau.is_some()
        || c.revenue.is_some()
        || c.use_restrictions.is_some()
        || c.naming.is_some()
        || c.output_training.is_some()
        || c.commercial_registration.is_some()
        || c.no_distribution.is_some()
        || c.eu_excluded.is_some()
}

const DATASET_NAMES: &[&str] = &[
    "the pile",
    "laion",
    "coco",
    "common crawl",
    "dolma",
    "redpajama",
    "slimpajama",
    "fineweb",
    "refinedweb",
    "openwebtext",
    "imagenet",
    "cc3m",
    "cc12m",
    "sbu captions",
    "+sbu",
    "visual genome",
    "the stack",
    "starcoderdata",
    "cosmopedia",
    "smollm-corpus",
    "ultrachat",
    "openhermes",
    "oasst",
    "librispeech",
    "audioset",
    "shutterstock",
    "pond5",
    "bookcorpus",
    "mc4",
    "roots corpus",
    "proof-pile",
    "openwebmath",
    "huggingface.co/datasets/",
];

fn training_data(folder: &Folder, findings: &mut Vec<Finding>) -> Tristate {
    for (i, fm) in &folder.front_matter {
        if !fm.datasets.is_empty() {
            let doc = &folder.docs[*i].0;
            let line = doc.lines().find(|(_, l)| l.starts_with("datasets")).map_or(1, |(n, _)| n);
            let quote = doc.text.lines().nth(line - 1).unwrap_or("datasets:").trim().to_owned();
            findings.push(
                Finding::new("training_data_disclosed", true, &Evidence { file: doc.path.clone(), line, quote })
                    .with_note(format!("The card lists datasets: {}", fm.datasets.join(", "))),
            );
            return Tristate::Bool(true);
        }
    }
    for (path, m) in &folder.gguf {
        if let Some(gguf::Value::List(ds)) = m.values.get("general.datasets") {
            if !ds.is_empty() {
                findings.push(
                    Finding::new(
                        "training_data_disclosed",
                        true,
                        &Evidence { file: path.clone(), line: 0, quote: String::new() },
                    )
                    .with_note(format!("GGUF general.datasets: {}", ds.join(", "))),
                );
                return Tristate::Bool(true);
            }
        }
    }
    let cards: Vec<&Document> = folder.docs.iter().filter(|(_, r)| *r == Role::ModelCard).map(|(d, _)| d).collect();
    for doc in &cards {
        for name in DATASET_NAMES {
            for (at, _) in doc.norm.match_indices(name) {
                let lo = at.saturating_sub(200);
                let hi = (at + 200).min(doc.norm.len());
                let before = doc.norm.get(lo..at).unwrap_or("");
                let after = doc.norm.get(at + name.len()..hi).unwrap_or("");
                let near = |w: &str| before.contains(w) || after.contains(w);
                let is_link = name.contains('/');
                if near("train") || (!is_link && (near("dataset") || near("corpus"))) {
                    findings.push(Finding::new("training_data_disclosed", true, &doc.evidence(at..at + name.len())));
                    return Tristate::Bool(true);
                }
            }
        }
        if let Some(at) = doc
            .norm
            .find("trained on licensed data using the following sources")
            .or_else(|| doc.norm.find("training data can be found"))
        {
            findings.push(Finding::new("training_data_disclosed", true, &doc.evidence(at..at + 20)));
            return Tristate::Bool(true);
        }
    }
    if let Some(doc) = cards.first() {
        // Quote the card's first line of prose, after any front matter.
        let mut in_front = doc.text.starts_with("---");
        let mut first = 0;
        for (i, line) in doc.text.split_inclusive('\n').enumerate() {
            let t = line.trim();
            if i > 0 && in_front && t == "---" {
                in_front = false;
            } else if !in_front && !t.is_empty() && t != "---" {
                break;
            }
            first += line.len();
        }
        let first = if first >= doc.text.len() { 0 } else { first };
        findings.push(
            Finding::new("training_data_disclosed", false, &doc.line_evidence(first))
                .with_note("The model card names no training dataset."),
        );
        return Tristate::Bool(false);
    }
    Tristate::Word(TriWord::Unknown)
}

fn declared(folder: &Folder) -> Option<Declared> {
    for (i, fm) in &folder.front_matter {
        if let Some(l) = &fm.license {
            let doc = &folder.docs[*i].0;
            let line = fm.license_line.unwrap_or(1);
            let quote = doc.text.lines().nth(line - 1).unwrap_or("").trim().to_owned();
            return Some(declared::from_metadata(
                l,
                fm.license_name.as_deref(),
                Evidence { file: doc.path.clone(), line, quote },
            ));
        }
    }
    for (path, m) in &folder.gguf {
        if let Some(l) = m.text("general.license") {
            let name = m.text("general.license.name");
            return Some(declared::from_metadata(
                l,
                name,
                Evidence { file: path.clone(), line: 0, quote: String::new() },
            ));
        }
    }
    if let Some((path, l)) = folder.config_license.first() {
        return Some(declared::from_metadata(l, None, Evidence { file: path.clone(), line: 0, quote: String::new() }));
    }
    let cards = || folder.docs.iter().filter(|(_, r)| *r == Role::ModelCard).map(|(d, _)| d);
    cards().find_map(declared::in_prose).or_else(|| cards().find_map(declared::in_bold))
}

fn same_license(d: &Declared, gov: Option<&'static Known>) -> bool {
    match (d.known, gov) {
        (Some(a), Some(b)) => {
            std::ptr::eq(a, b)
                || (a.family == b.family
                    && !a.is_standard()
                    && !b.is_standard()
                    && a.license_name.is_some()
                    && a.license_name == b.license_name)
        }
        // "other" with a name this tool does not know: it matches any custom license.
        (None, Some(b)) => d.value.starts_with("other") && !b.is_standard(),
        (None, None) => d.value.starts_with("other"),
        (Some(_), None) => false,
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

/// Checks a folder's files and reports on the license that governs the weights.
pub fn check(files: &[InputFile]) -> crate::Report {
    let mut folder = read_folder(files);
    let entries: Vec<FileEntry> =
        files.iter().map(|f| FileEntry { path: f.path.clone(), size: f.size, role: discover::role(&f.path) }).collect();
    let mut findings = Vec::new();

    let licenses: Vec<LicenseDoc> = folder
        .docs
        .iter()
        .enumerate()
        .filter(|(_, (_, r))| *r == Role::License)
        .map(|(i, (d, _))| identify(d, i))
        .collect();
    let gov = licenses.iter().max_by_key(|l| governing_rank(&folder, l));
    let declared = declared(&folder);

    // The license and how sure we are of it.
    let (known, text_present) = match gov {
        Some(l) => (l.known, l.method != Method::Pointer),
        None => (declared.as_ref().and_then(|d| d.known), false),
    };
    let modified = gov.is_some_and(LicenseDoc::modified);
    let no_license = gov.is_none() && known.is_none();

    // Clauses read from the text (governing document and use policies).
    let mut c = match gov {
        Some(l) if text_present => match (l.known, &l.added_clauses) {
            (Some(k), Some(added)) if k.is_standard() => added.clone(),
            (Some(k), None) if k.is_standard() => restrict_to_added(clauses::read(&folder.docs[l.doc].0), &l.added),
            _ => clauses::read(&folder.docs[l.doc].0),
        },
        _ => Clauses::default(),
    };
    for (doc, role) in &folder.docs {
        if *role == Role::UsePolicy {
            let p = clauses::read(doc);
            if c.use_restrictions.is_none() {
                c.use_restrictions = p.use_restrictions;
            }
            if c.eu_excluded.is_none() {
                c.eu_excluded = p.eu_excluded;
            }
        }
    }

    // Terms: a standard license as published (plus what was added to it), a
    // custom one as its text says, a named-only one as published.
    let standard_unmodified = known.is_some_and(Known::is_standard) && !modified;
    let base: Option<Terms> = known.map(|k| k.terms);
    let custom_text = text_present && !standard_unmodified;
    let mut t: Terms = match (base, custom_text) {
        (Some(b), false) => b,
        _ => Terms {
            category: Category::OpenWeightsRestricted,
            commercial: Commercial::Unknown,
            mau: None,
            revenue_usd: None,
            use_restrictions: false,
            attribution: false,
            naming: false,
            output_training: false,
            share_alike: false,
            redistribution: Redistribution::Conditional,
            eu_excluded: false,
        },
    };
    let mut commercial_ev: Option<Evidence> = None;
    if custom_text {
        let std_base = base.filter(|_| modified);
        t.mau = c.mau.as_ref().map(|m| m.0);
        t.revenue_usd = c.revenue.as_ref().filter(|(m, _)| m.currency == "USD").map(|(m, _)| m.amount);
        let (commercial, category, ev) = if let Some((_, e)) = &c.mau {
            (Commercial::Conditional, Category::OpenWeightsRestricted, Some(e.clone()))
        } else if let Some((_, e)) = &c.revenue {
            (Commercial::Conditional, Category::OpenWeightsRestricted, Some(e.clone()))
        } else if let Some(e) = &c.research_only {
            (Commercial::Forbidden, Category::ResearchOnly, Some(e.clone()))
        } else if let Some(e) = &c.non_commercial {
            (Commercial::Forbidden, Category::NonCommercial, Some(e.clone()))
        } else if let Some(e) = &c.commercial_registration {
            (Commercial::Conditional, Category::OpenWeightsRestricted, Some(e.clone()))
        } else if let Some(b) = std_base {
            (
                b.commercial,
                if c.use_restrictions.is_some() { Category::OpenWeightsRestricted } else { b.category },
                None,
            )
        } else if let Some(e) = c.commercial_allowed.as_ref().or(c.grant.as_ref()) {
            (Commercial::Allowed, Category::OpenWeightsRestricted, Some(e.clone()))
        } else if let Some(b) = base {
            (b.commercial, b.category, None)
        } else {
            (Commercial::Unknown, Category::Proprietary, None)
        };
        t.commercial = commercial;
        t.category = category;
        commercial_ev = ev;
        t.use_restrictions = c.use_restrictions.is_some();
        t.attribution =
            c.attribution.is_some() || std_base.is_some_and(|b| b.attribution) || base.is_some_and(|b| b.attribution);
        t.naming = c.naming.is_some();
        t.output_training = c.output_training.is_some();
        t.share_alike = c.share_alike.is_some() || std_base.is_some_and(|b| b.share_alike);
        t.redistribution = if c.no_distribution.is_some() && c.distribution_grant.is_none() {
            Redistribution::Forbidden
        } else if std_base.is_some() && t.category != Category::OpenWeightsRestricted && !t.use_restrictions {
            std_base.map_or(Redistribution::Conditional, |b| b.redistribution)
        } else {
            Redistribution::Conditional
        };
        t.eu_excluded = c.eu_excluded.is_some();
    } else if c.use_restrictions.is_some() && !standard_unmodified {
        t.use_restrictions = true;
    }

    // Identity.
    let (license_id, spdx, family, license_name) = if no_license {
        (None, None, "none".to_string(), None)
    } else if modified {
        (Some("other".to_string()), None, known.map_or("other", |k| k.family).to_string(), None)
    } else if let Some(k) = known {
        (Some(k.id.to_string()), k.spdx.map(str::to_string), k.family.to_string(), k.license_name.map(str::to_string))
    } else {
        (Some("other".to_string()), None, "other".to_string(), None)
    };
    let osi = !modified && known.is_some_and(Known::osi_approved);

    let declared_matches = match (&declared, gov) {
        (Some(d), Some(l)) if text_present => Some(same_license(d, l.known)),
        _ => None,
    };

    let training = training_data(&folder, &mut findings);
    let category = if no_license { Category::NoLicense } else { t.category };
    let summary = Summary {
        license_id,
        spdx,
        family,
        osi_approved: osi,
        category,
        commercial_use: if no_license { Commercial::Unknown } else { t.commercial },
        user_threshold_mau: t.mau,
        revenue_threshold_usd: t.revenue_usd,
        use_restrictions: !no_license && t.use_restrictions,
        attribution_required: !no_license && t.attribution,
        derivative_naming: t.naming,
        output_training_restriction: t.output_training,
        share_alike: t.share_alike,
        redistribution_allowed: if no_license {
            Tristate::Bool(false)
        } else {
            match t.redistribution {
                Redistribution::Allowed => Tristate::Bool(true),
                Redistribution::Conditional => Tristate::Word(TriWord::Conditional),
                Redistribution::Forbidden => Tristate::Bool(false),
            }
        },
        training_data_disclosed: training,
        declared_license: declared.as_ref().map(|d| d.value.clone()),
        declared_matches_text: declared_matches,
    };

    // Findings: every summary field with the sentence that settles it.
    let named_ev = gov.and_then(|l| l.where_named.clone()).or_else(|| declared.as_ref().map(|d| d.evidence.clone()));
    if let Some(ev) = &named_ev {
        let note = match gov.map(|l| l.method) {
            Some(Method::Pointer) => Some(
                "The folder names this license but does not contain its text; its published terms were used."
                    .to_string(),
            ),
            None => Some("No license file: the terms come from the declared license's published text.".to_string()),
            _ => None,
        };
        let mut f = Finding::new("license_id", json!(summary.license_id), ev);
        if let Some(n) = &note {
            f = f.with_note(n.clone());
            findings.push(Finding::new("text_absent", true, ev).with_note(n.clone()));
        }
        findings.push(f);
        findings.push(Finding::new("category", json!(summary.category), ev));
    }
    if let Some(l) = gov.filter(|l| !l.added.is_empty()) {
        let doc = &folder.docs[l.doc].0;
        for &(a, b) in &l.added {
            let quote = doc.text.lines().skip(a).take(b - a).collect::<Vec<_>>().join("\n");
            findings.push(
                Finding::new(
                    "added_clause",
                    true,
                    &Evidence { file: doc.path.clone(), line: a + 1, quote: quote.trim().to_owned() },
                )
                .with_note(if l.modified() {
                    format!(
                        "Not part of the standard {} text: this addition changes its terms.",
                        l.known.map_or("", |k| k.name)
                    )
                } else {
                    format!(
                        "Not part of the standard {} text, but it adds no restriction.",
                        l.known.map_or("", |k| k.name)
                    )
                }),
            );
        }
    }
    let fallback = named_ev.clone();
    let push = |findings: &mut Vec<Finding>, field: &str, value: serde_json::Value, ev: Option<&Evidence>| {
        if let Some(e) = ev.or(fallback.as_ref()) {
            findings.push(Finding::new(field, value, e));
        }
    };
    if !no_license {
        push(&mut findings, "commercial_use", json!(summary.commercial_use), commercial_ev.as_ref());
        push(&mut findings, "use_restrictions", json!(summary.use_restrictions), c.use_restrictions.as_ref());
        push(&mut findings, "attribution_required", json!(summary.attribution_required), c.attribution.as_ref());
        push(
            &mut findings,
            "redistribution_allowed",
            json!(summary.redistribution_allowed),
            c.no_distribution.as_ref().or(c.distribution_grant.as_ref()),
        );
    }
    if let Some((n, e)) = &c.mau {
        findings.push(Finding::new("user_threshold_mau", *n, e));
    }
    if let Some((n, e)) = &c.dau {
        findings.push(Finding::new("user_threshold_dau", *n, e).with_note("A daily-active-user cap."));
    }
    if let Some((m, e)) = &c.revenue {
        let f = Finding::new("revenue_threshold_usd", m.amount, e);
        findings.push(if m.currency == "USD" {
            f
        } else {
            f.with_note(format!("The cap is in {}, not USD.", m.currency))
        });
    }
    for (field, ev) in [
        ("derivative_naming", &c.naming),
        ("output_training_restriction", &c.output_training),
        ("share_alike", &c.share_alike),
        ("non_commercial", &c.non_commercial),
        ("research_only", &c.research_only),
        ("commercial_registration", &c.commercial_registration),
        ("termination", &c.termination),
        ("terms_change", &c.terms_change),
    ] {
        if let Some(e) = ev.as_ref().filter(|_| custom_text || field == "termination") {
            findings.push(Finding::new(field, true, e));
        }
    }
    if let Some(e) = &c.eu_excluded {
        findings.push(Finding::new("region", "EU excluded", e).with_note(
            "Rights are withheld from individuals domiciled in, or companies based in, the European Union.",
        ));
    }
    if let Some((place, e)) = &c.jurisdiction {
        findings.push(Finding::new("jurisdiction", place.as_str(), e));
    }
    if let Some(d) = &declared {
        let mut f = Finding::new("declared_license", d.value.as_str(), &d.evidence);
        if declared_matches == Some(false) {
            f = f.with_note(format!(
                "The declared license disagrees with the license text ({}).",
                summary.license_id.as_deref().unwrap_or("unrecognised text")
            ));
        }
        findings.push(f);
        if let Some(m) = declared_matches {
            findings.push(Finding::new("declared_matches_text", m, &d.evidence));
        }
    }
    // A finding from a text file always quotes it; only GGUF metadata (line 0) has nothing to quote.
    findings.retain(|f| !f.quote.is_empty() || f.line == 0);

    if no_license {
        folder.problems.push(problem(".", "no license found: no LICENSE, COPYING or license terms file, no license in the model card's front matter, and none in the GGUF metadata. Without a license you have no permission to use, share or modify the model; ask its author"));
    }
    if let Some(l) = gov.filter(|l| l.method == Method::Unrecognised) {
        folder.problems.push(problem(&folder.docs[l.doc].0.path, "is a license text this tool does not recognise; its terms were read from the text itself, check them against the original"));
    }

    let documents = licenses
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
            governs_weights: gov.is_some_and(|g| g.doc == l.doc),
        })
        .collect();

    let verdict = Verdict {
        headline: headline(&summary),
        license_name: if no_license {
            None
        } else if modified {
            known.map(|k| format!("{} (modified)", k.name))
        } else {
            Some(known.map_or("Unrecognised custom license".to_string(), |k| k.name.to_string()))
        },
        osd_failures: osd_failures(&summary, t.eu_excluded),
    };
    Report {
        summary,
        verdict,
        license_name,
        findings,
        documents,
        files: entries,
        problems: folder.problems,
        uses: None,
    }
}
