//! What the charts show, read from the artifacts: a histogram per feature,
//! one asset's bars, a thinned sample of the predictions — never a whole
//! frame.

use std::path::Path;

use polars::prelude::DataFrame;

use super::{Chart, DISTRIBUTION_FEATURES, MAX_BARS, MAX_POINTS};
use crate::artifact::{for_each_parquet_slice, read_json};
use crate::columns::F64Pieces;
use crate::contract::{FeatureImportance, TrainingHistory};
use crate::error::Result;
use crate::files;

/// Bins of a feature histogram.
const HISTOGRAM_BINS: usize = 40;

/// A feature's histogram: counted once, so a chart holds 40 numbers, not
/// the column.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// Feature name.
    pub name: String,
    /// Left edge of the first bin.
    pub lo: f64,
    /// Bin width.
    pub width: f64,
    /// Values per bin.
    pub counts: Vec<u32>,
}

impl Histogram {
    /// The histogram of `values`, leaving out the missing values the lab
    /// filled with 0 (and anything not finite), which would hide the shape.
    pub fn of(name: &str, values: &F64Pieces) -> Histogram {
        let (lo, hi) = finite_range(values.iter().filter(|v| Self::kept(*v)));
        let mut h = Histogram::spanning(name, lo, hi);
        h.add(values);
        h
    }

    /// The histogram of a column of a Parquet file, read a slice of rows at
    /// a time (two passes: range, then counts).
    pub fn of_file(name: &str, path: &Path) -> Result<Histogram> {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for_each_slice(path, &[name], |df| {
            for v in F64Pieces::of(df, name, path)?
                .iter()
                .filter(|v| Self::kept(*v))
            {
                lo = lo.min(v);
                hi = hi.max(v);
            }
            Ok(())
        })?;
        let (lo, hi) = padded_range(lo, hi);
        let mut h = Histogram::spanning(name, lo, hi);
        for_each_slice(path, &[name], |df| {
            h.add(&F64Pieces::of(df, name, path)?);
            Ok(())
        })?;
        Ok(h)
    }

    fn kept(v: f64) -> bool {
        v.is_finite() && v != 0.0
    }

    fn spanning(name: &str, lo: f64, hi: f64) -> Histogram {
        Histogram {
            name: name.to_string(),
            lo,
            width: (hi - lo) / HISTOGRAM_BINS as f64,
            counts: vec![0; HISTOGRAM_BINS],
        }
    }

    fn add(&mut self, values: &F64Pieces) {
        for v in values.iter().filter(|v| Self::kept(*v)) {
            let b = (((v - self.lo) / self.width) as usize).min(HISTOGRAM_BINS - 1);
            self.counts[b] += 1;
        }
    }
}

/// Rows read per pass when a chart streams a large artifact.
const ROWS_PER_PASS: usize = 1 << 18;

/// Calls `f` with `columns` of a Parquet artifact, a slice of rows at a time.
fn for_each_slice(
    path: &Path,
    columns: &[&str],
    mut f: impl FnMut(&DataFrame) -> Result<()>,
) -> Result<()> {
    for_each_parquet_slice(path, Some(columns), ROWS_PER_PASS, |df| f(&df))
}

pub(super) fn finite_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    padded_range(lo, hi)
}

/// An axis range around `lo..=hi` (the finite extremes, or infinities when
/// there were none), with a little room on both sides.
pub(super) fn padded_range(lo: f64, hi: f64) -> (f64, f64) {
    if !lo.is_finite() {
        (0.0, 1.0)
    } else if lo == hi {
        (lo - 0.5, hi + 0.5)
    } else {
        let pad = (hi - lo) * 0.03;
        (lo - pad, hi + pad)
    }
}

/// Every `thin_step(len)`-th point is drawn, at most [`MAX_POINTS`].
pub(super) fn thin_step(len: usize) -> usize {
    (len / MAX_POINTS).max(1)
}

/// (timestamp, close, volume) of `asset_id`'s rows in a `df_train` frame.
pub(super) fn price_bars(df_train: &DataFrame, asset_id: i64) -> Result<Vec<(i64, f64, f64)>> {
    let label = Path::new(files::DF_TRAIN);
    let ts = F64Pieces::of(df_train, "timestamp", label)?;
    let asset = F64Pieces::of(df_train, "Asset_ID", label)?;
    let close = F64Pieces::of(df_train, "Close", label)?;
    let volume = F64Pieces::of(df_train, "Volume", label)?;
    let wanted = asset_id as f64;
    Ok(asset
        .iter()
        .zip(ts.iter())
        .zip(close.iter().zip(volume.iter()))
        .filter(|((a, _), _)| *a == wanted)
        .map(|((_, t), (c, v))| (t as i64, c, v))
        .collect())
}

