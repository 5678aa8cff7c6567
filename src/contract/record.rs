//! Stage records: what a stage's outputs were made from.
//!
//! When a stage completes it writes `<stage>.record.json` beside its outputs,
//! last and atomically: the options that shape its outputs, the identity of
//! each input (size and XXH64 of its content) and the identity of each
//! output. `run` skips a stage only when its record matches the options it
//! was given and the inputs and outputs on disk, and a stage checks each
//! input against the record of the stage that wrote it, so a changed,
//! damaged or swapped artifact is never taken for the one that was made.
//!
//! Hashing every input on every check would read gigabytes, so each entry
//! also keeps the file's status (size, modification and change times, inode):
//! a file whose status is unchanged still holds the recorded content — the
//! change time (ctime) moves with every write or rename and cannot be set
//! back by a user — and only a file whose status moved is hashed again. The
//! outputs are hashed while they are written ([`crate::artifact`]).

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::artifact::{hash_file, read_json, write_json, Written};
use crate::error::{Error, Result};

/// RecordOptions that shape a stage's outputs, by name, as text.
pub type RecordOptions = BTreeMap<String, String>;

/// A file's status as `stat` gives it: what tells, without reading it,
/// whether a file is still the one that was hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStatus {
    /// Bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i128,
    /// Status change time, nanoseconds since the epoch.
    pub ctime_ns: i128,
    /// Inode number.
    pub inode: u64,
    /// Device number.
    pub device: u64,
}

impl FileStatus {
    /// The status of `path`, or `None` when it does not exist.
    pub fn of(path: &Path) -> Option<Self> {
        let m = std::fs::metadata(path).ok()?;
        if !m.is_file() {
            return None;
        }
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        Some(FileStatus {
            size: m.size(),
            mtime_ns: ns(m.mtime(), m.mtime_nsec()),
            ctime_ns: ns(m.ctime(), m.ctime_nsec()),
            inode: m.ino(),
            device: m.dev(),
        })
    }
}

/// One input or output of a stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// Where it is: relative to the data path when inside it (so the same
    /// folder named another way is the same), else absolute.
    pub path: PathBuf,
    /// Bytes.
    pub size: u64,
    /// XXH64 of the content, hex.
    pub xxh64: String,
    /// Its status when hashed.
    pub status: FileStatus,
}

/// What one stage's last complete run was made from (`<stage>.record.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageRecord {
    /// The stage.
    pub stage: String,
    /// The crypto-lab version that ran it.
    pub crypto_lab: String,
    /// RecordOptions that shape its outputs.
    pub options: RecordOptions,
    /// Each input, by artifact name.
    pub inputs: BTreeMap<String, FileRecord>,
    /// Each output, by artifact name.
    pub outputs: BTreeMap<String, FileRecord>,
}

pub use super::files::record_path;

/// The record of `stage` in `data_path`, if there is a readable one; a
/// missing or damaged record means the stage has no complete run to trust.
pub fn read_record(data_path: &Path, stage: &str) -> Option<StageRecord> {
    let path = record_path(data_path, stage);
    if !path.is_file() {
        return None;
    }
    read_json::<StageRecord>(&path)
        .ok()
        .filter(|r| r.stage == stage)
}

/// How a record names `path`: relative to the data path when inside it,
/// else absolute.
pub fn stored_path(data_path: &Path, path: &Path) -> PathBuf {
    match path.strip_prefix(data_path) {
        Ok(rel) => rel.to_path_buf(),
        Err(_) => std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
    }
}

