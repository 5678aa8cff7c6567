//! Lab cell "Load Data": read the Kaggle files, keep 2020 onwards.

use std::path::Path;

use polars::prelude::*;

use crate::artifact::{ensure_writable_dir, write_parquet, write_parquet_batches};
use crate::columns::i64_column;
use crate::error::{Error, Result};
use crate::files;
use train_csv::scan_train_csv;

mod asset_details_csv;
mod train_csv;

pub use asset_details_csv::read_asset_details_csv;
pub use train_csv::read_train_csv_from;

/// The competition's assets: Asset_ID 0 to 13.
pub const NUM_ASSETS: i64 = 14;

/// `2020-01-01 00:00:00` UTC: the lab keeps rows from this instant on.
pub const START_TIMESTAMP: i64 = 1_577_836_800;

/// What load_data produces.
#[derive(Debug, Clone)]
pub struct LoadedData {
    /// Rows of `train.csv` with `timestamp >= 2020-01-01`, in file order.
    pub df_train: DataFrame,
    /// `asset_details.csv` sorted by Asset_ID.
    pub df_asset_details: DataFrame,
}

/// Checks the asset table (each competition asset at most once) and sorts
/// it by Asset_ID, as the lab's `sort_values("Asset_ID")`.
fn sort_asset_details(df_asset_details: &DataFrame, details_name: &Path) -> Result<DataFrame> {
    let ids = i64_column(df_asset_details, "Asset_ID", details_name)?;
    let mut seen = [false; NUM_ASSETS as usize];
    for (row, &id) in ids.iter().enumerate() {
        check_asset_id(id, row, details_name)?;
        if std::mem::replace(&mut seen[id as usize], true) {
            return Err(Error::bad_input(
                details_name,
                format!("line {}: Asset_ID {id} appears twice", row + 2),
            ));
        }
    }
    Ok(df_asset_details.sort(["Asset_ID"], SortMultipleOptions::default())?)
}

/// Every asset train.csv has must be in asset_details.csv (a file cut short
/// reads as one with fewer assets): said here, where the file is named,
/// rather than as a missing Weight two stages later.
fn check_assets_detailed(
    df_train: &DataFrame,
    df_asset_details: &DataFrame,
    details_path: &Path,
) -> Result<()> {
    let train_name = Path::new(files::TRAIN_CSV);
    let mut in_train = [false; NUM_ASSETS as usize];
    for id in i64_column(df_train, "Asset_ID", train_name)? {
        if let Some(seen) = usize::try_from(id).ok().and_then(|i| in_train.get_mut(i)) {
            *seen = true;
        }
    }
    let mut detailed = [false; NUM_ASSETS as usize];
    for id in i64_column(df_asset_details, "Asset_ID", details_path)? {
        if let Some(seen) = usize::try_from(id).ok().and_then(|i| detailed.get_mut(i)) {
            *seen = true;
        }
    }
    let missing: Vec<String> = (0..NUM_ASSETS as usize)
        .filter(|&i| in_train[i] && !detailed[i])
        .map(|i| i.to_string())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::bad_input(
        details_path,
        format!(
            "lacks Asset_ID {} that {} has (is the file cut short?)",
            missing.join(", "),
            files::TRAIN_CSV
        ),
    ))
}

fn check_asset_id(id: i64, row: usize, path: &Path) -> Result<()> {
    if (0..NUM_ASSETS).contains(&id) {
        Ok(())
    } else {
        Err(Error::bad_input(
            path,
            format!(
                "line {}, column `Asset_ID`: {id} is not an asset of the competition (expected 0 to {})",
                row + 2,
                NUM_ASSETS - 1
            ),
        ))
    }
}

/// File form, as the lab's `load_data(data_path)`: reads `train.csv` and
/// `asset_details.csv`, writes `df_train.parquet` and
/// `df_asset_details.parquet`.
pub fn load_data(data_path: &Path) -> Result<LoadedData> {
    let train_path = data_path.join(files::TRAIN_CSV);
    let details_path = data_path.join(files::ASSET_DETAILS_CSV);
    ensure_writable_dir(data_path)?;
    let details = read_asset_details_csv(&details_path)?;
    let df_asset_details = sort_asset_details(&details, &details_path)?;
    // The reader filters as it reads (the lab's >= 2020-01-01) and checks
    // every kept row's Asset_ID; blocks are written as they are parsed.
    let mut df_train = None;
    write_parquet_batches(&data_path.join(files::DF_TRAIN), |sink| {
        let df = scan_train_csv(&train_path, START_TIMESTAMP, sink)?;
        check_assets_detailed(&df, &df_asset_details, &details_path)?;
        df_train = Some(df);
        Ok(())
    })?;
    let mut loaded = LoadedData {
        df_train: df_train.ok_or_else(|| Error::Internal("train.csv was not read".into()))?,
        df_asset_details,
    };
    write_parquet(
        &data_path.join(files::DF_ASSET_DETAILS),
        &mut loaded.df_asset_details,
    )?;
    Ok(loaded)
}
