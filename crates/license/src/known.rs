//! The one table of licenses this tool knows by name: Hugging Face ids, SPDX
//! ids, the values seen in GGUF `general.license`, the phrases that identify a
//! full text, and each license's terms as published (used when a folder names
//! a license but does not carry its text).

use serde::{Deserialize, Serialize};

use crate::field::Field;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    Permissive,
    Copyleft,
    WeakCopyleft,
    PublicDomain,
    OpenWeightsRestricted,
    NonCommercial,
    ResearchOnly,
    NoLicense,
    Proprietary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Commercial {
    Allowed,
    /// Allowed subject to caps, registration or approval.
    Conditional,
    Forbidden,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redistribution {
    Allowed,
    Conditional,
    Forbidden,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terms {
    pub category: Category,
    pub commercial: Commercial,
    pub mau: Option<u64>,
    pub revenue_usd: Option<u64>,
    pub use_restrictions: bool,
    pub attribution: bool,
    pub naming: bool,
    pub output_training: bool,
    pub share_alike: bool,
    pub redistribution: Redistribution,
    /// Access is refused to people or companies in the EU (multimodal Llama).
    pub eu_excluded: bool,
}

/// One license the engine knows: from a file of `data/licenses/`, or an
/// SPDX-listed license of ScanCode's LicenseDB (see build.rs).
#[derive(Debug)]
pub struct Known {
    /// Hugging Face style id ("apache-2.0", "llama3.1", "other").
    pub id: &'static str,
    /// The standard license (SPDX id) this one adds terms to: reported under
    /// the standard's id, known by its own names and links, not by its id.
    pub refines: Option<&'static str>,
    /// The `license_name` the Hub uses when `id` is "other".
    pub hub_name: Option<&'static str>,
    pub name: &'static str,
    pub spdx: Option<&'static str>,
    pub family: &'static str,
    /// Other spellings seen in cards, GGUF metadata and prose, and the database's own names.
    pub aliases: &'static [&'static str],
    /// Normalised phrases that identify the full text (checked near its top).
    pub markers: &'static [&'static str],
    /// Where the license is published: a link to one of these names it.
    pub urls: &'static [&'static str],
    /// The ScanCode LicenseDB keys of its texts (the fingerprints' source).
    pub scancode: &'static [&'static str],
    pub terms: Terms,
    /// The clause sheet: for a field the license settles, the sentence of its
    /// published text that says so (checked against the text by build.rs).
    pub sheet: &'static [(Field, &'static str)],
    /// What binds a model made from this one.
    pub derivatives: Derivatives,
}

/// How a license reaches the models made from a model under it (fine-tunes,
/// adapters, quantizations, merges).
#[derive(Debug, Clone, Copy)]
pub struct Derivatives {
    /// Whether its terms bind a derivative (model licenses, copyleft,
    /// non-commercial), or only travel as notices (permissive licenses).
    pub binds: bool,
    /// The words a derivative's name must begin with ("Llama").
    pub name_prefix: Option<&'static str>,
    /// The published sentence that makes the terms bind derivatives.
    pub sentence: Option<&'static str>,
}

impl Known {
    /// The published sentence that settles a field, when the sheet has one.
    pub fn sentence(&self, field: Field) -> Option<&'static str> {
        self.sheet.iter().find(|(f, _)| *f == field).map(|(_, s)| *s)
    }
    /// The id a report gives it: the Hub's name for licenses filed as "other".
    pub fn report_id(&self) -> &'static str {
        if self.id == "other" {
            self.hub_name.unwrap_or(self.id)
        } else {
            self.id
        }
    }
    /// The sentence that shows its terms reach a derivative: its own, else the
    /// clause sheet's on redistribution, attribution or use.
    pub fn derivative_sentence(&self) -> Option<&'static str> {
        self.derivatives.sentence.or_else(|| {
            [Field::RedistributionAllowed, Field::AttributionRequired, Field::UseRestrictions, Field::CommercialUse]
                .into_iter()
                .find_map(|f| self.sentence(f))
        })
    }
    pub fn osi_approved(&self) -> bool {
        self.spdx.and_then(spdx::license_id).is_some_and(|l| l.is_osi_approved())
    }
    pub fn is_standard(&self) -> bool {
        self.spdx.is_some()
    }
}

