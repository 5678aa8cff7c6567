//! Moving between polars frames and plain column vectors.
//!
//! Stages compute over `&[f64]` / `&[i64]` slices (simple loops, no lazy
//! engine); these helpers do the conversions and turn schema problems into
//! errors that name the file and column.

use std::path::Path;

use polars::prelude::*;

use crate::error::{Error, Result};

/// Two lists of column names as one, at compile time, so a list that
/// extends another is written once (`N` must be `A + B`).
pub const fn join_names<const A: usize, const B: usize, const N: usize>(
    a: [&'static str; A],
    b: [&'static str; B],
) -> [&'static str; N] {
    assert!(A + B == N, "join_names: N must be A + B");
    let mut out = [""; N];
    let mut i = 0;
    while i < A {
        out[i] = a[i];
        i += 1;
    }
    while i < N {
        out[i] = b[i - A];
        i += 1;
    }
    out
}

/// `names` without its first `D` names (`N` = the length left), at compile
/// time: one list declared once, a shorter view of it declared from it.
pub const fn skip_names<const M: usize, const N: usize>(
    names: [&'static str; M],
    d: usize,
) -> [&'static str; N] {
    assert!(d + N == M, "skip_names: N must be M - d");
    let mut out = [""; N];
    let mut i = 0;
    while i < N {
        out[i] = names[i + d];
        i += 1;
    }
    out
}

/// The closest of `candidates` to `name`, if it is close enough to be a typo.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
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
            Some(found) => format!(" (found `{}`: misspelt?)", crate::error::printable(found)),
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

/// Column `name` of `df`, found by comparing names one by one. Not
/// `DataFrame::column`: that looks the name up in a schema the frame caches
/// with a hasher seeded per copy of polars, and the notebook kernel links a
/// copy into every cell, so a frame kept from one cell to the next misses
/// every name in the schema an earlier cell cached. The frames here have a
/// few dozen columns; comparing names costs nothing.
pub fn find_column<'a>(df: &'a DataFrame, name: &str) -> Option<&'a Column> {
    df.columns().iter().find(|c| c.name().as_str() == name)
}

fn column<'a>(df: &'a DataFrame, name: &str, path: &Path) -> Result<&'a Column> {
    find_column(df, name).ok_or_else(|| Error::bad_input(path, format!("missing column `{name}`")))
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

/// A numeric column read as `f64` in place: one piece per chunk of the
/// frame, borrowed whatever the integer or float type, so a large artifact
/// is used where it was read, without a widened copy. Nulls read as NaN.
pub struct F64Pieces<'a> {
    pieces: Vec<Piece<'a>>,
    /// First row of each piece, plus the total length at the end.
    starts: Vec<usize>,
}

