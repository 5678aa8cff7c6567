//! The fast path for the competition's `train.csv` (3.6 GB at full size):
//! blocks of the file parsed on every core, rows before the lab's start date
//! skipped after reading only their timestamp, and no copy of the file in
//! memory. Same values as pandas (correctly rounded floats, an empty cell is
//! missing), same errors as the polars reader: file, line and column.

use crossbeam_channel::{bounded, unbounded, Receiver, Sender};
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use polars::prelude::*;

use crate::columns::{nan_as_null, require_columns};
use crate::error::{Error, Result};

use super::NUM_ASSETS;

/// Columns of the competition's `train.csv`, in the file's order.
pub const TRAIN_COLUMNS: [&str; 10] = [
    "timestamp",
    "Asset_ID",
    "Count",
    "Open",
    "High",
    "Low",
    "Close",
    "Volume",
    "VWAP",
    "Target",
];

/// Bytes read per block: big enough that a block is a few hundred thousand
/// rows, small enough that the blocks in flight stay a few dozen MiB.
const BLOCK: usize = 16 << 20;
/// The longest line accepted. A train.csv row is under 200 bytes; a longer
/// line is not the competition's file, and bounding it bounds the memory
/// a file without newlines can take (the reader never grows a buffer past
/// one block, 16 MiB, for it).
pub const MAX_LINE: usize = 1 << 20;

/// Float columns of `train.csv`, in [`TRAIN_COLUMNS`] order after the two
/// integer ones.
const FLOATS: usize = TRAIN_COLUMNS.len() - 2;

/// Where each header field goes: `Some(i)` for `TRAIN_COLUMNS[i]`, `None`
/// for a column the lab does not use.
struct Layout {
    slots: Vec<Option<usize>>,
    header: String,
}

/// The rows one block kept.
#[derive(Default)]
struct Rows {
    timestamp: Vec<i64>,
    asset_id: Vec<i64>,
    floats: [Vec<f64>; FLOATS],
    /// Lines the block held (kept or not), for line numbers in errors.
    lines: usize,
}

/// A bad line: its number inside the block (1-based) and what is wrong.
struct BadLine {
    line: usize,
    message: String,
}

/// Reads `train.csv`, keeping the rows with `timestamp >= from` in file
/// order, as the frame `read_train_csv` and the lab's filter would give.
/// Rows before `from` are checked for a valid timestamp only.
pub fn read_train_csv_from(path: &Path, from: i64) -> Result<DataFrame> {
    scan_train_csv(path, from, &mut |_| Ok(()))
}

