//! The runs table: every modeling run appends one line to `runs.jsonl` in
//! the data path (its parameters, its features and its metrics), so runs
//! made with different settings can be compared side by side; the notebook
//! shows it as a table and `crypto-lab runs` prints it.
//!
//! It is a log, not a stage artifact: no stage reads it, no record lists
//! it, and deleting it loses only the comparison.

use std::io::Write;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::columns::{col, frame};
use crate::contract::{TrainingHistory, VALID_FROM};
use crate::error::{Error, Result};
use crate::model_params::{lab_features, ModelParams};

/// The runs table's file name in the data path.
pub const RUNS_FILE: &str = "runs.jsonl";

/// One modeling run, as the runs table keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEntry {
    /// 1 for the first run on this data path's data (new data starts the
    /// table over, [`start_over`]), then counting up.
    pub run: usize,
    /// The parameters, the features among them.
    pub params: ModelParams,
    /// Whether the weighted correlation came from a caller's function.
    #[serde(default)]
    pub custom_feval: bool,
    /// Rows trained on and validated on.
    pub train_rows: usize,
    /// Validation rows.
    pub valid_rows: usize,
    /// The best round (1-based).
    pub best_iteration: usize,
    /// Whether early stopping ended training.
    pub stopped_early: bool,
    /// Validation rmse at the best round.
    pub rmse: f64,
    /// Validation weighted correlation at the best round.
    pub weighted_correlation: f64,
    /// The first validation bar's time: `valid_from` as the frame had it.
    #[serde(default)]
    pub first_valid_timestamp: Option<i64>,
    /// Rows left out for a missing Target (`keep_target_nan`).
    #[serde(default)]
    pub rows_without_target: usize,
}

impl RunEntry {
    /// The entry of a finished modeling run numbered `run`.
    pub fn of(run: usize, history: &TrainingHistory) -> Self {
        RunEntry {
            run,
            params: history.params.clone(),
            custom_feval: history.custom_feval,
            train_rows: history.train_rows,
            valid_rows: history.valid_rows,
            best_iteration: history.best_iteration,
            stopped_early: history.stopped_early,
            rmse: history.rmse,
            weighted_correlation: history.weighted_correlation,
            first_valid_timestamp: history.first_valid_timestamp,
            rows_without_target: history.rows_without_target,
        }
    }

    /// The feature options that differ from the lab's, as the trained frame
    /// shows them ("lab's" when none does): `valid_from=2021-05-04` when
    /// validation started elsewhere than 1 May 2021, `keep_target_nan` with
    /// the rows it left out. Modeling is not given the options; it reads
    /// them off the rows it splits.
    pub fn feature_options_change(&self) -> String {
        let mut changed = Vec::new();
        if let Some(t) = self.first_valid_timestamp.filter(|&t| t != VALID_FROM) {
            let when = crate::calendar::format_instant(t);
            let when = when.strip_suffix("T00:00:00Z").unwrap_or(&when);
            changed.push(format!("valid_from={when}"));
        }
        if self.rows_without_target > 0 {
            changed.push(format!(
                "keep_target_nan ({} rows left out)",
                self.rows_without_target
            ));
        }
        if changed.is_empty() {
            "lab's".to_string()
        } else {
            changed.join(" ")
        }
    }

    /// The features against the lab's list, in a few words: "lab's 24",
    /// "lab's 24 - Day, season", "lab's 24 + RSI_15".
    pub fn features_change(&self) -> String {
        let lab = lab_features();
        let mine = &self.params.features;
        let dropped: Vec<&str> = lab
            .iter()
            .filter(|f| !mine.contains(f))
            .map(String::as_str)
            .collect();
        let added: Vec<&str> = mine
            .iter()
            .filter(|f| !lab.contains(f))
            .map(String::as_str)
            .collect();
        let mut out = format!("lab's {}", lab.len());
        if !dropped.is_empty() {
            out.push_str(&format!(" - {}", dropped.join(", ")));
        }
        if !added.is_empty() {
            out.push_str(&format!(" + {}", added.join(", ")));
        }
        if dropped.is_empty() && added.is_empty() && *mine != lab {
            out.push_str(" (reordered)");
        }
        out
    }

