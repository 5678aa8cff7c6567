//! Every command-line flag, declared once: the `crypto-lab` binary parses
//! them, the per-stage scripts parse the same structs (same names, defaults,
//! checks and `--help`), and the KFP exporter's container arguments are
//! tested against this parser. Defaults come from the library's option
//! types (`ModelParams::default()`, `ExportOptions::default()`, ...), and
//! the stage list in `--help` from the stage registry.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::calendar::UtcInstant;
use crate::credentials::Lookup;
use crate::error::{Error, Result};
use crate::kfp::ExportOptions;
use crate::model_params::ModelParams;
use crate::progress::Progress;
use crate::stages::download_data::{DownloadOptions, Source, DEFAULT_FILES};
use crate::stages::evaluation_result::{
    EvaluationOptions, CHARTS_PATH_FLAG, EXECUTOR_INPUT_FLAG, METRICS_PATH_FLAG, SUMMARY_PATH_FLAG,
    UI_METADATA_PATH_FLAG,
};
use crate::stages::feature_engineering::FeatureOptions;
use crate::stages::{self, Ran, Stage, StageContext, STAGES};
use crate::synth::SynthOptions;

/// Commands that are not lab stages, in the order `--help` lists them
/// after the stages (and `synth` before them).
const OTHER_COMMANDS: [(&str, &str); 6] = [
    (
        "run",
        "every stage in order (synthetic data if there is no train.csv)",
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
        "(first Kubeflow step) make a fresh volume writable for the image's user",
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
With Kaggle:  crypto-lab run --data-path data --source kaggle   (credentials: see download-data --help)",
        table.join("\n")
    )
}

const DOWNLOAD_ABOUT: &str = "Lab stage download_data: get the competition archive and extract the lab's files.

Credentials (Kaggle source), first found wins; they are never printed or written:
  KAGGLE_API_TOKEN            an API token, or the path of a file holding one (Bearer)
  KAGGLE_USERNAME, KAGGLE_KEY username and API key (HTTP Basic)
  --secret-dir DIR            a mounted Kubernetes secret: files `username` and `key` (or `password`)
  $KAGGLE_CONFIG_DIR/kaggle.json, ~/.kaggle/kaggle.json, ~/.config/kaggle/kaggle.json

Before the first download, accept the competition's rules on kaggle.com while signed in.
The archive goes to DIR/<dataset>.zip (a cut download resumes from DIR/<dataset>.zip.part);
only the wanted members are extracted, each checked and written atomically.";

const DOCTOR_ABOUT: &str =
    "Check that this machine is ready for the workshop; run it the day before.

It only looks: it runs `--version`-style commands and `jupyter kernelspec list`,
reads files and folder listings, and sends at most two short HTTP requests. It
builds, installs and writes nothing.