include!(concat!(env!("OUT_DIR"), "/licenses.rs"));

/// Whether a piece of lower-case text speaks of license terms ("license",
/// "licence", "terms", "agreement": `license_words` in data/vocabulary.toml).
pub fn speaks_of_license(lower: &str) -> bool {
    LICENSE_WORDS.iter().any(|w| lower.contains(w))
}

/// Whose license data this is: the names, URLs, texts and categories come
/// from ScanCode's LicenseDB, which its authors publish under CC-BY-4.0.
pub const DATA_CREDIT: &str = "License names, texts and categories: ScanCode LicenseDB (scancode-toolkit 32.5.0) by nexB Inc. and the AboutCode community, used under CC-BY-4.0. Clause sheets, families and rules: Fine Print.";

/// Letters and digits only, lower case, with the filler words dropped, so
/// "Apache License, Version 2.0", "apache-2.0" and "Apache 2.0" meet.
pub fn key(name: &str) -> String {
    let lower = name.to_lowercase().replace("++", "pp");
    let mut out = String::new();
    for word in lower.split(|c: char| !c.is_alphanumeric() && c != '.') {
        let word = word.trim_matches('.');
        if word.is_empty() || KEY_FILLER.contains(&word) {
            continue;
        }
        // "v2.0", "2.0" and "2" name the same version.
        let mut word = match word.strip_prefix('v') {
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
            _ => word,
        };
        while let Some(rest) = word.strip_suffix(".0") {
            word = rest;
        }
        out.extend(word.chars().filter(|c| c.is_alphanumeric()));
    }
    out
}

/// Resolves an id or name as written in a card, GGUF metadata or prose.
pub fn lookup(name: &str) -> Option<&'static Known> {
    let name = name.trim().trim_matches(|c| c == '"' || c == '\'' || c == '[' || c == ']');
    if name.is_empty() || name.eq_ignore_ascii_case("other") || name.eq_ignore_ascii_case("unknown") {
        return None;
    }
    let k = key(name);
    if k.is_empty() {
        return None;
    }
    if let Some(kn) = by_key().get(&k) {
        return Some(kn);
    }
    // "Community License for Acme2 Model": a name holding a license's identifying phrase.
    if let Some(k) = by_marker(&name.to_lowercase()).first() {
        return Some(k);
    }
    // Fall back to the SPDX list's own fuzzy matcher for standard names.
    let (id, _) = spdx::imprecise_license_id(name)?;
    by_key().get(&key(id.name)).copied().filter(|kn| kn.is_standard())
}

/// Every key a record answers to (its id unless filed under a Hub name or
/// refining another, its Hub name, SPDX id, aliases and name), the first
/// record in table order winning, built once.
fn by_key() -> &'static std::collections::HashMap<String, &'static Known> {
    static INDEX: std::sync::OnceLock<std::collections::HashMap<String, &'static Known>> = std::sync::OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index = std::collections::HashMap::new();
        // Earlier keys of a record outrank later ones: an id before an alias.
        for pass in 0..5 {
            for kn in KNOWN {
                let names: Vec<&str> = match pass {
                    0 => [kn.id].into_iter().filter(|_| kn.hub_name.is_none() && kn.refines.is_none()).collect(),
                    1 => kn.hub_name.into_iter().collect(),
                    2 => kn.spdx.into_iter().filter(|_| kn.refines.is_none()).collect(),
                    3 => kn.aliases.to_vec(),
                    _ => vec![kn.name],
                };
                for n in names {
                    index.entry(key(n)).or_insert(kn);
                }
            }
        }
        index
    })
}

/// The family of a license no entry of the table matches, from its title and
/// the first part of its text: a RAIL variant by its name, else the publisher.
pub fn family_of_custom(title_norm: &str, head_norm: &str) -> Option<&'static str> {
    let title = title_norm.split(". ").next().unwrap_or(title_norm);
    let words = |s: &str| s.split(|c: char| !c.is_alphanumeric()).any(|w| w == "rail");
    if words(title) {
        return Some("rail");
    }
    if let Some(b) = brand_in(title) {
        return Some(b);
    }
    // A name starts a word ("zhipuai.cn" is Zhipu's), but does not end inside one.
    let is_word_at = |s: &str, at: usize, _len: usize| s[..at].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
    PUBLISHERS
        .iter()
        .filter_map(|(name, family)| {
            head_norm
                .match_indices(name)
                .find(|(at, _)| is_word_at(head_norm, *at, name.len()))
                .map(|(at, _)| (at, *family))
        })
        .min_by_key(|(at, _)| *at)
        .map(|(_, f)| f)
}

