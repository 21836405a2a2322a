//! Which files in a model folder bear on its license, and how much of each to read.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// LICENSE*, LICENCE*, COPYING*, WEIGHTS_LICENSE, LICENSE-MODEL, ...
    License,
    Notice,
    /// USE_POLICY*, acceptable / prohibited use policies.
    UsePolicy,
    /// README.md / MODEL_CARD.md.
    ModelCard,
    Config,
    /// A registry's manifest beside the weights (Ollama's Modelfile).
    Manifest,
    TokenizerConfig,
    Tokenizer,
    Gguf,
    Weights,
    Other,
}

/// How much of a file the checker needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadPlan {
    /// The whole file, up to this many bytes.
    Whole(usize),
    /// Only the first bytes (a GGUF's metadata).
    Head(usize),
    Skip,
}

/// GGUF metadata (with a 150k-token vocabulary) fits in this; license keys come first.
pub const GGUF_HEAD: usize = 16 * 1024 * 1024;

pub fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// Extensions of files that are code or data, never license prose, even when
/// their name says "license" (`license.py`, `LICENSE.json`).
fn is_code_or_data(ext: &str) -> bool {
    matches!(
        ext,
        "py" | "rs"
            | "js"
            | "ts"
            | "c"
            | "h"
            | "cc"
            | "cpp"
            | "go"
            | "java"
            | "sh"
            | "json"
            | "yaml"
            | "yml"
            | "toml"
            | "xml"
            | "csv"
            | "tsv"
            | "ipynb"
            | "png"
            | "jpg"
            | "jpeg"
            | "gif"
            | "svg"
            | "pdf"
            | "zip"
            | "gz"
            | "tar"
            | "whl"
            | "lock"
            | "cfg"
            | "ini"
    )
}

pub fn role(path: &str) -> Role {
    let name = file_name(path);
    let lower = name.to_ascii_lowercase();
    let stem = lower.split('.').next().unwrap_or(&lower);
    let ext = lower.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    if ext == "gguf" {
        return Role::Gguf;
    }
    if matches!(
        ext,
        "safetensors" | "bin" | "pt" | "pth" | "ckpt" | "onnx" | "h5" | "msgpack" | "npz" | "tflite" | "mlmodel"
    ) {
        return Role::Weights;
    }
    // Prose formats; a license-named file with any other non-code ending is prose
    // too (COPYING.LESSER, LICENSE.apache, LICENSE-MIT.rst).
    let prose = matches!(ext, "" | "md" | "markdown" | "txt" | "rst" | "html" | "htm" | "license");
    if prose || !is_code_or_data(ext) {
        let has = |w: &str| stem.contains(w);
        let use_policy = [
            "use_policy",
            "usage_policy",
            "use-policy",
            "usage-policy",
            "acceptable_use",
            "acceptable-use",
            "prohibited_use",
            "prohibited-use",
        ];
        if use_policy.iter().any(|w| has(w)) || stem == "aup" || (has("policy") && !has("privacy")) {
            return Role::UsePolicy;
        }
        if stem.starts_with("notice") {
            return Role::Notice;
        }
        if has("license")
            || has("licence")
            || stem.starts_with("copying")
            || has("terms")
            || has("agreement")
            || stem == "eula"
        {
            return Role::License;
        }
        // MODEL_CARD_VISION.md: a card of one of the folder's models.
        let card = ["model_card", "modelcard", "model-card"].iter().any(|c| stem.starts_with(c));
        if prose && (stem == "readme" || card) {
            return Role::ModelCard;
        }
    }
    if stem == "modelfile" {
        return Role::Manifest;
    }
    match lower.as_str() {
        // Metadata files that may state a license beside the weights: transformers' and
        // diffusers' configs, a PEFT adapter's, a generation config.
        "config.json" | "generation_config.json" | "adapter_config.json" | "model_index.json" => Role::Config,
        "tokenizer_config.json" => Role::TokenizerConfig,
        "tokenizer.json" | "tokenizer.model" | "vocab.json" | "merges.txt" => Role::Tokenizer,
        _ => Role::Other,
    }
}

pub fn plan(path: &str, _size: u64) -> ReadPlan {
    match role(path) {
        Role::License | Role::Notice | Role::UsePolicy | Role::ModelCard | Role::Manifest => {
            ReadPlan::Whole(crate::text::MAX_TEXT_BYTES)
        }
        Role::Config | Role::TokenizerConfig => ReadPlan::Whole(1024 * 1024),
        Role::Gguf => ReadPlan::Head(GGUF_HEAD),
        _ => ReadPlan::Skip,
    }
}

/// How strongly a license file's name says it covers the weights (positive)
/// or only the code (negative).
pub fn weights_affinity(path: &str) -> i32 {
    let lower = file_name(path).to_ascii_lowercase();
    if lower.contains("model") || lower.contains("weight") {
        2
    } else if lower.contains("code") || lower.contains("software") {
        -2
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_from_names() {
        assert_eq!(role("LICENSE"), Role::License);
        assert_eq!(role("sub/LICENSE_weights"), Role::License);
        assert_eq!(role("LICENCE.txt"), Role::License);
        assert_eq!(role("MODEL_LICENSE"), Role::License);
        assert_eq!(role("USE_POLICY.md"), Role::UsePolicy);
        assert_eq!(role("USAGE_POLICY"), Role::UsePolicy);
        assert_eq!(role("NOTICE"), Role::Notice);
        assert_eq!(role("README.md"), Role::ModelCard);
        assert_eq!(role("model.Q4_1.gguf"), Role::Gguf);
        assert_eq!(role("model.safetensors"), Role::Weights);
        assert_eq!(role("license.py"), Role::Other);
        assert_eq!(role("GEMMA_TERMS.html"), Role::License);
        assert_eq!(role("WEIGHTS_TERMS_OF_USE.md"), Role::License);
        assert_eq!(role("Model-Agreement.htm"), Role::License);
        assert_eq!(role("COPYING.LESSER"), Role::License);
        assert_eq!(role("LICENSE-APACHE"), Role::License);
        assert_eq!(role("Responsible_Use_Policy.txt"), Role::UsePolicy);
        assert_eq!(role("WEIGHTS_PROHIBITED_USE_POLICY.md"), Role::UsePolicy);
        assert_eq!(role("PRIVACY_POLICY.md"), Role::Other);
        assert_eq!(role("NOTICE.txt"), Role::Notice);
        assert_eq!(role("terms.json"), Role::Other);
        assert!(weights_affinity("LICENSE-MODEL") > weights_affinity("LICENSE"));
        assert!(weights_affinity("LICENSE-CODE") < weights_affinity("LICENSE"));
    }
}