One line per check: ok, warn or missing, a short detail, and for anything not ok
the command that fixes it.
  rust             cargo and rustc on PATH; cargo >= 1.91 (.cargo/config.toml builds for host-tuple)
  c/c++ compiler   cc and g++ (LightGBM's C++)
  clang/libclang   clang and libclang (bindgen, for LightGBM's Rust bindings)
  cmake            CMake >= 3.28 (LightGBM 4.7)
  jupyter          jupyter on PATH with JupyterLab or Notebook
  rust kernel      the `rust` kernel registered (evcxr_jupyter --install), evcxr_jupyter on PATH
  kernel build     warm (polars and LightGBM built in target/: first cell about 1 min)
                   or cold (the first cell compiles everything, ~15 min on 2 cores)
  linker           mold on PATH (evcxr links each cell with it: quicker cells)
  build env        RUSTFLAGS or CARGO_TARGET_DIR set (the kernel would rebuild everything)
  font             a TrueType font for the charts (CRYPTO_LAB_FONT, CRYPTO_LAB_FONT_SEARCH)
  kaggle           where credentials were found (never their value), and whether the
                   competition's rules are accepted (asks Kaggle; offline: not checked)
  disk             free space in --data-path for the full data set
  kfp              with --kfp-host: GET HOST/apis/v2beta1/healthz

Exit status 0 when the workshop path works: nothing is `missing` (build tools, Jupyter
and the Rust kernel, a font; and the KFP host when one is given). Warnings (a cold
kernel build, no Kaggle credentials, little disk for the full data) do not fail it:
the notebook then runs slower, or on synthetic data.";

const SUBMIT_ABOUT: &str = "Send the lab's pipeline to Kubeflow Pipelines and start a run, as kfp.Client does,
over the KFP REST API (v2beta1):

  1. the pipeline: exported here with the same options as export-kfp (or --package FILE),
     uploaded as a new pipeline, or as a new version of the pipeline of that name;
  2. the experiment: found by name, created when missing (--namespace in multi-user mode);
  3. the run: created with the --param values; its UI link is printed;
  4. with --wait: each task's state as it changes, then the run's; the exit status is 0 only
     when the run SUCCEEDED (otherwise the failed tasks are named). --timeout bounds the wait.

--host is the address the KFP UI is served at. From a workstation:
  kubectl port-forward -n kubeflow svc/ml-pipeline-ui 8080:80
  crypto-lab submit --host http://localhost:8080 --image REGISTRY/crypto-lab:0.1.0 \\
      --storage-class STANDARD_CLASS --param source=kaggle --wait

Credentials, as kfp.Client finds them (never printed):
  --token TOKEN, else $KF_PIPELINES_TOKEN     sent as `Authorization: Bearer TOKEN`
  else the file $KF_PIPELINES_SA_TOKEN_PATH   (default /var/run/secrets/kubeflow/pipelines/token,
                                              the ServiceAccount token in a notebook pod)
  --cookie 'authservice_session=...'          a Dex/Istio session cookie (from a signed-in browser)
A token for a profile: kubectl create token default-editor -n NAMESPACE --audience pipelines.kubeflow.org
Prefer $KF_PIPELINES_TOKEN to --token: command lines are visible to other users.

Run parameters of the exported pipeline: dataset (the Kaggle competition) and source (kaggle,
an http(s) URL of the same archive, or a zip path inside the image). data_path is not one:
every step works on the volume, mounted at --data-path.";

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

/// The lab's `data_path`.
#[derive(Args, Debug, Clone)]
pub struct DataPath {
    /// Folder holding the lab's files (the lab's data_path).
    #[arg(long, value_name = "DIR", default_value = "data")]
    pub data_path: PathBuf,
}

/// Where the competition comes from and with which credentials: the same
/// flags for download-data (and run) and for doctor, which asks Kaggle
/// whether the rules are accepted.
#[derive(Args, Debug, Clone)]
pub struct KaggleArgs {
    /// Competition to download (the lab's `dataset` parameter).
    #[arg(long, default_value_t = DownloadOptions::default().dataset)]
    pub dataset: String,
    /// Kaggle's API root; point it at a private mirror of the API.
    #[arg(long, value_name = "URL", default_value = crate::stages::download_data::DEFAULT_KAGGLE_API)]
    pub kaggle_api: String,
    /// A mounted Kubernetes secret folder with files `username` and `key`.
    #[arg(long, value_name = "DIR")]
    pub secret_dir: Option<PathBuf>,
}

/// download_data's options besides where the archive comes from.
#[derive(Args, Debug, Clone)]
pub struct DownloadArgs {
    /// The competition and the credentials.
    #[command(flatten)]
    pub kaggle: KaggleArgs,
    /// Archive members to extract (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_FILES.map(String::from))]
    pub files: Vec<String>,
    /// Further attempts after a network failure (with doubling waits from 1s).
    #[arg(long, default_value_t = DownloadOptions::default().retries)]
    pub retries: u32,
}

impl DownloadArgs {
    /// The download options these flags give, with the archive from `source`.
    pub fn options(&self, source: &str, force: bool) -> DownloadOptions {
        DownloadOptions {
            dataset: self.kaggle.dataset.clone(),
            source: Source::parse(source, &self.kaggle.kaggle_api),
            files: self.files.clone(),
            lookup: Lookup::from_process(self.kaggle.secret_dir.clone()),
            force,
            retries: self.retries,
            ..DownloadOptions::default()
        }
    }
}

/// feature_engineering's options.
#[derive(Args, Debug, Clone)]
pub struct FeatureArgs {
    /// First validation instant: YYYY-MM-DD[THH:MM[:SS]] in UTC, or unix
    /// seconds. The lab's 01/05/2021 is taken in the machine's local time,
    /// which is UTC in its containers; pass another instant to move the split.
    #[arg(long, value_name = "WHEN", default_value_t = UtcInstant(FeatureOptions::default().valid_from))]
    pub valid_from: UtcInstant,
    /// Keep missing Targets missing instead of the lab's fill with 0; modeling
    /// then leaves those rows out.
    #[arg(long)]
    pub keep_target_nan: bool,
}

impl FeatureArgs {
    /// The feature options these flags give.
    pub fn options(&self) -> FeatureOptions {
        FeatureOptions {
            valid_from: self.valid_from.0,
            keep_target_nan: self.keep_target_nan,
        }
    }
}

/// modeling's options: the lab's LightGBM parameters, each overridable.
#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// Boosting rounds at most.
    #[arg(long, default_value_t = ModelParams::default().n_estimators)]
    pub n_estimators: usize,
    /// Learning rate.
    #[arg(long, default_value_t = ModelParams::default().learning_rate)]
    pub learning_rate: f64,
    /// Maximum tree depth (-1: no limit).
    #[arg(long, default_value_t = ModelParams::default().max_depth, allow_negative_numbers = true)]
    pub max_depth: i32,
    /// LightGBM seed.
    #[arg(long, default_value_t = ModelParams::default().seed)]
    pub seed: u64,
    /// Stop after this many rounds without improvement of rmse or weighted
    /// correlation (0: train every round).
    #[arg(long, default_value_t = ModelParams::default().early_stopping_rounds)]
    pub early_stopping_rounds: usize,
    /// LightGBM threads (0: all cores).
    #[arg(long, default_value_t = ModelParams::default().num_threads)]
    pub num_threads: usize,
    /// Any other LightGBM parameter, KEY=VALUE (repeatable), e.g. --param num_leaves=63.
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = parse_param)]
    pub params: Vec<(String, String)>,
}

