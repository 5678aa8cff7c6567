//! The lab's stages, one module each, named as the lab names its functions,
//! and the single registry that the CLI, the local runner and later the KFP
//! exporter, notebook and scripts all read.
//!
//! Each stage has an in-memory form (frames in, frames out) and a file form
//! that takes the lab's `data_path` and is a thin wrapper around it.

pub mod download_data;
pub mod evaluation_result;
pub mod feature_engineering;
pub mod load_data;
pub mod merge_assets_features;
pub mod modeling;

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::record::{self, Options};
use download_data::DownloadOptions;
use feature_engineering::FeatureOptions;
use modeling::ModelParams;

/// Artifact file names inside the data path.
pub mod files {
    /// The competition's bars (input).
    pub const TRAIN_CSV: &str = "train.csv";
    /// The competition's asset table (input).
    pub const ASSET_DETAILS_CSV: &str = "asset_details.csv";
    /// load_data: bars from 2020-01-01 on.
    pub const DF_TRAIN: &str = "df_train.parquet";
    /// load_data: asset table sorted by Asset_ID.
    pub const DF_ASSET_DETAILS: &str = "df_asset_details.parquet";
    /// feature_engineering: features of every asset.
    pub const FEATURE_DF: &str = "feature_df.parquet";
    /// merge_assets_features: features plus Weight.
    pub const MERGE_FEATURE_DF: &str = "merge_feature_df.parquet";
    /// modeling: LightGBM text model (best rounds).
    pub const MODEL: &str = "lgb.txt";
    /// modeling: per-round metrics and best scores.
    pub const HISTORY: &str = "lgb_history.json";
    /// modeling: validation rows with the best round's predictions.
    pub const VALID_PREDICTIONS: &str = "valid_predictions.parquet";
    /// modeling: split and gain importance per feature.
    pub const FEATURE_IMPORTANCE: &str = "feature_importance.json";
    /// evaluation_result: the KFP metrics document (default location).
    pub const METRICS: &str = "mlpipeline-metrics.json";
    /// evaluation_result: markdown summary (default location).
    pub const SUMMARY: &str = "evaluation_summary.md";
    /// evaluation_result: charts and summary as one HTML page (default location).
    pub const CHARTS: &str = "evaluation_charts.html";
}

/// Everything a stage may need besides its files.
pub struct StageContext<'a> {
    /// The lab's `data_path`: where every artifact lives.
    pub data_path: PathBuf,
    /// Where download_data gets the competition archive.
    pub download: DownloadOptions,
    /// Feature options (lab behaviour by default).
    pub features: FeatureOptions,
    /// LightGBM parameters (the lab's by default).
    pub model: ModelParams,
    /// Where evaluation_result writes the metrics; `None` = data path.
    pub metrics_path: Option<PathBuf>,
    /// KFP v2's executor input (`{{$}}`): evaluation_result then also
    /// publishes its metrics through the executor output file.
    pub executor_input: Option<String>,
    /// Where evaluation_result writes its summary and chart page, and KFP
    /// v1's UI metadata; `None` = defaults in the data path.
    pub summary_path: Option<PathBuf>,
    /// See `summary_path`.
    pub charts_path: Option<PathBuf>,
    /// See `summary_path`.
    pub ui_metadata_path: Option<PathBuf>,
    /// Progress and log receiver.
    pub progress: &'a dyn Progress,
}

impl<'a> StageContext<'a> {
    /// A context with the lab's defaults.
    pub fn new(data_path: impl Into<PathBuf>, progress: &'a dyn Progress) -> Self {
        StageContext {
            data_path: data_path.into(),
            download: DownloadOptions::default(),
            features: FeatureOptions::default(),
            model: ModelParams::default(),
            metrics_path: None,
            executor_input: None,
            summary_path: None,
            charts_path: None,
            ui_metadata_path: None,
            progress,
        }
    }

