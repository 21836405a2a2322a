//! Stage 4, training data: does a document name or link the data the weights
//! were trained on? The rule is the corpus README's: evaluation and benchmark
//! sets, quantization calibration data and data a person may fine-tune on do
//! not count; a card that describes the model without naming its data is
//! `false`; a folder with nothing that describes the model is "unknown".

use std::sync::OnceLock;

use regex::Regex;

use crate::gguf;
use crate::report::{Finding, TriWord, Tristate};
use crate::text::{Document, Evidence};

use super::folder::Folder;

fn re(p: &str) -> Regex {
    Regex::new(p).unwrap_or_else(|e| panic!("bad pattern {p}: {e}"))
}

struct Patterns {
    /// What the model learned from: "trained on", "pre-trained using", "training data".
    training: Regex,
    /// Words that make a sentence about other data.
    other_data: Regex,
    /// A data set's proper name: a capital and then another capital or a digit
    /// (LAION-2B, RefinedWeb, SlimPajama, CC3M, LibriSpeech, COCO).
    name: Regex,
    /// A markdown link: text and target.
    link: Regex,
    url: Regex,
    following: Regex,
    data_word: Regex,
    heading: Regex,
    /// A card that speaks of a conversion or quantization of another model.
    conversion: Regex,
    /// Words that describe a model itself (its size, design, training, uses).
    describes: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| Patterns {
        training: re(r"(?i)(?-u:\b)(?:(?:pre-?|post-?)?train(?:ed|s)?|fine-?tuned)(?-u:\b)[^.\n]{0,60}?(?-u:\b)(?:on|using|from)(?-u:\b)|(?-u:\b)(?:pre-?)?training (?:data|datasets?|corpus|corpora|mixture)(?-u:\b)|(?-u:\b)dataset size(?-u:\b)"),
        other_data: re(r"(?i)evaluat|benchmark|calibrat|imatrix|quantiz|your own|custom data|test set|validation set"),
        name: re(r"(?-u:\b)[A-Z][A-Za-z]*[A-Z0-9][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*(?-u:\b)"),
        link: re(r"\[([^\]\n]*)\]\(([^) \t\n]*)\)"),
        url: re(r"https?://[^ \t\n)>\]]+"),
        following: re(r"(?i)the following (?:sources|data ?sets|corpora|data)"),
        data_word: re(r"(?i)(?-u:\b)(?:data|datasets?|corpus|corpora)(?-u:\b)"),
        heading: re(r"(?im)^#{1,6}[ \t]*[^\n]*(?:training data|pre-?training data|data ?sets?|training corpus)[^\n]*$"),
        conversion: re(r"(?i)converted to gguf|gguf format|gguf-my-repo|quantized (?:version|model|weights)|quantizations? of|quants? of|quantised"),
        describes: re(r"(?i)[0-9.]+ ?[mbk] param|parameters|architecture|(?-u:\b)trained|training|fine-?tuned|context (?:length|window)|intended use|limitations|(?-u:\b)bias|benchmark|evaluation|model (?:details|description|summary|overview|type|card)(?-u:\b)[^\n]{0,3}$"),
    })
}

/// Tokens with the shape of a name that are not data sets.
fn is_data_name(tok: &str) -> bool {
    let letters = tok.chars().filter(|c| c.is_alphabetic()).count();
    let all_caps = tok.chars().filter(|c| c.is_alphabetic()).all(|c| c.is_uppercase());
    let has_digit = tok.chars().any(|c| c.is_ascii_digit());
    // GPU, LLM, API, FP8, A100, GPT-4, 7B: hardware, formats, model names and sizes.
    let hardware = ["GPU", "TPU", "CPU", "FP", "BF", "INT", "GPT", "LLM", "API", "AI", "MoE", "RLHF", "SFT", "DPO"]
        .iter()
        .any(|p| tok.starts_with(p));
    !(hardware || (all_caps && letters <= 3 && !has_digit) || tok.len() < 3)
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
    if links
        .chain(bare)
        .any(|(text, target)| about_data || target.to_lowercase().contains("data") || p.data_word.is_match(text))
    {
        return true;
    }
    p.name.find_iter(s).any(|m| {
        let tok = m.as_str();
        // A name that begins like the model's own (DeepSeek-V3, InternLM3) is the model, not data.
        is_data_name(tok) && !own.iter().any(|o| tok.to_lowercase().starts_with(&o.to_lowercase()))
    })
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
        if p.other_data.is_match(s) {
            continue;
        }
        // What follows "trained on" names the data (what comes before is the model).
        let named = p.training.find_iter(s).any(|m| {
            let noun = !m.as_str().to_lowercase().ends_with(" on")
                && !m.as_str().to_lowercase().ends_with(" using")
                && !m.as_str().to_lowercase().ends_with(" from");
            names_data(p, &s[m.end()..], &own, noun)
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
    if let Some(doc) = folder.cards().find(|d| describes_model(p, d)) {
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

/// Whether a card describes the model itself, not only a conversion of it.
fn describes_model(p: &Patterns, doc: &Document) -> bool {
    let text = prose(doc);
    !p.conversion.is_match(&text) || p.describes.is_match(&text)
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
        assert!(!describes_model(p, &conv));
        let described =
            card("# Foo (Quantized Q8_0, GGUF)\n## Model Details\n- Architecture: transformer, 135M parameters\n");
        assert!(describes_model(p, &described));
        assert!(describes_model(p, &card("# Foo\nA small chat model.\n")));
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
