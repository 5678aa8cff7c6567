//! The lab's stages, one module each, named as the lab names its functions,
//! and the single registry that the CLI, the local runner, the KFP
//! exporter, the scripts and the notebook all read.
//!
//! Each stage has an in-memory form (frames in, frames out) and a file form
//! that takes the lab's `data_path` and is a thin wrapper around it.
//!
//! The registry (`registry`: [`Stage`], [`STAGES`]), what a stage is given
//! (`context`) and what it did (`output`), and how it runs and commits
//! (`execute`, with `freshness` deciding what `run` may skip).

pub mod download_data;
pub mod evaluation_result;
pub(crate) mod execute;
pub mod feature_engineering;
pub(crate) mod freshness;
pub mod load_data;
pub mod merge_assets_features;
pub mod modeling;

pub(crate) mod context;
pub(crate) mod output;
pub(crate) mod placed;
pub(crate) mod registry;

pub use context::{StageContext, StageFunctions};
pub use output::{Outcome, StageOutput, StageRun};
pub use placed::PlacedFiles;
pub use registry::{find, Stage, StageKind, FEATURE_ENGINEERING, LOAD_DATA, STAGES};
pub(crate) use registry::{
    no_options, producer_of, DOWNLOAD_DATA, EVALUATION_RESULT, MERGE_ASSETS_FEATURES, MODELING,
};
