//! Parquet artifacts: written atomically (whole or a batch at a time, the
//! row groups polars would make), read whole, by columns or by slices.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use polars::prelude::*;

use super::atomic::write_atomic;
use super::check_exists;
use crate::error::{Error, Result};

/// Rows per Parquet row group (polars' default), also for frames written a
/// batch at a time.
const ROW_GROUP: usize = 512 * 512;

/// The writer settings of every Parquet artifact. Uncompressed: the
/// artifacts are mostly float columns that compress by a fifth at best, and
/// the next stage reads them back at once (bench/ measured zstd at nearly
/// twice the time). No min/max statistics: no reader here filters on them,
/// and writing them nearly doubled load_data's write of df_train (docs/building.md).
fn parquet_writer<W: Write>(w: W) -> ParquetWriter<W> {
    ParquetWriter::new(w)
        .with_compression(ParquetCompression::Uncompressed)
        .with_statistics(StatisticsOptions {
            min_value: false,
            max_value: false,
            distinct_count: false,
            null_count: true,
            binary_statistics_truncate_length: None,
        })
}

/// Writes a frame as Parquet atomically.
pub fn write_parquet(path: &Path, df: &mut DataFrame) -> Result<()> {
    write_atomic(path, |w| {
        parquet_writer(w)
            .finish(df)
            .map_err(|e| Error::bad_input(path, format!("cannot write Parquet: {e}")))?;
        Ok(())
    })
}

/// Rows and columns of a frame a stage wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameShape {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub columns: usize,
}

/// Writes a Parquet artifact a frame at a time, atomically: `fill` hands
/// every frame (same schema, in order) to the sink it is given, so a stage
/// never holds its whole output. A thread of its own encodes and writes
/// while `fill` makes the next frame: writing gigabytes into the page cache
/// is kernel time on one core, and the other core can compute meanwhile.
/// Returns the shape written.
pub fn write_parquet_batches<F>(path: &Path, fill: F) -> Result<FrameShape>
where
    F: FnOnce(&mut dyn FnMut(DataFrame) -> Result<()>) -> Result<()>,
{
    let cannot = |e: PolarsError| Error::bad_input(path, format!("cannot write Parquet: {e}"));
    let mut shape = FrameShape {
        rows: 0,
        columns: 0,
    };
    write_atomic(path, |w| {
        // One frame waits while one is written: enough to overlap, and the
        // memory of two frames at most besides the one being made.
        let (tx, rx) = std::sync::mpsc::sync_channel::<DataFrame>(1);
        std::thread::scope(|s| {
            let writer = s.spawn(move || -> Result<FrameShape> {
                let mut shape = FrameShape {
                    rows: 0,
                    columns: 0,
                };
                let mut file = Some(w);
                let mut out = None;
                let mut first_empty = None;
                for df in rx {
                    shape.columns = df.width();
                    if out.is_none() {
                        if df.height() == 0 {
                            // Its schema makes an empty file if nothing follows.
                            first_empty.get_or_insert(df);
                            continue;
                        }
                        if let Some(w) = file.take() {
                            out = Some(parquet_writer(w).batched(df.schema()).map_err(cannot)?);
                        }
                    }
                    let Some(out) = out.as_mut() else { continue };
                    let mut df = df;
                    df.align_chunks();
                    let mut offset = 0;
                    while offset < df.height() {
                        let part = df.slice(offset as i64, ROW_GROUP);
                        out.write_batch(&part).map_err(cannot)?;
                        offset += part.height();
                    }
                    shape.rows += df.height();
                }
                match (out, first_empty, file) {
                    (Some(out), _, _) => {
                        out.finish().map_err(cannot)?;
                    }
                    (None, Some(mut empty), Some(w)) => {
                        parquet_writer(w).finish(&mut empty).map_err(cannot)?;
                    }
                    _ => {
                        return Err(Error::Internal(format!(
                            "{}: nothing to write",
                            path.display()
                        )))
                    }
                }
                Ok(shape)
            });
            let mut sink = |df: DataFrame| -> Result<()> {
                // A closed channel means the writer stopped on an error,
                // which the join below reports.
                let _ = tx.send(df);
                Ok(())
            };
            let filled = fill(&mut sink);
            drop(tx);
            let written = writer.join().map_err(|_| {
                Error::Internal(format!("{}: the writer thread failed", path.display()))
            })?;
            filled?;
            shape = written?;
            Ok(())
        })
    })?;
    Ok(shape)
}

