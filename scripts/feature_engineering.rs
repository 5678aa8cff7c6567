#!/usr/bin/env -S sh -c 'p=$(rust-script -p "$0") && cp "${0%/*}/../Cargo.lock" "$p/" && exec cargo run --config "${0%/*}/../.cargo/config.toml" --manifest-path "$p/Cargo.toml" -- "$@"'
//! Lab stage feature_engineering: df_train.parquet -> feature_df.parquet.
//!
//! Usage: scripts/feature_engineering.rs [--data-path DIR] [the flags of `crypto-lab feature-engineering --help`]
//!
//! It calls the lab function `crypto_lab::stages::feature_engineering::feature_engineering(data_path, &options)`
//! through the stage registry. The flags, defaults and checks are the
//! binary's (`crypto_lab::args`), and the stage runs as `crypto-lab feature-engineering` runs it: the data path locked, the
//! outputs committed together with the stage's record.
//! ```cargo
//! [package]
//! edition = "2021"
//!
//! [dependencies]
//! crypto-lab = { path = ".." }
//! ```

use crypto_lab::args::{FeatureEngineeringArgs, Script};

fn main() -> std::process::ExitCode {
    Script::<FeatureEngineeringArgs>::from_env().main()
}
