//! Lab cell "Evaluate": publish the best validation scores as KFP metrics,
//! after checking the saved model and its validation predictions against
//! modeling's record.

use std::path::{Path, PathBuf};

use crate::artifact::{
    check_exists, copy_file, ensure_writable_dir, read_json, read_to_string, write_bytes,
    write_json,
};
use crate::contract::{FeatureImportance, Metrics, TrainingHistory, ValidPredictions};
use crate::error::{Error, Result};
use crate::files;
use crate::scoring::{rel_diff, rmse, weighted_correlation, Rmse, WeightedCorrelation};
use crate::stages::modeling::{model_inputs, SplitRows};

/// Largest relative gap allowed between the recorded best scores and the
/// re-scored ones. Both come from the same trees summed in the same order,
/// so anything above rounding noise means the model and its record disagree.
pub const RESCORE_TOLERANCE: f64 = 1e-9;

/// The scores of a saved model on the validation rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rescore {
    /// rmse of the saved model's predictions.
    pub rmse: f64,
    /// Weighted correlation of the same predictions.
    pub weighted_correlation: f64,
}

/// Predictions of the LightGBM text model at `model_path` on the validation
/// rows of `merge_feature_df`, with those rows, for a model trained on
/// `features`: the slow, independent check of what modeling saved in
/// `valid_predictions.parquet`.
pub fn validation_predictions(
    model_path: &Path,
    merge_feature_df: &polars::prelude::DataFrame,
    features: &[String],
) -> Result<(Vec<f64>, SplitRows)> {
    check_exists(model_path)?;
    let model_str = model_path.to_string_lossy();
    let booster = lightgbm3::Booster::from_file(&model_str)
        .map_err(|e| Error::bad_input(model_path, format!("not a LightGBM model: {e}")))?;
    let inputs = model_inputs(merge_feature_df, features)?;
    let x = inputs.rows_of(&inputs.valid).to_matrix();
    let pred = booster
        .predict(&x, features.len() as i32, true)
        .map_err(|e| Error::LightGbm(e.to_string()))?;
    Ok((pred, inputs.valid))
}

impl Rescore {
    /// The metrics of predictions `pred` for labels `y` with weights `w`.
    pub fn of(pred: &[f64], y: &[f32], w: &[f64]) -> Self {
        Rescore {
            rmse: rmse(pred, y),
            weighted_correlation: weighted_correlation(pred, y, w),
        }
    }
}

/// The metrics of modeling's saved validation predictions, read a slice at
/// a time: the same sums in the same order as [`Rescore::of`] on the whole.
pub fn saved_scores(path: &Path) -> Result<Rescore> {
    let mut corr = WeightedCorrelation::default();
    let mut rmse = Rmse::default();
    ValidPredictions::for_each_slice(path, |pred, y, w| {
        corr.first_pass(pred, y, w);
        rmse.add(pred, y);
        Ok(())
    })?;
    ValidPredictions::for_each_slice(path, |pred, y, w| {
        corr.second_pass(pred, y, w);
        Ok(())
    })?;
    Ok(Rescore {
        rmse: rmse.value(),
        weighted_correlation: corr.value(),
    })
}

/// Fails unless the model text at `model_path` holds `best_iteration` trees:
/// modeling saves the best rounds only.
pub fn check_model_file(model_path: &Path, history: &TrainingHistory) -> Result<()> {
    let text = read_to_string(model_path)?;
    if !text.starts_with("tree") {
        return Err(Error::bad_input(
            model_path,
            "not a LightGBM text model (expected it to begin with `tree`)",
        ));
    }
    let trees = text.lines().filter(|l| l.starts_with("Tree=")).count();
    if trees != history.best_iteration {
        return Err(Error::Inconsistent(format!(
            "{} holds {trees} trees but {} records best iteration {}: they do not belong together; run modeling again",
            model_path.display(),
            files::HISTORY,
            history.best_iteration
        )));
    }
    Ok(())
}

/// Fails unless the re-scored metrics agree with the recorded best scores.
/// A weighted correlation that a caller's function computed (the history's
/// `custom_feval`) cannot be re-scored: the rmse alone is checked then.
pub fn check_rescore(history: &TrainingHistory, rescore: &Rescore) -> Result<()> {
    let checked = if history.custom_feval { 1 } else { 2 };
    for (name, recorded, again) in [
        ("rmse", history.rmse, rescore.rmse),
        (
            "weighted correlation",
            history.weighted_correlation,
            rescore.weighted_correlation,
        ),
    ]
    .into_iter()
    .take(checked)
    {
        let gap = rel_diff(recorded, again);
        if gap.is_nan() || gap > RESCORE_TOLERANCE {
            return Err(Error::Inconsistent(format!(
                "the saved validation predictions score {name} {again} but modeling recorded {recorded}: \
                 {} and {} do not belong together; run modeling again",
                files::VALID_PREDICTIONS,
                files::HISTORY
            )));
        }
    }
    Ok(())
}

