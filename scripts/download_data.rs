#!/usr/bin/env -S sh -c 'p=$(rust-script -p "$0") && cp "${0%/*}/../Cargo.lock" "$p/" && exec cargo run --config "${0%/*}/../.cargo/config.toml" --manifest-path "$p/Cargo.toml" -- "$@"'
//! Lab stage download_data: the competition archive from Kaggle (or a mirror URL or a zip) -> train.csv, asset_details.csv. Credentials as for crypto-lab download-data --help.
//!
//! Usage: scripts/download_data.rs [--data-path DIR] [the flags of `crypto-lab download-data --help`]
//!
//! It calls the lab function `crypto_lab::stages::download_data::download_data(data_path, &options, progress)`
//! through the stage registry. The flags, defaults and checks are the
//! binary's (`crypto_lab::args`), and the stage runs as `crypto-lab download-data` runs it: the data path locked, the
//! outputs committed together with the stage's record.
//! ```cargo
//! [package]
//! edition = "2021"
//!
//! [dependencies]
//! crypto-lab = { path = ".." }
//! ```

use crypto_lab::args::{DownloadDataArgs, Script};

fn main() -> std::process::ExitCode {
    Script::<DownloadDataArgs>::from_env().main()
}