/// Calls `f` with rows of a Parquet artifact (`columns`, or every column), a
/// slice of `rows_per_pass` at a time, in order; at least once, so an empty
/// file still hands over its schema.
pub fn for_each_parquet_slice(
    path: &Path,
    columns: Option<&[&str]>,
    rows_per_pass: usize,
    mut f: impl FnMut(DataFrame) -> Result<()>,
) -> Result<()> {
    let rows_per_pass = rows_per_pass.max(1);
    let rows = parquet_rows(path)?;
    let mut offset = 0;
    loop {
        f(read_parquet_slice(path, columns, offset, rows_per_pass)?)?;
        offset += rows_per_pass;
        if offset >= rows {
            return Ok(());
        }
    }
}

/// Number of rows in a Parquet artifact (from its footer).
pub fn parquet_rows(path: &Path) -> Result<usize> {
    check_exists(path)?;
    open_parquet(path)?
        .num_rows()
        .map_err(|e| Error::bad_input(path, format!("not a readable Parquet file: {e}")))
}

/// Reads rows `offset..offset + len` of a Parquet artifact (only the row
/// groups that hold them), of `columns` or of every column.
pub fn read_parquet_slice(
    path: &Path,
    columns: Option<&[&str]>,
    offset: usize,
    len: usize,
) -> Result<DataFrame> {
    check_exists(path)?;
    open_parquet(path)?
        .with_columns(columns.map(|c| c.iter().map(|s| s.to_string()).collect()))
        .with_slice(Some((offset, len)))
        .finish()
        .map_err(|e| Error::bad_input(path, format!("not a readable Parquet file: {e}")))
}

/// Columns decoded per pass over a Parquet file. polars maps the file, and
/// every page it touches counts towards the process's memory until the pass
/// ends; a few columns a pass keeps that to a slice of the file instead of
/// the whole file on top of the decoded frame.
const COLUMNS_PER_PASS: usize = 4;

fn open_parquet(path: &Path) -> Result<ParquetReader<File>> {
    let file = File::open(path).map_err(|e| Error::io(path, "cannot open", e))?;
    Ok(ParquetReader::new(file))
}

/// Reads a Parquet artifact; a missing one names the stage that writes it.
pub fn read_parquet(path: &Path) -> Result<DataFrame> {
    check_exists(path)?;
    let schema = open_parquet(path)?
        .schema()
        .map_err(|e| Error::bad_input(path, format!("not a readable Parquet file: {e}")))?;
    let names: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    read_parquet_columns(path, &names)
}

/// Reads only `columns` of a Parquet artifact, in that order.
pub fn read_parquet_columns(path: &Path, columns: &[&str]) -> Result<DataFrame> {
    check_exists(path)?;
    let mut out: Option<DataFrame> = None;
    for group in columns.chunks(COLUMNS_PER_PASS) {
        let part = open_parquet(path)?
            .with_columns(Some(group.iter().map(|c| c.to_string()).collect()))
            .finish()
            .and_then(|df| df.select(group.iter().copied()))
            .map_err(|e| {
                Error::bad_input(
                    path,
                    format!("not a readable Parquet file with columns {group:?}: {e}"),
                )
            })?;
        out = Some(match out {
            None => part,
            Some(mut df) => {
                df.hstack_mut(part.columns())?;
                df
            }
        });
    }
    out.ok_or_else(|| Error::BadArgument(format!("{}: no columns asked for", path.display())))
}
