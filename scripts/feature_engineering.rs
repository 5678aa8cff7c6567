#!/usr/bin/env -S rust-script --debug --force
//! Lab stage feature_engineering: df_train.parquet -> feature_df.parquet.
//!
//! Usage: scripts/feature_engineering.rs --data-path DIR [--valid-from WHEN] [--keep-target-nan]
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
        "scripts/feature_engineering.rs --data-path DIR [--valid-from WHEN] [--keep-target-nan]",
    )?;
    let mut opts = FeatureOptions::default();
    if let Some(when) = args.get("valid-from") {
        opts.valid_from = crypto_lab::calendar::parse_instant(when)
            .ok_or_else(|| format!("--valid-from: cannot read `{when}`"))?;
    }
    opts.keep_target_nan = args.flag("keep-target-nan");
    let shape = feature_engineering(&args.data_path(), &opts)?;
    println!(
        "feature_engineering: {} rows x {} columns",
        shape.rows, shape.columns
    );
    Ok(())
}
