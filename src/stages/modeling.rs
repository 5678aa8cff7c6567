//! Lab cell "Modeling": LightGBM with the lab's parameters, its weighted
//! correlation evaluated every round and early stopping after 60 rounds.

use std::path::Path;

use polars::prelude::*;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::artifact::{
    ensure_writable_dir, for_each_parquet_slice, read_parquet, read_parquet_columns, write_bytes,
    write_json, write_parquet,
};
use crate::columns::{col, frame, i64_column, F64Pieces};
use crate::error::{Error, Result};
use crate::lgbm::{Dataset, Importance, RowSource, Trainer};
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
    /// Applies `key=value` LightGBM parameters over these, in order, so the
    /// last one given wins; the one place where the lab's values, the flags
    /// and `--param` meet. Names go through LightGBM's aliases (`eta` is
    /// `learning_rate`, `n_estimators` is `num_iterations`); an unknown name
    /// is an error suggesting the nearest known one. Parameters modeling
    /// drives itself (rounds, learning rate, depth, seed, early stopping,
    /// threads) land in their fields; the rest replace the lab's value of
    /// the same parameter or are added.
    pub fn with_overrides(mut self, params: &[(String, String)]) -> Result<Self> {
        for (key, value) in params {
            let name = crate::lgbm::canonical_param(key.trim())?;
            let value = value.trim();
            let bad = |expected: &str| {
                Error::BadArgument(format!(
                    "--param {}={}: {expected}",
                    crate::error::printable(key),
                    crate::error::printable(value)
                ))
            };
            match name.as_str() {
                "num_iterations" => {
                    self.n_estimators = value
                        .parse()
                        .map_err(|_| bad("expected a whole number of rounds, at least 1"))?
                }
                "learning_rate" => {
                    self.learning_rate = value.parse().map_err(|_| bad("expected a number"))?
                }
                "max_depth" => {
                    self.max_depth = value
                        .parse()
                        .map_err(|_| bad("expected a whole number (-1: no limit)"))?
                }
                "seed" => {
                    self.seed = value
                        .parse()
                        .map_err(|_| bad("expected a whole number from 0 to 2147483647"))?
                }
                "early_stopping_round" => {
                    self.early_stopping_rounds = value
                        .parse()
                        .map_err(|_| bad("expected a whole number of rounds (0: off)"))?
                }
                "num_threads" => {
                    self.num_threads = value
                        .parse()
                        .map_err(|_| bad("expected a whole number of threads (0: all cores)"))?
                }
                _ => {
                    self.extra.retain(|(k, _)| canonical_or_same(k) != name);
                    self.extra.push((name, value.to_string()));
                }
            }
        }
        Ok(self)
    }

    /// Checks every value before any data is read: numbers in range
    /// (rounds at least 1, a finite learning rate above 0, a seed in
    /// LightGBM's int range), every extra name known to LightGBM, the
    /// metric left to the lab's rmse, and the whole set read by LightGBM as
    /// training would read it (its own rejection of a value is passed on).
    pub fn validate(&self) -> Result<()> {
        let limit = i32::MAX as usize;
        if self.n_estimators == 0 || self.n_estimators > limit {
            return Err(Error::BadArgument(format!(
                "n_estimators is {}: expected 1 to {limit}",
                self.n_estimators
            )));
        }
        if !self.learning_rate.is_finite() || self.learning_rate <= 0.0 {
            return Err(Error::BadArgument(format!(
                "learning_rate is {}: expected a finite number above 0",
                self.learning_rate
            )));
        }
        if self.seed > limit as u64 {
            return Err(Error::BadArgument(format!(
                "seed is {}: LightGBM's seed is an int, expected 0 to {limit}",
                self.seed
            )));
        }
        if self.num_threads > limit || self.early_stopping_rounds > limit {
            return Err(Error::BadArgument(format!(
                "num_threads {} and early_stopping_rounds {}: expected at most {limit}",
                self.num_threads, self.early_stopping_rounds
            )));
        }
        for (k, v) in &self.extra {
            let name = crate::lgbm::canonical_param(k)?;
            if v.is_empty() || v.contains(char::is_whitespace) {
                return Err(Error::BadArgument(format!(
                    "{}={}: expected a value without spaces",
                    crate::error::printable(k),
                    crate::error::printable(v)
                )));
            }
            if name == "objective" && NOT_REGRESSION.contains(&v.to_ascii_lowercase().as_str()) {
                return Err(Error::BadArgument(format!(
                    "objective={}: the lab's Target is a continuous return, so the objective \
                     must be a regression one (regression, regression_l1, huber, fair, quantile, \
                     mape, ...)",
                    crate::error::printable(v)
                )));
            }
            if name == "metric"
                && !["rmse", "l2_root", "root_mean_squared_error"].contains(&v.as_str())
            {
                return Err(Error::BadArgument(format!(
                    "metric={}: the lab reports rmse and its weighted correlation; \
                     another metric is not supported",
                    crate::error::printable(v)
                )));
            }
        }
        let rejected = |what: String, e: Error| {
            let text = e.to_string();
            Error::BadArgument(format!(
                "LightGBM rejects {what}: {}",
                crate::error::printable(text.trim_start_matches("LightGBM: ").trim())
            ))
        };
        // LightGBM's message may not name the parameter ("Unknown token
        // abc"): find the one it refuses on its own.
        for (k, v) in &self.extra {
            crate::lgbm::check_params(&format!("{k}={v}"))
                .map_err(|e| rejected(crate::error::printable(&format!("{k}={v}")), e))?;
        }
        crate::lgbm::check_params(&self.lightgbm_params())
            .map_err(|e| rejected("the parameters".into(), e))
    }

    /// The parameters handed to LightGBM, in the lab's order, each once: an
    /// extra parameter replaces the lab's value of the same parameter
    /// (LightGBM itself would keep the first of two).
    pub fn lightgbm_param_list(&self) -> Vec<(String, String)> {
        let mut list: Vec<(String, String)> = vec![
            ("objective".into(), "regression".into()),
            ("metric".into(), "rmse".into()),
            ("boosting_type".into(), "gbdt".into()),
            ("max_depth".into(), self.max_depth.to_string()),
            ("learning_rate".into(), self.learning_rate.to_string()),
            ("seed".into(), self.seed.to_string()),
            ("verbose".into(), "-1".into()),
            ("num_iterations".into(), self.n_estimators.to_string()),
        ];
        if self.num_threads > 0 {
            list.push(("num_threads".into(), self.num_threads.to_string()));
        }
        for (k, v) in &self.extra {
            let name = canonical_or_same(k);
            match list
                .iter_mut()
                .find(|(lk, _)| canonical_or_same(lk) == name)
            {
                Some(entry) => entry.1 = v.clone(),
                None => list.push((k.clone(), v.clone())),
            }
        }
        list
    }

    /// The parameter string given to LightGBM, as `lgb.train` builds it.
    pub fn lightgbm_params(&self) -> String {
        self.lightgbm_param_list()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The options as modeling's record keeps them: every parameter given to
    /// LightGBM (rounds as `n_estimators`) and the early stopping rounds;
    /// not the log period or verbosity, which change no output.
    pub fn record_options(&self) -> crate::record::Options {
        let mut o: crate::record::Options = self
            .lightgbm_param_list()
            .into_iter()
            .filter(|(k, _)| k != "verbose")
            .map(|(k, v)| {
                let k = if k == "num_iterations" {
                    "n_estimators".to_string()
                } else {
                    k
                };
                (k, v)
            })
            .collect();
        o.insert(
            "early_stopping_rounds".into(),
            self.early_stopping_rounds.to_string(),
        );
        o
    }
}

