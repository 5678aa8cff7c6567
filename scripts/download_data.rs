#!/usr/bin/env -S rust-script --debug --force
//! Lab stage download_data: the competition archive from Kaggle (or a mirror URL or a zip) -> train.csv, asset_details.csv. Credentials as for crypto-lab download-data --help.
//!
//! Usage: scripts/download_data.rs --data-path DIR [--dataset g-research-crypto-forecasting] [--source kaggle|URL|ZIP] [--kaggle-api URL] [--secret-dir DIR] [--force]
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
