//! Turns the license knowledge into the engine's tables, from two sources:
//!
//! - `data/licenses/*.toml`: one file per license Fine Print knows by name
//!   (its Hugging Face id, family, aliases, terms), naming the texts in
//!   ScanCode's LicenseDB that identify it;
//! - ScanCode's LicenseDB (`.tools/licensedb/licenses`, put there by
//!   `scripts/licensedb.sh`; `FINEPRINT_LICENSEDB` overrides the place): the
//!   names, URLs and full texts, and every other SPDX-listed license.
//!
//! It validates both and writes `licenses.rs` (the records) and
//! `fingerprints.bin` (word-trigram hashes of each text: the whole set for
//! licenses with a data file, a bottom-k sketch for the rest). No list of
//! licenses is written anywhere else.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[path = "src/shingle.rs"]
mod shingle;

/// Hashes kept of a license without a data file of its own.
const SKETCH: usize = 64;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LicenseFile {
    id: String,
    hub_name: Option<String>,
    name: String,
    spdx: Option<String>,
    /// The standard license this one adds terms to (its id and text are the
    /// standard's; it is known by its own names and links, never by its text).
    refines: Option<String>,
    family: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    markers: Vec<String>,
    #[serde(default)]
    urls: Vec<String>,
    #[serde(default)]
    scancode: Vec<String>,
    terms: TermsFile,
    /// The clause sheet: a field's name -> the sentence of the published text that settles it.
    #[serde(default)]
    sheet: BTreeMap<String, String>,
}

