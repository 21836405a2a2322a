//! How a model's terms changed between two revisions of its folder: the
//! license and its family, each term of the summary, the bases it names, and
//! the prohibited uses its policy and license list, added or removed.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::discover::{self, Role};
use crate::field::Field;
use crate::report::{Report, SourceText};

/// One revision: its report and its license-bearing texts as decoded
/// ([`crate::check_with_texts`]).
pub struct Revision<'a> {
    pub report: &'a Report,
    pub texts: &'a [SourceText],
}

/// One term that differs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// A summary field's name, or `license` (the license's name) or `bases`.
    pub field: String,
    pub before: Value,
    pub after: Value,
}

/// Everything that differs between two revisions; empty when the terms are the same.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Diff {
    pub changes: Vec<Change>,
    /// Prohibited uses the new revision lists and the old one did not, as written.
    pub prohibited_added: Vec<String>,
    pub prohibited_removed: Vec<String>,
}

/// The summary fields a change of terms shows in, in the order a reader wants them.
const TERMS: &[Field] = &[
    Field::LicenseId,
    Field::Family,
    Field::Category,
    Field::OsiApproved,
    Field::CommercialUse,
    Field::UserThresholdMau,
    Field::RevenueThresholdUsd,
    Field::UseRestrictions,
    Field::AttributionRequired,
    Field::DerivativeNaming,
    Field::OutputTrainingRestriction,
    Field::ShareAlike,
    Field::RedistributionAllowed,
    Field::TrainingDataDisclosed,
    Field::DeclaredLicense,
];

/// What a reader calls each changed term.
pub fn label(field: &str) -> &str {
    match field {
        "license" => "License",
        "bases" => "Base models",
        "license_id" => "License id",
        "family" => "License family",
        "category" => "Category",
        "osi_approved" => "OSI-approved",
        "commercial_use" => "Commercial use",
        "user_threshold_mau" => "Monthly-active-user cap",
        "revenue_threshold_usd" => "Revenue cap (USD)",
        "use_restrictions" => "Prohibited uses apply",
        "attribution_required" => "Attribution required",
        "derivative_naming" => "Naming duty for derivatives",
        "output_training_restriction" => "Ban on training with outputs",
        "share_alike" => "Share-alike",
        "redistribution_allowed" => "Redistribution",
        "training_data_disclosed" => "Training data disclosed",
        "declared_license" => "Declared license",
        other => other,
    }
}

fn bases(r: &Report) -> Value {
    let n = r.lineage.len().saturating_sub(1);
    Value::from(r.lineage.iter().take(n).map(|l| l.repo.clone().unwrap_or_else(|| l.name.clone())).collect::<Vec<_>>())
}

/// The list items of a folder's use policies and licenses that stand under
/// a heading or a sentence about prohibited uses ("You agree you will not use
/// … to:"), each folded to compare (case, spacing and version numbers aside:
/// "Llama 3.1" and "Llama 3.3" write the same item).
fn prohibited(texts: &[SourceText]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for t in texts {
        let role = discover::role(&t.path);
        if role != Role::UsePolicy && role != Role::License {
            continue;
        }
        let mut in_section = false;
        for line in t.text.lines() {
            let trimmed = line.trim();
            if trimmed.is_empty() {
                continue;
            }
            let item = list_item(trimmed);
            // A heading or a paragraph (not a list item, not an indented
            // continuation) opens or closes a list of prohibited uses.
            if item.is_none() && !line.starts_with([' ', '\t']) {
                let lower = trimmed.to_lowercase();
                in_section = crate::known::PROHIBITED_HEADINGS.iter().any(|w| lower.contains(w));
                continue;
            }
            let Some(item) = item.filter(|_| in_section) else { continue };
            let key = fold(item);
            if key.len() >= 12 && !out.iter().any(|(k, _)| *k == key) {
                out.push((key, item.to_owned()));
            }
        }
    }
    out
}

/// The text of a bulleted or numbered line ("- x", "1. x", "a) x", "(iv) x").
fn list_item(line: &str) -> Option<&str> {
    // A bullet is its marker and a space ("**bold**" is not one).
    if let Some(rest) = ["- ", "* ", "• ", "· ", "+ "].iter().find_map(|m| line.strip_prefix(m)) {
        return Some(rest.trim()).filter(|r| !r.is_empty());
    }
    let marker_end = line.find([' ', '\t'])?;
    let marker = &line[..marker_end];
    let inner = marker.trim_start_matches('(').trim_end_matches(['.', ')']);
    let numbered = !inner.is_empty()
        && inner.len() <= 4
        && marker != inner
        && (inner.chars().all(|c| c.is_ascii_digit() || c == '.')
            || inner.chars().all(|c| matches!(c, 'i' | 'v' | 'x'))
            || (inner.len() == 1 && inner.chars().all(|c| c.is_ascii_lowercase())));
    numbered.then(|| line[marker_end..].trim()).filter(|r| !r.is_empty())
}

fn fold(s: &str) -> String {
    let words = s.split(|c: char| !c.is_alphanumeric() && c != '.').map(|w| w.trim_matches('.'));
    // Version numbers ("3.1", "v2") name the release, not the use.
    let kept = words.filter(|w| !w.is_empty() && !w.chars().any(|c| c.is_ascii_digit()));
    kept.map(str::to_lowercase).collect::<Vec<_>>().join(" ")
}

