//! What modeling hands evaluation_result and the charts: the training
//! history (`lgb_history.json`), the feature importance
//! (`feature_importance.json`) and the validation predictions
//! (`valid_predictions.parquet`).

use std::path::Path;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::artifact::{for_each_parquet_slice, read_parquet};
use crate::columns::{col, frame, i64_column, F64Pieces};
use crate::error::Result;
use crate::model_params::ModelParams;

/// `01/05/2021` as the lab's `time.mktime` reads it on a UTC machine (every
/// KFP container): rows from this instant on are validation (`train_flg` 0).
pub const VALID_FROM: i64 = 1_619_827_200;

/// Per-round validation metrics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evals {
    /// Validation rmse after each round.
    pub rmse: Vec<f64>,
    /// Validation weighted correlation after each round.
    pub eval_wcorr: Vec<f64>,
}

/// What modeling records next to the model (`lgb_history.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingHistory {
    /// Best round, 1-based, as `booster.best_iteration`.
    pub best_iteration: usize,
    /// Validation rmse at the best round.
    #[serde(rename = "root-mean-squared-error")]
    pub rmse: f64,
    /// Validation weighted correlation at the best round.
    #[serde(rename = "weighted-correlation")]
    pub weighted_correlation: f64,
    /// Every round's metrics.
    pub evals: Evals,
    /// Whether early stopping ended training before `n_estimators`.
    pub stopped_early: bool,
    /// Rows used for training and validation.
    pub train_rows: usize,
    /// Validation rows.
    pub valid_rows: usize,
    /// The parameters used.
    pub params: ModelParams,
    /// Whether the weighted correlation came from a caller's function (a
    /// notebook's `weighted_correlation`) rather than the crate's: then
    /// evaluation_result cannot re-score it and checks the rmse alone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub custom_feval: bool,
    /// The first validation bar's time (unix seconds): the validation start
    /// (`valid_from`) as the frame has it. Absent in histories written
    /// before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_valid_timestamp: Option<i64>,
    /// Rows left out because their Target is missing: 0 with the lab's
    /// fill, the missing Targets with `keep_target_nan`.
    #[serde(default)]
    pub rows_without_target: usize,
}

/// Feature importance of the saved model (`feature_importance.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureImportance {
    /// Feature names, in model order.
    pub feature: Vec<String>,
    /// Number of splits on each feature.
    pub split: Vec<f64>,
    /// Total gain of each feature's splits.
    pub gain: Vec<f64>,
}

/// The validation rows with the model's predictions at its best round
/// (`valid_predictions.parquet`): what evaluation scores and charts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValidPredictions {
    /// Bar time.
    pub timestamp: Vec<i64>,
    /// Asset.
    pub asset_id: Vec<i64>,
    /// Target as LightGBM stores it (`f32`), widened.
    pub target: Vec<f64>,
    /// Asset weight.
    pub weight: Vec<f64>,
    /// The model's prediction.
    pub prediction: Vec<f64>,
}

impl ValidPredictions {
    /// As a frame, to save.
    pub fn to_frame(&self) -> Result<DataFrame> {
        frame(vec![
            col("timestamp", self.timestamp.clone()),
            col("Asset_ID", self.asset_id.clone()),
            col("Target", self.target.clone()),
            col("Weight", self.weight.clone()),
            col("prediction", self.prediction.clone()),
        ])
    }

    /// Reads `valid_predictions.parquet`.
    pub fn read(path: &Path) -> Result<Self> {
        let df = read_parquet(path)?;
        let f = |name| F64Pieces::of(&df, name, path).map(|c| c.iter().collect::<Vec<f64>>());
        Ok(ValidPredictions {
            timestamp: i64_column(&df, "timestamp", path)?,
            asset_id: i64_column(&df, "Asset_ID", path)?,
            target: f("Target")?,
            weight: f("Weight")?,
            prediction: f("prediction")?,
        })
    }

    /// Calls `f` with the predictions, the Targets as LightGBM saw them and
    /// the weights of `valid_predictions.parquet`, a slice of rows at a time
    /// (evaluation's checks and chart, without the whole file in memory).
    pub fn for_each_slice(
        path: &Path,
        mut f: impl FnMut(&[f64], &[f32], &[f64]) -> Result<()>,
    ) -> Result<()> {
        const ROWS_PER_PASS: usize = 1 << 18;
        let columns = ["prediction", "Target", "Weight"];
        for_each_parquet_slice(path, Some(&columns), ROWS_PER_PASS, |df| {
            let values =
                |name| F64Pieces::of(&df, name, path).map(|c| c.iter().collect::<Vec<_>>());
            let target: Vec<f32> = values("Target")?.iter().map(|&t| t as f32).collect();
            f(&values("prediction")?, &target, &values("Weight")?)
        })
    }

    /// Targets as LightGBM saw them.
    pub fn labels(&self) -> Vec<f32> {
        self.target.iter().map(|&t| t as f32).collect()
    }
}
