//! `fineprint run`: the inference engine, natively.

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct RunArgs {
    /// The GGUF model file.
    pub model: std::path::PathBuf,
}

pub fn run(_args: RunArgs) -> ExitCode {
    eprintln!("fineprint run: not built yet");
    ExitCode::from(2)
}