    /// Where artifact `file` of a stage lives.
    pub fn path_of(&self, file: &str) -> PathBuf {
        let chosen = match file {
            files::METRICS => &self.metrics_path,
            files::SUMMARY => &self.summary_path,
            files::CHARTS => &self.charts_path,
            _ => &None,
        };
        chosen.clone().unwrap_or_else(|| self.data_path.join(file))
    }
}

/// One stage of the lab.
pub struct Stage {
    /// The lab's function name (`load_data`).
    pub name: &'static str,
    /// The CLI subcommand (`load-data`).
    pub command: &'static str,
    /// One line on what it does.
    pub description: &'static str,
    /// Files it reads from the data path.
    pub inputs: &'static [&'static str],
    /// Files it writes to the data path.
    pub outputs: &'static [&'static str],
    /// The lab function's arguments: KFP input parameters of its component
    /// and CLI flags of its subcommand (`data_path` is `--data-path`).
    pub params: &'static [&'static str],
    /// Whether it publishes the KFP metrics (evaluation_result).
    pub metrics: bool,
    /// Runs the file form; returns a one-line summary and whether it wrote
    /// its outputs.
    pub run: fn(&StageContext) -> Result<Ran>,
    /// The options in a context that shape its outputs (what its record
    /// keeps, and what makes `run` redo it when they change).
    pub options: fn(&StageContext) -> Options,
}

/// What one run of a stage did.
#[derive(Debug, Clone, PartialEq)]
pub struct Ran {
    /// One line on what it did.
    pub summary: String,
    /// Whether it wrote its outputs (download_data finds them already there
    /// and writes nothing; a log line must not claim otherwise).
    pub wrote: bool,
    /// Wall time in seconds (set by [`Stage::execute`]).
    pub seconds: f64,
}

impl Ran {
    /// A run that wrote the stage's outputs.
    fn wrote(summary: String) -> Result<Ran> {
        Ok(Ran {
            summary,
            wrote: true,
            seconds: 0.0,
        })
    }
}

impl Stage {
    /// The CLI flag of a parameter: `data_path` -> `--data-path`.
    pub fn flag(param: &str) -> String {
        format!("--{}", param.replace('_', "-"))
    }

    /// The lab's component display name: `load_data` -> `Load data`.
    pub fn display_name(&self) -> String {
        let text = self.name.replace('_', " ");
        let mut chars = text.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => text,
        }
    }

    /// Input paths under the context's data path.
    pub fn input_paths(&self, ctx: &StageContext) -> Vec<PathBuf> {
        self.inputs.iter().map(|f| ctx.path_of(f)).collect()
    }

    /// Whether it keeps a record (every stage but download_data, whose
    /// outputs are the lab's inputs and which checks its files itself, and
    /// a stage that writes no file, such as Kubeflow's prepare-volume).
    pub fn keeps_record(&self) -> bool {
        self.name != "download_data" && !self.outputs.is_empty()
    }

    /// Runs the stage with a spinner on the context's progress; returns what
    /// it did, with its wall time.
    ///
    /// The stage commits as a whole: its inputs are checked against the
    /// records of the stages that wrote them, its outputs are held as
    /// temporary files until it succeeds, its old record is removed, the
    /// outputs are renamed into place, and the new record is written last.
    /// A stage stopped anywhere in between leaves no record, so it is not
    /// taken as up to date.
    pub fn execute(&self, ctx: &StageContext) -> Result<Ran> {
        let t = std::time::Instant::now();
        if !self.keeps_record() {
            ctx.progress.start(self.name, 0);
            let result = (self.run)(ctx);
            ctx.progress.finish();
            let mut ran = result?;
            ran.seconds = t.elapsed().as_secs_f64();
            return Ok(ran);
        }
        let removed = crate::artifact::remove_stale_temps(&ctx.data_path);
        if !removed.is_empty() {
            ctx.progress.log(&format!(
                "{}: removed {} left by a stopped run: {}",
                self.name,
                if removed.len() == 1 {
                    "a temporary file"
                } else {
                    "temporary files"
                },
                removed.join(", ")
            ));
        }
        let inputs = record::check_inputs(self, ctx)?;
        ctx.progress.start(self.name, 0);
        let writes = crate::artifact::StageWrites::begin(self.name);
        let result = (self.run)(ctx);
        ctx.progress.finish();
        let mut ran = result?;
        let record_path = record::record_path(&ctx.data_path, self.name);
        match std::fs::remove_file(&record_path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(record_path, "cannot remove", e)),
        }
        let written = writes.commit()?;
        record::write_record(self, ctx, inputs, &written)?;
        ran.seconds = t.elapsed().as_secs_f64();
        Ok(ran)
    }

    /// Output paths under the context's data path.
    pub fn output_paths(&self, ctx: &StageContext) -> Vec<PathBuf> {
        self.outputs.iter().map(|f| ctx.path_of(f)).collect()
    }
}

