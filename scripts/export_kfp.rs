#!/usr/bin/env -S sh -c 'p=$(rust-script -p "$0") && cp "${0%/*}/../Cargo.lock" "$p/" && exec cargo run --config "${0%/*}/../.cargo/config.toml" --manifest-path "$p/Cargo.toml" -- "$@"'
//! The KFP exporter: component and pipeline YAML (v2 IR and v1) from the stage registry.
//!
//! Usage: scripts/export_kfp.rs [--out DIR] [the flags of `crypto-lab export-kfp --help`]
//! ```cargo
//! [package]
//! edition = "2021"
//!
//! [dependencies]
//! crypto-lab = { path = ".." }
//! ```

use crypto_lab::args::{parse_script, ExportKfpArgs};

fn main() -> Result<(), crypto_lab::Error> {
    let args: ExportKfpArgs = parse_script(
        "scripts/export_kfp.rs",
        "KFP component and pipeline YAML for every stage (as `crypto-lab export-kfp`).",
    );
    let written = crypto_lab::kfp::export_kfp(&args.out, &args.options()?)?;
    println!(
        "export_kfp: wrote {} files under {}",
        written.len(),
        args.out.display()
    );
    Ok(())
}
