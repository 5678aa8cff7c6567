//! What a stage did: its typed result ([`StageOutput`]) and its part in a
//! run ([`StageRun`]: ran or skipped, and how long it took).

use std::fmt;
use std::path::PathBuf;
use std::time::Instant;

use super::download_data::DownloadReport;
use super::Stage;
use crate::artifact::FrameShape;
use crate::contract::{Metrics, TrainingHistory};

/// What a stage's file form returned: its typed result, from which every
/// caller formats what it shows.
#[derive(Debug, Clone, PartialEq)]
pub enum StageOutput {
    /// download_data: the archive fetched and extracted, or found in place.
    Downloaded {
        /// What it did.
        report: DownloadReport,
        /// The members it was asked for.
        files: Vec<String>,
    },
    /// load_data: rows kept and assets.
    Loaded {
        /// Rows of df_train.
        rows: usize,
        /// Rows of df_asset_details.
        assets: usize,
    },
    /// feature_engineering: the shape of feature_df.
    Features(FrameShape),
    /// merge_assets_features: the shape of merge_feature_df.
    Merged(FrameShape),
    /// modeling: the training history it saved.
    Trained(Box<TrainingHistory>),
    /// evaluation_result: the metrics it published.
    Evaluated(Metrics),
    /// A setup step: what it did, in words.
    Setup(String),
}

impl StageOutput {
    /// Whether the stage wrote its outputs (download_data finds them
    /// already there and writes nothing; a log line must not claim
    /// otherwise).
    pub fn wrote(&self) -> bool {
        match self {
            StageOutput::Downloaded { report, .. } => !report.already_present,
            StageOutput::Setup(_) => false,
            _ => true,
        }
    }

    /// The metrics, when this is evaluation_result's output.
    pub fn metrics(&self) -> Option<&Metrics> {
        match self {
            StageOutput::Evaluated(m) => Some(m),
            _ => None,
        }
    }
}

impl fmt::Display for StageOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StageOutput::Downloaded { report, files } if report.already_present => {
                write!(f, "{} already present, nothing written", files.join(", "))
            }
            StageOutput::Downloaded { report, files } => write!(
                f,
                "{} bytes downloaded{}, extracted {}",
                report.downloaded_bytes,
                if report.resumed { " (resumed)" } else { "" },
                files.join(", ")
            ),
            StageOutput::Loaded { rows, assets } => {
                write!(f, "{rows} rows from 2020-01-01 on, {assets} assets")
            }
            StageOutput::Features(shape) | StageOutput::Merged(shape) => {
                write!(f, "{} rows x {} columns", shape.rows, shape.columns)
            }
            StageOutput::Trained(h) => write!(
                f,
                "best iteration {} of {} trained: rmse {:.6}, weighted correlation {:.6}",
                h.best_iteration,
                h.evals.rmse.len(),
                h.rmse,
                h.weighted_correlation
            ),
            StageOutput::Evaluated(metrics) => {
                let shown: Vec<String> = metrics
                    .metrics
                    .iter()
                    .map(|m| format!("{} {:.6}", m.name, m.number_value))
                    .collect();
                write!(f, "{}", shown.join(", "))
            }
            StageOutput::Setup(what) => write!(f, "{what}"),
        }
    }
}

/// One stage's part in a run: it ran, with what it returned, or was
/// skipped, and why; and its wall time.
#[derive(Debug, Clone, PartialEq)]
pub struct StageRun {
    /// The lab's function name.
    pub name: &'static str,
    /// Ran or skipped.
    pub outcome: Outcome,
    /// Wall time in seconds.
    pub seconds: f64,
}

/// Whether a stage ran.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// It ran; what it returned.
    Ran(StageOutput),
    /// Not run, and why.
    Skipped(String),
}

impl StageRun {
    /// `stage` ran since `start` and returned `output`.
    pub fn ran(stage: &Stage, output: StageOutput, start: Instant) -> Self {
        StageRun {
            name: stage.name,
            outcome: Outcome::Ran(output),
            seconds: start.elapsed().as_secs_f64(),
        }
    }

    /// `stage` was not run, for `why`.
    pub fn skipped(stage: &Stage, why: impl Into<String>) -> Self {
        StageRun {
            name: stage.name,
            outcome: Outcome::Skipped(why.into()),
            seconds: 0.0,
        }
    }

    /// What it returned, when it ran.
    pub fn output(&self) -> Option<&StageOutput> {
        match &self.outcome {
            Outcome::Ran(output) => Some(output),
            Outcome::Skipped(_) => None,
        }
    }

    /// The line a stage's subcommand and script print: what it did, how
    /// long it took and, when it wrote them, where its outputs are.
    pub fn line(&self, outputs: &[PathBuf]) -> String {
        let output = match &self.outcome {
            Outcome::Ran(output) => output,
            Outcome::Skipped(why) => return format!("{}: skipped ({why})", self.name),
        };
        // download_data may find its files already there: no "wrote".
        let wrote = if output.wrote() {
            let paths: Vec<String> = outputs.iter().map(|p| p.display().to_string()).collect();
            format!("; wrote {}", paths.join(", "))
        } else {
            String::new()
        };
        format!("{}: {output} ({:.1}s){wrote}", self.name, self.seconds)
    }
}
