#!/usr/bin/env -S sh -c 'p=$(rust-script -p "$0") && cp "${0%/*}/../Cargo.lock" "$p/" && exec cargo run --config "${0%/*}/../.cargo/config.toml" --manifest-path "$p/Cargo.toml" -- "$@"'
//! Lab stage load_data: train.csv and asset_details.csv -> df_train.parquet, df_asset_details.parquet.
//!
//! Usage: scripts/load_data.rs [--data-path DIR] [the flags of `crypto-lab load-data --help`]
//!
//! It calls the lab function `crypto_lab::stages::load_data::load_data(data_path)`
//! through the stage registry. The flags, defaults and checks are the
//! binary's (`crypto_lab::args`), and the stage runs as `crypto-lab load-data` runs it: the data path locked, the
//! outputs committed together with the stage's record.
//! ```cargo
//! [package]
//! edition = "2021"
//!
//! [dependencies]
//! crypto-lab = { path = ".." }
//! ```

use crypto_lab::args::{LoadDataArgs, Script};

fn main() -> std::process::ExitCode {
    Script::<LoadDataArgs>::from_env().main()
}