impl ModelArgs {
    /// The flags, then every `--param` over them in the order given, merged
    /// and checked by [`ModelParams`] (nothing is read before they pass).
    pub fn params(&self) -> Result<ModelParams> {
        let params = ModelParams {
            n_estimators: self.n_estimators,
            learning_rate: self.learning_rate,
            max_depth: self.max_depth,
            seed: self.seed,
            early_stopping_rounds: self.early_stopping_rounds,
            num_threads: self.num_threads,
            extra: Vec::new(),
            ..ModelParams::default()
        }
        .with_overrides(&self.params)?;
        params.validate()?;
        Ok(params)
    }
}

/// evaluation_result's output locations.
#[derive(Args, Debug, Clone, Default)]
pub struct EvaluationArgs {
    /// Where to write the metrics [default: DIR/mlpipeline-metrics.json].
    #[arg(long = METRICS_PATH_FLAG, value_name = "FILE")]
    pub metrics_path: Option<PathBuf>,
    /// KFP v2 executor input (JSON, KFP's `{{$}}`): also publish the metrics
    /// as metadata of the step's system.Metrics artifact.
    #[arg(long = EXECUTOR_INPUT_FLAG, value_name = "JSON")]
    pub executor_input: Option<String>,
    /// Where to write the markdown summary [default: DIR/evaluation_summary.md].
    #[arg(long = SUMMARY_PATH_FLAG, value_name = "FILE")]
    pub summary_path: Option<PathBuf>,
    /// Where to write the charts page [default: DIR/evaluation_charts.html].
    #[arg(long = CHARTS_PATH_FLAG, value_name = "FILE")]
    pub charts_path: Option<PathBuf>,
    /// Also write KFP v1's mlpipeline-ui-metadata here.
    #[arg(long = UI_METADATA_PATH_FLAG, value_name = "FILE")]
    pub ui_metadata_path: Option<PathBuf>,
}

impl EvaluationArgs {
    /// The evaluation options these flags give.
    pub fn options(&self) -> EvaluationOptions {
        EvaluationOptions {
            metrics_path: self.metrics_path.clone(),
            summary_path: self.summary_path.clone(),
            charts_path: self.charts_path.clone(),
            ui_metadata_path: self.ui_metadata_path.clone(),
        }
    }
}

