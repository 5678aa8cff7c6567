#!/usr/bin/env -S sh -c 'p=$(rust-script -p "$0") && cp "${0%/*}/../Cargo.lock" "$p/" && exec cargo run --config "${0%/*}/../.cargo/config.toml" --manifest-path "$p/Cargo.toml" -- "$@"'
//! Lab stage merge_assets_features: feature_df.parquet + df_asset_details.parquet -> merge_feature_df.parquet.
//!
//! Usage: scripts/merge_assets_features.rs [--data-path DIR] [the flags of `crypto-lab merge-assets-features --help`]
//!
//! It calls the lab function `crypto_lab::stages::merge_assets_features::merge_assets_features(data_path)`
//! through the stage registry. The flags, defaults and checks are the
//! binary's (`crypto_lab::args`), and the stage runs as `crypto-lab merge-assets-features` runs it: the data path locked, the
//! outputs committed together with the stage's record.
//! ```cargo
//! [package]
//! edition = "2021"
//!
//! [dependencies]
//! crypto-lab = { path = ".." }
//! ```

use crypto_lab::args::{MergeAssetsFeaturesArgs, Script};

fn main() -> std::process::ExitCode {
    Script::<MergeAssetsFeaturesArgs>::from_env().main()
}
