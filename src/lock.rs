//! One writer per data path: an advisory lock on `DIR/.crypto-lab.lock`.
//!
//! Every command that writes into a data path (the stages, `run`, `synth`)
//! holds the lock while it works; a second one stops at once with who holds
//! it, or waits for it. The lock is the kernel's (`flock`), so it goes away
//! with its process however that ends: a lock file left by a killed run is
//! simply taken over. Readers that write nothing there (`plot`) do not lock.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::error::{Error, Result};
use crate::progress::Progress;

/// The lock file's name inside the data path.
pub const LOCK_FILE: &str = ".crypto-lab.lock";

/// The held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct DataPathLock {
    /// `None` on a data path this user cannot write: nothing can be written
    /// there, so there is nothing to guard, and a caller that finds every
    /// stage up to date still reports its results.
    _file: Option<File>,
}

/// Takes the data path's lock, creating the folder if needed. With `wait`
/// false a held lock is [`Error::DataPathInUse`] at once; with `wait` true
/// this blocks until the holder is done, saying on `progress` who it waits for.
pub fn lock_data_path(
    data_path: &Path,
    wait: bool,
    progress: &dyn Progress,
) -> Result<DataPathLock> {
    std::fs::create_dir_all(data_path)
        .map_err(|e| Error::io(data_path, "cannot create data path", e))?;
    let path = data_path.join(LOCK_FILE);
    // Not through a link planted where the lock file goes.
    let opened = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path);
    let mut file = match opened {
        Ok(f) => f,
        Err(e) if read_only(&e) && !folder_writable(data_path) => {
            progress.log(&format!(
                "{}: read-only here: nothing can be written, so nothing is locked",
                data_path.display()
            ));
            return Ok(DataPathLock { _file: None });
        }
        // The folder is writable but the lock file is another user's (a
        // container run as root left it): flock needs only a read handle.
        Err(e) if read_only(&e) => OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| Error::io(&path, "cannot open the lock file", e))?,
        Err(e) => return Err(Error::io(&path, "cannot open the lock file", e)),
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let busy = in_use(data_path, &mut file);
            if !wait {
                return Err(busy);
            }
            progress.log(&format!("{busy}: waiting (--wait-lock)"));
            file.lock()
                .map_err(|e| Error::io(&path, "cannot lock", e))?;
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(Error::io(&path, "cannot lock", e));
        }
    }
    // Who holds it, for the message a second writer shows.
    let note = format!(
        "{} {}\n",
        std::process::id(),
        crate::calendar::format_instant(now_unix())
    );
    let _ = file.set_len(0);
    let _ = file.rewind();
    let _ = file.write_all(note.as_bytes());
    let _ = file.flush();
    // Whoever holds the lock cleans up after a writer that was killed, even
    // when it then finds every stage up to date and writes nothing.
    let removed = crate::artifact::remove_stale_temps(data_path);
    if !removed.is_empty() {
        progress.log(&format!(
            "{}: removed {} left by a stopped run: {}",
            data_path.display(),
            if removed.len() == 1 {
                "a temporary file"
            } else {
                "temporary files"
            },
            removed
                .iter()
                .map(|n| crate::error::printable(n))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(DataPathLock { _file: Some(file) })
}

/// Whether this user may create files in `dir` (false on a read-only
/// mount, for root too).
fn folder_writable(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a NUL-terminated path; access only reads it.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

/// Whether opening failed because this user may not write there.
fn read_only(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::PermissionDenied
        || e.kind() == std::io::ErrorKind::ReadOnlyFilesystem
        || e.raw_os_error() == Some(libc::EROFS)
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The error naming who holds the lock, from the note the holder wrote.
fn in_use(data_path: &Path, file: &mut File) -> Error {
    let mut text = String::new();
    let _ = file.rewind();
    let _ = Read::by_ref(file).take(256).read_to_string(&mut text);
    let mut parts = text.split_whitespace();
    let pid = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let since = parts
        .next()
        .map(crate::error::printable)
        .unwrap_or_else(|| "an unknown time".into());
    Error::DataPathInUse {
        path: data_path.to_path_buf(),
        pid,
        since,
    }
}
