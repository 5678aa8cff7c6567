//! The registry: every stage of the lab as a [`Stage`] value (its name,
//! command, files, parameters and how it runs), in pipeline order.

use std::path::PathBuf;

use super::{
    download_data, evaluation_result, feature_engineering, load_data, merge_assets_features,
    modeling, StageContext, StageOutput,
};
use crate::contract::RecordOptions;
use crate::error::Result;
use crate::files;

/// What kind of step a stage is: how the runner, the records and the KFP
/// exporter treat it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageKind {
    /// Gets the lab's inputs from outside (download_data): decides itself
    /// whether its files are there, keeps no record, needs the network.
    Download,
    /// Artifacts in, artifacts out, a record of both.
    Transform,
    /// A transform that also publishes the run's metrics (KFP metrics
    /// output, the run summary).
    Evaluate,
    /// Prepares where the others run and writes no artifact (Kubeflow's
    /// prepare-volume).
    Setup,
}

/// One stage of the lab.
pub struct Stage {
    /// The lab's function name (`load_data`).
    pub name: &'static str,
    /// The CLI subcommand (`load-data`).
    pub command: &'static str,
    /// One line on what it does.
    pub description: &'static str,
    /// How it is treated.
    pub kind: StageKind,
    /// Files it reads from the data path.
    pub inputs: &'static [&'static str],
    /// The lab function's arguments: KFP input parameters of its component
    /// and CLI flags of its subcommand (`data_path` is `--data-path`).
    pub params: &'static [&'static str],
    /// Runs the file form.
    pub run: fn(&StageContext) -> Result<StageOutput>,
    /// The options in a context that shape its outputs (what its record
    /// keeps, and what makes `run` redo it when they change).
    pub options: fn(&StageContext) -> RecordOptions,
}

impl Stage {
    /// The CLI flag of a parameter: `data_path` -> `--data-path`.
    pub fn flag(param: &str) -> String {
        format!("--{}", param.replace('_', "-"))
    }

    /// The lab's component display name: `load_data` -> `Load data`.
    pub fn display_name(&self) -> String {
        let text = self.name.replace('_', " ");
        let mut chars = text.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => text,
        }
    }

    /// Files it writes to the data path (declared in
    /// [`files::WRITTEN_BY`]), in order.
    pub fn outputs(&self) -> Vec<&'static str> {
        files::written_by(self.name).collect()
    }

    /// Input paths under the context's data path.
    pub fn input_paths(&self, ctx: &StageContext) -> Vec<PathBuf> {
        self.inputs.iter().map(|f| ctx.path_of(f)).collect()
    }

    /// Where its outputs end up: under the context's data path, or where
    /// `--out` placed them.
    pub fn output_paths(&self, ctx: &StageContext) -> Vec<PathBuf> {
        self.outputs()
            .iter()
            .map(|f| {
                let placed = ctx.placed.outputs.iter().find(|(n, _)| n == f);
                placed.map_or_else(|| ctx.path_of(f), |(_, p)| p.clone())
            })
            .collect()
    }

    /// Whether it keeps a record: every stage that writes artifacts (a
    /// setup step writes none).
    pub fn keeps_record(&self) -> bool {
        self.kind != StageKind::Setup
    }
}
fn run_download_data(ctx: &StageContext) -> Result<StageOutput> {
    // Files already there are kept, unless a download put them there with
    // other options (another competition, source or member list): then
    // they are not what was asked for, and are fetched again.
    let mut opts = ctx.download.clone();
    if !opts.force {
        let record = crate::contract::record::read_record(&ctx.data_path, DOWNLOAD_DATA.name);
        if let Some(record) = record {
            let changes =
                crate::contract::record::option_changes(&record.options, &download_options(ctx));
            if !changes.is_empty() {
                ctx.progress.log(&format!(
                    "download_data: downloading again ({})",
                    changes.join(", ")
                ));
                opts.force = true;
            }
        }
    }
    let report = download_data::download_data(&ctx.data_path, &opts, ctx.progress)?;
    Ok(StageOutput::Downloaded {
        report,
        files: ctx.download.files.clone(),
    })
}

fn run_load_data(ctx: &StageContext) -> Result<StageOutput> {
    let loaded = load_data::load_data(&ctx.data_path)?;
    Ok(StageOutput::Loaded {
        rows: loaded.df_train.height(),
        assets: loaded.df_asset_details.height(),
    })
}

fn run_feature_engineering(ctx: &StageContext) -> Result<StageOutput> {
    let get_features = ctx.functions.get_features.1;
    feature_engineering::feature_engineering_with(&ctx.data_path, &ctx.features, get_features)
        .map(StageOutput::Features)
}

fn run_merge_assets_features(ctx: &StageContext) -> Result<StageOutput> {
    merge_assets_features::merge_assets_features(&ctx.data_path).map(StageOutput::Merged)
}

fn run_modeling(ctx: &StageContext) -> Result<StageOutput> {
    let feval = ctx.functions.feval.1;
    let model = modeling::modeling_with(&ctx.data_path, &ctx.model, feval, ctx.progress)?;
    Ok(StageOutput::Trained(Box::new(model.history)))
}

fn run_evaluation_result(ctx: &StageContext) -> Result<StageOutput> {
    let paths = ctx.evaluation.paths(&ctx.data_path);
    evaluation_result::evaluation_result_to(&ctx.data_path, &paths).map(StageOutput::Evaluated)
}

