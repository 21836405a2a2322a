//! Stage 4, training data: does a document name or link the data the weights
//! were trained on? The rule is the corpus README's: evaluation and benchmark
//! sets, quantization calibration data and data a person may fine-tune on do
//! not count; a card that describes the model without naming its data is
//! `false`; a folder with nothing that describes the model is "unknown".

use std::sync::OnceLock;

use regex::Regex;

use crate::clauses::rule;

use crate::discover::Role;
use crate::gguf;
use crate::report::{Finding, TriWord, Tristate};
use crate::text::{Document, Evidence};

use super::folder::Folder;

/// The rules of data/rules/training.toml, compiled once.
struct Patterns {
    /// What the model learned from: "trained on", "pre-trained using", "training data".
    training: &'static Regex,
    /// Words that make a sentence about other data.
    other_data: &'static Regex,
    name: &'static Regex,
    not_a_name: &'static Regex,
    link: &'static Regex,
    url: &'static Regex,
    following: &'static Regex,
    data_word: &'static Regex,
    heading: &'static Regex,
    conversion: &'static Regex,
    description_heading: &'static Regex,
    describes: &'static Regex,
    introduces: &'static Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| Patterns {
        training: rule("trained_on").only(),
        other_data: rule("other_data").only(),
        name: rule("data_set_name").only(),
        not_a_name: rule("not_a_data_set_name").only(),
        link: rule("markdown_link").only(),
        url: rule("bare_url").only(),
        following: rule("following_sources").only(),
        data_word: rule("data_word").only(),
        heading: rule("data_heading").only(),
        conversion: rule("conversion").only(),
        description_heading: rule("model_description").only(),
        describes: rule("describes_model").only(),
        introduces: rule("introduces_model").only(),
    })
}

/// Tokens with the shape of a name that are not data sets.
fn is_data_name(p: &Patterns, tok: &str) -> bool {
    let letters = tok.chars().filter(|c| c.is_alphabetic()).count();
    let all_caps = tok.chars().filter(|c| c.is_alphabetic()).all(|c| c.is_uppercase());
    let has_digit = tok.chars().any(|c| c.is_ascii_digit());
    // GPU, LLM, API, FP8, A100, GPT-4, 7B: hardware, formats, model names and sizes.
    !(p.not_a_name.is_match(tok) || (all_caps && letters <= 3 && !has_digit) || tok.len() < 3)
}

/// Sentences (lines and list items included) of a document, with their byte range in `text`.
fn sentences(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    for (i, &b) in bytes.iter().enumerate() {
        let end = b == b'\n' || ((b == b'.' || b == b';') && bytes.get(i + 1).is_none_or(|n| n.is_ascii_whitespace()));
        if end {
            if i > start {
                out.push((start, &text[start..i]));
            }
            start = i + 1;
        }
    }
    if start < text.len() {
        out.push((start, &text[start..]));
    }
    out.into_iter()
}

/// Whether a piece of a sentence names data: a link to data, "the following
/// sources", or a data set's name that is not the model's own.
fn names_data(p: &Patterns, s: &str, own: &[&str], about_data: bool) -> bool {
    if p.following.is_match(s) {
        return true;
    }
    let links = p.link.captures_iter(s).filter_map(|c| Some((c.get(1)?.as_str(), c.get(2)?.as_str())));
    let bare = p.url.find_iter(s).map(|m| ("", m.as_str()));
    if links.chain(bare).any(|(text, target)| about_data || data_in_path(target) || p.data_word.is_match(text)) {
        return true;
    }
    p.name.find_iter(s).any(|m| {
        let tok = m.as_str();
        // A name that begins like the model's own (DeepSeek-V3, InternLM3) is the model, not data.
        is_data_name(p, tok) && !own.iter().any(|o| tok.to_lowercase().starts_with(&o.to_lowercase()))
    })
}

/// Whether a link's path (not its host: "databricks.com") speaks of data.
fn data_in_path(target: &str) -> bool {
    let path = target.split_once("://").map_or(target, |(_, rest)| rest.split_once('/').map_or("", |(_, p)| p));
    path.to_lowercase().contains("data")
}

/// Words of the card's first heading: the model's own names.
fn own_names(doc: &Document) -> Vec<&str> {
    let heading = doc.text.lines().find(|l| l.trim_start().starts_with('#')).unwrap_or("");
    heading.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() >= 4).collect()
}

