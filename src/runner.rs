//! The local runner: the whole lab on one machine, the embedded default
//! (Kubeflow is how a user outgrows it).

use std::time::Instant;

use crate::contract::Metrics;
use crate::error::Result;
use crate::files;
use crate::stages::freshness::stale_reason;
use crate::stages::{StageContext, StageKind, StageOutput, STAGES};
use crate::synth::{synth, SynthOptions};

/// What happened to one stage.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// It ran; what it returned.
    Ran(StageOutput),
    /// Not run, and why.
    Skipped(String),
}

/// One stage's line in the run report.
#[derive(Debug, Clone)]
pub struct StageRun {
    /// The lab's function name.
    pub name: &'static str,
    /// Ran or skipped.
    pub outcome: Outcome,
    /// Wall time in seconds.
    pub seconds: f64,
}

/// The result of a pipeline run.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    /// Rows of synthetic data made first, when the data path had no `train.csv`.
    pub synthesized_rows: Option<usize>,
    /// Seconds spent making synthetic data.
    pub synth_seconds: f64,
    /// Every stage in order.
    pub stages: Vec<StageRun>,
}

impl RunReport {
    /// The metrics evaluation_result published in this run, if it ran.
    pub fn metrics(&self) -> Option<&Metrics> {
        self.stages.iter().find_map(|s| match &s.outcome {
            Outcome::Ran(output) => output.metrics(),
            Outcome::Skipped(_) => None,
        })
    }
}

/// Options of a local run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Run every stage even when its outputs are up to date.
    pub force: bool,
    /// Get the data with download_data (the context's download options)
    /// instead of making synthetic data when there is no `train.csv`.
    pub download: bool,
    /// How to make data when the data path has no `train.csv`.
    pub synth: SynthOptions,
}

/// Runs the lab's stages in order on `ctx.data_path`, making synthetic data
/// first when there is no `train.csv` (and saying so).
pub fn run_pipeline(ctx: &StageContext, opts: &RunOptions) -> Result<RunReport> {
    let mut report = RunReport::default();
    let progress = ctx.progress;
    if !opts.download && !ctx.data_path.join(files::TRAIN_CSV).is_file() {
        progress.log(&format!(
            "no {} in {}: making synthetic data in the Kaggle schema (crypto-lab synth)",
            files::TRAIN_CSV,
            ctx.data_path.display()
        ));
        let t = Instant::now();
        report.synthesized_rows = Some(synth(&ctx.data_path, &opts.synth, progress)?);
        report.synth_seconds = t.elapsed().as_secs_f64();
    }
    for stage in STAGES {
        let skip = if stage.kind == StageKind::Download {
            // download_data decides for itself whether its files are there.
            (!opts.download).then(|| "local data".to_string())
        } else if opts.force {
            progress.log(&format!("{}: rerun (--force)", stage.name));
            None
        } else {
            match stale_reason(stage, ctx) {
                None => {
                    progress.log(&format!(
                        "{}: up to date, skipped (--force runs it)",
                        stage.name
                    ));
                    Some("up to date".to_string())
                }
                Some(why) => {
                    progress.log(&format!("{}: rerun ({why})", stage.name));
                    None
                }
            }
        };
        if let Some(why) = skip {
            report.stages.push(StageRun {
                name: stage.name,
                outcome: Outcome::Skipped(why),
                seconds: 0.0,
            });
            continue;
        }
        let ran = stage.execute(ctx)?;
        progress.log(&format!(
            "{}: {} ({:.1}s)",
            stage.name, ran.output, ran.seconds
        ));
        report.stages.push(StageRun {
            name: stage.name,
            outcome: Outcome::Ran(ran.output),
            seconds: ran.seconds,
        });
    }
    Ok(report)
}
