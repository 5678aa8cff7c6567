//! `crypto-lab run`: the whole pipeline, then a summary.

use std::time::Instant;

use anyhow::Result;
use crypto_lab::args::{Common, RunArgs};
use crypto_lab::artifact::read_json;
use crypto_lab::prelude::*;
use crypto_lab::runner::PipelineRun;
use crypto_lab::stages::Outcome;

use crate::terminal::Terminal;

/// Runs every stage (skipping those up to date) and prints each one's time
/// and the metrics.
pub fn exec(args: &RunArgs, common: &Common, term: &Terminal) -> Result<()> {
    let ctx = args.context(term)?;
    let t = Instant::now();
    let report = run_pipeline(&ctx, &args.run_options(common))?;
    print_summary(&ctx, &report, t.elapsed().as_secs_f64())
}

fn print_summary(ctx: &StageContext, report: &PipelineRun, total: f64) -> Result<()> {
    println!("crypto-lab run: {}", ctx.data_path.display());
    if let Some(rows) = report.synthesized_rows {
        println!(
            "  {:24} {:>7.1}s  {rows} synthetic rows",
            "synth", report.synth_seconds
        );
    }
    for s in &report.stages {
        match &s.outcome {
            Outcome::Ran(output) => println!("  {:24} {:>7.1}s  {output}", s.name, s.seconds),
            Outcome::Skipped(why) => println!("  {:24} {:>8}  {why}", s.name, "skipped"),
        }
    }
    let metrics_path = ctx.path_of(files::METRICS);
    // evaluation_result skipped (up to date): its published metrics stand.
    let read;
    let metrics = match report.metrics() {
        Some(m) => m,
        None => {
            read = read_json::<Metrics>(&metrics_path)?;
            &read
        }
    };
    for m in &metrics.metrics {
        println!("  {:24} {:.6}", m.name, m.number_value);
    }
    println!(
        "  {:24} {:>7.1}s  metrics in {}",
        "total",
        total,
        metrics_path.display()
    );
    Ok(())
}
