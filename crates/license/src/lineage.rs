//! Where a model comes from: the relations a derivative has to its base, the
//! chain a report shows (base first), and the licenses well-known base
//! repositories are published under (data/lineage.toml, through build.rs).
//! The stage that reads a folder's bases is `analyse::lineage`.

use serde::{Deserialize, Serialize};

use crate::known::{Known, KNOWN};

/// How a model was made from its base: Hugging Face's `base_model_relation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Relation {
    Finetune,
    Adapter,
    Quantized,
    Merge,
}

include!(concat!(env!("OUT_DIR"), "/lineage.rs"));

impl Relation {
    pub fn name(self) -> &'static str {
        match self {
            Relation::Finetune => "finetune",
            Relation::Adapter => "adapter",
            Relation::Quantized => "quantized",
            Relation::Merge => "merge",
        }
    }

    /// The relation a card's word names ("fine-tuned", "LoRA", "GGUF", ...).
    pub fn parse(word: &str) -> Option<Self> {
        let w = word.trim().to_lowercase();
        RELATION_WORDS.iter().find(|(_, words)| words.contains(&w.as_str())).map(|(r, _)| *r)
    }

    /// Whether a model's own name says it is a quantization ("...-FP8-dynamic", "...-GGUF").
    pub fn quantized_by_name(name: &str) -> bool {
        name.to_lowercase().split(|c: char| !c.is_alphanumeric()).any(|w| QUANTIZED_NAME_WORDS.contains(&w))
    }

    /// "a fine-tune of", for sentences.
    pub fn phrase(self) -> &'static str {
        match self {
            Relation::Finetune => "a fine-tune of",
            Relation::Adapter => "an adapter on",
            Relation::Quantized => "a quantization of",
            Relation::Merge => "a merge of",
        }
    }
}

/// The last link's name when the folder's documents do not name the model.
pub const UNNAMED: &str = "this model";

/// One model of a chain, base first; the folder's own model comes last.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub name: String,
    /// "org/name" on the Hugging Face Hub, when known.
    pub repo: Option<String>,
    /// How this model was made from the one before it, when that is said.
    pub relation: Option<Relation>,
    /// The license id (the Hub's name for licenses filed as "other"); null where unknown.
    pub license_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_name: Option<String>,
    /// Whether this base's terms bind the models made from it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub binds_derivatives: bool,
    /// The base's terms that carry over to its derivatives (its duties and
    /// limits, from its published terms), for a base whose terms bind.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub carries: Vec<Carried>,
}

/// One of a base's terms that a derivative inherits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Carried {
    /// The summary field ("user_threshold_mau").
    pub field: String,
    /// The report's question and the base's answer ("Is there a cap on users? yes: 700,000,000 …").
    pub term: String,
}

impl Link {
    /// The record of this link's license, when it is one the engine knows.
    pub fn known(&self) -> Option<&'static Known> {
        let name = self.license_name.as_deref()?;
        KNOWN.iter().find(|k| k.name == name)
    }
}

/// Matches a `*` pattern against a lower-case text.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = parts.split_first().unwrap_or((&"", &[]));
    let Some(mut at) = text.strip_prefix(first).map(|_| first.len()) else { return false };
    let Some((last, middle)) = rest.split_last() else { return at == text.len() };
    for part in middle {
        match text[at..].find(part) {
            Some(i) => at += i + part.len(),
            None => return false,
        }
    }
    text.len() >= at + last.len() && text[at..].ends_with(last)
}

/// "Meta Llama" / "Llama 3.2 1B Instruct" and "meta-llama/Llama-3.2-1B-Instruct" meet.
pub fn repo_key(s: &str) -> String {
    s.trim().trim_matches('/').to_lowercase().replace([' ', '_'], "-")
}

/// The license a base repository ("org/name", or a name alone) is published
/// under, by the first pattern of data/lineage.toml that matches it.
pub fn base_license(repo: &str) -> Option<&'static Known> {
    let key = repo_key(repo);
    let (org, name) = match key.split_once('/') {
        // A mirror's copy is known by its name part.
        Some((o, n)) if MIRRORS.contains(&o) => (None, n),
        Some((o, n)) => (Some(o), n),
        None => (None, key.as_str()),
    };
    BASES.iter().find_map(|(pattern, i)| {
        let hit = match org {
            Some(_) => glob(pattern, &key),
            // Named without its organisation: the name part alone, when the
            // pattern names one (an organisation's catch-all does not).
            None => pattern.split_once('/').is_some_and(|(_, p)| !p.starts_with('*') && glob(p, name)),
        };
        hit.then(|| KNOWN.get(*i)).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_names() {
        assert!(glob("meta-llama/llama-3.2-*", "meta-llama/llama-3.2-1b-instruct"));
        assert!(glob("qwen/qwen2.5-*-3b*", "qwen/qwen2.5-coder-3b-instruct"));
        assert!(!glob("qwen/qwen2.5-*-3b*", "qwen/qwen2.5-coder-32b-instruct"));
        assert!(glob("runwayml/stable-diffusion-v1-5", "runwayml/stable-diffusion-v1-5"));
        assert!(!glob("runwayml/stable-diffusion-v1-5", "runwayml/stable-diffusion-v1-5-x"));
        assert!(glob("nvidia/*nemotron*", "nvidia/llama-3.1-nemotron-70b-instruct-hf"));
    }

    #[test]
    fn well_known_bases_have_their_licenses() {
        let id = |r: &str| base_license(r).map(|k| k.report_id());
        assert_eq!(id("meta-llama/Llama-3.2-1B-Instruct"), Some("llama3.2"));
        assert_eq!(id("Meta Llama/Llama 3.1 8B Instruct"), Some("llama3.1"));
        assert_eq!(id("Qwen/Qwen2.5-3B-Instruct"), Some("qwen-research"));
        assert_eq!(id("Qwen/Qwen2.5-72B-Instruct"), Some("qwen"));
        assert_eq!(id("Qwen/Qwen2.5-7B-Instruct"), Some("apache-2.0"));
        assert_eq!(id("google/gemma-2-2b-it"), Some("gemma"));
        assert_eq!(id("gemma-2-9b-it"), Some("gemma"));
        assert_eq!(id("someone/my-model"), None);
        assert_eq!(id("EXAONE-3.5-2.4B-Instruct"), Some("exaone"));
        assert_eq!(id("my-model"), None, "an organisation's catch-all matches no bare name");
        assert_eq!(id("unsloth/Meta-Llama-3.1-8B-Instruct"), Some("llama3.1"));
        assert_eq!(id("google/gemma-4-E4B-it"), Some("apache-2.0"));
        assert!(base_license("meta-llama/Llama-3.2-1B").is_some_and(|k| k.derivatives.binds));
        assert!(base_license("Qwen/Qwen2.5-7B").is_some_and(|k| !k.derivatives.binds));
        assert_eq!(base_license("meta-llama/Llama-3.2-1B").and_then(|k| k.derivatives.name_prefix), Some("Llama"));
    }

    #[test]
    fn relation_words_are_data() {
        assert_eq!(Relation::parse("LoRA"), Some(Relation::Adapter));
        assert_eq!(Relation::parse("fine-tune"), Some(Relation::Finetune));
        assert_eq!(Relation::parse("quantized"), Some(Relation::Quantized));
        assert_eq!(Relation::parse("sideways"), None);
    }
}
