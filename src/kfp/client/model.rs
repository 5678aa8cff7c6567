//! The KFP API's objects as `kfp_server_api` 2.17 models them
//! (`V2beta1Pipeline`, `V2beta1PipelineVersion`, `V2beta1Experiment`,
//! `V2beta1Run`, `V2beta1RuntimeState`): the fields this client reads.

use serde::Deserialize;
use serde_json::Value;

use crate::error::printable;
use crate::kfp::backend::KfpVersion;

/// A pipeline as the API returns it (`V2beta1Pipeline`, the fields used).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Pipeline {
    /// Its id.
    pub pipeline_id: String,
    /// Its name in the UI.
    #[serde(default)]
    pub display_name: String,
}

/// A pipeline version (`V2beta1PipelineVersion`, the fields used).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct PipelineVersion {
    /// Its pipeline.
    #[serde(default)]
    pub pipeline_id: String,
    /// Its id.
    pub pipeline_version_id: String,
    /// Its name.
    #[serde(default)]
    pub display_name: String,
}

/// An experiment (`V2beta1Experiment`, the fields used).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Experiment {
    /// Its id.
    pub experiment_id: String,
    /// Its name.
    #[serde(default)]
    pub display_name: String,
}

/// One row of a run's task details (`V2beta1PipelineTaskDetail`, the
/// fields used). A KFP 2 backend lists Argo workflow nodes here, not the
/// pipeline's tasks (`toModelTask` in the API server): the workflow's node,
/// `root-driver`, `root`, and for a container task `<task>-driver`,
/// `<task>` and its pod, named `executor`; cache rows have no name.
/// [`pipeline_tasks`] folds them back into the pipeline's tasks.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct TaskDetail {
    /// Its id (the server's, not the Argo node's).
    #[serde(default)]
    pub task_id: String,
    /// The Argo node's display name.
    #[serde(default)]
    pub display_name: String,
    /// A `V2beta1RuntimeState` name; absent on nodes Argo omitted.
    #[serde(default)]
    pub state: Option<String>,
    /// The row this one belongs to, where a server sets it (none of the
    /// releases read does; see docs/kfp-backends.md).
    #[serde(default)]
    pub parent_task_id: Option<String>,
    /// The Argo nodes that follow this one (`pod_name` holds a node id).
    #[serde(default)]
    pub child_tasks: Vec<ChildTask>,
}

/// `PipelineTaskDetailChildTask`: an Argo node id.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct ChildTask {
    /// The node's id.
    #[serde(default)]
    pub pod_name: Option<String>,
    /// A task id, where the server gives one.
    #[serde(default)]
    pub task_id: Option<String>,
}

/// Argo's own nodes in a run's task details: never a pipeline task.
const ARGO_NODES: [&str; 3] = ["root", "root-driver", "executor"];
/// The suffix of the node that prepares a task (KFP's driver).
const DRIVER_SUFFIX: &str = "-driver";

/// A pipeline task as folded from a run's Argo nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineTask {
    /// The pipeline's task name (`modeling`).
    pub name: String,
    /// Its state: the driver's FAILED when the driver failed (the task
    /// never started), else the task node's; `PENDING` while only the
    /// driver is there.
    pub state: String,
    /// The Argo node id of what the task node leads to (its pod), for
    /// `kubectl`.
    pub node: Option<String>,
    /// The server's id of the task node.
    pub task_id: Option<String>,
}

