#!/usr/bin/env -S sh -c 'p=$(rust-script -p "$0") && cp "${0%/*}/../Cargo.lock" "$p/" && exec cargo run --config "${0%/*}/../.cargo/config.toml" --manifest-path "$p/Cargo.toml" -- "$@"'
//! Lab stage download_data: the competition archive from Kaggle (or a mirror URL or a zip) -> train.csv, asset_details.csv. Credentials as for crypto-lab download-data --help.
//!
//! Usage: scripts/download_data.rs --data-path DIR [--dataset g-research-crypto-forecasting] [--source kaggle|URL|ZIP] [--kaggle-api URL] [--secret-dir DIR] [--force]
//! ```cargo
//! [package]
//! edition = "2021"
//!
//! [dependencies]
//! crypto-lab = { path = ".." }
//! ```

use crypto_lab::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = crypto_lab::script::Args::from_env("scripts/download_data.rs --data-path DIR [--dataset g-research-crypto-forecasting] [--source kaggle|URL|ZIP] [--kaggle-api URL] [--secret-dir DIR] [--force]")?;
    let opts = DownloadOptions {
        dataset: args.get_or(
            "dataset",
            crypto_lab::stages::download_data::DEFAULT_DATASET,
        ),
        source: Source::parse(
            &args.get_or("source", "kaggle"),
            &args.get_or(
                "kaggle-api",
                crypto_lab::stages::download_data::DEFAULT_KAGGLE_API,
            ),
        ),
        lookup: crypto_lab::credentials::Lookup::from_process(
            args.get("secret-dir").map(Into::into),
        ),
        force: args.flag("force"),
        ..DownloadOptions::default()
    };
    let report = download_data(&args.data_path(), &opts, &Print)?;
    if report.already_present {
        println!("download_data: files already present");
    } else {
        println!(
            "download_data: {} bytes downloaded, extracted {:?}",
            report.downloaded_bytes, report.extracted
        );
    }
    Ok(())
}
