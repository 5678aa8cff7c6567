//! The KFP exporter: component and pipeline YAML from the stage registry, so
//! what runs on Kubeflow is exactly what runs locally (each container runs
//! the `crypto-lab` binary with the stage's subcommand), with the notebook's
//! (or the flags') choices as the run parameters' defaults.
//!
//! Written files, under the output folder:
//! - `components/<stage>.yaml`: KFP v2 component (pipeline IR) in the
//!   export's form ([`DataForm`]), and `components/prepare_volume.yaml`, the
//!   volume form's check that the steps can write the claim
//!   ([`crate::kfp::runtime::volume`]);
//! - `components/v1/<stage>.yaml`: KFP v1 `component.yaml`, the form the
//!   lab's `create_component_from_func` produced (prepare_volume too);
//! - `pipeline.yaml`: the lab's pipeline in KFP v2 IR plus, where a step
//!   needs one, its Kubernetes platform spec (second YAML document);
//! - `vertex/pipeline.yaml`: the IR alone, one document, for Vertex AI
//!   Pipelines (which loads a single document and has no kfp-kubernetes);
//! - `v1/pipeline.yaml`: the pipeline as a KFP v1 Argo Workflow (the lab's
//!   shared volume).

pub mod edited;
pub(crate) mod params;
pub(crate) mod resources;
pub mod v1;
pub mod v2;
pub(crate) mod yaml;

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::artifact::{ensure_writable_dir, write_bytes, write_json};
use crate::error::{Error, Result};
use crate::kfp::backend::KfpVersion;
use crate::kfp::names;
use crate::kfp::runtime::volume;
use crate::model_params::ModelParams;
use crate::stages::feature_engineering::FeatureOptions;
use crate::stages::{Stage, STAGES};
pub use edited::{EditedCode, EditedFunction};
pub use resources::{Resources, StepResources};

/// The lab's pipeline name (also its description).
pub const PIPELINE_NAME: &str = "g-research-crypto-forecasting-pipeline";

/// How the v2 pipeline's steps pass the lab's files to each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DataForm {
    /// KFP's own way: each file an input or output artifact, stored by KFP
    /// and cached by it; no volume, no user, no capability, so it runs on
    /// every KFP 2 backend, OpenShift AI and Vertex AI.
    #[default]
    Artifacts,
    /// The lab's way: one claim mounted by every step at the data path,
    /// caching off; needs kfp-kubernetes (not on Vertex AI).
    Volume,
}

impl std::fmt::Display for DataForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DataForm::Artifacts => "artifacts",
            DataForm::Volume => "volume",
        })
    }
}

impl std::str::FromStr for DataForm {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "artifacts" => Ok(DataForm::Artifacts),
            "volume" => Ok(DataForm::Volume),
            _ => Err(format!(
                "`{}`: expected `artifacts` (KFP passes the files) or `volume` (the lab's shared \
                 claim)",
                crate::error::printable(s)
            )),
        }
    }
}

