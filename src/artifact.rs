//! Reading and writing the artifacts stages leave in the data path.
//!
//! Every write goes to a hidden temporary file beside the target and is
//! renamed over it only once complete, so a failed or killed stage never
//! leaves a half-written artifact and earlier artifacts stay intact.
//!
//! A stage run through [`crate::stages::Stage::execute`] goes further: its
//! writes are held as temporary files until the stage has succeeded, then
//! renamed together ([`StageWrites`]), and the stage's record is written last
//! (see [`crate::record`]). Every byte written is hashed on its way to disk,
//! so the record costs no second pass over the outputs.

use std::cell::RefCell;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::hash::Xxh64;
use polars::prelude::*;

use crate::error::{Error, Result};

/// Prefix of every temporary file: `.tmp-<pid>-<artifact name>`.
pub const TEMP_PREFIX: &str = ".tmp-";

/// Temporary files this process has created and not yet renamed or removed:
/// what a Ctrl-C or SIGTERM removes before the process exits.
static LIVE_TEMPS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn track_temp(tmp: &Path) {
    if let Ok(mut live) = LIVE_TEMPS.lock() {
        live.push(tmp.to_path_buf());
    }
}

fn untrack_temp(tmp: &Path) {
    if let Ok(mut live) = LIVE_TEMPS.lock() {
        live.retain(|p| p != tmp);
    }
}

/// Removes every temporary file this process has open and returns how many
/// it removed. The lock stays held so that no new temporary file is tracked
/// afterwards: call it only just before the process exits.
pub fn remove_live_temps_for_exit() -> usize {
    let live = match LIVE_TEMPS.lock() {
        Ok(live) => live,
        Err(poisoned) => poisoned.into_inner(),
    };
    let removed = live
        .iter()
        .filter(|p| std::fs::remove_file(p).is_ok())
        .count();
    // Held until exit: a writer thread that finishes a temp file now cannot
    // register (and so cannot rename) it any more.
    std::mem::forget(live);
    removed
}

/// Installs the Ctrl-C / SIGTERM handler of the binary: the temporary files
/// of the stage in progress are removed, then the process exits with 130
/// (SIGINT) or 143 (SIGTERM) as a shell reports a killed command. Artifacts
/// already in place stay as they were, and the stage's record is not
/// written, so the next `run` redoes the stage.
pub fn exit_cleanly_on_signals() -> Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])
        .map_err(|e| Error::Internal(format!("cannot install the signal handler: {e}")))?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                remove_live_temps_for_exit();
                std::process::exit(128 + signal);
            }
        })
        .map_err(|e| Error::Internal(format!("cannot start the signal thread: {e}")))?;
    Ok(())
}

/// Whether process `pid` exists (a temp file or lock of a dead process is
/// left over from a kill).
pub fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists.
    if unsafe { libc::kill(pid, 0) } == 0 {
        return true;
    }
    std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The process id in a temp file's name, if it is one of ours.
fn temp_owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(TEMP_PREFIX)?;
    let (pid, _) = rest.split_once('-')?;
    pid.parse().ok()
}

/// Removes the temporary files in `dir` whose process is gone (left by a
/// kill -9, a crash or a power cut); returns their names. Temp files of a
/// live process (another stage writing) are left alone.
pub fn remove_stale_temps(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let me = std::process::id();
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let owner = temp_owner(&name).or_else(|| {
            name.strip_prefix(".crypto-lab-write-test-")
                .and_then(|p| p.parse().ok())
        });
        let dead = owner.is_some_and(|pid| pid != me && !process_alive(pid));
        if dead && std::fs::remove_file(entry.path()).is_ok() {
            removed.push(name);
        }
    }
    removed
}

/// One file a stage wrote: where it goes, and its size and content hash as
/// written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The artifact's path.
    pub path: PathBuf,
    /// Bytes.
    pub size: u64,
    /// XXH64 of the content, hex.
    pub xxh64: String,
}

struct Pending {
    tmp: PathBuf,
    written: Written,
}

/// The writes of the stage running on this thread, held back until it ends.
struct Held {
    stage: String,
    pending: Vec<Pending>,
}

