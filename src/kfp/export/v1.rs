//! KFP v1 documents: `component.yaml` files as the lab's
//! `create_component_from_func` made them, and the pipeline as the kfp 1.8
//! compiler turns it into an Argo Workflow.

use serde_json::{json, Value};

use super::yaml::to_yaml;
use super::ExportOptions;
use crate::kfp::runtime::volume::{IMAGE_GID, IMAGE_UID};
use crate::stages::evaluation_result::{
    METRICS_PATH_FLAG, MODEL_PATH_FLAG, PREDICTIONS_PATH_FLAG, UI_METADATA_PATH_FLAG,
};
use crate::stages::{Stage, StageKind};

/// The v1 output that KFP 1.x shows as the run's metrics.
pub const METRICS_OUTPUT: &str = "mlpipeline_metrics";
/// The v1 output that KFP 1.x renders (markdown, web page) in the run's UI.
pub const UI_METADATA_OUTPUT: &str = "mlpipeline_ui_metadata";

/// evaluation_result's v1 outputs that publish the run's results before
/// the claim is deleted: (output name, v1 type, CLI flag).
const RESULT_OUTPUTS: [(&str, &str, &str); 2] = [
    ("model", "Model", MODEL_PATH_FLAG),
    ("predictions", "Dataset", PREDICTIONS_PATH_FLAG),
];

/// The stage's v1 component spec.
pub fn component(stage: &Stage, opts: &ExportOptions) -> Value {
    let inputs: Vec<Value> = stage
        .params
        .iter()
        .map(|p| json!({"name": p, "type": "String"}))
        .collect();
    let mut args = vec![Value::from(stage.command)];
    for p in stage.params {
        args.push(Stage::flag(p).into());
        args.push(json!({"inputValue": p}));
    }
    let mut c = json!({
        "name": stage.display_name(),
        "description": stage.description,
        "inputs": inputs,
        "implementation": {"container": {
            "image": opts.image,
            "command": ["crypto-lab"],
            "args": args,
        }},
    });
    if stage.kind == StageKind::Evaluate {
        let mut outputs = vec![
            json!({"name": METRICS_OUTPUT, "type": "Metrics"}),
            json!({"name": UI_METADATA_OUTPUT, "type": "UI_metadata"}),
        ];
        outputs.extend(
            RESULT_OUTPUTS
                .iter()
                .map(|(name, kind, _)| json!({"name": name, "type": kind})),
        );
        c["outputs"] = Value::Array(outputs);
        if let Some(a) = c["implementation"]["container"]["args"].as_array_mut() {
            a.push(format!("--{METRICS_PATH_FLAG}").into());
            a.push(json!({"outputPath": METRICS_OUTPUT}));
            a.push(format!("--{UI_METADATA_PATH_FLAG}").into());
            a.push(json!({"outputPath": UI_METADATA_OUTPUT}));
            for (name, _, flag) in RESULT_OUTPUTS {
                a.push(format!("--{flag}").into());
                a.push(json!({"outputPath": name}));
            }
        }
    }
    c
}

/// The component file's text (its bytes are hashed into the pipeline).
pub fn component_text(stage: &Stage, opts: &ExportOptions) -> String {
    to_yaml(&component(stage, opts))
}

/// The lab's resource name of its shared volume and the Argo names derived
/// from it.
const VOLUME: &str = "create-data-volume";
const SDK_LABEL: &str = "pipelines.kubeflow.org/kfp_sdk_version";
const KFP_V1: &str = "1.8.22";
/// Where KFP v1 collects the metrics and UI metadata output files.
const METRICS_PATH: &str = "/tmp/outputs/mlpipeline_metrics/data";
const UI_METADATA_PATH: &str = "/tmp/outputs/mlpipeline_ui_metadata/data";

