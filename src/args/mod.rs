//! Every command-line flag, declared once: the `crypto-lab` binary parses
//! them, the per-stage scripts parse the same structs (same names, defaults,
//! checks and `--help`), and the KFP exporter's container arguments are
//! tested against this parser. Defaults come from the library's option
//! types (`ModelParams::default()`, `ExportOptions::default()`, ...), and
//! the stage list in `--help` from the stage registry.

use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::stages::{Stage, STAGES};

mod commands;
mod help;
mod options;
mod stage;

pub use commands::{
    DoctorArgs, ExportKfpArgs, PlotArgs, PrepareVolumeArgs, RunArgs, RunScriptArgs, RunsArgs,
    Submission, SubmitArgs, SynthCommandArgs,
};
use help::{submit_about, DOCTOR_ABOUT, DOWNLOAD_ABOUT};
pub use options::{DownloadArgs, ExportArgs, FeatureArgs, KaggleArgs, ModelArgs, SynthArgs};
pub use stage::{
    parse_script, DownloadDataArgs, EvaluationResultArgs, FeatureEngineeringArgs, LoadDataArgs,
    MergeAssetsFeaturesArgs, ModelingArgs, Script, StageArgs,
};

/// Columns the help text is laid out for (clap's width when not on a
/// terminal).
const HELP_WIDTH: usize = 100;

/// `text` broken into lines of at most `room` characters at `sep` (after
/// commas for file lists, at spaces for prose), the lines after the first
/// indented by `indent`.
fn wrap(text: &str, sep: &str, room: usize, indent: usize) -> String {
    let mut lines: Vec<String> = vec![String::new()];
    for (i, piece) in text.split_inclusive(sep).enumerate() {
        let line = lines.last_mut().expect("one line at least");
        if i > 0 && line.len() + piece.trim_end().len() > room {
            lines.push(piece.to_string());
        } else {
            line.push_str(piece);
        }
    }
    let lines: Vec<&str> = lines.iter().map(|l| l.trim_end()).collect();
    lines.join(&format!("\n{}", " ".repeat(indent)))
}

/// The binary's command list, made from its subcommands (one list, in the
/// order they are declared): each one's summary (a lab stage's from the
/// registry, [`stage_line`]), and for a stage the files it reads and writes.
fn command_table(cmd: &clap::Command) -> String {
    const WIDTH: usize = 24;
    let room = HELP_WIDTH - WIDTH - 3;
    let indent = " ".repeat(WIDTH + 3);
    let rows: Vec<String> = cmd
        .get_subcommands()
        .map(|c| {
            let name = c.get_name();
            let text = match STAGES.iter().find(|s| s.command == name) {
                Some(s) => {
                    let from = if s.inputs.is_empty() {
                        "Kaggle (or a mirror or a zip)".to_string()
                    } else {
                        s.inputs.join(", ")
                    };
                    let files = format!("{from} -> {}", s.outputs().join(", "));
                    format!(
                        "{}\n{indent}{}",
                        wrap(&stage_line(s), " ", room, WIDTH + 3),
                        wrap(&files, ", ", room, WIDTH + 3)
                    )
                }
                None => {
                    let about = c.get_about().map(|a| a.to_string()).unwrap_or_default();
                    wrap(&about, " ", room, WIDTH + 3)
                }
            };
            format!("  {name:WIDTH$} {text}")
        })
        .collect();
    rows.join("\n")
}

/// The binary's `--help` around clap's usage and options: what it is, the
/// commands ([`command_table`]), how to start, the exit statuses.
fn help_template(cmd: &clap::Command) -> String {
    // The template's own tags are in braces; a command's text has none.
    let table = command_table(cmd).replace(['{', '}'], "");
    format!(
        "{{about-with-newline}}
{{usage-heading}} {{usage}}

Commands:
{table}
  help                     this text, or a command's (`crypto-lab help run`, or run --help)

Options:
{{options}}

Quick start:  crypto-lab run --data-path data
With Kaggle:  crypto-lab run --data-path data --source kaggle   (credentials: see download-data --help)

Exit status:
{}",
        crate::error::Remedy::exit_status_table()
    )
}

/// The binary's description, first in its `--help`.
const ABOUT: &str = "The G-Research Crypto Forecasting lab (Kubeflow Pipelines) in Rust.