thread_local! {
    // Stages write from the thread that runs them (writer threads only
    // encode into the file the stage's thread opened), so a thread-local
    // is what ties each write to its stage without passing a handle
    // through every stage function.
    static HELD: RefCell<Option<Held>> = const { RefCell::new(None) };
}

/// A stage's writes, held as temporary files until [`StageWrites::commit`];
/// dropped without a commit (the stage failed), it removes them.
pub struct StageWrites {
    stage: String,
}

impl StageWrites {
    /// Starts holding the writes of `stage` on this thread.
    pub fn begin(stage: &str) -> Self {
        HELD.with(|h| {
            *h.borrow_mut() = Some(Held {
                stage: stage.to_string(),
                pending: Vec::new(),
            })
        });
        StageWrites {
            stage: stage.to_string(),
        }
    }

    /// Renames every held file onto its artifact, in the order written;
    /// returns what was written. Before it is called, no artifact of the
    /// stage has changed.
    pub fn commit(self) -> Result<Vec<Written>> {
        let held = HELD.with(|h| h.borrow_mut().take());
        let pending = held.map(|h| h.pending).unwrap_or_default();
        let mut done = Vec::with_capacity(pending.len());
        for (i, p) in pending.iter().enumerate() {
            // synth over downloaded files: download_data's record goes.
            let replaced =
                forget_producer_record(&p.written.path, Some(&self.stage)).and_then(|()| {
                    std::fs::rename(&p.tmp, &p.written.path)
                        .map_err(|e| Error::io(&p.written.path, "cannot replace", e))
                });
            if let Err(e) = replaced {
                for q in &pending[i..] {
                    let _ = std::fs::remove_file(&q.tmp);
                    untrack_temp(&q.tmp);
                }
                return Err(e);
            }
            untrack_temp(&p.tmp);
            die_point(&self.stage);
            done.push(p.written.clone());
        }
        Ok(done)
    }
}

impl Drop for StageWrites {
    fn drop(&mut self) {
        let held = HELD.with(|h| h.borrow_mut().take());
        for p in held.map(|h| h.pending).unwrap_or_default() {
            let _ = std::fs::remove_file(&p.tmp);
            untrack_temp(&p.tmp);
        }
    }
}

/// Test hook, documented in the README: `CRYPTO_LAB_DIE_AFTER=<stage>:<n>`
/// kills the process (SIGKILL, as `kill -9` would) at the n-th write point
/// of that stage; `<stage>:<n>:wait` stops there instead, until a signal
/// ends the process. The points of a stage, in order: each temporary file
/// complete, each rename onto an artifact, the record about to be written,
/// the record written. Tests use it to prove that a kill at any point
/// leaves nothing a later `run` would trust. Unset, it costs one lookup.
pub fn die_point(stage: &str) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let Ok(spec) = std::env::var("CRYPTO_LAB_DIE_AFTER") else {
        return;
    };
    let mut parts = spec.split(':');
    if parts.next() != Some(stage) {
        return;
    }
    let Some(Ok(n)) = parts.next().map(str::parse::<usize>) else {
        return;
    };
    if COUNT.fetch_add(1, Ordering::SeqCst) + 1 != n {
        return;
    }
    if parts.next() == Some("wait") {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
    // SAFETY: sends SIGKILL to this process; nothing after it runs.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
}

/// The stage whose writes this thread holds, if any.
pub fn holding_stage() -> Option<String> {
    HELD.with(|h| h.borrow().as_ref().map(|h| h.stage.clone()))
}

/// Size and XXH64 (hex) of a file's content, read in large blocks.
pub fn hash_file(path: &Path) -> Result<(u64, String)> {
    use std::io::Read;
    let mut file = File::open(path).map_err(|e| Error::io(path, "cannot open", e))?;
    let mut hasher = Xxh64::new();
    let mut buf = vec![0u8; 1 << 22];
    let mut size = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(path, "cannot read", e)),
        };
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((size, hasher.hex()))
}

/// The file under an artifact's writer: hashes every byte on its way to
/// disk and keeps the first I/O error, so that an encoder's own wrapping of
/// it ("underlying IO error") can be reported as what it was.
pub struct HashingFile {
    file: File,
    hasher: Xxh64,
    size: u64,
    error: Option<std::io::Error>,
}

impl HashingFile {
    fn new(file: File) -> Self {
        HashingFile {
            file,
            hasher: Xxh64::new(),
            size: 0,
            error: None,
        }
    }

