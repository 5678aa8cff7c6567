#!/usr/bin/env -S rust-script --debug --force
//! Lab stage evaluation_result: checks the model against its record, writes mlpipeline-metrics.json, a summary and charts.
//!
//! Usage: scripts/evaluation_result.rs --data-path DIR [--metrics-path FILE]
//! ```cargo
//! [package]
//! edition = "2021"
//!
//! [dependencies]
//! crypto-lab = { path = ".." }
//!
//! # The project's own profile, so a shared target dir reuses its build.
//! [profile.dev]
//! opt-level = 1
//! debug = "line-tables-only"
//!
//! [profile.dev.package."*"]
//! opt-level = 1
//! debug = false
//!
//! [profile.dev.package.polars]
//! opt-level = 3
//!
//! [profile.dev.package.polars-arrow]
//! opt-level = 3
//!
//! [profile.dev.package.polars-buffer]
//! opt-level = 3
//!
//! [profile.dev.package.polars-compute]
//! opt-level = 3
//!
//! [profile.dev.package.polars-core]
//! opt-level = 3
//!
//! [profile.dev.package.polars-io]
//! opt-level = 3
//!
//! [profile.dev.package.polars-parquet]
//! opt-level = 3
//!
//! [profile.dev.package.polars-utils]
//! opt-level = 3
//!
//! [profile.dev.package.crypto-lab]
//! opt-level = 3
//! ```

use crypto_lab::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = crypto_lab::script::Args::from_env(
        "scripts/evaluation_result.rs --data-path DIR [--metrics-path FILE]",
    )?;
    let metrics_path = args.get("metrics-path").map(std::path::PathBuf::from);
    let metrics = evaluation_result(&args.data_path(), metrics_path.as_deref())?;
    for m in &metrics.metrics {
        println!("evaluation_result: {} {:.6}", m.name, m.number_value);
    }
    Ok(())
}
