#!/usr/bin/env -S rust-script --debug --force
//! Lab stage merge_assets_features: feature_df.parquet + df_asset_details.parquet -> merge_feature_df.parquet.
//!
//! Usage: scripts/merge_assets_features.rs --data-path DIR
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
    let args =
        crypto_lab::script::Args::from_env("scripts/merge_assets_features.rs --data-path DIR")?;
    let shape = merge_assets_features(&args.data_path())?;
    println!(
        "merge_assets_features: {} rows x {} columns",
        shape.rows, shape.columns
    );
    Ok(())
}