/// What the exported files say about the cluster side and the run.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportOptions {
    /// Container image holding the `crypto-lab` binary.
    pub image: String,
    /// How the steps pass files: artifacts (the default) or the lab's volume.
    pub data: DataForm,
    /// Volume form: where the shared volume is mounted, every step's
    /// `data_path`, fixed at export (KFP v2 mounts the claim at a path fixed
    /// at compile time). In the v1 pipeline it is the default of the
    /// `data_path` parameter, which also moves the mount there.
    pub data_path: String,
    /// Volume form: size of the volume claim.
    pub pvc_size: String,
    /// Volume form: storage class of the claim. `None`: the v2 pipeline
    /// leaves it out, and KFP's driver then asks for `standard` (see
    /// [`crate::kfp::runtime::volume::STORAGE_CLASS_NOTE`]); the v1 pipeline
    /// gets the cluster's default.
    pub storage_class: Option<String>,
    /// Kubernetes Secret with keys `username` and `key` for download_data.
    pub kaggle_secret: String,
    /// The lab's steps the pipeline runs, by name, in the lab's order (the
    /// lab's Build Pipeline cell): every stage of the registry by default.
    pub steps: Vec<String>,
    /// The KFP backend release the pipeline is for: fields that release
    /// rejects or ignores are left out ([`crate::kfp::backend`]). The
    /// default, 2.0.0, gives a pipeline every 2.x backend runs.
    pub kfp_version: KfpVersion,
    /// Volume form: keep the claim after a run that succeeded (no DeletePVC).
    pub keep_volume: bool,
    /// modeling's parameters: the defaults of the run parameters
    /// `n_estimators`, `learning_rate`, ..., `features` (what the notebook
    /// trained with, or the flags').
    pub model: ModelParams,
    /// feature_engineering's options: the defaults of the run parameters
    /// `valid_from` and `keep_target_nan`.
    pub features: FeatureOptions,
    /// CPU and memory requests and limits per step.
    pub resources: Resources,
    /// The notebook's functions that replace the crate's in the steps that
    /// call them (Rust lightweight components); empty: the crate's.
    pub code: EditedCode,
    /// The image a step with an edited function runs in: the Dockerfile's
    /// `dev` target (toolchain, the crate's source and its build).
    pub dev_image: String,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            image: format!("crypto-lab:{}", crate::version::VERSION),
            data: DataForm::default(),
            data_path: "/mnt".into(),
            pvc_size: "16Gi".into(),
            storage_class: None,
            kaggle_secret: "kaggle-secret".into(),
            steps: STAGES.iter().map(|s| s.name.to_string()).collect(),
            kfp_version: KfpVersion::WIDEST,
            keep_volume: false,
            model: ModelParams::default(),
            features: FeatureOptions::default(),
            resources: Resources::default(),
            code: EditedCode::default(),
            dev_image: format!("crypto-lab-dev:{}", crate::version::VERSION),
        }
    }
}