/// LightGBM objectives (and their aliases) that are not regressions: with
/// them LightGBM would read the continuous Target as classes or ranks
/// (`binary` takes every positive return as class 1) and train without a
/// word, so they are refused.
const NOT_REGRESSION: [&str; 21] = [
    "binary",
    "multiclass",
    "softmax",
    "multiclassova",
    "multiclass_ova",
    "ova",
    "ovr",
    "cross_entropy",
    "xentropy",
    "cross_entropy_lambda",
    "xentlambda",
    "lambdarank",
    "rank_xendcg",
    "xendcg",
    "xe_ndcg",
    "xe_ndcg_mart",
    "xendcg_mart",
    "custom",
    "none",
    "null",
    "na",
];

/// LightGBM's name of a parameter, or the text itself when LightGBM does
/// not know it (validate reports that).
fn canonical_or_same(key: &str) -> String {
    crate::lgbm::canonical_param(key).unwrap_or_else(|_| key.to_string())
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
    /// Validation rows and the best round's predictions.
    pub predictions: ValidPredictions,
}

/// One split of `merge_feature_df`: its rows (ascending indices into the
/// frame), their label as LightGBM stores it, and their asset weight.
#[derive(Debug, Clone, Default)]
pub struct SplitRows {
    /// Row indices in the frame, in the frame's order (the lab's `query`).
    pub rows: Vec<u32>,
    /// Target, as LightGBM stores it.
    pub y: Vec<f32>,
    /// Asset weight of each row.
    pub weight: Vec<f64>,
}

