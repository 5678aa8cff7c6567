//! Lab cell "Feature Engineering": the lab's `get_features` for every asset.
//!
//! [`get_features`] (in `get_features.rs`, the notebook cell's text) makes
//! one asset's table from its bars; this module gives it each asset's bars
//! and writes the tables as one `feature_df`.

use std::path::Path;

use polars::prelude::*;
use rayon::prelude::*;

use crate::artifact::{
    ensure_writable_dir, read_parquet_columns, write_parquet_batches, FrameShape,
};
use crate::columns::{col, f64_column, frame, i64_column, join_names, nan_as_null, skip_names};
use crate::error::{Error, Result};
use crate::files;
use crate::stages::load_data::NUM_ASSETS;

mod features;
mod get_features;

pub use features::{AssetBars, FeatureColumn, FeatureValue, Features, KEY_COLUMNS};
pub use get_features::get_features;

/// Where validation starts, part of the artifact contract: modeling and
/// the charts read the split too.
pub use crate::contract::VALID_FROM;

/// The features the lab's [`get_features`] computes for each bar, in the
/// lab's order: the lab's features list but for Asset_ID
/// ([`crate::model_params::LAB_FEATURES`]), in `feature_df` after the keys,
/// Target and train_flg. A test holds it to what the function makes.
pub const COMPUTED_FEATURES: [&str; 23] = skip_names(crate::model_params::LAB_FEATURES, 1);

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
    pub fn record_options(&self) -> crate::contract::RecordOptions {
        let mut o = crate::contract::RecordOptions::new();
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

    /// One asset's bars, sorted by time (the lab's filter and sort).
    fn asset(&self, asset_id: i64) -> AssetBars {
        let rows = self.rows_of(asset_id);
        let pick = |v: &[f64]| rows.iter().map(|&i| v[i]).collect();
        AssetBars {
            asset_id,
            timestamp: rows.iter().map(|&i| self.timestamp[i]).collect(),
            open: pick(&self.open),
            high: pick(&self.high),
            low: pick(&self.low),
            close: pick(&self.close),
            target: pick(&self.target),
        }
    }
}

/// A function in the shape of the lab's `get_features`: one asset's bars
/// in, its feature table out. The crate's is [`get_features`]; a notebook
/// cell may define its own and pass it to [`feature_engineering_with`].
pub type GetFeatures = fn(&AssetBars, &FeatureOptions) -> Features;

/// The tables of several assets as one frame, in the order given: the key
/// columns, then the features of the first table in its order. Every table
/// must have the same features of the same kinds.
fn to_frame(parts: Vec<Features>) -> Result<DataFrame> {
    // The first part's vectors are moved, not copied: the file form makes a
    // frame per asset, and copying gigabytes of features costs seconds.
    fn append<T>(dst: &mut Vec<T>, src: Vec<T>) {
        if dst.is_empty() {
            *dst = src;
        } else {
            dst.extend(src);
        }
    }
    for part in &parts {
        part.check()?;
    }
    let mut parts = parts.into_iter();
    let Some(mut all) = parts.next() else {
        return Err(Error::Internal("no asset to make features of".into()));
    };
    for p in parts {
        if p.names() != all.names() {
            return Err(Error::BadArgument(format!(
                "get_features: asset {} has the features {} but asset {} has {}; \
                 every asset needs the same ones",
                p.asset_id.first().copied().unwrap_or_default(),
                crate::error::printable(&p.names().join(", ")),
                all.asset_id.first().copied().unwrap_or_default(),
                crate::error::printable(&all.names().join(", "))
            )));
        }
        append(&mut all.timestamp, p.timestamp);
        append(&mut all.asset_id, p.asset_id);
        append(&mut all.train_flg, p.train_flg);
        append(&mut all.target, p.target);
        for ((name, dst), (_, src)) in all.columns.iter_mut().zip(p.columns) {
            match (dst, src) {
                (FeatureColumn::Float(d), FeatureColumn::Float(s)) => append(d, s),
                (FeatureColumn::Int(d), FeatureColumn::Int(s)) => append(d, s),
                (d, s) => {
                    return Err(Error::BadArgument(format!(
                        "get_features: {} is a {} feature for one asset and a {} one for another",
                        crate::error::printable(name),
                        d.kind(),
                        s.kind()
                    )))
                }
            }
        }
    }
    let mut columns = vec![
        col("timestamp", all.timestamp),
        col("Asset_ID", all.asset_id),
        nan_as_null("Target", all.target),
        col("train_flg", all.train_flg),
    ];
    columns.extend(all.columns.into_iter().map(|(name, c)| match c {
        FeatureColumn::Float(v) => col(&name, v),
        FeatureColumn::Int(v) => col(&name, v),
    }));
    frame(columns)
}

/// One asset's bars of `df_train`, sorted by time: what `get_features`
/// is given for that asset.
pub fn asset_bars(df_train: &DataFrame, asset_id: i64) -> Result<AssetBars> {
    Ok(Bars::from_frame(df_train, Path::new(files::DF_TRAIN))?.asset(asset_id))
}

