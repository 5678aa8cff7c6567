//! The KFP API's objects as `kfp_server_api` 2.17 models them
//! (`V2beta1Pipeline`, `V2beta1PipelineVersion`, `V2beta1Experiment`,
//! `V2beta1Run`, `V2beta1RuntimeState`): the fields this client reads.

use serde::Deserialize;
use serde_json::Value;

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

/// One task of a run (`V2beta1PipelineTaskDetail`, the fields used).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct TaskDetail {
    /// Its id.
    #[serde(default)]
    pub task_id: String,
    /// The task's name (the pipeline's task name).
    #[serde(default)]
    pub display_name: String,
    /// A `V2beta1RuntimeState` name.
    #[serde(default)]
    pub state: Option<String>,
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

    /// The tasks that failed.
    pub fn failed_tasks(&self) -> Vec<String> {
        self.tasks()
            .filter(|t| t.state.as_deref() == Some("FAILED"))
            .map(|t| t.display_name.clone())
            .collect()
    }

    /// The failure of a finished run: its state, failed tasks and error
    /// message; `None` when it SUCCEEDED.
    pub fn failure(&self) -> Option<String> {
        if self.state() == "SUCCEEDED" {
            return None;
        }
        let failed = self.failed_tasks();
        let tasks = if failed.is_empty() {
            String::new()
        } else {
            format!("; failed tasks: {}", failed.join(", "))
        };
        let why = self
            .error
            .as_ref()
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str)
            .map(|m| format!("; error: {m}"))
            .unwrap_or_default();
        Some(format!("ended {}{tasks}{why}", self.state()))
    }

    pub(super) fn tasks(&self) -> impl Iterator<Item = &TaskDetail> {
        self.run_details.iter().flat_map(|d| d.task_details.iter())
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
    /// One task's state.
    Task {
        /// The task.
        name: String,
        /// A `V2beta1RuntimeState` name.
        state: String,
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
}