/// The pipeline's tasks in a run's task details, in `names`' order (the
/// package's tasks; when empty, every name that has a `-driver` node, and
/// createpvc/deletepvc, which KFP's driver runs without one). Rows Argo
/// omitted (no state) and tasks not reached yet are left out.
pub fn pipeline_tasks(rows: &[TaskDetail], names: &[String]) -> Vec<PipelineTask> {
    let row = |name: &str| rows.iter().find(|r| r.display_name == name);
    let derived: Vec<String>;
    let names = if names.is_empty() {
        let mut found: Vec<String> = Vec::new();
        for r in rows {
            let n = r.display_name.as_str();
            let task = n.strip_suffix(DRIVER_SUFFIX).filter(|t| *t != "root");
            let task = task.or((n == "createpvc" || n == "deletepvc").then_some(n));
            if let Some(t) = task.filter(|t| !found.iter().any(|f| f == t)) {
                found.push(t.to_string());
            }
        }
        derived = found;
        &derived
    } else {
        names
    };
    let mut out = Vec::new();
    for name in names {
        let node = row(name).filter(|r| r.state.is_some());
        let driver = row(&format!("{name}{DRIVER_SUFFIX}")).filter(|r| r.state.is_some());
        let state = match (driver.and_then(|d| d.state.as_deref()), node) {
            (Some("FAILED"), _) => "FAILED".to_string(),
            (_, Some(n)) => n.state.clone().unwrap_or_default(),
            (Some(_), None) => "PENDING".to_string(),
            (None, None) => continue,
        };
        out.push(PipelineTask {
            name: name.clone(),
            state: normal_state(&state).to_string(),
            node: node
                .and_then(|n| n.child_tasks.first())
                .and_then(|c| c.pod_name.clone()),
            task_id: node.map(|n| n.task_id.clone()),
        });
    }
    out
}

/// The name of the run's workflow (its Argo node): the named row that is
/// neither Argo's own, nor a driver, nor a pipeline task (one of `names`,
/// or one with a driver of its own).
pub fn workflow_name(rows: &[TaskDetail], names: &[String]) -> Option<String> {
    let has_driver = |n: &str| {
        let driver = format!("{n}{DRIVER_SUFFIX}");
        rows.iter().any(|r| r.display_name == driver)
    };
    rows.iter()
        .map(|r| r.display_name.as_str())
        .find(|n| {
            !n.is_empty()
                && !ARGO_NODES.contains(n)
                && !n.ends_with(DRIVER_SUFFIX)
                && !names.iter().any(|t| t == n)
                && !has_driver(n)
                && !matches!(*n, "createpvc" | "deletepvc")
        })
        .map(str::to_string)
}

/// Whether a pod of the run is waiting to start: an `executor` row that is
/// PENDING (under `task_id` where the server links rows to their parent).
pub fn pod_pending(rows: &[TaskDetail], task_id: Option<&str>) -> bool {
    rows.iter().any(|r| {
        r.display_name == "executor"
            && r.state.as_deref() == Some("PENDING")
            && match (&r.parent_task_id, task_id) {
                (Some(parent), Some(id)) => parent == id,
                _ => true,
            }
    })
}

fn normal_state(s: &str) -> &str {
    match s {
        "" | "RUNTIME_STATE_UNSPECIFIED" => "PENDING",
        other => other,
    }
}

/// `V2beta1RunDetails`, the task list.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct RunDetails {
    /// The run's tasks so far.
    #[serde(default)]
    pub task_details: Vec<TaskDetail>,
}

/// A run (`V2beta1Run`, the fields used).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Run {
    /// Its id.
    pub run_id: String,
    /// A `V2beta1RuntimeState` name (absent before it is scheduled).
    #[serde(default)]
    pub state: Option<String>,
    /// Its tasks.
    #[serde(default)]
    pub run_details: Option<RunDetails>,
    /// Why it failed, when it did (a `googlerpcStatus`).
    #[serde(default)]
    pub error: Option<Value>,
}

impl Run {
    /// The run's state, `PENDING` until the server reports one.
    pub fn state(&self) -> &str {
        self.state
            .as_deref()
            .filter(|s| !s.is_empty() && *s != "RUNTIME_STATE_UNSPECIFIED")
            .unwrap_or("PENDING")
    }

    /// Whether the state is final (`V2beta1RuntimeState`: SUCCEEDED,
    /// SKIPPED, FAILED, CANCELED).
    pub fn finished(&self) -> bool {
        matches!(
            self.state(),
            "SUCCEEDED" | "SKIPPED" | "FAILED" | "CANCELED"
        )
    }

