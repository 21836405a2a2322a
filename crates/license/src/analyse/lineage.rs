//! Stage 6, lineage: the bases a folder names and what their terms mean for
//! it. Bases come from the card's front matter (`base_model`,
//! `base_model_relation`), GGUF `general.base_model.N.*`, adapter_config.json's
//! `base_model_name_or_path`, config.json's `_name_or_path` and, when none of
//! those names one, the card's prose ("a fine-tuned version of X"). A base
//! whose license binds derivatives is checked against the folder's own
//! license (a conflict) and its naming duty against the model's name.

use std::sync::OnceLock;

use crate::discover::Role;
use crate::field::Field;
use crate::known::{Category, Commercial, Known};
use crate::lineage::{base_license, repo_key, Carried, Link, Relation, PROSE, TITLE_FILLERS};
use crate::report::{Finding, Published, Summary};
use crate::text::{Document, Evidence};
use regex::{Regex, RegexBuilder};

use super::folder::Folder;

/// A base the folder names.
#[derive(Debug, Clone)]
pub(crate) struct Base {
    pub repo: Option<String>,
    pub name: String,
    /// How the folder's model (or, for a grandparent, its parent) was made from it.
    pub relation: Option<Relation>,
    /// 1: the folder's model was made from it; 2: its parent was.
    pub depth: u8,
    pub evidence: Evidence,
    pub known: Option<&'static Known>,
}

/// What the lineage stage found.
pub(crate) struct Lineage {
    pub chain: Vec<Link>,
    pub findings: Vec<Finding>,
    /// The bases whose terms bind this folder, with where each is named.
    pub binding: Vec<(&'static Known, Evidence)>,
}

fn prose_patterns() -> &'static [(Relation, Regex)] {
    static RES: OnceLock<Vec<(Relation, Regex)>> = OnceLock::new();
    RES.get_or_init(|| {
        PROSE
            .iter()
            // build.rs compiled each of them; one that fails here is skipped.
            .filter_map(|(r, p)| RegexBuilder::new(p).case_insensitive(true).build().ok().map(|re| (*r, re)))
            .collect()
    })
}

/// A value that is a path on someone's disk, not a model's name.
fn is_local_path(v: &str) -> bool {
    v.starts_with(['/', '.', '~']) || v.contains('\\') || v.matches('/').count() > 1 || v.contains(':')
}

fn base(repo_or_name: &str, relation: Option<Relation>, depth: u8, evidence: Evidence) -> Option<Base> {
    let v = repo_or_name.trim().trim_start_matches("https://huggingface.co/").trim_matches(['/', '"', '\'']);
    if v.is_empty() || is_local_path(v) {
        return None;
    }
    let repo = v.contains('/').then(|| v.to_owned());
    let name = v.rsplit('/').next().unwrap_or(v).to_owned();
    Some(Base { repo, name, relation, depth, evidence, known: base_license(v) })
}

/// The line of a card that holds a front-matter value, quoted.
fn card_line(doc: &Document, from: usize, needle: &str) -> Evidence {
    let lines: Vec<&str> = doc.text.lines().collect();
    let at = (from.saturating_sub(1)..lines.len().min(from + 40))
        .find(|&i| lines.get(i).is_some_and(|l| l.contains(needle)))
        .unwrap_or(from.saturating_sub(1));
    Evidence { file: doc.path.clone(), line: at + 1, quote: lines.get(at).map_or("", |l| l.trim()).to_owned() }
}

/// GGUF metadata: no lines, but the value's bytes stand in the file as
/// written, so the value is the quote (the finding's note names the key).
fn gguf_evidence(path: &str, value: &str) -> Evidence {
    Evidence { file: path.to_owned(), line: 0, quote: value.to_owned() }
}

