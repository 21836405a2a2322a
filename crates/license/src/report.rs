//! The report: a summary with exactly the fields of the labelled corpus, the
//! findings that prove it, and what went wrong reading the folder.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::discover::Role;
use crate::field::Field;
use crate::known::{Category, Commercial};
use crate::text::Evidence;
use crate::usage::UseAnswer;

/// `true`, `false` or `"conditional"` / `"unknown"`, as the labels write them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Tristate {
    Bool(bool),
    Word(TriWord),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TriWord {
    Conditional,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub license_id: Option<String>,
    pub spdx: Option<String>,
    pub family: String,
    pub osi_approved: bool,
    pub category: Category,
    pub commercial_use: Commercial,
    pub user_threshold_mau: Option<u64>,
    pub revenue_threshold_usd: Option<u64>,
    pub use_restrictions: bool,
    pub attribution_required: bool,
    pub derivative_naming: bool,
    pub output_training_restriction: bool,
    pub share_alike: bool,
    pub redistribution_allowed: Tristate,
    pub training_data_disclosed: Tristate,
    pub declared_license: Option<String>,
    pub declared_matches_text: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// A summary field name, or an informational one (`termination`, `region`, ...).
    pub field: String,
    pub value: Value,
    pub file: String,
    pub line: usize,
    pub quote: String,
    /// Plain-words explanation for the person reading the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The license's own sentence, when its text is not in the folder: the
    /// finding then quotes the folder's pointer, and this the published text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<Published>,
}

/// A sentence of a license's published text (its clause sheet), quoted for a
/// folder that names the license without holding it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    pub license: String,
    pub sentence: String,
}

impl Finding {
    pub fn new(field: &str, value: impl Into<Value>, ev: &Evidence) -> Self {
        Self {
            field: field.to_owned(),
            value: value.into(),
            file: ev.file.clone(),
            line: ev.line,
            quote: ev.quote.clone(),
            note: None,
            published: None,
        }
    }
    /// A finding on a summary field.
    pub fn of(field: Field, value: impl Into<Value>, ev: &Evidence) -> Self {
        Self::new(field.name(), value, ev)
    }
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }
}

/// Something in the folder that could not be read as expected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub file: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub size: u64,
    pub role: Role,
}

/// How one license document was recognised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentId {
    pub file: String,
    pub license_id: Option<String>,
    pub name: Option<String>,
    /// "title", "text match", "pointer" (names a license it does not contain) or "unrecognised".
    pub method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
    /// Paragraphs a standard license does not contain (line ranges, 1-based inclusive).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<(usize, usize)>,
    pub governs_weights: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// "OSI-approved open source", "Open weights under custom terms", ...
    pub headline: String,
    /// How the headline reads at a glance (the page's colour for it).
    #[serde(default)]
    pub tone: Tone,
    pub license_name: Option<String>,
    /// Which points of the Open Source Definition fail, in plain words.
    pub osd_failures: Vec<String>,
}

/// Good: OSI-approved open source. Bad: no license, non-commercial or
/// research-only. Caution: everything between (custom terms, open licenses
/// that are not software licenses, proprietary terms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    Good,
    #[default]
    Caution,
    Bad,
}

impl Tone {
    pub fn name(self) -> &'static str {
        match self {
            Tone::Good => "good",
            Tone::Caution => "caution",
            Tone::Bad => "bad",
        }
    }
}

/// A license-bearing file of the folder as it was decoded: the text whose
/// lines the findings' quotes count (for a viewer to open them at).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceText {
    pub path: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub summary: Summary,
    pub verdict: Verdict,
    /// The Hub's `license_name` for licenses filed as "other".
    pub license_name: Option<String>,
    pub findings: Vec<Finding>,
    pub documents: Vec<DocumentId>,
    pub files: Vec<FileEntry>,
    pub problems: Vec<Problem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uses: Option<Vec<UseAnswer>>,
    /// The data sets the folder names as training data.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub datasets: Vec<String>,
    /// The model card's `license_link`, where it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_link: Option<String>,
    /// Where the model comes from, base first, the folder's own model last;
    /// empty when the folder names no base.
    #[serde(default)]
    pub lineage: Vec<crate::lineage::Link>,
    /// How open the folder is (MOF components and class, OSAID requirements).
    #[serde(default)]
    pub openness: crate::openness::Openness,
}

