//! Reading the competition's `asset_details.csv` with the schema pandas
//! would infer, and errors that point at the line. The fast
//! [`super::train_csv`] reader's tests read `train.csv` with this same
//! polars reader (`read_checked`) as their oracle.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;

use polars::prelude::*;

use crate::columns::require_columns;
use crate::error::{Error, Result};

/// Columns of the competition's `asset_details.csv`, in the file's order.
pub const ASSET_DETAILS_COLUMNS: [&str; 3] = ["Asset_ID", "Weight", "Asset_Name"];

/// How a column is parsed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Int,
    Float,
    Text,
}

fn kind_of(name: &str) -> Kind {
    match name {
        "timestamp" | "Asset_ID" => Kind::Int,
        "Asset_Name" => Kind::Text,
        _ => Kind::Float,
    }
}

fn dtype_of(kind: Kind) -> DataType {
    match kind {
        Kind::Int => DataType::Int64,
        Kind::Float => DataType::Float64,
        Kind::Text => DataType::String,
    }
}

/// Reads `asset_details.csv`.
pub fn read_asset_details_csv(path: &Path) -> Result<DataFrame> {
    read_checked(path, &ASSET_DETAILS_COLUMNS)
}

/// Fails at the first line longer than [`super::train_csv::MAX_LINE`],
/// naming it, reading the file in small chunks (memory stays bounded
/// whatever the file holds).
fn check_line_lengths(path: &Path) -> Result<()> {
    use std::io::Read;
    let max = super::train_csv::MAX_LINE;
    let mut file = File::open(path).map_err(|e| Error::io(path, "cannot open", e))?;
    let mut buf = vec![0u8; 64 << 10];
    let (mut line, mut current) = (1usize, 0usize);
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(path, "cannot read", e)),
        };
        let too_long = |line: usize| {
            Error::bad_input(
                path,
                format!("line {line}: longer than {max} bytes; is this the competition's file?"),
            )
        };
        let mut rest = &buf[..n];
        loop {
            match memchr::memchr(b'\n', rest) {
                Some(i) => {
                    if current + i > max {
                        return Err(too_long(line));
                    }
                    current = 0;
                    line += 1;
                    rest = &rest[i + 1..];
                }
                None => {
                    current += rest.len();
                    if current > max {
                        return Err(too_long(line));
                    }
                    break;
                }
            }
        }
    }
}

fn read_header(path: &Path) -> Result<Vec<String>> {
    if !path.is_file() {
        return Err(Error::MissingFile {
            path: path.to_path_buf(),
            hint: " (download it with `crypto-lab download-data` or make synthetic data with `crypto-lab synth`)".into(),
        });
    }
    check_line_lengths(path)?;
    let file = File::open(path).map_err(|e| Error::io(path, "cannot open", e))?;
    let mut line = String::new();
    BufReader::new(file)
        .read_line(&mut line)
        .map_err(|e| Error::io(path, "cannot read", e))?;
    let line = line.trim_end_matches(['\r', '\n']);
    if line.is_empty() {
        return Err(Error::bad_input(
            path,
            "empty file, expected a header line and rows",
        ));
    }
    Ok(line.split(',').map(|s| s.trim().to_string()).collect())
}

/// Reads a CSV whose header has the `required` columns with polars
/// (integers for timestamp and Asset_ID, floats for every other number,
/// empty cells as missing, `inf` as infinity), naming the line of a bad
/// value.
pub(super) fn read_checked(path: &Path, required: &[&str]) -> Result<DataFrame> {
    let header = read_header(path)?;
    require_columns(path, &header, required)?;
    let schema: Schema = header
        .iter()
        .filter(|h| required.contains(&h.as_str()))
        .map(|h| Field::new(h.as_str().into(), dtype_of(kind_of(h))))
        .collect();
    let read = CsvReadOptions::default()
        .with_has_header(true)
        .with_schema_overwrite(Some(Arc::new(schema)))
        .try_into_reader_with_file_path(Some(path.to_path_buf()))
        .and_then(|r| r.finish());
    let df = match read {
        Ok(df) => df,
        Err(polars_err) => {
            return Err(locate_bad_value(path, &header)?.unwrap_or_else(|| {
                Error::bad_input(path, format!("cannot parse CSV: {polars_err}"))
            }))
        }
    };
    if df.height() == 0 {
        return Err(Error::bad_input(path, "no rows after the header"));
    }
    Ok(df)
}

/// Scans the file for the first cell that does not parse as its column's type;
/// only run after the fast reader has failed, so its cost is on the error path.
fn locate_bad_value(path: &Path, header: &[String]) -> Result<Option<Error>> {
    let file = File::open(path).map_err(|e| Error::io(path, "cannot open", e))?;
    for (idx, line) in BufReader::new(file).lines().enumerate().skip(1) {
        let line = line.map_err(|e| Error::io(path, "cannot read", e))?;
        let lineno = idx + 1;
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != header.len() {
            return Ok(Some(Error::bad_input(
                path,
                format!(
                    "line {lineno}: {} fields, expected {} ({})",
                    fields.len(),
                    header.len(),
                    crate::error::printable(&header.join(","))
                ),
            )));
        }
        for (name, value) in header.iter().zip(&fields) {
            let v = value.trim();
            let ok = match kind_of(name) {
                Kind::Int => v.parse::<i64>().is_ok(),
                Kind::Float => v.is_empty() || v.parse::<f64>().is_ok(),
                Kind::Text => true,
            };
            if !ok {
                let expected = if kind_of(name) == Kind::Int {
                    "an integer"
                } else {
                    "a number"
                };
                return Ok(Some(Error::bad_input(
                    path,
                    format!(
                        "line {lineno}, column `{name}`: expected {expected}, found `{}`",
                        crate::error::printable(v)
                    ),
                )));
            }
        }
    }
    Ok(None)
}