/// [`read_train_csv_from`] that also hands the kept rows to `sink` a block
/// at a time, in file order, as soon as they are parsed (load_data writes
/// them while the rest is read). The frame returned shares its memory with
/// the blocks the sink got.
pub fn scan_train_csv(
    path: &Path,
    from: i64,
    sink: &mut dyn FnMut(DataFrame) -> Result<()>,
) -> Result<DataFrame> {
    let mut file = File::open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::MissingFile {
                path: path.to_path_buf(),
                hint: " (download it with `crypto-lab download-data` or make synthetic data with `crypto-lab synth`)".into(),
            }
        } else {
            Error::io(path, "cannot open", e)
        }
    })?;
    // The header, and whatever follows it in the first read.
    let mut first = Vec::new();
    let header_end = loop {
        let start = first.len();
        first.resize(start + (64 << 10), 0);
        let n = read_full(&mut file, &mut first[start..], path)?;
        first.truncate(start + n);
        match memchr::memchr(b'\n', &first[start..]) {
            Some(i) => break start + i,
            None if n == 0 => break first.len(),
            None if first.len() > MAX_LINE => return Err(too_long(path, 1)),
            None => {}
        }
    };
    if header_end > MAX_LINE {
        return Err(too_long(path, 1));
    }
    let layout = layout(path, &first[..header_end])?;
    let carry = first.get(header_end + 1..).unwrap_or_default().to_vec();
    drop(first);

    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let in_flight = workers * 2;
    let (free_tx, free_rx) = bounded::<Vec<u8>>(in_flight);
    for _ in 0..in_flight {
        // Zeroed once, lazily by the OS; reused without clearing.
        let _ = free_tx.send(vec![0u8; BLOCK]);
    }
    // Workers share one queue of blocks (a multi-consumer channel).
    let (work_tx, work_rx) = bounded::<Work>(in_flight);
    let (done_tx, done_rx) = unbounded::<(usize, std::result::Result<Rows, BadLine>)>();
    // The first failing block: later blocks need not be parsed, earlier ones
    // still are, to number the bad line. 0 stops everything.
    let failed = AtomicUsize::new(usize::MAX);

    std::thread::scope(|s| {
        for _ in 0..workers {
            let done = done_tx.clone();
            let (work_rx, free_tx, failed, layout) = (&work_rx, &free_tx, &failed, &layout);
            s.spawn(move || worker(work_rx, free_tx, &done, failed, layout, from));
        }
        drop(done_tx);
        let failed_ref = &failed;
        let reader = s.spawn(move || {
            let r = feed(&mut file, path, carry, &free_rx, &work_tx, failed_ref);
            if r.is_err() {
                failed_ref.store(0, Ordering::Relaxed);
            }
            r
        });
        let collected = collect_in_order(path, &done_rx, sink, &failed);
        if collected.is_err() {
            failed.store(0, Ordering::Relaxed);
        }
        // Drain so no worker blocks, then let the reader report.
        for _ in done_rx.iter() {}
        let read = reader.join().map_err(|_| {
            Error::Internal(format!("{}: the reader thread failed", path.display()))
        })?;
        read?;
        collected
    })
}

/// Takes the parsed blocks in file order: numbers a bad line from the
/// lines before it, hands each block to `sink`, and joins them.
fn collect_in_order(
    path: &Path,
    done: &Receiver<(usize, std::result::Result<Rows, BadLine>)>,
    sink: &mut dyn FnMut(DataFrame) -> Result<()>,
    failed: &AtomicUsize,
) -> Result<DataFrame> {
    let mut pending = std::collections::BTreeMap::new();
    let mut next = 0;
    let mut lines_before = 1; // the header
    let mut all: Option<DataFrame> = None;
    for (idx, r) in done.iter() {
        pending.insert(idx, r);
        while let Some(r) = pending.remove(&next) {
            match r {
                Ok(rows) => {
                    lines_before += rows.lines;
                    let df = rows_frame(rows)?;
                    sink(df.clone())?;
                    match all.as_mut() {
                        None => all = Some(df),
                        Some(acc) => {
                            acc.vstack_mut(&df)?;
                        }
                    }
                }
                Err(bad) => {
                    failed.store(0, Ordering::Relaxed);
                    return Err(Error::bad_input(
                        path,
                        format!("line {}{}", lines_before + bad.line, bad.message),
                    ));
                }
            }
            next += 1;
        }
    }
    if lines_before == 1 {
        return Err(Error::bad_input(path, "no rows after the header"));
    }
    all.map_or_else(|| rows_frame(Rows::default()), Ok)
}

fn too_long(path: &Path, line: usize) -> Error {
    Error::bad_input(path, format!("line {line}{}", too_long_message()))
}

fn too_long_message() -> String {
    format!(
        ": longer than {} bytes (a train.csv row is under 200); is this the competition's \
         train.csv?",
        MAX_LINE
    )
}

fn read_full(file: &mut File, buf: &mut [u8], path: &Path) -> Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, "cannot read", e)),
        }
    }
    Ok(n)
}

