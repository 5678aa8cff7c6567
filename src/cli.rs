//! Argument parsing and terminal output for the `crypto-lab` binary.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crypto_lab::calendar::parse_instant;
use crypto_lab::credentials::Lookup;
use crypto_lab::doctor;
use crypto_lab::kfp::volume::{prepare_volume, Prepared, STORAGE_CLASS_NOTE};
use crypto_lab::kfp::{export_kfp, ExportOptions};
use crypto_lab::lock::{lock_data_path, DataPathLock};
use crypto_lab::prelude::*;
use crypto_lab::runner::Outcome;
use crypto_lab::stages;

const ABOUT: &str = "The G-Research Crypto Forecasting lab (Kubeflow Pipelines) in Rust.

Each lab stage is a subcommand that reads and writes files in --data-path,
exactly as the lab's components share a volume:

  download-data          Kaggle (or a mirror or a zip) -> train.csv, asset_details.csv
  synth                  make train.csv + asset_details.csv (Kaggle schema, offline)
  load-data              train.csv, asset_details.csv -> df_train.parquet, df_asset_details.parquet
  feature-engineering    df_train.parquet -> feature_df.parquet
  merge-assets-features  feature_df.parquet + df_asset_details.parquet -> merge_feature_df.parquet
  modeling               merge_feature_df.parquet -> lgb.txt, lgb_history.json, feature_importance.json
  evaluation-result      lgb.txt + lgb_history.json -> mlpipeline-metrics.json
  run                    all of the above in order (synthetic data if there is no train.csv)
  plot                   the lab's charts as PNG and SVG into DIR/plots
  export-kfp             KFP component and pipeline YAML whose containers run these subcommands
  submit                 upload the pipeline to a Kubeflow Pipelines API, start a run, follow it
  doctor                 is this machine ready for the workshop? (checks only, changes nothing)
  prepare-volume         (first Kubeflow step) make a fresh volume writable for the image's user

Quick start:  crypto-lab run --data-path data
With Kaggle:  crypto-lab run --data-path data --source kaggle   (credentials: see download-data --help)";

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

#[derive(Parser)]
#[command(name = "crypto-lab", version, about = ABOUT, long_about = ABOUT)]
struct Cli {
    /// Print only errors (no progress bars or log lines).
    #[arg(long, short, global = true)]
    quiet: bool,
    /// When another crypto-lab is writing in the data path, wait for it to
    /// finish instead of stopping at once.
    #[arg(long, global = true)]
    wait_lock: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct DataPath {
    /// Folder holding the lab's files (the lab's data_path).
    #[arg(long, value_name = "DIR", default_value = "data")]
    data_path: PathBuf,
}

/// Where the competition comes from and with which credentials: the same
/// flags for download-data (and run) and for doctor, which asks Kaggle
/// whether the rules are accepted.
#[derive(Args, Clone)]
struct KaggleArgs {
    /// Competition to download (the lab's `dataset` parameter).
    #[arg(long, default_value = "g-research-crypto-forecasting")]
    dataset: String,
    /// Kaggle's API root; point it at a private mirror of the API.
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://www.kaggle.com/api/v1"
    )]
    kaggle_api: String,
    /// A mounted Kubernetes secret folder with files `username` and `key`.
    #[arg(long, value_name = "DIR")]
    secret_dir: Option<PathBuf>,
}

#[derive(Args, Clone)]
struct DownloadArgs {
    #[command(flatten)]
    kaggle: KaggleArgs,
    /// Archive members to extract (comma-separated).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "train.csv,asset_details.csv"
    )]
    files: Vec<String>,
    /// Further attempts after a network failure (with doubling waits from 1s).
    #[arg(long, default_value_t = 5)]
    retries: u32,
}