Each lab stage is a subcommand that reads and writes files in --data-path,
exactly as the lab's components share a volume.";

/// The `crypto-lab` command line.
#[derive(Parser, Debug)]
#[command(name = "crypto-lab", version, about = ABOUT)]
pub struct Cli {
    /// Flags every subcommand takes.
    #[command(flatten)]
    pub common: Common,
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand (and every script) takes.
#[derive(Args, Debug, Clone, Default)]
pub struct Common {
    /// Print only errors (no progress bars or log lines).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// When another crypto-lab is writing in the data path, wait for it to
    /// finish instead of stopping at once.
    #[arg(long, global = true)]
    pub wait_lock: bool,
}

/// The environment variable naming the data path for the CLI, the scripts
/// and the notebook alike.
pub const DATA_ENV: &str = "CRYPTO_LAB_DATA";

/// The lab's `data_path`.
#[derive(Args, Debug, Clone)]
pub struct DataPath {
    /// Folder holding the lab's files (the lab's data_path). The notebook
    /// reads the same variable, so one setting serves all three.
    #[arg(long, value_name = "DIR", default_value = "data", env = DATA_ENV)]
    pub data_path: PathBuf,
}

/// The subcommands, in the order `--help` lists them. Each lab stage's
/// summary comes from the registry ([`command`]); the first paragraph of
/// every other one's comment is its summary in the list.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Write synthetic train.csv and asset_details.csv in the Kaggle schema
    /// (offline).
    Synth(SynthCommandArgs),
    /// Lab stage download_data.
    #[command(long_about = DOWNLOAD_ABOUT)]
    DownloadData(DownloadDataArgs),
    /// Lab stage load_data.
    LoadData(LoadDataArgs),
    /// Lab stage feature_engineering.
    FeatureEngineering(FeatureEngineeringArgs),
    /// Lab stage merge_assets_features.
    MergeAssetsFeatures(MergeAssetsFeaturesArgs),
    /// Lab stage modeling.
    Modeling(ModelingArgs),
    /// Lab stage evaluation_result.
    EvaluationResult(EvaluationResultArgs),
    /// Run the whole lab locally: every stage in order (synthetic data if
    /// there is no train.csv).
    ///
    /// A stage is skipped only when its record says it was made with these
    /// options from these inputs and its outputs are unchanged.
    Run(Box<RunArgs>),
    /// The modeling runs made in the data path side by side: what changed,
    /// what came of it.
    ///
    /// Every modeling run (from the command line, `run`, a script or the
    /// notebook) with the parameters and features that differ from the
    /// lab's, its rows, best round and metrics.
    Runs(RunsArgs),
    /// Draw the lab's charts as PNG and SVG into DIR/plots.
    ///
    /// Price and volume, feature distributions, learning curves, feature
    /// importance, predicted against actual, and the pipeline's graph.
    Plot(PlotArgs),
    /// Write KFP component and pipeline YAML whose steps run these
    /// subcommands.
    ///
    /// pipeline.yaml (KFP 2: the files as artifacts between steps, the model
    /// and feature choices as run parameters, cached), vertex/ (Vertex AI),
    /// v1/ (a KFP 1.x Argo Workflow). Upload DIR/pipeline.yaml in the KFP
    /// UI, or use `submit`.
    ExportKfp(Box<ExportKfpArgs>),
    /// Upload the pipeline to a Kubeflow Pipelines API, start a run, follow
    /// it (as kfp.Client does).
    #[command(long_about = submit_about())]
    Submit(Box<SubmitArgs>),
    /// Is this machine ready for the workshop? (checks only, changes
    /// nothing)
    #[command(long_about = DOCTOR_ABOUT)]
    Doctor(DoctorArgs),
    /// List the stages with their inputs and outputs.
    Stages,
    /// (First step of the volume form) check the steps can write the claim.
    ///
    /// With --check (KFP v2), make sure this process can write the freshly
    /// mounted claim and otherwise fail naming the fixes; without it (the
    /// KFP v1 pipeline, as root), hand the claim to the stages' user (uid
    /// 1000) unless it can already write there.
    PrepareVolume(PrepareVolumeArgs),
    /// (A step with an edited function) build a stage's script against the
    /// crate, run it.
    ///
    /// The script is a Rust lightweight component's program: the form of
    /// scripts/STAGE.rs with a notebook's edited function. It is built
    /// against the crate in the dev image (or $CRYPTO_LAB_SOURCE), offline,
    /// and run with ARGS; a compile error ends with the compiler's first
    /// error.
    RunScript(RunScriptArgs),
}

