//! The report: a summary with exactly the fields of the labelled corpus, the
//! findings that prove it, and what went wrong reading the folder.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::discover::Role;
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
        }
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
    pub license_name: Option<String>,
    /// Which points of the Open Source Definition fail, in plain words.
    pub osd_failures: Vec<String>,
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
}

impl Report {
    pub fn findings_for<'a>(&'a self, field: &'a str) -> impl Iterator<Item = &'a Finding> + 'a {
        self.findings.iter().filter(move |f| f.field == field)
    }

    /// The report as Markdown, for people and for pull-request comments.
    pub fn to_markdown(&self) -> String {
        use std::fmt::Write;
        let s = &self.summary;
        let mut out = String::new();
        let name = self.verdict.license_name.as_deref().unwrap_or("no license");
        let _ = writeln!(out, "# License report: {name}\n");
        let _ = writeln!(out, "**{}**\n", self.verdict.headline);
        for f in &self.verdict.osd_failures {
            let _ = writeln!(out, "- Not open source: {f}");
        }
        let _ = writeln!(out, "\n| question | answer |\n|---|---|");
        let rows: [(&str, String); 12] = [
            ("License id", s.license_id.clone().unwrap_or_else(|| "none".into())),
            ("SPDX", s.spdx.clone().unwrap_or_else(|| "none".into())),
            ("Commercial use", format!("{:?}", s.commercial_use).to_lowercase()),
            ("User cap (monthly active users)", s.user_threshold_mau.map_or("none".into(), |n| n.to_string())),
            ("Revenue cap (USD a year)", s.revenue_threshold_usd.map_or("none".into(), |n| n.to_string())),
            ("Prohibited uses", yes_no(s.use_restrictions)),
            ("Attribution required", yes_no(s.attribution_required)),
            ("Derivatives must carry a name", yes_no(s.derivative_naming)),
            ("Outputs may not train other models", yes_no(s.output_training_restriction)),
            ("Share-alike", yes_no(s.share_alike)),
            ("Redistribution", tri(s.redistribution_allowed)),
            ("Training data disclosed", tri(s.training_data_disclosed)),
        ];
        for (q, a) in rows {
            let _ = writeln!(out, "| {q} | {a} |");
        }
        if let Some(d) = &s.declared_license {
            let m = match s.declared_matches_text {
                Some(true) => "matches the text",
                Some(false) => "**does not match the text**",
                None => "no text to compare",
            };
            let _ = writeln!(out, "\nDeclared license: `{d}` ({m}).");
        }
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