/// Synthetic data's options.
#[derive(Args, Debug, Clone)]
pub struct SynthArgs {
    /// Seed of the synthetic data (same seed, same bytes).
    #[arg(long, default_value_t = SynthOptions::default().seed)]
    pub synth_seed: u64,
    /// First day (UTC) of synthetic data [default: 2021-01-01; --full: 2018-01-01].
    #[arg(long, value_name = "WHEN")]
    pub start: Option<UtcInstant>,
    /// Day after the last (UTC) [default: 2021-06-01; --full: 2021-09-21].
    #[arg(long, value_name = "WHEN")]
    pub end: Option<UtcInstant>,
    /// The competition's size: 2018-01-01 to 2021-09-21, about 24.2M rows.
    #[arg(long)]
    pub full: bool,
}

impl SynthArgs {
    /// The synthetic data options these flags give.
    pub fn options(&self) -> SynthOptions {
        let base = if self.full {
            SynthOptions::full()
        } else {
            SynthOptions::small()
        };
        SynthOptions {
            start: self.start.map_or(base.start, |s| s.0),
            end: self.end.map_or(base.end, |e| e.0),
            seed: self.synth_seed,
        }
    }
}

/// What the exported KFP files say about the cluster side.
#[derive(Args, Debug, Clone)]
pub struct ExportArgs {
    /// Container image with the crypto-lab binary (see the Dockerfile).
    #[arg(long, default_value_t = ExportOptions::default().image)]
    pub image: String,
    /// Where the shared volume is mounted in every step, and so every
    /// step's data_path (fixed here; not a run parameter in the v2 pipeline).
    #[arg(long, value_name = "PATH", default_value_t = ExportOptions::default().data_path)]
    pub data_path: String,
    /// Size of the volume claim the pipeline creates.
    #[arg(long, default_value_t = ExportOptions::default().pvc_size)]
    pub pvc_size: String,
    /// Storage class of the claim. Give it: without it KFP v2's driver asks
    /// for the class `standard`, not the cluster's default
    /// (`kubectl get storageclass` shows which is marked default).
    #[arg(long, value_name = "NAME")]
    pub storage_class: Option<String>,
    /// Kubernetes Secret holding the Kaggle `username` and `key`.
    #[arg(long, value_name = "NAME", default_value_t = ExportOptions::default().kaggle_secret)]
    pub kaggle_secret: String,
}

impl ExportArgs {
    /// The export options these flags give.
    pub fn options(&self) -> ExportOptions {
        ExportOptions {
            image: self.image.clone(),
            data_path: self.data_path.clone(),
            pvc_size: self.pvc_size.clone(),
            storage_class: self.storage_class.clone(),
            kaggle_secret: self.kaggle_secret.clone(),
        }
    }
}

/// `crypto-lab export-kfp`.
#[derive(Args, Debug, Clone)]
pub struct ExportKfpArgs {
    /// Output folder.
    #[arg(long, value_name = "DIR", default_value = "kfp")]
    pub out: PathBuf,
    /// The cluster side.
    #[command(flatten)]
    pub export: ExportArgs,
}

