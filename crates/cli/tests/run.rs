//! `fineprint run` on the sample model, as a script would read its JSON.

use std::path::Path;
use std::process::Command;

#[test]
fn run_reports_the_reply_its_speed_and_the_cache_it_kept() {
    let model = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../sample/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(model.is_file(), "{}: run scripts/setup.sh", model.display());
    let out = Command::new(env!("CARGO_BIN_EXE_fineprint"))
        .arg("run")
        .arg(&model)
        .args(["--chat", "Hi", "--greedy", "--max-tokens", "4", "--ignore-eos", "--json", "--threads", "1"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(report["ids"].as_array().map(Vec::len), Some(4), "{report}");
    assert!(report["decode_tok_s"].as_f64().is_some_and(|r| r > 0.0), "{report}");
    // A short chat keeps llama.cpp's default cache; the model says when it would step down.
    assert_eq!(report["kv_cache"], "f16", "{report}");
    let model = &report["model"];
    assert!(model["cache_budget_bytes"].as_u64().is_some_and(|b| b > 0), "{model}");
    let (f16, smallest) = (model["kv_bytes_per_token"].as_u64(), model["kv_bytes_per_token_smallest"].as_u64());
    assert_eq!(f16.map(|b| b * 52), smallest.map(|b| b * 128), "{model}");
}