    fn keep(&mut self, e: &std::io::Error) {
        if self.error.is_none() {
            self.error = Some(std::io::Error::new(e.kind(), e.to_string()));
        }
    }
}

impl Write for HashingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.file.write(buf) {
            Ok(n) => {
                self.hasher.update(&buf[..n]);
                self.size += n as u64;
                Ok(n)
            }
            Err(e) => {
                self.keep(&e);
                Err(e)
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush().inspect_err(|e| self.keep(e))
    }
}

/// The writer a stage fills in [`write_atomic`].
pub type ArtifactWriter = BufWriter<HashingFile>;

/// The temporary name of `path`: hidden, beside it, owned by this process.
fn temp_path(path: &Path) -> Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| Error::BadArgument(format!("{}: not a file name", path.display())))?;
    Ok(path.with_file_name(format!(
        "{TEMP_PREFIX}{}-{}",
        std::process::id(),
        name.to_string_lossy()
    )))
}

/// Renames an error about the temporary file into one about the artifact:
/// the user never sees a temp name, and a full disk is said plainly.
fn about_artifact(e: Error, tmp: &Path, path: &Path, io: Option<std::io::Error>) -> Error {
    if let Some(io) = io {
        if is_disk_full(&io) {
            return Error::DiskFull {
                path: path.to_path_buf(),
            };
        }
    }
    let tmp_text = tmp.display().to_string();
    let fix = |s: String| s.replace(&tmp_text, &path.display().to_string());
    match e {
        Error::Io { cause, .. } if is_disk_full(&cause) => Error::DiskFull {
            path: path.to_path_buf(),
        },
        Error::Io {
            path: p,
            action,
            cause,
        } => Error::Io {
            path: if p == tmp { path.to_path_buf() } else { p },
            action,
            cause,
        },
        Error::BadInput { path: p, message } => Error::BadInput {
            path: if p == tmp { path.to_path_buf() } else { p },
            message: fix(message),
        },
        Error::Internal(m) => Error::Internal(fix(m)),
        Error::Inconsistent(m) => Error::Inconsistent(fix(m)),
        Error::Network(m) => Error::Network(fix(m)),
        Error::Chart(m) => Error::Chart(fix(m)),
        Error::BadArgument(m) => Error::BadArgument(fix(m)),
        other => other,
    }
}

/// Whether an I/O error means the disk (or quota) is full.
pub fn is_disk_full(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull
        || matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
        || e.to_string().contains("No space left on device")
}

/// Puts a complete temporary file in place: renamed now, or held until the
/// stage running on this thread commits.
fn finish_temp(tmp: &Path, path: &Path, size: u64, xxh64: String) -> Result<()> {
    let written = Written {
        path: path.to_path_buf(),
        size,
        xxh64,
    };
    let stage = HELD.with(|h| {
        let mut h = h.borrow_mut();
        let held = h.as_mut()?;
        // A second write of one artifact within a stage replaces the first.
        if let Some(i) = held.pending.iter().position(|p| p.written.path == path) {
            let old = held.pending.remove(i);
            if old.tmp != tmp {
                let _ = std::fs::remove_file(&old.tmp);
            }
        }
        held.pending.push(Pending {
            tmp: tmp.to_path_buf(),
            written,
        });
        Some(held.stage.clone())
    });
    match stage {
        Some(stage) => {
            die_point(&stage);
            Ok(())
        }
        None => {
            forget_producer_record(path, None)?;
            let outcome =
                std::fs::rename(tmp, path).map_err(|e| Error::io(path, "cannot replace", e));
            untrack_temp(tmp);
            outcome
        }
    }
}

/// An artifact replaced other than by its producer's commit (a notebook
/// cell calling a stage function, a program of one's own, `synth` over
/// downloaded files) is no longer what its producer's record says: the
/// record goes before the file changes, so `run` redoes that stage and no
/// reader takes the new file for a damaged one. `committing` is the stage
/// whose commit writes it, if any.
fn forget_producer_record(path: &Path, committing: Option<&str>) -> Result<()> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return Ok(());
    };
    let Some(stage) = crate::files::producer(name) else {
        return Ok(());
    };
    if committing == Some(stage) {
        return Ok(());
    }
    let record = crate::files::record_path(dir, stage);
    match std::fs::remove_file(&record) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(record, "cannot remove", e)),
    }
}

