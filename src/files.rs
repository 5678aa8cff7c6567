//! The artifacts' file names inside the data path, and which stage writes
//! each: the one declaration the stage registry's outputs, the records'
//! producer checks and every missing-file hint are derived from.

use std::path::Path;

/// The competition's bars (input).
pub const TRAIN_CSV: &str = "train.csv";
/// The competition's asset table (input).
pub const ASSET_DETAILS_CSV: &str = "asset_details.csv";
/// load_data: bars from 2020-01-01 on.
pub const DF_TRAIN: &str = "df_train.parquet";
/// load_data: asset table sorted by Asset_ID.
pub const DF_ASSET_DETAILS: &str = "df_asset_details.parquet";
/// feature_engineering: features of every asset.
pub const FEATURE_DF: &str = "feature_df.parquet";
/// merge_assets_features: features plus Weight.
pub const MERGE_FEATURE_DF: &str = "merge_feature_df.parquet";
/// modeling: LightGBM text model (best rounds).
pub const MODEL: &str = "lgb.txt";
/// modeling: per-round metrics and best scores.
pub const HISTORY: &str = "lgb_history.json";
/// modeling: validation rows with the best round's predictions.
pub const VALID_PREDICTIONS: &str = "valid_predictions.parquet";
/// modeling: split and gain importance per feature.
pub const FEATURE_IMPORTANCE: &str = "feature_importance.json";
/// evaluation_result: the KFP metrics document (default location).
pub const METRICS: &str = "mlpipeline-metrics.json";
/// evaluation_result: markdown summary (default location).
pub const SUMMARY: &str = "evaluation_summary.md";
/// evaluation_result: charts and summary as one HTML page (default location).
pub const CHARTS: &str = "evaluation_charts.html";

/// Every artifact and the lab stage (function name) that writes it, in the
/// order each stage lists its outputs. A stage's outputs are its rows here.
pub const WRITTEN_BY: [(&str, &str); 13] = [
    (TRAIN_CSV, "download_data"),
    (ASSET_DETAILS_CSV, "download_data"),
    (DF_TRAIN, "load_data"),
    (DF_ASSET_DETAILS, "load_data"),
    (FEATURE_DF, "feature_engineering"),
    (MERGE_FEATURE_DF, "merge_assets_features"),
    (MODEL, "modeling"),
    (VALID_PREDICTIONS, "modeling"),
    (FEATURE_IMPORTANCE, "modeling"),
    // Last of modeling's: evaluation_result trusts a model only with it.
    (HISTORY, "modeling"),
    (SUMMARY, "evaluation_result"),
    (CHARTS, "evaluation_result"),
    (METRICS, "evaluation_result"),
];

/// The lab stage that writes artifact `file`.
pub fn producer(file: &str) -> Option<&'static str> {
    WRITTEN_BY.iter().find(|(f, _)| *f == file).map(|(_, s)| *s)
}

/// The artifacts `stage` writes, in order.
pub fn written_by(stage: &str) -> impl Iterator<Item = &'static str> + '_ {
    WRITTEN_BY
        .iter()
        .filter(move |(_, s)| *s == stage)
        .map(|(f, _)| *f)
}

/// Where `stage`'s record lives in `data_path` (see `crate::contract::record`).
pub fn record_path(data_path: &Path, stage: &str) -> std::path::PathBuf {
    data_path.join(format!("{stage}.record.json"))
}

/// The subcommand of a lab stage: `load_data` -> `load-data`.
pub fn command_of(stage: &str) -> String {
    stage.replace('_', "-")
}

/// What a "file not found" adds for `path`: the command that writes it,
/// when it is one of the lab's artifacts (by file name), else nothing.
pub fn missing_hint(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(producer)
        .map(|stage| format!(" (it is written by `crypto-lab {}`)", command_of(stage)))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_name_the_writing_command() {
        assert_eq!(
            missing_hint(Path::new("d/merge_feature_df.parquet")),
            " (it is written by `crypto-lab merge-assets-features`)"
        );
        assert_eq!(missing_hint(Path::new("d/other.parquet")), "");
        assert_eq!(
            written_by("load_data").collect::<Vec<_>>(),
            [DF_TRAIN, DF_ASSET_DETAILS]
        );
    }
}
