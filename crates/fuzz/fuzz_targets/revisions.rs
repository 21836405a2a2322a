#![no_main]
//! Lineage, openness and the revisions diff on arbitrary bytes: two folders,
//! each a model card, a use policy and a JSON config (adapter or model), cut
//! from the input at `\x00` bytes. Every lineage finding quotes its file.
use fineprint_license::diff::{compare, Revision};
use fineprint_license::{check_with_texts, InputFile};
use libfuzzer_sys::fuzz_target;

fn folder(parts: &[&[u8]], names: &[&str]) -> Vec<InputFile> {
    names
        .iter()
        .zip(parts)
        .map(|(n, b)| InputFile { path: (*n).into(), size: b.len() as u64, bytes: b.to_vec() })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let parts: Vec<&[u8]> = data.splitn(6, |b| *b == 0).collect();
    let get = |i: usize| parts.get(i).copied().unwrap_or(&[]);
    let old = folder(&[get(0), get(1), get(2)], &["README.md", "USE_POLICY.md", "adapter_config.json"]);
    let new = folder(&[get(3), get(4), get(5)], &["README.md", "USE_POLICY.md", "config.json"]);
    let (a, ta) = check_with_texts(&old);
    let (b, tb) = check_with_texts(&new);
    let d = compare(&Revision { report: &a, texts: &ta }, &Revision { report: &b, texts: &tb });
    let _ = d.lines();
    for (r, files) in [(&a, &old), (&b, &new)] {
        for f in r.findings.iter().filter(|f| ["base_model", "naming_duty", "base_terms", "base_license_conflict"].contains(&f.field.as_str())) {
            let file = files.iter().find(|x| x.path == f.file).expect("finding names a dropped file");
            let text = String::from_utf8_lossy(&file.bytes);
            let first = f.quote.lines().next().unwrap_or("");
            assert!(f.line == 0 || text.contains(first) || text.contains('\u{FFFD}') || first.is_empty(), "{f:?}");
        }
        assert!(r.lineage.len() != 1, "a chain has a base and the model, or nothing");
    }
});