fn run_download_data(ctx: &StageContext) -> Result<Ran> {
    let r = download_data::download_data(&ctx.data_path, &ctx.download, ctx.progress)?;
    if r.already_present {
        return Ok(Ran {
            summary: format!(
                "{} already present, nothing written",
                ctx.download.files.join(", ")
            ),
            wrote: false,
            seconds: 0.0,
        });
    }
    Ran::wrote(format!(
        "{} bytes downloaded{}, extracted {}",
        r.downloaded_bytes,
        if r.resumed { " (resumed)" } else { "" },
        ctx.download.files.join(", ")
    ))
}

fn run_load_data(ctx: &StageContext) -> Result<Ran> {
    let loaded = load_data::load_data(&ctx.data_path)?;
    Ran::wrote(format!(
        "{} rows from 2020-01-01 on, {} assets",
        loaded.df_train.height(),
        loaded.df_asset_details.height()
    ))
}

fn run_feature_engineering(ctx: &StageContext) -> Result<Ran> {
    let shape = feature_engineering::feature_engineering(&ctx.data_path, &ctx.features)?;
    Ran::wrote(format!("{} rows x {} columns", shape.rows, shape.columns))
}

fn run_merge_assets_features(ctx: &StageContext) -> Result<Ran> {
    let shape = merge_assets_features::merge_assets_features(&ctx.data_path)?;
    Ran::wrote(format!("{} rows x {} columns", shape.rows, shape.columns))
}

fn run_modeling(ctx: &StageContext) -> Result<Ran> {
    let model = modeling::modeling(&ctx.data_path, &ctx.model, ctx.progress)?;
    let h = &model.history;
    Ran::wrote(format!(
        "best iteration {} of {} trained: rmse {:.6}, weighted correlation {:.6}",
        h.best_iteration,
        h.evals.rmse.len(),
        h.rmse,
        h.weighted_correlation
    ))
}

fn run_evaluation_result(ctx: &StageContext) -> Result<Ran> {
    let paths = evaluation_result::EvaluationPaths {
        metrics: ctx.path_of(files::METRICS),
        summary: ctx.path_of(files::SUMMARY),
        charts: ctx.path_of(files::CHARTS),
        ui_metadata: ctx.ui_metadata_path.clone(),
    };
    let metrics = evaluation_result::evaluation_result_to(&ctx.data_path, &paths)?;
    if let Some(input) = &ctx.executor_input {
        let path = crate::kfp::executor::write_metrics_output(input, &metrics)?;
        ctx.progress.log(&format!(
            "evaluation_result: KFP executor output in {}",
            path.display()
        ));
    }
    Ran::wrote(
        metrics
            .metrics
            .iter()
            .map(|m| format!("{} {:.6}", m.name, m.number_value))
            .collect::<Vec<_>>()
            .join(", "),
    )
}

pub(crate) fn no_options(_: &StageContext) -> Options {
    Options::new()
}

