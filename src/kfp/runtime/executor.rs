//! The KFP v2 executor protocol on the step's side: read the executor input
//! the launcher passes (`{{$}}`), write the executor output file that turns
//! the step's metrics into metadata of its `system.Metrics` artifact, which
//! the KFP 2 UI shows.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::artifact::{ensure_writable_dir, write_json};
use crate::contract::Metrics;
use crate::error::{Error, Result};

/// Name of the metrics output artifact of evaluation_result.
pub const METRICS_ARTIFACT: &str = "metrics";

fn bad(msg: impl Into<String>) -> Error {
    Error::BadArgument(format!("--executor-input: {}", msg.into()))
}

/// Writes the ExecutorOutput for `metrics` where `executor_input` (the JSON
/// text of KFP's ExecutorInput) says; returns that path.
pub fn write_metrics_output(executor_input: &str, metrics: &Metrics) -> Result<PathBuf> {
    let input: Value =
        serde_json::from_str(executor_input).map_err(|e| bad(format!("not JSON: {e}")))?;
    let outputs = input
        .get("outputs")
        .ok_or_else(|| bad("no `outputs` (is this KFP's {{$}}?)"))?;
    let output_file = outputs
        .get("outputFile")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("no `outputs.outputFile`"))?;
    let artifact = outputs
        .pointer(&format!("/artifacts/{METRICS_ARTIFACT}/artifacts/0"))
        .ok_or_else(|| bad(format!("no output artifact `{METRICS_ARTIFACT}`")))?;
    let metadata: Map<String, Value> = metrics
        .metrics
        .iter()
        .map(|m| (m.name.clone(), json!(m.number_value)))
        .collect();
    let doc = json!({"artifacts": {METRICS_ARTIFACT: {"artifacts": [{
        "name": artifact.get("name").cloned().unwrap_or_else(|| json!(METRICS_ARTIFACT)),
        "uri": artifact.get("uri").cloned().unwrap_or_else(|| json!("")),
        "metadata": metadata,
    }]}}});
    let path = PathBuf::from(output_file);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        ensure_writable_dir(dir)?;
    }
    write_json(Path::new(&path), &doc)?;
    Ok(path)
}
