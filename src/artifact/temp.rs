//! Temporary files: their names, the ones this process has open (removed
//! on Ctrl-C or SIGTERM), and those left by a process that is gone.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};

/// Prefix of every temporary file: `.tmp-<pid>-<artifact name>`.
pub const TEMP_PREFIX: &str = ".tmp-";

/// Temporary files this process has created and not yet renamed or removed:
/// what a Ctrl-C or SIGTERM removes before the process exits.
static LIVE_TEMPS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

pub(super) fn track_temp(tmp: &Path) {
    if let Ok(mut live) = LIVE_TEMPS.lock() {
        live.push(tmp.to_path_buf());
    }
}

pub(super) fn untrack_temp(tmp: &Path) {
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

/// The temporary name of `path`: hidden, beside it, owned by this process
/// (its pid first, for [`remove_stale_temps`]), with a suffix no other
/// process can guess ahead, so a file or link planted under the name is
/// unlikely to meet it (and the file is then created exclusively anyway).
pub(super) fn temp_path(path: &Path) -> Result<PathBuf> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .ok_or_else(|| Error::BadArgument(format!("{}: not a file name", path.display())))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut h = crate::hash::Xxh64::new();
    h.update(&COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    h.update(&nanos.to_le_bytes());
    h.update(&std::process::id().to_le_bytes());
    Ok(path.with_file_name(format!(
        "{TEMP_PREFIX}{}-{:08x}-{}",
        std::process::id(),
        h.digest() as u32,
        name.to_string_lossy()
    )))
}

/// Creates `tmp` for writing: exclusively (an existing file or link there
/// is an error, not a target) and without following a link.
pub(super) fn create_temp(tmp: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(tmp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifact::test_support::{names, scratch};

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