impl DownloadArgs {
    fn options(&self, source: &str, force: bool) -> DownloadOptions {
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

#[derive(Args, Clone)]
struct FeatureArgs {
    /// First validation instant: YYYY-MM-DD[THH:MM[:SS]] in UTC, or unix
    /// seconds. The lab's 01/05/2021 is taken in the machine's local time,
    /// which is UTC in its containers; pass another instant to move the split.
    #[arg(long, value_name = "WHEN", value_parser = parse_when, default_value = "2021-05-01")]
    valid_from: i64,
    /// Keep missing Targets missing instead of the lab's fill with 0; modeling
    /// then leaves those rows out.
    #[arg(long)]
    keep_target_nan: bool,
}

#[derive(Args, Clone)]
struct ModelArgs {
    /// Boosting rounds at most.
    #[arg(long, default_value_t = 1200)]
    n_estimators: usize,
    /// Learning rate.
    #[arg(long, default_value_t = 0.01)]
    learning_rate: f64,
    /// Maximum tree depth (-1: no limit).
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    max_depth: i32,
    /// LightGBM seed.
    #[arg(long, default_value_t = 2022)]
    seed: u64,
    /// Stop after this many rounds without improvement of rmse or weighted
    /// correlation (0: train every round).
    #[arg(long, default_value_t = 60)]
    early_stopping_rounds: usize,
    /// LightGBM threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    num_threads: usize,
    /// Any other LightGBM parameter, KEY=VALUE (repeatable), e.g. --param num_leaves=63.
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = parse_param)]
    params: Vec<(String, String)>,
}

#[derive(Args, Clone)]
struct SynthArgs {
    /// Seed of the synthetic data (same seed, same bytes).
    #[arg(long, default_value_t = 2022)]
    synth_seed: u64,
    /// First day (UTC) of synthetic data [default: 2021-01-01; --full: 2018-01-01].
    #[arg(long, value_parser = parse_when)]
    start: Option<i64>,
    /// Day after the last (UTC) [default: 2021-06-01; --full: 2021-09-21].
    #[arg(long, value_parser = parse_when)]
    end: Option<i64>,
    /// The competition's size: 2018-01-01 to 2021-09-21, about 24.2M rows.
    #[arg(long)]
    full: bool,
}

impl SynthArgs {
    fn options(&self) -> SynthOptions {
        let base = if self.full {
            SynthOptions::full()
        } else {
            SynthOptions::small()
        };
        SynthOptions {
            start: self.start.unwrap_or(base.start),
            end: self.end.unwrap_or(base.end),
            seed: self.synth_seed,
        }
    }
}

#[derive(Args, Clone)]
struct ExportArgs {
    /// Container image with the crypto-lab binary (see the Dockerfile).
    #[arg(long, default_value = concat!("crypto-lab:", env!("CARGO_PKG_VERSION")))]
    image: String,
    /// Where the shared volume is mounted in every step, and so every
    /// step's data_path (fixed here; not a run parameter in the v2 pipeline).
    #[arg(long, value_name = "PATH", default_value = "/mnt")]
    data_path: String,
    /// Size of the volume claim the pipeline creates.
    #[arg(long, default_value = "16Gi")]
    pvc_size: String,
    /// Storage class of the claim. Give it: without it KFP v2's driver asks
    /// for the class `standard`, not the cluster's default
    /// (`kubectl get storageclass` shows which is marked default).
    #[arg(long, value_name = "NAME")]
    storage_class: Option<String>,
    /// Kubernetes Secret holding the Kaggle `username` and `key`.
    #[arg(long, value_name = "NAME", default_value = "kaggle-secret")]
    kaggle_secret: String,
}

impl ExportArgs {
    fn options(&self) -> ExportOptions {
        ExportOptions {
            image: self.image.clone(),
            data_path: self.data_path.clone(),
            pvc_size: self.pvc_size.clone(),
            storage_class: self.storage_class.clone(),
            kaggle_secret: self.kaggle_secret.clone(),
        }
    }
}

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

