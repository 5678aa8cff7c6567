//! Kubeflow Pipelines, in three rooms and a fact sheet: [`export`] writes the
//! component and pipeline YAML from the stage registry for a backend release
//! ([`backend`] says what each release accepts), [`runtime`] is what the exported
//! containers run besides the stages, and [`client`] submits a pipeline to a
//! KFP API and follows its run, reading what it uploads as [`package`].

pub mod backend;
pub mod client;
pub mod export;
pub(crate) mod names;
pub mod package;
pub mod runtime;

pub use export::{export_kfp, pipeline_yaml, ExportOptions, PIPELINE_NAME};
