//! What the lab's `get_features` works on and returns, for one asset: its
//! bars ([`AssetBars`], the lab's `df[df['Asset_ID'] == asset_id]` sorted by
//! time) and its feature table ([`Features`], the lab's `df_feat`), kept as
//! plain vectors so a feature is one line of arithmetic over them.

use crate::error::{Error, Result};

/// One asset's bars, sorted by timestamp: the columns `get_features` reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AssetBars {
    /// The asset (0-13 in the competition).
    pub asset_id: i64,
    /// Unix seconds of each bar, ascending.
    pub timestamp: Vec<i64>,
    /// Opening price.
    pub open: Vec<f64>,
    /// Highest price.
    pub high: Vec<f64>,
    /// Lowest price.
    pub low: Vec<f64>,
    /// Closing price.
    pub close: Vec<f64>,
    /// The competition's Target (NaN where the Kaggle file has none).
    pub target: Vec<f64>,
}

impl AssetBars {
    /// Number of bars.
    pub fn len(&self) -> usize {
        self.timestamp.len()
    }

    /// Whether there is no bar.
    pub fn is_empty(&self) -> bool {
        self.timestamp.is_empty()
    }
}

/// One feature's values: floats (the indicators) or whole numbers (the
/// calendar fields, Int32 in `feature_df` as in the lab's frame).
#[derive(Debug, Clone, PartialEq)]
pub enum FeatureColumn {
    /// A float feature.
    Float(Vec<f64>),
    /// A whole-number feature.
    Int(Vec<i32>),
}

impl FeatureColumn {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            FeatureColumn::Float(v) => v.len(),
            FeatureColumn::Int(v) => v.len(),
        }
    }

    /// Whether there is no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The kind, in words, for errors.
    pub fn kind(&self) -> &'static str {
        match self {
            FeatureColumn::Float(_) => "float",
            FeatureColumn::Int(_) => "whole-number",
        }
    }
}

/// A value a feature can hold: `f64` or `i32`, so [`Features::add`] takes
/// either kind of iterator.
pub trait FeatureValue: Sized {
    /// The column made of these values.
    fn column(values: Vec<Self>) -> FeatureColumn;
}

impl FeatureValue for f64 {
    fn column(values: Vec<Self>) -> FeatureColumn {
        FeatureColumn::Float(values)
    }
}

impl FeatureValue for i32 {
    fn column(values: Vec<Self>) -> FeatureColumn {
        FeatureColumn::Int(values)
    }
}

/// The columns every feature table starts with, in the lab's order; no
/// feature may take one of these names.
pub const KEY_COLUMNS: [&str; 4] = ["timestamp", "Asset_ID", "Target", "train_flg"];

/// One asset's feature table, the lab's `df_feat`: the key columns, then the
/// features in the order they were added.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// Unix seconds of each bar.
    pub timestamp: Vec<i64>,
    /// The asset of each bar.
    pub asset_id: Vec<i64>,
    /// The Target (what the model learns).
    pub target: Vec<f64>,
    /// 1 for a training row, 0 for a validation row.
    pub train_flg: Vec<i64>,
    /// The features, by name, in the order added.
    pub columns: Vec<(String, FeatureColumn)>,
}

impl Features {
    /// A table of `bars`' keys, its Target, and the `train_flg` given, with
    /// no feature yet.
    pub fn new(bars: &AssetBars, train_flg: Vec<i64>) -> Self {
        Features {
            timestamp: bars.timestamp.clone(),
            asset_id: vec![bars.asset_id; bars.len()],
            target: bars.target.clone(),
            train_flg,
            columns: Vec::new(),
        }
    }

    /// Sets feature `name` (the lab's `df_feat[name] = values`): a new name
    /// is appended, an existing one replaced in place.
    pub fn add<T: FeatureValue>(
        &mut self,
        name: impl Into<String>,
        values: impl IntoIterator<Item = T>,
    ) {
        let name = name.into();
        let column = T::column(values.into_iter().collect());
        match self.columns.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 = column,
            None => self.columns.push((name, column)),
        }
    }

    /// Removes feature `name` (the lab's `drop`); false when there is none.
    pub fn drop(&mut self, name: &str) -> bool {
        let before = self.columns.len();
        self.columns.retain(|(n, _)| n != name);
        self.columns.len() != before
    }

    /// The values of float feature `name`.
    pub fn float(&self, name: &str) -> Option<&[f64]> {
        self.columns.iter().find_map(|(n, c)| match c {
            FeatureColumn::Float(v) if n == name => Some(v.as_slice()),
            _ => None,
        })
    }

    /// The feature names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.columns.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// The lab's `replace([np.inf, -np.inf], np.nan)`, on the Target and
    /// every float feature.
    pub fn replace_inf_with_nan(&mut self) {
        let floats = self.columns.iter_mut().filter_map(|(_, c)| match c {
            FeatureColumn::Float(v) => Some(v),
            FeatureColumn::Int(_) => None,
        });
        for column in std::iter::once(&mut self.target).chain(floats) {
            for v in column.iter_mut().filter(|v| v.is_infinite()) {
                *v = f64::NAN;
            }
        }
    }

    /// The lab's `fillna(value)`: every missing float becomes `value`, the
    /// Target's too unless `keep_target_nan` (the lab fills it as well).
    pub fn fillna(&mut self, value: f64, keep_target_nan: bool) {
        let floats = self.columns.iter_mut().filter_map(|(_, c)| match c {
            FeatureColumn::Float(v) => Some(v),
            FeatureColumn::Int(_) => None,
        });
        let target = (!keep_target_nan).then_some(&mut self.target);
        for column in target.into_iter().chain(floats) {
            for v in column.iter_mut().filter(|v| v.is_nan()) {
                *v = value;
            }
        }
    }

    /// Fails unless every column has one value per bar and no feature takes
    /// a key column's name: a feature function's mistake, named with the
    /// feature and the asset.
    pub fn check(&self) -> Result<()> {
        let n = self.timestamp.len();
        let keys = [
            ("Asset_ID", self.asset_id.len()),
            ("Target", self.target.len()),
            ("train_flg", self.train_flg.len()),
        ];
        let asset = self.asset_id.first().copied().unwrap_or_default();
        let wrong = keys
            .into_iter()
            .chain(
                self.columns
                    .iter()
                    .map(|(name, c)| (name.as_str(), c.len())),
            )
            .find(|(_, len)| *len != n);
        if let Some((name, len)) = wrong {
            return Err(Error::BadArgument(format!(
                "get_features: {} of asset {asset} has {len} values for {n} bars",
                crate::error::printable(name)
            )));
        }
        if let Some((name, _)) = self
            .columns
            .iter()
            .find(|(name, _)| KEY_COLUMNS.contains(&name.as_str()))
        {
            return Err(Error::BadArgument(format!(
                "get_features: a feature is named {name}, which is a key column of feature_df; \
                 name it otherwise"
            )));
        }
        Ok(())
    }
}