/// What the five lab charts are drawn from besides the data path.
pub struct ChartInputs<'a> {
    /// The lab's data path: the price chart reads `df_train.parquet`, the
    /// distributions `merge_feature_df.parquet`, the last chart
    /// `valid_predictions.parquet`.
    pub data_path: &'a Path,
    /// Asset of the price chart.
    pub asset_id: i64,
    /// modeling's record.
    pub history: &'a TrainingHistory,
    /// modeling's importance.
    pub importance: &'a FeatureImportance,
}

/// The five lab charts. The large artifacts are read a slice of rows at a
/// time: a chart needs one asset's bars, a histogram or a thinned sample,
/// never a whole frame.
pub fn charts(inputs: &ChartInputs) -> Result<Vec<Chart>> {
    let train = inputs.data_path.join(files::DF_TRAIN);
    // A first pass counts the asset's bars and checks they are in time
    // order (as load_data leaves them); then only the bars the chart
    // draws are kept, the same ones price_volume_of would pick.
    let (mut count, mut sorted, mut last) = (0usize, true, i64::MIN);
    let wanted = inputs.asset_id as f64;
    for_each_slice(&train, &["timestamp", "Asset_ID"], |df| {
        let ts = F64Pieces::of(df, "timestamp", &train)?;
        let asset = F64Pieces::of(df, "Asset_ID", &train)?;
        for (t, a) in ts.iter().zip(asset.iter()) {
            if a == wanted {
                count += 1;
                sorted &= t as i64 >= last;
                last = t as i64;
            }
        }
        Ok(())
    })?;
    let step = if sorted {
        count.div_ceil(MAX_BARS).max(1)
    } else {
        1
    };
    let (mut bars, mut k) = (Vec::new(), 0usize);
    for_each_slice(
        &train,
        &["timestamp", "Asset_ID", "Close", "Volume"],
        |df| {
            for bar in price_bars(df, inputs.asset_id)? {
                if k % step == 0 {
                    bars.push(bar);
                }
                k += 1;
            }
            Ok(())
        },
    )?;
    let merged = inputs.data_path.join(files::MERGE_FEATURE_DF);
    let hists = DISTRIBUTION_FEATURES
        .iter()
        .map(|f| Histogram::of_file(f, &merged))
        .collect::<Result<Vec<_>>>()?;
    Ok(vec![
        Chart::price_volume_of(bars, inputs.asset_id)?,
        Chart::Distributions(hists),
        Chart::learning_curves(inputs.history),
        Chart::importance(inputs.importance),
        Chart::predicted_vs_actual_file(&inputs.data_path.join(files::VALID_PREDICTIONS))?,
    ])
}

/// The five lab charts from the artifacts in `data_path`.
pub fn lab_charts(data_path: &Path, asset_id: i64) -> Result<Vec<Chart>> {
    let history: TrainingHistory = read_json(&data_path.join(files::HISTORY))?;
    let importance: FeatureImportance = read_json(&data_path.join(files::FEATURE_IMPORTANCE))?;
    charts(&ChartInputs {
        data_path,
        asset_id,
        history: &history,
        importance: &importance,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::columns::col;

    #[test]
    fn histogram_leaves_out_filled_zeros_and_keeps_every_value() {
        let df = DataFrame::new_infer_height(vec![col(
            "x",
            vec![0.0, 1.0, 2.0, 2.0, 3.0, f64::NAN, f64::INFINITY, 0.0],
        )])
        .expect("frame");
        let h = Histogram::of("x", &F64Pieces::of(&df, "x", Path::new("f")).expect("col"));
        assert_eq!(h.counts.len(), HISTOGRAM_BINS);
        assert_eq!(h.counts.iter().sum::<u32>(), 4);
        assert!(h.lo < 1.0 && h.lo + h.width * HISTOGRAM_BINS as f64 > 3.0);
        let bin_of = |v: f64| ((v - h.lo) / h.width) as usize;
        assert_eq!(h.counts[bin_of(2.0)], 2);
        assert_eq!(h.counts[bin_of(1.0)], 1);
    }
}
