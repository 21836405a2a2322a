//! `fineprint`: check a model folder's license, audit every model on a disk,
//! or run a GGUF model natively.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use fineprint_license::sbom::{self, Model};
use fineprint_license::{Answer, Purpose, Report, UseProfile};

mod audit;
mod diff;
mod error;
mod folder;
mod run;

use error::CliError;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Parser)]
#[command(
    name = "fineprint",
    version,
    about = "What does this model's license actually let me do?",
    after_help = fineprint_license::known::DATA_CREDIT
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check the license of a model folder.
    Check(CheckArgs),
    /// Check every model in a Hugging Face hub cache or in folders of models: one row each.
    Audit(audit::AuditArgs),
    /// How a model's terms changed between two revisions of its folder.
    Diff(diff::DiffArgs),
    /// Run a GGUF model on the CPU.
    Run(run::RunArgs),
}

/// What the model is for, as `--use` takes it: the license crate's own
/// names and aliases for each purpose.
#[derive(Clone, Copy)]
struct UseKind(Purpose);

impl ValueEnum for UseKind {
    fn value_variants<'a>() -> &'a [Self] {
        const ALL: [UseKind; 5] = [
            UseKind(Purpose::ALL[0]),
            UseKind(Purpose::ALL[1]),
            UseKind(Purpose::ALL[2]),
            UseKind(Purpose::ALL[3]),
            UseKind(Purpose::ALL[4]),
        ];
        &ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.0.name()).aliases(self.0.aliases()))
    }
}

/// The intended use, shared by `check` and `audit`.
#[derive(clap::Args)]
pub struct UseArgs {
    /// Intended use.
    #[arg(long = "use", value_enum)]
    purpose: Option<UseKind>,
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

impl UseArgs {
    /// The stated use; a number or flag without `--use` means a product.
    pub fn profile(&self) -> Option<UseProfile> {
        let purpose = match self.purpose {
            Some(UseKind(p)) => p,
            None if self.users.is_some()
                || self.revenue.is_some()
                || self.fine_tune
                || self.train_on_outputs
                || self.region.is_some() =>
            {
                Purpose::Product
            }
            None => return None,
        };
        Some(UseProfile {
            purpose,
            monthly_users: self.users,
            annual_revenue_usd: self.revenue,
            fine_tune_and_share: self.fine_tune,
            train_on_outputs: self.train_on_outputs,
            region: self.region.clone(),
        })
    }
}

/// What `check` prints.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CheckFormat {
    /// The report for people.
    Markdown,
    /// `{summary, findings, ...}`, one object.
    Json,
    /// A CycloneDX 1.6 ML-BOM (JSON).
    Cyclonedx,
    /// An SPDX 2.3 document (JSON).
    Spdx,
}

#[derive(clap::Args)]
struct CheckArgs {
    /// The model folder (or a single file).
    dir: PathBuf,
    /// What to print.
    #[arg(long, value_enum, default_value_t = CheckFormat::Markdown)]
    format: CheckFormat,
    /// Short for --format json.
    #[arg(long, conflicts_with = "format")]
    json: bool,
    #[command(flatten)]
    uses: UseArgs,
}

/// Exit code when a stated use is not allowed (so CI pipelines can gate on it).
const EXIT_NOT_ALLOWED: u8 = 3;
const EXIT_NEEDS_AGREEMENT: u8 = 4;

/// The exit code for a set of reports: 3 if a stated use is not allowed
/// anywhere, 4 (with --strict) if one needs an agreement or is unclear.
pub fn gate(reports: &[&Report], strict: bool) -> ExitCode {
    let answers = || reports.iter().flat_map(|r| r.uses.as_deref().unwrap_or(&[]));
    if answers().any(|u| u.answer == Answer::NotAllowed) {
        return ExitCode::from(EXIT_NOT_ALLOWED);
    }
    if strict && answers().any(|u| matches!(u.answer, Answer::NeedsAgreement | Answer::Unclear)) {
        return ExitCode::from(EXIT_NEEDS_AGREEMENT);
    }
    ExitCode::SUCCESS
}

/// The report on one folder's files, for the stated use where there is one.
pub fn report(files: &[fineprint_license::InputFile], profile: Option<&UseProfile>) -> Report {
    match profile {
        Some(p) => fineprint_license::check_for_use(files, p),
        None => fineprint_license::check(files),
    }
}

/// Now, as RFC 3339 UTC (what CycloneDX and SPDX want).
pub fn timestamp() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// The folder's (or file's) own name, as the model is known by it.
pub fn folder_name(dir: &Path) -> String {
    std::fs::canonicalize(dir)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| dir.display().to_string())
}

fn check(args: CheckArgs) -> Result<ExitCode, CliError> {
    let files = if args.dir.is_file() {
        let root = args.dir.parent().unwrap_or(Path::new("."));
        folder::read_one(root, &args.dir).map(|f| vec![f])
    } else {
        folder::read(&args.dir)
    }
    .map_err(CliError::read(&args.dir))?;
    let mut report = report(&files, args.uses.profile().as_ref());
    let format = if args.json { CheckFormat::Json } else { args.format };
    let name = folder_name(&args.dir);
    report.name_from_folder(name.trim_end_matches(".gguf"));
    let model = [Model { name: &name, version: None, report: &report }];
    let now = timestamp();
    let out = match format {
        CheckFormat::Markdown => report.to_markdown(),
        CheckFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
        CheckFormat::Cyclonedx => serde_json::to_string_pretty(&sbom::cyclonedx(&model, VERSION, &now))? + "\n",
        CheckFormat::Spdx => {
            let ns =
                format!("https://fineprint.invalid/spdx/{}-{}", name.replace(' ', "-"), now.replace([':', '-'], ""));
            serde_json::to_string_pretty(&sbom::spdx(&model, &name, &ns, VERSION, &now))? + "\n"
        }
    };
    print!("{out}");
    for p in &report.problems {
        eprintln!("fineprint: {}: {}", p.file, p.message);
    }
    Ok(gate(&[&report], args.uses.strict))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let done = match cli.command {
        Command::Check(a) => check(a),
        Command::Audit(a) => audit::audit(a),
        Command::Diff(a) => diff::diff(a),
        Command::Run(a) => run::run(a),
    };
    done.unwrap_or_else(|e| {
        eprintln!("fineprint: {e}");
        ExitCode::from(CliError::EXIT)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_are_rfc3339() {
        let t = super::timestamp();
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.starts_with("20") && t.ends_with('Z') && &t[10..11] == "T", "{t}");
    }
}
