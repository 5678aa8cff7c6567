//! Reading and writing the artifacts stages leave in the data path.
//!
//! Every write goes to a hidden temporary file beside the target and is
//! renamed over it only once complete, so a failed or killed stage never
//! leaves a half-written artifact and earlier artifacts stay intact.
//!
//! A stage run through [`crate::stages::Stage::execute`] goes further: its
//! writes are held as temporary files until the stage has succeeded, then
//! renamed together ([`StageWrites`]), and the stage's record is written last
//! (see `crate::contract::record`). Every byte written is hashed on its way to disk,
//! so the record costs no second pass over the outputs.
//!
//! By role: `temp` (names, clean-up, signals), `atomic` (hashed
//! atomic writes), `commit` (a stage's writes held until it succeeds),
//! `parquet` (frames).

pub(crate) mod atomic;
pub(crate) mod commit;
pub(crate) mod parquet;
pub(crate) mod temp;

use std::fs::File;
use std::path::Path;

use crate::error::{Error, Result};

pub(crate) use atomic::{
    copy_file, hash_file, is_disk_full, replace_atomically, write_atomic, write_bytes, write_json,
};
pub use atomic::{ArtifactWriter, HashingFile};
pub use commit::{die_point, StageWrites, Written};

pub(crate) use parquet::{
    for_each_parquet_slice, parquet_rows, read_parquet_columns, write_parquet,
    write_parquet_batches,
};
pub use parquet::{read_parquet, read_parquet_slice, FrameShape};
pub use temp::exit_cleanly_on_signals;
pub(crate) use temp::{remove_stale_temps, TEMP_PREFIX};

/// Reads JSON written by `write_json`.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = read_to_string(path)?;
    serde_json::from_str(&text).map_err(|e| Error::bad_input(path, format!("not valid JSON: {e}")))
}

/// Reads a whole text file; a missing one names the stage that makes it.
pub fn read_to_string(path: &Path) -> Result<String> {
    check_exists(path)?;
    std::fs::read_to_string(path).map_err(|e| Error::io(path, "cannot read", e))
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

/// Bytes free to this user on the file system holding `dir`.
pub fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is a NUL-terminated string and `stat` a buffer of the
    // right type; statvfs only writes into it and it is read only on success.
    let rc = unsafe { libc::statvfs(path.as_ptr(), stat.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it filled `stat`.
    let stat = unsafe { stat.assume_init() };
    // The field types differ between platforms (u32 on some).
    #[allow(clippy::unnecessary_cast)]
    let free = stat.f_bavail as u64 * stat.f_frsize as u64;
    Some(free)
}

/// Scratch folders and listings for the unit tests of the artifact modules.
#[cfg(test)]
pub(crate) mod test_support {
    use std::path::{Path, PathBuf};

    /// An empty folder of its own for test `tag`.
    pub(crate) fn scratch(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("crypto-lab-artifact-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The names in `dir`, sorted.
    pub(crate) fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}