/// For a stage no option changes.
pub fn no_options(_: &StageContext) -> RecordOptions {
    RecordOptions::new()
}

/// A function other than the crate's is part of what a stage was made
/// with (only then recorded, so the records of the crate's read as before).
fn with_function(mut o: RecordOptions, key: &str, name: &str) -> RecordOptions {
    if name != super::context::CRATE_FUNCTION {
        o.insert(key.into(), name.to_string());
    }
    o
}

fn feature_options(ctx: &StageContext) -> RecordOptions {
    let name = ctx.functions.get_features.0;
    with_function(ctx.features.record_options(), "get_features", name)
}

fn model_options(ctx: &StageContext) -> RecordOptions {
    with_function(ctx.model.record_options(), "feval", ctx.functions.feval.0)
}

fn evaluation_options(ctx: &StageContext) -> RecordOptions {
    // Where the outputs go is checked with the outputs; this changes what
    // is written besides them.
    let mut o = RecordOptions::new();
    if let Some(p) = &ctx.evaluation.ui_metadata_path {
        o.insert("ui_metadata_path".into(), p.display().to_string());
    }
    o
}

fn download_options(ctx: &StageContext) -> RecordOptions {
    ctx.download.record_options()
}

/// download_data: the competition archive -> train.csv, asset_details.csv.
pub const DOWNLOAD_DATA: Stage = Stage {
    name: "download_data",
    command: "download-data",
    description: "Download the competition archive from Kaggle (or a mirror) and extract train.csv and asset_details.csv",
    kind: StageKind::Download,
    inputs: &[],
    params: &["dataset", "data_path"],
    run: run_download_data,
    options: download_options,
};

/// load_data: the competition's CSVs -> Parquet, from 2020-01-01 on.
pub const LOAD_DATA: Stage = Stage {
    name: "load_data",
    command: "load-data",
    description: "Read train.csv and asset_details.csv, keep rows from 2020-01-01 (UTC) on",
    kind: StageKind::Transform,
    inputs: &[files::TRAIN_CSV, files::ASSET_DETAILS_CSV],
    params: &["data_path"],
    run: run_load_data,
    options: no_options,
};

/// feature_engineering: the lab's features per asset.
pub const FEATURE_ENGINEERING: Stage = Stage {
    name: "feature_engineering",
    command: "feature-engineering",
    description:
        "RSI, ATR, DEMA, moving averages, returns, candle shapes and calendar features per asset",
    kind: StageKind::Transform,
    inputs: &[files::DF_TRAIN],
    params: &["data_path"],
    run: run_feature_engineering,
    options: feature_options,
};

/// merge_assets_features: each asset's Weight beside its features.
pub const MERGE_ASSETS_FEATURES: Stage = Stage {
    name: "merge_assets_features",
    command: "merge-assets-features",
    description: "Attach each asset's competition Weight to its feature rows",
    kind: StageKind::Transform,
    inputs: &[files::FEATURE_DF, files::DF_ASSET_DETAILS],
    params: &["data_path"],
    run: run_merge_assets_features,
    options: no_options,
};

/// modeling: LightGBM with the lab's parameters.
pub const MODELING: Stage = Stage {
    name: "modeling",
    command: "modeling",
    description:
        "Train LightGBM with the lab's parameters, weighted correlation and early stopping",
    kind: StageKind::Transform,
    inputs: &[files::MERGE_FEATURE_DF],
    params: &["data_path"],
    run: run_modeling,
    options: model_options,
};

/// evaluation_result: the KFP metrics, a summary and charts.
pub const EVALUATION_RESULT: Stage = Stage {
    name: "evaluation_result",
    command: "evaluation-result",
    description:
        "Check the saved model against its record; write the KFP metrics, a summary and charts",
    kind: StageKind::Evaluate,
    inputs: &[
        files::MODEL,
        files::HISTORY,
        files::FEATURE_IMPORTANCE,
        files::VALID_PREDICTIONS,
        files::MERGE_FEATURE_DF,
        files::DF_TRAIN,
    ],
    params: &["data_path"],
    run: run_evaluation_result,
    options: evaluation_options,
};

/// The lab's stages in pipeline order.
pub const STAGES: [&Stage; 6] = [
    &DOWNLOAD_DATA,
    &LOAD_DATA,
    &FEATURE_ENGINEERING,
    &MERGE_ASSETS_FEATURES,
    &MODELING,
    &EVALUATION_RESULT,
];

/// The stage with this lab name or CLI command.
pub fn find(name: &str) -> Option<&'static Stage> {
    STAGES
        .into_iter()
        .find(|s| s.name == name || s.command == name)
}

/// The stage that writes artifact `file`.
pub fn producer_of(file: &str) -> Option<&'static Stage> {
    files::producer(file).and_then(find)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_writer_in_the_contract_is_a_stage_and_commands_follow_names() {
        for (file, stage) in files::WRITTEN_BY {
            assert!(find(stage).is_some(), "{file}: no stage {stage}");
        }
        for s in STAGES {
            assert_eq!(s.command, files::command_of(s.name));
            assert_eq!(s.keeps_record(), !s.outputs().is_empty());
        }
        assert_eq!(
            producer_of(files::HISTORY).map(|s| s.name),
            Some("modeling")
        );
    }
}