#[derive(Args, Clone)]
struct SubmitArgs {
    /// The KFP API root: the address of the KFP UI (e.g. http://localhost:8080).
    #[arg(long, value_name = "URL")]
    host: String,
    /// Kubernetes namespace (your profile) in multi-user mode.
    #[arg(long, value_name = "NS")]
    namespace: Option<String>,
    /// Experiment the run goes to (created when missing).
    #[arg(long, value_name = "NAME", default_value = "Default")]
    experiment: String,
    /// Name of the pipeline on the server; a new version is uploaded when it exists.
    #[arg(long, value_name = "NAME", default_value = crypto_lab::kfp::PIPELINE_NAME)]
    pipeline_name: String,
    /// Name of the run [default: pipeline name and time].
    #[arg(long, value_name = "NAME")]
    run_name: Option<String>,
    /// Upload this pipeline.yaml instead of exporting one (the export options are then unused).
    #[arg(long, value_name = "FILE")]
    package: Option<PathBuf>,
    #[command(flatten)]
    export: ExportArgs,
    /// A run parameter, KEY=VALUE (repeatable), e.g. --param source=https://mirror/archive.zip.
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = parse_run_param)]
    params: Vec<(String, String)>,
    /// Follow the run: a line per task state change, then the run's end state.
    #[arg(long)]
    wait: bool,
    /// Give up waiting after this many seconds (the run goes on).
    #[arg(long, value_name = "SECS", requires = "wait")]
    timeout: Option<u64>,
    /// Seconds between polls while waiting.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    poll_interval: f64,
    /// Bearer token [else $KF_PIPELINES_TOKEN, else the ServiceAccount token file].
    #[arg(long, value_name = "TOKEN", hide_default_value = true)]
    token: Option<String>,
    /// Session cookie for Dex/Istio deployments, e.g. 'authservice_session=...'.
    #[arg(long, value_name = "COOKIE")]
    cookie: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Lab stage download_data: fetch the competition from Kaggle (or a mirror).
    #[command(long_about = DOWNLOAD_ABOUT)]
    DownloadData {
        #[command(flatten)]
        data: DataPath,
        #[command(flatten)]
        download: DownloadArgs,
        /// Where the archive comes from: `kaggle`, an http(s) URL of the same
        /// archive, or a local zip file.
        #[arg(long, value_name = "kaggle|URL|ZIP", default_value = "kaggle")]
        source: String,
        /// Download and extract again even if the files are there.
        #[arg(long)]
        force: bool,
    },
    /// Write synthetic train.csv and asset_details.csv in the Kaggle schema.
    Synth {
        #[command(flatten)]
        data: DataPath,
        #[command(flatten)]
        synth: SynthArgs,
    },
    /// Lab stage load_data: keep rows from 2020-01-01 on, write Parquet.
    LoadData {
        #[command(flatten)]
        data: DataPath,
    },
    /// Lab stage feature_engineering: the lab's features for assets 0..13.
    FeatureEngineering {
        #[command(flatten)]
        data: DataPath,
        #[command(flatten)]
        features: FeatureArgs,
    },
    /// Lab stage merge_assets_features: attach each asset's Weight.
    MergeAssetsFeatures {
        #[command(flatten)]
        data: DataPath,
    },
    /// Lab stage modeling: LightGBM with the lab's parameters.
    Modeling {
        #[command(flatten)]
        data: DataPath,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Lab stage evaluation_result: KFP metrics JSON of the best scores.
    EvaluationResult {
        #[command(flatten)]
        data: DataPath,
        /// Where to write the metrics [default: DIR/mlpipeline-metrics.json].
        #[arg(long, value_name = "FILE")]
        metrics_path: Option<PathBuf>,
        /// KFP v2 executor input (JSON, KFP's `{{$}}`): also publish the metrics
        /// as metadata of the step's system.Metrics artifact.
        #[arg(long, value_name = "JSON")]
        executor_input: Option<String>,
        /// Where to write the markdown summary [default: DIR/evaluation_summary.md].
        #[arg(long, value_name = "FILE")]
        summary_path: Option<PathBuf>,
        /// Where to write the charts page [default: DIR/evaluation_charts.html].
        #[arg(long, value_name = "FILE")]
        charts_path: Option<PathBuf>,
        /// Also write KFP v1's mlpipeline-ui-metadata here.
        #[arg(long, value_name = "FILE")]
        ui_metadata_path: Option<PathBuf>,
    },
    /// Draw the lab's charts (price and volume, feature distributions, learning
    /// curves, feature importance, predicted against actual) as PNG and SVG.
    Plot {
        #[command(flatten)]
        data: DataPath,
        /// Asset whose price and volume are drawn.
        #[arg(long, default_value_t = 1)]
        asset: i64,
        /// Output folder [default: DIR/plots].
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Write KFP component YAML (v2 IR and v1) for every stage and the lab's
    /// pipeline (v2 IR with its Kubernetes platform spec, and a v1 Argo
    /// Workflow). Upload DIR/pipeline.yaml in the KFP UI, or use `submit`.
    ExportKfp {
        /// Output folder.
        #[arg(long, value_name = "DIR", default_value = "kfp")]
        out: PathBuf,
        #[command(flatten)]
        export: ExportArgs,
    },
    /// Send the pipeline to a Kubeflow Pipelines API and start a run, as
    /// kfp.Client does; --wait follows it to its end.
    #[command(long_about = SUBMIT_ABOUT)]
    Submit(Box<SubmitArgs>),
    /// First step of the exported Kubeflow pipeline: make the freshly mounted
    /// volume writable for the image's user. Does nothing when it already is;
    /// else hands the folder over (chown) or, without CAP_CHOWN, sets its
    /// mode to 01777. Runs as the volume's owner (root).
    PrepareVolume {
        #[command(flatten)]
        data: DataPath,
        /// The user the lab's steps run as (the image's `lab`).
        #[arg(long, default_value_t = crypto_lab::kfp::volume::IMAGE_UID)]
        uid: u32,
        /// That user's group.
        #[arg(long, default_value_t = crypto_lab::kfp::volume::IMAGE_GID)]
        gid: u32,
    },
    /// Run the whole lab locally: synthetic data if DIR has no train.csv, then
    /// every stage; a stage is skipped only when its record says it was made
    /// with these options from these inputs and its outputs are unchanged.
    Run {
        #[command(flatten)]
        data: DataPath,
        /// Run every stage even if its outputs are up to date.
        #[arg(long)]
        force: bool,
        /// Where to write the metrics [default: DIR/mlpipeline-metrics.json].
        #[arg(long, value_name = "FILE")]
        metrics_path: Option<PathBuf>,
        /// Where the data comes from: `synth` (made here when DIR has no
        /// train.csv), `kaggle`, an http(s) URL of the archive, or a zip file.
        #[arg(long, value_name = "synth|kaggle|URL|ZIP", default_value = "synth")]
        source: String,
        #[command(flatten)]
        download: DownloadArgs,
        #[command(flatten)]
        features: FeatureArgs,
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        synth: SynthArgs,
    },
    /// List the stages with their inputs and outputs.
    Stages,
    /// Check that this machine is ready for the workshop (changes nothing).
    #[command(long_about = DOCTOR_ABOUT)]
    Doctor {
        /// The crypto-lab checkout [default: the one holding the current folder].
        #[arg(long, value_name = "DIR")]
        project: Option<PathBuf>,
        /// Where the lab's data would go (free disk is checked there).
        #[arg(long, value_name = "DIR", default_value = "data")]
        data_path: PathBuf,
        /// The competition whose rules are checked, and the credentials.
        #[command(flatten)]
        kaggle: KaggleArgs,
        /// A KFP host to reach, e.g. http://localhost:8080 (a port-forward).
        #[arg(long, value_name = "URL")]
        kfp_host: Option<String>,
        /// Seconds each HTTP request may take.
        #[arg(long, value_name = "SECS", default_value_t = 5)]
        timeout: u64,
    },
}

fn parse_when(s: &str) -> std::result::Result<i64, String> {
    parse_instant(s).ok_or_else(|| {
        format!(
            "`{}`: expected a real date YYYY-MM-DD[THH:MM[:SS]] (UTC) in the years {}..={}, \
                 or unix seconds within them",
            crypto_lab::error::printable(s),
            crypto_lab::calendar::YEARS.start(),
            crypto_lab::calendar::YEARS.end()
        )
    })
}

fn parse_run_param(s: &str) -> std::result::Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("`{s}`: expected KEY=VALUE")),
    }
}