/// Where evaluation_result writes what it produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvaluationPaths {
    /// The KFP metrics JSON (v1's `mlpipeline-metrics`).
    pub metrics: PathBuf,
    /// A short markdown summary (KFP v2 Markdown artifact).
    pub summary: PathBuf,
    /// The charts and summary as one HTML page (KFP v2 HTML artifact).
    pub charts: PathBuf,
    /// KFP v1's `mlpipeline-ui-metadata` (markdown and page inline), if wanted.
    pub ui_metadata: Option<PathBuf>,
    /// A copy of the trained model (`lgb.txt`), if wanted: KFP's `model`
    /// output artifact, so the model outlives the run's volume.
    pub model: Option<PathBuf>,
    /// A copy of the validation predictions, if wanted: KFP's
    /// `predictions` output artifact.
    pub predictions: Option<PathBuf>,
}

/// `--metrics-path`: where the KFP metrics go (declared once for the CLI,
/// the scripts and the KFP exporter's container arguments).
pub const METRICS_PATH_FLAG: &str = "metrics-path";
/// `--summary-path`: where the markdown summary goes.
pub const SUMMARY_PATH_FLAG: &str = "summary-path";
/// `--charts-path`: where the chart page goes.
pub const CHARTS_PATH_FLAG: &str = "charts-path";
/// `--ui-metadata-path`: where KFP v1's UI metadata goes.
pub const UI_METADATA_PATH_FLAG: &str = "ui-metadata-path";
/// `--model-path`: where a copy of the trained model goes.
pub const MODEL_PATH_FLAG: &str = "model-path";
/// `--predictions-path`: where a copy of the validation predictions goes.
pub const PREDICTIONS_PATH_FLAG: &str = "predictions-path";
/// `--executor-input`: KFP v2's executor input (`{{$}}`).
pub const EXECUTOR_INPUT_FLAG: &str = "executor-input";

/// Where evaluation_result writes, as the user gave it; `None` is the
/// default name in the data path. Also the stage's flags (`clap`), so the
/// subcommand, its script and the KFP steps' arguments are these fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct EvaluationOptions {
    /// Where to write the metrics [default: DIR/mlpipeline-metrics.json].
    #[arg(long = METRICS_PATH_FLAG, value_name = "FILE")]
    pub metrics_path: Option<PathBuf>,
    // Not an option of the stage's outputs: the runner's, after the stage.
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
    /// Also copy the trained model (lgb.txt) here (KFP's model artifact).
    #[arg(long = MODEL_PATH_FLAG, value_name = "FILE")]
    pub model_path: Option<PathBuf>,
    /// Also copy the validation predictions here (KFP's predictions artifact).
    #[arg(long = PREDICTIONS_PATH_FLAG, value_name = "FILE")]
    pub predictions_path: Option<PathBuf>,
}

impl EvaluationOptions {
    /// The paths these options give in `data_path`.
    pub fn paths(&self, data_path: &Path) -> EvaluationPaths {
        let or =
            |p: &Option<PathBuf>, name: &str| p.clone().unwrap_or_else(|| data_path.join(name));
        EvaluationPaths {
            metrics: or(&self.metrics_path, files::METRICS),
            summary: or(&self.summary_path, files::SUMMARY),
            charts: or(&self.charts_path, files::CHARTS),
            ui_metadata: self.ui_metadata_path.clone(),
            model: self.model_path.clone(),
            predictions: self.predictions_path.clone(),
        }
    }
}

impl EvaluationPaths {
    /// Everything in the data path, under the default names.
    pub fn in_data_path(data_path: &Path) -> Self {
        EvaluationPaths {
            metrics: data_path.join(files::METRICS),
            summary: data_path.join(files::SUMMARY),
            charts: data_path.join(files::CHARTS),
            ui_metadata: None,
            model: None,
            predictions: None,
        }
    }
}

/// The markdown summary of a training record and its metrics.
pub fn summary_markdown(history: &TrainingHistory, importance: &FeatureImportance) -> String {
    let mut top: Vec<(&String, f64)> = importance
        .feature
        .iter()
        .zip(importance.gain.iter().copied())
        .collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1));
    // Feature names come from the data's columns: a backtick, a pipe or a
    // line break in one must not restructure the Markdown.
    let top: Vec<String> = top
        .iter()
        .take(5)
        .map(|(f, _)| {
            let name: String = crate::error::printable(f)
                .chars()
                .map(|c| if matches!(c, '`' | '|') { '\'' } else { c })
                .collect();
            format!("`{name}`")
        })
        .collect();
    format!(
        "# G-Research Crypto Forecasting: evaluation\n\n\
         | metric | value |\n| --- | --- |\n\
         | root-mean-squared-error | {:.6} |\n| weighted-correlation | {:.6} |\n\n\
         Best iteration {} of {} rounds trained ({}); {} training rows, {} validation rows; \
         learning rate {}, seed {}.\n\nMost important features (gain): {}.\n",
        history.rmse,
        history.weighted_correlation,
        history.best_iteration,
        history.evals.rmse.len(),
        if history.stopped_early {
            format!(
                "early stopping after {} rounds without improvement",
                history.params.early_stopping_rounds
            )
        } else {
            "all rounds".to_string()
        },
        history.train_rows,
        history.valid_rows,
        history.params.learning_rate,
        history.params.seed,
        top.join(", ")
    )
}

