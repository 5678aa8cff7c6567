//! The local runner: the one place a stage is run for a caller (locked,
//! executed, followed by what comes after it), for one stage
//! ([`run_stage`]: the subcommands, the scripts, the KFP steps) or the whole
//! lab on one machine ([`run_pipeline`]: `run`, the embedded default that
//! Kubeflow is how a user outgrows).

use std::path::Path;
use std::time::Instant;

use crate::contract::Metrics;
use crate::error::{Error, Result};
use crate::files;
use crate::kfp::runtime::executor::write_metrics_output;
use crate::lock::lock_data_path;
use crate::progress::Progress;
use crate::stages::freshness::stale_reason;
use crate::stages::{Stage, StageContext, StageKind, StageOutput, StageRun, STAGES};
use crate::synth::{synth, SynthOptions};

/// The result of a pipeline run.
#[derive(Debug, Clone, Default)]
pub struct PipelineRun {
    /// Rows of synthetic data made first, when the data path had no `train.csv`.
    pub synthesized_rows: Option<usize>,
    /// Seconds spent making synthetic data.
    pub synth_seconds: f64,
    /// Every stage in order.
    pub stages: Vec<StageRun>,
}

impl PipelineRun {
    /// The metrics evaluation_result published in this run, if it ran.
    pub fn metrics(&self) -> Option<&Metrics> {
        self.stages
            .iter()
            .find_map(|s| s.output().and_then(StageOutput::metrics))
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
    /// When another crypto-lab writes in the data path, wait for it
    /// instead of stopping at once.
    pub wait_lock: bool,
}

/// Runs one stage as its subcommand, its script and a KFP step do: the
/// data path locked (waiting with `wait_lock`), the stage executed and
/// committed with its record ([`Stage::execute`]), then what follows it
/// (the KFP executor output after evaluation_result); a failure names the
/// stage.
///
/// With placed files (`ctx.placed`, KFP's artifacts form) the inputs are
/// linked into the data path first and the outputs moved to their paths
/// once the stage has committed.
pub fn run_stage(stage: &Stage, ctx: &StageContext, wait_lock: bool) -> Result<StageRun> {
    let failed = |e| Error::StageFailed {
        stage: stage.name,
        cause: Box::new(e),
    };
    ctx.placed.check(stage).map_err(failed)?;
    let _lock = lock_data_path(&ctx.data_path, wait_lock, ctx.progress)?;
    ctx.placed.link_inputs(&ctx.data_path).map_err(failed)?;
    let run = stage.execute(ctx).map_err(failed)?;
    // The outputs in place before KFP is told the step finished.
    ctx.placed
        .move_outputs(|f| ctx.path_of(f))
        .map_err(failed)?;
    after(&run, ctx)?;
    Ok(run)
}

/// Makes synthetic data in the Kaggle schema in `data_path`, holding its
/// lock as every writer there does; returns the rows written.
pub fn run_synth(
    data_path: &Path,
    opts: &SynthOptions,
    wait_lock: bool,
    progress: &dyn Progress,
) -> Result<usize> {
    let _lock = lock_data_path(data_path, wait_lock, progress)?;
    synth(data_path, opts, progress)
}

/// What follows a stage that ran: evaluation_result given KFP's executor
/// input also publishes its metrics as the step's `system.Metrics`
/// artifact.
fn after(run: &StageRun, ctx: &StageContext) -> Result<()> {
    let metrics = run.output().and_then(StageOutput::metrics);
    if let (Some(input), Some(metrics)) = (&ctx.evaluation.executor_input, metrics) {
        let path = write_metrics_output(input, metrics)?;
        ctx.progress.log(&format!(
            "{}: KFP executor output in {}",
            run.name,
            path.display()
        ));
    }
    Ok(())
}

/// Runs the lab's stages in order on `ctx.data_path`, making synthetic data
/// first when there is no `train.csv` (and saying so).
pub fn run_pipeline(ctx: &StageContext, opts: &RunOptions) -> Result<PipelineRun> {
    let _lock = lock_data_path(&ctx.data_path, opts.wait_lock, ctx.progress)?;
    let mut report = PipelineRun::default();
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
            report.stages.push(StageRun::skipped(stage, why));
            continue;
        }
        let ran = stage.execute(ctx)?;
        after(&ran, ctx)?;
        if let Some(output) = ran.output() {
            progress.log(&format!("{}: {output} ({:.1}s)", stage.name, ran.seconds));
        }
        report.stages.push(ran);
    }
    Ok(report)
}