impl ExportOptions {
    /// The warning a volume-form export without a storage class deserves
    /// (its claim may never bind); `None` otherwise.
    pub fn storage_class_warning(&self) -> Option<&'static str> {
        (self.data == DataForm::Volume && self.storage_class.is_none())
            .then_some(crate::kfp::runtime::volume::STORAGE_CLASS_NOTE)
    }

    /// Fails unless every value is one Kubernetes accepts (image, size,
    /// storage class, Secret, an absolute mount path) and every step is a
    /// stage of the registry, listed once, in the lab's order (each stage
    /// reads what the ones before it wrote).
    pub fn validate(&self) -> Result<()> {
        let flag = |r: std::result::Result<(), String>, name: &str| {
            r.map_err(|e| Error::BadArgument(format!("--{name} {e}")))
        };
        flag(names::image(&self.image), "image")?;
        flag(names::image(&self.dev_image), "dev-image")?;
        self.code.validate()?;
        flag(names::volume_size(&self.pvc_size), "pvc-size")?;
        let name = |r: std::result::Result<(), String>| r.map_err(Error::BadArgument);
        // `""` is kfp's own value for a claim bound to a pre-made volume.
        if let Some(class) = self.storage_class.as_ref().filter(|c| !c.is_empty()) {
            name(names::dns_subdomain("--storage-class", class))?;
        }
        name(names::dns_subdomain("--kaggle-secret", &self.kaggle_secret))?;
        let path_ok = self.data_path.starts_with('/')
            && self.data_path.len() <= 1024
            && !self.data_path.chars().any(char::is_control)
            && !self.data_path.split('/').any(|p| p == "..");
        if !path_ok {
            return Err(Error::BadArgument(format!(
                "--mount-path `{}`: expected an absolute path inside the container, without \
                 `..` or control characters (the volume's mount path)",
                crate::error::printable(&self.data_path)
            )));
        }
        self.model.validate()?;
        let names: Vec<&str> = STAGES.iter().map(|s| s.name).collect();
        if self.steps.is_empty() {
            return Err(Error::BadArgument(
                "steps is empty: the pipeline needs at least one of the lab's stages".into(),
            ));
        }
        let mut last = None;
        for step in &self.steps {
            let Some(at) = names.iter().position(|n| n == step) else {
                return Err(Error::BadArgument(format!(
                    "steps lists {}, which is not a stage; the stages are {}",
                    crate::error::printable(step),
                    names.join(", ")
                )));
            };
            if last.is_some_and(|l| at <= l) {
                return Err(Error::BadArgument(format!(
                    "steps lists {} out of order or twice: they run in the lab's order, {}",
                    crate::error::printable(step),
                    names.join(", ")
                )));
            }
            last = Some(at);
        }
        if self.data == DataForm::Artifacts {
            // KFP passes each file from the step that writes it: a step
            // whose files no listed step writes has nothing to read.
            for stage in self.stages() {
                let missing = stage
                    .inputs
                    .iter()
                    .filter_map(|f| crate::stages::producer_of(f).map(|p| (f, p)))
                    .find(|(_, p)| !self.steps.iter().any(|s| s == p.name));
                if let Some((file, producer)) = missing {
                    return Err(Error::BadArgument(format!(
                        "steps lists {} without {}, which writes its {file}: in the artifacts \
                         form each file comes from the step that writes it (list it too, or \
                         export with --data volume, where the files can already be on the \
                         claim)",
                        stage.name, producer.name
                    )));
                }
            }
        }
        Ok(())
    }

    /// The stages the pipeline runs, in order.
    pub fn stages(&self) -> Vec<&'static Stage> {
        STAGES
            .iter()
            .copied()
            .filter(|s| self.steps.iter().any(|n| n == s.name))
            .collect()
    }

    /// The pipeline default of a lab parameter as text (the v1 pipeline's
    /// form): `data_path` the mount path, a run parameter its default
    /// (`params::default_of`) as KFP's launcher writes it.
    pub fn default_of(&self, param: &str) -> String {
        match (param, params::default_of(self, param)) {
            ("data_path", _) => self.data_path.clone(),
            (_, Value::String(text)) => text,
            (other, Value::Null) => other.to_string(),
            (_, value) => value.to_string(),
        }
    }
}

fn yaml_text(docs: &[Value], header: &str) -> String {
    let body: Vec<String> = docs.iter().map(yaml::to_yaml).collect();
    format!("{header}{}", body.join("---\n"))
}

fn write_yaml(path: &Path, docs: &[Value], header: &str) -> Result<()> {
    write_bytes(path, yaml_text(docs, header).as_bytes())
}

fn header(opts: &ExportOptions) -> String {
    format!(
        "# Generated by crypto-lab {} (export-kfp); image {}; {} form.\n",
        crate::version::VERSION,
        opts.image,
        opts.data
    )
}

/// The v2 pipeline's documents: the IR and, where a step needs one, the
/// Kubernetes platform spec.
fn pipeline_docs(opts: &ExportOptions) -> Vec<Value> {
    let (doc, platform) = v2::pipeline(opts);
    std::iter::once(doc).chain(platform).collect()
}

/// The v2 pipeline package (`pipeline.yaml`: IR and platform spec) as
/// text, the bytes `export_kfp` writes and `submit` uploads.
pub fn pipeline_yaml(opts: &ExportOptions) -> Result<String> {
    opts.validate()?;
    Ok(yaml_text(&pipeline_docs(opts), &header(opts)))
}

/// The pipeline for Vertex AI Pipelines: the IR alone, one document
/// (Vertex's SDK loads a single YAML document and ignores kfp-kubernetes),
/// so download_data has no Secret there: the run sets `source` to a mirror.
/// Refused for the volume form, which needs kfp-kubernetes' claims.
pub fn vertex_pipeline_yaml(opts: &ExportOptions) -> Result<String> {
    opts.validate()?;
    if opts.data == DataForm::Volume {
        return Err(Error::BadArgument(
            "the volume form needs kfp-kubernetes (CreatePVC, mounts), which Vertex AI \
             Pipelines does not run: export with --data artifacts for Vertex"
                .into(),
        ));
    }
    let (doc, _) = v2::pipeline(opts);
    let note = if v2::takes_source(opts) {
        "# Vertex AI Pipelines: the IR alone (no Kubernetes platform spec, so no Kaggle \
         Secret):\n# set the run parameter `source` to an https URL of the competition archive.\n"
    } else {
        "# Vertex AI Pipelines: the IR alone (no Kubernetes platform spec).\n"
    };
    Ok(yaml_text(&[doc], &format!("{}{note}", header(opts))))
}