/// Every base the folder names, deduplicated, structured sources first.
fn bases(folder: &Folder) -> Vec<Base> {
    let mut out: Vec<Base> = Vec::new();
    for (i, fm) in &folder.front_matter {
        let Some((doc, _)) = folder.docs.get(*i) else { continue };
        let relation = fm.base_model_relation.as_deref().and_then(Relation::parse);
        for b in &fm.base_model {
            let ev = card_line(doc, fm.base_model_line.unwrap_or(1), b);
            out.extend(base(b, relation, 1, ev));
        }
    }
    for c in &folder.config_bases {
        out.extend(base(&c.value, c.adapter.then_some(Relation::Adapter), 1, c.evidence.clone()));
    }
    for (path, m) in &folder.gguf {
        // A conversion of the card's base names that base's own bases: a generation further back.
        let own = [
            m.text("general.source.huggingface.repository"),
            m.text("general.source.repo_url"),
            m.text("general.name"),
        ];
        let of_parent = own.iter().flatten().any(|o| {
            let k = repo_key(o.trim_start_matches("https://huggingface.co/"));
            out.iter().any(|b| b.depth == 1 && same_model(&k, &repo_key(b.repo.as_deref().unwrap_or(&b.name))))
        });
        for n in 0..16 {
            let key = |f: &str| format!("general.base_model.{n}.{f}");
            let url = m.text(&key("repo_url"));
            let name = m.text(&key("name"));
            let org = m.text(&key("organization"));
            let depth = if of_parent { 2 } else { 1 };
            let found = match (url, name) {
                (Some(u), _) if u.contains("huggingface.co/") => base(u, None, depth, gguf_evidence(path, u)),
                (_, Some(nm)) => {
                    let v = org.map_or_else(|| nm.to_owned(), |o| format!("{o}/{nm}"));
                    base(&v, None, depth, gguf_evidence(path, nm))
                }
                _ => None,
            };
            match found {
                Some(b) => out.push(b),
                None if url.is_none() && name.is_none() => break,
                None => {}
            }
        }
    }
    // The card's prose says how the model was made from a base the metadata names.
    let unsaid = out.is_empty() || out.iter().any(|b| b.relation.is_none() && b.depth == 1);
    let prose = if unsaid { prose_bases(folder) } else { Vec::new() };
    for b in out.iter_mut().filter(|b| b.relation.is_none() && b.depth == 1) {
        let k = repo_key(b.repo.as_deref().unwrap_or(&b.name));
        b.relation = prose
            .iter()
            .find(|p| same_model(&repo_key(p.repo.as_deref().unwrap_or(&p.name)), &k))
            .and_then(|p| p.relation);
    }
    if out.is_empty() {
        out = prose;
    }
    // One entry per model, the first (most structured) source kept, its relation filled in.
    let mut kept: Vec<Base> = Vec::new();
    for b in out {
        let k = repo_key(b.repo.as_deref().unwrap_or(&b.name));
        match kept.iter_mut().find(|x| same_model(&repo_key(x.repo.as_deref().unwrap_or(&x.name)), &k)) {
            Some(x) => {
                x.relation = x.relation.or(b.relation);
                if x.repo.is_none() {
                    x.repo = b.repo;
                }
            }
            None => kept.push(b),
        }
    }
    kept
}

/// The bases a card's prose names ("a fine-tuned version of X"), with the relation each phrase states.
fn prose_bases(folder: &Folder) -> Vec<Base> {
    let mut out = Vec::new();
    for doc in folder.cards() {
        let body = body_of(&doc.text);
        for (relation, re) in prose_patterns() {
            // Found by the fast search first; the capture is read on the match alone.
            for found in re.find_iter(body) {
                let Some(m) = re.captures(found.as_str()).and_then(|c| c.name("repo")) else { continue };
                let at = doc.text.len() - body.len() + found.start() + m.start();
                let ev = doc.evidence(at..at + m.len());
                out.extend(base(m.as_str(), Some(*relation), 1, ev));
            }
        }
    }
    out
}

/// Whether two keys name one model: equal, or equal on the name part when one lacks its organisation.
fn same_model(a: &str, b: &str) -> bool {
    let name = |s: &str| s.rsplit('/').next().unwrap_or(s).to_owned();
    a == b || ((!a.contains('/') || !b.contains('/')) && name(a) == name(b))
}

/// A card's text after its front matter.
fn body_of(text: &str) -> &str {
    let t = text.trim_start_matches('\u{feff}');
    if let Some(rest) = t.strip_prefix("---") {
        if let Some(end) = rest.find("\n---") {
            let after = &rest[end + 4..];
            return &text[text.len() - after.len()..];
        }
    }
    text
}

