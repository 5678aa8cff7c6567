//! Lab cell "Merge Assets Features": attach each asset's Weight.

use std::collections::HashMap;
use std::path::Path;

use polars::prelude::*;

use crate::artifact::{
    ensure_writable_dir, for_each_parquet_slice, read_parquet, write_parquet_batches, FrameShape,
};
use crate::columns::{f64_column, i64_column};
use crate::error::{Error, Result};
use crate::files;
use crate::stages::feature_engineering::KEY_COLUMNS;

/// In-memory form: pandas' `merge(feature_df, details[['Asset_ID','Weight']],
/// how='left', on='Asset_ID')`. Row order is kept. An asset without a
/// Weight is an error: the lab's left join would give it a missing Weight,
/// and the weighted correlation of every round would then be NaN.
pub fn merge_frames(feature_df: &DataFrame, df_asset_details: &DataFrame) -> Result<DataFrame> {
    let details = Path::new(files::DF_ASSET_DETAILS);
    let ids = i64_column(df_asset_details, "Asset_ID", details)?;
    let weights = f64_column(df_asset_details, "Weight", details)?;
    let by_id: HashMap<i64, f64> = ids.into_iter().zip(weights).collect();
    let assets = i64_column(feature_df, "Asset_ID", Path::new(files::FEATURE_DF))?;
    let weight: Float64Chunked = assets
        .iter()
        .map(|id| by_id.get(id).copied().filter(|w| w.is_finite()))
        .collect();
    if weight.null_count() > 0 {
        let mut missing: Vec<i64> = assets
            .iter()
            .filter(|id| !by_id.get(*id).is_some_and(|w| w.is_finite()))
            .copied()
            .collect();
        missing.sort_unstable();
        missing.dedup();
        return Err(Error::bad_input(
            details,
            format!(
                "no Weight for Asset_ID {} (in {} but not in asset_details.csv); \
                 put the asset in asset_details.csv and rerun load-data",
                missing
                    .iter()
                    .map(|id| id.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                files::FEATURE_DF
            ),
        ));
    }
    let mut merged = feature_df.clone();
    merged.with_column(weight.with_name("Weight".into()).into_column())?;
    Ok(merged)
}

/// Rows merged per pass in the file form: a few hundred MiB of features.
const ROWS_PER_PASS: usize = 1 << 20;

/// File form, as the lab's `merge_assets_features(data_path)`: reads
/// `feature_df.parquet` and `df_asset_details.parquet`, writes
/// `merge_feature_df.parquet`. The features go through [`merge_frames`] a
/// slice of rows at a time, so neither frame is ever whole in memory.
pub fn merge_assets_features(data_path: &Path) -> Result<FrameShape> {
    merge_in_passes(data_path, ROWS_PER_PASS)
}

/// The file form with `rows_per_pass` rows a pass (at least 1).
pub fn merge_in_passes(data_path: &Path, rows_per_pass: usize) -> Result<FrameShape> {
    ensure_writable_dir(data_path)?;
    let features = data_path.join(files::FEATURE_DF);
    let details = read_parquet(&data_path.join(files::DF_ASSET_DETAILS))?;
    write_parquet_batches(&data_path.join(files::MERGE_FEATURE_DF), |sink| {
        for_each_parquet_slice(&features, None, rows_per_pass, |part| {
            // A frame of another stage under this name (df_train renamed,
            // say) is refused here rather than one stage later. Only the
            // keys are required: a notebook's get_features may make other
            // features, which modeling's list then names.
            let missing: Vec<&str> = KEY_COLUMNS
                .iter()
                .copied()
                .filter(|c| crate::columns::find_column(&part, c).is_none())
                .collect();
            if !missing.is_empty() {
                return Err(Error::bad_input(
                    &features,
                    format!(
                        "not feature_engineering's output: no column {} \
                             (rerun `crypto-lab feature-engineering`)",
                        missing.join(", ")
                    ),
                ));
            }
            sink(merge_frames(&part, &details)?)
        })
    })
}
