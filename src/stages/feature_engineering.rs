//! Lab cell "Feature Engineering": the lab's `get_features` for every asset.

use std::path::Path;

use polars::prelude::*;
use rayon::prelude::*;

use crate::artifact::{
    ensure_writable_dir, read_parquet_columns, write_parquet_batches, FrameShape,
};
use crate::calendar::{civil, season};
use crate::columns::{col, f64_column, frame, i64_column, join_names, nan_as_null};
use crate::error::{Error, Result};
use crate::files;
use crate::indicators::{atr, dema, nan_max, nan_min, pct_return, rolling_mean, rsi};
use crate::train_csv::NUM_ASSETS;

/// Where validation starts, part of the artifact contract: modeling and
/// the charts read the split too.
pub use crate::contract::VALID_FROM;

/// The lab's look-back windows, in rows (minutes on real data).
pub const WINDOWS: [usize; 3] = [30, 120, 240];

/// The features the lab computes for each bar, in the lab's order: in
/// `feature_df` after the keys, Target and train_flg, and in the model after
/// Asset_ID ([`crate::stages::modeling::FEATURES`]).
pub const COMPUTED_FEATURES: [&str; 23] = [
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

/// Columns of `feature_df`, in the lab's order.
pub const FEATURE_DF_COLUMNS: [&str; 27] = join_names(
    ["timestamp", "Asset_ID", "Target", "train_flg"],
    COMPUTED_FEATURES,
);

/// Choices where the lab has a quirk; the defaults keep the lab's behaviour.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureOptions {
    /// First validation instant (unix seconds). The lab takes `01/05/2021` in
    /// the machine's local time zone; the default is that date in UTC, which
    /// is what the lab computes in a KFP container.
    pub valid_from: i64,
    /// The lab fills a missing Target with 0 (its `fillna(0)` covers every
    /// column), so the model trains on made-up zeros. `true` keeps it missing
    /// (null in Parquet); modeling then leaves those rows out.
    pub keep_target_nan: bool,
}

impl Default for FeatureOptions {
    fn default() -> Self {
        FeatureOptions {
            valid_from: VALID_FROM,
            keep_target_nan: false,
        }
    }
}

impl FeatureOptions {
    /// The options as the stage's record keeps them.
    pub fn record_options(&self) -> crate::contract::record::Options {
        let mut o = crate::contract::record::Options::new();
        o.insert(
            "valid_from".into(),
            crate::calendar::format_instant(self.valid_from),
        );
        o.insert("keep_target_nan".into(), self.keep_target_nan.to_string());
        o
    }
}

/// The input columns the features need, taken out of `df_train` once.
struct Bars {
    timestamp: Vec<i64>,
    asset: Vec<i64>,
    open: Vec<f64>,
    high: Vec<f64>,
    low: Vec<f64>,
    close: Vec<f64>,
    target: Vec<f64>,
}

impl Bars {
    fn from_frame(df: &DataFrame, label: &Path) -> Result<Self> {
        Ok(Bars {
            timestamp: i64_column(df, "timestamp", label)?,
            asset: i64_column(df, "Asset_ID", label)?,
            open: f64_column(df, "Open", label)?,
            high: f64_column(df, "High", label)?,
            low: f64_column(df, "Low", label)?,
            close: f64_column(df, "Close", label)?,
            target: f64_column(df, "Target", label)?,
        })
    }

    /// Row indices of one asset, ordered by timestamp (stable for ties).
    fn rows_of(&self, asset_id: i64) -> Vec<usize> {
        let mut rows: Vec<usize> = (0..self.asset.len())
            .filter(|&i| self.asset[i] == asset_id)
            .collect();
        if !rows
            .windows(2)
            .all(|w| self.timestamp[w[0]] <= self.timestamp[w[1]])
        {
            rows.sort_by_key(|&i| self.timestamp[i]);
        }
        rows
    }

    fn pick(v: &[f64], rows: &[usize]) -> Vec<f64> {
        rows.iter().map(|&i| v[i]).collect()
    }
}