/// The model's own name and where it is written: the card's `model_name` (or
/// `model-index`), GGUF `general.name`, the card's title.
fn own_name(folder: &Folder) -> Option<(String, Evidence)> {
    for (i, fm) in &folder.front_matter {
        if let (Some(n), Some((doc, _))) = (&fm.model_name, folder.docs.get(*i)) {
            return Some((n.clone(), card_line(doc, fm.model_name_line.unwrap_or(1), n)));
        }
    }
    for (path, m) in &folder.gguf {
        for key in ["general.name", "general.basename"] {
            if let Some(n) = m.text(key).filter(|n| !n.trim().is_empty()) {
                return Some((n.trim().to_owned(), gguf_evidence(path, n)));
            }
        }
    }
    for doc in folder.docs.iter().filter(|(_, r)| *r == Role::ModelCard).map(|(d, _)| d) {
        let body_start = doc.text.len() - body_of(&doc.text).len();
        let first_line = doc.text[..body_start].lines().count();
        for (i, line) in body_of(&doc.text).lines().enumerate() {
            let Some(title) = line.trim().strip_prefix("# ") else { continue };
            let mut name = title.trim().trim_matches(['*', '`', ' ']);
            // The fillers are ASCII: compared on the title's own bytes, so the
            // cut falls where they end (lower-casing may change a length).
            let head = |f: &str| name.get(..f.len()).filter(|h| h.eq_ignore_ascii_case(f)).map(|_| f.len());
            let tail = |f: &str| {
                let at = name.len().checked_sub(f.len())?;
                name.get(at..).filter(|t| t.eq_ignore_ascii_case(f)).map(|_| at)
            };
            if let Some(at) = TITLE_FILLERS.iter().find_map(|f| head(f)) {
                name = name[at..].trim();
            } else if let Some(at) = TITLE_FILLERS.iter().find_map(|f| tail(f)) {
                name = name[..at].trim();
            }
            // A heading that is a sentence is not a name.
            if !name.is_empty() && name.split_whitespace().count() <= 12 {
                // The body's first line is the rest of the closing `---` line.
                let ev = Evidence {
                    file: doc.path.clone(),
                    line: if body_start == 0 { i + 1 } else { first_line + i },
                    quote: line.trim().to_owned(),
                };
                return Some((name.to_owned(), ev));
            }
        }
    }
    None
}

/// Whether a model's name begins with a naming duty's words (spaces, hyphens
/// and case aside; an organisation's prefix dropped).
fn name_begins_with(name: &str, prefix: &str) -> bool {
    let squash = |s: &str| s.chars().filter(|c| c.is_alphanumeric() || *c == '.').collect::<String>().to_lowercase();
    let name = name.rsplit('/').next().unwrap_or(name);
    squash(name).starts_with(&squash(prefix))
}

/// How the folder's model was made from its direct bases, when no source says.
fn inferred_relation(folder: &Folder, direct: usize, name: Option<&str>) -> Relation {
    if folder.config_bases.iter().any(|c| c.adapter) {
        Relation::Adapter
    } else if !folder.gguf.is_empty() || name.is_some_and(Relation::quantized_by_name) {
        Relation::Quantized
    } else if direct > 1 {
        Relation::Merge
    } else {
        Relation::Finetune
    }
}

fn link_of(b: &Base) -> Link {
    Link {
        name: b.name.clone(),
        repo: b.repo.clone(),
        relation: None,
        license_id: b.known.map(|k| k.report_id().to_owned()),
        license_name: b.known.map(|k| k.name.to_owned()),
        binds_derivatives: b.known.is_some_and(|k| k.derivatives.binds),
        carries: b.known.filter(|k| k.derivatives.binds).map_or_else(Vec::new, |k| carried(k, &b.evidence)),
    }
}

/// The base's terms that bind a derivative: each question its published terms
/// answer with a duty or a limit, as the report asks it.
fn carried(k: &'static Known, named: &Evidence) -> Vec<Carried> {
    let base = super::published_report(k, named);
    let s = &base.summary;
    crate::report::questions(s)
        .into_iter()
        .filter(|q| match q.field {
            Field::CommercialUse => s.commercial_use != Commercial::Allowed,
            Field::UserThresholdMau => s.user_threshold_mau.is_some(),
            Field::RevenueThresholdUsd => s.revenue_threshold_usd.is_some(),
            Field::UseRestrictions => s.use_restrictions,
            Field::AttributionRequired => s.attribution_required,
            Field::DerivativeNaming => s.derivative_naming,
            Field::OutputTrainingRestriction => s.output_training_restriction,
            Field::ShareAlike => s.share_alike,
            Field::RedistributionAllowed => s.redistribution_allowed != crate::report::Tristate::Bool(true),
            _ => false,
        })
        .map(|q| Carried { field: q.field.name().to_owned(), term: format!("{} {}", q.question, q.answer) })
        .collect()
}