/// Replaces `path` atomically: `fill` writes a temporary file in the same
/// folder (its name ends with `path`'s, so the extension is kept for writers
/// that go by it), which is renamed onto `path` on success (at the stage's
/// commit, inside a stage) and removed on failure.
pub fn replace_atomically<F>(path: &Path, fill: F) -> Result<()>
where
    F: FnOnce(&Path) -> Result<()>,
{
    let tmp = temp_path(path)?;
    track_temp(&tmp);
    let outcome = fill(&tmp)
        .map_err(|e| about_artifact(e, &tmp, path, None))
        .and_then(|()| {
            let (size, xxh64) = hash_file(&tmp).map_err(|e| about_artifact(e, &tmp, path, None))?;
            finish_temp(&tmp, path, size, xxh64)
        });
    if outcome.is_err() {
        let _ = std::fs::remove_file(&tmp);
        untrack_temp(&tmp);
    }
    outcome
}

/// Writes `path` atomically through a buffered writer, flushed and synced
/// before the rename (see [`replace_atomically`]); the content is hashed as
/// it is written.
pub fn write_atomic<F>(path: &Path, fill: F) -> Result<()>
where
    F: FnOnce(&mut ArtifactWriter) -> Result<()>,
{
    let tmp = temp_path(path)?;
    track_temp(&tmp);
    let outcome = (|| {
        let file = File::create(&tmp).map_err(|e| Error::io(path, "cannot create", e))?;
        let mut writer = BufWriter::with_capacity(1 << 20, HashingFile::new(file));
        if let Err(e) = fill(&mut writer) {
            let io = writer.get_mut().error.take();
            return Err(about_artifact(e, &tmp, path, io));
        }
        let file = writer.into_inner().map_err(|e| {
            let io = e.into_error();
            about_artifact(Error::io(path, "cannot write", io), &tmp, path, None)
        })?;
        file.file
            .sync_all()
            .map_err(|e| about_artifact(Error::io(path, "cannot write", e), &tmp, path, None))?;
        let xxh64 = file.hasher.hex();
        finish_temp(&tmp, path, file.size, xxh64)
    })();
    if outcome.is_err() {
        let _ = std::fs::remove_file(&tmp);
        untrack_temp(&tmp);
    }
    outcome
}

/// Writes bytes to `path` atomically.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, |w| {
        w.write_all(bytes)
            .map_err(|e| Error::io(path, "cannot write", e))
    })
}

/// Writes `value` as pretty JSON to `path` atomically.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::Internal(format!("{}: cannot encode JSON: {e}", path.display())))?;
    write_bytes(path, format!("{text}\n").as_bytes())
}

/// Reads JSON written by [`write_json`].
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = read_to_string(path)?;
    serde_json::from_str(&text).map_err(|e| Error::bad_input(path, format!("not valid JSON: {e}")))
}

/// Reads a whole text file; a missing one names the stage that makes it.
pub fn read_to_string(path: &Path) -> Result<String> {
    check_exists(path)?;
    std::fs::read_to_string(path).map_err(|e| Error::io(path, "cannot read", e))
}

/// Rows per Parquet row group (polars' default), also for frames written a
/// batch at a time.
const ROW_GROUP: usize = 512 * 512;

/// The writer settings of every Parquet artifact. Uncompressed: the
/// artifacts are mostly float columns that compress by a fifth at best, and
/// the next stage reads them back at once (bench/ measured zstd at nearly
/// twice the time). No min/max statistics: no reader here filters on them,
/// and without them load_data wrote df_train in 1.8 s instead of 3.3 s.
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

/// Fails with a [`Error::MissingFile`] that says which stage makes `path`
/// (by its file name, from the artifact contract).
pub fn check_exists(path: &Path) -> Result<()> {
    if path.is_file() {
        return Ok(());
    }
    Err(Error::MissingFile {
        path: path.to_path_buf(),
        hint: crate::files::missing_hint(path),
    })
}

