//! Fine Print's license engine: what does this model folder's license let me do?
//!
//! Pure Rust, no I/O: callers (the `fineprint` command line, the web page) hand
//! over the files' names, sizes and the bytes [`discover::plan`] asks for, and
//! get a [`report::Report`] whose every finding quotes its file and line.

pub mod clauses;
pub mod diff;
pub mod discover;
pub mod field;
pub mod fingerprint;
pub mod frontmatter;
/// GGUF metadata, read by the one header reader the inference pre-flight uses too.
pub use fineprint_gguf as gguf;
pub mod html;
pub mod known;
pub mod lineage;
pub mod modelfile;
pub mod openness;
pub mod report;
pub mod sbom;
mod shingle;
pub mod text;
pub mod usage;

mod analyse;
mod declared;

pub use analyse::{check, check_with_texts};
pub use discover::{plan, ReadPlan};
pub use report::Report;
pub use usage::{Answer, Purpose, UseProfile};

/// One file of the dropped folder: its path relative to the folder, its full
/// size, and the bytes [`discover::plan`] asked for (empty for files it skips).
#[derive(Debug, Clone)]
pub struct InputFile {
    pub path: String,
    pub size: u64,
    pub bytes: Vec<u8>,
}

/// Files for the unit tests: each a path and its text, read whole.
#[cfg(test)]
pub(crate) fn test_files(files: &[(&str, &str)]) -> Vec<InputFile> {
    files
        .iter()
        .map(|(p, t)| InputFile { path: (*p).into(), size: t.len() as u64, bytes: t.as_bytes().to_vec() })
        .collect()
}

/// Checks a folder and answers the questions for a stated use.
pub fn check_for_use(files: &[InputFile], profile: &UseProfile) -> Report {
    let mut report = check(files);
    report.uses = Some(usage::answer(&report, profile));
    report
}
