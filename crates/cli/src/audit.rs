//! `fineprint audit`: every model on a disk, one row each. Finds the models
//! (a Hugging Face hub cache, folders of model folders, GGUF files with their
//! sibling documents), checks each with the same stateless per-folder
//! function as `check`, and prints a table, JSON Lines, CSV, or one
//! CycloneDX / SPDX document for all.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use fineprint_license::diff::{self, Revision};
use fineprint_license::known::Category;
use fineprint_license::report::SourceText;
use fineprint_license::sbom::{self, Model};
use fineprint_license::{Answer, InputFile, Report};
use serde::Serialize;

use crate::{folder, gate, report, timestamp, CliError, UseArgs, VERSION};

/// What `audit` prints.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuditFormat {
    /// One line a model, for people.
    Table,
    /// One JSON object a model, a line each.
    #[value(alias = "json")]
    Jsonl,
    /// One row a model.
    Csv,
    /// One CycloneDX 1.6 ML-BOM for every model.
    Cyclonedx,
    /// One SPDX 2.3 document for every model.
    Spdx,
}

#[derive(clap::Args)]
pub struct AuditArgs {
    /// Folders to scan (each child folder is a model; GGUF files count with
    /// their sibling documents). Without one: the Hugging Face hub cache
    /// ($HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub).
    dirs: Vec<PathBuf>,
    /// What to print.
    #[arg(long, value_enum, default_value_t = AuditFormat::Table)]
    format: AuditFormat,
    /// Short for --format jsonl.
    #[arg(long, conflicts_with_all = ["format", "csv"])]
    json: bool,
    /// Short for --format csv.
    #[arg(long, conflicts_with = "format")]
    csv: bool,
    #[command(flatten)]
    uses: UseArgs,
}

/// One model to check: a folder, or a GGUF file and the documents beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub name: String,
    /// A hub snapshot's revision.
    pub version: Option<String>,
    pub root: PathBuf,
    /// None: the whole folder; Some: these files of it.
    pub only: Option<Vec<PathBuf>>,
}

/// The hub cache's place, as `huggingface_hub` resolves it.
pub fn hub_cache() -> Option<PathBuf> {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    env("HF_HUB_CACHE")
        .or_else(|| env("HF_HOME").map(|h| h.join("hub")))
        .or_else(|| env("HOME").map(|h| h.join(".cache/huggingface/hub")))
}

fn sorted_entries(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    v.sort();
    Ok(v)
}

fn is_hub_cache(dir: &Path) -> bool {
    sorted_entries(dir).is_ok_and(|v| v.iter().any(|p| name_of(p).starts_with("models--") && p.is_dir()))
}

fn name_of(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// `models--org--name` → every snapshot, oldest first (by when it was
/// downloaded), the one `refs/main` points at last among equals.
fn hub_model(dir: &Path) -> Vec<Target> {
    let Some(name) = name_of(dir).strip_prefix("models--").map(|n| n.replace("--", "/")) else { return Vec::new() };
    let snapshots = dir.join("snapshots");
    let main = std::fs::read_to_string(dir.join("refs/main")).ok().map(|s| s.trim().to_owned());
    let mut revs: Vec<(Option<std::time::SystemTime>, bool, PathBuf)> = sorted_entries(&snapshots)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.is_dir())
        .map(|p| {
            let at = std::fs::metadata(&p).and_then(|m| m.modified()).ok();
            (at, main.as_deref() == Some(name_of(&p).as_str()), p)
        })
        .collect();
    revs.sort();
    revs.into_iter()
        .map(|(_, _, p)| Target { name: name.clone(), version: Some(name_of(&p)), root: p, only: None })
        .collect()
}

/// The models under `dir`.
pub fn targets(dir: &Path) -> std::io::Result<Vec<Target>> {
    if is_hub_cache(dir) {
        return Ok(sorted_entries(dir)?.iter().filter(|p| p.is_dir()).flat_map(|p| hub_model(p)).collect());
    }
    let entries = sorted_entries(dir)?;
    let is_gguf = |p: &Path| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("gguf"));
    let ggufs: Vec<&PathBuf> = entries.iter().filter(|p| p.is_file() && is_gguf(p)).collect();
    let subdirs: Vec<&PathBuf> = entries.iter().filter(|p| p.is_dir() && !name_of(p).starts_with('.')).collect();
    let mut out = Vec::new();
    // GGUF files here: each with the documents beside it.
    let siblings: Vec<PathBuf> = entries.iter().filter(|p| p.is_file() && !is_gguf(p)).cloned().collect();
    for g in &ggufs {
        let mut only = vec![(*g).clone()];
        only.extend(siblings.iter().cloned());
        out.push(Target { name: name_of(g), version: None, root: dir.to_path_buf(), only: Some(only) });
    }
    for d in subdirs {
        out.push(Target { name: name_of(d), version: None, root: d.clone(), only: None });
    }
    // A model folder given directly: license files and no sub-folders.
    if out.is_empty() && !siblings.is_empty() {
        out.push(Target { name: name_of(dir), version: None, root: dir.to_path_buf(), only: None });
    }
    Ok(out)
}