/// JSON text with Python's `json.dumps` separators, for annotations.
fn py_json(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let items: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", Value::from(k.as_str()), py_json(v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        Value::Array(a) => format!("[{}]", a.iter().map(py_json).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every step's labels: caching off (`set_caching_options(False)`), since
/// the data passes through the claim, which KFP 1's cache key leaves out.
fn step_labels() -> Value {
    json!({
        SDK_LABEL: KFP_V1,
        "pipelines.kubeflow.org/pipeline-sdk-type": "kfp",
        "pipelines.kubeflow.org/enable_caching": "false",
    })
}

/// The annotation KFP 1's cache webhook reads on a pod: never reuse.
const NO_CACHE_REUSE: (&str, &str) = ("pipelines.kubeflow.org/max_cache_staleness", "P0D");
/// The task and template that delete the claim after the last stage, as
/// kfp 1.8's `VolumeOp.delete()` makes them (a kubectl pod, run by the
/// pipeline's service account, which KFP lets manage claims).
const DELETE: &str = "kubernetes-resource-delete";
const KUBECTL_IMAGE: &str = "gcr.io/cloud-builders/kubectl";

fn delete_template() -> Value {
    let claim = format!("{{{{inputs.parameters.{VOLUME}-name}}}}");
    json!({
        "name": DELETE,
        "container": {
            "command": ["kubectl", "delete", "PersistentVolumeClaim", claim,
                        "--ignore-not-found", "--output", "name", "--wait=false"],
            "image": KUBECTL_IMAGE,
        },
        "inputs": {"parameters": [{"name": format!("{VOLUME}-name")}]},
        "metadata": {
            "annotations": {NO_CACHE_REUSE.0: NO_CACHE_REUSE.1},
            "labels": step_labels(),
        },
    })
}

fn pvc_manifest(opts: &ExportOptions) -> String {
    let class = opts
        .storage_class
        .as_ref()
        .map(|c| format!("  storageClassName: {c}\n"))
        .unwrap_or_default();
    format!(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: '{{{{workflow.name}}}}-data-volume'\nspec:\n  accessModes:\n  - ReadWriteOnce\n  resources:\n    requests:\n      storage: {}\n{class}",
        opts.pvc_size
    )
}

fn volume_template(opts: &ExportOptions) -> Value {
    let out = |suffix: &str, path: &str| json!({"name": format!("{VOLUME}-{suffix}"), "valueFrom": {"jsonPath": path}});
    json!({
        "name": VOLUME,
        "resource": {"action": "create", "manifest": pvc_manifest(opts)},
        "outputs": {"parameters": [
            out("manifest", "{}"),
            out("name", "{.metadata.name}"),
            out("size", "{.status.capacity.storage}"),
        ]},
        "metadata": {"labels": step_labels()},
    })
}

fn sorted_params(stage: &Stage) -> Vec<&'static str> {
    let mut p: Vec<&str> = stage.params.to_vec();
    p.sort();
    p
}

fn step_template(stage: &Stage, opts: &ExportOptions, text: &str) -> Value {
    let input = |p: &str| format!("{{{{inputs.parameters.{p}}}}}");
    let mut args = vec![Value::from(stage.command)];
    for p in stage.params {
        args.push(Stage::flag(p).into());
        args.push(input(p).into());
    }
    let mut inputs = vec![json!({"name": format!("{VOLUME}-name")})];
    inputs.extend(sorted_params(stage).iter().map(|p| json!({"name": p})));
    let arguments: serde_json::Map<String, Value> = stage
        .params
        .iter()
        .map(|p| (p.to_string(), Value::from(input(p))))
        .collect();
    let mut container = json!({
        "command": ["crypto-lab"],
        "image": opts.image,
        "volumeMounts": [{"mountPath": input("data_path"), "name": VOLUME}],
    });
    container["securityContext"] = if stage.kind == StageKind::Setup {
        // Root, to hand the fresh claim to the stages' user (Argo keeps the
        // runtime's capabilities, so chown works here).
        json!({"runAsUser": 0})
    } else {
        // Argo applies a container's security context as written.
        json!({"runAsGroup": IMAGE_GID, "runAsUser": IMAGE_UID})
    };
    if stage.kind == StageKind::Download {
        container["env"] = json!([
            {"name": "KAGGLE_USERNAME", "valueFrom": {"secretKeyRef": {"key": "username", "name": opts.kaggle_secret}}},
            {"name": "KAGGLE_KEY", "valueFrom": {"secretKeyRef": {"key": "key", "name": opts.kaggle_secret}}},
        ]);
    }
    let mut t = json!({
        "name": stage.command,
        "inputs": {"parameters": inputs},
        "metadata": {
            "labels": step_labels(),
            "annotations": {
                NO_CACHE_REUSE.0: NO_CACHE_REUSE.1,
                "pipelines.kubeflow.org/component_spec": py_json(&component(stage, opts)),
                "pipelines.kubeflow.org/component_ref": py_json(&json!({
                    "digest": sha256_hex(text),
                    "url": format!("components/v1/{}.yaml", stage.name),
                })),
                "pipelines.kubeflow.org/arguments.parameters": py_json(&Value::Object(arguments)),
            },
        },
        "volumes": [{"name": VOLUME, "persistentVolumeClaim": {"claimName": input(&format!("{VOLUME}-name"))}}],
    });
    if stage.kind == StageKind::Evaluate {
        args.push(format!("--{METRICS_PATH_FLAG}").into());
        args.push(METRICS_PATH.into());
        args.push(format!("--{UI_METADATA_PATH_FLAG}").into());
        args.push(UI_METADATA_PATH.into());
        let mut artifacts = vec![
            json!({"name": "mlpipeline-metrics", "path": METRICS_PATH}),
            json!({"name": "mlpipeline-ui-metadata", "path": UI_METADATA_PATH}),
        ];
        for (name, _, flag) in RESULT_OUTPUTS {
            let path = format!("/tmp/outputs/{name}/data");
            args.push(format!("--{flag}").into());
            args.push(path.clone().into());
            artifacts.push(json!({"name": format!("{}-{name}", stage.command), "path": path}));
        }
        t["outputs"] = json!({"artifacts": artifacts});
    }
    container["args"] = Value::Array(args);
    t["container"] = container;
    t
}

