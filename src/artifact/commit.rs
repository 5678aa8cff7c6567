//! A stage's writes held back until it succeeds: every artifact it writes
//! waits as a temporary file and all are renamed together at the commit
//! ([`StageWrites`]); the stage's record follows them
//! ([`crate::stages::Stage::execute`]).

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use super::temp::untrack_temp;
use crate::error::{Error, Result};

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

/// Test hook, documented in docs/pipeline.md: `CRYPTO_LAB_DIE_AFTER=<stage>:<n>`
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

/// Puts a complete temporary file in place: renamed now, or held until the
/// stage running on this thread commits.
pub(super) fn finish_temp(tmp: &Path, path: &Path, size: u64, xxh64: String) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifact::test_support::{names, scratch};
    use crate::artifact::*;

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
}
