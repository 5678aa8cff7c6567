#!/usr/bin/env -S sh -c 'p=$(rust-script -p "$0") && cp "${0%/*}/../Cargo.lock" "$p/" && exec cargo run --config "${0%/*}/../.cargo/config.toml" --manifest-path "$p/Cargo.toml" -- "$@"'
//! Lab stage modeling: merge_feature_df.parquet -> lgb.txt, valid_predictions.parquet, feature_importance.json, lgb_history.json.
//!
//! Usage: scripts/modeling.rs [--data-path DIR] [the flags of `crypto-lab modeling --help`]
//!
//! It calls the lab function `crypto_lab::stages::modeling::modeling(data_path, &params, progress)`
//! through the stage registry. The flags, defaults and checks are the
//! binary's (`crypto_lab::args`), and the stage runs as `crypto-lab modeling` runs it: the data path locked, the
//! outputs committed together with the stage's record.
//! ```cargo
//! [package]
//! edition = "2021"
//!
//! [dependencies]
//! crypto-lab = { path = ".." }
//! ```

use crypto_lab::args::{ModelingArgs, Script};

fn main() -> std::process::ExitCode {
    Script::<ModelingArgs>::from_env().main()
}
