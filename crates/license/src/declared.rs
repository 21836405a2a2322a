//! What a model card or GGUF file *declares* the license to be, for comparison
//! with what the license text says.

use std::sync::OnceLock;

use regex::Regex;

use crate::known::{self, Known};
use crate::text::{Document, Evidence};

#[derive(Debug, Clone)]
pub struct Declared {
    /// As written ("Apache 2.0", "other (license_name: yi-license)").
    pub value: String,
    /// The license it names, when this tool knows it.
    pub known: Option<&'static Known>,
    /// "other": the card files it under a custom name.
    pub evidence: Evidence,
}

fn prose_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(r"(?:licensed|released|distributed|made available|available|provided|published) under (?:the )?(?:terms of (?:the )?)?\[?([a-z0-9][a-z0-9 .+-]{1,50}?)(?:\]| license| licence|\(|,|;|\. |\.$| and | for | as |$)")
            .unwrap_or_else(|e| panic!("{e}"))
    })
}

fn bold_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(r"(?im)^[ \t]*(?:[-*+][ \t]+)?\*\*([^*\n]{2,60}?)[ \t]+licen[sc]e[^*\n]{0,3}\*\*")
            .unwrap_or_else(|e| panic!("{e}"))
    })
}

/// "… the model weights are released under CC-BY-NC 4.0 …": a statement about
/// the weights (not the code) that names a license this tool knows.
pub fn in_prose(doc: &Document) -> Option<Declared> {
    for caps in prose_re().captures_iter(&doc.norm) {
        let (Some(all), Some(name)) = (caps.get(0), caps.get(1)) else { continue };
        let before = &doc.norm[..all.start()];
        let clause_start = [". ", "; ", ", ", ": "]
            .iter()
            .filter_map(|sep| before.rfind(sep).map(|i| i + sep.len()))
            .max()
            .unwrap_or(0)
            .max(all.start().saturating_sub(200));
        let mut clause_start = clause_start;
        while !doc.norm.is_char_boundary(clause_start) {
            clause_start += 1;
        }
        let clause = &doc.norm[clause_start..all.start()];
        let about_weights = ["weight", "model", "checkpoint"].iter().any(|w| clause.contains(w));
        let derived = ["originally", "derived", "based on", "finetuned from", "fine-tuned from"]
            .iter()
            .any(|w| clause.contains(w));
        if !about_weights || derived {
            continue;
        }
        let Some(k) = known::lookup(name.as_str()) else { continue };
        let r = doc.original(name.range());
        let value = doc.text[r].trim().trim_matches(['[', ']']).to_owned();
        return Some(Declared { value, known: Some(k), evidence: doc.evidence(all.range()) });
    }
    None
}

/// "**Permissive Apache 2.0 license:** …" — a card's bullet naming the license.
pub fn in_bold(doc: &Document) -> Option<Declared> {
    for caps in bold_re().captures_iter(&doc.text) {
        let (Some(all), Some(name)) = (caps.get(0), caps.get(1)) else { continue };
        let words: Vec<&str> = name.as_str().split_whitespace().collect();
        for i in 0..words.len() {
            let candidate = words[i..].join(" ");
            if let Some(k) = known::lookup(&candidate) {
                let line = doc.line_of(all.start());
                let quote = doc.text[all.range()].trim().to_owned();
                return Some(Declared {
                    value: candidate,
                    known: Some(k),
                    evidence: Evidence { file: doc.path.clone(), line, quote },
                });
            }
        }
    }
    None
}

/// A `license:` value from front matter, GGUF metadata or config.json.
pub fn from_metadata(license: &str, name: Option<&str>, evidence: Evidence) -> Declared {
    let license = license.trim();
    if license.eq_ignore_ascii_case("other") {
        let known = name.and_then(known::lookup);
        let value = match name {
            Some(n) => format!("other (license_name: {n})"),
            None => "other".to_owned(),
        };
        return Declared { value, known, evidence };
    }
    Declared { value: license.to_owned(), known: known::lookup(license), evidence }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(t: &str) -> Document {
        Document::new("README.md", t.to_owned())
    }

    #[test]
    fn weights_statement_wins_over_code_statement() {
        let d =
            in_prose(&doc("**License:** Code is released under MIT, model weights are released under CC-BY-NC 4.0."))
                .expect("declared");
        assert_eq!(d.value, "CC-BY-NC 4.0");
        assert!(in_prose(&doc("This library is licensed under the Apache 2.0 License.")).is_none());
        assert!(in_prose(&doc(
            "The 8B model is derived from X and is originally licensed under the Llama3.1 license."
        ))
        .is_none());
    }

    #[test]
    fn bold_bullet_names_the_license() {
        let d = in_bold(&doc("- **Permissive Apache 2.0 license:** Build freely.")).expect("declared");
        assert_eq!(d.value, "Apache 2.0");
        assert!(in_bold(&doc("**License** A custom commercial license is available at: x")).is_none());
    }
}