fn read(t: &Target) -> std::io::Result<Vec<InputFile>> {
    match &t.only {
        None => folder::read(&t.root),
        Some(files) => files.iter().map(|f| folder::read_one(&t.root, f)).collect(),
    }
}

/// One line of the audit.
#[derive(Serialize)]
struct Row<'a> {
    model: &'a str,
    revision: Option<&'a str>,
    path: String,
    license: String,
    spdx: Option<&'a str>,
    osi_approved: bool,
    verdict: &'a str,
    commercial_use: String,
    user_cap_mau: Option<u64>,
    revenue_cap_usd: Option<u64>,
    prohibited_uses: bool,
    output_training_restriction: bool,
    /// The least favourable answer for the stated use, where one was stated.
    use_answer: Option<&'static str>,
    problems: usize,
    /// How the terms changed from the model's previous snapshot, where it has one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    changes: Vec<String>,
}

fn worst(r: &Report) -> Option<Answer> {
    r.uses.as_ref()?.iter().map(|u| u.answer).max_by_key(|a| a.strictness())
}

fn row<'a>(t: &'a Target, r: &'a Report, changes: Vec<String>) -> Row<'a> {
    let s = &r.summary;
    Row {
        model: &t.name,
        revision: t.version.as_deref(),
        path: t.root.display().to_string(),
        license: if s.category == Category::NoLicense {
            "none found".into()
        } else {
            r.verdict.license_name.clone().unwrap_or_else(|| s.family.clone())
        },
        spdx: s.spdx.as_deref(),
        osi_approved: s.osi_approved,
        verdict: &r.verdict.headline,
        commercial_use: format!("{:?}", s.commercial_use).to_lowercase(),
        user_cap_mau: s.user_threshold_mau,
        revenue_cap_usd: s.revenue_threshold_usd,
        prohibited_uses: s.use_restrictions,
        output_training_restriction: s.output_training_restriction,
        use_answer: worst(r).map(Answer::label),
        problems: r.problems.len(),
        changes,
    }
}

fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_owned()
    }
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}

fn caps(r: &Row) -> String {
    let mut v = Vec::new();
    if let Some(n) = r.user_cap_mau {
        v.push(format!("{} MAU", fineprint_license::report::group(n)));
    }
    if let Some(n) = r.revenue_cap_usd {
        v.push(format!("${}", fineprint_license::report::group(n)));
    }
    if v.is_empty() {
        "-".into()
    } else {
        v.join(", ")
    }
}

