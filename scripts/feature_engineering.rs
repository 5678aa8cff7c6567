#!/usr/bin/env -S sh -c 'p=$(rust-script -p "$0") && cp "${0%/*}/../Cargo.lock" "$p/" && exec cargo run --config "${0%/*}/../.cargo/config.toml" --manifest-path "$p/Cargo.toml" -- "$@"'
//! Lab stage feature_engineering: df_train.parquet -> feature_df.parquet.
//!
//! Usage: scripts/feature_engineering.rs --data-path DIR [--valid-from WHEN] [--keep-target-nan]
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