/// `crypto-lab submit`.
#[derive(Args, Debug, Clone)]
pub struct SubmitArgs {
    /// The KFP API root: the address of the KFP UI (e.g. http://localhost:8080).
    #[arg(long, value_name = "URL")]
    pub host: String,
    /// Kubernetes namespace (your profile) in multi-user mode.
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Experiment the run goes to (created when missing).
    #[arg(long, value_name = "NAME", default_value = crate::kfp::client::DEFAULT_EXPERIMENT)]
    pub experiment: String,
    /// Name of the pipeline on the server; a new version is uploaded when it exists.
    #[arg(long, value_name = "NAME", default_value = crate::kfp::PIPELINE_NAME)]
    pub pipeline_name: String,
    /// Name of the run [default: pipeline name and time].
    #[arg(long, value_name = "NAME")]
    pub run_name: Option<String>,
    /// Upload this pipeline.yaml instead of exporting one (the export options are then unused).
    #[arg(long, value_name = "FILE")]
    pub package: Option<PathBuf>,
    /// The pipeline's export options.
    #[command(flatten)]
    pub export: ExportArgs,
    /// A run parameter, KEY=VALUE (repeatable), e.g. --param source=https://mirror/archive.zip.
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = parse_run_param)]
    pub params: Vec<(String, String)>,
    /// Follow the run: a line per task state change, then the run's end state.
    #[arg(long)]
    pub wait: bool,
    /// Give up waiting after this many seconds (the run goes on).
    #[arg(long, value_name = "SECS", requires = "wait")]
    pub timeout: Option<u64>,
    /// Seconds between polls while waiting.
    #[arg(long, value_name = "SECS", default_value_t = crate::kfp::client::SubmitOptions::default().poll.as_secs_f64())]
    pub poll_interval: f64,
    /// Bearer token [else $KF_PIPELINES_TOKEN, else the ServiceAccount token file].
    #[arg(long, value_name = "TOKEN", hide_default_value = true)]
    pub token: Option<String>,
    /// Session cookie for Dex/Istio deployments, e.g. 'authservice_session=...'.
    #[arg(long, value_name = "COOKIE")]
    pub cookie: Option<String>,
}

impl SubmitArgs {
    /// Seconds between polls, checked.
    pub fn poll(&self) -> Result<Duration> {
        if !(self.poll_interval > 0.0 && self.poll_interval.is_finite()) {
            return Err(Error::BadArgument(
                "--poll-interval must be a positive number of seconds".into(),
            ));
        }
        Ok(Duration::from_secs_f64(self.poll_interval))
    }
}

/// `crypto-lab plot`.
#[derive(Args, Debug, Clone)]
pub struct PlotArgs {
    /// The data path.
    #[command(flatten)]
    pub data: DataPath,
    /// Asset whose price and volume are drawn.
    #[arg(long, default_value_t = crate::plots::PRICE_ASSET)]
    pub asset: i64,
    /// Output folder [default: DIR/plots].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `crypto-lab doctor`.
#[derive(Args, Debug, Clone)]
pub struct DoctorArgs {
    /// The crypto-lab checkout [default: the one holding the current folder].
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Where the lab's data would go (free disk is checked there).
    #[arg(long, value_name = "DIR", default_value = "data")]
    pub data_path: PathBuf,
    /// The competition whose rules are checked, and the credentials.
    #[command(flatten)]
    pub kaggle: KaggleArgs,
    /// A KFP host to reach, e.g. http://localhost:8080 (a port-forward).
    #[arg(long, value_name = "URL")]
    pub kfp_host: Option<String>,
    /// Seconds each HTTP request may take.
    #[arg(long, value_name = "SECS", default_value_t = crate::doctor::Options::default().timeout.as_secs())]
    pub timeout: u64,
}

/// `crypto-lab prepare-volume`.
#[derive(Args, Debug, Clone)]
pub struct PrepareVolumeArgs {
    /// The data path (the mounted volume).
    #[command(flatten)]
    pub data: DataPath,
    /// The user the lab's steps run as (the image's `lab`).
    #[arg(long, default_value_t = crate::kfp::volume::IMAGE_UID)]
    pub uid: u32,
    /// That user's group.
    #[arg(long, default_value_t = crate::kfp::volume::IMAGE_GID)]
    pub gid: u32,
}

/// `crypto-lab synth`.
#[derive(Args, Debug, Clone)]
pub struct SynthCommandArgs {
    /// The data path.
    #[command(flatten)]
    pub data: DataPath,
    /// The synthetic data.
    #[command(flatten)]
    pub synth: SynthArgs,
}

/// `crypto-lab run`.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// The data path.
    #[command(flatten)]
    pub data: DataPath,
    /// Run every stage even if its outputs are up to date.
    #[arg(long)]
    pub force: bool,
    /// Where to write the metrics [default: DIR/mlpipeline-metrics.json].
    #[arg(long = METRICS_PATH_FLAG, value_name = "FILE")]
    pub metrics_path: Option<PathBuf>,
    /// Where the data comes from: `synth` (made here when DIR has no
    /// train.csv), `kaggle`, an http(s) URL of the archive, or a zip file.
    #[arg(long, value_name = "synth|kaggle|URL|ZIP", default_value = "synth")]
    pub source: String,
    /// download_data's options (with `--source` other than synth).
    #[command(flatten)]
    pub download: DownloadArgs,
    /// feature_engineering's options.
    #[command(flatten)]
    pub features: FeatureArgs,
    /// modeling's options.
    #[command(flatten)]
    pub model: ModelArgs,
    /// The synthetic data made when there is no train.csv.
    #[command(flatten)]
    pub synth: SynthArgs,
}

