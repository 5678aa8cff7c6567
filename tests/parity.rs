//! Every stage against the outputs of the lab's own Python code
//! (tests/fixtures/seed-parity, see its README).

use crate::common::read_parquet;
use crate::common::*;
use crypto_lab::contract::{TrainingHistory, ValidPredictions};
use crypto_lab::prelude::*;

/// Features run the same algorithms as pandas and TA-Lib, so they must agree
/// to rounding noise.
const FEATURE_TOLERANCE: f64 = 1e-9;

/// The fixture's README: with 0, 1 or 2 LightGBM threads the metrics agreed to
/// 1e-16; the same LightGBM 4.7.0 runs here, so 1e-6 relative leaves room only
/// for float summation order in the weighted correlation.
const METRIC_TOLERANCE: f64 = 1e-6;

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs())
}

#[test]
fn every_stage_matches_the_lab() {
    let dir = fixture_data_path("parity");
    let data = dir.path();

    let loaded = load_data(data).expect("load_data");
    let expected = read_parquet(&fixture_dir().join("expected_df_train.parquet"));
    let written = read_parquet(&data.join(files::DF_TRAIN));
    // df_train exactly: same rows, same values.
    assert_frames_match(&written, &expected, 0.0, &["datetime"]);
    assert_frames_match(&loaded.df_train, &expected, 0.0, &["datetime"]);
    let details = read_parquet(&data.join(files::DF_ASSET_DETAILS));
    assert_eq!(
        values(&details, "Asset_ID"),
        (0..14).map(f64::from).collect::<Vec<_>>()
    );

    let shape = feature_engineering(data, &FeatureOptions::default()).expect("feature_engineering");
    let feature_df = read_parquet(&data.join(files::FEATURE_DF));
    assert_eq!(
        (shape.rows, shape.columns),
        (feature_df.height(), feature_df.width())
    );
    // Written an asset at a time, the file holds what the in-memory form returns.
    let in_memory = build_features(&loaded.df_train, &FeatureOptions::default()).expect("build");
    assert_frames_match(&feature_df, &in_memory, 0.0, &[]);

    let shape = merge_assets_features(data).expect("merge_assets_features");
    let merged = read_parquet(&data.join(files::MERGE_FEATURE_DF));
    assert_eq!(
        (shape.rows, shape.columns),
        (merged.height(), merged.width())
    );
    let in_memory = merge_frames(&in_memory, &loaded.df_asset_details).expect("merge");
    assert_frames_match(&merged, &in_memory, 0.0, &[]);
    // Many small passes make the same file as one.
    crypto_lab::stages::merge_assets_features::merge_in_passes(data, 7).expect("small passes");
    assert_frames_match(
        &read_parquet(&data.join(files::MERGE_FEATURE_DF)),
        &in_memory,
        0.0,
        &[],
    );
    let expected = read_parquet(&fixture_dir().join("expected_merge_feature_df.parquet"));
    let names: Vec<String> = merged
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let expected_names: Vec<String> = expected
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .filter(|s| !s.starts_with("__index"))
        .collect();
    assert_eq!(names, expected_names, "columns and their order");
    assert_frames_match(&merged, &expected, FEATURE_TOLERANCE, &[]);

    let model = modeling(data, &ModelParams::default(), &Silent).expect("modeling");
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture_dir().join("expected_metrics.json")).expect("metrics"),
    )
    .expect("json");
    let h = &model.history;
    assert_eq!(
        h.best_iteration as u64,
        expected["best_iteration"].as_u64().expect("best")
    );
    let exp_rmse = expected["root-mean-squared-error"].as_f64().expect("rmse");
    let exp_wcorr = expected["weighted-correlation"].as_f64().expect("wcorr");
    assert!(
        rel(h.rmse, exp_rmse) < METRIC_TOLERANCE,
        "{} vs {exp_rmse}",
        h.rmse
    );
    assert!(rel(h.weighted_correlation, exp_wcorr) < METRIC_TOLERANCE);
    for (key, ours) in [("rmse", &h.evals.rmse), ("eval_wcorr", &h.evals.eval_wcorr)] {
        let theirs: Vec<f64> = expected["evals"][key]
            .as_array()
            .expect("evals")
            .iter()
            .map(|v| v.as_f64().expect("number"))
            .collect();
        assert_eq!(ours.len(), theirs.len(), "{key}: rounds trained");
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert!(
                rel(*a, *b) < METRIC_TOLERANCE,
                "{key} round {}: {a} vs {b}",
                i + 1
            );
        }
    }
    // The history on disk is what evaluation_result reads.
    let on_disk: TrainingHistory =
        serde_json::from_str(&std::fs::read_to_string(data.join(files::HISTORY)).expect("history"))
            .expect("history json");
    assert_eq!(&on_disk, h);

    // The saved best-round predictions are what the saved model predicts:
    // evaluation and the charts read them instead of predicting again.
    let saved = ValidPredictions::read(&data.join(files::VALID_PREDICTIONS)).expect("predictions");
    assert_eq!(saved, model.predictions);
    let (again, valid) = crypto_lab::stages::evaluation_result::validation_predictions(
        &data.join(files::MODEL),
        &merged,
        &h.params.features,
    )
    .expect("re-predict");
    assert_eq!(saved.prediction.len(), again.len());
    // Streamed a slice at a time, the saved predictions give the same bits.
    let streamed =
        crypto_lab::stages::evaluation_result::saved_scores(&data.join(files::VALID_PREDICTIONS))
            .expect("streamed scores");
    let whole = crypto_lab::stages::evaluation_result::Rescore::of(
        &saved.prediction,
        &saved.labels(),
        &saved.weight,
    );
    assert_eq!(streamed, whole);
    assert!(
        streamed.rmse == h.rmse && streamed.weighted_correlation == h.weighted_correlation
            || (rel(streamed.rmse, h.rmse) < 1e-12
                && rel(streamed.weighted_correlation, h.weighted_correlation) < 1e-12)
    );
    assert_eq!(saved.labels(), valid.y);
    for (i, (a, b)) in saved.prediction.iter().zip(&again).enumerate() {
        assert!(
            rel(*a, *b) < 1e-12 || a == b,
            "validation row {i}: saved {a}, model {b}"
        );
    }

    let metrics = evaluation_result(data, None).expect("evaluation_result");
    assert!(
        rel(
            metrics.get("root-mean-squared-error").expect("rmse"),
            exp_rmse
        ) < METRIC_TOLERANCE
    );
    assert!(
        rel(
            metrics.get("weighted-correlation").expect("wcorr"),
            exp_wcorr
        ) < METRIC_TOLERANCE
    );
    let text = std::fs::read_to_string(data.join(files::METRICS)).expect("metrics file");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("metrics json");
    assert_eq!(doc["metrics"][0]["name"], "root-mean-squared-error");
    assert_eq!(doc["metrics"][1]["name"], "weighted-correlation");
    assert_eq!(doc["metrics"][0]["format"], "RAW");

    // Python lightgbm loads lgb.txt; here the safe crate reloads it.
    let model_text = std::fs::read_to_string(data.join(files::MODEL)).expect("model");
    assert!(model_text.starts_with("tree\n"));
    assert!(model_text.contains("feature_names=Asset_ID RSI_30"));
}

#[test]
fn get_features_of_one_asset_matches_the_labs_rows() {
    let dir = fixture_data_path("one-asset");
    let loaded = load_data(dir.path()).expect("load_data");
    let one = crypto_lab::stages::feature_engineering::asset_features(
        &loaded.df_train,
        3,
        &FeatureOptions::default(),
    )
    .expect("features");
    let all = read_parquet(&fixture_dir().join("expected_merge_feature_df.parquet"));
    let mask: polars::prelude::BooleanChunked =
        values(&all, "Asset_ID").iter().map(|&a| a == 3.0).collect();
    let expected = all
        .filter(&mask)
        .expect("filter")
        .drop("Weight")
        .expect("drop");
    assert_frames_match(&one, &expected, FEATURE_TOLERANCE, &[]);
}
