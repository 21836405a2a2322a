//! Times `check` over every folder under a directory, for comparing the
//! native build with the wasm one (scripts/bench-license-wasm.sh runs it
//! both ways in one go). Prints milliseconds per folder.

use std::time::Instant;

use fineprint_license::{check, discover, InputFile, ReadPlan};

fn main() {
    let root = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let rounds: usize = std::env::args().nth(2).and_then(|n| n.parse().ok()).unwrap_or(20);
    let mut folders = Vec::new();
    let Ok(rd) = std::fs::read_dir(&root) else {
        eprintln!("cannot read {root}");
        std::process::exit(2);
    };
    for d in rd.flatten().filter(|e| e.path().is_dir()) {
        let mut files = Vec::new();
        for f in std::fs::read_dir(d.path()).into_iter().flatten().flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            if name == "labels.json" || !f.path().is_file() {
                continue;
            }
            let size = f.metadata().map(|m| m.len()).unwrap_or(0);
            let mut bytes = match discover::plan(&name, size) {
                ReadPlan::Skip => Vec::new(),
                _ => std::fs::read(f.path()).unwrap_or_default(),
            };
            bytes.truncate(discover::GGUF_HEAD);
            files.push(InputFile { path: name, size, bytes });
        }
        folders.push(files);
    }
    // Warm up (the fingerprint index and the patterns are built once).
    for f in &folders {
        std::hint::black_box(check(f));
    }
    let start = Instant::now();
    for _ in 0..rounds {
        for f in &folders {
            std::hint::black_box(check(f));
        }
    }
    let per = start.elapsed().as_secs_f64() * 1000.0 / (rounds * folders.len()) as f64;
    println!("{per:.3} ms per folder ({} folders x {rounds} rounds)", folders.len());
}