/// The identity of `path`: taken from `known` when the file's status is the
/// one recorded there, else hashed now (`hash`), else its status alone.
pub fn identity(
    data_path: &Path,
    path: &Path,
    known: &[Option<&FileRecord>],
    hash: bool,
) -> Result<FileRecord> {
    let stored = stored_path(data_path, path);
    let status = FileStatus::of(path).ok_or_else(|| Error::MissingFile {
        path: path.to_path_buf(),
        hint: String::new(),
    })?;
    for k in known.iter().flatten() {
        if k.path == stored && k.status == status {
            return Ok((*k).clone());
        }
    }
    if !hash {
        return Ok(FileRecord {
            path: stored,
            size: status.size,
            xxh64: format!(
                "unhashed:{}:{}:{}:{}",
                status.size, status.mtime_ns, status.ctime_ns, status.inode
            ),
            status,
        });
    }
    let (size, xxh64) = hash_file(path)?;
    // The status after reading: a write while hashing would show here.
    let after = FileStatus::of(path).unwrap_or(status);
    Ok(FileRecord {
        path: stored,
        size,
        xxh64,
        status: after,
    })
}

/// The name under which `synth` records what it wrote.
pub const SYNTH: &str = "synth";

/// Writes the record of a command that has no inputs (`synth`): its options
/// and the identity of each file it wrote, so that the stage reading them
/// does not hash them again.
pub fn write_outputs_record(
    data_path: &Path,
    name: &str,
    options: RecordOptions,
    written: &[Written],
) -> Result<()> {
    let mut outputs = BTreeMap::new();
    for w in written {
        let Some(status) = FileStatus::of(&w.path) else {
            continue;
        };
        let key = w
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        outputs.insert(
            key,
            FileRecord {
                path: stored_path(data_path, &w.path),
                size: w.size,
                xxh64: w.xxh64.clone(),
                status,
            },
        );
    }
    let record = StageRecord {
        stage: name.to_string(),
        crypto_lab: crate::version::VERSION.to_string(),
        options,
        inputs: BTreeMap::new(),
        outputs,
    };
    write_json(&record_path(data_path, name), &record)
}

/// `name old -> new` for every option that differs.
pub fn option_changes(old: &RecordOptions, new: &RecordOptions) -> Vec<String> {
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .map(|k| {
            let show = |v: Option<&String>| v.cloned().unwrap_or_else(|| "unset".into());
            format!("{k} {} -> {}", show(old.get(k)), show(new.get(k)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_changes_name_old_and_new_values() {
        let old: RecordOptions = [("n_estimators".to_string(), "1200".to_string())].into();
        let mut new = old.clone();
        new.insert("n_estimators".into(), "40".into());
        new.insert("num_leaves".into(), "7".into());
        assert_eq!(
            option_changes(&old, &new),
            ["n_estimators 1200 -> 40", "num_leaves unset -> 7"]
        );
        assert!(option_changes(&old, &old).is_empty());
    }

    /// The measurement behind bench/README.md's hashing figures:
    /// `CRYPTO_LAB_HASH_FILE=data/train.csv cargo test --lib hash_throughput -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn hash_throughput() {
        let Ok(path) = std::env::var("CRYPTO_LAB_HASH_FILE") else {
            return;
        };
        let path = Path::new(&path);
        let _ = hash_file(path).unwrap(); // into the page cache
        let t = std::time::Instant::now();
        let (size, _) = hash_file(path).unwrap();
        let s = t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        let _ = FileStatus::of(path);
        let stat = t.elapsed().as_secs_f64();
        // The hash alone, as the writers pay it (bytes already in memory),
        // in CPU time of this thread: wall time on a shared machine would
        // count other processes' turns.
        let cpu = || {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: a valid timespec to fill.
            unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
            ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
        };
        let buf = vec![7u8; 1 << 30];
        let t = cpu();
        let mut h = crate::hash::Xxh64::new();
        for block in buf.chunks(1 << 20) {
            h.update(block);
        }
        std::hint::black_box(h.digest());
        let mem = cpu() - t;
        println!(
            "{}: {size} bytes read and hashed in {s:.3} s ({:.2} GB/s); the hash alone {:.2} GB per CPU second; stat {:.1} us",
            path.display(),
            size as f64 / s / 1e9,
            (1u64 << 30) as f64 / mem / 1e9,
            stat * 1e6
        );
    }
}
