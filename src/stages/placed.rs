//! A stage's files at paths of their own, outside the data path: KFP's
//! artifacts form, where each input is a file the launcher downloaded and
//! each output a path it uploads from (`--in NAME PATH`, `--out NAME PATH`).
//!
//! The stage itself still works in its data path, unchanged: its inputs are
//! linked into it before it runs and its outputs moved out after it
//! committed. So the numbers, the records and the commit protocol are the
//! ones every other caller gets; only where the files come from and go to
//! differs.

use std::path::{Path, PathBuf};

use super::Stage;
use crate::artifact::copy_file;
use crate::error::{printable, Error, Result};

/// Explicit paths of a stage's files, by the lab's file name
/// (`df_train.parquet`). Empty: everything in the data path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlacedFiles {
    /// Inputs read from these paths instead of the data path.
    pub inputs: Vec<(String, PathBuf)>,
    /// Outputs moved to these paths once the stage has committed.
    pub outputs: Vec<(String, PathBuf)>,
}

impl PlacedFiles {
    /// From `--in`/`--out` values, given as NAME PATH pairs in a flat list
    /// (clap collects two values per occurrence).
    pub fn from_pairs(inputs: &[String], outputs: &[String]) -> Self {
        let pairs = |flat: &[String]| {
            // clap gives two values per occurrence.
            flat.chunks_exact(2)
                .map(|c| (c[0].clone(), PathBuf::from(&c[1])))
                .collect()
        };
        PlacedFiles {
            inputs: pairs(inputs),
            outputs: pairs(outputs),
        }
    }

    /// Fails unless every name is one of `stage`'s inputs (for `--in`) or
    /// outputs (for `--out`), named once, and every input is a file.
    pub fn check(&self, stage: &Stage) -> Result<()> {
        let outputs = stage.outputs();
        for (flag, given, allowed) in [
            ("--in", &self.inputs, stage.inputs.to_vec()),
            ("--out", &self.outputs, outputs),
        ] {
            for (i, (name, path)) in given.iter().enumerate() {
                if !allowed.contains(&name.as_str()) {
                    let list = if allowed.is_empty() {
                        "none".to_string()
                    } else {
                        allowed.join(", ")
                    };
                    return Err(Error::BadArgument(format!(
                        "{flag} {}: not a file {} {}s (its files: {list})",
                        printable(name),
                        stage.name,
                        if flag == "--in" { "read" } else { "write" },
                    )));
                }
                if given[..i].iter().any(|(n, _)| n == name) {
                    return Err(Error::BadArgument(format!(
                        "{flag} {}: given twice",
                        printable(name)
                    )));
                }
                if given[..i].iter().any(|(_, p)| p == path) {
                    return Err(Error::BadArgument(format!(
                        "{flag} {}: {} is already another file's path",
                        printable(name),
                        path.display()
                    )));
                }
                if path.as_os_str().is_empty() {
                    return Err(Error::BadArgument(format!(
                        "{flag} {}: the path is empty",
                        printable(name)
                    )));
                }
            }
        }
        for (name, path) in &self.inputs {
            if !path.is_file() {
                return Err(Error::MissingFile {
                    path: path.clone(),
                    hint: format!(" (--in {}: the file {} reads)", printable(name), stage.name),
                });
            }
        }
        Ok(())
    }