/// The lab's feature table of one asset of `df_train` (the lab's
/// `get_features(df_train, asset_id)`), as a frame.
pub fn asset_features(
    df_train: &DataFrame,
    asset_id: i64,
    opts: &FeatureOptions,
) -> Result<DataFrame> {
    let bars = Bars::from_frame(df_train, Path::new(files::DF_TRAIN))?;
    to_frame(vec![get_features(&bars.asset(asset_id), opts)])
}

/// In-memory form: the features of assets 0..13 concatenated in that order.
pub fn build_features(df_train: &DataFrame, opts: &FeatureOptions) -> Result<DataFrame> {
    build_features_with(df_train, opts, get_features)
}

/// [`build_features`] with a feature function of the caller's.
pub fn build_features_with(
    df_train: &DataFrame,
    opts: &FeatureOptions,
    get_features: GetFeatures,
) -> Result<DataFrame> {
    let bars = Bars::from_frame(df_train, Path::new(files::DF_TRAIN))?;
    let parts: Vec<Features> = (0..NUM_ASSETS)
        .into_par_iter()
        .map(|id| get_features(&bars.asset(id), opts))
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
    feature_engineering_with(data_path, opts, get_features)
}

/// [`feature_engineering`] with a feature function of the caller's (a
/// notebook's edited `get_features`): what it returns for each asset is
/// what `feature_df.parquet` holds, whatever its features.
pub fn feature_engineering_with(
    data_path: &Path,
    opts: &FeatureOptions,
    get_features: GetFeatures,
) -> Result<FrameShape> {
    ensure_writable_dir(data_path)?;
    let bars = {
        let df_train = read_parquet_columns(&data_path.join(files::DF_TRAIN), &INPUT_COLUMNS)?;
        Bars::from_frame(&df_train, Path::new(files::DF_TRAIN))?
    };
    let ids: Vec<i64> = (0..NUM_ASSETS).collect();
    let at_once = rayon::current_num_threads().max(1);
    write_parquet_batches(&data_path.join(files::FEATURE_DF), |sink| {
        for group in ids.chunks(at_once) {
            let parts: Vec<Features> = group
                .par_iter()
                .map(|&id| get_features(&bars.asset(id), opts))
                .collect();
            for part in parts {
                sink(to_frame(vec![part])?)?;
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars(n: usize) -> AssetBars {
        let close: Vec<f64> = (0..n).map(|i| 100.0 + (i as f64 * 0.3).sin()).collect();
        AssetBars {
            asset_id: 3,
            timestamp: (0..n as i64)
                .map(|i| VALID_FROM - 60 * 100 + 60 * i)
                .collect(),
            open: close.iter().map(|c| c - 0.1).collect(),
            high: close.iter().map(|c| c + 0.5).collect(),
            low: close.iter().map(|c| c - 0.5).collect(),
            target: (0..n)
                .map(|i| if i % 7 == 0 { f64::NAN } else { 0.001 })
                .collect(),
            close,
        }
    }

    #[test]
    fn get_features_makes_the_labs_columns_in_order() {
        let f = get_features(&bars(300), &FeatureOptions::default());
        assert_eq!(f.names(), COMPUTED_FEATURES);
        let df = to_frame(vec![f]).unwrap();
        let names: Vec<&str> = df.get_column_names().iter().map(|n| n.as_str()).collect();
        assert_eq!(names, FEATURE_DF_COLUMNS);
        // train_flg: 1 before VALID_FROM, 0 from it on.
        let flags = i64_column(&df, "train_flg", Path::new("t")).unwrap();
        assert_eq!((flags[99], flags[100]), (1, 0));
    }

    #[test]
    fn a_callers_function_sets_the_columns_and_its_mistakes_are_named() {
        fn fewer(bars: &AssetBars, opts: &FeatureOptions) -> Features {
            let mut f = get_features(bars, opts);
            assert!(f.drop("dayofyear"));
            f.add("RSI_15", crate::indicators::rsi(&bars.close, 15));
            f
        }
        let df = to_frame(vec![fewer(&bars(300), &FeatureOptions::default())]).unwrap();
        assert!(df.column("dayofyear").is_err());
        assert!(df.column("RSI_15").is_ok());

        let mut short = get_features(&bars(50), &FeatureOptions::default());
        short.add("bad", vec![1.0; 3]);
        let err = to_frame(vec![short]).unwrap_err().to_string();
        assert!(
            err.contains("bad of asset 3 has 3 values for 50 bars"),
            "{err}"
        );

        let mut key = get_features(&bars(50), &FeatureOptions::default());
        key.add("Target", vec![0.0; 50]);
        let err = to_frame(vec![key]).unwrap_err().to_string();
        assert!(err.contains("key column"), "{err}");

        let a = get_features(&bars(50), &FeatureOptions::default());
        let mut b = a.clone();
        b.drop("HL");
        let err = to_frame(vec![a, b]).unwrap_err().to_string();
        assert!(err.contains("every asset needs the same ones"), "{err}");
    }

    #[test]
    fn target_nan_is_filled_unless_kept() {
        let filled = get_features(&bars(20), &FeatureOptions::default());
        assert_eq!(filled.target[0], 0.0);
        let kept = get_features(
            &bars(20),
            &FeatureOptions {
                keep_target_nan: true,
                ..FeatureOptions::default()
            },
        );
        assert!(kept.target[0].is_nan());
        assert!(kept.float("RSI_30").unwrap().iter().all(|v| v.is_finite()));
    }
}