/// Features of one asset, each column under its `feature_df` name.
struct AssetFeatures {
    timestamp: Vec<i64>,
    asset: Vec<i64>,
    train_flg: Vec<i64>,
    target: Vec<f64>,
    /// The float features in the order they are computed.
    floats: Vec<(String, Vec<f64>)>,
    /// Day, dayofyear, weekofyear, season.
    calendar: Vec<(&'static str, Vec<i32>)>,
}

fn ln_or_nan(v: f64) -> f64 {
    // The lab's `replace([inf, -inf], nan)` then `fillna(0)`.
    let l = v.ln();
    if l.is_infinite() {
        f64::NAN
    } else {
        l
    }
}

fn compute_asset(bars: &Bars, asset_id: i64, opts: &FeatureOptions) -> AssetFeatures {
    let rows = bars.rows_of(asset_id);
    let open = Bars::pick(&bars.open, &rows);
    let high = Bars::pick(&bars.high, &rows);
    let low = Bars::pick(&bars.low, &rows);
    let close = Bars::pick(&bars.close, &rows);
    let target = Bars::pick(&bars.target, &rows);
    let timestamp: Vec<i64> = rows.iter().map(|&i| bars.timestamp[i]).collect();

    let mut floats: Vec<(String, Vec<f64>)> = Vec::with_capacity(19);
    for &w in &WINDOWS {
        floats.push((format!("RSI_{w}"), rsi(&close, w)));
        floats.push((format!("ATR_{w}"), atr(&high, &low, &close, w)));
        floats.push((format!("DEMA_{w}"), dema(&close, w)));
    }
    for &w in &WINDOWS {
        let mean = rolling_mean(&close, w);
        let sma = mean.iter().zip(&close).map(|(m, c)| m / c - 1.0).collect();
        floats.push((format!("sma_{w}"), sma));
        floats.push((format!("return_{w}"), pct_return(&close, w)));
    }
    let n = close.len();
    let (mut hl, mut oc, mut lower, mut upper) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for i in 0..n {
        hl.push(high[i] - low[i]);
        oc.push(close[i] - open[i]);
        lower.push(nan_min(close[i], open[i]) - low[i]);
        upper.push(high[i] - nan_max(close[i], open[i]));
    }
    for (name, v) in [
        ("HL", hl),
        ("OC", oc),
        ("lower_shadow", lower),
        ("upper_shadow", upper),
    ] {
        floats.push((name.to_string(), v.into_iter().map(ln_or_nan).collect()));
    }
    // The lab's `replace([inf, -inf], nan)` then `fillna(0)`, on the Target
    // too unless --keep-target-nan.
    let fill = |column: &mut [f64], keep_nan: bool| {
        for v in column.iter_mut() {
            if v.is_infinite() || (v.is_nan() && !keep_nan) {
                *v = if keep_nan { f64::NAN } else { 0.0 };
            }
        }
    };
    let mut target = target;
    fill(&mut target, opts.keep_target_nan);
    for (_, column) in &mut floats {
        fill(column, false);
    }

    let mut calendar: [Vec<i32>; 4] = Default::default();
    for &t in &timestamp {
        let c = civil(t);
        calendar[0].push(c.weekday as i32);
        calendar[1].push(c.day_of_year as i32);
        calendar[2].push(c.iso_week as i32);
        calendar[3].push(season(c.month) as i32);
    }
    let [day, dayofyear, weekofyear, season_of] = calendar;
    AssetFeatures {
        target,
        train_flg: timestamp
            .iter()
            .map(|&t| i64::from(t < opts.valid_from))
            .collect(),
        asset: vec![asset_id; n],
        timestamp,
        floats,
        calendar: vec![
            ("Day", day),
            ("dayofyear", dayofyear),
            ("weekofyear", weekofyear),
            ("season", season_of),
        ],
    }
}

fn to_frame(parts: Vec<AssetFeatures>) -> Result<DataFrame> {
    // The first part's vectors are moved, not copied: the file form makes a
    // frame per asset, and copying gigabytes of features costs seconds.
    fn append<T>(dst: &mut Vec<T>, src: Vec<T>) {
        if dst.is_empty() {
            *dst = src;
        } else {
            dst.extend(src);
        }
    }
    let mut parts = parts.into_iter();
    let Some(mut all) = parts.next() else {
        return Err(Error::Internal("no asset to make features of".into()));
    };
    for p in parts {
        append(&mut all.timestamp, p.timestamp);
        append(&mut all.asset, p.asset);
        append(&mut all.train_flg, p.train_flg);
        append(&mut all.target, p.target);
        for ((_, dst), (_, src)) in all.floats.iter_mut().zip(p.floats) {
            append(dst, src);
        }
        for ((_, dst), (_, src)) in all.calendar.iter_mut().zip(p.calendar) {
            append(dst, src);
        }
    }
    let mut columns = vec![
        col("timestamp", all.timestamp),
        col("Asset_ID", all.asset),
        nan_as_null("Target", all.target),
        col("train_flg", all.train_flg),
    ];
    columns.extend(all.floats.into_iter().map(|(name, v)| col(&name, v)));
    columns.extend(all.calendar.into_iter().map(|(name, v)| col(name, v)));
    // Each column found by its name, in the lab's order: a feature computed
    // under another name, or missing, is caught here rather than in a later
    // stage.
    let df = frame(columns)?;
    df.select(FEATURE_DF_COLUMNS)
        .map_err(|e| Error::Internal(format!("feature_df's columns: {e}")))
}

/// The lab's `get_features(df, asset_id, train=True)` for one asset.
pub fn get_features(
    df_train: &DataFrame,
    asset_id: i64,
    opts: &FeatureOptions,
) -> Result<DataFrame> {
    let bars = Bars::from_frame(df_train, Path::new(files::DF_TRAIN))?;
    to_frame(vec![compute_asset(&bars, asset_id, opts)])
}

/// In-memory form: the features of assets 0..13 concatenated in that order.
pub fn build_features(df_train: &DataFrame, opts: &FeatureOptions) -> Result<DataFrame> {
    let bars = Bars::from_frame(df_train, Path::new(files::DF_TRAIN))?;
    let parts: Vec<AssetFeatures> = (0..NUM_ASSETS)
        .into_par_iter()
        .map(|id| compute_asset(&bars, id, opts))
        .collect();
    to_frame(parts)
}

/// The columns of `df_train` the features are made from.
const INPUT_COLUMNS: [&str; 7] = [
    "timestamp",
    "Asset_ID",
    "Open",
    "High",
    "Low",
    "Close",
    "Target",
];

/// File form, as the lab's `feature_engineering(data_path)`: reads
/// `df_train.parquet`, writes `feature_df.parquet`. Assets are computed a
/// few at a time (one per core) and written as they finish, in asset order,
/// so the whole feature frame is never in memory; the file holds the same
/// frame [`build_features`] returns.
pub fn feature_engineering(data_path: &Path, opts: &FeatureOptions) -> Result<FrameShape> {
    ensure_writable_dir(data_path)?;
    let bars = {
        let df_train = read_parquet_columns(&data_path.join(files::DF_TRAIN), &INPUT_COLUMNS)?;
        Bars::from_frame(&df_train, Path::new(files::DF_TRAIN))?
    };
    let ids: Vec<i64> = (0..NUM_ASSETS).collect();
    let at_once = rayon::current_num_threads().max(1);
    write_parquet_batches(&data_path.join(files::FEATURE_DF), |sink| {
        for group in ids.chunks(at_once) {
            let parts: Vec<AssetFeatures> = group
                .par_iter()
                .map(|&id| compute_asset(&bars, id, opts))
                .collect();
            for part in parts {
                sink(to_frame(vec![part])?)?;
            }
        }
        Ok(())
    })
}
