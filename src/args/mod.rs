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
    SubmitArgs, SynthCommandArgs,
};
use help::{submit_about, DOCTOR_ABOUT, DOWNLOAD_ABOUT};
pub use options::{
    DownloadArgs, EvaluationArgs, ExportArgs, FeatureArgs, KaggleArgs, ModelArgs, SynthArgs,
};
pub use stage::{
    parse_script, DownloadDataArgs, EvaluationResultArgs, FeatureEngineeringArgs, LoadDataArgs,
    MergeAssetsFeaturesArgs, ModelingArgs, Script, StageArgs,
};

/// Commands that are not lab stages, in the order `--help` lists them
/// after the stages (and `synth` before them).
const OTHER_COMMANDS: [(&str, &str); 8] = [
    (
        "run",
        "every stage in order (synthetic data if there is no train.csv)",
    ),
    (
        "runs",
        "the modeling runs made in DIR side by side: what changed, what came of it",
    ),
    ("plot", "the lab's charts as PNG and SVG into DIR/plots"),
    (
        "export-kfp",
        "KFP component and pipeline YAML whose containers run these subcommands",
    ),
    (
        "submit",
        "upload the pipeline to a Kubeflow Pipelines API, start a run, follow it",
    ),
    (
        "doctor",
        "is this machine ready for the workshop? (checks only, changes nothing)",
    ),
    (
        "prepare-volume",
        "(first step of the volume form) check the steps can write the claim",
    ),
    (
        "run-script",
        "(a step with an edited function) build a stage's script against the crate, run it",
    ),
];

/// Columns the help text is laid out for (clap's width when not on a
/// terminal).
const HELP_WIDTH: usize = 100;

/// `text` broken after commas into lines of at most `room` characters, the
/// lines after the first indented by `indent`.
fn wrap(text: &str, room: usize, indent: usize) -> String {
    let mut lines: Vec<String> = vec![String::new()];
    for (i, piece) in text.split_inclusive(", ").enumerate() {
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

/// The binary's `--help` text: the stages with their files, from the
/// registry, then the other commands.
pub fn about() -> String {
    let mut rows: Vec<(String, String)> = vec![(
        "synth".into(),
        "make train.csv + asset_details.csv (Kaggle schema, offline)".into(),
    )];
    for s in STAGES {
        let flow = if s.inputs.is_empty() {
            format!(
                "Kaggle (or a mirror or a zip) -> {}",
                s.outputs().join(", ")
            )
        } else {
            format!("{} -> {}", s.inputs.join(", "), s.outputs().join(", "))
        };
        rows.push((s.command.into(), flow));
    }
    for (command, what) in OTHER_COMMANDS {
        rows.push((command.into(), what.into()));
    }
    let width = rows.iter().map(|(c, _)| c.len()).max().unwrap_or(0) + 2;
    let table: Vec<String> = rows
        .iter()
        .map(|(c, what)| {
            format!(
                "  {c:width$} {}",
                wrap(what, HELP_WIDTH - width - 3, width + 3)
            )
        })
        .collect();
    format!(
        "The G-Research Crypto Forecasting lab (Kubeflow Pipelines) in Rust.

Each lab stage is a subcommand that reads and writes files in --data-path,
exactly as the lab's components share a volume:

{}

Quick start:  crypto-lab run --data-path data
With Kaggle:  crypto-lab run --data-path data --source kaggle   (credentials: see download-data --help)

Exit status:
{}",
        table.join("\n"),
        crate::error::Remedy::exit_status_table()
    )
}

/// The `crypto-lab` command line.
#[derive(Parser, Debug)]
#[command(name = "crypto-lab", version)]
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

/// The subcommands. Each lab stage's help line comes from the registry
/// ([`command`]).
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Lab stage download_data.
    #[command(long_about = DOWNLOAD_ABOUT)]
    DownloadData(DownloadDataArgs),
    /// Write synthetic train.csv and asset_details.csv in the Kaggle schema.
    Synth(SynthCommandArgs),
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
    /// Draw the lab's charts (price and volume, feature distributions, learning
    /// curves, feature importance, predicted against actual) as PNG and SVG.
    Plot(PlotArgs),
    /// Write KFP component YAML (v2 IR and v1) for every stage and the lab's
    /// pipeline: pipeline.yaml (KFP 2: the files as artifacts between steps,
    /// the model and feature choices as run parameters, cached), vertex/
    /// (Vertex AI), v1/ (a KFP 1.x Argo Workflow). Upload DIR/pipeline.yaml in
    /// the KFP UI, or use `submit`.
    ExportKfp(Box<ExportKfpArgs>),
    /// Send the pipeline to a Kubeflow Pipelines API and start a run, as
    /// kfp.Client does; --wait follows it to its end.
    #[command(long_about = submit_about())]
    Submit(Box<SubmitArgs>),
    /// First step of the export's volume form: with --check (KFP v2), make
    /// sure this process can write the freshly mounted claim and otherwise
    /// fail naming the fixes; without it (the KFP v1 pipeline, as root),
    /// hand the claim to the stages' user (uid 1000) unless it can already
    /// write there.
    PrepareVolume(PrepareVolumeArgs),
    /// Build a stage's script (a Rust lightweight component's program: the
    /// form of scripts/STAGE.rs with a notebook's edited function) against
    /// the crate in the dev image (or $CRYPTO_LAB_SOURCE), offline, and run it
    /// with ARGS; a compile error ends with the compiler's first error.
    RunScript(RunScriptArgs),
    /// Run the whole lab locally: synthetic data if DIR has no train.csv, then
    /// every stage; a stage is skipped only when its record says it was made
    /// with these options from these inputs and its outputs are unchanged.
    Run(Box<RunArgs>),
    /// The runs table: every modeling run in the data path (from the
    /// command line, `run`, a script or the notebook) with the parameters and
    /// features that differ from the lab's, its rows, best round and metrics.
    Runs(RunsArgs),
    /// List the stages with their inputs and outputs.
    Stages,
    /// Check that this machine is ready for the workshop (changes nothing).
    #[command(long_about = DOCTOR_ABOUT)]
    Doctor(DoctorArgs),
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
    let mut cmd = last_wins(Cli::command()).about(about());
    for s in STAGES {
        let line = stage_line(s);
        cmd = cmd.mut_subcommand(s.command, |c| c.about(line));
    }
    cmd
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
        for line in about().lines() {
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
