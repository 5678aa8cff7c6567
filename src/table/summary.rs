//! Summaries of a frame for reading: pandas' `describe()` and a preview of
//! rows after the indicators' warm-up.

use std::collections::HashMap;
use std::hash::Hash;

use polars::prelude::*;

use super::STATISTICS;
use crate::error::{printable, Error, Result};

/// Summary statistics of every numeric column, like pandas'
/// `DataFrame.describe()`: a first column `statistic` holding
/// the statistics (count, mean, std, min, 25%, 50%, 75%, max), then one
/// `f64` column per numeric column of `df`, under its name.
///
/// Nulls and NaNs are left out of every statistic (pandas reads both as
/// missing); `std` is the sample standard deviation (ddof = 1); quantiles
/// interpolate linearly between the values at positions `(n - 1) * q`, as
/// pandas does by default. A statistic that does not exist (anything of an
/// empty column, `std` of one value) is null. Boolean, string and temporal
/// columns are skipped.
///
/// Fails with [`Error::BadArgument`] when a numeric column is itself named
/// `statistic`, which the result could not hold beside the names.
pub fn describe(df: &DataFrame) -> Result<DataFrame> {
    let mut columns = vec![Column::new("statistic".into(), STATISTICS.as_slice())];
    for column in df.columns() {
        if !column.dtype().is_primitive_numeric() {
            continue;
        }
        if column.name().as_str() == "statistic" {
            return Err(Error::BadArgument(
                "describe: a numeric column is named `statistic`, the name of the \
                 result's first column; rename it first"
                    .into(),
            ));
        }
        let floats = column.cast(&DataType::Float64)?;
        let mut values: Vec<f64> = floats
            .f64()?
            .iter()
            .flatten()
            .filter(|v| !v.is_nan())
            .collect();
        let stats = statistics(&mut values);
        columns.push(Column::new(column.name().clone(), stats.as_slice()));
    }
    Ok(DataFrame::new_infer_height(columns)?)
}

/// The [`STATISTICS`] of `values` (sorted in place).
fn statistics(values: &mut [f64]) -> [Option<f64>; 8] {
    let n = values.len();
    if n == 0 {
        return [Some(0.0), None, None, None, None, None, None, None];
    }
    values.sort_unstable_by(f64::total_cmp);
    let mean = values.iter().sum::<f64>() / n as f64;
    // Two passes (mean, then squared deviations) rather than the sum of
    // squares, which loses every digit on prices near 60,000 that move by
    // cents.
    let std = (n > 1).then(|| {
        let squares: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
        (squares / (n - 1) as f64).sqrt()
    });
    let quantile = |q: f64| {
        let position = (n - 1) as f64 * q;
        let below = position.floor() as usize;
        let above = position.ceil() as usize;
        values[below] + (values[above] - values[below]) * (position - below as f64)
    };
    [
        Some(n as f64),
        Some(mean),
        std,
        Some(values[0]),
        Some(quantile(0.25)),
        Some(quantile(0.5)),
        Some(quantile(0.75)),
        Some(values[n - 1]),
    ]
}

/// Rows worth previewing in a feature table: for every distinct value of
/// `group_col` (each asset, with `"Asset_ID"`), the `per_group` rows that
/// follow its first `skip` rows.
///
/// The lab's indicators need 240 rows of history per asset before they hold
/// anything but zeros, so `sample_rows(&df, 3, "Asset_ID", 240)` shows
/// values that mean something where `df.head()` would show only the
/// warm-up. Groups come in the order they first appear in `df`, each group's
/// rows in frame order; a group with no more than `skip` rows contributes
/// none. Nulls in `group_col` form a group of their own.
///
/// Fails with [`Error::BadArgument`] when `df` has no column `group_col`.
pub fn sample_rows(
    df: &DataFrame,
    per_group: usize,
    group_col: &str,
    skip: usize,
) -> Result<DataFrame> {
    let column = crate::columns::find_column(df, group_col).ok_or_else(|| {
        let names = df.get_column_names();
        let hint = crate::columns::closest(group_col, names.iter().map(|n| n.as_str()))
            .map(|n| format!(" (did you mean `{}`?)", printable(n)))
            .unwrap_or_default();
        Error::BadArgument(format!(
            "sample_rows: no column `{}`{hint}",
            printable(group_col)
        ))
    })?;
    // Integer keys (the asset ids) are grouped as they are; any other type
    // through its text, which is slower but never merges distinct values.
    let rows = if column.dtype().is_integer() {
        let keys = column.cast(&DataType::Int64)?;
        pick_rows(keys.i64()?.iter(), per_group, skip)
    } else {
        let keys = column.cast(&DataType::String)?;
        pick_rows(keys.str()?.iter(), per_group, skip)
    };
    let rows = rows
        .into_iter()
        .map(IdxSize::try_from)
        .collect::<std::result::Result<Vec<IdxSize>, _>>()
        .map_err(|_| Error::Internal("sample_rows: a row number past polars' index type".into()))?;
    Ok(df.take(&IdxCa::from_vec("row".into(), rows))?)
}