/// The lab's pipeline as kfp 1.8 compiles it: a VolumeOp claim, each step
/// mounting it at `data_path` and chained to the previous one through it,
/// the first being prepare-volume (root) when `components` starts with it,
/// the stages as uid/gid 1000, caching off, and the claim deleted after the
/// last stage unless `opts.keep_volume`.
/// `components` holds each stage with its v1 component file text (hashed
/// into the step's annotations, as kfp does).
pub fn pipeline(opts: &ExportOptions, components: &[(&Stage, String)]) -> Value {
    let name = super::PIPELINE_NAME;
    let mut templates = vec![volume_template(opts)];
    let mut tasks = vec![json!({"name": VOLUME, "template": VOLUME})];
    let mut previous: Option<&Stage> = None;
    let mut dag_inputs: Vec<&str> = Vec::new();
    for (stage, text) in components {
        templates.push(step_template(stage, opts, text));
        let mut deps = vec![VOLUME.to_string()];
        if let Some(p) = previous {
            deps.push(p.command.to_string());
        }
        deps.sort();
        let mut params = vec![json!({
            "name": format!("{VOLUME}-name"),
            "value": format!("{{{{tasks.{VOLUME}.outputs.parameters.{VOLUME}-name}}}}"),
        })];
        for p in sorted_params(stage) {
            params.push(json!({"name": p, "value": format!("{{{{inputs.parameters.{p}}}}}")}));
            if !dag_inputs.contains(&p) {
                dag_inputs.push(p);
            }
        }
        tasks.push(json!({
            "name": stage.command,
            "template": stage.command,
            "dependencies": deps,
            "arguments": {"parameters": params},
        }));
        previous = Some(stage);
    }
    if let (false, Some(last)) = (opts.keep_volume, previous) {
        templates.push(delete_template());
        tasks.push(json!({
            "name": DELETE,
            "template": DELETE,
            "dependencies": [VOLUME, last.command],
            "arguments": {"parameters": [{
                "name": format!("{VOLUME}-name"),
                "value": format!("{{{{tasks.{VOLUME}.outputs.parameters.{VOLUME}-name}}}}"),
            }]},
        }));
    }
    dag_inputs.sort();
    tasks.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    templates.push(json!({
        "name": name,
        "inputs": {"parameters": dag_inputs.iter().map(|p| json!({"name": p})).collect::<Vec<_>>()},
        "dag": {"tasks": tasks},
    }));
    templates.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    let pipeline_spec = json!({
        "description": name,
        "inputs": [
            {"default": opts.default_of("dataset"), "name": "dataset", "optional": true, "type": "String"},
            {"default": opts.default_of("data_path"), "name": "data_path", "optional": true, "type": "String"},
        ],
        "name": name,
    });
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {
            "generateName": format!("{name}-"),
            "annotations": {
                SDK_LABEL: KFP_V1,
                "pipelines.kubeflow.org/pipeline_spec": py_json(&pipeline_spec),
            },
            "labels": {SDK_LABEL: KFP_V1},
        },
        "spec": {
            "entrypoint": name,
            "templates": templates,
            "arguments": {"parameters": [
                {"name": "dataset", "value": opts.default_of("dataset")},
                {"name": "data_path", "value": opts.default_of("data_path")},
            ]},
            "serviceAccountName": "pipeline-runner",
        },
    })
}