impl RunArgs {
    /// The context every stage of the run gets.
    pub fn context<'a>(&self, progress: &'a dyn Progress) -> Result<StageContext<'a>> {
        let mut ctx = StageContext::new(self.data.data_path.clone(), progress);
        ctx.model = self.model.params()?;
        ctx.download = self.download.options(&self.source, self.force);
        ctx.features = self.features.options();
        ctx.evaluation.metrics_path = self.metrics_path.clone();
        Ok(ctx)
    }

    /// The runner's own options.
    pub fn run_options(&self) -> crate::runner::RunOptions {
        crate::runner::RunOptions {
            force: self.force,
            download: self.source != "synth",
            synth: self.synth.options(),
        }
    }
}

/// A lab stage's subcommand flags: what the binary's subcommand and the
/// stage's script both parse, and how they become the stage's context.
pub trait StageArgs: Args + FromArgMatches {
    /// The stage these flags run.
    const STAGE: &'static Stage;

    /// The lab's `data_path`.
    fn data_path(&self) -> &Path;

    /// The stage's context: the data path and this stage's options, checked.
    fn context<'a>(&self, progress: &'a dyn Progress) -> Result<StageContext<'a>>;

    /// Work after the stage committed (evaluation_result: KFP's executor
    /// output, for the caller that was given the executor input).
    fn after(&self, _ran: &Ran, _ctx: &StageContext) -> Result<()> {
        Ok(())
    }

    /// Runs the stage as its subcommand does: options checked, the data
    /// path's writer lock taken (waiting when `common.wait_lock`), the stage
    /// executed with its record, then [`StageArgs::after`]. Returns what it
    /// did and where its outputs are.
    fn run(&self, common: &Common, progress: &dyn Progress) -> Result<(Ran, Vec<PathBuf>)> {
        let ctx = self.context(progress)?;
        let _lock = crate::lock::lock_data_path(self.data_path(), common.wait_lock, &|busy| {
            progress.log(&format!("{busy}: waiting (--wait-lock)"))
        })?;
        let ran = Self::STAGE.execute(&ctx).map_err(|e| Error::StageFailed {
            stage: Self::STAGE.name,
            source: Box::new(e),
        })?;
        self.after(&ran, &ctx)?;
        Ok((ran, Self::STAGE.output_paths(&ctx)))
    }
}

/// `crypto-lab download-data` and `scripts/download_data.rs`.
#[derive(Args, Debug, Clone)]
pub struct DownloadDataArgs {
    /// The data path.
    #[command(flatten)]
    pub data: DataPath,
    /// The competition, credentials, members and retries.
    #[command(flatten)]
    pub download: DownloadArgs,
    /// Where the archive comes from: `kaggle`, an http(s) URL of the same
    /// archive, or a local zip file.
    #[arg(long, value_name = "kaggle|URL|ZIP", default_value = "kaggle")]
    pub source: String,
    /// Download and extract again even if the files are there.
    #[arg(long)]
    pub force: bool,
}

impl StageArgs for DownloadDataArgs {
    const STAGE: &'static Stage = &stages::DOWNLOAD_DATA;
    fn data_path(&self) -> &Path {
        &self.data.data_path
    }
    fn context<'a>(&self, progress: &'a dyn Progress) -> Result<StageContext<'a>> {
        let mut ctx = StageContext::new(self.data.data_path.clone(), progress);
        ctx.download = self.download.options(&self.source, self.force);
        Ok(ctx)
    }
}

/// `crypto-lab load-data` and `scripts/load_data.rs`.
#[derive(Args, Debug, Clone)]
pub struct LoadDataArgs {
    /// The data path.
    #[command(flatten)]
    pub data: DataPath,
}

