//! `fineprint run`: the same inference engine the browser worker runs, natively.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use fineprint_inference::{Engine, LoadInput, Step};
use fineprint_kernels::parallel;
use fineprint_protocol::Sampling;

use crate::CliError;

#[derive(clap::Args)]
pub struct RunArgs {
    /// The GGUF model file.
    pub model: PathBuf,
    /// The prompt, taken as is (chat template already applied).
    #[arg(long, conflicts_with = "chat")]
    pub prompt_file: Option<PathBuf>,
    /// A plain user message; the model's chat template is applied.
    #[arg(long)]
    pub chat: Option<String>,
    /// tokenizer.json to use instead of the GGUF's own vocabulary.
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    /// tokenizer_config.json (for its chat template).
    #[arg(long)]
    pub tokenizer_config: Option<PathBuf>,
    #[arg(long, default_value_t = 128)]
    pub max_tokens: usize,
    /// Greedy decoding (argmax); otherwise sampling with the settings below.
    #[arg(long)]
    pub greedy: bool,
    #[arg(long, default_value_t = 0.7)]
    pub temperature: f64,
    #[arg(long)]
    pub top_k: Option<usize>,
    #[arg(long)]
    pub top_p: Option<f64>,
    #[arg(long, default_value_t = 1.1)]
    pub repeat_penalty: f32,
    #[arg(long, default_value_t = 299_792_458)]
    pub seed: u64,
    /// Keep generating past end-of-turn tokens (benchmarks, golden tests).
    #[arg(long)]
    pub ignore_eos: bool,
    /// Print one JSON object instead of streaming text.
    #[arg(long)]
    pub json: bool,
    /// Threads for the matrix products and attention (default: every CPU).
    #[arg(long)]
    pub threads: Option<usize>,
}

fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<u64>().ok()))
        .map_or(0, |kb| kb * 1024)
}

pub fn run(args: RunArgs) -> Result<ExitCode, CliError> {
    if let Some(n) = args.threads {
        if n == 0 {
            return Err(CliError::NoThreads);
        }
        parallel::use_threads(n).map_err(|e| CliError::Threads { threads: n, reason: e.to_string() })?;
    }
    let start = Instant::now();
    let now = || start.elapsed().as_secs_f64() * 1000.0;
    let name =
        args.model.file_name().map_or_else(|| args.model.display().to_string(), |n| n.to_string_lossy().into_owned());
    let file = std::fs::File::open(&args.model).map_err(CliError::read(&args.model))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let read = |p: &Option<PathBuf>| -> Result<Option<(String, Vec<u8>)>, CliError> {
        match p {
            Some(p) => std::fs::read(p)
                .map(|b| Some((p.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()), b)))
                .map_err(CliError::read(p)),
            None => Ok(None),
        }
    };
    let (tok, cfg) = (read(&args.tokenizer)?, read(&args.tokenizer_config)?);
    let input = LoadInput {
        model_name: &name,
        reader: std::io::BufReader::with_capacity(1 << 20, file),
        file_size: size,
        tokenizer_json: tok.as_ref().map(|(n, b)| (n.as_str(), b.clone())),
        tokenizer_config: cfg.map(|(_, b)| b),
        memory_limit: None,
    };
    let mut engine = Engine::load(input, &mut |_, _, _| {})?;
    let load_ms = now();
    let sampling = if args.greedy {
        Sampling::greedy(args.max_tokens)
    } else {
        Sampling {
            temperature: args.temperature,
            top_k: args.top_k,
            top_p: args.top_p,
            repeat_penalty: args.repeat_penalty,
            repeat_last_n: 64,
            seed: args.seed,
            max_tokens: args.max_tokens,
        }
    };
    let mut prompt_ids: Vec<u32> = Vec::new();
    let started = match (&args.prompt_file, &args.chat) {
        (Some(p), _) => match std::fs::read_to_string(p) {
            Ok(text) => engine.tokenize(&text).and_then(|ids| {
                prompt_ids = ids;
                engine.start(&prompt_ids, &sampling, &now)
            }),
            Err(e) => return Err(CliError::read(p)(e)),
        },
        (None, Some(msg)) => engine.start_chat(msg, None, "1 Jan 2026", &sampling, &now),
        (None, None) => return Err(CliError::NoPrompt),
    };
    let mut g = started?;
    if args.ignore_eos {
        Engine::ignore_eos(&mut g);
    }
    let mut out = std::io::stdout();
    let reason = loop {
        match engine.step(&mut g, &now) {
            Ok(Step::Token { text, .. }) => {
                if let (false, Some(t)) = (args.json, text) {
                    let _ = write!(out, "{t}");
                    let _ = out.flush();
                }
            }
            Ok(Step::Done { reason, text }) => {
                if let (false, Some(t)) = (args.json, text) {
                    let _ = write!(out, "{t}");
                }
                break reason;
            }
            Err(e) => return Err(e.into()),
        }
    };
    if args.json {
        let report = serde_json::json!({
            "ids": g.generated,
            "margins": g.margins,
            "prompt_ids": prompt_ids,
            "text": g.text(),
            "prompt_tokens": g.stats.prompt_tokens,
            "prompt_tok_s": g.stats.prompt_tok_s,
            "decode_tok_s": g.stats.decode_tok_s,
            "kv_cache": g.stats.kv_cache,
            "load_ms": load_ms,
            "stop_reason": reason,
            "peak_rss_bytes": peak_rss_bytes(),
            "threads": parallel::threads(),
            "model": engine.info,
        });
        println!("{report}");
    } else {
        println!();
        eprintln!(
            "[{} prompt tokens at {:.1} tok/s, {} generated at {:.1} tok/s, stop: {reason:?}]",
            g.stats.prompt_tokens,
            g.stats.prompt_tok_s,
            g.generated.len(),
            g.stats.decode_tok_s
        );
    }
    Ok(ExitCode::SUCCESS)
}