fn published(k: &Known, sentence: Option<&str>) -> Option<Published> {
    sentence.map(|s| Published { license: k.name.to_owned(), sentence: s.to_owned() })
}

/// Why a folder's own license cannot stand on a base's terms, if it cannot.
fn conflict(base: &Known, own: &Summary) -> Option<String> {
    // No license, or "other" with no name: which terms the folder claims is
    // unknown, so whether they can stand on the base's is not settled.
    // ("other" is the family analyse/terms.rs gives a license of no known family.)
    let unnamed = own.family == "other" && own.commercial_use == Commercial::Unknown;
    if own.category == Category::NoLicense || unnamed {
        return None;
    }
    let own_name =
        own.declared_license.clone().or_else(|| own.license_id.clone()).unwrap_or_else(|| "its license".into());
    let commercial_own = matches!(own.commercial_use, Commercial::Allowed | Commercial::Conditional);
    if base.terms.commercial == Commercial::Forbidden && commercial_own {
        let what = if base.terms.category == Category::ResearchOnly { "research-only" } else { "non-commercial" };
        return Some(format!(
            "The folder's license ({own_name}) allows commercial use, but the base model's {} is {what}, and its terms bind models made from it.",
            base.name
        ));
    }
    if base.terms.share_alike && own.license_id.as_deref() != Some(base.id) {
        return Some(format!(
            "The base model's {} requires derivatives to be released under the same license; the folder declares {own_name}.",
            base.name
        ));
    }
    if own.family != base.family {
        return Some(format!(
            "The base model's {} binds models made from it, so a derivative cannot be relicensed as {own_name}: its terms still apply.",
            base.name
        ));
    }
    None
}

/// Where the folder's own license is stated: its declaration, else its license finding.
fn own_license_evidence(findings: &[Finding]) -> Option<Evidence> {
    [Field::DeclaredLicense, Field::LicenseId].iter().find_map(|f| {
        findings.iter().find(|x| x.field == f.name()).map(|x| Evidence {
            file: x.file.clone(),
            line: x.line,
            quote: x.quote.clone(),
        })
    })
}

/// The lineage of a folder, and the findings its bases raise against it.
pub(crate) fn read(folder: &Folder, own: &Summary, own_findings: &[Finding]) -> Lineage {
    let bases = bases(folder);
    let mut out = Lineage { chain: Vec::new(), findings: Vec::new(), binding: Vec::new() };
    if bases.is_empty() {
        return out;
    }
    let name = own_name(folder);
    // The folder that is itself the base (an original model whose config names its own repo).
    let is_self = |b: &Base| {
        name.as_ref().is_some_and(|(n, _)| same_model(&repo_key(n), &repo_key(b.repo.as_deref().unwrap_or(&b.name))))
    };
    let direct: Vec<&Base> = bases.iter().filter(|b| b.depth == 1 && !is_self(b)).collect();
    let older: Vec<&Base> = bases.iter().filter(|b| b.depth == 2 && !is_self(b)).collect();
    if direct.is_empty() && older.is_empty() {
        return out;
    }
    let stated = direct.iter().find_map(|b| b.relation);
    let relation =
        stated.unwrap_or_else(|| inferred_relation(folder, direct.len(), name.as_ref().map(|(n, _)| n.as_str())));
    for b in older.iter().chain(direct.iter()) {
        // How a parent was made from a grandparent is not said in the folder.
        out.chain.push(link_of(b));
    }
    out.chain.push(Link {
        name: name.as_ref().map_or_else(|| crate::lineage::UNNAMED.to_owned(), |(n, _)| n.clone()),
        repo: None,
        relation: Some(relation),
        license_id: own.license_id.clone(),
        license_name: None,
        binds_derivatives: false,
        carries: Vec::new(),
    });

    let own_ev = own_license_evidence(own_findings);
    for b in older.iter().chain(direct.iter()) {
        let what =
            if b.depth == 1 { relation.phrase().to_owned() } else { "derived, through its parent, from".to_owned() };
        let mut note = format!("This model is {what} {}", b.repo.as_deref().unwrap_or(&b.name));
        match b.known {
            Some(k) => note.push_str(&format!(", published under the {}.", k.name)),
            None => note.push_str(", whose license this tool does not know; check it on the base model's page."),
        }
        if let Some(k) = b.known {
            if k.derivatives.binds {
                note.push_str(" Its terms bind models made from it.");
            } else {
                note.push_str(" Its terms do not bind a derivative's own license; keep its notices with copies.");
            }
        }
        let mut f = Finding::new("base_model", b.repo.as_deref().unwrap_or(&b.name), &b.evidence).with_note(note);
        if let Some(k) = b.known.filter(|k| k.derivatives.binds) {
            f.published = published(k, k.derivative_sentence());
        }
        out.findings.push(f);
        let Some(k) = b.known.filter(|k| k.derivatives.binds) else { continue };
        out.binding.push((k, b.evidence.clone()));
        if own.category == Category::NoLicense {
            out.findings.push(Finding::new("base_terms", k.report_id(), &b.evidence).with_note(format!(
                "The folder has no license of its own; as a model made from {}, it is still bound by the {}.",
                b.repo.as_deref().unwrap_or(&b.name),
                k.name
            )));
        }
        if let (Some(why), Some(ev)) = (conflict(k, own), own_ev.as_ref()) {
            let mut f = Finding::new("base_license_conflict", true, ev).with_note(why);
            f.published = published(k, k.derivative_sentence());
            out.findings.push(f);
        }
        if let Some((n, ev)) = &name {
            out.findings.extend(naming_duty(k, n, ev));
        }
    }
    out
}

