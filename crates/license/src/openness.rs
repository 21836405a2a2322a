//! How open a folder is, read from its documents: the Model Openness
//! Framework's components (present in the folder, linked from its card, or
//! absent), the highest MOF class they reach and what the next class lacks,
//! and the Open Source AI Definition's requirements that are not met. The
//! components and the requirements are data (data/openness.toml); reading one
//! folder gives a lower bound, and the report says so.

use serde::{Deserialize, Serialize};

use crate::discover;
use crate::known::Category;
use crate::lineage::glob;
use crate::report::{Finding, Summary, Tristate};
use crate::text::Document;

/// Which licenses MOF accepts for a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// OSI-approved licenses only.
    Code,
    Data,
    Document,
    Parameters,
}

/// One MOF component as data/openness.toml defines it.
pub struct ComponentDef {
    pub id: &'static str,
    pub name: &'static str,
    /// 3, 2 or 1: Class III (Open Model), II (Open Tooling), I (Open Science).
    pub class: u8,
    pub kind: Kind,
    pub optional: bool,
    pub files: &'static [&'static str],
    pub phrases: &'static [&'static str],
}

include!(concat!(env!("OUT_DIR"), "/openness.rs"));

/// Where a folder shows a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Present,
    Linked,
    Absent,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Component {
    pub id: String,
    pub name: String,
    /// "III", "II" or "I".
    pub class: String,
    pub status: Status,
    /// The file that holds it, or the card that links it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<String>,
    /// The license it is under, for a component in the folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms: Option<String>,
    /// Whether those terms are open as MOF asks for its kind; null when not checked.
    pub open: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Osaid {
    pub conforms: bool,
    /// The requirements this folder does not show as met.
    pub unmet: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Openness {
    pub framework: String,
    pub osaid: Osaid,
    /// The highest MOF class the folder shows ("III", "II", "I"), or null.
    pub mof_class: Option<String>,
    pub components: Vec<Component>,
    /// What the next class needs that the folder does not show.
    pub missing: Vec<String>,
    pub note: String,
}

pub fn roman(class: u8) -> &'static str {
    match class {
        1 => "I",
        2 => "II",
        _ => "III",
    }
}

/// Whether terms are open enough for a component of this kind.
fn open_for(kind: Kind, s: &Summary) -> bool {
    s.osi_approved || (kind != Kind::Code && matches!(s.category, Category::Permissive | Category::PublicDomain))
}

/// Every component's phrases in one automaton (ASCII case aside), with the
/// component each belongs to.
fn phrases() -> &'static (aho_corasick::AhoCorasick, Vec<usize>) {
    static AC: std::sync::OnceLock<(aho_corasick::AhoCorasick, Vec<usize>)> = std::sync::OnceLock::new();
    AC.get_or_init(|| {
        let mut owner = Vec::new();
        let mut pats = Vec::new();
        for (i, def) in COMPONENTS.iter().enumerate() {
            for p in def.phrases {
                owner.push(i);
                pats.push(*p);
            }
        }
        let ac = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&pats)
            // build.rs checked the phrases; an automaton that cannot be built finds nothing.
            .unwrap_or_else(|_| aho_corasick::AhoCorasick::new(Vec::<&str>::new()).expect("an empty automaton builds"));
        (ac, owner)
    })
}

/// Where each component is first linked from the cards: (card, byte), by component index.
fn linked(cards: &[&Document]) -> Vec<Option<(usize, usize)>> {
    let (ac, owner) = phrases();
    let mut first = vec![None; COMPONENTS.len()];
    for (c, doc) in cards.iter().enumerate() {
        for m in ac.find_overlapping_iter(doc.text.as_str()) {
            let slot = &mut first[owner[m.pattern().as_usize()]];
            if slot.is_none() {
                *slot = Some((c, m.start()));
            }
        }
    }
    first
}

/// The component's status in a folder, with its evidence.
fn find(
    def: &ComponentDef,
    paths: &[&str],
    cards: &[&Document],
    link: Option<(usize, usize)>,
) -> (Status, Option<String>, Option<usize>, Option<String>) {
    let in_folder = paths.iter().find(|p| {
        let name = discover::file_name(p).to_lowercase();
        def.files.iter().any(|f| glob(&f.to_lowercase(), &name))
    });
    if let Some(p) = in_folder {
        return (Status::Present, Some((*p).to_owned()), None, None);
    }
    match link.and_then(|(c, at)| cards.get(c).map(|d| (d, at))) {
        Some((doc, at)) => {
            let line = doc.line_of(at);
            let quote = doc.text.lines().nth(line.saturating_sub(1)).unwrap_or("").trim();
            (Status::Linked, Some(doc.path.clone()), Some(line), Some(crate::text::cut(quote, 200).to_owned()))
        }
        None => (Status::Absent, None, None, None),
    }
}

