//! Kubeflow Pipelines, in three rooms: [`export`] writes the component and
//! pipeline YAML from the stage registry, [`runtime`] is what the exported
//! containers run besides the stages, and [`client`] submits a pipeline to a
//! KFP API and follows its run.

pub mod client;
pub mod export;
pub mod runtime;

pub use export::{export_kfp, pipeline_yaml, ExportOptions, PIPELINE_NAME};