/// `crypto-lab submit`: the library does the work; this prints it.
fn submit(args: &SubmitArgs) -> Result<()> {
    use crypto_lab::kfp::client::{self, Credentials, KfpClient};
    let (package, base) = match &args.package {
        Some(path) => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("cannot read --package {}", path.display()))?;
            // Its parameters are checked by the server.
            (bytes, client::SubmitOptions::default())
        }
        None => {
            let export = args.export.options();
            if export.storage_class.is_none() {
                eprintln!("warning: {STORAGE_CLASS_NOTE}");
            }
            (
                crypto_lab::kfp::pipeline_yaml(&export).into_bytes(),
                client::SubmitOptions::for_export(&export),
            )
        }
    };
    if !(args.poll_interval > 0.0 && args.poll_interval.is_finite()) {
        bail!("--poll-interval must be a positive number of seconds");
    }
    let credentials = Credentials::lookup(args.token.clone(), args.cookie.clone())?;
    let api = KfpClient::new(&args.host, credentials)?;
    let opts = client::SubmitOptions {
        pipeline_name: args.pipeline_name.clone(),
        experiment: args.experiment.clone(),
        run_name: args.run_name.clone(),
        namespace: args.namespace.clone(),
        params: args.params.clone(),
        wait: args.wait,
        timeout: args.timeout.map(std::time::Duration::from_secs),
        poll: std::time::Duration::from_secs_f64(args.poll_interval),
        ..base
    };
    let done = client::submit(&api, &package, &opts, &mut |event| println!("{event}"))?;
    if let Some(run) = &done.run {
        if let Some(failure) = run.failure() {
            bail!("run {} {failure} (logs: {})", done.run_id, done.link);
        }
        println!("run {} SUCCEEDED: {}", done.run_id, done.link);
    }
    Ok(())
}

