#!/usr/bin/env -S sh -c 'p=$(rust-script -p "$0") && cp "${0%/*}/../Cargo.lock" "$p/" && exec cargo run --config "${0%/*}/../.cargo/config.toml" --manifest-path "$p/Cargo.toml" -- "$@"'
//! Lab stage evaluation_result: checks the model against its record, writes mlpipeline-metrics.json, a summary and charts.
//!
//! Usage: scripts/evaluation_result.rs --data-path DIR [--metrics-path FILE]
//! ```cargo
//! [package]
//! edition = "2021"
//!
//! [dependencies]
//! crypto-lab = { path = ".." }
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
