//! The flags of the subcommands that are not lab stages: run, plot,
//! export-kfp, submit, doctor, prepare-volume, synth.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::kfp::client::auth::Given;

use super::options::{
    parse_run_param, DownloadArgs, ExportArgs, FeatureArgs, KaggleArgs, ModelArgs, SynthArgs,
};
use super::DataPath;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::stages::evaluation_result::METRICS_PATH_FLAG;
use crate::stages::StageContext;

/// `crypto-lab export-kfp`.
#[derive(Args, Debug, Clone)]
pub struct ExportKfpArgs {
    /// Output folder.
    #[arg(long, value_name = "DIR", default_value = "kfp")]
    pub out: PathBuf,
    /// The cluster side.
    #[command(flatten)]
    pub export: ExportArgs,
    /// The defaults of the run parameters n_estimators ... features.
    #[command(flatten)]
    pub model: ModelArgs,
    /// The defaults of the run parameters valid_from and keep_target_nan.
    #[command(flatten)]
    pub features: FeatureArgs,
    // The brackets are the help text's notation, not doc links.
    #[allow(rustdoc::broken_intra_doc_links)]
    /// Ship your own get_features: FILE[:NAME], a Rust file defining `fn
    /// NAME` (default get_features) and any function it calls, as the
    /// notebook's cell does. feature-engineering then runs it in
    /// --dev-image; it is built here first when a built checkout is at hand
    /// ($CRYPTO_LAB_SOURCE, or the current folder).
    #[arg(long, value_name = "FILE[:NAME]")]
    pub get_features: Option<String>,
    #[allow(rustdoc::broken_intra_doc_links)]
    /// Ship your own feval (the lab's weighted_correlation): FILE[:NAME];
    /// modeling then runs it in --dev-image.
    #[arg(long, value_name = "FILE[:NAME]")]
    pub feval: Option<String>,
    /// The image for a step with your own function: the Dockerfile's `dev`
    /// target (toolchain, the crate's source and its build).
    #[arg(long, value_name = "IMAGE", default_value_t = crate::kfp::ExportOptions::default().dev_image)]
    pub dev_image: String,
}

impl ExportKfpArgs {
    /// The export options: the cluster side, the model's and the features'
    /// flags as the run parameters' defaults, and any function of the user's.
    pub fn options(&self) -> crate::error::Result<crate::kfp::ExportOptions> {
        use crate::kfp::export::edited::{function_from_file, EditedCode};
        let code = EditedCode {
            get_features: self
                .get_features
                .as_deref()
                .map(|s| function_from_file(s, "get_features"))
                .transpose()?,
            feval: self
                .feval
                .as_deref()
                .map(|s| function_from_file(s, "weighted_correlation"))
                .transpose()?,
        };
        Ok(crate::kfp::ExportOptions {
            model: self.model.params()?,
            features: self.features.options(),
            code,
            dev_image: self.dev_image.clone(),
            ..self.export.options()?
        })
    }
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
    /// With --wait: seconds a task's pod may wait to start before a hint
    /// says what usually holds it (image pull, storage class, runAsNonRoot).
    #[arg(long, value_name = "SECS", default_value_t = crate::kfp::client::PENDING_HINT.as_secs(), requires = "wait")]
    pub pending_hint: u64,
    /// Seconds between polls while waiting.
    #[arg(long, value_name = "SECS", default_value_t = crate::kfp::client::SubmitOptions::default().poll.as_secs_f64())]
    pub poll_interval: f64,
    /// Bearer token [else $KF_PIPELINES_TOKEN, else the ServiceAccount token
    /// file]. Visible in the process list: prefer --token-file or the variable.
    #[arg(
        long,
        value_name = "TOKEN",
        hide_default_value = true,
        conflicts_with = "token_file"
    )]
    pub token: Option<Given>,
    /// A file holding the Bearer token (read whole, trimmed).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Session cookie for Dex/Istio deployments, e.g. 'authservice_session=...'
    /// [else $KF_PIPELINES_COOKIE]. Visible in the process list: prefer
    /// --cookie-file or the variable.
    #[arg(long, value_name = "COOKIE", conflicts_with = "cookie_file")]
    pub cookie: Option<Given>,
    /// A file holding the session cookie.
    #[arg(long, value_name = "FILE")]
    pub cookie_file: Option<PathBuf>,
}

impl SubmitArgs {
    /// The credentials as given: a flag's value or a file, each at most
    /// one (clap refuses both); the warning a flag's value deserves.
    fn credentials(&self) -> (Option<Given>, Option<Given>, Vec<String>) {
        let mut warnings = Vec::new();
        for (flag, set, file) in [
            (
                "--token",
                self.token.is_some(),
                "--token-file or $KF_PIPELINES_TOKEN",
            ),
            (
                "--cookie",
                self.cookie.is_some(),
                "--cookie-file or $KF_PIPELINES_COOKIE",
            ),
        ] {
            if set {
                warnings.push(format!(
                    "{flag} shows in the process list and the shell's history; prefer {file}"
                ));
            }
        }
        let pick = |v: &Option<Given>, f: &Option<PathBuf>| {
            v.clone().or_else(|| f.clone().map(Given::File))
        };
        (
            pick(&self.token, &self.token_file),
            pick(&self.cookie, &self.cookie_file),
            warnings,
        )
    }