fn parse_param(s: &str) -> std::result::Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() && !v.trim().is_empty() && !s.contains(' ') => {
            Ok((k.trim().to_string(), v.trim().to_string()))
        }
        _ => Err(format!("`{s}`: expected KEY=VALUE without spaces")),
    }
}

impl FeatureArgs {
    fn options(&self) -> FeatureOptions {
        FeatureOptions {
            valid_from: self.valid_from,
            keep_target_nan: self.keep_target_nan,
        }
    }
}

impl ModelArgs {
    /// The flags, then every `--param` over them in the order given (the
    /// library merges and checks them; nothing is read before they pass).
    fn params(&self) -> Result<ModelParams> {
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

/// Takes the data path's writer lock for the rest of the command.
fn lock(data_path: &std::path::Path, wait: bool, term: &Terminal) -> Result<DataPathLock> {
    Ok(lock_data_path(data_path, wait, &|busy| {
        term.log(&format!("{busy}: waiting (--wait-lock)"))
    })?)
}

/// Progress bars on standard error; log lines above them.
struct Terminal {
    quiet: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl Terminal {
    fn new(quiet: bool) -> Self {
        Terminal {
            quiet,
            bar: Mutex::new(None),
        }
    }

    fn with_bar(&self, f: impl FnOnce(&mut Option<ProgressBar>)) {
        if let Ok(mut guard) = self.bar.lock() {
            f(&mut guard);
        }
    }
}

impl Progress for Terminal {
    fn start(&self, what: &str, total: u64) {
        if self.quiet {
            return;
        }
        let bar = if total == 0 {
            let b = ProgressBar::new_spinner();
            b.enable_steady_tick(std::time::Duration::from_millis(120));
            b.set_style(
                ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b
        } else {
            let b = ProgressBar::new(total);
            b.set_style(
                ProgressStyle::with_template(
                    "{msg:20} [{bar:30}] {pos}/{len} {elapsed} (eta {eta})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            b
        };
        bar.set_draw_target(ProgressDrawTarget::stderr());
        bar.set_message(what.to_string());
        self.with_bar(|slot| {
            if let Some(old) = slot.replace(bar) {
                old.finish_and_clear();
            }
        });
    }

    fn start_bytes(&self, what: &str, total: u64) {
        self.start(what, total);
        if total > 0 {
            self.with_bar(|slot| {
                if let Some(b) = slot {
                    b.set_style(
                        ProgressStyle::with_template(
                            "{msg:12} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} (eta {eta})",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                    );
                }
            });
        }
    }

    fn advance(&self, n: u64) {
        self.with_bar(|slot| {
            if let Some(b) = slot {
                b.inc(n);
            }
        });
    }

    fn log(&self, line: &str) {
        if self.quiet {
            return;
        }
        let mut printed = false;
        self.with_bar(|slot| {
            if let Some(b) = slot {
                b.suspend(|| eprintln!("{line}"));
                printed = true;
            }
        });
        if !printed {
            eprintln!("{line}");
        }
    }

    fn finish(&self) {
        self.with_bar(|slot| {
            if let Some(b) = slot.take() {
                b.finish_and_clear();
            }
        });
    }
}

fn run_stage(command: &str, ctx: &StageContext) -> Result<()> {
    let stage = stages::find(command).with_context(|| format!("no stage `{command}`"))?;
    let ran = stage
        .execute(ctx)
        .with_context(|| format!("{} failed", stage.name))?;
    // Only a stage that wrote its files says so (download_data may find
    // them already there).
    let wrote = if ran.wrote {
        let paths: Vec<String> = stage
            .output_paths(ctx)
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        format!("; wrote {}", paths.join(", "))
    } else {
        String::new()
    };
    ctx.progress.log(&format!(
        "{}: {} ({:.1}s){wrote}",
        stage.name, ran.summary, ran.seconds
    ));
    Ok(())
}

/// Parses arguments and runs the command.
pub fn main() -> Result<()> {
    // A flag given twice takes its last value (as a later `--param` beats
    // an earlier one), in every subcommand.
    let matches = Cli::command()
        .args_override_self(true)
        .mut_subcommands(|c| c.args_override_self(true))
        .get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let term = Terminal::new(cli.quiet);
    crypto_lab::artifact::exit_cleanly_on_signals()?;
    let wait = cli.wait_lock;
    match cli.command {
        Command::Synth { data, synth: s } => {
            let opts = s.options();
            let _lock = lock(&data.data_path, wait, &term)?;
            let t = Instant::now();
            let rows = synth(&data.data_path, &opts, &term)?;
            term.log(&format!(
                "synth: wrote {rows} rows to {} and {} ({:.1}s)",
                data.data_path.join(files::TRAIN_CSV).display(),
                data.data_path.join(files::ASSET_DETAILS_CSV).display(),
                t.elapsed().as_secs_f64()
            ));
        }
        Command::DownloadData {
            data,
            download,
            source,
            force,
        } => {
            let _lock = lock(&data.data_path, wait, &term)?;
            let mut ctx = StageContext::new(data.data_path, &term);
            ctx.download = download.options(&source, force);
            run_stage("download_data", &ctx)?;
        }
        Command::LoadData { data } => {
            let _lock = lock(&data.data_path, wait, &term)?;
            run_stage("load_data", &StageContext::new(data.data_path, &term))?
        }
        Command::FeatureEngineering { data, features } => {
            let _lock = lock(&data.data_path, wait, &term)?;
            let mut ctx = StageContext::new(data.data_path, &term);
            ctx.features = features.options();
            run_stage("feature_engineering", &ctx)?;
        }
        Command::MergeAssetsFeatures { data } => {
            let _lock = lock(&data.data_path, wait, &term)?;
            run_stage(
                "merge_assets_features",
                &StageContext::new(data.data_path, &term),
            )?
        }
        Command::Modeling { data, model } => {
            let params = model.params()?;
            let _lock = lock(&data.data_path, wait, &term)?;
            let mut ctx = StageContext::new(data.data_path, &term);
            ctx.model = params;
            run_stage("modeling", &ctx)?;
        }
        Command::EvaluationResult {
            data,
            metrics_path,
            executor_input,
            summary_path,
            charts_path,
            ui_metadata_path,
        } => {
            let _lock = lock(&data.data_path, wait, &term)?;
            let mut ctx = StageContext::new(data.data_path, &term);
            ctx.metrics_path = metrics_path;
            ctx.executor_input = executor_input;
            ctx.summary_path = summary_path;
            ctx.charts_path = charts_path;
            ctx.ui_metadata_path = ui_metadata_path;
            run_stage("evaluation_result", &ctx)?;
        }
        Command::Run {
            data,
            force,
            metrics_path,
            source,
            download,
            features,
            model,
            synth: s,
        } => {
            let params = model.params()?;
            let _lock = lock(&data.data_path, wait, &term)?;
            let mut ctx = StageContext::new(data.data_path.clone(), &term);
            ctx.download = download.options(&source, force);
            ctx.features = features.options();
            ctx.model = params;
            ctx.metrics_path = metrics_path;
            let opts = RunOptions {
                force,
                download: source != "synth",
                synth: s.options(),
            };
            let t = Instant::now();
            let report = run_pipeline(&ctx, &opts)?;
            print_summary(&ctx, &report, t.elapsed().as_secs_f64())?;
        }
        Command::Plot { data, asset, out } => {
            let out = out.unwrap_or_else(|| data.data_path.join("plots"));
            let t = Instant::now();
            let charts = crypto_lab::plots::lab_charts(&data.data_path, asset)?;
            let written = crypto_lab::plots::save_all(&charts, &out)?;
            term.log(&format!(
                "plot: wrote {} charts to {} ({:.1}s)",
                written.len(),
                out.display(),
                t.elapsed().as_secs_f64()
            ));
        }
        Command::Submit(args) => submit(&args)?,
        Command::ExportKfp { out, export } => {
            let opts = export.options();
            let written = export_kfp(&out, &opts)?;
            term.log(&format!(
                "export-kfp: wrote {} files under {}; upload {} in the KFP UI (or crypto-lab submit)",
                written.len(),
                out.display(),
                out.join("pipeline.yaml").display()
            ));
            if opts.storage_class.is_none() {
                // Said even with --quiet: the claim may never bind.
                eprintln!("warning: {STORAGE_CLASS_NOTE}");
            }
        }
        Command::PrepareVolume { data, uid, gid } => {
            let path = &data.data_path;
            let what = match prepare_volume(path, uid, gid)? {
                Prepared::AlreadyWritable => format!("already writable for uid {uid}, unchanged"),
                Prepared::Chowned => format!("now owned by {uid}:{gid}"),
                Prepared::OpenedMode => {
                    format!("mode set to 01777 (no CAP_CHOWN to hand it to {uid}:{gid})")
                }
            };
            term.log(&format!("prepare-volume: {}: {what}", path.display()));
        }
        Command::Doctor {
            project,
            data_path,
            kaggle,
            kfp_host,
            timeout,
        } => {
            let cwd = std::env::current_dir().context("cannot read the current folder")?;
            let project = project
                .or_else(|| doctor::find_project(&cwd))
                .unwrap_or(cwd);
            let opts = doctor::Options {
                project,
                data_path,
                kaggle_api: kaggle.kaggle_api,
                dataset: kaggle.dataset,
                secret_dir: kaggle.secret_dir,
                kfp_host,
                timeout: std::time::Duration::from_secs(timeout.max(1)),
                env: doctor::Env::from_process(),
            };
            let report = doctor::run(&opts);
            print_doctor(&report);
            if !report.ready() {
                bail!(
                    "not ready for the workshop: {} missing (fixes above)",
                    report.missing().join(", ")
                );
            }
        }
        Command::Stages => {
            for s in &STAGES {
                println!("{:24} {}", s.command, s.description);
                println!("{:24}   in:  {}", "", s.inputs.join(", "));
                println!("{:24}   out: {}", "", s.outputs.join(", "));
            }
        }
    }
    Ok(())
}

fn print_doctor(report: &doctor::Report) {
    let width = report
        .checks
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0);
    for c in &report.checks {
        let fix = match &c.fix {
            Some(fix) if c.status != doctor::Status::Ok => format!("  -> fix: {fix}"),
            _ => String::new(),
        };
        println!(
            "{:7}  {:width$}  {}{fix}",
            c.status.label(),
            c.name,
            c.detail
        );
    }
    if report.ready() {
        println!("ready for the workshop");
    }
}

fn print_summary(ctx: &StageContext, report: &RunReport, total: f64) -> Result<()> {
    println!("crypto-lab run: {}", ctx.data_path.display());
    if let Some(rows) = report.synthesized_rows {
        println!(
            "  {:24} {:>7.1}s  {rows} synthetic rows",
            "synth", report.synth_seconds
        );
    }
    for s in &report.stages {
        match &s.outcome {
            Outcome::Ran(summary) => println!("  {:24} {:>7.1}s  {summary}", s.name, s.seconds),
            Outcome::Skipped(why) => println!("  {:24} {:>8}  {why}", s.name, "skipped"),
        }
    }
    let metrics_path = ctx.path_of(files::METRICS);
    let text = std::fs::read_to_string(&metrics_path)
        .with_context(|| format!("cannot read {}", metrics_path.display()))?;
    let metrics: Metrics = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a metrics document", metrics_path.display()))?;
    for m in &metrics.metrics {
        println!("  {:24} {:.6}", m.name, m.number_value);
    }
    println!(
        "  {:24} {:>7.1}s  metrics in {}",
        "total",
        total,
        metrics_path.display()
    );
    Ok(())
}
