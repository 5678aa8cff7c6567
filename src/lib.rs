//! crypto-lab: the Kubeflow Pipelines lab "G-Research Crypto Forecasting"
//! in Rust.
//!
//! The lab's six Python functions are stages here with the same names and
//! numbers ([`stages`]); every caller — the `crypto-lab` binary, the local
//! [`runner`], the notebook and the per-stage scripts — goes through the one
//! registry [`stages::STAGES`].
//!
//! ```no_run
//! use crypto_lab::prelude::*;
//! let data = std::path::Path::new("data");
//! synth(data, &SynthOptions::default(), &Silent)?;
//! load_data(data)?;
//! feature_engineering(data, &FeatureOptions::default())?;
//! merge_assets_features(data)?;
//! modeling(data, &ModelParams::default(), &Silent)?;
//! let metrics = evaluation_result(data, None)?;
//! # Ok::<(), crypto_lab::Error>(())
//! ```

#![warn(missing_docs)]

pub mod args;
pub mod artifact;
pub mod calendar;
mod columns;
pub mod contract;
pub mod doctor;
pub mod error;
pub mod files;
mod hash;
mod indicators;
pub mod kfp;
mod lock;
pub mod model_params;
pub mod notebook;
pub mod plots;
pub mod progress;
mod rng;
pub mod runner;
pub mod runs;
mod scoring;
pub mod stages;
pub mod synth;
mod table;
mod version;

pub use error::{Error, Result};

pub use version::VERSION;

/// The stage functions and their options, for `use crypto_lab::prelude::*`.
pub mod prelude {
    pub use crate::artifact::{read_parquet, read_parquet_slice, FrameShape};
    pub use crate::calendar::{civil, Civil};
    pub use crate::contract::{
        files, FeatureImportance, Metrics, TrainingHistory, ValidPredictions,
    };
    pub use crate::indicators::{atr, dema, nan_max, nan_min, pct_return, rolling_mean, rsi};
    pub use crate::kfp::export::edited::describe as edited_steps;
    pub use crate::kfp::export::v2::pipeline_chart;
    pub use crate::kfp::export::DataForm;
    pub use crate::kfp::{export_kfp, ExportOptions};
    pub use crate::model_params::ModelParams;
    pub use crate::notebook::{column, data_path, date, runs_frame, timed, KubeflowSettings};
    pub use crate::notebook_functions;
    pub use crate::plots::{Chart, PriceNotes, DISTRIBUTION_FEATURES};
    pub use crate::progress::{Print, Progress, Silent};
    pub use crate::runner::{run_pipeline, PipelineRun, RunOptions};
    pub use crate::runs::RunEntry;
    pub use crate::scoring::weighted_correlation;
    pub use crate::stages::download_data::credentials::Lookup;
    pub use crate::stages::download_data::{download_data, DownloadOptions, Source};
    pub use crate::stages::evaluation_result::{evaluation_result, EvaluationOptions};
    pub use crate::stages::feature_engineering::{
        build_features, feature_engineering, feature_engineering_with, get_features, AssetBars,
        FeatureOptions, Features,
    };
    pub use crate::stages::load_data::{load_data, LoadedData};
    pub use crate::stages::merge_assets_features::{merge_assets_features, merge_frames};
    pub use crate::stages::modeling::{modeling, modeling_with, TrainedModel};
    pub use crate::stages::{StageContext, StageOutput, STAGES};
    pub use crate::synth::{synth, SynthOptions};
    pub use crate::table::{describe, sample_rows, Table, Tables};
    /// The frames the stages hand each other (a notebook names the type of a
    /// variable holding one).
    pub use polars::prelude::DataFrame;
}

/// The notebook's edited functions as the pipeline's code
/// ([`kfp::export::EditedCode`]), from their names:
/// `notebook_functions!(get_features_rsi15, weighted_correlation)`. Each that
/// computes something other than the crate's is shipped with its source as
/// the notebook's kernel compiled it ([`notebook::edited_code`]).
#[macro_export]
macro_rules! notebook_functions {
    ($get_features:ident, $feval:ident) => {
        $crate::notebook::edited_code(
            (stringify!($get_features), $get_features),
            (stringify!($feval), $feval),
        )
    };
}
