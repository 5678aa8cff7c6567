//! `crypto-lab submit`: what kfp.Client's `create_run_from_pipeline_package`
//! does, keeping one pipeline of a name: upload (or a new version), find or
//! create the experiment, create the run, and follow it.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::error::{ClientError, Result};
use super::model::{Run, StateChange};
use super::{KfpClient, DEFAULT_EXPERIMENT};
use crate::kfp::export::{v2, ExportOptions, PIPELINE_NAME};

/// What `crypto-lab submit` (and the notebook) asks for.
#[derive(Debug, Clone)]
pub struct SubmitOptions {
    /// The pipeline's name on the server (a new version when it exists).
    pub pipeline_name: String,
    /// The experiment the run goes to (made when missing).
    pub experiment: String,
    /// The run's name [default: pipeline name and time].
    pub run_name: Option<String>,
    /// The profile namespace (multi-user mode).
    pub namespace: Option<String>,
    /// Run parameters, KEY=VALUE.
    pub params: Vec<(String, String)>,
    /// The parameters the package declares, with their KFP types
    /// (`STRING`, ...), when known: unknown keys fail before anything is sent.
    pub declared: Option<BTreeMap<String, String>>,
    /// Follow the run until it finishes.
    pub wait: bool,
    /// Longest wait.
    pub timeout: Option<Duration>,
    /// Time between polls.
    pub poll: Duration,
}

/// One thing `submit` did, for the caller to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitEvent {
    /// A new pipeline was uploaded.
    Uploaded {
        /// Its name.
        name: String,
        /// Its id.
        pipeline_id: String,
    },
    /// A new version of the pipeline of that name was uploaded.
    NewVersion {
        /// The pipeline's name.
        name: String,
        /// The version's name.
        version: String,
        /// The version's id.
        version_id: String,
    },
    /// The experiment used.
    Experiment {
        /// Its name.
        name: String,
        /// Its id.
        experiment_id: String,
        /// Whether it was made now.
        created: bool,
    },
    /// The run was created.
    RunCreated {
        /// Its id.
        run_id: String,
        /// Its page in the KFP UI.
        link: String,
    },
    /// A state change while waiting.
    State(StateChange),
}

/// One line per event, as `crypto-lab submit` prints them.
impl std::fmt::Display for SubmitEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SubmitEvent::Uploaded { name, pipeline_id } => {
                write!(f, "uploaded pipeline {name} (id {pipeline_id})")
            }
            SubmitEvent::NewVersion {
                name,
                version,
                version_id,
            } => write!(
                f,
                "pipeline {name} exists: uploaded version {version} (id {version_id})"
            ),
            SubmitEvent::Experiment {
                name,
                experiment_id,
                created,
            } => write!(
                f,
                "experiment {name} (id {experiment_id}){}",
                if *created { ", created" } else { "" }
            ),
            SubmitEvent::RunCreated { run_id, link } => write!(f, "run {run_id} created: {link}"),
            SubmitEvent::State(StateChange::Task { name, state }) => {
                write!(f, "  task {name}: {state}")
            }
            SubmitEvent::State(StateChange::Run { state }) => write!(f, "run: {state}"),
        }
    }
}

impl Default for SubmitOptions {
    /// The exported pipeline's name, kfp.Client's `Default` experiment, no
    /// parameters, no waiting (a poll every 5 s when waiting).
    fn default() -> Self {
        SubmitOptions {
            pipeline_name: PIPELINE_NAME.to_string(),
            experiment: DEFAULT_EXPERIMENT.to_string(),
            run_name: None,
            namespace: None,
            params: Vec::new(),
            declared: None,
            wait: false,
            timeout: None,
            poll: Duration::from_secs(5),
        }
    }
}

impl SubmitOptions {
    /// Options for the pipeline exported with `export`: its declared
    /// parameters are known, so a wrong `--param` fails before upload.
    pub fn for_export(export: &ExportOptions) -> Self {
        let (spec, _) = v2::pipeline(export);
        SubmitOptions {
            declared: Some(declared_parameters(&spec)),
            ..SubmitOptions::default()
        }
    }
}

/// What `submit` ended with.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// The run's id.
    pub run_id: String,
    /// Its page in the KFP UI.
    pub link: String,
    /// The run as last seen (after `--wait`: finished).
    pub run: Option<Run>,
}

impl Submitted {
    /// Whether the run finished SUCCEEDED (false when not waited for).
    pub fn succeeded(&self) -> bool {
        self.run.as_ref().is_some_and(|r| r.state() == "SUCCEEDED")
    }
}