    /// Everything `submit` is asked, resolved and checked before anything
    /// is sent: the package (read from `--package`, or the export these
    /// flags give), the options, the client with its credentials, and the
    /// warnings to print first.
    pub fn resolve(&self) -> Result<Submission> {
        use crate::kfp::client::{Credentials, KfpClient, Package, SubmitOptions};
        let mut warnings = Vec::new();
        let package = match &self.package {
            Some(path) => {
                let bytes =
                    std::fs::read(path).map_err(|e| Error::io(path, "cannot read --package", e))?;
                // Its parameters and fields are read from these bytes by submit.
                let name = path.display().to_string();
                Package::File { name, bytes }
            }
            None => {
                let export = self.export.options()?;
                export.validate()?;
                warnings.extend(export.storage_class_warning().map(String::from));
                Package::Export(export)
            }
        };
        let poll = self.poll()?;
        let (token, cookie, given) = self.credentials();
        warnings.extend(given);
        let credentials = Credentials::lookup_given(token, cookie)?;
        let client = KfpClient::new(&self.host, credentials)?;
        let options = SubmitOptions {
            pipeline_name: self.pipeline_name.clone(),
            experiment: self.experiment.clone(),
            run_name: self.run_name.clone(),
            namespace: self.namespace.clone(),
            params: self.params.clone(),
            wait: self.wait,
            timeout: self.timeout.map(Duration::from_secs),
            poll,
            kfp_version: self.export.kfp_version,
            pending_hint: Duration::from_secs(self.pending_hint),
        };
        Ok(Submission {
            client,
            package,
            options,
            warnings,
        })
    }

    /// Seconds between polls, checked.
    fn poll(&self) -> Result<Duration> {
        if !(self.poll_interval > 0.0 && self.poll_interval.is_finite()) {
            return Err(Error::BadArgument(
                "--poll-interval must be a positive number of seconds".into(),
            ));
        }
        Ok(Duration::from_secs_f64(self.poll_interval))
    }
}

/// What `crypto-lab submit` was asked, resolved ([`SubmitArgs::resolve`]).
pub struct Submission {
    /// The KFP API, with the credentials found.
    pub client: crate::kfp::client::KfpClient,
    /// What is uploaded.
    pub package: crate::kfp::client::Package,
    /// How: names, run parameters, waiting.
    pub options: crate::kfp::client::SubmitOptions,
    /// Said before anything is sent (a token on the command line, a volume
    /// without a storage class).
    pub warnings: Vec<String>,
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

impl PlotArgs {
    /// Where the charts go.
    pub fn out_dir(&self) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| self.data.data_path.join("plots"))
    }
}

/// `crypto-lab runs`.
#[derive(Args, Debug, Clone)]
pub struct RunsArgs {
    /// The data path.
    #[command(flatten)]
    pub data: DataPath,
    /// Print the table as JSON lines (the file's own form) instead.
    #[arg(long)]
    pub json: bool,
}

/// `crypto-lab doctor`.
#[derive(Args, Debug, Clone)]
pub struct DoctorArgs {
    /// The crypto-lab checkout [default: the one holding the current folder].
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Where the lab's data would go (free disk is checked there): the
    /// stages' --data-path, $CRYPTO_LAB_DATA included.
    #[command(flatten)]
    pub data: DataPath,
    /// The competition whose rules are checked, and the credentials.
    #[command(flatten)]
    pub kaggle: KaggleArgs,
    /// A KFP host to reach, e.g. http://localhost:8080 (a port-forward).
    #[arg(long, value_name = "URL")]
    pub kfp_host: Option<String>,
    /// Seconds each HTTP request may take.
    #[arg(long, value_name = "SECS", default_value_t = crate::doctor::DoctorOptions::default().timeout.as_secs())]
    pub timeout: u64,
}

impl DoctorArgs {
    /// The checks asked for: the project is `--project`, else the checkout
    /// holding the current folder, else the current folder.
    pub fn options(&self) -> Result<crate::doctor::DoctorOptions> {
        let cwd = std::env::current_dir().map_err(|e| Error::io(".", "cannot read", e))?;
        let project = self
            .project
            .clone()
            .or_else(|| crate::doctor::find_project(&cwd))
            .unwrap_or(cwd);
        Ok(crate::doctor::DoctorOptions {
            project,
            data_path: self.data.data_path.clone(),
            kaggle_api: self.kaggle.kaggle_api.clone(),
            dataset: self.kaggle.dataset.clone(),
            secret_dir: self.kaggle.secret_dir.clone(),
            kfp_host: self.kfp_host.clone(),
            timeout: Duration::from_secs(self.timeout.max(1)),
            env: crate::doctor::Env::from_process(),
        })
    }
}

/// `crypto-lab prepare-volume`.
#[derive(Args, Debug, Clone)]
pub struct PrepareVolumeArgs {
    /// The data path (the mounted volume).
    #[command(flatten)]
    pub data: DataPath,
    /// The user the lab's steps run as (the image's `lab`).
    #[arg(long, default_value_t = crate::kfp::runtime::volume::IMAGE_UID)]
    pub uid: u32,
    /// That user's group.
    #[arg(long, default_value_t = crate::kfp::runtime::volume::IMAGE_GID)]
    pub gid: u32,
    /// Only check that this process can write the volume (the v2 volume
    /// form, where every step runs as the image's user): change nothing,
    /// fail naming the fix.
    #[arg(long, conflicts_with_all = ["uid", "gid"])]
    pub check: bool,
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

    /// The runner's own options; `common`'s `--wait-lock` among them.
    pub fn run_options(&self, common: &super::Common) -> crate::runner::RunOptions {
        crate::runner::RunOptions {
            force: self.force,
            download: self.source != "synth",
            synth: self.synth.options(),
            wait_lock: common.wait_lock,
        }
    }
}

/// `crypto-lab run-script`.
#[derive(Args, Debug, Clone)]
pub struct RunScriptArgs {
    /// The script (a rust-script file whose dependency on crypto-lab names
    /// the dev image's /opt/crypto-lab).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The arguments the program runs with (the stage's flags).
    #[arg(
        value_name = "ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub args: Vec<std::ffi::OsString>,
}