    /// The pipeline's tasks that failed (see [`pipeline_tasks`]).
    pub fn failed_tasks(&self, names: &[String]) -> Vec<PipelineTask> {
        pipeline_tasks(self.rows(), names)
            .into_iter()
            .filter(|t| t.state == "FAILED")
            .collect()
    }

    /// The failure of a finished run, `None` when it SUCCEEDED: its state,
    /// the failed pipeline tasks with their pod's node, the run's error
    /// (first line, escaped), and where its kept claim is, for a pipeline
    /// of `names` in `namespace`.
    pub fn failure(&self, names: &[String], namespace: Option<&str>) -> Option<String> {
        if self.state() == "SUCCEEDED" {
            return None;
        }
        let tasks = pipeline_tasks(self.rows(), names);
        let failed: Vec<&PipelineTask> = tasks.iter().filter(|t| t.state == "FAILED").collect();
        let mut text = format!("ended {}", self.state());
        if !failed.is_empty() {
            let list: Vec<String> = failed
                .iter()
                .map(|t| match &t.node {
                    Some(node) => format!("{} (Argo node {})", t.name, printable(node)),
                    None => format!("{} (at its driver, before a pod started)", t.name),
                })
                .collect();
            text.push_str(&format!("; failed tasks: {}", list.join(", ")));
        }
        if let Some(m) = self
            .error
            .as_ref()
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str)
        {
            text.push_str(&format!("; error: {}", super::error::first_line(m)));
        }
        let ns = namespace.unwrap_or("kubeflow");
        if let Some(wf) = workflow_name(self.rows(), names) {
            let wf = printable(&wf);
            text.push_str(&format!(
                "; pods: `kubectl get pods -n {ns} -l workflows.argoproj.io/workflow={wf}`"
            ));
        }
        // The claim outlives a run that made it and did not delete it.
        let state = |name: &str| {
            tasks
                .iter()
                .find(|t| t.name == name)
                .map(|t| t.state.as_str())
        };
        if state("createpvc") == Some("SUCCEEDED") && state("deletepvc") != Some("SUCCEEDED") {
            text.push_str(&format!(
                "; the run's volume claim (name ending in -data-volume) is kept for \
                 inspection: `kubectl get pvc -n {ns}`, then `kubectl delete pvc -n {ns} NAME` \
                 when done"
            ));
        }
        Some(text)
    }

    /// The task details as the server lists them (Argo nodes).
    pub fn rows(&self) -> &[TaskDetail] {
        self.run_details
            .as_ref()
            .map(|d| d.task_details.as_slice())
            .unwrap_or(&[])
    }
}

/// A state change seen while following a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateChange {
    /// The run's state.
    Run {
        /// A `V2beta1RuntimeState` name.
        state: String,
    },
    /// One pipeline task's state.
    Task {
        /// The task.
        name: String,
        /// A `V2beta1RuntimeState` name.
        state: String,
    },
    /// A task whose pod has waited long to start, or a poll that failed and
    /// is tried again: what may be wrong.
    Hint {
        /// The task (empty: the run as a whole).
        task: String,
        /// The hint.
        message: String,
    },
}

/// What `GET /apis/v2beta1/healthz` says of the server: answered without
/// credentials by every KFP 2.x API server (a handler of its own, not the
/// gRPC gateway).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Health {
    /// The build's commit.
    #[serde(default)]
    pub commit_sha: String,
    /// The release, e.g. `2.5.0`; `unknown` on builds that were not tagged.
    #[serde(default)]
    pub tag_name: String,
    /// Whether the deployment has profiles (then every request names a
    /// namespace).
    #[serde(default)]
    pub multi_user: bool,
}

impl Health {
    /// The release as said, or `of unknown version`.
    pub fn version(&self) -> &str {
        match self.tag_name.trim() {
            "" | "unknown" => "of unknown version",
            tag => tag,
        }
    }

    /// The release, when the tag is one (`2.5.0`, `v2.5.0`).
    pub fn release(&self) -> Option<KfpVersion> {
        self.tag_name.parse().ok()
    }
}
