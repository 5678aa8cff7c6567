#!/usr/bin/env -S sh -c 'p=$(rust-script -p "$0") && cp "${0%/*}/../Cargo.lock" "$p/" && exec cargo run --config "${0%/*}/../.cargo/config.toml" --manifest-path "$p/Cargo.toml" -- "$@"'
//! Draws bench/results/results.json as time against rows for both sides.
//!
//! Usage: bench/plot.rs --results bench/results/results.json --out bench/results/scaling
//! ```cargo
//! [package]
//! edition = "2021"
//!
//! [dependencies]
//! crypto-lab = { path = ".." }
//! serde_json = "1"
//! ```

use crypto_lab::args::clap::{Arg, Command};
use crypto_lab::plots::Chart;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Command::new("bench/plot.rs")
        .about("The benchmark's scaling chart: STEM.svg and STEM.png from the results JSON.")
        .arg(Arg::new("results").long("results").value_name("FILE").default_value("bench/results/results.json"))
        .arg(Arg::new("out").long("out").value_name("STEM").default_value("bench/results/scaling"))
        .get_matches();
    let arg = |name: &str| args.get_one::<String>(name).cloned().unwrap_or_default();
    let results = arg("results");
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&results)?)?;
    let sizes = doc["sizes"].as_array().ok_or("no sizes in results")?;
    let mut series = Vec::new();
    for (side, name) in [("lab", "lab (Python)"), ("crypto_lab", "crypto-lab")] {
        let points = sizes
            .iter()
            .filter_map(|e| {
                let rows = e["rows"].as_f64()? / 1e6;
                let secs = e[format!("end_to_end_{side}_s")].as_f64()?;
                Some((rows, secs))
            })
            .collect();
        series.push((format!("{name}, end to end"), points));
    }
    let chart = Chart::Lines {
        title: "Whole lab: wall time against rows".into(),
        labels: ("rows in train.csv (millions)".into(), "seconds".into()),
        series,
    };
    let stem = arg("out");
    for ext in ["svg", "png"] {
        chart.save(std::path::Path::new(&format!("{stem}.{ext}")))?;
    }
    println!("wrote {stem}.svg and {stem}.png");
    Ok(())
}
