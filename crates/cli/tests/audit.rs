//! `fineprint audit` on a Hugging Face hub cache written here: snapshot
//! files as symlinks into `blobs/`, `refs/main` choosing the snapshot, GGUF
//! files beside their documents.

use std::path::Path;
use std::process::Command;

fn fineprint() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fineprint"))
}

const NON_COMMERCIAL: &str = "---\nlicense: cc-by-nc-4.0\n---\n# A research model\n\nFor research only.\n";
const APACHE: &str = "---\nlicense: apache-2.0\ndatasets:\n- org/corpus\n---\n# An open model\n";

/// One hub model: `models--org--name/{blobs,refs/main,snapshots/<rev>/README.md -> blob}`.
fn hub_model(cache: &Path, repo: &str, rev: &str, card: &str) {
    let dir = cache.join(format!("models--{}", repo.replace('/', "--")));
    let blob = dir.join("blobs").join(format!("{rev}-card"));
    std::fs::create_dir_all(dir.join("blobs")).unwrap();
    std::fs::create_dir_all(dir.join("refs")).unwrap();
    std::fs::create_dir_all(dir.join("snapshots").join(rev)).unwrap();
    std::fs::write(&blob, card).unwrap();
    std::fs::write(dir.join("refs/main"), rev).unwrap();
    std::os::unix::fs::symlink(&blob, dir.join("snapshots").join(rev).join("README.md")).unwrap();
}

fn cache() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    hub_model(d.path(), "acme/open", "1111", APACHE);
    hub_model(d.path(), "acme/research", "2222", NON_COMMERCIAL);
    // An older snapshot that refs/main does not point at is not the model's.
    let old = d.path().join("models--acme--open/snapshots/0000");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::write(old.join("README.md"), NON_COMMERCIAL).unwrap();
    d
}

#[test]
fn the_hub_cache_gives_one_row_per_model_in_every_format() {
    let c = cache();
    let out = fineprint().args(["audit", "--json"]).env("HF_HUB_CACHE", c.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0]["model"].as_str(), rows[0]["revision"].as_str()), (Some("acme/open"), Some("1111")));
    assert_eq!(rows[0]["spdx"], "Apache-2.0");
    assert_eq!(rows[0]["osi_approved"], true);
    assert_eq!(rows[1]["model"], "acme/research");
    assert_eq!(rows[1]["commercial_use"], "forbidden");

    let out = fineprint().args(["audit", "--csv"]).arg(c.path()).output().unwrap();
    let csv = String::from_utf8_lossy(&out.stdout);
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(csv.lines().next().unwrap().starts_with("model,revision,license"));

    let out = fineprint().arg("audit").arg(c.path()).output().unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("acme/open") && table.contains("acme/research") && table.starts_with("MODEL"), "{table}");

    let out = fineprint().args(["audit", "--format", "cyclonedx"]).arg(c.path()).output().unwrap();
    let bom: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(bom["components"].as_array().unwrap().len(), 2);
    assert_eq!(bom["components"][0]["modelCard"]["modelParameters"]["datasets"][0]["name"], "org/corpus");
}

#[test]
fn a_stated_use_gates_the_whole_audit() {
    let c = cache();
    let out = fineprint().args(["audit", "--json", "--use", "product"]).arg(c.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "a non-commercial model fails a product audit");
    let rows: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows[0]["use_answer"], "allowed");
    assert_eq!(rows[1]["use_answer"], "not allowed");
    let out = fineprint().args(["audit", "--use", "research"]).arg(c.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn folders_of_models_and_gguf_files_with_their_documents() {
    let d = tempfile::tempdir().unwrap();
    let a = d.path().join("model-a");
    std::fs::create_dir_all(&a).unwrap();
    std::fs::write(a.join("README.md"), APACHE).unwrap();
    // A GGUF beside a card: one row for the file, read with its sibling.
    std::fs::write(d.path().join("b.Q4_K_M.gguf"), b"GGUF not really").unwrap();
    std::fs::write(d.path().join("README.md"), NON_COMMERCIAL).unwrap();
    let out = fineprint().args(["audit", "--json"]).arg(d.path()).output().unwrap();
    let rows: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let names: Vec<&str> = rows.iter().map(|r| r["model"].as_str().unwrap()).collect();
    assert_eq!(names, ["b.Q4_K_M.gguf", "model-a"]);
    assert_eq!(rows[0]["commercial_use"], "forbidden");
    assert_eq!(rows[1]["spdx"], "Apache-2.0");
}

#[test]
fn nothing_to_audit_is_a_clear_error() {
    let d = tempfile::tempdir().unwrap();
    let out = fineprint().arg("audit").arg(d.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no model folders"));
}
