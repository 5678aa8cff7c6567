//! What modeling reads of `merge_feature_df`: the training and validation
//! rows (without copying the features) and the feature rows LightGBM bins.

use std::path::Path;

use polars::prelude::*;
use rayon::prelude::*;

use crate::columns::F64Pieces;
use crate::error::{Error, Result};
use crate::files;
use crate::stages::modeling::lgbm::RowSource;

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
    /// One column per feature the model learns from, in the given order.
    pub features: Vec<F64Pieces<'a>>,
    /// The Asset_ID of every row (whether or not it is a feature).
    pub asset: F64Pieces<'a>,
    /// `train_flg == 1`.
    pub train: SplitRows,
    /// `train_flg == 0`.
    pub valid: SplitRows,
    /// Timestamp of each validation row.
    pub valid_timestamp: Vec<i64>,
    /// Rows left out because their Target is missing (none with the lab's
    /// fill; the keep-Target-NaN correction keeps them missing).
    pub rows_without_target: usize,
}

/// The columns of `merge_feature_df` that modeling reads for `features`.
pub fn model_columns(features: &[String]) -> Vec<String> {
    let mut cols: Vec<String> = ["timestamp", "Asset_ID", "Target", "train_flg", "Weight"]
        .iter()
        .map(|c| c.to_string())
        .collect();
    cols.extend(
        features
            .iter()
            .filter(|f| !cols.contains(f))
            .cloned()
            .collect::<Vec<_>>(),
    );
    cols
}

/// Splits `merge_feature_df` into training (`train_flg == 1`) and validation
/// (`train_flg == 0`) rows without copying the features. Rows whose Target
/// is missing are left out (only possible with the keep-Target-NaN
/// correction; the lab fills them with 0).
pub fn model_inputs<'a>(df: &'a DataFrame, features: &[String]) -> Result<ModelInputs<'a>> {
    let label = Path::new(files::MERGE_FEATURE_DF);
    if df.height() > u32::MAX as usize {
        return Err(Error::bad_input(
            label,
            format!("{} rows: at most 2^32 are supported", df.height()),
        ));
    }
    if let Some(missing) = features
        .iter()
        .find(|f| crate::columns::find_column(df, f).is_none())
    {
        return Err(Error::bad_input(
            label,
            format!(
                "no column {} for the model's features (the features list names it; \
                 does get_features make it?)",
                crate::error::printable(missing)
            ),
        ));
    }
    let features = features
        .iter()
        .map(|name| F64Pieces::of(df, name, label))
        .collect::<Result<Vec<_>>>()?;
    let asset = F64Pieces::of(df, "Asset_ID", label)?;
    let target = F64Pieces::of(df, "Target", label)?;
    let weight = F64Pieces::of(df, "Weight", label)?;
    let timestamp = F64Pieces::of(df, "timestamp", label)?;
    let flags = F64Pieces::of(df, "train_flg", label)?;
    let (mut train, mut valid) = (SplitRows::default(), SplitRows::default());
    let mut valid_timestamp = Vec::new();
    let mut valid_without_target = 0usize;
    let mut rows_without_target = 0usize;
    for (row, ((flag, t), w)) in flags
        .iter()
        .zip(target.iter())
        .zip(weight.iter())
        .enumerate()
    {
        if t.is_nan() {
            rows_without_target += 1;
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
            let asset = asset.get(split.rows[i] as usize);
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
        asset,
        train,
        valid,
        valid_timestamp,
        rows_without_target,
    })
}

/// Why a model's result is no result, as far as the validation rows tell: a
/// NaN or infinite metric, or one prediction for every row, is never saved
/// as a model.
pub(super) fn explain_unusable(
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
