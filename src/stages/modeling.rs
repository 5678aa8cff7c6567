//! Lab cell "Modeling": LightGBM with the lab's parameters, its weighted
//! correlation evaluated every round and early stopping after 60 rounds.

use std::path::Path;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::artifact::{ensure_writable_dir, read_parquet, write_bytes, write_json};
use crate::columns::{f64_column, i64_column};
use crate::error::{Error, Result};
use crate::lgbm::{Dataset, Importance, Trainer};
use crate::metrics::weighted_correlation;
use crate::progress::Progress;
use crate::stages::files;

/// The lab's features, in the lab's order (Asset_ID first, categorical).
/// The lab lists them apart from feature_df's columns; a test keeps the two
/// lists consistent.
pub const FEATURES: [&str; 24] = [
    "Asset_ID",
    "RSI_30",
    "ATR_30",
    "DEMA_30",
    "RSI_120",
    "ATR_120",
    "DEMA_120",
    "RSI_240",
    "ATR_240",
    "DEMA_240",
    "sma_30",
    "return_30",
    "sma_120",
    "return_120",
    "sma_240",
    "return_240",
    "HL",
    "OC",
    "lower_shadow",
    "upper_shadow",
    "Day",
    "dayofyear",
    "weekofyear",
    "season",
];

/// Names of the two validation metrics, as LightGBM's Python API reports them.
pub const METRIC_NAMES: [&str; 2] = ["rmse", "eval_wcorr"];

/// The lab's LightGBM parameters; each can be overridden.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelParams {
    /// Boosting rounds at most (`n_estimators`).
    pub n_estimators: usize,
    /// Shrinkage.
    pub learning_rate: f64,
    /// Tree depth limit, -1 for none.
    pub max_depth: i32,
    /// LightGBM's master seed.
    pub seed: u64,
    /// Stop when a metric has not improved for this many rounds; 0 disables.
    pub early_stopping_rounds: usize,
    /// Log the evaluation every this many rounds (the lab's `verbose_eval`).
    pub log_period: usize,
    /// LightGBM threads; 0 lets OpenMP choose (the lab's default).
    pub num_threads: usize,
    /// Further `key=value` LightGBM parameters, appended last.
    pub extra: Vec<(String, String)>,
}

impl Default for ModelParams {
    fn default() -> Self {
        ModelParams {
            n_estimators: 1200,
            learning_rate: 0.01,
            max_depth: -1,
            seed: 2022,
            early_stopping_rounds: 60,
            log_period: 30,
            num_threads: 0,
            extra: Vec::new(),
        }
    }
}

impl ModelParams {
    /// The parameter string given to LightGBM, as `lgb.train` builds it.
    pub fn lightgbm_params(&self) -> String {
        let mut s = format!(
            "objective=regression metric=rmse boosting_type=gbdt max_depth={} \
             learning_rate={} seed={} verbose=-1 num_iterations={}",
            self.max_depth, self.learning_rate, self.seed, self.n_estimators
        );
        if self.num_threads > 0 {
            s.push_str(&format!(" num_threads={}", self.num_threads));
        }
        for (k, v) in &self.extra {
            s.push_str(&format!(" {k}={v}"));
        }
        s
    }
}

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

/// A trained model and its record.
#[derive(Debug, Clone)]
pub struct TrainedModel {
    /// LightGBM text model holding the best rounds (what `save_model` writes
    /// by default in Python).
    pub model_text: String,
    /// Metrics per round and the best ones.
    pub history: TrainingHistory,
    /// Importance per feature.
    pub importance: FeatureImportance,
}

/// Feature matrix, label and weight of one split.
pub struct SplitData {
    /// Row-major matrix, one row per sample, columns as [`FEATURES`].
    pub x: Vec<f64>,
    /// Target, as LightGBM stores it.
    pub y: Vec<f32>,
    /// Asset weight of each row.
    pub weight: Vec<f64>,
}

impl SplitData {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.y.len()
    }
}

/// Splits `merge_feature_df` into training (`train_flg == 1`) and validation
/// (`train_flg == 0`) rows. Rows whose Target is missing are left out (only
/// possible with the keep-Target-NaN correction; the lab fills them with 0).
pub fn split_train_valid(df: &DataFrame) -> Result<(SplitData, SplitData)> {
    split(df, true)
}

/// Only the validation rows of `merge_feature_df` (the training rows are
/// counted but not copied: evaluation needs no training matrix).
pub fn validation_rows(df: &DataFrame) -> Result<SplitData> {
    Ok(split(df, false)?.1)
}