/// One chunk of a column.
enum Piece<'a> {
    F64(&'a [f64]),
    I64(&'a [i64]),
    I32(&'a [i32]),
    U32(&'a [u32]),
    /// Anything else (other widths, chunks with nulls), widened once.
    Owned(Vec<f64>),
}

impl Piece<'_> {
    fn len(&self) -> usize {
        match self {
            Piece::F64(v) => v.len(),
            Piece::I64(v) => v.len(),
            Piece::I32(v) => v.len(),
            Piece::U32(v) => v.len(),
            Piece::Owned(v) => v.len(),
        }
    }

    fn get(&self, i: usize) -> f64 {
        match self {
            Piece::F64(v) => v[i],
            Piece::I64(v) => v[i] as f64,
            Piece::I32(v) => f64::from(v[i]),
            Piece::U32(v) => f64::from(v[i]),
            Piece::Owned(v) => v[i],
        }
    }
}

fn pieces_of<'a, T: PolarsNumericType>(
    ca: &'a ChunkedArray<T>,
    borrow: fn(&'a [T::Native]) -> Piece<'a>,
    widen: fn(T::Native) -> f64,
) -> Vec<Piece<'a>> {
    ca.downcast_iter()
        .map(|arr| {
            if arr.validity().is_none_or(|v| v.unset_bits() == 0) {
                borrow(arr.values().as_slice())
            } else {
                Piece::Owned(
                    arr.iter()
                        .map(|v| v.map_or(f64::NAN, |x| widen(*x)))
                        .collect(),
                )
            }
        })
        .collect()
}

impl<'a> F64Pieces<'a> {
    /// The column `name` of `df`; an error names `path` if it is missing or
    /// not numeric.
    pub fn of(df: &'a DataFrame, name: &str, path: &Path) -> Result<Self> {
        let col = column(df, name, path)?;
        let series = col.as_materialized_series();
        let pieces = match col.dtype() {
            DataType::Float64 => pieces_of(series.f64()?, Piece::F64, |x| x),
            DataType::Int64 => pieces_of(series.i64()?, Piece::I64, |x| x as f64),
            DataType::Int32 => pieces_of(series.i32()?, Piece::I32, f64::from),
            DataType::UInt32 => pieces_of(series.u32()?, Piece::U32, f64::from),
            dt if dt.is_primitive_numeric() => {
                let cast = series.cast(&DataType::Float64)?;
                cast.f64()?
                    .downcast_iter()
                    .map(|arr| {
                        Piece::Owned(arr.iter().map(|v| v.copied().unwrap_or(f64::NAN)).collect())
                    })
                    .collect()
            }
            dt => {
                return Err(Error::bad_input(
                    path,
                    format!("column `{name}` holds {dt}, expected numbers"),
                ))
            }
        };
        let mut starts = Vec::with_capacity(pieces.len() + 1);
        let mut at = 0;
        for p in &pieces {
            starts.push(at);
            at += p.len();
        }
        starts.push(at);
        Ok(F64Pieces { pieces, starts })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.starts.last().copied().unwrap_or(0)
    }

    /// Whether the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn piece_of(&self, row: usize) -> usize {
        self.starts.partition_point(|&s| s <= row) - 1
    }

    /// The value at `row` (`row < len()`).
    pub fn get(&self, row: usize) -> f64 {
        let p = self.piece_of(row);
        self.pieces[p].get(row - self.starts[p])
    }

    /// `out[i * stride] = self[rows[i]]` for ascending `rows`.
    pub fn gather(&self, rows: &[u32], out: &mut [f64], stride: usize) {
        let mut i = 0;
        while i < rows.len() {
            let p = self.piece_of(rows[i] as usize);
            let (start, end) = (self.starts[p], self.starts[p + 1]);
            // The run of rows inside this piece, then one tight loop per type.
            let run = rows[i..].partition_point(|&r| (r as usize) < end);
            let rows = &rows[i..i + run];
            let out = &mut out[i * stride..];
            match &self.pieces[p] {
                Piece::F64(v) => gather_run(v, rows, start, out, stride, |x| x),
                Piece::I64(v) => gather_run(v, rows, start, out, stride, |x| x as f64),
                Piece::I32(v) => gather_run(v, rows, start, out, stride, f64::from),
                Piece::U32(v) => gather_run(v, rows, start, out, stride, f64::from),
                Piece::Owned(v) => gather_run(v, rows, start, out, stride, |x| x),
            }
            i += run;
        }
    }

    /// Every value, in row order.
    pub fn iter(&self) -> impl Iterator<Item = f64> + '_ {
        self.pieces
            .iter()
            .flat_map(|p| (0..p.len()).map(move |i| p.get(i)))
    }
}

#[inline]
fn gather_run<T: Copy>(
    v: &[T],
    rows: &[u32],
    start: usize,
    out: &mut [f64],
    stride: usize,
    widen: impl Fn(T) -> f64,
) {
    for (j, &r) in rows.iter().enumerate() {
        out[j * stride] = widen(v[r as usize - start]);
    }
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

/// A float column whose NaNs are stored as nulls, as pandas hands NaN to
/// Parquet.
pub fn nan_as_null(name: &str, values: Vec<f64>) -> Column {
    if values.iter().any(|v| v.is_nan()) {
        Float64Chunked::from_iter_options(
            name.into(),
            values.into_iter().map(|v| (!v.is_nan()).then_some(v)),
        )
        .into_column()
    } else {
        col(name, values)
    }
}

/// A frame from columns of equal length.
pub fn frame(columns: Vec<Column>) -> Result<DataFrame> {
    Ok(DataFrame::new_infer_height(columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_found_without_the_frames_cached_schema() {
        // What a notebook cell sees of a frame an earlier cell cached the
        // schema of with another copy of polars: a cache that misses.
        let mut df = frame(vec![
            col("timestamp", vec![1i64, 2]),
            col("Close", vec![1.0, 2.0]),
        ])
        .unwrap();
        let elsewhere: Schema = [
            ("a".into(), DataType::Int64),
            ("b".into(), DataType::Float64),
        ]
        .into_iter()
        .collect();
        // SAFETY: only the names differ from the columns, not the dtypes or
        // the width; the frame is read by name alone below.
        unsafe { df.set_schema(std::sync::Arc::new(elsewhere)) };
        assert!(df.column("timestamp").is_err());
        assert_eq!(
            i64_column(&df, "timestamp", Path::new("t")).unwrap(),
            [1, 2]
        );
        assert_eq!(
            f64_column(&df, "Close", Path::new("t")).unwrap(),
            [1.0, 2.0]
        );
    }
}
