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
    // An older snapshot, downloaded before the one refs/main points at, under other terms.
    let old = d.path().join("models--acme--open/snapshots/0000");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::write(old.join("README.md"), NON_COMMERCIAL).unwrap();
    let earlier = std::time::SystemTime::now() - std::time::Duration::from_secs(86_400);
    std::fs::File::open(&old).and_then(|f| f.set_modified(earlier)).unwrap();
    d
}

#[test]
fn the_hub_cache_gives_one_row_per_model_in_every_format() {
    let c = cache();
    let out = fineprint().args(["audit", "--json"]).env("HF_HUB_CACHE", c.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // Every snapshot, oldest first; the newer one says how the terms changed.
    assert_eq!(rows.len(), 3);
    assert_eq!((rows[0]["model"].as_str(), rows[0]["revision"].as_str()), (Some("acme/open"), Some("0000")));
    assert!(rows[0].get("changes").is_none());
    assert_eq!((rows[1]["model"].as_str(), rows[1]["revision"].as_str()), (Some("acme/open"), Some("1111")));
    assert_eq!(rows[1]["spdx"], "Apache-2.0");
    assert_eq!(rows[1]["osi_approved"], true);
    let changes: Vec<&str> = rows[1]["changes"].as_array().unwrap().iter().filter_map(|c| c.as_str()).collect();
    assert!(changes.contains(&"Commercial use: forbidden → allowed"), "{changes:?}");
    assert!(changes.contains(&"License id: cc-by-nc-4.0 → apache-2.0"), "{changes:?}");
    assert_eq!(rows[2]["model"], "acme/research");
    assert_eq!(rows[2]["commercial_use"], "forbidden");

    let out = fineprint().args(["audit", "--csv"]).arg(c.path()).output().unwrap();
    let csv = String::from_utf8_lossy(&out.stdout);
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(csv.lines().next().unwrap().starts_with("model,revision,license"));

    let out = fineprint().arg("audit").arg(c.path()).output().unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("acme/open") && table.contains("acme/research") && table.starts_with("MODEL"), "{table}");
    assert!(table.contains("Terms that changed between snapshots:\nacme/open at 1111:"), "{table}");

    let out = fineprint().args(["audit", "--format", "cyclonedx"]).arg(c.path()).output().unwrap();
    let bom: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(bom["components"].as_array().unwrap().len(), 3);
    assert_eq!(bom["components"][1]["modelCard"]["modelParameters"]["datasets"][0]["name"], "org/corpus");
}

#[test]
fn a_stated_use_gates_the_whole_audit() {
    let c = cache();
    let out = fineprint().args(["audit", "--json", "--use", "product"]).arg(c.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "a non-commercial model fails a product audit");
    let rows: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows[0]["use_answer"], "not allowed");
    assert_eq!(rows[1]["use_answer"], "allowed");
    assert_eq!(rows[2]["use_answer"], "not allowed");
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

#[test]
fn diff_reports_a_change_of_terms_clause_by_clause() {
    let d = tempfile::tempdir().unwrap();
    let (old, new) = (d.path().join("old"), d.path().join("new"));
    for (dir, card, policy) in [
        (&old, APACHE, "# Acceptable Use Policy\n\nYou agree not to use the model:\n- to generate spam\n"),
        (&new, NON_COMMERCIAL, "# Acceptable Use Policy\n\nYou agree not to use the model:\n- to generate spam\n- for surveillance of people\n"),
    ] {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("README.md"), card).unwrap();
        std::fs::write(dir.join("USE_POLICY.md"), policy).unwrap();
    }
    let out = fineprint().arg("diff").arg(&old).arg(&new).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "a change exits 1, as diff does");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("- Commercial use: allowed → forbidden"), "{text}");
    assert!(text.contains("- Prohibited use added: for surveillance of people"), "{text}");

    let out = fineprint().args(["diff", "--json"]).arg(&old).arg(&new).output().unwrap();
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["same"], false);
    assert_eq!(j["old"]["license_id"], "apache-2.0");
    assert_eq!(j["new"]["license_id"], "cc-by-nc-4.0");
    assert!(j["changes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["field"] == "category" && c["before"] == "permissive" && c["after"] == "non-commercial"));
    assert_eq!(j["prohibited_added"][0], "for surveillance of people");

    let out = fineprint().arg("diff").arg(&old).arg(&old).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let out = fineprint().arg("diff").arg(&old).arg(d.path().join("missing")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing"), "the error names the folder");
}

#[test]
fn diff_of_two_real_llama_releases_lists_the_policy_items_that_changed() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/licenses");
    let (old, new) = (shared.join("llama3.1-community"), shared.join("llama3.3-community"));
    assert!(old.is_dir() && new.is_dir(), "the labelled fixtures are missing: {}", shared.display());
    let out = fineprint().args(["diff", "--json"]).arg(&old).arg(&new).output().unwrap();
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let added: Vec<&str> = j["prohibited_added"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
    let removed: Vec<&str> = j["prohibited_removed"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
    // Llama 3.3's policy names two more weapons acts and adds the ban on circumventing safety measures.
    assert!(added.iter().any(|a| a.contains("Chemical Weapons Convention")), "{added:?}");
    assert!(added.iter().any(|a| a.contains("circumvent or remove usage restrictions")), "{added:?}");
    assert!(removed.iter().any(|r| r.starts_with("Military, warfare")), "{removed:?}");
    // Items that only name the release, and the reporting contacts, are not changes of use.
    for item in added.iter().chain(&removed) {
        assert!(!item.starts_with("Reporting") && !item.contains("Representing that the use of"), "{item}");
    }
    assert!(added.len() <= 6 && removed.len() <= 4, "{added:?} {removed:?}");
}