fn split(df: &DataFrame, keep_train: bool) -> Result<(SplitData, SplitData)> {
    let label = Path::new(files::MERGE_FEATURE_DF);
    let flags = i64_column(df, "train_flg", label)?;
    let target = f64_column(df, "Target", label)?;
    let weight = f64_column(df, "Weight", label)?;
    let columns: Vec<Vec<f64>> = FEATURES
        .iter()
        .map(|name| f64_column(df, name, label))
        .collect::<Result<_>>()?;
    let empty = || SplitData {
        x: Vec::new(),
        y: Vec::new(),
        weight: Vec::new(),
    };
    let (mut train, mut valid) = (empty(), empty());
    let mut train_rows = 0usize;
    for row in 0..df.height() {
        if target[row].is_nan() {
            continue;
        }
        let split = match flags[row] {
            1 if !keep_train => {
                train_rows += 1;
                continue;
            }
            1 => &mut train,
            0 => &mut valid,
            other => {
                return Err(Error::bad_input(
                    label,
                    format!("row {row}: train_flg is {other}, expected 0 or 1"),
                ))
            }
        };
        split.x.extend(columns.iter().map(|c| c[row]));
        split.y.push(target[row] as f32);
        split.weight.push(weight[row]);
    }
    train_rows += train.rows();
    if train_rows == 0 || valid.rows() == 0 {
        return Err(Error::bad_input(
            label,
            format!(
                "{train_rows} training rows (train_flg 1) and {} validation rows (train_flg 0): both are needed; \
                 the data must span the validation start date",
                valid.rows()
            ),
        ));
    }
    Ok((train, valid))
}

/// LightGBM's Python `early_stopping` callback with several metrics: stop
/// when any metric has gone `rounds` rounds without a strict improvement
/// (checked in metric order), best round and scores from that metric; at the
/// last round, the first metric's best.
struct EarlyStopping {
    rounds: usize,
    greater_is_better: [bool; 2],
    best: [Option<(usize, f64, [f64; 2])>; 2],
}

impl EarlyStopping {
    /// Feeds round `iter` (0-based); returns the (best round, scores) to stop at.
    fn check(
        &mut self,
        iter: usize,
        last_iter: usize,
        scores: [f64; 2],
    ) -> Option<(usize, [f64; 2])> {
        for m in 0..2 {
            let improved = match self.best[m] {
                None => true,
                Some((_, best, _)) if self.greater_is_better[m] => scores[m] > best,
                Some((_, best, _)) => scores[m] < best,
            };
            if improved {
                self.best[m] = Some((iter, scores[m], scores));
            }
            let (best_iter, _, best_scores) = self.best[m]?;
            if iter - best_iter >= self.rounds || iter == last_iter {
                return Some((best_iter, best_scores));
            }
        }
        None
    }
}

/// In-memory form: trains on `merge_feature_df` and returns the model.
pub fn train_model(
    merge_feature_df: &DataFrame,
    params: &ModelParams,
    progress: &dyn Progress,
) -> Result<TrainedModel> {
    if params.n_estimators == 0 {
        return Err(Error::BadArgument("n_estimators must be at least 1".into()));
    }
    let (train, valid) = split_train_valid(merge_feature_df)?;
    let lgb_params = params.lightgbm_params();
    let ncol = FEATURES.len();
    let dataset_params = format!("{lgb_params} categorical_column=0");
    let mut train_set = Dataset::from_rows(&train.x, train.rows(), ncol, &dataset_params, None)?;
    train_set.set_label(&train.y)?;
    train_set.set_feature_names(&FEATURES)?;
    let mut valid_set = Dataset::from_rows(
        &valid.x,
        valid.rows(),
        ncol,
        &dataset_params,
        Some(&train_set),
    )?;
    valid_set.set_label(&valid.y)?;
    valid_set.set_feature_names(&FEATURES)?;
    let mut trainer = Trainer::new(&train_set, &valid_set, &lgb_params)?;

    let mut stopper = EarlyStopping {
        rounds: params.early_stopping_rounds,
        greater_is_better: [false, true],
        best: [None, None],
    };
    let mut evals = Evals::default();
    let mut scores = Vec::with_capacity(valid.rows());
    let mut outcome = None;
    let last_iter = params.n_estimators - 1;
    progress.start("modeling", params.n_estimators as u64);
    for iter in 0..params.n_estimators {
        trainer.update_one_iter()?;
        let rmse = *trainer
            .eval_valid()?
            .first()
            .ok_or_else(|| Error::LightGbm("no rmse reported for the validation set".into()))?;
        trainer.valid_scores(&mut scores)?;
        let wcorr = weighted_correlation(&scores, &valid.y, &valid.weight);
        evals.rmse.push(rmse);
        evals.eval_wcorr.push(wcorr);
        progress.advance(1);
        if params.log_period > 0 && (iter + 1) % params.log_period == 0 {
            progress.log(&format!(
                "[{}]\tvalid_0's rmse: {rmse:.6}\tvalid_0's eval_wcorr: {wcorr:.6}",
                iter + 1
            ));
        }
        if params.early_stopping_rounds > 0 {
            if let Some(stop) = stopper.check(iter, last_iter, [rmse, wcorr]) {
                outcome = Some(stop);
                break;
            }
        }
    }
    progress.finish();
    let trained = evals.rmse.len();
    let (best_iter0, best_scores) = outcome.unwrap_or((
        trained - 1,
        [evals.rmse[trained - 1], evals.eval_wcorr[trained - 1]],
    ));
    let best_iteration = best_iter0 + 1;
    let stopped_early = trained < params.n_estimators;
    progress.log(&format!(
        "{}, best iteration is:\n[{best_iteration}]\tvalid_0's rmse: {:.6}\tvalid_0's eval_wcorr: {:.6}",
        if stopped_early { "Early stopping" } else { "Did not meet early stopping" },
        best_scores[0],
        best_scores[1]
    ));
    let n_iter = best_iteration as i32;
    let importance = FeatureImportance {
        feature: FEATURES.iter().map(|s| s.to_string()).collect(),
        split: trainer.feature_importance(n_iter, Importance::Split, ncol)?,
        gain: trainer.feature_importance(n_iter, Importance::Gain, ncol)?,
    };
    Ok(TrainedModel {
        model_text: trainer.model_string(n_iter)?,
        history: TrainingHistory {
            best_iteration,
            rmse: best_scores[0],
            weighted_correlation: best_scores[1],
            evals,
            stopped_early,
            train_rows: train.rows(),
            valid_rows: valid.rows(),
            params: params.clone(),
        },
        importance,
    })
}