/// One of the questions a builder asks of a license, answered from the
/// summary. The Markdown report and the page both render these, so the
/// wording lives here only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// The summary field (and finding field) that answers it.
    pub field: Field,
    pub question: &'static str,
    pub answer: String,
}

fn commercial(c: Commercial) -> &'static str {
    match c {
        Commercial::Allowed => "allowed",
        Commercial::Conditional => "allowed with conditions",
        Commercial::Forbidden => "not allowed",
        Commercial::Unknown => "not settled by the documents",
    }
}

/// A number with thousands separators (700,000,000).
pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The questions, in the order the report shows them.
pub fn questions(s: &Summary) -> Vec<Question> {
    let q = |field, question, answer: String| Question { field, question, answer };
    vec![
        q(Field::CommercialUse, "Can I use it commercially?", commercial(s.commercial_use).into()),
        q(
            Field::UserThresholdMau,
            "Is there a cap on users?",
            s.user_threshold_mau.map_or("no".into(), |n| format!("yes: {} monthly active users", group(n))),
        ),
        q(
            Field::RevenueThresholdUsd,
            "Is there a cap on revenue?",
            s.revenue_threshold_usd.map_or("no".into(), |n| format!("yes: USD {} a year", group(n))),
        ),
        q(Field::UseRestrictions, "Are some uses forbidden?", yes_no(s.use_restrictions)),
        q(Field::AttributionRequired, "Must I credit it or keep notices?", yes_no(s.attribution_required)),
        q(Field::DerivativeNaming, "Must derivatives carry its name?", yes_no(s.derivative_naming)),
        q(
            Field::OutputTrainingRestriction,
            "Is training other models on its outputs forbidden?",
            yes_no(s.output_training_restriction),
        ),
        q(Field::ShareAlike, "Must derivatives use the same license?", yes_no(s.share_alike)),
        q(Field::RedistributionAllowed, "Can I redistribute the weights?", tri(s.redistribution_allowed)),
        q(Field::TrainingDataDisclosed, "Is the training data disclosed?", tri(s.training_data_disclosed)),
    ]
}

impl Report {
    /// The folder's own name, for a model whose documents do not name it: it
    /// becomes the chain's last link and is checked against each binding
    /// base's naming duty (the finding's file is the folder's name).
    pub fn name_from_folder(&mut self, folder: &str) {
        let folder = folder.trim();
        let unnamed = self.lineage.last().is_some_and(|l| l.name == crate::lineage::UNNAMED);
        if folder.is_empty() || !unnamed {
            return;
        }
        // A folder's name is in no file: the finding names the folder and quotes nothing.
        let ev = Evidence { file: folder.to_owned(), line: 0, quote: String::new() };
        let n = self.lineage.len();
        let found: Vec<Finding> = self.lineage[..n - 1]
            .iter()
            .filter(|l| l.binds_derivatives)
            .filter_map(|l| l.known())
            .filter_map(|k| crate::analyse::lineage::naming_duty(k, folder, &ev))
            .collect();
        if let Some(own) = self.lineage.last_mut() {
            own.name = folder.to_owned();
        }
        self.findings.extend(found);
    }