/// Writes every component and both pipelines under `out`; returns the paths.
pub fn export_kfp(out: &Path, opts: &ExportOptions) -> Result<Vec<PathBuf>> {
    opts.validate()?;
    let comps = out.join("components");
    let comps_v1 = comps.join("v1");
    let v1_dir = out.join("v1");
    let vertex_dir = out.join("vertex");
    for dir in [out, &comps, &comps_v1, &v1_dir] {
        ensure_writable_dir(dir)?;
    }
    let mut written = Vec::new();
    let header = header(opts);
    // The v1 pipeline's first step after the claim: prepare-volume, as a
    // v1 component of its own (the v2 one is written below).
    let prepare = &volume::PREPARE_STAGE;
    let path = comps_v1.join(format!("{}.yaml", prepare.name));
    let text = v1::component_text(prepare, opts);
    write_bytes(&path, text.as_bytes())?;
    written.push(path);
    let mut v1_components = vec![(prepare, text)];
    for stage in opts.stages() {
        let path = comps.join(format!("{}.yaml", stage.name));
        write_yaml(&path, &[v2::component_file(stage, opts)], &header)?;
        written.push(path);
        let path = comps_v1.join(format!("{}.yaml", stage.name));
        let text = v1::component_text(stage, opts);
        write_bytes(&path, text.as_bytes())?;
        v1_components.push((stage, text));
        written.push(path);
    }
    let path = comps.join("prepare_volume.yaml");
    write_yaml(&path, &[v2::prepare_component_file(opts)], &header)?;
    written.push(path);
    let path = out.join("pipeline.yaml");
    write_bytes(&path, pipeline_yaml(opts)?.as_bytes())?;
    written.push(path);
    if opts.data == DataForm::Artifacts {
        ensure_writable_dir(&vertex_dir)?;
        let path = vertex_dir.join("pipeline.yaml");
        write_bytes(&path, vertex_pipeline_yaml(opts)?.as_bytes())?;
        written.push(path);
    }
    let path = v1_dir.join("pipeline.yaml");
    write_yaml(&path, &[v1::pipeline(opts, &v1_components)], &header)?;
    written.push(path);
    // What the files were made with, for checks and for the record.
    let defaults: serde_json::Map<String, Value> = params::RUN_PARAMS
        .iter()
        .map(|p| (p.name.to_string(), params::default_of(opts, p.name)))
        .collect();
    let path = out.join("export.json");
    write_json(
        &path,
        &serde_json::json!({
            "image": opts.image,
            "data": opts.data.to_string(),
            "data_path": opts.data_path,
            "pvc_size": opts.pvc_size,
            "storage_class": opts.storage_class,
            "kaggle_secret": opts.kaggle_secret,
            "steps": opts.steps,
            "kfp_version": opts.kfp_version.to_string(),
            "keep_volume": opts.keep_volume,
            "run_parameters": defaults,
            "fixed_model_args": params::fixed_model_args(opts),
            "resources": opts.resources,
            "dev_image": opts.dev_image,
            "edited": {
                "get_features": opts.code.get_features.as_ref().map(|f| &f.name),
                "feval": opts.code.feval.as_ref().map(|f| &f.name),
            },
            "image_uid": volume::IMAGE_UID,
            "image_gid": volume::IMAGE_GID,
            "crypto_lab": crate::version::VERSION,
        }),
    )?;
    written.push(path);
    Ok(written)
}