/// File form, as the lab's `modeling(data_path)`: reads
/// `merge_feature_df.parquet`, writes `lgb.txt`, `lgb_history.json` and
/// `feature_importance.json`.
pub fn modeling(
    data_path: &Path,
    params: &ModelParams,
    progress: &dyn Progress,
) -> Result<TrainedModel> {
    ensure_writable_dir(data_path)?;
    let df = read_parquet(
        &data_path.join(files::MERGE_FEATURE_DF),
        "merge-assets-features",
    )?;
    let model = train_model(&df, params, progress)?;
    write_bytes(&data_path.join(files::MODEL), model.model_text.as_bytes())?;
    write_json(
        &data_path.join(files::FEATURE_IMPORTANCE),
        &model.importance,
    )?;
    // The history goes last: evaluation-result trusts a model only with it.
    write_json(&data_path.join(files::HISTORY), &model.history)?;
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stopper(rounds: usize) -> EarlyStopping {
        EarlyStopping {
            rounds,
            greater_is_better: [false, true],
            best: [None, None],
        }
    }

    #[test]
    fn stops_on_first_metric_without_improvement() {
        let mut s = stopper(2);
        assert_eq!(s.check(0, 9, [1.0, 0.1]), None);
        assert_eq!(s.check(1, 9, [1.0, 0.2]), None); // rmse not strictly better
        assert_eq!(s.check(2, 9, [1.1, 0.3]), Some((0, [1.0, 0.1])));
    }

    #[test]
    fn stops_on_second_metric_with_its_best() {
        let mut s = stopper(2);
        assert_eq!(s.check(0, 9, [1.0, 0.5]), None);
        assert_eq!(s.check(1, 9, [0.9, 0.4]), None);
        assert_eq!(s.check(2, 9, [0.8, 0.4]), Some((0, [1.0, 0.5])));
    }

    #[test]
    fn last_round_reports_first_metric_best() {
        let mut s = stopper(5);
        assert_eq!(s.check(0, 2, [1.0, 0.1]), None);
        assert_eq!(s.check(1, 2, [0.9, 0.0]), None);
        assert_eq!(s.check(2, 2, [0.95, 0.3]), Some((1, [0.9, 0.0])));
    }

    #[test]
    fn features_are_feature_df_columns_without_keys_and_label() {
        use crate::stages::feature_engineering::FEATURE_DF_COLUMNS;
        let derived: Vec<&str> = FEATURE_DF_COLUMNS
            .iter()
            .copied()
            .filter(|c| !["timestamp", "Target", "train_flg"].contains(c))
            .collect();
        assert_eq!(derived, FEATURES);
    }

    #[test]
    fn params_string_has_the_labs_values() {
        let s = ModelParams::default().lightgbm_params();
        for part in [
            "objective=regression",
            "metric=rmse",
            "learning_rate=0.01",
            "seed=2022",
            "num_iterations=1200",
            "max_depth=-1",
        ] {
            assert!(s.contains(part), "{s}");
        }
    }
}
