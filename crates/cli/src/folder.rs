//! Reading a model folder the way the checker needs it: each file's planned
//! bytes only (the whole of a license, the head of a GGUF, nothing of the
//! rest), following symlinks (a Hugging Face snapshot's files point into its
//! `blobs/`).

use std::io::Read;
use std::path::Path;

use fineprint_license::{discover, InputFile, ReadPlan};

/// Every file under `dir` (hidden folders skipped, 8 levels deep at most).
pub fn read(dir: &Path) -> std::io::Result<Vec<InputFile>> {
    let mut out = Vec::new();
    collect(dir, dir, &mut out, 0)?;
    Ok(out)
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<InputFile>, depth: usize) -> std::io::Result<()> {
    if depth > 8 {
        return Ok(());
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        // Followed: a snapshot's files are symlinks. A dangling link is skipped.
        let Ok(meta) = std::fs::metadata(&path) else { continue };
        if meta.is_dir() {
            if !e.file_name().to_string_lossy().starts_with('.') {
                collect(root, &path, out, depth + 1)?;
            }
        } else if meta.is_file() {
            out.push(read_one(root, &path)?);
        }
    }
    Ok(())
}

/// One file, named relative to `root`.
pub fn read_one(root: &Path, path: &Path) -> std::io::Result<InputFile> {
    let rel = path.strip_prefix(root).unwrap_or(path).to_string_lossy().replace('\\', "/");
    let size = std::fs::metadata(path)?.len();
    let want = match discover::plan(&rel, size) {
        ReadPlan::Whole(n) | ReadPlan::Head(n) => n,
        ReadPlan::Skip => 0,
    };
    let mut bytes = Vec::new();
    if want > 0 {
        std::fs::File::open(path)?.take(want as u64).read_to_end(&mut bytes)?;
    }
    Ok(InputFile { path: rel, size, bytes })
}
