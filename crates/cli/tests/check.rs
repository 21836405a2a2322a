//! `fineprint check` as a user and a CI pipeline run it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn fineprint() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fineprint"))
}

/// ../shared beside the project; the corpus test fails (not passes) without it.
fn shared() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    assert!(
        p.join("bench/license/score.py").is_file(),
        "{} is needed: ../shared must be beside the project",
        p.display()
    );
    p
}

/// score.py over a labelled corpus: every field and every quote. Returns the
/// overall and verbatim percentages and the whole output.
fn score(corpus: &Path) -> (f64, f64, String) {
    let shared = shared();
    assert!(corpus.is_dir(), "{} is missing", corpus.display());
    let exe = env!("CARGO_BIN_EXE_fineprint");
    let out = Command::new("python3")
        .arg(shared.join("bench/license/score.py"))
        .arg(corpus)
        .args(["--", exe, "check", "{dir}", "--json"])
        .output()
        .expect("python3 runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let overall =
        text.lines().find(|l| l.starts_with("overall")).unwrap_or_else(|| panic!("no score line in:\n{text}"));
    // "overall 99.4% of fields right; evidence verbatim 100.0% of 275"
    let pct = |after: &str| -> f64 {
        let rest = &overall[overall.find(after).map(|i| i + after.len()).unwrap_or(0)..];
        rest.trim_start().split('%').next().and_then(|n| n.trim().parse().ok()).unwrap_or(0.0)
    };
    assert!(text.contains("no report 0"), "{text}");
    (pct("overall"), pct("verbatim"), text)
}

/// The issue's own measure on the labelled development corpus.
#[test]
fn labelled_corpus_scores_at_least_99_percent_with_verbatim_quotes() {
    let (overall, verbatim, text) = score(&shared().join("fixtures/licenses"));
    assert!(overall >= 99.0, "{text}");
    assert!((verbatim - 100.0).abs() < f64::EPSILON, "{text}");
}

/// The second development set: cases written from public model folders the
/// rules were not written for (crates/license/tests/unseen).
#[test]
fn cases_written_from_other_public_folders_score_at_least_97_percent() {
    let unseen = Path::new(env!("CARGO_MANIFEST_DIR")).join("../license/tests/unseen");
    let cases = std::fs::read_dir(&unseen).map(|d| d.flatten().filter(|e| e.path().is_dir()).count()).unwrap_or(0);
    assert!(cases >= 7, "{} holds {cases} cases", unseen.display());
    let (overall, verbatim, text) = score(&unseen);
    assert!(overall >= 97.0, "{text}");
    assert!((verbatim - 100.0).abs() < f64::EPSILON, "{text}");
}

fn case(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, body) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, body).expect("write");
    }
    dir
}

const LLAMAISH: &str = "ACME MODEL COMMUNITY LICENSE AGREEMENT\n\nYou are granted a non-exclusive, worldwide, non-transferable and royalty-free limited license to use, reproduce, distribute, copy, create derivative works of, and make modifications to the Materials.\n\nIf, on the release date, the monthly active users of the products or services made available by or for Licensee is greater than 50 million monthly active users in the preceding calendar month, you must request a license from ACME.\n\nYou will not use the Materials or any output or results of the Materials to improve any other large language model.\n";

#[test]
fn a_license_never_seen_is_read_from_its_text() {
    let dir = case(&[("LICENSE", LLAMAISH.as_bytes())]);
    let out = fineprint().arg("check").arg(dir.path()).arg("--json").output().expect("runs");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let s = &r["summary"];
    assert_eq!(s["license_id"], "other");
    assert_eq!(s["commercial_use"], "conditional");
    assert_eq!(s["user_threshold_mau"], 50_000_000);
    assert_eq!(s["output_training_restriction"], true);
    assert_eq!(s["osi_approved"], false);
    let f = r["findings"].as_array().expect("findings");
    let mau = f.iter().find(|f| f["field"] == "user_threshold_mau").expect("mau finding");
    assert_eq!(mau["file"], "LICENSE");
    assert_eq!(mau["line"], 5);
    assert!(mau["quote"].as_str().is_some_and(|q| q.contains("greater than 50 million monthly active users")));
}

#[test]
fn use_options_gate_a_pipeline_with_the_exit_code() {
    let dir = case(&[("LICENSE", LLAMAISH.as_bytes())]);
    let small =
        fineprint().arg("check").arg(dir.path()).args(["--use", "product", "--users", "1000"]).status().expect("runs");
    assert!(small.success());
    let big = fineprint()
        .arg("check")
        .arg(dir.path())
        .args(["--use", "product", "--users", "60000000", "--strict"])
        .status()
        .expect("runs");
    assert_eq!(big.code(), Some(4), "needs a separate agreement fails under --strict");
    let outputs = fineprint()
        .arg("check")
        .arg(dir.path())
        .args(["--use", "research", "--train-on-outputs"])
        .status()
        .expect("runs");
    assert_eq!(outputs.code(), Some(3), "training on outputs is not allowed");
}

