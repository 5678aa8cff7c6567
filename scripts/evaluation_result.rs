#!/usr/bin/env -S sh -c 'p=$(rust-script -p "$0") && cp "${0%/*}/../Cargo.lock" "$p/" && exec cargo run --config "${0%/*}/../.cargo/config.toml" --manifest-path "$p/Cargo.toml" -- "$@"'
//! Lab stage evaluation_result: checks the model against its record, writes mlpipeline-metrics.json, a summary and charts.
//!
//! Usage: scripts/evaluation_result.rs [--data-path DIR] [the flags of `crypto-lab evaluation-result --help`]
//!
//! It calls the lab function `crypto_lab::stages::evaluation_result::evaluation_result_to(data_path, &paths)`
//! through the stage registry. The flags, defaults and checks are the
//! binary's (`crypto_lab::args`), and the stage runs as `crypto-lab evaluation-result` runs it: the data path locked, the
//! outputs committed together with the stage's record.
//! ```cargo
//! [package]
//! edition = "2021"
//!
//! [dependencies]
//! crypto-lab = { path = ".." }
//! ```

use crypto_lab::args::{EvaluationResultArgs, Script};

fn main() -> std::process::ExitCode {
    Script::<EvaluationResultArgs>::from_env().main()
}
