//! `fineprint`: check a model folder's license, or run a GGUF model natively.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use fineprint_license::{discover, Answer, InputFile, Purpose, ReadPlan, UseProfile};

mod run;

#[derive(Parser)]
#[command(name = "fineprint", version, about = "What does this model's license actually let me do?")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check the license of a model folder.
    Check(CheckArgs),
    /// Run a GGUF model on the CPU.
    Run(run::RunArgs),
}

#[derive(clap::Args)]
struct CheckArgs {
    /// The model folder (or a single file).
    dir: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Print the report as Markdown (the default without --json).
    #[arg(long)]
    markdown: bool,
    /// Intended use: personal, research, internal, product, hosted.
    #[arg(long = "use")]
    purpose: Option<String>,
    /// Monthly active users of what you build.
    #[arg(long)]
    users: Option<u64>,
    /// Annual revenue, in USD.
    #[arg(long)]
    revenue: Option<u64>,
    /// You will fine-tune the model and share the result.
    #[arg(long)]
    fine_tune: bool,
    /// You will train other models on its outputs.
    #[arg(long)]
    train_on_outputs: bool,
    /// Where you or your company are based (e.g. EU, US).
    #[arg(long)]
    region: Option<String>,
    /// Also fail when an answer needs a separate agreement or is unclear.
    #[arg(long)]
    strict: bool,
}

/// Exit code when a stated use is not allowed (so CI pipelines can gate on it).
const EXIT_NOT_ALLOWED: u8 = 3;
const EXIT_NEEDS_AGREEMENT: u8 = 4;

fn collect(root: &Path, dir: &Path, out: &mut Vec<InputFile>, depth: usize) -> std::io::Result<()> {
    if depth > 8 {
        return Ok(());
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let ft = e.file_type()?;
        if ft.is_dir() {
            let name = e.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            collect(root, &path, out, depth + 1)?;
        } else if ft.is_file() {
            out.push(read_one(root, &path)?);
        }
    }
    Ok(())
}

fn read_one(root: &Path, path: &Path) -> std::io::Result<InputFile> {
    use std::io::Read;
    let rel = path.strip_prefix(root).unwrap_or(path).to_string_lossy().replace('\\', "/");
    let size = std::fs::metadata(path)?.len();
    let want = match discover::plan(&rel, size) {
        ReadPlan::Whole(n) | ReadPlan::Head(n) => n,
        ReadPlan::Skip => 0,
    };
    let mut bytes = Vec::new();
    if want > 0 {
        std::fs::File::open(path)?.take(want as u64).read_to_end(&mut bytes)?;
    }
    Ok(InputFile { path: rel, size, bytes })
}

fn check(args: CheckArgs) -> ExitCode {
    let mut files = Vec::new();
    let res = if args.dir.is_file() {
        let root = args.dir.parent().unwrap_or(Path::new("."));
        read_one(root, &args.dir).map(|f| files.push(f))
    } else {
        collect(&args.dir, &args.dir, &mut files, 0)
    };
    if let Err(e) = res {
        eprintln!("fineprint: cannot read {}: {e}", args.dir.display());
        return ExitCode::from(2);
    }
    let profile = match args.purpose.as_deref().map(|p| (p, Purpose::parse(p))) {
        Some((p, None)) => {
            eprintln!("fineprint: unknown --use {p:?}; use personal, research, internal, product or hosted");
            return ExitCode::from(2);
        }
        Some((_, Some(purpose))) => Some(UseProfile {
            purpose,
            monthly_users: args.users,
            annual_revenue_usd: args.revenue,
            fine_tune_and_share: args.fine_tune,
            train_on_outputs: args.train_on_outputs,
            region: args.region.clone(),
        }),
        None if args.users.is_some()
            || args.revenue.is_some()
            || args.fine_tune
            || args.train_on_outputs
            || args.region.is_some() =>
        {
            Some(UseProfile {
                purpose: Purpose::Product,
                monthly_users: args.users,
                annual_revenue_usd: args.revenue,
                fine_tune_and_share: args.fine_tune,
                train_on_outputs: args.train_on_outputs,
                region: args.region.clone(),
            })
        }
        None => None,
    };
    let report = match &profile {
        Some(p) => fineprint_license::check_for_use(&files, p),
        None => fineprint_license::check(&files),
    };
    if args.json && !args.markdown {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("fineprint: cannot write the report: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        print!("{}", report.to_markdown());
    }
    for p in &report.problems {
        eprintln!("fineprint: {}: {}", p.file, p.message);
    }
    let answers = report.uses.as_deref().unwrap_or(&[]);
    if answers.iter().any(|u| u.answer == Answer::NotAllowed) {
        return ExitCode::from(EXIT_NOT_ALLOWED);
    }
    if args.strict && answers.iter().any(|u| matches!(u.answer, Answer::NeedsAgreement | Answer::Unclear)) {
        return ExitCode::from(EXIT_NEEDS_AGREEMENT);
    }
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(a) => check(a),
        Command::Run(a) => run::run(a),
    }
}