pub fn audit(args: AuditArgs) -> Result<ExitCode, CliError> {
    let format = match (args.json, args.csv) {
        (true, _) => AuditFormat::Jsonl,
        (_, true) => AuditFormat::Csv,
        _ => args.format,
    };
    let profile = args.uses.profile();
    let dirs = if args.dirs.is_empty() {
        vec![hub_cache().filter(|p| p.is_dir()).ok_or(CliError::NoHubCache)?]
    } else {
        args.dirs.clone()
    };
    let mut all = Vec::new();
    for d in &dirs {
        all.extend(targets(d).map_err(CliError::read(d))?);
    }
    if all.is_empty() {
        return Err(CliError::NoModels(dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")));
    }
    let progress = std::io::stderr().is_terminal();
    let started = std::time::Instant::now();
    let mut checked: Vec<(&Target, Report)> = Vec::with_capacity(all.len());
    let mut changes: Vec<Vec<String>> = Vec::with_capacity(all.len());
    // A model's previous snapshot (its name, report and texts), to compare the next one with.
    let mut previous: Option<(&str, Report, Vec<SourceText>)> = None;
    for (i, t) in all.iter().enumerate() {
        let files = match read(t) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("fineprint: {}: cannot read {}: {e}", t.name, t.root.display());
                continue;
            }
        };
        // Snapshots of one model come together: only then are the texts kept, to compare.
        let more = all.get(i + 1).is_some_and(|n| n.name == t.name && n.version.is_some());
        let after = previous.as_ref().is_some_and(|(name, _, _)| *name == t.name);
        let r = if more || after {
            let (mut r, texts) = fineprint_license::check_with_texts(&files);
            if let Some(p) = profile.as_ref() {
                r.uses = Some(fineprint_license::usage::answer(&r, p));
            }
            let change = match previous.take().filter(|(name, _, _)| *name == t.name) {
                Some((_, before, before_texts)) => diff::compare(
                    &Revision { report: &before, texts: &before_texts },
                    &Revision { report: &r, texts: &texts },
                )
                .lines(),
                None => Vec::new(),
            };
            changes.push(change);
            previous = more.then(|| (t.name.as_str(), r.clone(), texts));
            r
        } else {
            changes.push(Vec::new());
            report(&files, profile.as_ref())
        };
        let mut r = r;
        // A hub model is known by its repository's name, a GGUF file by its own.
        r.name_from_folder(t.name.rsplit('/').next().unwrap_or(&t.name).trim_end_matches(".gguf"));
        checked.push((t, r));
        if progress && (i % 25 == 0 || i + 1 == all.len()) {
            eprint!("\rchecked {}/{} models", i + 1, all.len());
        }
    }
    if progress {
        eprintln!(" in {:.1} s", started.elapsed().as_secs_f64());
    }
    let rows: Vec<Row> = checked.iter().zip(changes).map(|((t, r), c)| row(t, r, c)).collect();
    match format {
        AuditFormat::Jsonl => {
            for r in &rows {
                println!("{}", serde_json::to_string(r)?);
            }
        }
        AuditFormat::Csv => {
            println!("model,revision,license,spdx,osi_approved,commercial_use,user_cap_mau,revenue_cap_usd,prohibited_uses,output_training_restriction,use_answer,verdict,problems,path,changes");
            for r in &rows {
                let opt = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_default();
                let fields = [
                    r.model.to_owned(),
                    r.revision.unwrap_or("").to_owned(),
                    r.license.clone(),
                    r.spdx.unwrap_or("").to_owned(),
                    r.osi_approved.to_string(),
                    r.commercial_use.clone(),
                    opt(r.user_cap_mau),
                    opt(r.revenue_cap_usd),
                    r.prohibited_uses.to_string(),
                    r.output_training_restriction.to_string(),
                    r.use_answer.unwrap_or("").to_owned(),
                    r.verdict.to_owned(),
                    r.problems.to_string(),
                    r.path.clone(),
                    r.changes.join("; "),
                ];
                println!("{}", fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
            }
        }
        AuditFormat::Cyclonedx | AuditFormat::Spdx => {
            let models: Vec<Model> = checked
                .iter()
                .map(|(t, r)| Model { name: &t.name, version: t.version.as_deref(), report: r })
                .collect();
            let now = timestamp();
            let doc = if format == AuditFormat::Cyclonedx {
                sbom::cyclonedx(&models, VERSION, &now)
            } else {
                let ns = format!("https://fineprint.invalid/spdx/audit-{}", now.replace([':', '-'], ""));
                sbom::spdx(&models, "fineprint audit", &ns, VERSION, &now)
            };
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        AuditFormat::Table => {
            let with_use = profile.is_some();
            println!(
                "{:<34} {:<34} {:<4} {:<26} {:<22} {:<10}{}",
                "MODEL",
                "LICENSE",
                "OSI",
                "COMMERCIAL USE",
                "CAPS",
                "PROHIBITED",
                if with_use { " YOUR USE" } else { "" }
            );
            for r in &rows {
                println!(
                    "{:<34} {:<34} {:<4} {:<26} {:<22} {:<10}{}",
                    cut(r.model, 34),
                    cut(&r.license, 34),
                    if r.osi_approved { "yes" } else { "no" },
                    cut(&r.commercial_use, 26),
                    cut(&caps(r), 22),
                    if r.prohibited_uses { "yes" } else { "no" },
                    r.use_answer.map(|a| format!(" {a}")).unwrap_or_default()
                );
            }
            let changed: Vec<&Row> = rows.iter().filter(|r| !r.changes.is_empty()).collect();
            if !changed.is_empty() {
                println!("\nTerms that changed between snapshots:");
                for r in changed {
                    println!("{} at {}:", r.model, r.revision.unwrap_or("?"));
                    for c in &r.changes {
                        println!("  - {c}");
                    }
                }
            }
        }
    }
    let reports: Vec<&Report> = checked.iter().map(|(_, r)| r).collect();
    Ok(gate(&reports, args.uses.strict))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_snapshot_names_and_revisions() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("models--org--name");
        std::fs::create_dir_all(m.join("snapshots/aaa")).unwrap();
        std::fs::create_dir_all(m.join("snapshots/bbb")).unwrap();
        std::fs::create_dir_all(m.join("refs")).unwrap();
        std::fs::write(m.join("refs/main"), "aaa\n").unwrap();
        let t = targets(dir.path()).unwrap();
        // Every snapshot, the one refs/main names last among those downloaded together.
        assert_eq!(t.len(), 2);
        assert!(t.iter().all(|t| t.name == "org/name"));
        let revs: Vec<&str> = t.iter().filter_map(|t| t.version.as_deref()).collect();
        assert!(revs.contains(&"aaa") && revs.contains(&"bbb"), "{revs:?}");
        assert!(t.iter().any(|t| t.root == m.join("snapshots/aaa")));
    }
}
