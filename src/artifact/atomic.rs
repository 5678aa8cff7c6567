//! Atomic writes: a hidden temporary file beside the target, hashed as it
//! is written, renamed over the target only once complete (or held for the
//! stage's commit).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use super::commit::finish_temp;
use super::temp::{create_temp, temp_path, track_temp, untrack_temp};
use crate::error::{Error, Result};
use crate::hash::Xxh64;

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

/// The writer a stage fills in `write_atomic`.
pub type ArtifactWriter = BufWriter<HashingFile>;

/// Turns an error about the temporary file into one about the artifact:
/// the user never sees a temp name, and a full disk is said plainly. The
/// errors that name a file do so in their `path`, which is swapped; writers
/// given the temporary path (a chart's PNG) report their own failures
/// without it.
fn about_artifact(e: Error, tmp: &Path, path: &Path, io: Option<std::io::Error>) -> Error {
    if let Some(io) = io {
        if is_disk_full(&io) {
            return Error::DiskFull {
                path: path.to_path_buf(),
            };
        }
    }
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
            message,
        },
        other => other,
    }
}

/// Whether an I/O error means the disk (or quota) is full.
pub fn is_disk_full(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull
        || matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
        || e.to_string().contains("No space left on device")
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
    // Made here, exclusively: `fill`'s writer then opens a file of ours,
    // not whatever a name planted beforehand would have led to.
    create_temp(&tmp).map_err(|e| Error::io(path, "cannot create", e))?;
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
        let file = create_temp(&tmp).map_err(|e| Error::io(path, "cannot create", e))?;
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

/// Copies `from` to `to` atomically (a KFP output artifact published from
/// the volume: the copy is whole or absent).
pub fn copy_file(from: &Path, to: &Path) -> Result<()> {
    let mut source = File::open(from).map_err(|e| Error::io(from, "cannot read", e))?;
    write_atomic(to, |w| {
        std::io::copy(&mut source, w)
            .map(|_| ())
            .map_err(|e| Error::io(to, "cannot write", e))
    })
}

/// Writes `value` as pretty JSON to `path` atomically.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::Internal(format!("{}: cannot encode JSON: {e}", path.display())))?;
    write_bytes(path, format!("{text}\n").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifact::test_support::{names, scratch};
    use crate::artifact::{StageWrites, TEMP_PREFIX};

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
}
