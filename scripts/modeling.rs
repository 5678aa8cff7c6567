#!/usr/bin/env -S sh -c 'p=$(rust-script -p "$0") && cp "${0%/*}/../Cargo.lock" "$p/" && exec cargo run --config "${0%/*}/../.cargo/config.toml" --manifest-path "$p/Cargo.toml" -- "$@"'
//! Lab stage modeling: merge_feature_df.parquet -> lgb.txt, lgb_history.json, feature_importance.json.
//!
//! Usage: scripts/modeling.rs --data-path DIR [--n-estimators 1200] [--learning-rate 0.01] [--seed 2022] [--early-stopping-rounds 60]
//! ```cargo
//! [package]
//! edition = "2021"
//!
//! [dependencies]
//! crypto-lab = { path = ".." }
//! ```

use crypto_lab::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = crypto_lab::script::Args::from_env("scripts/modeling.rs --data-path DIR [--n-estimators 1200] [--learning-rate 0.01] [--seed 2022] [--early-stopping-rounds 60]")?;
    let defaults = ModelParams::default();
    let params = ModelParams {
        n_estimators: args.parse_or("n-estimators", defaults.n_estimators)?,
        learning_rate: args.parse_or("learning-rate", defaults.learning_rate)?,
        seed: args.parse_or("seed", defaults.seed)?,
        early_stopping_rounds: args
            .parse_or("early-stopping-rounds", defaults.early_stopping_rounds)?,
        ..defaults
    };
    let model = modeling(&args.data_path(), &params, &Print)?;
    let h = &model.history;
    println!(
        "modeling: best iteration {}: rmse {:.6}, weighted correlation {:.6}",
        h.best_iteration, h.rmse, h.weighted_correlation
    );
    Ok(())
}