impl StageArgs for LoadDataArgs {
    const STAGE: &'static Stage = &stages::LOAD_DATA;
    fn data_path(&self) -> &Path {
        &self.data.data_path
    }
    fn context<'a>(&self, progress: &'a dyn Progress) -> Result<StageContext<'a>> {
        Ok(StageContext::new(self.data.data_path.clone(), progress))
    }
}

/// `crypto-lab feature-engineering` and `scripts/feature_engineering.rs`.
#[derive(Args, Debug, Clone)]
pub struct FeatureEngineeringArgs {
    /// The data path.
    #[command(flatten)]
    pub data: DataPath,
    /// The feature options.
    #[command(flatten)]
    pub features: FeatureArgs,
}

impl StageArgs for FeatureEngineeringArgs {
    const STAGE: &'static Stage = &stages::FEATURE_ENGINEERING;
    fn data_path(&self) -> &Path {
        &self.data.data_path
    }
    fn context<'a>(&self, progress: &'a dyn Progress) -> Result<StageContext<'a>> {
        let mut ctx = StageContext::new(self.data.data_path.clone(), progress);
        ctx.features = self.features.options();
        Ok(ctx)
    }
}

/// `crypto-lab merge-assets-features` and `scripts/merge_assets_features.rs`.
#[derive(Args, Debug, Clone)]
pub struct MergeAssetsFeaturesArgs {
    /// The data path.
    #[command(flatten)]
    pub data: DataPath,
}

impl StageArgs for MergeAssetsFeaturesArgs {
    const STAGE: &'static Stage = &stages::MERGE_ASSETS_FEATURES;
    fn data_path(&self) -> &Path {
        &self.data.data_path
    }
    fn context<'a>(&self, progress: &'a dyn Progress) -> Result<StageContext<'a>> {
        Ok(StageContext::new(self.data.data_path.clone(), progress))
    }
}

/// `crypto-lab modeling` and `scripts/modeling.rs`.
#[derive(Args, Debug, Clone)]
pub struct ModelingArgs {
    /// The data path.
    #[command(flatten)]
    pub data: DataPath,
    /// The LightGBM parameters.
    #[command(flatten)]
    pub model: ModelArgs,
}

impl StageArgs for ModelingArgs {
    const STAGE: &'static Stage = &stages::MODELING;
    fn data_path(&self) -> &Path {
        &self.data.data_path
    }
    fn context<'a>(&self, progress: &'a dyn Progress) -> Result<StageContext<'a>> {
        let mut ctx = StageContext::new(self.data.data_path.clone(), progress);
        ctx.model = self.model.params()?;
        Ok(ctx)
    }
}

/// `crypto-lab evaluation-result` and `scripts/evaluation_result.rs`.
#[derive(Args, Debug, Clone)]
pub struct EvaluationResultArgs {
    /// The data path.
    #[command(flatten)]
    pub data: DataPath,
    /// Where the outputs go.
    #[command(flatten)]
    pub evaluation: EvaluationArgs,
}

impl StageArgs for EvaluationResultArgs {
    const STAGE: &'static Stage = &stages::EVALUATION_RESULT;
    fn data_path(&self) -> &Path {
        &self.data.data_path
    }
    fn context<'a>(&self, progress: &'a dyn Progress) -> Result<StageContext<'a>> {
        let mut ctx = StageContext::new(self.data.data_path.clone(), progress);
        ctx.evaluation = self.evaluation.options();
        Ok(ctx)
    }
    fn after(&self, ran: &Ran, ctx: &StageContext) -> Result<()> {
        if let (Some(input), Some(metrics)) =
            (&self.evaluation.executor_input, ran.output.metrics())
        {
            let path = crate::kfp::executor::write_metrics_output(input, metrics)?;
            ctx.progress.log(&format!(
                "evaluation_result: KFP executor output in {}",
                path.display()
            ));
        }
        Ok(())
    }
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
    /// pipeline (v2 IR with its Kubernetes platform spec, and a v1 Argo
    /// Workflow). Upload DIR/pipeline.yaml in the KFP UI, or use `submit`.
    ExportKfp(ExportKfpArgs),
    /// Send the pipeline to a Kubeflow Pipelines API and start a run, as
    /// kfp.Client does; --wait follows it to its end.
    #[command(long_about = SUBMIT_ABOUT)]
    Submit(Box<SubmitArgs>),
    /// First step of the exported Kubeflow pipeline: make the freshly mounted
    /// volume writable for the image's user. Does nothing when it already is;
    /// else hands the folder over (chown) or, without CAP_CHOWN, sets its
    /// mode to 01777. Runs as the volume's owner (root).
    PrepareVolume(PrepareVolumeArgs),
    /// Run the whole lab locally: synthetic data if DIR has no train.csv, then
    /// every stage; a stage is skipped only when its record says it was made
    /// with these options from these inputs and its outputs are unchanged.
    Run(Box<RunArgs>),
    /// List the stages with their inputs and outputs.
    Stages,
    /// Check that this machine is ready for the workshop (changes nothing).
    #[command(long_about = DOCTOR_ABOUT)]
    Doctor(DoctorArgs),
}

