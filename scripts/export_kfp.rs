#!/usr/bin/env -S rust-script --debug --force
//! The KFP exporter: component and pipeline YAML (v2 IR and v1) from the stage registry.
//!
//! Usage: scripts/export_kfp.rs --out DIR [--image IMAGE] [--data-path /mnt] [--pvc-size 16Gi] [--storage-class NAME] [--kaggle-secret NAME]
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


fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = crypto_lab::script::Args::from_env("scripts/export_kfp.rs --out DIR [--image IMAGE] [--data-path /mnt] [--pvc-size 16Gi] [--storage-class NAME] [--kaggle-secret NAME]")?;
    let defaults = crypto_lab::kfp::ExportOptions::default();
    let opts = crypto_lab::kfp::ExportOptions {
        image: args.get_or("image", &defaults.image),
        data_path: args.get_or("data-path", &defaults.data_path),
        pvc_size: args.get_or("pvc-size", &defaults.pvc_size),
        storage_class: args.get("storage-class").map(String::from),
        kaggle_secret: args.get_or("kaggle-secret", &defaults.kaggle_secret),
    };
    let out = std::path::PathBuf::from(args.get_or("out", "kfp"));
    let written = crypto_lab::kfp::export_kfp(&out, &opts)?;
    println!(
        "export_kfp: wrote {} files under {}",
        written.len(),
        out.display()
    );
    Ok(())
}
