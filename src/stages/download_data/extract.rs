//! Extracting the lab's members from the competition archive: safe member
//! names only, each once, each declared size under a cap and within the
//! free space before anything is written, each written atomically with its
//! CRC checked as it is read and its written size checked against the
//! declared one.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use crate::artifact::write_atomic;
use crate::error::{printable, Error, Result};

/// The largest member accepted: several times everything a full-size run
/// leaves in the data path (`doctor::FULL_RUN_BYTES`, measured), so a member
/// declaring more is a bomb or not the competition's.
pub const MAX_MEMBER_BYTES: u64 = 64 << 30;

/// A member name is safe when it is a plain relative path inside the folder.
pub(super) fn safe_member_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.starts_with('\\')
        && !name.contains(':')
        && !name.split(['/', '\\']).any(|part| part == "..")
}

/// Extracts `wanted` members of `archive` into `dir`, each through a
/// temporary file; CRCs are checked as the members are read.
pub fn extract(archive: &Path, wanted: &[String], dir: &Path) -> Result<Vec<PathBuf>> {
    let file = File::open(archive).map_err(|e| Error::io(archive, "cannot open", e))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| {
        Error::bad_input(
            archive,
            format!("not a readable zip archive (corrupt or truncated?): {e}"),
        )
    })?;
    // The zip crate keeps one entry per name; it says when it dropped one.
    if zip.has_duplicate_names() {
        return Err(Error::bad_input(
            archive,
            "refused: two entries share a name (which one a reader gets depends on the tool)",
        ));
    }
    let mut seen = std::collections::HashSet::new();
    let mut declared = std::collections::HashMap::new();
    for i in 0..zip.len() {
        let entry = zip
            .by_index_raw(i)
            .map_err(|e| Error::bad_input(archive, format!("entry {i} is unreadable: {e}")))?;
        let name = entry
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|_| format!("#{i}"));
        let shown = printable(&name);
        if !safe_member_name(&name) {
            return Err(Error::bad_input(
                archive,
                format!("refused: entry `{shown}` would be written outside the data path"),
            ));
        }
        // With two of a name, which one a reader gets depends on the tool.
        if !seen.insert(name.clone()) {
            return Err(Error::bad_input(
                archive,
                format!("refused: two entries are named `{shown}`"),
            ));
        }
        declared.insert(name.clone(), entry.size());
        if entry.is_symlink() {
            return Err(Error::bad_input(
                archive,
                format!("refused: entry `{shown}` is a link"),
            ));
        }
    }
    let mut needed = 0u64;
    for name in wanted {
        let size = declared.get(name).copied().unwrap_or(0);
        if size > MAX_MEMBER_BYTES {
            return Err(Error::bad_input(
                archive,
                format!(
                    "refused: member `{}` declares {size} bytes, more than the {MAX_MEMBER_BYTES} \
                     a competition file can be",
                    printable(name)
                ),
            ));
        }
        needed = needed.saturating_add(size);
    }
    if let Some(free) = crate::artifact::free_bytes(dir) {
        if needed > free {
            // Not the archive's fault: it is kept for a run with more room.
            return Err(Error::io(
                dir,
                "cannot hold the archive's members",
                std::io::Error::new(
                    std::io::ErrorKind::StorageFull,
                    format!("they need {needed} bytes, {free} are free"),
                ),
            ));
        }
    }
    let mut written = Vec::new();
    for name in wanted {
        let idx = zip.index_for_name(name).ok_or_else(|| {
            let members: Vec<String> = zip
                .file_names()
                .filter_map(|n| n.ok())
                .map(|n| printable(&n))
                .collect();
            Error::bad_input(
                archive,
                format!(
                    "has no member `{}` (members: {})",
                    printable(name),
                    members.join(", ")
                ),
            )
        })?;
        let mut member = zip
            .by_index(idx)
            .map_err(|e| Error::bad_input(archive, format!("member `{name}`: {e}")))?;
        let target = dir.join(name);
        let size = member.size();
        let shown = printable(name);
        write_atomic(&target, |out| {
            // One byte past the declared size is enough to tell a liar.
            let mut limited = std::io::Read::take(&mut member, size.saturating_add(1));
            let copied = std::io::copy(&mut limited, out).map_err(|e| {
                Error::bad_input(
                    archive,
                    format!("member `{shown}` is damaged (corrupt or truncated): {e}"),
                )
            })?;
            if copied != size {
                return Err(Error::bad_input(
                    archive,
                    format!("member `{shown}` declares {size} bytes but holds {copied}"),
                ));
            }
            Ok(())
        })?;
        written.push(target);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names() {
        assert!(safe_member_name("train.csv"));
        assert!(safe_member_name("sub/train.csv"));
        for bad in ["../x", "/etc/passwd", "a/../../b", "C:\\x", "\\x", ""] {
            assert!(!safe_member_name(bad), "{bad}");
        }
    }
}
