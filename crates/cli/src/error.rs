//! What stops a command, each with the file or option it concerns. Every one
//! reaches the person the same way: `main` prints it and exits with
//! [`CliError::EXIT`]; the verdict's own codes (3 and 4) are not errors.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error(
        "no Hugging Face hub cache here ($HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub); name folders to scan"
    )]
    NoHubCache,
    #[error("no model folders or GGUF files under {0}")]
    NoModels(String),
    #[error("cannot write the report: {0}")]
    Write(#[from] serde_json::Error),
    #[error("--threads must be at least 1")]
    NoThreads,
    #[error("cannot start {threads} threads: {reason}")]
    Threads { threads: usize, reason: String },
    #[error("give --prompt-file or --chat")]
    NoPrompt,
    #[error(transparent)]
    Inference(#[from] fineprint_inference::InferenceError),
}

impl CliError {
    /// The exit code of every error (3 and 4 are the verdict's).
    pub const EXIT: u8 = 2;

    pub fn read(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| CliError::Read { path, source }
    }
}
