//! Lab cell "Evaluate": publish the best validation scores as KFP metrics,
//! after re-scoring the validation rows with the saved model.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::artifact::{check_exists, ensure_writable_dir, read_json, read_parquet, write_json};
use crate::error::{Error, Result};
use crate::metrics::{rel_diff, rmse, weighted_correlation};
use crate::stages::files;
use crate::stages::modeling::{split_train_valid, TrainingHistory, FEATURES};

/// Largest relative gap allowed between the recorded best scores and the
/// re-scored ones. Both come from the same trees summed in the same order,
/// so anything above rounding noise means the model and its record disagree.
pub const RESCORE_TOLERANCE: f64 = 1e-9;

/// One entry of the KFP v1 metrics file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// Metric name shown in the KFP UI.
    pub name: String,
    /// Its value.
    #[serde(rename = "numberValue")]
    pub number_value: f64,
    /// Display format (`RAW` or `PERCENTAGE`).
    pub format: String,
}

/// The lab's `mlpipeline-metrics` document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// The metrics, rmse first.
    pub metrics: Vec<Metric>,
}

impl Metrics {
    /// The lab's two metrics from a training record.
    pub fn from_history(history: &TrainingHistory) -> Self {
        let metric = |name: &str, v: f64| Metric {
            name: name.to_string(),
            number_value: v,
            format: "RAW".to_string(),
        };
        Metrics {
            metrics: vec![
                metric("root-mean-squared-error", history.rmse),
                metric("weighted-correlation", history.weighted_correlation),
            ],
        }
    }

    /// The value of a metric by name.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.metrics
            .iter()
            .find(|m| m.name == name)
            .map(|m| m.number_value)
    }
}

/// The scores of a saved model on the validation rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rescore {
    /// rmse of the saved model's predictions.
    pub rmse: f64,
    /// Weighted correlation of the same predictions.
    pub weighted_correlation: f64,
}

/// Scores the LightGBM text model at `model_path` on the validation rows of
/// `merge_feature_df`.
pub fn rescore(
    model_path: &Path,
    merge_feature_df: &polars::prelude::DataFrame,
) -> Result<Rescore> {
    check_exists(model_path, "modeling")?;
    let model_str = model_path.to_string_lossy();
    let booster = lightgbm3::Booster::from_file(&model_str)
        .map_err(|e| Error::bad_input(model_path, format!("not a LightGBM model: {e}")))?;
    let (_, valid) = split_train_valid(merge_feature_df)?;
    let pred = booster
        .predict(&valid.x, FEATURES.len() as i32, true)
        .map_err(|e| Error::LightGbm(e.to_string()))?;
    Ok(Rescore {
        rmse: rmse(&pred, &valid.y),
        weighted_correlation: weighted_correlation(&pred, &valid.y, &valid.weight),
    })
}

/// Fails unless the re-scored metrics agree with the recorded best scores.
pub fn check_rescore(history: &TrainingHistory, rescore: &Rescore) -> Result<()> {
    for (name, recorded, again) in [
        ("rmse", history.rmse, rescore.rmse),
        (
            "weighted correlation",
            history.weighted_correlation,
            rescore.weighted_correlation,
        ),
    ] {
        let gap = rel_diff(recorded, again);
        if gap.is_nan() || gap > RESCORE_TOLERANCE {
            return Err(Error::Check(format!(
                "the saved model scores {name} {again} on the validation rows but modeling recorded {recorded}: \
                 {} and {} do not belong together; run modeling again",
                files::MODEL,
                files::HISTORY
            )));
        }
    }
    Ok(())
}

/// File form, as the lab's `evaluation_result(data_path, metrics_path)`:
/// checks the saved model against its record and writes the KFP metrics
/// JSON to `metrics_path` (default `data_path/mlpipeline-metrics.json`).
pub fn evaluation_result(data_path: &Path, metrics_path: Option<&Path>) -> Result<Metrics> {
    let history: TrainingHistory = read_json(&data_path.join(files::HISTORY), "modeling")?;
    let df = read_parquet(
        &data_path.join(files::MERGE_FEATURE_DF),
        "merge-assets-features",
    )?;
    let again = rescore(&data_path.join(files::MODEL), &df)?;
    check_rescore(&history, &again)?;
    let metrics = Metrics::from_history(&history);
    let out: PathBuf =
        metrics_path.map_or_else(|| data_path.join(files::METRICS), Path::to_path_buf);
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        ensure_writable_dir(parent)?;
    }
    write_json(&out, &metrics)?;
    Ok(metrics)
}