/// The first sentence of a card that names its training data.
fn named_in_card(doc: &Document) -> Option<Evidence> {
    let p = patterns();
    let own = own_names(doc);
    let evidence = |at: usize, s: &str| {
        let lead = s.len() - s.trim_start().len();
        Evidence { file: doc.path.clone(), line: doc.line_of(at + lead), quote: s.trim().to_owned() }
    };
    for (at, s) in sentences(&doc.text) {
        // A navigation link ("- [Training Data](…/training_data.html)") states nothing.
        let words = p.link.replace_all(s, "").split_whitespace().filter(|w| w.len() > 1).count();
        if p.other_data.is_match(s) || words < 3 {
            continue;
        }
        // What follows "trained on" names the data (what comes before is the model).
        let named = p.training.find_iter(s).any(|m| {
            let noun = !m.as_str().to_lowercase().ends_with(" on")
                && !m.as_str().to_lowercase().ends_with(" using")
                && !m.as_str().to_lowercase().ends_with(" from");
            // The data is named before the sentence turns to how ("…on X, with a sequence length of …").
            let rest = &s[m.end()..];
            let rest = [", with ", "; "].iter().filter_map(|w| rest.find(w)).min().map_or(rest, |i| &rest[..i]);
            names_data(p, rest, &own, noun)
        });
        if named {
            return Some(evidence(at, s));
        }
    }
    // A "Training Data" / "Datasets" section whose sentences about data name or link it.
    for h in p.heading.find_iter(&doc.text) {
        let rest = &doc.text[h.end()..];
        let section_end = rest.find("\n#").unwrap_or(rest.len());
        // Under a "Training data" heading every sentence is about the data.
        let about_data = h.as_str().to_lowercase().contains("train");
        for (at, s) in sentences(&rest[..section_end]) {
            if !p.other_data.is_match(s) && (about_data || p.data_word.is_match(s)) && names_data(p, s, &own, false) {
                return Some(evidence(h.end() + at, s));
            }
        }
    }
    None
}

/// The data sets the folder names as training data: the card's `datasets:`
/// (less those it calls calibration or evaluation data), else the GGUF's
/// `general.datasets` (what a CycloneDX model card lists).
pub(crate) fn datasets(folder: &Folder) -> Vec<String> {
    let p = patterns();
    for (i, fm) in &folder.front_matter {
        let doc = &folder.docs[*i].0;
        let trained_on: Vec<String> = fm
            .datasets
            .iter()
            .filter(|d| {
                let short = d.rsplit('/').next().unwrap_or(d);
                !sentences(&doc.text).any(|(_, s)| s.contains(short) && p.other_data.is_match(s))
            })
            .cloned()
            .collect();
        if !trained_on.is_empty() {
            return trained_on;
        }
    }
    for (_, m) in &folder.gguf {
        if let Some(gguf::Value::List(ds)) = m.values.get("general.datasets") {
            if !ds.is_empty() {
                return ds.clone();
            }
        }
    }
    Vec::new()
}

