//! Each stage's option group as flags, with the library's defaults, and
//! what they become: `DownloadOptions`, `FeatureOptions`, `ModelParams`,
//! `EvaluationOptions`, `SynthOptions`, `ExportOptions`.

use std::path::PathBuf;

use clap::Args;

use crate::calendar::UtcInstant;
use crate::error::Result;
use crate::kfp::backend::KfpVersion;
use crate::kfp::export::resources::{Kind as ResourceKind, Resources};
use crate::kfp::export::DataForm;
use crate::kfp::ExportOptions;
use crate::model_params::ModelParams;
use crate::stages::download_data::credentials::Lookup;
use crate::stages::download_data::{DownloadOptions, Source, DEFAULT_FILES};
use crate::stages::feature_engineering::FeatureOptions;
use crate::synth::SynthOptions;

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
    /// Seconds without a byte before an attempt is given up (then retried).
    #[arg(long, value_name = "SECS", default_value_t = DownloadOptions::default().idle_timeout.as_secs())]
    pub idle_timeout: u64,
    /// The largest archive accepted, in bytes (declared by the server or
    /// received); the default is nearly twice what a full-size run leaves in
    /// the data path, archive included.
    #[arg(long, value_name = "BYTES", default_value_t = DownloadOptions::default().max_bytes)]
    pub max_bytes: u64,
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
            idle_timeout: std::time::Duration::from_secs(self.idle_timeout.max(1)),
            max_bytes: self.max_bytes,
            ..DownloadOptions::default()
        }
    }
}

