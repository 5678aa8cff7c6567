#!/usr/bin/env -S sh -c 'p=$(rust-script -p "$0") && cp "${0%/*}/../Cargo.lock" "$p/" && exec cargo run --config "${0%/*}/../.cargo/config.toml" --manifest-path "$p/Cargo.toml" -- "$@"'
//! The KFP exporter: component and pipeline YAML (v2 IR and v1) from the stage registry.
//!
//! Usage: scripts/export_kfp.rs --out DIR [--image IMAGE] [--data-path /mnt] [--pvc-size 16Gi] [--storage-class NAME] [--kaggle-secret NAME]
//! ```cargo
//! [package]
//! edition = "2021"
//!
//! [dependencies]
//! crypto-lab = { path = ".." }
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