fn layout(path: &Path, header: &[u8]) -> Result<Layout> {
    let header = std::str::from_utf8(header)
        .map_err(|_| Error::bad_input(path, "line 1: the header is not UTF-8 text"))?
        .trim_end_matches('\r');
    if header.trim().is_empty() {
        return Err(Error::bad_input(
            path,
            "empty file, expected a header line and rows",
        ));
    }
    let names: Vec<String> = header.split(',').map(|s| s.trim().to_string()).collect();
    require_columns(path, &names, &TRAIN_COLUMNS)?;
    let slots = names
        .iter()
        .map(|n| TRAIN_COLUMNS.iter().position(|c| c == n))
        .collect();
    Ok(Layout {
        slots,
        header: header.to_string(),
    })
}

/// A block for a worker: its number, its buffer and how much of it is data.
type Work = (usize, Vec<u8>, usize);

/// Reads the file block by block, each cut after its last full line, and
/// queues the blocks for the workers. Buffers come back from the workers
/// and are filled again as they are: no clearing, no zeroing.
fn feed(
    file: &mut File,
    path: &Path,
    mut carry: Vec<u8>,
    free: &Receiver<Vec<u8>>,
    work: &Sender<Work>,
    failed: &AtomicUsize,
) -> Result<()> {
    let mut idx = 0;
    let mut eof = false;
    while !eof && failed.load(Ordering::Relaxed) == usize::MAX {
        let Ok(mut buf) = free.recv() else { break };
        let mut len = carry.len();
        if buf.len() < len + BLOCK {
            buf.resize(len + BLOCK, 0);
        }
        buf[..len].copy_from_slice(&carry);
        carry.clear();
        let mut overlong = false;
        loop {
            if len == buf.len() {
                // A whole block without a newline: a line far past
                // MAX_LINE. Its block goes to a worker as it is, which
                // reports the line with its number; nothing more is read.
                overlong = true;
                eof = true;
                break;
            }
            let start = len;
            let n = read_full(file, &mut buf[start..], path)?;
            len += n;
            if n == 0 {
                eof = true;
                break;
            }
            if memchr::memchr(b'\n', &buf[start..len]).is_some() {
                break;
            }
        }
        if !eof && !overlong {
            // The carry held no newline, so the last one is in what was read.
            let last = memchr::memrchr(b'\n', &buf[..len]).unwrap_or(len - 1);
            carry.extend_from_slice(&buf[last + 1..len]);
            len = last + 1;
        }
        if len == 0 {
            continue;
        }
        if work.send((idx, buf, len)).is_err() {
            break;
        }
        idx += 1;
    }
    Ok(())
}

fn worker(
    work: &Receiver<Work>,
    free: &Sender<Vec<u8>>,
    done: &Sender<(usize, std::result::Result<Rows, BadLine>)>,
    failed: &AtomicUsize,
    layout: &Layout,
    from: i64,
) {
    loop {
        let Ok((idx, buf, len)) = work.recv() else {
            return;
        };
        if idx < failed.load(Ordering::Relaxed) {
            let r = parse_block(&buf[..len], layout, from);
            if r.is_err() {
                failed.fetch_min(idx, Ordering::Relaxed);
            }
            let _ = done.send((idx, r));
        }
        let _ = free.send(buf);
    }
}