/// The chart page: the summary as escaped text, then the charts' SVG (made
/// here by plotters, which escapes the text it draws).
pub fn html_page(summary: &str, charts: &[crate::plots::Svg]) -> String {
    let mut body = String::new();
    // Everything from the summary is text, escaped: it names features.
    let esc = crate::table::escape_html;
    for line in summary.lines() {
        if let Some(h) = line.strip_prefix("# ") {
            body.push_str(&format!("<h1>{}</h1>\n", esc(h)));
        } else if !line.is_empty() && !line.starts_with('|') {
            body.push_str(&format!("<p>{}</p>\n", esc(&line.replace('`', ""))));
        }
    }
    for svg in charts {
        body.push_str(&format!("<div>{}</div>\n", svg.0));
    }
    format!("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>crypto-lab evaluation</title></head>\n<body style=\"font-family: sans-serif\">\n{body}</body></html>\n")
}

/// File form with every output path chosen: checks the saved model against
/// its record, then writes the metrics, the summary, the chart page and, if
/// asked, KFP v1's UI metadata and copies of the model and predictions.
pub fn evaluation_result_to(data_path: &Path, paths: &EvaluationPaths) -> Result<Metrics> {
    let history: TrainingHistory = read_json(&data_path.join(files::HISTORY))?;
    let importance: FeatureImportance = read_json(&data_path.join(files::FEATURE_IMPORTANCE))?;
    check_model_file(&data_path.join(files::MODEL), &history)?;
    check_rescore(
        &history,
        &saved_scores(&data_path.join(files::VALID_PREDICTIONS))?,
    )?;
    let metrics = Metrics::from_history(&history);
    let summary = summary_markdown(&history, &importance);
    let charts = crate::plots::charts(&crate::plots::ChartInputs {
        data_path,
        asset_id: chart_asset(&data_path.join(files::VALID_PREDICTIONS))?,
        history: &history,
        importance: &importance,
    })?;
    let charts = charts
        .iter()
        .map(|c| c.to_svg())
        .collect::<Result<Vec<_>>>()?;
    let page = html_page(&summary, &charts);
    let mut outputs = vec![&paths.metrics, &paths.summary, &paths.charts];
    outputs.extend(paths.ui_metadata.as_ref());
    outputs.extend(paths.model.as_ref());
    outputs.extend(paths.predictions.as_ref());
    for out in outputs {
        if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
            ensure_writable_dir(parent)?;
        }
    }
    write_bytes(&paths.summary, summary.as_bytes())?;
    write_bytes(&paths.charts, page.as_bytes())?;
    if let Some(ui) = &paths.ui_metadata {
        let doc = serde_json::json!({"outputs": [
            {"type": "markdown", "storage": "inline", "source": summary},
            {"type": "web-app", "storage": "inline", "source": page},
        ]});
        write_json(ui, &doc)?;
    }
    for (file, copy) in [
        (files::MODEL, &paths.model),
        (files::VALID_PREDICTIONS, &paths.predictions),
    ] {
        if let Some(to) = copy {
            copy_file(&data_path.join(file), to)?;
        }
    }
    // The metrics go last: their presence says the whole step succeeded.
    write_json(&paths.metrics, &metrics)?;
    Ok(metrics)
}

/// The asset whose prices the chart page draws: the lab's (Bitcoin) when it
/// is in the validation rows, else the lowest Asset_ID there, so data
/// without Bitcoin still gets its page instead of failing after training.
fn chart_asset(valid_predictions: &Path) -> Result<i64> {
    let df = crate::artifact::read_parquet_columns(valid_predictions, &["Asset_ID"])?;
    let ids = crate::columns::i64_column(&df, "Asset_ID", valid_predictions)?;
    if ids.contains(&crate::plots::PRICE_ASSET) {
        return Ok(crate::plots::PRICE_ASSET);
    }
    Ok(ids
        .iter()
        .copied()
        .min()
        .unwrap_or(crate::plots::PRICE_ASSET))
}

/// File form, as the lab's `evaluation_result(data_path, metrics_path)`:
/// checks the saved model against its record and writes the KFP metrics
/// JSON to `metrics_path` (default `data_path/mlpipeline-metrics.json`),
/// with the summary and chart page beside the other artifacts.
pub fn evaluation_result(data_path: &Path, metrics_path: Option<&Path>) -> Result<Metrics> {
    let mut paths = EvaluationPaths::in_data_path(data_path);
    if let Some(p) = metrics_path {
        paths.metrics = p.to_path_buf();
    }
    evaluation_result_to(data_path, &paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_page_escapes_what_the_summary_says() {
        let page = html_page(
            "# <b>title</b>\nfeatures `<script>alert(1)</script>` & \"x\"\n| table |",
            &[],
        );
        assert!(
            !page.contains("<script>") && !page.contains("<b>"),
            "{page}"
        );
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;"));
        assert!(page.contains("<h1>&lt;b&gt;title&lt;/b&gt;</h1>"));
    }
}
