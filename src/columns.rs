//! Moving between polars frames and plain column vectors.
//!
//! Stages compute over `&[f64]` / `&[i64]` slices (simple loops, no lazy
//! engine); these helpers do the conversions and turn schema problems into
//! errors that name the file and column.

use std::path::Path;

use polars::prelude::*;

use crate::error::{Error, Result};

/// The closest of `candidates` to `name`, if it is close enough to be a typo.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (edit_distance(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Fails unless every name in `required` is a column of `present`, saying
/// which is missing and what it may have been misspelt as.
pub fn require_columns(path: &Path, present: &[String], required: &[&str]) -> Result<()> {
    for want in required {
        if present.iter().any(|p| p == want) {
            continue;
        }
        let unexpected = present
            .iter()
            .filter(|p| !required.contains(&p.as_str()))
            .map(String::as_str);
        let hint = match closest(want, unexpected) {
            Some(found) => format!(" (found `{found}`: misspelt?)"),
            None => String::new(),
        };
        return Err(Error::bad_input(
            path,
            format!(
                "missing column `{want}`{hint}; expected columns {}",
                required.join(",")
            ),
        ));
    }
    Ok(())
}

fn column<'a>(df: &'a DataFrame, name: &str, path: &Path) -> Result<&'a Column> {
    df.column(name)
        .map_err(|_| Error::bad_input(path, format!("missing column `{name}`")))
}

/// A numeric column as `f64`, nulls as NaN (pandas' view of a missing value).
pub fn f64_column(df: &DataFrame, name: &str, path: &Path) -> Result<Vec<f64>> {
    let col = column(df, name, path)?;
    let col = if col.dtype() == &DataType::Float64 {
        col.clone()
    } else if col.dtype().is_primitive_numeric() {
        col.cast(&DataType::Float64)?
    } else {
        return Err(Error::bad_input(
            path,
            format!("column `{name}` holds {}, expected numbers", col.dtype()),
        ));
    };
    let ca = col.f64()?;
    if ca.null_count() == 0 {
        if let Ok(s) = ca.cont_slice() {
            return Ok(s.to_vec());
        }
    }
    Ok(ca.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

/// An integer column as `i64`; a missing value is an error naming its row.
pub fn i64_column(df: &DataFrame, name: &str, path: &Path) -> Result<Vec<i64>> {
    let col = column(df, name, path)?;
    if !col.dtype().is_integer() {
        return Err(Error::bad_input(
            path,
            format!("column `{name}` holds {}, expected integers", col.dtype()),
        ));
    }
    let col = col.cast(&DataType::Int64)?;
    let ca = col.i64()?;
    ca.iter()
        .enumerate()
        .map(|(row, v)| {
            v.ok_or_else(|| {
                Error::bad_input(
                    path,
                    format!("row {row}: column `{name}` is empty, expected an integer"),
                )
            })
        })
        .collect()
}

/// A named column built from a vector.
pub fn col<T>(name: &str, values: Vec<T>) -> Column
where
    Series: NamedFromOwned<Vec<T>>,
{
    Series::from_vec(name.into(), values).into_column()
}

/// A frame from columns of equal length.
pub fn frame(columns: Vec<Column>) -> Result<DataFrame> {
    Ok(DataFrame::new_infer_height(columns)?)
}