/// How open the folder is.
pub(crate) fn assess(
    paths: &[&str],
    cards: &[&Document],
    s: &Summary,
    license: Option<&str>,
    findings: &[Finding],
) -> Openness {
    let none = s.category == Category::NoLicense;
    let terms = if none { Some("no license".to_owned()) } else { license.map(str::to_owned) };
    let links = linked(cards);
    let mut components: Vec<Component> = COMPONENTS
        .iter()
        .zip(links)
        .map(|(def, link)| {
            let (mut status, mut file, mut line, mut quote) = find(def, paths, cards, link);
            if def.id == "datasets" && s.training_data_disclosed == Tristate::Bool(true) {
                status = Status::Linked;
                if let Some(f) = findings.iter().find(|f| f.field == "training_data_disclosed") {
                    (file, line, quote) = (Some(f.file.clone()), Some(f.line), Some(f.quote.clone()));
                }
            }
            let present = status == Status::Present;
            Component {
                id: def.id.to_owned(),
                name: def.name.to_owned(),
                class: roman(def.class).to_owned(),
                status,
                file,
                line,
                quote,
                terms: if present { terms.clone() } else { None },
                open: present.then(|| !none && open_for(def.kind, s)),
            }
        })
        .collect();
    components.sort_by_key(|c| std::cmp::Reverse(COMPONENTS.iter().find(|d| d.id == c.id).map_or(3, |d| d.class)));

    // A class needs its components and those of the classes above it, shown and, where in the folder, open.
    let meets = |class: u8| {
        COMPONENTS
            .iter()
            .filter(|d| d.class >= class && !d.optional)
            .all(|d| components.iter().any(|c| c.id == d.id && c.status != Status::Absent && c.open != Some(false)))
    };
    let reached = [3u8, 2, 1].into_iter().take_while(|c| meets(*c)).last();
    let next = match reached {
        None => Some(3),
        Some(1) => None,
        Some(c) => Some(c - 1),
    };
    let missing = next.map_or_else(Vec::new, |n| {
        COMPONENTS
            .iter()
            .filter(|d| d.class >= n && !d.optional)
            .filter_map(|d| {
                let c = components.iter().find(|c| c.id == d.id)?;
                match (c.status, c.open) {
                    (Status::Absent, _) => Some(format!("{} (Class {})", d.name, roman(d.class))),
                    (_, Some(false)) => Some(format!(
                        "{} under open terms: it is under {}",
                        d.name,
                        c.terms.as_deref().unwrap_or("terms that are not open")
                    )),
                    _ => None,
                }
            })
            .collect()
    });

    let status = |id: &str| components.iter().find(|c| c.id == id).map_or(Status::Absent, |c| c.status);
    let mut unmet = Vec::new();
    for (id, requirement) in OSAID {
        let met = match *id {
            "data-information" => s.training_data_disclosed == Tristate::Bool(true),
            "code" => status("training-code") != Status::Absent && status("inference-code") != Status::Absent,
            "parameters" => !none && s.osi_approved,
            _ => false,
        };
        if !met {
            unmet.push((*requirement).to_owned());
        }
    }
    Openness {
        framework: FRAMEWORK.to_owned(),
        osaid: Osaid { conforms: unmet.is_empty(), unmet },
        mof_class: reached.map(|c| roman(c).to_owned()),
        components,
        missing,
        note: "Read from this folder's files and documents alone: a lower bound. Components the card only links were not opened, nor their terms checked.".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(files: &[(&str, &str)]) -> crate::Report {
        crate::check(&crate::test_files(files))
    }

    #[test]
    fn components_are_the_seventeen_of_mof() {
        assert_eq!(COMPONENTS.len(), 17);
        assert_eq!(COMPONENTS.iter().filter(|c| c.class == 3).count(), 7);
        assert_eq!(COMPONENTS.iter().filter(|c| c.class == 2).count(), 5);
        assert_eq!(COMPONENTS.iter().filter(|c| c.class == 1).count(), 5);
    }

    #[test]
    fn restricted_weights_reach_no_class_and_say_why() {
        let r = report(&[
            ("README.md", "---\nlicense: llama3.2\nmodel-index:\n- name: x\n---\n# X\n\nSee huggingface.co/datasets/a/b and the technical report at arxiv.org/abs/1234.\n"),
            ("config.json", "{}"),
            ("model.safetensors", ""),
        ]);
        let o = &r.openness;
        assert_eq!(o.mof_class, None);
        assert!(
            o.missing.iter().any(|m| m.starts_with("Model parameters (final) under open terms")),
            "{:?}",
            o.missing
        );
        assert!(!o.osaid.conforms);
        assert!(o.osaid.unmet.iter().any(|u| u.starts_with("Parameters")));
    }

    #[test]
    fn open_weights_with_documents_reach_class_three() {
        let r = report(&[
            ("README.md", "---\nlicense: apache-2.0\nmodel-index:\n- name: x\n---\n# X\n\nData card: huggingface.co/datasets/a/b. Technical report: arxiv.org/abs/1234.\n"),
            ("config.json", "{}"),
            ("model.safetensors", ""),
        ]);
        let o = &r.openness;
        assert_eq!(o.mof_class.as_deref(), Some("III"), "{:?}", o.missing);
        assert!(o.missing.iter().any(|m| m.starts_with("Training, validation and testing code")), "{:?}", o.missing);
        let weights = o.components.iter().find(|c| c.id == "model-parameters").expect("weights");
        assert_eq!((weights.status, weights.open), (Status::Present, Some(true)));
    }
}