/// The naming duty of a base's license checked against a model's name, if the license has one.
pub(crate) fn naming_duty(k: &Known, name: &str, ev: &Evidence) -> Option<Finding> {
    let prefix = k.derivatives.name_prefix?;
    let met = name_begins_with(name, prefix);
    let note = if met {
        format!("The {} requires a derivative's name to begin with \"{prefix}\"; \"{name}\" does.", k.name)
    } else {
        format!(
            "The {} requires a derivative's name to begin with \"{prefix}\"; \"{name}\" does not. Rename the model before sharing it.",
            k.name
        )
    };
    let mut f = Finding::new("naming_duty", met, ev).with_note(note);
    f.published = published(k, k.sentence(Field::DerivativeNaming));
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_begin_with_their_duty() {
        assert!(name_begins_with("Llama-3.2-1B-Medical", "Llama"));
        assert!(name_begins_with("acme/llama3-8b-chat", "Llama 3"));
        assert!(!name_begins_with("Hermes-3-Llama-3.1-8B", "Llama"));
        assert!(!name_begins_with("MedLlama-8B", "Llama"));
    }

    #[test]
    fn titles_lose_their_fillers_on_character_boundaries() {
        let name = |title: &str| {
            let card = format!("# {title}\n");
            let folder = super::super::folder::read(&crate::test_files(&[("README.md", &card)]), false);
            own_name(&folder).map(|(n, _)| n)
        };
        assert_eq!(name("Model Card for Foo-7B").as_deref(), Some("Foo-7B"));
        assert_eq!(name("Gemma 3 model card").as_deref(), Some("Gemma 3"));
        // Multi-byte characters where a filler's bytes would be: no cut, no panic.
        assert_eq!(name("Ⅿodel Card for İstanbul-1B").as_deref(), Some("Ⅿodel Card for İstanbul-1B"));
        assert_eq!(name("Modèle ǨĀRD").as_deref(), Some("Modèle ǨĀRD"));
    }

    #[test]
    fn local_paths_are_not_bases() {
        assert!(is_local_path("/home/me/out/checkpoint-100"));
        assert!(is_local_path("./ckpt"));
        assert!(is_local_path("C:\\models\\x"));
        assert!(!is_local_path("meta-llama/Llama-3.2-1B"));
        assert!(!is_local_path("gpt2"));
    }

    #[test]
    fn front_matter_is_not_the_body() {
        assert_eq!(body_of("---\nlicense: mit\n---\n# Title\n"), "\n# Title\n");
        assert_eq!(body_of("# Title\n"), "# Title\n");
    }
}
