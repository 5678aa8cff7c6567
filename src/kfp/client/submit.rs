//! `crypto-lab submit`: what kfp.Client's `create_run_from_pipeline_package`
//! does, keeping one pipeline of a name: upload (or a new version), find or
//! create the experiment, create the run, and follow it.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::error::{ClientError, Result};
use super::model::{Run, StateChange};
use super::{KfpClient, WaitOptions, DEFAULT_EXPERIMENT, PENDING_HINT};
use crate::error::printable;
use crate::kfp::backend::{self, KfpVersion};
use crate::kfp::export::{v2, ExportOptions, PIPELINE_NAME};
use crate::kfp::names;
use crate::kfp::package::PackageSpec;

/// What `submit` sends.
// One value per submit, built in the notebook's cell: boxing the options
// would save nothing measurable and put `Box::new` in front of students.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Package {
    /// The lab's pipeline, exported for the server's release (or
    /// [`SubmitOptions::kfp_version`]) just before the upload.
    Export(ExportOptions),
    /// A pipeline file as given (`--package`), checked against the server's
    /// release before the upload.
    File {
        /// Its path, for messages.
        name: String,
        /// Its bytes.
        bytes: Vec<u8>,
    },
}

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
    /// Follow the run until it finishes.
    pub wait: bool,
    /// Longest wait.
    pub timeout: Option<Duration>,
    /// Time between polls.
    pub poll: Duration,
    /// The KFP release to export for, instead of the server's.
    pub kfp_version: Option<KfpVersion>,
    /// How long a task's pod may wait to start before a hint is printed.
    pub pending_hint: Duration,
}

/// One thing `submit` did, for the caller to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitEvent {
    /// What the server said of itself (healthz), and the release the
    /// package is for.
    Server {
        /// Its release as said (`2.5.0`, or `of unknown version`).
        version: String,
        /// Whether it runs with profiles.
        multi_user: bool,
        /// The release the pipeline is exported for (`None`: a file).
        target: Option<KfpVersion>,
    },
    /// Something the user should know that does not stop the submission.
    Warning(String),
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
            SubmitEvent::Server {
                version,
                multi_user,
                target,
            } => {
                let mode = if *multi_user {
                    "multi-user"
                } else {
                    "single-user"
                };
                write!(f, "KFP API {} ({mode})", printable(version))?;
                match target {
                    Some(t) => write!(f, ": exporting the pipeline for KFP {t}"),
                    None => Ok(()),
                }
            }
            SubmitEvent::Warning(text) => write!(f, "warning: {text}"),
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
            SubmitEvent::State(StateChange::Hint { message, .. }) => {
                write!(f, "  hint: {message}")
            }
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
            wait: false,
            timeout: None,
            poll: Duration::from_secs(5),
            kfp_version: None,
            pending_hint: PENDING_HINT,
        }
    }
}