impl SplitRows {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the split is empty.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// What modeling reads from `merge_feature_df`: the feature columns, used
/// where the frame holds them, and the training and validation rows.
pub struct ModelInputs<'a> {
    /// One column per entry of [`FEATURES`].
    pub features: Vec<F64Pieces<'a>>,
    /// `train_flg == 1`.
    pub train: SplitRows,
    /// `train_flg == 0`.
    pub valid: SplitRows,
    /// Timestamp of each validation row.
    pub valid_timestamp: Vec<i64>,
}

/// The columns of `merge_feature_df` that modeling reads.
pub fn model_columns() -> Vec<&'static str> {
    let mut cols = vec!["timestamp", "Target", "train_flg", "Weight"];
    cols.extend(FEATURES);
    cols
}

/// Splits `merge_feature_df` into training (`train_flg == 1`) and validation
/// (`train_flg == 0`) rows without copying the features. Rows whose Target
/// is missing are left out (only possible with the keep-Target-NaN
/// correction; the lab fills them with 0).
pub fn model_inputs(df: &DataFrame) -> Result<ModelInputs<'_>> {
    let label = Path::new(files::MERGE_FEATURE_DF);
    if df.height() > u32::MAX as usize {
        return Err(Error::bad_input(
            label,
            format!("{} rows: at most 2^32 are supported", df.height()),
        ));
    }
    let features = FEATURES
        .iter()
        .map(|name| F64Pieces::of(df, name, label))
        .collect::<Result<Vec<_>>>()?;
    let target = F64Pieces::of(df, "Target", label)?;
    let weight = F64Pieces::of(df, "Weight", label)?;
    let timestamp = F64Pieces::of(df, "timestamp", label)?;
    let flags = F64Pieces::of(df, "train_flg", label)?;
    let (mut train, mut valid) = (SplitRows::default(), SplitRows::default());
    let mut valid_timestamp = Vec::new();
    let mut valid_without_target = 0usize;
    for (row, ((flag, t), w)) in flags
        .iter()
        .zip(target.iter())
        .zip(weight.iter())
        .enumerate()
    {
        if t.is_nan() {
            valid_without_target += usize::from(flag == 0.0);
            continue;
        }
        let split = if flag == 1.0 {
            &mut train
        } else if flag == 0.0 {
            valid_timestamp.push(timestamp.get(row) as i64);
            &mut valid
        } else {
            return Err(Error::bad_input(
                label,
                format!("row {row}: train_flg is {flag}, expected 0 or 1"),
            ));
        };
        split.rows.push(row as u32);
        split.y.push(t as f32);
        split.weight.push(w);
    }
    if valid.is_empty() && valid_without_target > 0 {
        return Err(Error::bad_input(
            label,
            format!(
                "no finite Target in the {valid_without_target} validation rows (train_flg 0): \
                 nothing to score a model on"
            ),
        ));
    }
    if train.is_empty() || valid.is_empty() {
        return Err(Error::bad_input(
            label,
            format!(
                "{} training rows (train_flg 1) and {} validation rows (train_flg 0): both are needed; \
                 the data must span the validation start date",
                train.len(),
                valid.len()
            ),
        ));
    }
    if valid.len() < 2 {
        return Err(Error::bad_input(
            label,
            format!(
                "{} validation row (train_flg 0) with a Target: the weighted correlation needs \
                 at least 2; move --valid-from earlier or give more data",
                valid.len()
            ),
        ));
    }
    for split in [&train, &valid] {
        if let Some(i) = split.weight.iter().position(|w| !w.is_finite()) {
            let asset = features[0].get(split.rows[i] as usize);
            return Err(Error::bad_input(
                label,
                format!(
                    "asset {asset} has no Weight (it is not in asset_details.csv): \
                     put it there and rerun load-data"
                ),
            ));
        }
    }
    Ok(ModelInputs {
        features,
        train,
        valid,
        valid_timestamp,
    })
}

