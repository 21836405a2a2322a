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
    let textual = matches!(ext, "" | "md" | "txt" | "rst" | "markdown" | "license" | "html");
    if textual {
        if stem.contains("use_policy")
            || stem.contains("usage_policy")
            || stem.contains("use-policy")
            || stem.contains("acceptable_use")
            || stem.contains("acceptable-use")
            || stem.contains("prohibited_use")
            || stem == "aup"
        {
            return Role::UsePolicy;
        }
        if stem.starts_with("notice") {
            return Role::Notice;
        }
        if stem.contains("license")
            || stem.contains("licence")
            || stem.starts_with("copying")
            || stem == "terms_of_use"
            || stem == "terms"
        {
            return Role::License;
        }
        if stem == "readme" || stem == "model_card" || stem == "modelcard" || stem == "model-card" {
            return Role::ModelCard;
        }
    }
    match lower.as_str() {
        "config.json" | "generation_config.json" => Role::Config,
        "tokenizer_config.json" => Role::TokenizerConfig,
        "tokenizer.json" | "tokenizer.model" | "vocab.json" | "merges.txt" => Role::Tokenizer,
        _ => Role::Other,
    }
}

pub fn plan(path: &str, _size: u64) -> ReadPlan {
    match role(path) {
        Role::License | Role::Notice | Role::UsePolicy | Role::ModelCard => {
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
        assert!(weights_affinity("LICENSE-MODEL") > weights_affinity("LICENSE"));
        assert!(weights_affinity("LICENSE-CODE") < weights_affinity("LICENSE"));
    }
}