/// The change of terms from `old` to `new`.
pub fn compare(old: &Revision, new: &Revision) -> Diff {
    let mut d = Diff::default();
    let (a, b) = (old.report, new.report);
    if a.verdict.license_name != b.verdict.license_name {
        d.changes.push(Change {
            field: "license".into(),
            before: Value::from(a.verdict.license_name.clone()),
            after: Value::from(b.verdict.license_name.clone()),
        });
    }
    let (sa, sb) =
        (serde_json::to_value(&a.summary).unwrap_or_default(), serde_json::to_value(&b.summary).unwrap_or_default());
    for f in TERMS {
        let (x, y) = (&sa[f.name()], &sb[f.name()]);
        if x != y {
            d.changes.push(Change { field: f.name().into(), before: x.clone(), after: y.clone() });
        }
    }
    let (ba, bb) = (bases(a), bases(b));
    if ba != bb {
        d.changes.push(Change { field: "bases".into(), before: ba, after: bb });
    }
    let (pa, pb) = (prohibited(old.texts), prohibited(new.texts));
    d.prohibited_added = pb.iter().filter(|(k, _)| !pa.iter().any(|(x, _)| x == k)).map(|(_, t)| t.clone()).collect();
    d.prohibited_removed = pa.iter().filter(|(k, _)| !pb.iter().any(|(x, _)| x == k)).map(|(_, t)| t.clone()).collect();
    d
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.prohibited_added.is_empty() && self.prohibited_removed.is_empty()
    }

    /// The change in lines for people: one per term, then the uses added and removed.
    pub fn lines(&self) -> Vec<String> {
        let show = |v: &Value| match v {
            Value::Null => "none".to_owned(),
            Value::Bool(b) => if *b { "yes" } else { "no" }.to_owned(),
            Value::Number(n) => n.as_u64().map_or_else(|| n.to_string(), crate::report::group),
            Value::String(s) => s.clone(),
            Value::Array(a) if a.is_empty() => "none".to_owned(),
            Value::Array(a) => {
                a.iter().map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned)).collect::<Vec<_>>().join(", ")
            }
            other => other.to_string(),
        };
        let mut out: Vec<String> = self
            .changes
            .iter()
            .map(|c| format!("{}: {} → {}", label(&c.field), show(&c.before), show(&c.after)))
            .collect();
        out.extend(self.prohibited_added.iter().map(|p| format!("Prohibited use added: {p}")));
        out.extend(self.prohibited_removed.iter().map(|p| format!("Prohibited use removed: {p}")));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(files: &[(&str, &str)]) -> (Report, Vec<SourceText>) {
        crate::check_with_texts(&crate::test_files(files))
    }

    #[test]
    fn a_relicensed_model_shows_each_changed_term() {
        let (a, ta) = rev(&[("README.md", "---\nlicense: apache-2.0\n---\n# M\n")]);
        let (b, tb) = rev(&[("README.md", "---\nlicense: cc-by-nc-4.0\n---\n# M\n")]);
        let d = compare(&Revision { report: &a, texts: &ta }, &Revision { report: &b, texts: &tb });
        let fields: Vec<&str> = d.changes.iter().map(|c| c.field.as_str()).collect();
        for f in ["license", "license_id", "category", "commercial_use", "osi_approved"] {
            assert!(fields.contains(&f), "{f} not in {fields:?}");
        }
        assert!(d.lines().iter().any(|l| l.starts_with("Commercial use: allowed → forbidden")), "{:?}", d.lines());
        let same = compare(&Revision { report: &a, texts: &ta }, &Revision { report: &a, texts: &ta });
        assert!(same.is_empty());
    }

    #[test]
    fn policy_items_added_and_removed_are_listed() {
        let policy = |items: &str| format!("# Acceptable Use Policy\n\nYou agree not to use the model:\n{items}\n");
        let (a, ta) = rev(&[("USE_POLICY.md", &policy("- to generate spam or malware\n- to impersonate a person"))]);
        let (b, tb) =
            rev(&[("USE_POLICY.md", &policy("- to generate spam or malware\n- for military purposes of any kind"))]);
        let d = compare(&Revision { report: &a, texts: &ta }, &Revision { report: &b, texts: &tb });
        assert_eq!(d.prohibited_added, vec!["for military purposes of any kind"]);
        assert_eq!(d.prohibited_removed, vec!["to impersonate a person"]);
    }

    #[test]
    fn list_items_are_bullets_and_numbers() {
        assert_eq!(list_item("- a thing"), Some("a thing"));
        assert_eq!(list_item("2. second"), Some("second"));
        assert_eq!(list_item("(iv) fourth"), Some("fourth"));
        assert_eq!(list_item("a) first"), Some("first"));
        assert_eq!(list_item("Version 2.0 of the license"), None);
        assert_eq!(list_item("I agree"), None);
        assert_eq!(list_item("**Llama 3.1** **Acceptable Use Policy**"), None);
    }

    #[test]
    fn versions_do_not_make_items_differ() {
        assert_eq!(
            fold("Representing that the use of Llama 3.1 is human"),
            fold("Representing that the use of Llama 3.3 is human")
        );
        assert_ne!(fold("Military use"), fold("Military or nuclear use"));
    }
}