/// Why a model's result is no result, as far as the validation rows tell: a
/// NaN or infinite metric, or one prediction for every row, is never saved
/// as a model.
fn explain_unusable(
    rmse: f64,
    wcorr: f64,
    prediction: &[f64],
    valid: &SplitRows,
) -> Option<String> {
    let scores = format!("rmse {rmse} and weighted correlation {wcorr} at the best round");
    // One value for every row has no correlation: the weighted correlation
    // is then 0/0, NaN or rounding noise, never a result.
    let first = prediction.first().copied().unwrap_or(0.0);
    if prediction.iter().all(|&p| p == first) {
        return Some(format!(
            "{scores}: the model predicts the same value for every validation row \
             (no split was found or the learning rate is too small to move it: \
             too few rows or rounds, or a constant Target)"
        ));
    }
    if rmse.is_finite() && wcorr.is_finite() {
        return None;
    }
    if prediction.iter().any(|p| !p.is_finite()) {
        return Some(format!(
            "{scores}: the model predicts non-finite values (is the learning rate too large?)"
        ));
    }
    if valid.y.iter().all(|&y| y == valid.y[0]) {
        return Some(format!(
            "{scores}: every validation Target is the same, so no correlation exists"
        ));
    }
    Some(format!("{scores}: not a usable model"))
}

impl ModelInputs<'_> {
    /// The rows of `split` as LightGBM reads them.
    pub fn rows_of<'s>(&'s self, split: &'s SplitRows) -> FeatureRows<'s> {
        FeatureRows {
            features: &self.features,
            rows: &split.rows,
        }
    }
}

/// Feature rows of one split, gathered from the frame's columns a block at
/// a time.
pub struct FeatureRows<'a> {
    features: &'a [F64Pieces<'a>],
    rows: &'a [u32],
}

impl FeatureRows<'_> {
    /// Every row as one row-major matrix (for prediction).
    pub fn to_matrix(&self) -> Vec<f64> {
        let mut out = vec![0.0; self.rows.len() * self.features.len()];
        self.fill(0, &mut out);
        out
    }
}