    /// The parameters that differ from the lab's, as `key=value` words
    /// ("lab's" when none does).
    pub fn params_change(&self) -> String {
        let lab = ModelParams::default().record_options();
        let mine = self.params.record_options();
        let changed: Vec<String> = mine
            .iter()
            .filter(|(k, v)| k.as_str() != "features" && lab.get(*k) != Some(*v))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let mut out = if changed.is_empty() {
            "lab's".to_string()
        } else {
            changed.join(" ")
        };
        if self.custom_feval {
            out.push_str(" (own feval)");
        }
        out
    }
}

/// Where the runs table of `data_path` lives.
pub fn runs_path(data_path: &Path) -> PathBuf {
    data_path.join(RUNS_FILE)
}

/// Starts the runs table of `data_path` afresh. Called when new data is
/// written there (synth, download_data): runs on other data do not compare
/// with the next ones, and a notebook's data cell run again starts its
/// table over ("the lab's first, then one per exercise").
pub fn start_over(data_path: &Path) -> Result<()> {
    let path = runs_path(data_path);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(Error::io(&path, "cannot remove", e))
        }
        _ => Ok(()),
    }
}

/// The runs of `data_path`, oldest first; none when there is no table yet.
/// A line that is not a run is an error naming the file and the line.
pub fn read(data_path: &Path) -> Result<Vec<RunEntry>> {
    let path = runs_path(data_path);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&path, "cannot read", e)),
    };
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| {
                Error::bad_input(
                    &path,
                    format!(
                        "line {}: not a run ({e}); delete the file to start the table afresh",
                        i + 1
                    ),
                )
            })
        })
        .collect()
}

/// Appends the run `history` describes to the table of `data_path` and
/// returns its entry. The table is rewritten whole through a temporary file
/// and a rename, so a crash leaves the old table or the new one, never a
/// torn line.
pub fn append(data_path: &Path, history: &TrainingHistory) -> Result<RunEntry> {
    let mut runs = read(data_path)?;
    let entry = RunEntry::of(runs.last().map_or(1, |r| r.run + 1), history);
    runs.push(entry.clone());
    let mut text = String::new();
    for run in &runs {
        let line = serde_json::to_string(run)
            .map_err(|e| Error::Internal(format!("cannot encode a run: {e}")))?;
        text.push_str(&line);
        text.push('\n');
    }
    let path = runs_path(data_path);
    // Not through the stage's held writes: the table is no artifact of
    // modeling's, and a run stays logged even if a later stage fails.
    let tmp = data_path.join(format!(
        "{}{}-{RUNS_FILE}",
        crate::artifact::TEMP_PREFIX,
        std::process::id()
    ));
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| {
            f.write_all(text.as_bytes())?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, &path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(&path, "cannot write", e));
    }
    Ok(entry)
}

/// The runs as a frame, one row a run: what changed against the lab and
/// what came of it.
pub fn to_frame(runs: &[RunEntry]) -> Result<DataFrame> {
    let strings = |f: &dyn Fn(&RunEntry) -> String| runs.iter().map(f).collect::<Vec<String>>();
    let column = |name: &str, v: Vec<String>| Series::new(name.into(), v).into_column();
    frame(vec![
        col("run", runs.iter().map(|r| r.run as i64).collect::<Vec<_>>()),
        column("params", strings(&|r| r.params_change())),
        column("features", strings(&|r| r.features_change())),
        column("feature_options", strings(&|r| r.feature_options_change())),
        col(
            "train_rows",
            runs.iter().map(|r| r.train_rows as i64).collect::<Vec<_>>(),
        ),
        col(
            "valid_rows",
            runs.iter().map(|r| r.valid_rows as i64).collect::<Vec<_>>(),
        ),
        col(
            "best_iteration",
            runs.iter()
                .map(|r| r.best_iteration as i64)
                .collect::<Vec<_>>(),
        ),
        col("rmse", runs.iter().map(|r| r.rmse).collect::<Vec<_>>()),
        col(
            "weighted_correlation",
            runs.iter()
                .map(|r| r.weighted_correlation)
                .collect::<Vec<_>>(),
        ),
    ])
}

