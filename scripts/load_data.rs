#!/usr/bin/env -S sh -c 'p=$(rust-script -p "$0") && cp "${0%/*}/../Cargo.lock" "$p/" && exec cargo run --config "${0%/*}/../.cargo/config.toml" --manifest-path "$p/Cargo.toml" -- "$@"'
//! Lab stage load_data: train.csv and asset_details.csv -> df_train.parquet, df_asset_details.parquet.
//!
//! Usage: scripts/load_data.rs --data-path DIR
//! ```cargo
//! [package]
//! edition = "2021"
//!
//! [dependencies]
//! crypto-lab = { path = ".." }
//! ```

use crypto_lab::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = crypto_lab::script::Args::from_env("scripts/load_data.rs --data-path DIR")?;
    let loaded = load_data(&args.data_path())?;
    println!(
        "load_data: {} rows from 2020-01-01 on, {} assets",
        loaded.df_train.height(),
        loaded.df_asset_details.height()
    );
    Ok(())
}