/// Row numbers of the `per_group` rows after the first `skip` of every key,
/// grouped by key in order of first appearance.
fn pick_rows<K: Eq + Hash>(
    keys: impl Iterator<Item = K>,
    per_group: usize,
    skip: usize,
) -> Vec<usize> {
    let mut group_of: HashMap<K, usize> = HashMap::new();
    let mut seen: Vec<usize> = Vec::new();
    let mut picked: Vec<Vec<usize>> = Vec::new();
    for (row, key) in keys.enumerate() {
        let next = group_of.len();
        let group = *group_of.entry(key).or_insert(next);
        if group == seen.len() {
            seen.push(0);
            picked.push(Vec::new());
        }
        if (skip..skip.saturating_add(per_group)).contains(&seen[group]) {
            picked[group].push(row);
        }
        seen[group] += 1;
    }
    picked.concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::columns::col;

    fn frame(columns: Vec<Column>) -> DataFrame {
        DataFrame::new_infer_height(columns).expect("frame")
    }

    #[test]
    fn describe_matches_hand_computed_statistics() {
        let df = frame(vec![
            col("timestamp", vec![1i64, 2, 3, 4, 5]),
            Column::new(
                "x".into(),
                [Some(1.0f64), Some(2.0), None, Some(4.0), Some(10.0)],
            ),
            Column::new("name".into(), ["a", "b", "c", "d", "e"]),
            Column::new("flag".into(), [true, false, true, true, false]),
        ]);
        let d = describe(&df).expect("describe");
        let names: Vec<&str> = d.get_column_names().iter().map(|n| n.as_str()).collect();
        assert_eq!(names, ["statistic", "timestamp", "x"]);
        let stat: Vec<&str> = d
            .column("statistic")
            .expect("s")
            .str()
            .expect("str")
            .iter()
            .flatten()
            .collect();
        assert_eq!(stat, STATISTICS);
        let x: Vec<Option<f64>> = d
            .column("x")
            .expect("x")
            .f64()
            .expect("f64")
            .iter()
            .collect();
        // x = 1, 2, 4, 10: mean 4.25; deviations -3.25 -2.25 -0.25 5.75,
        // squares sum 10.5625 + 5.0625 + 0.0625 + 33.0625 = 48.75, / 3 = 16.25.
        // 25%: position 0.75 -> 1 + 0.75 * 1 = 1.75; 50%: 1.5 -> 3;
        // 75%: 2.25 -> 4 + 0.25 * 6 = 5.5.
        let expected = [4.0, 4.25, 16.25f64.sqrt(), 1.0, 1.75, 3.0, 5.5, 10.0];
        for (got, want) in x.iter().zip(expected) {
            let got = got.expect("value");
            assert!((got - want).abs() < 1e-12, "{got} != {want}");
        }
        let t: Vec<Option<f64>> = d
            .column("timestamp")
            .expect("t")
            .f64()
            .expect("f64")
            .iter()
            .collect();
        // 1..=5: std sqrt(2.5); quartiles at positions 1, 2, 3.
        assert_eq!(t[0], Some(5.0));
        assert!((t[2].expect("std") - 2.5f64.sqrt()).abs() < 1e-12);
        assert_eq!(&t[4..], [Some(2.0), Some(3.0), Some(4.0), Some(5.0)]);
    }

    #[test]
    fn describe_handles_empty_and_single_value_columns() {
        let df = frame(vec![
            Column::new("one".into(), [Some(7.0f64), None, Some(f64::NAN)]),
            Column::new("none".into(), [None::<f64>, None, None]),
        ]);
        let d = describe(&df).expect("describe");
        let one: Vec<Option<f64>> = d
            .column("one")
            .expect("c")
            .f64()
            .expect("f")
            .iter()
            .collect();
        assert_eq!(
            one,
            [
                Some(1.0),
                Some(7.0),
                None,
                Some(7.0),
                Some(7.0),
                Some(7.0),
                Some(7.0),
                Some(7.0)
            ]
        );
        let none: Vec<Option<f64>> = d
            .column("none")
            .expect("c")
            .f64()
            .expect("f")
            .iter()
            .collect();
        assert_eq!(none, [Some(0.0), None, None, None, None, None, None, None]);
        let clash = frame(vec![col("statistic", vec![1.0f64])]);
        assert!(matches!(describe(&clash), Err(Error::BadArgument(_))));
    }

    #[test]
    fn sample_rows_skips_each_groups_warm_up() {
        // Three assets interleaved as in train.csv, 5 rows each.
        let asset: Vec<i64> = (0..15).map(|i| [3, 1, 2][i % 3]).collect();
        let step: Vec<i64> = (0..15).map(|i| (i / 3) as i64).collect();
        let df = frame(vec![col("Asset_ID", asset), col("step", step)]);
        let s = sample_rows(&df, 2, "Asset_ID", 3).expect("sample");
        let ids: Vec<i64> = s
            .column("Asset_ID")
            .expect("a")
            .i64()
            .expect("i")
            .iter()
            .flatten()
            .collect();
        let steps: Vec<i64> = s
            .column("step")
            .expect("s")
            .i64()
            .expect("i")
            .iter()
            .flatten()
            .collect();
        assert_eq!(ids, [3, 3, 1, 1, 2, 2]);
        assert_eq!(steps, [3, 4, 3, 4, 3, 4]);
        // Past the end of every group: nothing, and no error.
        assert_eq!(
            sample_rows(&df, 2, "Asset_ID", 5).expect("sample").height(),
            0
        );
        let by_name = frame(vec![Column::new("g".into(), ["x", "y", "x", "x"])]);
        assert_eq!(
            sample_rows(&by_name, 5, "g", 1).expect("sample").height(),
            2
        );
        match sample_rows(&df, 2, "Asset_Id", 3) {
            Err(Error::BadArgument(m)) => assert!(m.contains("did you mean `Asset_ID`"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