/// A flag given twice takes its last value (as a later `--param` beats an
/// earlier one), in every subcommand.
fn last_wins(cmd: clap::Command) -> clap::Command {
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
fn stage_line(s: &Stage) -> String {
    let mut what = s.description.chars();
    let first = what
        .next()
        .map(|c| c.to_lowercase().to_string())
        .unwrap_or_default();
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

/// A stage's script: the same flags, defaults, checks and help as the
/// binary's subcommand, plus `--quiet` and `--wait-lock`.
pub struct Script<A> {
    /// The stage's flags.
    pub args: A,
    /// `--quiet`, `--wait-lock`.
    pub common: Common,
}

impl<A: StageArgs> Script<A> {
    /// Parses the process's arguments (`--help` prints and exits).
    pub fn from_env() -> Self {
        let stage = A::STAGE;
        let cmd = clap::Command::new(format!("scripts/{}.rs", stage.name)).about(format!(
            "{} The same flags as `crypto-lab {}`.",
            stage_line(stage),
            stage.command
        ));
        let cmd = last_wins(Common::augment_args(A::augment_args(cmd)));
        let matches: ArgMatches = cmd.get_matches();
        let parsed = A::from_arg_matches(&matches)
            .and_then(|args| Ok((args, Common::from_arg_matches(&matches)?)));
        match parsed {
            Ok((args, common)) => Script { args, common },
            Err(e) => e.exit(),
        }
    }

    /// Runs the stage as the binary's subcommand does ([`StageArgs::run`]).
    pub fn run(&self, progress: &dyn Progress) -> Result<(Ran, Vec<PathBuf>)> {
        self.args.run(&self.common, progress)
    }

    /// The whole script: Ctrl-C and SIGTERM clean up as in the binary, the
    /// stage runs, and the line the binary prints is printed (or `error:
    /// ...` on standard error, exit status 1).
    pub fn main(&self) -> std::process::ExitCode {
        let progress: &dyn Progress = if self.common.quiet {
            &crate::progress::Silent
        } else {
            &crate::progress::Print
        };
        let result = crate::artifact::exit_cleanly_on_signals().and_then(|()| self.run(progress));
        match result {
            Ok((ran, outputs)) => {
                progress.log(&ran.line(A::STAGE, &outputs));
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                std::process::ExitCode::FAILURE
            }
        }
    }
}

/// clap itself, for a script's own few flags (`bench/plot.rs`).
pub use clap;

/// Parses the process's arguments as `A` alone, for a script that is not a
/// stage (`scripts/export_kfp.rs`, `bench/plot.rs`).
pub fn parse_script<A: Args + FromArgMatches>(name: &str, about: &str) -> A {
    let cmd = last_wins(A::augment_args(
        clap::Command::new(name.to_string()).about(about.to_string()),
    ));
    A::from_arg_matches(&cmd.get_matches()).unwrap_or_else(|e| e.exit())
}

fn parse_param(s: &str) -> std::result::Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() && !v.trim().is_empty() && !s.contains(' ') => {
            Ok((k.trim().to_string(), v.trim().to_string()))
        }
        _ => Err(format!("`{s}`: expected KEY=VALUE without spaces")),
    }
}

fn parse_run_param(s: &str) -> std::result::Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("`{s}`: expected KEY=VALUE")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(export.export.options(), ExportOptions::default());
    }
}
