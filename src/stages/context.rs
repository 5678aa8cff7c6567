//! What a stage is given besides its files.

use std::path::PathBuf;

use super::download_data::DownloadOptions;
use super::evaluation_result::EvaluationOptions;
use super::feature_engineering::{FeatureOptions, GetFeatures};
use super::modeling::Feval;
use super::placed::PlacedFiles;
use crate::files;
use crate::model_params::ModelParams;
use crate::progress::Progress;

/// Everything a stage may need besides its files: the data path, each
/// stage's own options (one group per stage that has any) and who listens.
pub struct StageContext<'a> {
    /// The lab's `data_path`: where every artifact lives.
    pub data_path: PathBuf,
    /// download_data: where the competition archive comes from.
    pub download: DownloadOptions,
    /// feature_engineering (lab behaviour by default).
    pub features: FeatureOptions,
    /// modeling: LightGBM parameters (the lab's by default).
    pub model: ModelParams,
    /// evaluation_result: where its outputs go (the data path by default).
    pub evaluation: EvaluationOptions,
    /// The lab functions the stages call: the crate's, or a notebook's
    /// edited ones (a Rust lightweight component's).
    pub functions: StageFunctions,
    /// Inputs and outputs at paths of their own (KFP's artifacts form);
    /// empty: all in the data path.
    pub placed: PlacedFiles,
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
            evaluation: EvaluationOptions::default(),
            placed: PlacedFiles::default(),
            functions: StageFunctions::default(),
            progress,
        }
    }

    /// Where artifact `file` of a stage lives.
    pub fn path_of(&self, file: &str) -> PathBuf {
        let e = &self.evaluation;
        let chosen = match file {
            files::METRICS => &e.metrics_path,
            files::SUMMARY => &e.summary_path,
            files::CHARTS => &e.charts_path,
            _ => &None,
        };
        chosen.clone().unwrap_or_else(|| self.data_path.join(file))
    }
}

/// The lab functions a run calls, each with the name it is known by (the
/// crate's own, or the notebook function that replaced it): the record and
/// the runs table say which ran.
#[derive(Clone, Copy)]
pub struct StageFunctions {
    /// feature_engineering's `get_features` and its name.
    pub get_features: (&'static str, GetFeatures),
    /// modeling's feval (the lab's `weighted_correlation`) and its name.
    pub feval: (&'static str, Feval),
}

impl Default for StageFunctions {
    fn default() -> Self {
        StageFunctions {
            get_features: (CRATE_FUNCTION, super::feature_engineering::get_features),
            feval: (CRATE_FUNCTION, crate::scoring::weighted_correlation),
        }
    }
}

/// The name a [`StageFunctions`] entry has while it is the crate's own.
pub const CRATE_FUNCTION: &str = "crate";

impl std::fmt::Debug for StageFunctions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StageFunctions")
            .field("get_features", &self.get_features.0)
            .field("feval", &self.feval.0)
            .finish()
    }
}
