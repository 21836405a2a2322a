//! `cargo bench -p fineprint-license`: time to check one model folder, per
//! folder of the labelled corpus in ../shared (or the sample folder).

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion};
use fineprint_license::{check, discover, InputFile, ReadPlan};

fn load(dir: &Path) -> Vec<InputFile> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else { return out };
    for e in rd.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if !path.is_file() || name == "labels.json" {
            continue;
        }
        let size = e.metadata().map(|m| m.len()).unwrap_or(0);
        let bytes = match discover::plan(&name, size) {
            ReadPlan::Whole(n) | ReadPlan::Head(n) => {
                let mut b = std::fs::read(&path).unwrap_or_default();
                b.truncate(n);
                b
            }
            ReadPlan::Skip => Vec::new(),
        };
        out.push(InputFile { path: name, size, bytes });
    }
    out
}

fn folders() -> Vec<(String, Vec<InputFile>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = root.join("../../../shared/fixtures/licenses");
    let dirs: Vec<PathBuf> = match std::fs::read_dir(&corpus) {
        Ok(rd) => rd.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect(),
        Err(_) => vec![root.join("../../sample/SmolLM2-135M-Instruct")],
    };
    let mut v: Vec<_> =
        dirs.iter().map(|d| (d.file_name().unwrap_or_default().to_string_lossy().into_owned(), load(d))).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn bench(c: &mut Criterion) {
    let all = folders();
    c.bench_function("check every corpus folder once", |b| {
        b.iter(|| {
            for (_, files) in &all {
                std::hint::black_box(check(files));
            }
        })
    });
    for name in ["llama3.1-community", "grok-1-apache", "yi-license-2.0-2023"] {
        if let Some((_, files)) = all.iter().find(|(n, _)| n == name) {
            c.bench_function(&format!("check {name}"), |b| b.iter(|| std::hint::black_box(check(files))));
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