/// The runs as a plain-text table, for a terminal.
pub fn to_text(runs: &[RunEntry]) -> String {
    let header = [
        "run",
        "params",
        "features",
        "feature options",
        "train rows",
        "best iter",
        "rmse",
        "weighted corr",
    ];
    let rows: Vec<[String; 8]> = runs
        .iter()
        .map(|r| {
            [
                r.run.to_string(),
                crate::error::printable(&r.params_change()),
                crate::error::printable(&r.features_change()),
                r.feature_options_change(),
                r.train_rows.to_string(),
                r.best_iteration.to_string(),
                format!("{:.6}", r.rmse),
                format!("{:.6}", r.weighted_correlation),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = vec![line(header.to_vec())];
    out.extend(
        rows.iter()
            .map(|r| line(r.iter().map(String::as_str).collect())),
    );
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Evals;

    fn history(learning_rate: f64, features: Vec<String>) -> TrainingHistory {
        TrainingHistory {
            best_iteration: 12,
            rmse: 0.0046,
            weighted_correlation: 0.1,
            evals: Evals::default(),
            stopped_early: true,
            train_rows: 100,
            valid_rows: 50,
            params: ModelParams {
                learning_rate,
                features,
                ..ModelParams::default()
            },
            custom_feval: false,
            first_valid_timestamp: Some(VALID_FROM),
            rows_without_target: 0,
        }
    }

    #[test]
    fn runs_are_numbered_and_read_back_in_order() {
        let dir = std::env::temp_dir().join(format!("crypto-lab-runs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        assert!(read(&dir).unwrap().is_empty());
        append(&dir, &history(0.01, lab_features())).unwrap();
        let mut fewer = lab_features();
        fewer.retain(|f| f != "dayofyear");
        let second = append(&dir, &history(0.05, fewer)).unwrap();
        assert_eq!(second.run, 2);
        let runs = read(&dir).unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].params_change(), "lab's");
        assert_eq!(runs[1].params_change(), "learning_rate=0.05");
        assert_eq!(runs[1].features_change(), "lab's 24 - dayofyear");
        let text = to_text(&runs);
        assert!(text.contains("learning_rate=0.05"), "{text}");
        assert_eq!(to_frame(&runs).unwrap().shape(), (2, 9));
        // No temporary file is left beside the table.
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [RUNS_FILE]);
        std::fs::write(runs_path(&dir), "{\"run\": 1}\nnot json\n").unwrap();
        let err = read(&dir).unwrap_err().to_string();
        assert!(
            err.contains("runs.jsonl") && err.contains("line 1"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn feature_options_are_read_off_the_trained_rows() {
        let mut run = RunEntry::of(1, &history(0.01, lab_features()));
        assert_eq!(run.feature_options_change(), "lab's");
        run.first_valid_timestamp = Some(VALID_FROM + 3 * 86_400);
        run.rows_without_target = 2341;
        assert_eq!(
            run.feature_options_change(),
            "valid_from=2021-05-04 keep_target_nan (2341 rows left out)"
        );
        run.first_valid_timestamp = Some(VALID_FROM + 90);
        run.rows_without_target = 0;
        assert_eq!(
            run.feature_options_change(),
            "valid_from=2021-05-01T00:01:30Z"
        );
        // A table written before the options were recorded still reads,
        // and shows the lab's.
        let old: RunEntry = serde_json::from_str(
            &serde_json::to_string(&RunEntry::of(1, &history(0.01, lab_features())))
                .unwrap()
                .replace(",\"first_valid_timestamp\":1619827200", "")
                .replace(",\"rows_without_target\":0", ""),
        )
        .unwrap();
        assert_eq!(old.first_valid_timestamp, None);
        assert_eq!(old.feature_options_change(), "lab's");
    }

    #[test]
    fn new_data_starts_the_table_over() {
        let dir = std::env::temp_dir().join(format!("crypto-lab-runs-new-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        start_over(&dir).unwrap(); // no table yet: nothing to do
        append(&dir, &history(0.01, lab_features())).unwrap();
        let opts = crate::synth::SynthOptions {
            end: crate::synth::SynthOptions::small().start + 86_400,
            ..crate::synth::SynthOptions::small()
        };
        crate::synth::synth(&dir, &opts, &crate::progress::Silent).unwrap();
        assert!(read(&dir).unwrap().is_empty());
        assert_eq!(append(&dir, &history(0.01, lab_features())).unwrap().run, 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