/// The fields a clause sheet may quote (`Field::of_license` in src/field.rs).
const SHEET_FIELDS: &[&str] = &[
    "license_id",
    "spdx",
    "family",
    "osi_approved",
    "category",
    "commercial_use",
    "user_threshold_mau",
    "revenue_threshold_usd",
    "use_restrictions",
    "attribution_required",
    "derivative_naming",
    "output_training_restriction",
    "share_alike",
    "redistribution_allowed",
];

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct TermsFile {
    category: String,
    commercial_use: String,
    user_threshold_mau: Option<u64>,
    revenue_threshold_usd: Option<u64>,
    use_restrictions: bool,
    attribution_required: bool,
    derivative_naming: bool,
    output_training_restriction: bool,
    share_alike: bool,
    redistribution_allowed: String,
    #[serde(default)]
    eu_excluded: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Standard {
    category: BTreeMap<String, String>,
    family_by_spdx_prefix: BTreeMap<String, String>,
    non_commercial_parts: Vec<String>,
    no_derivatives_parts: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Vocabulary {
    key_filler: Vec<String>,
    license_words: Vec<String>,
    publisher: Vec<Publisher>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Publisher {
    name: String,
    family: String,
}

/// One license of ScanCode's LicenseDB.
struct ScanCode {
    key: String,
    name: String,
    short_name: String,
    category: String,
    spdx: Vec<String>,
    urls: Vec<String>,
    text: String,
    deprecated: bool,
    exception: bool,
}

const CATEGORIES: &[(&str, &str)] = &[
    ("permissive", "Permissive"),
    ("copyleft", "Copyleft"),
    ("weak-copyleft", "WeakCopyleft"),
    ("public-domain", "PublicDomain"),
    ("open-weights-restricted", "OpenWeightsRestricted"),
    ("non-commercial", "NonCommercial"),
    ("research-only", "ResearchOnly"),
    ("proprietary", "Proprietary"),
];
const COMMERCIAL: &[(&str, &str)] =
    &[("allowed", "Allowed"), ("conditional", "Conditional"), ("forbidden", "Forbidden"), ("unknown", "Unknown")];
const REDISTRIBUTION: &[(&str, &str)] =
    &[("allowed", "Allowed"), ("conditional", "Conditional"), ("forbidden", "Forbidden")];

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("error: {msg}");
    std::process::exit(1)
}

fn variant(table: &[(&str, &'static str)], value: &str, what: &str, file: &str) -> &'static str {
    table.iter().find(|(k, _)| *k == value).map(|(_, v)| *v).unwrap_or_else(|| {
        fail(format!("{file}: {what} {value:?} is not one of {:?}", table.iter().map(|t| t.0).collect::<Vec<_>>()))
    })
}

fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> T {
    println!("cargo:rerun-if-changed={}", path.display());
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
    toml::from_str(&text).unwrap_or_else(|e| fail(format!("{}: {e}", path.display())))
}

fn yaml_strings(v: &yaml_rust2::Yaml) -> Vec<String> {
    match v {
        yaml_rust2::Yaml::String(s) => vec![s.clone()],
        yaml_rust2::Yaml::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    }
}

fn read_scancode(dir: &Path) -> BTreeMap<String, ScanCode> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| {
        fail(format!(
            "ScanCode's license database is not at {} ({e}). Run scripts/setup.sh (or scripts/licensedb.sh), \
             which takes it from the PyPI wheel scancode-toolkit, or point FINEPRINT_LICENSEDB at its licenses folder.",
            dir.display()
        ))
    });
    let mut out = BTreeMap::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "LICENSE") {
            continue;
        }
        let raw = std::fs::read_to_string(&path).unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
        // Front matter between `---` lines; a record may have no text after it.
        let Some((front, text)) = raw.strip_prefix("---\n").and_then(|r| r.split_once("\n---")) else {
            fail(format!("{}: no YAML front matter between --- lines", path.display()))
        };
        let docs = yaml_rust2::YamlLoader::load_from_str(front)
            .unwrap_or_else(|e| fail(format!("{}: front matter: {e}", path.display())));
        let y = docs.first().unwrap_or_else(|| fail(format!("{}: empty front matter", path.display())));
        let s = |k: &str| y[k].as_str().unwrap_or("").to_owned();
        let key = s("key");
        if key.is_empty() {
            fail(format!("{}: no key", path.display()));
        }
        let mut spdx: Vec<String> = yaml_strings(&y["spdx_license_key"]);
        spdx.extend(yaml_strings(&y["other_spdx_license_keys"]));
        let mut urls = yaml_strings(&y["homepage_url"]);
        urls.extend(yaml_strings(&y["text_urls"]));
        urls.extend(yaml_strings(&y["other_urls"]));
        out.insert(
            key.clone(),
            ScanCode {
                key,
                name: s("name"),
                short_name: s("short_name"),
                category: s("category"),
                spdx,
                urls,
                text: text.to_owned(),
                deprecated: y["is_deprecated"].as_bool().unwrap_or(false),
                exception: y["is_exception"].as_bool().unwrap_or(false),
            },
        );
    }
    if out.len() < 2000 {
        fail(format!(
            "{} holds {} licenses; ScanCode's LicenseDB has about 2,600. Run scripts/licensedb.sh again.",
            dir.display(),
            out.len()
        ));
    }
    out
}

/// A record as the generated code writes it.
struct Record {
    id: String,
    refines: Option<String>,
    hub_name: Option<String>,
    name: String,
    spdx: Option<String>,
    family: String,
    aliases: Vec<String>,
    markers: Vec<String>,
    urls: Vec<String>,
    scancode: Vec<String>,
    terms: TermsFile,
    sheet: BTreeMap<String, String>,
    /// Whether the whole fingerprint is kept (a data file), else a sketch.
    full: bool,
}

fn camel(snake: &str) -> String {
    snake.split('_').map(|w| w[..1].to_uppercase() + &w[1..]).collect()
}

fn lit(s: &str) -> String {
    format!("{s:?}")
}

fn lits(v: &[String]) -> String {
    format!("&[{}]", v.iter().map(|s| lit(s)).collect::<Vec<_>>().join(", "))
}

fn opt(v: &Option<String>) -> String {
    v.as_ref().map_or("None".into(), |s| format!("Some({})", lit(s)))
}

fn terms_code(t: &TermsFile, file: &str) -> String {
    let optu = |v: Option<u64>| v.map_or("None".into(), |n| format!("Some({n})"));
    format!(
        "Terms {{ category: Category::{}, commercial: Commercial::{}, mau: {}, revenue_usd: {}, use_restrictions: {}, attribution: {}, naming: {}, output_training: {}, share_alike: {}, redistribution: Redistribution::{}, eu_excluded: {} }}",
        variant(CATEGORIES, &t.category, "category", file),
        variant(COMMERCIAL, &t.commercial_use, "commercial_use", file),
        optu(t.user_threshold_mau),
        optu(t.revenue_threshold_usd),
        t.use_restrictions,
        t.attribution_required,
        t.derivative_naming,
        t.output_training_restriction,
        t.share_alike,
        variant(REDISTRIBUTION, &t.redistribution_allowed, "redistribution_allowed", file),
        t.eu_excluded,
    )
}

/// One clause rule of data/clauses.toml, its macros expanded.
struct ClauseRule {
    name: String,
    /// Matched over the text as written (`over = "text"`), not the normalised text.
    over_text: bool,
    patterns: Vec<String>,
    unless: Vec<String>,
    says: Vec<String>,
    not: Vec<String>,
}

/// What `Document::norm` does to an example sentence, as far as the examples need.
fn normalise(s: &str) -> String {
    let s = s.to_lowercase().replace(['\u{201c}', '\u{201d}'], "\"").replace(['\u{2018}', '\u{2019}'], "'");
    let s = s.replace(['*', '`'], "");
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn read_clauses(path: &Path) -> Vec<ClauseRule> {
    let file = path.display().to_string();
    let table: BTreeMap<String, toml::Value> = read_toml(path);
    let strings = |v: &toml::Value, what: &str| -> Vec<String> {
        v.as_array()
            .unwrap_or_else(|| fail(format!("{file}: {what} must be a list of strings")))
            .iter()
            .map(|x| x.as_str().map(str::to_owned).unwrap_or_else(|| fail(format!("{file}: {what} must be strings"))))
            .collect()
    };
    let macros: Vec<(String, String)> = table
        .get("macros")
        .and_then(|m| m.as_table())
        .map(|m| m.iter().map(|(k, v)| (format!("{{{k}}}"), v.as_str().unwrap_or("").to_owned())).collect())
        .unwrap_or_default();
    let expand = |p: &str| macros.iter().fold(p.to_owned(), |acc, (k, v)| acc.replace(k.as_str(), v));
    let mut out = Vec::new();
    for (name, v) in &table {
        if name == "macros" {
            continue;
        }
        let t = v.as_table().unwrap_or_else(|| fail(format!("{file}: [{name}] must be a table")));
        let mut rule = ClauseRule {
            name: name.clone(),
            over_text: false,
            patterns: Vec::new(),
            unless: Vec::new(),
            says: Vec::new(),
            not: Vec::new(),
        };
        for (k, v) in t {
            let what = format!("[{name}] {k}");
            match k.as_str() {
                "says" => rule.says = strings(v, &what),
                "not" => rule.not = strings(v, &what),
                "over" => rule.over_text = v.as_str() == Some("text"),
                "unless" => rule.unless = strings(v, &what).iter().map(|p| expand(p)).collect(),
                // Anything else is a language's patterns.
                _ => rule.patterns.extend(strings(v, &what).iter().map(|p| expand(p))),
            }
        }
        let compile =
            |p: &String| regex::Regex::new(p).unwrap_or_else(|e| fail(format!("{file}: [{name}] pattern {p:?}: {e}")));
        let res: Vec<regex::Regex> = rule.patterns.iter().map(compile).collect();
        rule.unless.iter().for_each(|p| drop(compile(p)));
        if res.is_empty() || rule.says.is_empty() {
            fail(format!("{file}: [{name}] needs patterns and at least one sentence it says"));
        }
        let prepare = |e: &str| if rule.over_text { e.to_owned() } else { normalise(e) };
        for e in &rule.says {
            if !res.iter().any(|r| r.is_match(&prepare(e))) {
                fail(format!("{file}: [{name}] finds nothing in its example {e:?}"));
            }
        }
        for e in &rule.not {
            if res.iter().any(|r| r.is_match(&prepare(e))) {
                fail(format!("{file}: [{name}] finds its counter-example {e:?}"));
            }
        }
        out.push(rule);
    }
    out
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let data = manifest.join("data");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/shingle.rs");
    println!("cargo:rerun-if-changed={}", data.join("licenses").display());
    println!("cargo:rerun-if-changed={}", data.join("rules").display());
    println!("cargo:rerun-if-env-changed=FINEPRINT_LICENSEDB");
    let db_dir = std::env::var_os("FINEPRINT_LICENSEDB")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../../.tools/licensedb/licenses"));
    println!("cargo:rerun-if-changed={}", db_dir.display());
    let scancode = read_scancode(&db_dir);
    let standard: Standard = read_toml(&data.join("standard.toml"));
    let vocabulary: Vocabulary = read_toml(&data.join("vocabulary.toml"));
    // Every file of data/rules: clause rules, declaration rules, training-data rules.
    let mut rule_files: Vec<PathBuf> = std::fs::read_dir(data.join("rules"))
        .unwrap_or_else(|e| fail(format!("data/rules: {e}")))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    rule_files.sort();
    let mut clause_rules = Vec::new();
    for f in &rule_files {
        for r in read_clauses(f) {
            if clause_rules.iter().any(|x: &ClauseRule| x.name == r.name) {
                fail(format!("{}: rule [{}] is defined twice in data/rules", f.display(), r.name));
            }
            clause_rules.push(r);
        }
    }

    let mut files: Vec<PathBuf> = std::fs::read_dir(data.join("licenses"))
        .unwrap_or_else(|e| fail(format!("data/licenses: {e}")))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();

    let mut records = Vec::new();
    let mut covered_spdx = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for path in &files {
        let file = path.display().to_string();
        let mut f: LicenseFile = read_toml(path);
        let identity = (f.id.clone(), f.hub_name.clone(), f.name.clone());
        if !ids.insert(identity) {
            fail(format!("{file}: another file has the same id, hub_name and name"));
        }
        if f.family.is_empty() || f.name.is_empty() || f.id.is_empty() {
            fail(format!("{file}: id, name and family must not be empty"));
        }
        if f.id == "other" && f.hub_name.is_none() {
            fail(format!("{file}: a license filed as \"other\" needs its hub_name"));
        }
        // A standard license's text is ScanCode's record of its SPDX id.
        if let Some(spdx) = f.spdx.as_ref().filter(|_| f.refines.is_none()) {
            covered_spdx.insert(spdx.clone());
            if f.scancode.is_empty() {
                let sc = scancode.values().find(|s| !s.deprecated && s.spdx.iter().any(|k| k == spdx));
                match sc {
                    Some(sc) => f.scancode.push(sc.key.clone()),
                    None => fail(format!("{file}: ScanCode has no license with SPDX id {spdx}")),
                }
            }
        }
        for key in &f.scancode {
            let Some(sc) = scancode.get(key) else { fail(format!("{file}: ScanCode has no license {key}")) };
            // The database's own names are names people write too.
            for n in [&sc.name, &sc.short_name] {
                let n = n.to_lowercase();
                if !n.is_empty() && !f.aliases.contains(&n) {
                    f.aliases.push(n);
                }
            }
            for u in &sc.urls {
                if !f.urls.contains(u) {
                    f.urls.push(u.clone());
                }
            }
        }
        for m in &f.markers {
            if m.to_lowercase() != *m || m.len() < 6 {
                fail(format!("{file}: marker {m:?} must be lower case and at least 6 bytes"));
            }
        }
        terms_code(&f.terms, &file);
        // Every sentence of a sheet stands in the published text it quotes.
        if !f.sheet.is_empty() && f.scancode.is_empty() {
            fail(format!("{file}: a clause sheet needs the ScanCode text it quotes (scancode = [...])"));
        }
        let texts: Vec<String> = f.scancode.iter().map(|k| normalise(&scancode[k].text)).collect();
        for (field, sentence) in &f.sheet {
            if !SHEET_FIELDS.contains(&field.as_str()) {
                fail(format!("{file}: [sheet] {field} is not a field a license settles ({SHEET_FIELDS:?})"));
            }
            let n = normalise(sentence);
            if n.split(' ').count() < 8 || !texts.iter().any(|t| t.contains(&n)) {
                fail(format!("{file}: [sheet] {field}: {sentence:?} is not a sentence of {:?}", f.scancode));
            }
        }
        records.push(Record {
            id: f.id,
            refines: f.refines,
            hub_name: f.hub_name,
            name: f.name,
            spdx: f.spdx,
            family: f.family,
            aliases: f.aliases,
            markers: f.markers,
            urls: f.urls,
            scancode: f.scancode,
            terms: f.terms,
            sheet: f.sheet,
            full: true,
        });
    }

    // Every other SPDX-listed license, from ScanCode alone.
    for sc in scancode.values() {
        let Some(spdx) = sc.spdx.iter().find(|k| !k.starts_with("LicenseRef-")) else { continue };
        if sc.deprecated || sc.exception || covered_spdx.contains(spdx) {
            continue;
        }
        covered_spdx.insert(spdx.clone());
        let mut category = standard
            .category
            .get(&sc.category)
            .unwrap_or_else(|| {
                fail(format!("data/standard.toml: no category for ScanCode's {:?} ({})", sc.category, sc.key))
            })
            .clone();
        let nc =
            standard.non_commercial_parts.iter().any(|p| spdx.ends_with(p.as_str()) || spdx.contains(&format!("{p}-")));
        let nd =
            standard.no_derivatives_parts.iter().any(|p| spdx.ends_with(p.as_str()) || spdx.contains(&format!("{p}-")));
        if nc {
            category = "non-commercial".into();
        } else if nd && category == "permissive" {
            category = "open-weights-restricted".into();
        }
        let family = standard
            .family_by_spdx_prefix
            .iter()
            .filter(|(p, _)| spdx.starts_with(p.as_str()))
            .max_by_key(|(p, _)| p.len())
            .map_or_else(|| spdx.to_lowercase(), |(_, f)| f.clone());
        let copyleft = matches!(category.as_str(), "copyleft" | "weak-copyleft") || spdx.contains("-SA");
        let terms = TermsFile {
            commercial_use: if nc {
                "forbidden"
            } else if category == "proprietary" {
                "unknown"
            } else {
                "allowed"
            }
            .into(),
            category: category.clone(),
            user_threshold_mau: None,
            revenue_threshold_usd: None,
            use_restrictions: false,
            attribution_required: category != "public-domain",
            derivative_naming: false,
            output_training_restriction: false,
            share_alike: copyleft,
            redistribution_allowed: if category == "proprietary" { "conditional" } else { "allowed" }.into(),
            eu_excluded: false,
        };
        let mut aliases: Vec<String> = vec![sc.name.to_lowercase(), sc.short_name.to_lowercase()];
        aliases.dedup();
        records.push(Record {
            id: spdx.to_lowercase(),
            refines: None,
            hub_name: None,
            name: sc.name.clone(),
            spdx: Some(spdx.clone()),
            family,
            aliases,
            markers: Vec::new(),
            urls: sc.urls.clone(),
            scancode: vec![sc.key.clone()],
            terms,
            sheet: BTreeMap::new(),
            full: false,
        });
    }

    // The records, as Rust.
    let mut code = String::from("// Generated by build.rs from data/ and ScanCode's LicenseDB. Do not edit.\n");
    code.push_str("pub static KNOWN: &[Known] = &[\n");
    for r in &records {
        let _ = writeln!(
            code,
            "    Known {{ id: {}, refines: {}, hub_name: {}, name: {}, spdx: {}, family: {}, aliases: {}, markers: {}, urls: {}, scancode: {}, terms: {}, sheet: &[{}] }},",
            lit(&r.id),
            opt(&r.refines),
            opt(&r.hub_name),
            lit(&r.name),
            opt(&r.spdx),
            lit(&r.family),
            lits(&r.aliases),
            lits(&r.markers),
            lits(&r.urls),
            lits(&r.scancode),
            terms_code(&r.terms, &r.name),
            r.sheet.iter().map(|(f, t)| format!("(Field::{}, {})", camel(f), lit(t))).collect::<Vec<_>>().join(", "),
        );
    }
    code.push_str("];\n");
    // The brands of model licenses: a title that names one gives a custom or
    // modified license its family ("FALCON 180B TII LICENSE" is falcon's).
    let brands: BTreeSet<&str> =
        records.iter().filter(|r| r.full && r.spdx.is_none()).map(|r| r.family.as_str()).collect();
    let _ = writeln!(
        code,
        "pub static BRANDS: &[&str] = &[{}];",
        brands.iter().map(|b| lit(b)).collect::<Vec<_>>().join(", ")
    );
    let mut rules_code = String::from("// Generated by build.rs from data/rules. Do not edit.\n");
    rules_code.push_str("pub static CLAUSE_RULES: &[ClauseRule] = &[\n");
    for r in &clause_rules {
        let _ = writeln!(
            rules_code,
            "    ClauseRule {{ name: {}, over_text: {}, patterns: {}, unless: {}, says: {}, not: {} }},",
            lit(&r.name),
            r.over_text,
            lits(&r.patterns),
            lits(&r.unless),
            lits(&r.says),
            lits(&r.not)
        );
    }
    rules_code.push_str("];\n");
    let _ = writeln!(code, "pub static KEY_FILLER: &[&str] = {};", lits(&vocabulary.key_filler));
    let _ = writeln!(code, "pub static LICENSE_WORDS: &[&str] = {};", lits(&vocabulary.license_words));
    let _ = writeln!(
        code,
        "pub static PUBLISHERS: &[(&str, &str)] = &[{}];",
        vocabulary
            .publisher
            .iter()
            .map(|p| format!("({}, {})", lit(&p.name), lit(&p.family)))
            .collect::<Vec<_>>()
            .join(", ")
    );

    // The fingerprints: per record with a text, its index, whether it is whole, the
    // word count of the text (a sketch's denominator) and the hashes.
    let mut blob = Vec::new();
    for (i, r) in records.iter().enumerate() {
        for key in &r.scancode {
            let sc = &scancode[key];
            let mut sh = shingle::shingles(&sc.text);
            if sh.len() < 8 {
                continue;
            }
            let total = sh.len() as u32;
            if !r.full {
                sh.truncate(SKETCH);
            }
            blob.extend_from_slice(&(i as u32).to_le_bytes());
            blob.push(u8::from(r.full));
            blob.extend_from_slice(&total.to_le_bytes());
            blob.extend_from_slice(&(sh.len() as u32).to_le_bytes());
            for h in sh {
                blob.extend_from_slice(&h.to_le_bytes());
            }
        }
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("clause_rules.rs"), rules_code)
        .unwrap_or_else(|e| fail(format!("writing clause_rules.rs: {e}")));
    std::fs::write(out.join("licenses.rs"), code).unwrap_or_else(|e| fail(format!("writing licenses.rs: {e}")));
    std::fs::write(out.join("fingerprints.bin"), blob)
        .unwrap_or_else(|e| fail(format!("writing fingerprints.bin: {e}")));
}