/// Parameters as `runtime_config.parameters` values, checked against the
/// declared ones: a KFP STRING is a JSON string; NUMBER_INTEGER,
/// NUMBER_DOUBLE and BOOLEAN are parsed; STRUCT and LIST from JSON.
pub fn runtime_parameters(
    params: &[(String, String)],
    declared: Option<&BTreeMap<String, String>>,
) -> Result<BTreeMap<String, Value>> {
    let mut out = BTreeMap::new();
    for (key, text) in params {
        let kind = match declared {
            Some(d) => d.get(key).map(String::as_str).ok_or_else(|| {
                ClientError::BadArgument(format!(
                    "--param {key}: the pipeline has no parameter `{key}` (it takes: {})",
                    d.keys().cloned().collect::<Vec<_>>().join(", ")
                ))
            })?,
            None => "STRING",
        };
        let bad = |what: &str| {
            ClientError::BadArgument(format!("--param {key}={text}: expected {what} ({kind})"))
        };
        let value = match kind {
            "NUMBER_INTEGER" => json!(text.parse::<i64>().map_err(|_| bad("an integer"))?),
            "NUMBER_DOUBLE" => json!(text.parse::<f64>().map_err(|_| bad("a number"))?),
            "BOOLEAN" => json!(text.parse::<bool>().map_err(|_| bad("true or false"))?),
            "STRUCT" | "LIST" => serde_json::from_str(text).map_err(|_| bad("JSON"))?,
            _ => json!(text),
        };
        if out.insert(key.clone(), value).is_some() {
            return Err(ClientError::BadArgument(format!(
                "--param {key} given twice"
            )));
        }
    }
    Ok(out)
}

/// The root parameters a pipeline spec (IR, as JSON) declares, with types.
pub fn declared_parameters(pipeline_spec: &Value) -> BTreeMap<String, String> {
    pipeline_spec
        .pointer("/root/inputDefinitions/parameters")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let t = v["parameterType"].as_str().unwrap_or("STRING").to_string();
                    (k.clone(), t)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A version name unique enough for repeated submissions: the crate's
/// version and the UTC time to the second.
fn version_name() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (y, m, d) = crate::calendar::civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "crypto-lab-{}-{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        crate::version::VERSION,
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Submits `package` (a pipeline.yaml) as kfp.Client's
/// `create_run_from_pipeline_package` would, but keeping one pipeline of
/// that name: upload it (or a new version), find or create the experiment,
/// create the run; with `wait`, follow it to its end. Every step is
/// reported through `on_event`.
pub fn submit(
    client: &KfpClient,
    package: &[u8],
    opts: &SubmitOptions,
    on_event: &mut dyn FnMut(&SubmitEvent),
) -> Result<Submitted> {
    if opts.pipeline_name.trim().is_empty() {
        return Err(ClientError::BadArgument(
            "--pipeline-name must not be empty".into(),
        ));
    }
    // Parameters fail here, before anything is uploaded.
    let params = runtime_parameters(&opts.params, opts.declared.as_ref())?;
    let ns = opts.namespace.as_deref();
    let version = match client.find_pipeline(&opts.pipeline_name, ns)? {
        Some(p) => {
            let name = version_name();
            let mut v = client.upload_version(&p.pipeline_id, &name, package)?;
            if v.pipeline_id.is_empty() {
                v.pipeline_id = p.pipeline_id.clone();
            }
            on_event(&SubmitEvent::NewVersion {
                name: opts.pipeline_name.clone(),
                version: name,
                version_id: v.pipeline_version_id.clone(),
            });
            v
        }
        None => {
            let p = client.upload_pipeline(&opts.pipeline_name, package, ns)?;
            on_event(&SubmitEvent::Uploaded {
                name: opts.pipeline_name.clone(),
                pipeline_id: p.pipeline_id.clone(),
            });
            let mut v = client.latest_version(&p.pipeline_id)?;
            if v.pipeline_id.is_empty() {
                v.pipeline_id = p.pipeline_id;
            }
            v
        }
    };
    let (experiment, created) = client.find_or_create_experiment(&opts.experiment, ns)?;
    on_event(&SubmitEvent::Experiment {
        name: opts.experiment.clone(),
        experiment_id: experiment.experiment_id.clone(),
        created,
    });
    let run_name = opts
        .run_name
        .clone()
        .unwrap_or_else(|| format!("{} {}", opts.pipeline_name, version_name()));
    let run = client.create_run(&run_name, &experiment.experiment_id, &version, &params)?;
    let link = client.run_link(&run.run_id);
    on_event(&SubmitEvent::RunCreated {
        run_id: run.run_id.clone(),
        link: link.clone(),
    });
    let mut submitted = Submitted {
        run_id: run.run_id.clone(),
        link,
        run: Some(run),
    };
    if opts.wait {
        let run = client.wait(&submitted.run_id, opts.timeout, opts.poll, &mut |c| {
            on_event(&SubmitEvent::State(c.clone()))
        })?;
        submitted.run = Some(run);
    } else {
        submitted.run = None;
    }
    Ok(submitted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_follow_declared_types() {
        let declared: BTreeMap<String, String> = [
            ("dataset".to_string(), "STRING".to_string()),
            ("n".to_string(), "NUMBER_INTEGER".to_string()),
        ]
        .into_iter()
        .collect();
        let p = runtime_parameters(
            &[("dataset".into(), "x".into()), ("n".into(), "3".into())],
            Some(&declared),
        )
        .expect("params");
        assert_eq!(p["dataset"], json!("x"));
        assert_eq!(p["n"], json!(3));
        let err = runtime_parameters(&[("data_path".into(), "/x".into())], Some(&declared))
            .expect_err("undeclared");
        assert!(
            err.to_string().contains("no parameter `data_path`"),
            "{err}"
        );
        assert!(runtime_parameters(&[("n".into(), "x".into())], Some(&declared)).is_err());
    }
}
