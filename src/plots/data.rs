//! What the charts show, read from the artifacts: a histogram per feature,
//! one asset's bars, a thinned sample of the predictions — never a whole
//! frame.

use std::path::Path;

use polars::prelude::DataFrame;

use super::{Chart, DISTRIBUTION_FEATURES, MAX_BARS, MAX_POINTS, PREDICTION_BINS};
use crate::artifact::{for_each_parquet_slice, read_json};
use crate::columns::F64Pieces;
use crate::contract::record::{read_record, SYNTH};
use crate::contract::{FeatureImportance, TrainingHistory};
use crate::error::Result;
use crate::files;
use crate::scoring::WeightedCorrelation;

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

/// What the price chart says besides the bars: the asset's name, whether
/// the data is synth's, and where validation starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceNotes {
    /// The asset's name, if known.
    pub name: Option<String>,
    /// Whether the bars come from `crypto-lab synth`, not the competition.
    pub synthetic: bool,
    /// First instant of the validation rows (unix seconds); marked when it
    /// falls inside the bars' period.
    pub valid_from: i64,
}

impl Default for PriceNotes {
    /// No name, not known to be synthetic, the lab's validation split.
    fn default() -> Self {
        PriceNotes {
            name: None,
            synthetic: false,
            valid_from: crate::contract::VALID_FROM,
        }
    }
}

impl PriceNotes {
    /// The notes for `asset_id`'s chart from the records in `data_path`:
    /// the competition's name of the asset (synth uses the same table),
    /// [`synthetic_data`], and the split feature_engineering last used.
    pub fn of_data_path(data_path: &Path, asset_id: i64) -> PriceNotes {
        let valid_from = files::producer(files::FEATURE_DF)
            .and_then(|stage| read_record(data_path, stage))
            .and_then(|r| r.options.get("valid_from").cloned())
            .and_then(|v| crate::calendar::parse_instant(&v));
        PriceNotes {
            name: crate::synth::ASSETS
                .iter()
                .find(|a| a.id == asset_id)
                .map(|a| a.name.to_string()),
            synthetic: synthetic_data(data_path),
            valid_from: valid_from.unwrap_or(PriceNotes::default().valid_from),
        }
    }
}

/// Whether the bars in `data_path` were made by `crypto-lab synth`: the
/// train.csv load_data read (its record's input) is the one synth wrote
/// (synth's record's output), content hash for content hash. A train.csv
/// from Kaggle or put there by hand is known by its status alone, never
/// by synth's hash, so it is never taken for synthetic; without both
/// records nothing is known and the data is not called synthetic.
pub fn synthetic_data(data_path: &Path) -> bool {
    let synth = read_record(data_path, SYNTH);
    let loaded = files::producer(files::DF_TRAIN).and_then(|stage| read_record(data_path, stage));
    match (synth, loaded) {
        (Some(synth), Some(loaded)) => {
            match (
                synth.outputs.get(files::TRAIN_CSV),
                loaded.inputs.get(files::TRAIN_CSV),
            ) {
                (Some(made), Some(read)) => made.xxh64 == read.xxh64 && made.size == read.size,
                _ => false,
            }
        }
        _ => false,
    }
}

/// The price chart of `asset_id` from `df_train.parquet` in `data_path`.
pub(super) fn price_chart(data_path: &Path, asset_id: i64) -> Result<Chart> {
    let train = data_path.join(files::DF_TRAIN);
    // A first pass counts the asset's bars and checks they are in time
    // order (as load_data leaves them); then only the bars the chart
    // draws are kept, the same ones price_volume_of would pick.
    let (mut count, mut sorted, mut last) = (0usize, true, i64::MIN);
    let wanted = asset_id as f64;
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
            for bar in price_bars(df, asset_id)? {
                if k % step == 0 {
                    bars.push(bar);
                }
                k += 1;
            }
            Ok(())
        },
    )?;
    Chart::price_volume_of(
        bars,
        asset_id,
        PriceNotes::of_data_path(data_path, asset_id),
    )
}

