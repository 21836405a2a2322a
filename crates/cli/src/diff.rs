//! `fineprint diff OLD NEW`: how a model's terms changed between two
//! revisions of its folder, clause by clause. Exits 0 when the terms are the
//! same and 1 when they differ, as `diff` does, so a pipeline can gate on it.

use std::path::PathBuf;
use std::process::ExitCode;

use fineprint_license::diff::{self, Revision};
use serde_json::json;

use crate::{folder, CliError};

#[derive(clap::Args)]
pub struct DiffArgs {
    /// The earlier revision's folder.
    old: PathBuf,
    /// The later revision's folder.
    new: PathBuf,
    /// Print `{old, new, changes, prohibited_added, prohibited_removed}` as JSON.
    #[arg(long)]
    json: bool,
}

pub fn diff(args: DiffArgs) -> Result<ExitCode, CliError> {
    let read = |dir: &PathBuf| folder::read(dir).map_err(CliError::read(dir));
    let (old_files, new_files) = (read(&args.old)?, read(&args.new)?);
    let (mut old, old_texts) = fineprint_license::check_with_texts(&old_files);
    let (mut new, new_texts) = fineprint_license::check_with_texts(&new_files);
    old.name_from_folder(&crate::folder_name(&args.old));
    new.name_from_folder(&crate::folder_name(&args.new));
    let d = diff::compare(&Revision { report: &old, texts: &old_texts }, &Revision { report: &new, texts: &new_texts });
    let name = |r: &fineprint_license::Report| r.verdict.license_name.clone().unwrap_or_else(|| "no license".into());
    if args.json {
        let out = json!({
            "old": { "path": args.old.display().to_string(), "license": name(&old), "license_id": old.summary.license_id },
            "new": { "path": args.new.display().to_string(), "license": name(&new), "license_id": new.summary.license_id },
            "same": d.is_empty(),
            "changes": d.changes,
            "prohibited_added": d.prohibited_added,
            "prohibited_removed": d.prohibited_removed,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if d.is_empty() {
        println!("The terms are the same: {} in both.", name(&new));
    } else {
        println!("{} → {}", name(&old), name(&new));
        for line in d.lines() {
            println!("- {line}");
        }
    }
    Ok(if d.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
