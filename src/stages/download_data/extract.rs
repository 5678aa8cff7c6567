//! Extracting the lab's members from the competition archive: safe member
//! names only, each written atomically, CRCs checked as they are read.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use crate::artifact::write_atomic;
use crate::error::{Error, Result};

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
    for i in 0..zip.len() {
        let entry = zip
            .by_index_raw(i)
            .map_err(|e| Error::bad_input(archive, format!("entry {i} is unreadable: {e}")))?;
        let name = entry
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|_| format!("#{i}"));
        if !safe_member_name(&name) {
            return Err(Error::bad_input(
                archive,
                format!("refused: entry `{name}` would be written outside the data path"),
            ));
        }
        if entry.is_symlink() {
            return Err(Error::bad_input(
                archive,
                format!("refused: entry `{name}` is a link"),
            ));
        }
    }
    let mut written = Vec::new();
    for name in wanted {
        let idx = zip.index_for_name(name).ok_or_else(|| {
            let members: Vec<String> = zip
                .file_names()
                .filter_map(|n| n.ok())
                .map(|n| n.into_owned())
                .collect();
            Error::bad_input(
                archive,
                format!("has no member `{name}` (members: {})", members.join(", ")),
            )
        })?;
        let mut member = zip
            .by_index(idx)
            .map_err(|e| Error::bad_input(archive, format!("member `{name}`: {e}")))?;
        let target = dir.join(name);
        write_atomic(&target, |out| {
            std::io::copy(&mut member, out).map_err(|e| {
                Error::bad_input(
                    archive,
                    format!("member `{name}` is damaged (corrupt or truncated): {e}"),
                )
            })?;
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