    /// Links each input into `data_path` under its lab name. A link left
    /// there by an earlier run is replaced; a real file is not: the data
    /// path's own copy would be lost.
    pub fn link_inputs(&self, data_path: &Path) -> Result<()> {
        for (name, path) in &self.inputs {
            let at = data_path.join(name);
            let same = |a: &Path, b: &Path| matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y);
            if same(&at, path) {
                // The data path's own file, named explicitly.
                continue;
            }
            match std::fs::symlink_metadata(&at) {
                Ok(m) if m.file_type().is_symlink() => std::fs::remove_file(&at)
                    .map_err(|e| Error::io(&at, "cannot replace the link", e))?,
                Ok(_) => {
                    return Err(Error::BadArgument(format!(
                        "--in {name}: {} already holds {name}; give an empty --data-path \
                         (a scratch folder) with --in, or leave --in out to use that file",
                        data_path.display()
                    )))
                }
                Err(_) => {}
            }
            let target = std::path::absolute(path)
                .map_err(|e| Error::io(path, "cannot resolve the path", e))?;
            std::os::unix::fs::symlink(&target, &at)
                .map_err(|e| Error::io(&at, "cannot link the input", e))?;
        }
        Ok(())
    }

    /// Moves each output from `data_path` (or wherever `path_of` puts it)
    /// to its path: a rename where both are on one filesystem, else an
    /// atomic copy and the original removed. Returns the paths written.
    pub fn move_outputs(&self, path_of: impl Fn(&str) -> PathBuf) -> Result<Vec<PathBuf>> {
        let mut moved = Vec::new();
        for (name, to) in &self.outputs {
            let from = path_of(name);
            if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| Error::io(dir, "cannot create the output's folder", e))?;
            }
            if std::fs::rename(&from, to).is_err() {
                // Another filesystem (a KFP launcher's artifact folder, a
                // FUSE mount): the copy is whole or absent.
                copy_file(&from, to)?;
                std::fs::remove_file(&from).map_err(|e| Error::io(&from, "cannot remove", e))?;
            }
            moved.push(to.clone());
        }
        Ok(moved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::LOAD_DATA;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("crypto-lab-placed-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch");
        dir
    }

    #[test]
    fn names_are_the_stages_own_files() {
        let dir = scratch("names");
        let csv = dir.join("t.csv");
        std::fs::write(&csv, "x").expect("write");
        let ok = PlacedFiles::from_pairs(
            &["train.csv".into(), csv.display().to_string()],
            &["df_train.parquet".into(), "/tmp/x".into()],
        );
        assert!(ok.check(&LOAD_DATA).is_ok());
        let wrong = PlacedFiles::from_pairs(&["feature_df.parquet".into(), "x".into()], &[]);
        let err = wrong.check(&LOAD_DATA).expect_err("not an input");
        assert!(
            err.to_string().contains("train.csv, asset_details.csv"),
            "{err}"
        );
        let missing = PlacedFiles::from_pairs(&["train.csv".into(), "/nonexistent/t".into()], &[]);
        let err = missing.check(&LOAD_DATA).expect_err("missing");
        assert!(err.to_string().contains("/nonexistent/t"), "{err}");
        let twice = PlacedFiles::from_pairs(
            &[],
            &[
                "df_train.parquet".into(),
                "a".into(),
                "df_train.parquet".into(),
                "b".into(),
            ],
        );
        assert!(twice.check(&LOAD_DATA).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn inputs_are_linked_and_a_real_file_is_never_replaced() {
        let dir = scratch("link");
        let data = dir.join("data");
        std::fs::create_dir_all(&data).expect("data");
        let csv = dir.join("elsewhere.csv");
        std::fs::write(&csv, "bars").expect("write");
        let placed = PlacedFiles::from_pairs(&["train.csv".into(), csv.display().to_string()], &[]);
        placed.link_inputs(&data).expect("link");
        placed.link_inputs(&data).expect("a link is replaced");
        assert_eq!(
            std::fs::read_to_string(data.join("train.csv")).expect("read"),
            "bars"
        );
        std::fs::remove_file(data.join("train.csv")).expect("rm");
        std::fs::write(data.join("train.csv"), "mine").expect("write");
        assert!(placed.link_inputs(&data).is_err());
        assert_eq!(
            std::fs::read_to_string(data.join("train.csv")).expect("read"),
            "mine"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn outputs_are_moved_into_new_folders() {
        let dir = scratch("move");
        std::fs::write(dir.join("df_train.parquet"), "frame").expect("write");
        let to = dir.join("kfp/outputs/df_train");
        let placed =
            PlacedFiles::from_pairs(&[], &["df_train.parquet".into(), to.display().to_string()]);
        let moved = placed.move_outputs(|f| dir.join(f)).expect("move");
        assert_eq!(moved, vec![to.clone()]);
        assert_eq!(std::fs::read_to_string(&to).expect("read"), "frame");
        assert!(!dir.join("df_train.parquet").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
