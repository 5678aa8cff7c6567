#!/usr/bin/env -S rust-script --debug --force
//! Lab stage load_data: train.csv and asset_details.csv -> df_train.parquet, df_asset_details.parquet.
//!
//! Usage: scripts/load_data.rs --data-path DIR
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
    let args = crypto_lab::script::Args::from_env("scripts/load_data.rs --data-path DIR")?;
    let loaded = load_data(&args.data_path())?;
    println!(
        "load_data: {} rows from 2020-01-01 on, {} assets",
        loaded.df_train.height(),
        loaded.df_asset_details.height()
    );
    Ok(())
}