/// A flag given twice takes its last value (as a later `--param` beats an
/// earlier one), in every subcommand.
pub(crate) fn last_wins(cmd: clap::Command) -> clap::Command {
    cmd.args_override_self(true)
        .mut_subcommands(|c| c.args_override_self(true))
}

/// The binary's full command: the derived flags, the help texts taken from
/// the stage registry.
pub fn command() -> clap::Command {
    let mut cmd = last_wins(Cli::command());
    // Made before `mut_subcommand`, which moves a changed one to the end;
    // this list is the one list of commands: clap's own is left out.
    let template = help_template(&cmd);
    for s in STAGES {
        let line = stage_line(s);
        cmd = cmd.mut_subcommand(s.command, |c| c.about(line));
    }
    cmd.help_template(template)
}

/// A stage's one-line help: "Lab stage load_data: read train.csv ...".
pub(crate) fn stage_line(s: &Stage) -> String {
    // "Read train.csv" reads on as "read train.csv"; "RSI, ATR" stays.
    let mut what = s.description.chars();
    let first = what.next().unwrap_or(' ');
    let acronym = what.clone().next().is_some_and(char::is_uppercase);
    let first = if acronym {
        first.to_string()
    } else {
        first.to_lowercase().to_string()
    };
    format!("Lab stage {}: {first}{}.", s.name, what.as_str())
}

/// Parses a command line (program name first) as the binary does.
pub fn parse_from<I, T>(args: I) -> std::result::Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matches = command().try_get_matches_from(args)?;
    Cli::from_arg_matches(&matches)
}

/// The process's command line as the binary parses it; `--help`,
/// `--version` and errors print and exit as clap does.
pub fn parse() -> Cli {
    let matches = command().get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// clap itself, for a script's own few flags (`bench/plot.rs`).
pub use clap;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kfp::ExportOptions;
    use crate::model_params::ModelParams;
    use crate::stages::feature_engineering::FeatureOptions;
    use crate::synth::SynthOptions;

    #[test]
    fn the_command_line_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn about_lists_every_stage_with_its_files() {
        // Continuation lines (deeply indented) joined to their row.
        let mut rows: Vec<String> = Vec::new();
        for line in command().render_help().to_string().lines() {
            match rows.last_mut() {
                Some(row) if line.starts_with("      ") => row.push_str(line.trim_start()),
                _ => rows.push(line.to_string()),
            }
        }
        for s in STAGES {
            let line = rows
                .iter()
                .find(|l| l.trim_start().starts_with(s.command))
                .unwrap_or_else(|| panic!("{} not listed", s.command));
            for f in s.inputs.iter().chain(s.outputs().iter()) {
                assert!(line.contains(f), "{line}: {f}");
            }
        }
    }

    #[test]
    fn help_lists_each_command_once_in_declared_order() {
        let help = command().render_help().to_string();
        let mut at = 0;
        for c in Cli::command().get_subcommands() {
            let row = format!("\n  {:24} ", c.get_name());
            assert_eq!(help.matches(&row).count(), 1, "{row:?} in\n{help}");
            let here = help.find(&row).expect("listed");
            assert!(here > at, "{} out of order", c.get_name());
            at = here;
        }
        assert!(help.contains("Exit status:") && help.contains("--wait-lock"));
    }

    #[test]
    fn defaults_are_the_librarys() {
        let Cli { command, .. } = parse_from(["crypto-lab", "run"]).expect("parse");
        let Command::Run(run) = command else {
            panic!("not run")
        };
        assert_eq!(run.model.params().expect("params"), ModelParams::default());
        assert_eq!(run.features.options(), FeatureOptions::default());
        assert_eq!(run.synth.options(), SynthOptions::default());
        let Cli { command, .. } = parse_from(["crypto-lab", "export-kfp"]).expect("parse");
        let Command::ExportKfp(export) = command else {
            panic!("not export-kfp")
        };
        assert_eq!(export.options().expect("options"), ExportOptions::default());
    }
}