    pub fn findings_for<'a>(&'a self, field: &'a str) -> impl Iterator<Item = &'a Finding> + 'a {
        self.findings.iter().filter(move |f| f.field == field)
    }

    /// The report in a few plain sentences (the page's summary and the Markdown lead).
    pub fn summary_paragraph(&self) -> String {
        let r = self;
        let s = &r.summary;
        let name = r.verdict.license_name.clone().unwrap_or_else(|| "no license".into());
        let mut parts = vec![format!("{}: {}.", name, r.verdict.headline)];
        parts.push(format!("Commercial use: {}.", commercial(s.commercial_use)));
        if let Some(n) = s.user_threshold_mau {
            parts.push(format!("Above {} monthly active users a separate license is needed.", group(n)));
        }
        if let Some(n) = s.revenue_threshold_usd {
            parts.push(format!("Above USD {} annual revenue a separate license is needed.", group(n)));
        }
        if s.use_restrictions {
            parts.push("Some uses are prohibited.".into());
        }
        if s.derivative_naming {
            parts.push("Derivative models must carry its name.".into());
        }
        if s.output_training_restriction {
            parts.push("Its outputs may not be used to train other models.".into());
        }
        if s.declared_matches_text == Some(false) {
            parts.push("The declared license does not match the license text.".into());
        }
        // What its bases' terms mean for it.
        if let Some(f) = self.findings_for("base_license_conflict").next() {
            parts.push(format!(
                "Conflict: {}",
                f.note.as_deref().unwrap_or("a base model's terms do not allow this license.")
            ));
        }
        if let Some(f) = self.findings_for("base_terms").next() {
            parts.push(f.note.clone().unwrap_or_default());
        }
        if let Some(f) = self.findings_for("naming_duty").find(|f| f.value == serde_json::json!(false)) {
            parts.push(f.note.clone().unwrap_or_default());
        }
        parts.join(" ")
    }

    /// The report as Markdown, for people and for pull-request comments.
    pub fn to_markdown(&self) -> String {
        use std::fmt::Write;
        let s = &self.summary;
        let mut out = String::new();
        let name = self.verdict.license_name.as_deref().unwrap_or("no license");
        let _ = writeln!(out, "# License report: {name}\n");
        let _ = writeln!(out, "**{}**\n", self.verdict.headline);
        let _ = writeln!(out, "{}\n", self.summary_paragraph());
        for f in &self.verdict.osd_failures {
            let _ = writeln!(out, "- Not open source: {f}");
        }
        let _ = writeln!(out, "\n| question | answer |\n|---|---|");
        let ids = [
            ("License id", s.license_id.clone().unwrap_or_else(|| "none".into())),
            ("SPDX", s.spdx.clone().unwrap_or_else(|| "none".into())),
        ];
        for (q, a) in ids {
            let _ = writeln!(out, "| {q} | {a} |");
        }
        for q in questions(s) {
            let _ = writeln!(out, "| {} | {} |", q.question, q.answer);
        }
        if let Some(d) = &s.declared_license {
            let m = match s.declared_matches_text {
                Some(true) => "matches the text",
                Some(false) => "**does not match the text**",
                None => "no text to compare",
            };
            let _ = writeln!(out, "\nDeclared license: `{d}` ({m}).");
        }
        if let Some(own) = self.lineage.last() {
            let _ = writeln!(out, "\n## Where it comes from\n");
            for l in &self.lineage[..self.lineage.len() - 1] {
                let lic =
                    l.license_name.as_deref().or(l.license_id.as_deref()).unwrap_or("license not known to Fine Print");
                let binds = if l.binds_derivatives { "; its terms bind derivatives" } else { "" };
                let _ = writeln!(out, "- {} ({lic}{binds})", l.repo.as_deref().unwrap_or(&l.name));
                for c in &l.carries {
                    let _ = writeln!(out, "  - carries over: {}", c.term);
                }
            }
            let how = own.relation.map_or("made from them", |r| r.phrase());
            let _ = writeln!(out, "- **{}**: {how} the above", own.name);
        }
        let o = &self.openness;
        let _ = writeln!(out, "\n## How open it is\n");
        let _ = writeln!(
            out,
            "- Model Openness Framework: {}",
            o.mof_class.as_deref().map_or("no class reached".to_owned(), |c| format!("Class {c}"))
        );
        for m in &o.missing {
            let _ = writeln!(out, "  - missing for the next class: {m}");
        }
        let _ = writeln!(
            out,
            "- Open Source AI Definition 1.0: {}",
            if o.osaid.conforms { "its requirements are met" } else { "not met" }
        );
        for u in &o.osaid.unmet {
            let _ = writeln!(out, "  - {u}");
        }
        let _ = writeln!(out, "\n{} ({})", o.note, o.framework);
        if let Some(uses) = &self.uses {
            let _ = writeln!(out, "\n## Your use\n");
            for u in uses {
                let _ = writeln!(out, "- **{}**: {} — {}", u.question, u.answer.label(), u.reason);
            }
        }
        let _ = writeln!(out, "\n## Evidence\n");
        for f in &self.findings {
            let _ = writeln!(
                out,
                "- `{}` = {} — {}:{}\n  > {}",
                f.field,
                f.value,
                f.file,
                f.line,
                f.quote.replace('\n', " ")
            );
        }
        if !self.problems.is_empty() {
            let _ = writeln!(out, "\n## Problems reading the folder\n");
            for p in &self.problems {
                let _ = writeln!(out, "- {}: {}", p.file, p.message);
            }
        }
        let _ = writeln!(out, "\n---\n{}", crate::known::DATA_CREDIT);
        out
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}

fn tri(t: Tristate) -> String {
    match t {
        Tristate::Bool(b) => yes_no(b),
        Tristate::Word(TriWord::Conditional) => "with conditions".into(),
        Tristate::Word(TriWord::Unknown) => "unknown".into(),
    }
}