fn parse_block(buf: &[u8], layout: &Layout, from: i64) -> std::result::Result<Rows, BadLine> {
    let mut rows = Rows::default();
    let ncols = layout.slots.len();
    let ts_first = layout.slots.first() == Some(&Some(0));
    let mut floats = [0.0; FLOATS];
    let mut pos = 0;
    while pos < buf.len() {
        let end = memchr::memchr(b'\n', &buf[pos..]).map_or(buf.len(), |i| pos + i);
        let mut line = &buf[pos..end];
        pos = end + 1;
        rows.lines += 1;
        if line.len() > MAX_LINE {
            return Err(BadLine {
                line: rows.lines,
                message: too_long_message(),
            });
        }
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        if line.is_empty() {
            continue;
        }
        let bad = |message: String| BadLine {
            line: rows.lines,
            message,
        };
        // The lab drops these rows: their timestamp is all that is read.
        if ts_first {
            let cut = memchr::memchr(b',', line).unwrap_or(line.len());
            let ts = parse_int(&line[..cut]).ok_or_else(|| {
                bad(format!(
                    ", column `timestamp`: expected an integer, found `{}`",
                    crate::error::printable_bytes(line[..cut].trim_ascii())
                ))
            })?;
            if ts < from {
                continue;
            }
        }
        let (mut ts, mut asset) = (0i64, 0i64);
        let mut field = 0;
        for value in line.split(|&b| b == b',') {
            if field >= ncols {
                field += 1;
                continue;
            }
            if let Some(slot) = layout.slots[field] {
                let name = TRAIN_COLUMNS[slot];
                let found = || crate::error::printable_bytes(value.trim_ascii());
                if slot < 2 {
                    let v = parse_int(value).ok_or_else(|| {
                        bad(format!(
                            ", column `{name}`: expected an integer, found `{}`",
                            found()
                        ))
                    })?;
                    if slot == 0 {
                        ts = v;
                    } else {
                        asset = v;
                    }
                } else {
                    floats[slot - 2] = parse_float(value).ok_or_else(|| {
                        bad(format!(
                            ", column `{name}`: expected a number, found `{}`",
                            found()
                        ))
                    })?;
                }
            }
            field += 1;
        }
        if field != ncols {
            return Err(bad(format!(
                ": {field} fields, expected {ncols} ({})",
                layout.header
            )));
        }
        if ts < from {
            continue;
        }
        if !(0..NUM_ASSETS).contains(&asset) {
            return Err(bad(format!(
                ", column `Asset_ID`: {asset} is not an asset of the competition (expected 0 to {})",
                NUM_ASSETS - 1
            )));
        }
        rows.timestamp.push(ts);
        rows.asset_id.push(asset);
        for (col, v) in rows.floats.iter_mut().zip(floats) {
            col.push(v);
        }
    }
    Ok(rows)
}

/// An integer field (optional sign, digits, surrounding spaces allowed).
fn parse_int(field: &[u8]) -> Option<i64> {
    let field = field.trim_ascii();
    let (neg, digits) = match field {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, field),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: i64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    Some(if neg { -v } else { v })
}

/// A float field; empty is missing (NaN), as pandas reads it.
fn parse_float(field: &[u8]) -> Option<f64> {
    let field = field.trim_ascii();
    if field.is_empty() {
        return Some(f64::NAN);
    }
    fast_float2::parse(field).ok()
}