/// Creates the data path if needed and checks it can be written, before a
/// stage spends time on work it could not save.
pub fn ensure_writable_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "cannot create data path", e))?;
    let probe = dir.join(format!(".crypto-lab-write-test-{}", std::process::id()));
    File::create(&probe).map_err(|e| Error::io(dir, "data path is not writable", e))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("crypto-lab-artifact-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn what_a_writer_hashes_is_the_files_content_committed_or_not() {
        let dir = scratch("hash");
        // Writes of odd sizes, through the buffer and past it.
        let chunk: Vec<u8> = (0..1_000_003u32).map(|i| (i % 251) as u8).collect();
        let write = |path: &Path, chunks: u64| {
            write_atomic(path, |w| {
                for _ in 0..chunks {
                    w.write_all(&chunk)
                        .map_err(|e| Error::io(path, "write", e))?;
                }
                Ok(())
            })
        };
        for (name, chunks) in [("big.bin", 23), ("small.bin", 1)] {
            let path = dir.join(name);
            write(&path, chunks).unwrap();
            let (size, expected) = hash_file(&path).unwrap();
            assert_eq!(size, chunk.len() as u64 * chunks);
            let commit = StageWrites::begin("t");
            write(&path, chunks).unwrap();
            let written = commit.commit().unwrap();
            assert_eq!(written[0].xxh64, expected, "{name}");
        }
        // A writer that fails leaves nothing.
        let failed = write_atomic(&dir.join("failed.bin"), |w| {
            for _ in 0..12 {
                w.write_all(&chunk)
                    .map_err(|e| Error::io("x", "write", e))?;
            }
            Err(Error::BadArgument("stopped".into()))
        });
        assert!(failed.is_err());
        assert!(!dir.join("failed.bin").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn held_writes_appear_together_at_commit_or_not_at_all() {
        let dir = scratch("commit");
        let (a, b) = (dir.join("a.txt"), dir.join("b.txt"));
        {
            let _w = StageWrites::begin("t");
            write_bytes(&a, b"1").unwrap();
            write_bytes(&b, b"2").unwrap();
            assert_eq!(names(&dir).len(), 2, "only temp files so far");
            assert!(!a.exists() && !b.exists());
        } // dropped: the stage failed
        assert!(names(&dir).is_empty(), "{:?}", names(&dir));
        let w = StageWrites::begin("t");
        write_bytes(&a, b"1").unwrap();
        write_bytes(&b, b"22").unwrap();
        let written = w.commit().unwrap();
        assert_eq!(names(&dir), ["a.txt", "b.txt"]);
        assert_eq!(written[1].size, 2);
        assert_eq!(
            written[1].xxh64,
            hash_file(&b).unwrap().1,
            "hashed as written"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn errors_name_the_artifact_never_the_temp_file() {
        let dir = scratch("names");
        let target = dir.join("evaluation_charts.html");
        let e = replace_atomically(&target, |tmp| {
            Err(Error::io(
                tmp,
                "cannot write",
                std::io::Error::other("boom"),
            ))
        })
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("evaluation_charts.html") && !e.contains(TEMP_PREFIX),
            "{e}"
        );
        let e = write_atomic(&target, |_| {
            Err(Error::io(
                &target,
                "cannot write",
                std::io::Error::from_raw_os_error(libc::ENOSPC),
            ))
        })
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            format!("no space left on device while writing {}", target.display())
        );
        assert!(names(&dir).is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn encoder_errors_over_a_full_disk_say_so() {
        // An encoder that only says "underlying IO error": the writer kept
        // the real cause.
        let dir = scratch("full");
        let target = dir.join("df_train.parquet");
        let e = write_atomic(&target, |w| {
            w.get_mut()
                .keep(&std::io::Error::from_raw_os_error(libc::ENOSPC));
            Err(Error::bad_input(
                &target,
                "File out of specification: underlying IO error",
            ))
        })
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("no space left on device while writing"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn stale_temp_files_go_and_live_ones_stay() {
        let dir = scratch("stale");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = format!(".tmp-{dead}-lgb.txt");
        let mine = format!(".tmp-{}-lgb.txt", std::process::id());
        for n in [&stale, &mine, &"lgb.txt".to_string()] {
            std::fs::write(dir.join(n), b"x").unwrap();
        }
        assert_eq!(remove_stale_temps(&dir), vec![stale]);
        assert_eq!(names(&dir), vec![mine, "lgb.txt".to_string()]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