impl RowSource for FeatureRows<'_> {
    fn rows(&self) -> usize {
        self.rows.len()
    }
    fn cols(&self) -> usize {
        self.features.len()
    }
    fn value(&self, row: usize, col: usize) -> f64 {
        self.features[col].get(self.rows[row] as usize)
    }
    fn fill(&self, start: usize, out: &mut [f64]) {
        // LightGBM's threads wait while a block is gathered: gather it on
        // every core, a run of rows each.
        const ROWS_PER_TASK: usize = 4096;
        let cols = self.features.len();
        out.par_chunks_mut(cols * ROWS_PER_TASK)
            .enumerate()
            .for_each(|(i, part)| {
                let first = start + i * ROWS_PER_TASK;
                let rows = &self.rows[first..first + part.len() / cols];
                for (k, column) in self.features.iter().enumerate() {
                    column.gather(rows, &mut part[k..], cols);
                }
            });
    }
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
        let df = read_parquet(path, "modeling")?;
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
        for_each_parquet_slice(path, "modeling", Some(&columns), ROWS_PER_PASS, |df| {
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

fn label_of_inputs() -> &'static Path {
    Path::new(files::MERGE_FEATURE_DF)
}

/// In-memory form: trains on `merge_feature_df` and returns the model.
pub fn train_model(
    merge_feature_df: &DataFrame,
    params: &ModelParams,
    progress: &dyn Progress,
) -> Result<TrainedModel> {
    // A clone shares the columns: nothing is copied, and the caller's frame
    // stays alive.
    train_frame(merge_feature_df.clone(), params, progress)
}

/// Trains on a frame it owns, and lets it go once LightGBM has binned the
/// rows: the frame is the largest thing in memory and training needs only
/// the datasets, so the peak is the frame or the training, not both.
fn train_frame(
    merge_feature_df: DataFrame,
    params: &ModelParams,
    progress: &dyn Progress,
) -> Result<TrainedModel> {
    params.validate()?;
    let clock = std::time::Instant::now();
    let lgb_params = params.lightgbm_params();
    let ncol = FEATURES.len();
    let dataset_params = format!("{lgb_params} categorical_column=0");
    let (train_set, valid_set, train, valid, valid_timestamp, valid_asset) = {
        let inputs = model_inputs(&merge_feature_df)?;
        let mut train_set =
            Dataset::from_source(&inputs.rows_of(&inputs.train), &dataset_params, None)?;
        train_set.set_label(&inputs.train.y)?;
        train_set.set_feature_names(&FEATURES)?;
        let mut valid_set = Dataset::from_source(
            &inputs.rows_of(&inputs.valid),
            &dataset_params,
            Some(&train_set),
        )?;
        valid_set.set_label(&inputs.valid.y)?;
        valid_set.set_feature_names(&FEATURES)?;
        let valid_asset: Vec<i64> = inputs
            .valid
            .rows
            .iter()
            .map(|&r| inputs.features[0].get(r as usize) as i64)
            .collect();
        let ModelInputs {
            train,
            valid,
            valid_timestamp,
            ..
        } = inputs;
        (
            train_set,
            valid_set,
            train,
            valid,
            valid_timestamp,
            valid_asset,
        )
    };
    drop(merge_feature_df);
    progress.log(&format!(
        "modeling: {} training and {} validation rows binned by LightGBM in {:.1}s",
        train.len(),
        valid.len(),
        clock.elapsed().as_secs_f64()
    ));
    let (train, valid) = (&train, &valid);
    let mut trainer = Trainer::new(&train_set, &valid_set, &lgb_params)?;

    let mut stopper = EarlyStopping {
        rounds: params.early_stopping_rounds,
        greater_is_better: [false, true],
        best: [None, None],
    };
    let mut evals = Evals::default();
    let mut scores = Vec::with_capacity(valid.len());
    // Each metric's best round so far and the validation scores then: the
    // best round's predictions are saved without predicting again.
    let mut kept: [(usize, Vec<f64>); 2] = [(0, Vec::new()), (0, Vec::new())];
    let mut outcome = None;
    let last_iter = params.n_estimators - 1;
    let train_clock = std::time::Instant::now();
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
            let stop = stopper.check(iter, last_iter, [rmse, wcorr]);
            for (m, best) in stopper.best.iter().enumerate() {
                if matches!(best, Some((at, _, _)) if *at == iter) {
                    kept[m] = (iter, scores.clone());
                }
            }
            if let Some(stop) = stop {
                outcome = Some(stop);
                break;
            }
        }
    }
    progress.finish();
    let trained = evals.rmse.len();
    progress.log(&format!(
        "modeling: {trained} rounds in {:.1}s ({:.2}s a round, LightGBM's own work but for the weighted correlation)",
        train_clock.elapsed().as_secs_f64(),
        train_clock.elapsed().as_secs_f64() / trained as f64
    ));
    let (best_iter0, best_scores) = outcome.unwrap_or((
        trained - 1,
        [evals.rmse[trained - 1], evals.eval_wcorr[trained - 1]],
    ));
    let best_iteration = best_iter0 + 1;
    let prediction = if outcome.is_some() {
        kept.into_iter()
            .find(|(at, s)| *at == best_iter0 && !s.is_empty())
            .map(|(_, s)| s)
            .ok_or_else(|| Error::Check(format!("no scores kept for round {best_iteration}")))?
    } else {
        scores
    };
    if let Some(why) = explain_unusable(best_scores[0], best_scores[1], &prediction, valid) {
        return Err(Error::bad_input(label_of_inputs(), why));
    }
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
            train_rows: train.len(),
            valid_rows: valid.len(),
            params: params.clone(),
        },
        importance,
        predictions: ValidPredictions {
            timestamp: valid_timestamp,
            asset_id: valid_asset,
            target: valid.y.iter().map(|&y| f64::from(y)).collect(),
            weight: valid.weight.clone(),
            prediction,
        },
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
    let df = read_parquet_columns(
        &data_path.join(files::MERGE_FEATURE_DF),
        "merge-assets-features",
        &model_columns(),
    )?;
    let model = train_frame(df, params, progress)?;
    write_bytes(&data_path.join(files::MODEL), model.model_text.as_bytes())?;
    write_parquet(
        &data_path.join(files::VALID_PREDICTIONS),
        &mut model.predictions.to_frame()?,
    )?;
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