/// The known license whose text starts with one of its markers.
/// The model-license brand a title names as a word ("falcon 180b tii license").
pub fn brand_in(title_norm: &str) -> Option<&'static str> {
    title_norm.split(|c: char| !c.is_alphanumeric()).find_map(|w| BRANDS.iter().find(|b| **b == w).copied())
}

/// The licenses whose identifying phrase stands in a title: where markers
/// overlap ("responsible ai license" stands in every RAIL variant's text),
/// only those with the longest one, the most specific; versions of one
/// license share theirs and are told apart by their texts.
pub fn by_marker(title_norm: &str) -> Vec<&'static Known> {
    let found: Vec<(usize, &'static Known)> = KNOWN
        .iter()
        .filter_map(|k| k.markers.iter().filter(|m| title_norm.contains(*m)).map(|m| m.len()).max().map(|n| (n, k)))
        .collect();
    let longest = found.iter().map(|(n, _)| *n).max().unwrap_or(0);
    found.into_iter().filter(|(n, _)| *n == longest).map(|(_, k)| k).collect()
}

/// The license published at a URL (scheme, `www.` and a trailing slash aside).
pub fn by_url(url: &str) -> Option<&'static Known> {
    static INDEX: std::sync::OnceLock<std::collections::HashMap<String, &'static Known>> = std::sync::OnceLock::new();
    let index = INDEX.get_or_init(|| {
        let mut index = std::collections::HashMap::new();
        for k in KNOWN {
            for u in k.urls {
                index.entry(bare_url(u)).or_insert(k);
            }
        }
        index
    });
    let u = bare_url(url);
    (u.len() >= 8).then(|| index.get(&u).copied()).flatten()
}

/// A URL without its scheme, `www.` and trailing punctuation, lower case.
fn bare_url(u: &str) -> String {
    let u = u.trim().trim_end_matches(['/', ')', '.', ',']).to_lowercase();
    let u = u.split_once("://").map_or(u.as_str(), |(_, rest)| rest).to_owned();
    u.strip_prefix("www.").map(str::to_owned).unwrap_or(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_meet_ids() {
        for (name, id) in [
            ("Apache 2.0", "apache-2.0"),
            ("Apache License, Version 2.0", "apache-2.0"),
            ("apache-2.0", "apache-2.0"),
            ("MIT", "mit"),
            ("CC-BY-NC 4.0", "cc-by-nc-4.0"),
            ("AGPL-3.0", "agpl-3.0"),
            ("llama3.1", "llama3.1"),
            ("Llama 3.1 Community License", "llama3.1"),
            ("openrail++", "openrail++"),
            ("GPL-3.0-only", "gpl-3.0"),
        ] {
            assert_eq!(lookup(name).map(|k| k.id), Some(id), "{name}");
        }
        assert_eq!(lookup("yi-license").and_then(|k| k.hub_name), Some("yi-license"));
        assert!(lookup("other").is_none());
        assert!(lookup("Proprietary").is_none());
        assert!(lookup("llama3").is_some_and(|k| k.id == "llama3"));
    }

    #[test]
    fn custom_licenses_get_their_publisher_family() {
        assert_eq!(family_of_custom("acme research-only rail-ams", ""), Some("rail"));
        assert_eq!(
            family_of_custom("foo terms of use", "foo is a model developed by google deepmind and others"),
            Some("google")
        );
        assert_eq!(family_of_custom("foo license", "copyright (c) 2024, nvidia corporation."), Some("nvidia"));
        assert_eq!(family_of_custom("foo license", "contact license@zhipuai.cn"), Some("glm"));
        assert_eq!(family_of_custom("foo license", "xgoogle anvidia"), None);
    }

    #[test]
    fn osi_flags_come_from_spdx() {
        assert!(lookup("apache-2.0").expect("known").osi_approved());
        assert!(!lookup("cc-by-4.0").expect("known").osi_approved());
        assert!(!lookup("llama2").expect("known").osi_approved());
    }
}