fn feature_options(ctx: &StageContext) -> Options {
    ctx.features.record_options()
}

fn model_options(ctx: &StageContext) -> Options {
    ctx.model.record_options()
}

fn evaluation_options(ctx: &StageContext) -> Options {
    // Where the outputs go is checked with the outputs; these two change
    // what is written besides them.
    let mut o = Options::new();
    if let Some(p) = &ctx.ui_metadata_path {
        o.insert("ui_metadata_path".into(), p.display().to_string());
    }
    if let Some(input) = &ctx.executor_input {
        o.insert("executor_input".into(), input.clone());
    }
    o
}

/// The lab's stages in pipeline order.
pub const STAGES: [Stage; 6] = [
    Stage {
        name: "download_data",
        command: "download-data",
        description: "Download the competition archive from Kaggle (or a mirror) and extract train.csv and asset_details.csv",
        inputs: &[],
        outputs: &[files::TRAIN_CSV, files::ASSET_DETAILS_CSV],
        params: &["dataset", "data_path"],
        metrics: false,
        run: run_download_data,
        options: no_options,
    },
    Stage {
        name: "load_data",
        command: "load-data",
        description: "Read train.csv and asset_details.csv, keep rows from 2020-01-01 (UTC) on",
        inputs: &[files::TRAIN_CSV, files::ASSET_DETAILS_CSV],
        outputs: &[files::DF_TRAIN, files::DF_ASSET_DETAILS],
        params: &["data_path"],
        metrics: false,
        run: run_load_data,
        options: no_options,
    },
    Stage {
        name: "feature_engineering",
        command: "feature-engineering",
        description: "RSI, ATR, DEMA, moving averages, returns, candle shapes and calendar features per asset",
        inputs: &[files::DF_TRAIN],
        outputs: &[files::FEATURE_DF],
        params: &["data_path"],
        metrics: false,
        run: run_feature_engineering,
        options: feature_options,
    },
    Stage {
        name: "merge_assets_features",
        command: "merge-assets-features",
        description: "Attach each asset's competition Weight to its feature rows",
        inputs: &[files::FEATURE_DF, files::DF_ASSET_DETAILS],
        outputs: &[files::MERGE_FEATURE_DF],
        params: &["data_path"],
        metrics: false,
        run: run_merge_assets_features,
        options: no_options,
    },
    Stage {
        name: "modeling",
        command: "modeling",
        description: "Train LightGBM with the lab's parameters, weighted correlation and early stopping",
        inputs: &[files::MERGE_FEATURE_DF],
        outputs: &[
            files::MODEL,
            files::VALID_PREDICTIONS,
            files::FEATURE_IMPORTANCE,
            files::HISTORY,
        ],
        params: &["data_path"],
        metrics: false,
        run: run_modeling,
        options: model_options,
    },
    Stage {
        name: "evaluation_result",
        command: "evaluation-result",
        description: "Check the saved model against its record; write the KFP metrics, a summary and charts",
        inputs: &[
            files::MODEL,
            files::HISTORY,
            files::FEATURE_IMPORTANCE,
            files::VALID_PREDICTIONS,
            files::MERGE_FEATURE_DF,
            files::DF_TRAIN,
        ],
        outputs: &[files::SUMMARY, files::CHARTS, files::METRICS],
        params: &["data_path"],
        metrics: true,
        run: run_evaluation_result,
        options: evaluation_options,
    },
];

/// The stage with this lab name or CLI command.
pub fn find(name: &str) -> Option<&'static Stage> {
    STAGES.iter().find(|s| s.name == name || s.command == name)
}

/// Whether `stage`'s record matches the context's options and the inputs
/// and outputs on disk (see [`record::stale_reason`] for why not).
pub fn is_up_to_date(stage: &Stage, ctx: &StageContext) -> bool {
    stage.keeps_record() && record::stale_reason(stage, ctx).is_none()
}