#[test]
fn bad_inputs_are_named_and_never_panic() {
    let mut utf16 = vec![0xFF, 0xFE];
    for u in "MIT License\r\n\r\nPermission is hereby granted".encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    let big = "All work and no play. ".repeat(3 * 1024 * 1024);
    /// (what, files, expected words in the problems)
    type Case<'a> = (&'a str, Vec<(&'a str, Vec<u8>)>, &'a str);
    let cases: Vec<Case> = vec![
        ("binary LICENSE", vec![("LICENSE", vec![0u8, 159, 146, 150, 0, 1, 2])], "binary"),
        ("empty LICENSE", vec![("LICENSE", Vec::new())], "empty"),
        ("invalid UTF-8", vec![("LICENSE", b"MIT License \xff\xfe broken".to_vec())], "not UTF-8"),
        ("UTF-16 with BOM", vec![("LICENSE", utf16)], "UTF-16"),
        (
            "malformed front matter",
            vec![("README.md", b"---\nlicense: [apache\n---\n# card".to_vec())],
            "not valid YAML",
        ),
        ("unclosed front matter", vec![("README.md", b"---\nlicense: mit\n# card".to_vec())], "never closes"),
        ("truncated GGUF", vec![("model.gguf", b"GGUF\x03\x00\x00\x00\x00".to_vec())], "truncated"),
        ("not a GGUF", vec![("model.gguf", b"PK\x03\x04 zip".to_vec())], "not a GGUF"),
        ("invalid config.json", vec![("config.json", b"{ nope".to_vec())], "not valid JSON"),
        ("nothing license-like", vec![("notes.txt", b"hello".to_vec())], "no license found"),
        ("50 MB text", vec![("LICENSE", big.into_bytes())], "only the first"),
    ];
    for (what, files, expect) in cases {
        let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
        let dir = case(&refs);
        let out = fineprint().arg("check").arg(dir.path()).arg("--json").output().expect("runs");
        assert!(out.status.success(), "{what}: exit {:?} {}", out.status, String::from_utf8_lossy(&out.stderr));
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{what}: {e}"));
        let problems = r["problems"].to_string();
        assert!(problems.contains(expect), "{what}: {problems}");
    }
}

/// No answer quotes a title or a heading: the evidence of a question is the
/// sentence that settles it (or, for a license only named, the line naming it).
#[test]
fn no_answer_is_evidenced_by_a_title_or_heading() {
    use fineprint_license::field::Field;
    // The answers to the report's questions about terms (identity fields name the license).
    let answers: Vec<&str> = Field::ALL
        .iter()
        .filter(|f| f.of_license())
        .filter(|f| !matches!(f, Field::LicenseId | Field::Spdx | Field::Family | Field::OsiApproved | Field::Category))
        .map(|f| f.name())
        .collect();
    let gemma = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sample/gemma-3-270m");
    assert!(gemma.join("GEMMA_TERMS.html").is_file(), "{} is set-up data (scripts/gemma.sh)", gemma.display());
    let mut folders = vec![gemma];
    for corpus in
        [shared().join("fixtures/licenses"), Path::new(env!("CARGO_MANIFEST_DIR")).join("../license/tests/unseen")]
    {
        let dirs = std::fs::read_dir(&corpus).unwrap_or_else(|e| panic!("{}: {e}", corpus.display()));
        folders.extend(dirs.flatten().map(|e| e.path()).filter(|p| p.is_dir()));
    }
    assert!(folders.len() > 80, "{} folders", folders.len());
    // A markdown heading, or a short line with no sentence in it (a CJK sentence has its own stops).
    let title_like = |q: &str| {
        let q = q.trim();
        let words = q.split_whitespace().count();
        let sentence = q.contains(['.', ';', ':', '\u{3002}', '\u{ff1b}']) || q.ends_with(')');
        q.starts_with('#') || q.contains("\n#") || (words <= 10 && !sentence)
    };
    let mut bad = Vec::new();
    for dir in &folders {
        let out = fineprint().arg("check").arg(dir).arg("--json").output().expect("runs");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        for f in report["findings"].as_array().expect("findings") {
            let field = f["field"].as_str().unwrap_or("");
            let quote = f["quote"].as_str().unwrap_or("");
            if answers.contains(&field) && !quote.is_empty() && title_like(quote) {
                bad.push(format!("{}: {field} quotes {quote:?}", dir.display()));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// Options are typed: a wrong value is refused by the parser with the values
/// it takes, shorthands cannot contradict --format, and every error leaves by
/// the one path (a message naming what failed, exit 2).
#[test]
fn options_are_typed_and_errors_leave_by_one_path() {
    let out = fineprint().args(["check", ".", "--use", "nonsense"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("personal") && err.contains("hosted"), "{err}");
    let out = fineprint().args(["check", ".", "--json", "--format", "spdx"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2), "--json and --format conflict");
    let out = fineprint().args(["audit", ".", "--format", "yaml"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("jsonl"));
    let out = fineprint().args(["check", "/no/such/folder", "--json"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("fineprint: cannot read /no/such/folder"));
    let out = fineprint().args(["run", "/no/such/model.gguf", "--chat", "hi"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("fineprint: cannot read /no/such/model.gguf"));
    // The aliases people type: commercial is a product.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("LICENSE"), "MIT License\n\nCopyright (c) 2026 A\n\nPermission is hereby granted, free of charge, to any person obtaining a copy").expect("write");
    let out = fineprint().arg("check").arg(dir.path()).args(["--use", "commercial", "--json"]).output().expect("runs");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(report["uses"].as_array().is_some_and(|u| !u.is_empty()), "{report}");
}