pub(crate) fn disclosed(folder: &Folder, findings: &mut Vec<Finding>) -> Tristate {
    let p = patterns();
    for (i, fm) in &folder.front_matter {
        let doc = &folder.docs[*i].0;
        // Data sets the card itself calls calibration or evaluation data are not training data.
        let trained_on: Vec<&String> = fm
            .datasets
            .iter()
            .filter(|d| {
                let short = d.rsplit('/').next().unwrap_or(d);
                !sentences(&doc.text).any(|(_, s)| s.contains(short) && p.other_data.is_match(s))
            })
            .collect();
        if !trained_on.is_empty() {
            let line = doc.lines().find(|(_, l)| l.starts_with("datasets")).map_or(1, |(n, _)| n);
            let quote = doc.text.lines().nth(line - 1).unwrap_or("datasets:").trim().to_owned();
            let names: Vec<&str> = trained_on.iter().map(|s| s.as_str()).collect();
            findings.push(
                Finding::new("training_data_disclosed", true, &Evidence { file: doc.path.clone(), line, quote })
                    .with_note(format!("The card lists datasets: {}", names.join(", "))),
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
    for doc in folder.cards() {
        if let Some(ev) = named_in_card(doc) {
            findings.push(Finding::new("training_data_disclosed", true, &ev));
            return Tristate::Bool(true);
        }
    }
    // A card that only says how the file was converted describes no model: nothing
    // in the folder then says whether its training data is named.
    let with_front_matter = |i: usize| folder.front_matter.iter().any(|(j, _)| *j == i);
    if let Some((_, doc)) = folder.of_role(Role::ModelCard).find(|(i, d)| describes_model(p, d, with_front_matter(*i)))
    {
        findings.push(
            Finding::new("training_data_disclosed", false, &doc.line_evidence(first_prose(doc)))
                .with_note("The model card names no training dataset."),
        );
        return Tristate::Bool(false);
    }
    Tristate::Word(TriWord::Unknown)
}

/// Prose of a card, without front matter and fenced code.
fn prose(doc: &Document) -> String {
    let mut out = String::new();
    let mut fenced = false;
    let mut front = doc.text.starts_with("---");
    for (i, line) in doc.text.lines().enumerate() {
        let t = line.trim();
        if front {
            front = !(i > 0 && t == "---");
            continue;
        }
        if t.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Whether a card describes the model itself, not only a conversion of it or
/// the software around it: a heading about the model's details, uses, limits,
/// training or evaluation; or Hub metadata with prose about a model; or an
/// opening that presents a model.
fn describes_model(p: &Patterns, doc: &Document, has_front_matter: bool) -> bool {
    let text = prose(doc);
    let described = p.description_heading.is_match(&text);
    if p.conversion.is_match(crate::text::cut(&text, 600)) {
        // A conversion card describes the model only in a section of prose about it.
        let quantization = rule("about_quantization").only();
        return p.description_heading.find_iter(&text).any(|h| {
            let rest = &text[h.end()..];
            let section = &rest[..rest.find("\n#").unwrap_or(rest.len())];
            let prose = section.split_whitespace().count() >= 8;
            prose && !quantization.is_match(section)
        });
    }
    described
        || (has_front_matter && p.describes.is_match(&text))
        || p.introduces.is_match(crate::text::cut(&text, 4000))
}

/// Byte offset of a card's first line of prose, after any front matter.
fn first_prose(doc: &Document) -> usize {
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
    if first >= doc.text.len() {
        0
    } else {
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(t: &str) -> Document {
        Document::new("README.md", t.to_owned())
    }

    #[test]
    fn named_training_data_counts() {
        assert!(named_in_card(&card("The model was pretrained on subsets of LAION-2B(en), a crawl.")).is_some());
        assert!(named_in_card(&card("We trained it on [the corpus](https://example.org/c).")).is_some());
        assert!(named_in_card(&card("This model was trained on the following corpora: Fisher, Switchboard.")).is_some());
        assert!(named_in_card(&card("## Training Data\n\nWe used RefinedWeb and a filtered web crawl.\n")).is_some());
    }

    #[test]
    fn a_card_about_the_conversion_alone_describes_no_model() {
        let p = patterns();
        let conv = card("---\nlicense: gemma\n---\n# x/foo-Q4_K_M-GGUF\nThis model was converted to GGUF format from `x/foo` using llama.cpp.\n```\nllama-cli -p \"trained\"\n```\n");
        assert!(!describes_model(p, &conv, true));
        let described =
            card("# Foo (Quantized Q8_0, GGUF)\n## Model Details\n- Architecture: transformer, 135M parameters\n");
        assert!(describes_model(p, &described, false));
        // A Hub card (front matter) describes its model; a library's README does not.
        assert!(describes_model(p, &card("# Foo\nFoo is a small chat model.\n"), false));
        assert!(!describes_model(p, &card("# Foo Inference\n## Installation\npip install foo\n"), false));
    }

    #[test]
    fn other_data_and_unnamed_data_do_not() {
        assert!(named_in_card(&card("It was pretrained on 15 trillion tokens of publicly available data.")).is_none());
        assert!(named_in_card(&card("Trained on our own GPU cluster.")).is_none());
        assert!(named_in_card(&card("We evaluated the model trained on MMLU and HellaSwag.")).is_none());
        assert!(named_in_card(&card("Quantized with an imatrix computed on WikiText-2 calibration data.")).is_none());
        assert!(named_in_card(&card("# FooLM3\n\nWe pre-train FooLM3 on 14.8 trillion tokens.")).is_none());
        assert!(named_in_card(&card("Trained on more languages ([200 languages](https://example.org/research))."))
            .is_none());
    }
}