/// One block's rows as a frame; NaN is stored as missing, as pandas hands
/// NaN to Parquet.
fn rows_frame(rows: Rows) -> Result<DataFrame> {
    let mut columns = vec![
        Series::from_vec(TRAIN_COLUMNS[0].into(), rows.timestamp).into_column(),
        Series::from_vec(TRAIN_COLUMNS[1].into(), rows.asset_id).into_column(),
    ];
    for (name, values) in TRAIN_COLUMNS[2..].iter().zip(rows.floats) {
        columns.push(nan_as_null(name, values));
    }
    Ok(DataFrame::new_infer_height(columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        assert_eq!(parse_int(b"1514764860"), Some(1514764860));
        assert_eq!(parse_int(b" -3 "), Some(-3));
        assert_eq!(parse_int(b""), None);
        assert_eq!(parse_int(b"1.5"), None);
        assert_eq!(parse_int(b"99999999999999999999"), None);
    }

    #[test]
    fn floats_as_pandas_reads_them() {
        assert_eq!(parse_float(b"13835.194"), Some(13835.194));
        assert_eq!(parse_float(b"2.0e-05"), Some(2.0e-05));
        assert_eq!(parse_float(b"inf"), Some(f64::INFINITY));
        assert_eq!(parse_float(b"-inf"), Some(f64::NEG_INFINITY));
        assert!(parse_float(b"").is_some_and(f64::is_nan));
        assert!(parse_float(b"nan").is_some_and(f64::is_nan));
        assert_eq!(parse_float(b"abc"), None);
    }

    fn layout_of(header: &str) -> Layout {
        layout(Path::new("train.csv"), header.as_bytes()).expect("layout")
    }

    #[test]
    fn skips_early_rows_and_numbers_bad_lines() {
        let l = layout_of("timestamp,Asset_ID,Count,Open,High,Low,Close,Volume,VWAP,Target");
        let block = b"5,1,x,,,,,,,\n10,2,1,2,3,4,5,6,,0.5\r\n\n11,3,1,2,3,4,5,6,7,8\n";
        let rows = parse_block(block, &l, 10).ok().expect("rows");
        assert_eq!(rows.timestamp, vec![10, 11]);
        assert_eq!(rows.asset_id, vec![2, 3]);
        assert!(rows.floats[6][0].is_nan());
        assert_eq!(rows.floats[7], vec![0.5, 8.0]);
        assert_eq!(rows.lines, 4);

        for (block, line, says) in [
            (
                &b"10,2,1,2,3,4,5,6,7,8\n10,2,1,2,3\n"[..],
                2,
                "5 fields, expected 10",
            ),
            (b"10,14,1,2,3,4,5,6,7,8\n", 1, "14 is not an asset"),
            (
                b"10,1,1,2,x,4,5,6,7,8\n",
                1,
                "column `High`: expected a number, found `x`",
            ),
        ] {
            let bad = parse_block(block, &l, 0).err().expect("bad");
            assert_eq!(bad.line, line);
            assert!(bad.message.contains(says), "{}", bad.message);
        }
    }

    /// A file of several blocks, against the polars reader and the filter.
    #[test]
    fn blocks_join_up_as_one_file() {
        let dir = std::env::temp_dir().join(format!("crypto-lab-train-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("train.csv");
        let mut text =
            String::from("timestamp,Asset_ID,Count,Open,High,Low,Close,Volume,VWAP,Target\n");
        let rows = 2 * BLOCK / 60 + 1234;
        for i in 0..rows {
            let ts = 1_577_836_000 + (i as i64 / 14) * 60;
            let target = if i % 97 == 0 {
                String::new()
            } else {
                format!("{}", (i as f64).sin() / 1e3)
            };
            text.push_str(&format!(
                "{ts},{},{}.0,{},{},{},{},{},{},{target}\n",
                i % 14,
                i % 50,
                1.5 + i as f64 * 1e-3,
                2.25 + i as f64 * 1e-3,
                1.0 + i as f64 * 1e-3,
                1.75 + i as f64 * 1e-3,
                (i as f64).sqrt(),
                1.6 + i as f64 * 1e-3,
            ));
        }
        std::fs::write(&path, &text).expect("write");
        let fast = read_train_csv_from(&path, 1_577_836_800).expect("fast");
        // The oracle: polars' own CSV reader, every row.
        let all =
            super::super::asset_details_csv::read_checked(&path, &TRAIN_COLUMNS).expect("polars");
        let ts = all
            .column("timestamp")
            .expect("ts")
            .i64()
            .expect("i64")
            .clone();
        let slow = all.filter(&ts.gt_eq(1_577_836_800)).expect("filter");
        assert!(fast.height() > 100_000);
        assert!(fast.equals_missing(&slow));

        // A bad value in the second block is numbered from the file's start.
        let mut lines: Vec<&str> = text.lines().collect();
        let at = rows - 10;
        let broken = lines[at].replacen(",", ",x", 2);
        lines[at] = &broken;
        std::fs::write(&path, lines.join("\n")).expect("write");
        let err = read_train_csv_from(&path, 0)
            .expect_err("bad line")
            .to_string();
        assert!(err.contains(&format!("line {}", at + 1)), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