/// What the predicted-vs-actual chart shows, gathered in two passes over
/// the rows (as [`WeightedCorrelation`] needs): a thinned sample and the
/// correlation's means first, then the bins, whose edges are quantiles of
/// the sample, and the correlation's sums.
pub(super) struct PredictionSummary {
    step: usize,
    row: usize,
    weighted: bool,
    points: Vec<(f64, f64)>,
    corr: WeightedCorrelation,
    /// Upper edges of every bin but the last, ascending.
    edges: Vec<f64>,
    /// (sum predicted, sum actual, rows) per bin.
    sums: Vec<(f64, f64, u64)>,
}

impl PredictionSummary {
    /// For `rows` rows; `weighted` says whether the weights given are the
    /// assets' (else all 1).
    pub(super) fn new(rows: usize, weighted: bool) -> Self {
        PredictionSummary {
            step: thin_step(rows),
            row: 0,
            weighted,
            points: Vec::new(),
            corr: WeightedCorrelation::default(),
            edges: Vec::new(),
            sums: Vec::new(),
        }
    }

    /// The chart of rows held in memory.
    pub(super) fn of(pred: &[f64], actual: &[f32], weight: &[f64], weighted: bool) -> Chart {
        let n = pred.len().min(actual.len()).min(weight.len());
        let (pred, actual, weight) = (&pred[..n], &actual[..n], &weight[..n]);
        let mut summary = PredictionSummary::new(n, weighted);
        summary.first_pass(pred, actual, weight);
        summary.close_first_pass();
        summary.second_pass(pred, actual, weight);
        summary.chart()
    }

    pub(super) fn first_pass(&mut self, pred: &[f64], actual: &[f32], weight: &[f64]) {
        self.corr.first_pass(pred, actual, weight);
        for (p, a) in pred.iter().zip(actual) {
            if self.row.is_multiple_of(self.step) {
                self.points.push((*p, f64::from(*a)));
            }
            self.row += 1;
        }
    }

    /// Bin edges from the sample: every bin then holds about as many rows
    /// (the sample is evenly spaced), so the outer bins are not a handful
    /// of extreme predictions.
    pub(super) fn close_first_pass(&mut self) {
        let mut sample: Vec<f64> = self
            .points
            .iter()
            .map(|p| p.0)
            .filter(|p| p.is_finite())
            .collect();
        sample.sort_by(f64::total_cmp);
        let mut edges: Vec<f64> = (1..PREDICTION_BINS)
            .filter_map(|k| sample.get(k * sample.len() / PREDICTION_BINS).copied())
            .collect();
        // Models with few distinct predictions repeat quantiles.
        edges.dedup();
        self.sums = vec![(0.0, 0.0, 0); edges.len() + 1];
        self.edges = edges;
    }

    pub(super) fn second_pass(&mut self, pred: &[f64], actual: &[f32], weight: &[f64]) {
        self.corr.second_pass(pred, actual, weight);
        for (p, a) in pred.iter().zip(actual) {
            let a = f64::from(*a);
            if !(p.is_finite() && a.is_finite()) {
                continue;
            }
            let bin = self.edges.partition_point(|e| e < p);
            let s = &mut self.sums[bin];
            s.0 += p;
            s.1 += a;
            s.2 += 1;
        }
    }

    pub(super) fn chart(self) -> Chart {
        let bins = self
            .sums
            .iter()
            .filter(|s| s.2 > 0)
            .map(|s| (s.0 / s.2 as f64, s.1 / s.2 as f64))
            .collect();
        Chart::PredictedVsActual {
            points: self.points,
            bins,
            corr: self.corr.value(),
            weighted: self.weighted,
        }
    }
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
    let price = price_chart(inputs.data_path, inputs.asset_id)?;
    let merged = inputs.data_path.join(files::MERGE_FEATURE_DF);
    let hists = DISTRIBUTION_FEATURES
        .iter()
        .map(|f| Histogram::of_file(f, &merged))
        .collect::<Result<Vec<_>>>()?;
    Ok(vec![
        price,
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