/// feature_engineering's options.
#[derive(Args, Debug, Clone)]
pub struct FeatureArgs {
    // The brackets are the help text's notation, not a doc link.
    #[allow(rustdoc::broken_intra_doc_links)]
    /// First validation instant: YYYY-MM-DD[THH:MM[:SS]] in UTC, or unix
    /// seconds. The lab's 01/05/2021 is taken in the machine's local time,
    /// which is UTC in its containers; pass another instant to move the split.
    #[arg(long, value_name = "WHEN", default_value_t = UtcInstant(FeatureOptions::default().valid_from))]
    pub valid_from: UtcInstant,
    /// Keep missing Targets missing instead of the lab's fill with 0; modeling
    /// then leaves those rows out. `--keep-target-nan false` (a KFP run
    /// parameter's form) is the lab's behaviour.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true",
          action = clap::ArgAction::Set, default_value_t = false)]
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
    /// LightGBM's objective (the lab's `objective`).
    #[arg(long, default_value_t = ModelParams::default().objective)]
    pub objective: String,
    /// The metric LightGBM reports each round (the lab's `metric`; only
    /// rmse is accepted: the evaluation publishes it).
    #[arg(long, default_value_t = ModelParams::default().metric)]
    pub metric: String,
    /// `gbdt`, `dart` or `rf` (the lab's `boosting_type`).
    #[arg(long, default_value_t = ModelParams::default().boosting_type)]
    pub boosting_type: String,
    /// LightGBM's own messages (the lab's `verbose`; -1: quiet).
    #[arg(long, default_value_t = ModelParams::default().verbose, allow_negative_numbers = true)]
    pub verbose: i32,
    /// Log the validation scores every this many rounds (the lab's
    /// `verbose_eval`).
    #[arg(long, value_name = "ROUNDS", default_value_t = ModelParams::default().log_period)]
    pub verbose_eval: usize,
    /// The columns the model learns from, in order (comma-separated; the
    /// lab's `features` list by default).
    #[arg(long, value_name = "NAMES", value_delimiter = ',', hide_default_value = true,
          default_values_t = ModelParams::default().features)]
    pub features: Vec<String>,
    /// Any other LightGBM parameter, KEY=VALUE (repeatable), e.g. --param num_leaves=63.
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = parse_param)]
    pub params: Vec<(String, String)>,
    /// Leave these of the lab's features out of the model (comma-separated),
    /// e.g. --drop-features Day,dayofyear,weekofyear,season.
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub drop_features: Vec<String>,
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
            objective: self.objective.clone(),
            metric: self.metric.clone(),
            boosting_type: self.boosting_type.clone(),
            verbose: self.verbose,
            log_period: self.verbose_eval,
            features: self
                .features
                .iter()
                .map(|f| f.trim().to_string())
                .filter(|f| !f.is_empty())
                .collect(),
            extra: Vec::new(),
        }
        .with_overrides(&self.params)?
        .without_features(&self.drop_features)?;
        params.validate()?;
        Ok(params)
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
    /// How the steps pass the lab's files: `artifacts` (KFP stores and
    /// caches each file; runs on every KFP 2 backend, OpenShift AI and Vertex
    /// AI) or `volume` (the lab's shared claim, caching off; needs
    /// kfp-kubernetes).
    #[arg(long, value_name = "FORM", default_value_t = ExportOptions::default().data)]
    pub data: DataForm,
    /// Volume form: where the shared volume is mounted in every step, and so
    /// every step's data_path (fixed here; not a run parameter in the v2
    /// pipeline).
    #[arg(long = "mount-path", value_name = "PATH", default_value_t = ExportOptions::default().data_path)]
    pub data_path: String,
    /// Volume form: size of the volume claim the pipeline creates.
    #[arg(long, default_value_t = ExportOptions::default().pvc_size)]
    pub pvc_size: String,
    /// Volume form: storage class of the claim. Give it: without it KFP v2's
    /// driver asks for the class `standard`, not the cluster's default
    /// (`kubectl get storageclass` shows which is marked default).
    #[arg(long, value_name = "NAME")]
    pub storage_class: Option<String>,
    /// Kubernetes Secret holding the Kaggle `username` and `key`.
    #[arg(long, value_name = "NAME", default_value_t = ExportOptions::default().kaggle_secret)]
    pub kaggle_secret: String,
    /// The KFP backend release to write for (`kubectl -n kubeflow get deploy
    /// ml-pipeline -o jsonpath='{..image}'` shows it) [default: 2.0.0, which
    /// every 2.x backend runs; submit: the server's]. 2.16 on, the stages
    /// also ask to run as uid 1000; fields a release would refuse are left
    /// out.
    #[arg(long, value_name = "X.Y[.Z]")]
    pub kfp_version: Option<KfpVersion>,
    /// Volume form: keep the volume claim after a run that succeeds (by
    /// default the pipeline's last step deletes it; a failed run always
    /// keeps it).
    #[arg(long)]
    pub keep_volume: bool,
    // The brackets are the help text's notation, not doc links.
    #[allow(rustdoc::broken_intra_doc_links)]
    /// CPU request and limit of a step, STEP=REQUEST[:LIMIT] (STEP: a
    /// stage or `all`; an empty part unsets it), e.g. --cpu modeling=4.
    /// Defaults: 1 core, 2 for modeling, no limit. Repeatable.
    #[arg(long, value_name = "STEP=REQ[:LIM]")]
    pub cpu: Vec<String>,
    #[allow(rustdoc::broken_intra_doc_links)]
    /// Memory request and limit of a step, STEP=REQUEST[:LIMIT], e.g.
    /// --memory modeling=6Gi:12Gi. Defaults from the stages' measured peaks
    /// at full size (modeling 4Gi:8Gi). Repeatable.
    #[arg(long, value_name = "STEP=REQ[:LIM]")]
    pub memory: Vec<String>,
}

impl ExportArgs {
    /// The export options these flags give (the run parameters' defaults
    /// the lab's).
    pub fn options(&self) -> Result<ExportOptions> {
        let mut resources = Resources::default();
        for spec in &self.cpu {
            resources.set(ResourceKind::Cpu, spec)?;
        }
        for spec in &self.memory {
            resources.set(ResourceKind::Memory, spec)?;
        }
        Ok(ExportOptions {
            image: self.image.clone(),
            data: self.data,
            data_path: self.data_path.clone(),
            pvc_size: self.pvc_size.clone(),
            storage_class: self.storage_class.clone(),
            kaggle_secret: self.kaggle_secret.clone(),
            keep_volume: self.keep_volume,
            kfp_version: self.kfp_version.unwrap_or(KfpVersion::WIDEST),
            resources,
            ..ExportOptions::default()
        })
    }
}

pub(super) fn parse_param(s: &str) -> std::result::Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() && !v.trim().is_empty() && !s.contains(' ') => {
            Ok((k.trim().to_string(), v.trim().to_string()))
        }
        _ => Err(format!("`{s}`: expected KEY=VALUE without spaces")),
    }
}

pub(super) fn parse_run_param(s: &str) -> std::result::Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("`{s}`: expected KEY=VALUE")),
    }
}
