#!/usr/bin/env -S sh -c 'p=$(rust-script -p "$0") && cp "${0%/*}/../Cargo.lock" "$p/" && exec cargo run --config "${0%/*}/../.cargo/config.toml" --manifest-path "$p/Cargo.toml" -- "$@"'
//! Lab stage merge_assets_features: feature_df.parquet + df_asset_details.parquet -> merge_feature_df.parquet.
//!
//! Usage: scripts/merge_assets_features.rs --data-path DIR
//! ```cargo
//! [package]
//! edition = "2021"
//!
//! [dependencies]
//! crypto-lab = { path = ".." }
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