impl Submitted {
    /// Why the run did not succeed, with what to do (see [`Run::failure`]);
    /// `None` when it succeeded or was not waited for.
    pub fn failure(&self, namespace: Option<&str>) -> Option<String> {
        self.run
            .as_ref()
            .and_then(|r| r.failure(&self.tasks, namespace))
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
    /// The pipeline's task names, in order.
    pub tasks: Vec<String>,
}

impl Submitted {
    /// Whether the run finished SUCCEEDED (false when not waited for).
    pub fn succeeded(&self) -> bool {
        self.run.as_ref().is_some_and(|r| r.state() == "SUCCEEDED")
    }
}

/// Parameters as `runtime_config.parameters` values, checked against the
/// ones the package declares ([`PackageSpec::declared_parameters`]): a KFP
/// STRING is a JSON string; NUMBER_INTEGER, NUMBER_DOUBLE and BOOLEAN are
/// parsed; STRUCT and LIST from JSON.
pub fn runtime_parameters(
    params: &[(String, String)],
    declared: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, Value>> {
    let mut out = BTreeMap::new();
    for (key, text) in params {
        let kind = declared.get(key).map(String::as_str).ok_or_else(|| {
            ClientError::BadArgument(format!(
                "--param {key}: the pipeline has no parameter `{key}` (it takes: {})",
                declared.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })?;
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

/// Names and flags checked before anything is sent: each goes into a
/// request or a filter, and an empty or control-character name only fails
/// later, on the server, after an upload.
fn check_names(opts: &SubmitOptions) -> Result<()> {
    let named = [
        ("--pipeline-name", Some(&opts.pipeline_name)),
        ("--experiment", Some(&opts.experiment)),
        ("--run-name", opts.run_name.as_ref()),
    ];
    for (flag, value) in named {
        if let Some(v) = value {
            if v.trim().is_empty() || v.chars().any(char::is_control) || v.len() > 256 {
                return Err(ClientError::BadArgument(format!(
                    "{flag} `{}`: expected a name of 1 to 256 characters without control \
                     characters",
                    printable(v)
                )));
            }
        }
    }
    if let Some(ns) = &opts.namespace {
        names::dns_label("--namespace", ns).map_err(ClientError::BadArgument)?;
    }
    Ok(())
}

/// What is uploaded: the bytes, read as the server will read them, and the
/// pipeline's task names in order.
struct Upload {
    bytes: Vec<u8>,
    spec: PackageSpec,
    tasks: Vec<String>,
}

/// The upload of `package` for `target` (a file is the same for every
/// target). A file that is not a pipeline package is refused here, naming
/// it.
fn package_for(package: &Package, target: KfpVersion) -> Result<Upload> {
    match package {
        Package::Export(export) => {
            let export = ExportOptions {
                kfp_version: target,
                ..export.clone()
            };
            let text = crate::kfp::pipeline_yaml(&export)
                .map_err(|e| ClientError::BadArgument(e.to_string()))?;
            let spec = PackageSpec::parse(text.as_bytes()).map_err(|e| {
                ClientError::BadArgument(format!(
                    "the exported pipeline does not parse ({e}): please report it"
                ))
            })?;
            let tasks = v2::pipeline_steps(&export)
                .into_iter()
                .map(|s| s.name)
                .collect();
            Ok(Upload {
                bytes: text.into_bytes(),
                spec,
                tasks,
            })
        }
        Package::File { name, bytes } => {
            let spec = PackageSpec::parse(bytes).map_err(|e| {
                ClientError::BadArgument(format!(
                    "--package {}: not a pipeline package ({}); nothing was uploaded",
                    printable(name),
                    printable(&e)
                ))
            })?;
            Ok(Upload {
                tasks: spec.root_tasks(),
                bytes: bytes.clone(),
                spec,
            })
        }
    }
}

/// Why `server` would refuse `package` (exported for `target`), and what
/// fixes it; `None` when it runs it.
fn refusal(
    package: &Package,
    spec: &PackageSpec,
    target: KfpVersion,
    server: KfpVersion,
) -> Option<ClientError> {
    let keys = spec.platform_keys();
    let refused = backend::unsupported_keys(&keys, server);
    if refused.is_empty() {
        return None;
    }
    let fields: Vec<&str> = backend::FIELDS
        .iter()
        .filter(|f| refused.iter().any(|u| u.field == **f))
        .map(|f| f.path)
        .collect();
    let mut executors: Vec<String> = refused.iter().map(|u| printable(&u.executor)).collect();
    executors.sort();
    executors.dedup();
    let release = format!("{}.{}", server.major, server.minor);
    let (what, fix) = match package {
        Package::Export(_) => (
            format!("the pipeline exported for KFP {target}"),
            format!("drop --kfp-version, or pass --kfp-version {release}"),
        ),
        Package::File { name, .. } => (
            printable(name),
            format!(
                "export it for this server with `crypto-lab export-kfp --kfp-version \
                 {release}`, or submit without --package, which exports for the server's \
                 release"
            ),
        ),
    };
    Some(ClientError::BadArgument(format!(
        "{what}: {} (in {}) unknown to KFP {server}, where {}; {fix}. Nothing was uploaded",
        fields.join(", "),
        executors.join(", "),
        server.rejection()
    )))
}

/// Submits `package` as kfp.Client's `create_run_from_pipeline_package`
/// would, but keeping one pipeline of that name, and knowing the server
/// first: its healthz says its release (the export is made for it, and a
/// file it would refuse is refused here, naming the field and the flag that
/// fixes it) and whether it is multi-user (then `--namespace` is required).
/// Nothing is uploaded until those checks pass. Then: upload the package
/// (or a new version), find or create the experiment, create the run; with
/// `wait`, follow it to its end. Every step is reported through `on_event`.
pub fn submit(
    client: &KfpClient,
    package: &Package,
    opts: &SubmitOptions,
    on_event: &mut dyn FnMut(&SubmitEvent),
) -> Result<Submitted> {
    check_names(opts)?;
    // Parameters fail here, before anything is sent: read from the package
    // as it would be sent for the release asked for (every release's export
    // declares the same ones), and again below from the bytes uploaded.
    let first_target = match package {
        Package::Export(export) => opts.kfp_version.unwrap_or(export.kfp_version),
        Package::File { .. } => KfpVersion::WIDEST,
    };
    let first = package_for(package, first_target)?;
    runtime_parameters(&opts.params, &first.spec.declared_parameters())?;
    let health = client.healthz()?;
    let server = health.release();
    let target = opts.kfp_version.or(server).unwrap_or(KfpVersion::WIDEST);
    on_event(&SubmitEvent::Server {
        version: health.version().to_string(),
        multi_user: health.multi_user,
        target: matches!(package, Package::Export(_)).then_some(target),
    });
    if health.multi_user && opts.namespace.is_none() {
        return Err(ClientError::BadArgument(format!(
            "the KFP API at {} is multi-user (Kubeflow profiles): pass --namespace with your \
             profile's namespace (`kubectl get profiles`); nothing was uploaded",
            client.host()
        )));
    }
    if server.is_none() && opts.kfp_version.is_none() {
        on_event(&SubmitEvent::Warning(format!(
            "the KFP API does not say its release (tag_name `{}`): the pipeline is for KFP {}, \
             which every 2.x backend runs; pass --kfp-version X.Y to use what a newer one offers",
            printable(&health.tag_name),
            KfpVersion::WIDEST
        )));
    }
    // Only an export differs by release; a file was read once, above.
    let Upload { bytes, spec, tasks } = match package {
        Package::Export(_) if target != first_target => package_for(package, target)?,
        _ => first,
    };
    let params = runtime_parameters(&opts.params, &spec.declared_parameters())?;
    if let Some(refused) = server.and_then(|server| refusal(package, &spec, target, server)) {
        return Err(refused);
    }
    let ns = opts.namespace.as_deref();
    let version = match client.find_pipeline(&opts.pipeline_name, ns)? {
        Some(p) => {
            let name = version_name();
            let mut v = client.upload_version(&p.pipeline_id, &name, &bytes)?;
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
            let p = client.upload_pipeline(&opts.pipeline_name, &bytes, ns)?;
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
        run: None,
        tasks: tasks.clone(),
    };
    if opts.wait {
        let wait = WaitOptions {
            timeout: opts.timeout,
            poll: opts.poll,
            tasks,
            pending_hint: opts.pending_hint,
            namespace: opts.namespace.clone(),
        };
        let run = client.wait(&submitted.run_id, &wait, &mut |c| {
            on_event(&SubmitEvent::State(c.clone()))
        })?;
        submitted.run = Some(run);
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
            &declared,
        )
        .expect("params");
        assert_eq!(p["dataset"], json!("x"));
        assert_eq!(p["n"], json!(3));
        let err = runtime_parameters(&[("data_path".into(), "/x".into())], &declared)
            .expect_err("undeclared");
        assert!(
            err.to_string().contains("no parameter `data_path`"),
            "{err}"
        );
        assert!(runtime_parameters(&[("n".into(), "x".into())], &declared).is_err());
    }
}
