//! What `kfp.Client` does to submit a pipeline, over KFP's REST API
//! v2beta1: upload the package (or a new version of the pipeline of that
//! name), find or create the experiment, create the run, and follow it.
//!
//! [`KfpClient`] sends the requests (`model` holds what they return,
//! [`auth`] the credentials, `error` what goes wrong); `submit` is the
//! workflow. The upload is a multipart form with the package in the field
//! `uploadfile`, as `PipelineUploadServiceApi` sends it.

pub mod auth;
pub(crate) mod error;
pub(crate) mod model;
pub(crate) mod submit;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reqwest::blocking::{multipart, Client, RequestBuilder, Response};
use reqwest::header::CONTENT_TYPE;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};

pub use auth::{CredentialSource, Credentials};

pub(crate) use error::PORT_FORWARD;
pub use error::{ClientError, Result};
pub use model::{
    pipeline_tasks, Experiment, Health, Pipeline, PipelineTask, PipelineVersion, Run, RunDetails,
    StateChange, TaskDetail,
};
pub use submit::{submit, Package, SubmitEvent, SubmitOptions, Submitted};

use crate::error::Remedy;
use auth::AUTH_ADVICE;
use error::{server_message, snippet};

/// Failed polls in a row that `--wait` waits out.
const MAX_FAILED_POLLS: u32 = 5;

/// The largest answer read from the API.
const MAX_ANSWER_BYTES: u64 = 16 << 20;

/// kfp.Client's default experiment.
pub const DEFAULT_EXPERIMENT: &str = "Default";

/// A client of one KFP API (the address the UI is served at, or the
/// ml-pipeline service).
pub struct KfpClient {
    http: Client,
    host: String,
    credentials: Credentials,
}

impl KfpClient {
    /// A client for the API at `host` (`http(s)://HOST[:PORT][/PREFIX]`).
    pub fn new(host: &str, credentials: Credentials) -> Result<Self> {
        let host = host.trim().trim_end_matches('/').to_string();
        let url = reqwest::Url::parse(&host)
            .map_err(|e| ClientError::BadArgument(format!("--host `{host}`: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(ClientError::BadArgument(format!(
                "--host `{host}`: expected http(s)://HOST[:PORT], the KFP UI's address"
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ClientError::BadArgument(
                "--host must not carry credentials; use --token or --cookie".into(),
            ));
        }
        let http = http_client(Duration::from_secs(20), Duration::from_secs(120))?;
        Ok(KfpClient {
            http,
            host,
            credentials,
        })
    }

    /// The same client with every request bounded by `timeout` (doctor's
    /// short look instead of an upload's patience).
    pub fn with_timeout(self, timeout: Duration) -> Result<Self> {
        Ok(KfpClient {
            http: http_client(timeout, timeout)?,
            ..self
        })
    }

    /// Where [`KfpClient::healthz`] asks.
    pub fn health_url(&self) -> String {
        self.url("healthz")
    }

    /// The server's release and mode (`GET healthz`). The API server
    /// answers it without credentials, but an authenticating gateway in
    /// front of it (Dex/Istio) does not, so they are sent as to every call.
    pub fn healthz(&self) -> Result<Health> {
        let what = "asking the KFP API for its release (healthz)";
        let v = self.send(what, self.http.get(self.health_url()))?;
        Self::decode(what, v)
    }

    /// The host, as given (without a trailing slash).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The UI page of a run: `{host}/#/runs/details/{run_id}`, as kfp.Client
    /// prints it.
    pub fn run_link(&self, run_id: &str) -> String {
        format!("{}/#/runs/details/{run_id}", self.host)
    }

    fn url(&self, path: &str) -> String {
        format!("{}/apis/v2beta1/{path}", self.host)
    }

    fn send(&self, what: &str, req: RequestBuilder) -> Result<Value> {
        let req = self.credentials.apply(req);
        let resp = req.send().map_err(|e| self.transport_error(what, e))?;
        self.answer(what, resp)
    }

    fn transport_error(&self, what: &str, e: reqwest::Error) -> ClientError {
        if e.is_connect() || e.is_timeout() {
            let cause = std::error::Error::source(&e)
                .map(|s| s.to_string())
                .unwrap_or_else(|| e.to_string());
            ClientError::Connect {
                host: self.host.clone(),
                cause: crate::error::printable(&cause),
            }
        } else {
            // reqwest's own text is generic ("error following redirect");
            // the reason is in its sources.
            let e = e.without_url();
            let mut cause = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                cause.push_str(&format!(": {s}"));
                source = s.source();
            }
            ClientError::Decode {
                what: what.into(),
                cause: crate::error::printable(&cause),
            }
        }
    }

    fn answer(&self, what: &str, resp: Response) -> Result<Value> {
        let status = resp.status();
        let url = {
            let mut u = resp.url().clone();
            u.set_query(None);
            u.to_string()
        };
        // A KFP answer is a few KiB; a body past 16 MiB is not one.
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(
            &mut std::io::Read::take(resp, MAX_ANSWER_BYTES),
            &mut text,
        );
        if status.is_success() {
            if text.trim().is_empty() {
                return Ok(json!({}));
            }
            return serde_json::from_str(&text).map_err(|e| ClientError::Decode {
                what: what.into(),
                cause: format!("not JSON ({e}): {}", snippet(&text)),
            });
        }
        let message = server_message(&text);
        let server = if message.is_empty() {
            String::new()
        } else {
            format!(": {message}")
        };
        Err(match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ClientError::Unauthorized {
                what: what.into(),
                status,
                credential: self.credentials.describe(),
                server,
                advice: AUTH_ADVICE,
            },
            StatusCode::NOT_FOUND => ClientError::NotFound {
                what: what.into(),
                url,
                server,
            },
            _ => ClientError::Rejected {
                what: what.into(),
                status,
                message: if message.is_empty() {
                    "(no message)".into()
                } else {
                    message
                },
            },
        })
    }

    fn post_json(&self, path: &str, body: &Value) -> RequestBuilder {
        self.http
            .post(self.url(path))
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_string())
    }

    fn decode<T: for<'de> Deserialize<'de>>(what: &str, v: Value) -> Result<T> {
        serde_json::from_value(v).map_err(|e| ClientError::Decode {
            what: what.into(),
            cause: e.to_string(),
        })
    }

    /// The pipeline named `name` (`display_name` EQUALS, as kfp.Client's
    /// `get_pipeline_id`), if one exists.
    pub fn find_pipeline(&self, name: &str, namespace: Option<&str>) -> Result<Option<Pipeline>> {
        let what = "looking up the pipeline";
        let mut query = vec![("filter", equals_filter(name))];
        if let Some(ns) = namespace {
            query.push(("namespace", ns.to_string()));
        }
        let v = self.send(what, self.http.get(self.url("pipelines")).query(&query))?;
        let list: Vec<Pipeline> = Self::decode(what, v["pipelines"].clone()).unwrap_or_default();
        match list.len() {
            0 | 1 => Ok(list.into_iter().next()),
            n => Err(ClientError::BadArgument(format!(
                "{n} pipelines are named `{name}`; pass --pipeline-name with a unique name"
            ))),
        }
    }

    fn upload(
        &self,
        what: &str,
        url: String,
        query: &[(&str, String)],
        file_name: &str,
        package: &[u8],
    ) -> Result<Value> {
        let part = multipart::Part::bytes(package.to_vec())
            .file_name(file_name.to_string())
            .mime_str("application/octet-stream")
            .map_err(|e| ClientError::Decode {
                what: what.into(),
                cause: e.to_string(),
            })?;
        let form = multipart::Form::new().part("uploadfile", part);
        let req = self.http.post(url).query(query).multipart(form);
        self.send(what, req).map_err(|e| self.upload_error(e))
    }

    /// What the upload handler's refusals mean (it answers outside the
    /// gateway, with statuses of its own): a 409 is a name taken where the
    /// lookup did not see it; a 400 is how it refuses credentials (up to
    /// 2.14 saying so, from 2.15 only "Failed to create a pipeline").
    fn upload_error(&self, e: ClientError) -> ClientError {
        let ClientError::Rejected {
            what,
            status,
            message,
        } = e
        else {
            return e;
        };
        let auth_words = ["Unauthenticated", "authoriz", "Authoriz", "authenticat"];
        let message = match status {
            StatusCode::BAD_REQUEST if auth_words.iter().any(|w| message.contains(w)) => {
                return ClientError::Unauthorized {
                    what,
                    status,
                    credential: self.credentials.describe(),
                    server: format!(": {message}"),
                    advice: AUTH_ADVICE,
                }
            }
            StatusCode::CONFLICT => format!(
                "{message}. A pipeline of that name exists where this client did not find it \
                 by name (another namespace, or another display name): pass --pipeline-name \
                 with a new name, or delete the old pipeline in the KFP UI"
            ),
            StatusCode::BAD_REQUEST if self.credentials.any() => format!(
                "{message} (KFP answers 400 to an upload whose credentials it refuses: check \
                 that {} is valid and allowed to create pipelines)",
                self.credentials.describe()
            ),
            _ => message,
        };
        ClientError::Rejected {
            what,
            status,
            message,
        }
    }

    /// Uploads `package` as a new pipeline named `name`
    /// (`POST pipelines/upload`).
    pub fn upload_pipeline(
        &self,
        name: &str,
        package: &[u8],
        namespace: Option<&str>,
    ) -> Result<Pipeline> {
        let what = "uploading the pipeline";
        let mut query = vec![
            ("name", name.to_string()),
            ("display_name", name.to_string()),
        ];
        if let Some(ns) = namespace {
            query.push(("namespace", ns.to_string()));
        }
        let v = self.upload(
            what,
            self.url("pipelines/upload"),
            &query,
            "pipeline.yaml",
            package,
        )?;
        Self::decode(what, v)
    }

    /// Uploads `package` as version `version` of pipeline `pipeline_id`
    /// (`POST pipelines/upload_version?pipelineid=...`).
    pub fn upload_version(
        &self,
        pipeline_id: &str,
        version: &str,
        package: &[u8],
    ) -> Result<PipelineVersion> {
        let what = "uploading a new pipeline version";
        let query = [
            ("name", version.to_string()),
            ("display_name", version.to_string()),
            ("pipelineid", pipeline_id.to_string()),
        ];
        let v = self.upload(
            what,
            self.url("pipelines/upload_version"),
            &query,
            "pipeline.yaml",
            package,
        )?;
        Self::decode(what, v)
    }

    /// The newest version of a pipeline (the one an upload just made).
    pub fn latest_version(&self, pipeline_id: &str) -> Result<PipelineVersion> {
        let what = "looking up the pipeline's version";
        let query = [
            ("sort_by", "created_at desc".to_string()),
            ("page_size", "1".to_string()),
        ];
        let v = self.send(
            what,
            self.http
                .get(self.url(&format!("pipelines/{pipeline_id}/versions")))
                .query(&query),
        )?;
        let list: Vec<PipelineVersion> =
            Self::decode(what, v["pipeline_versions"].clone()).unwrap_or_default();
        list.into_iter().next().ok_or_else(|| ClientError::Decode {
            what: what.into(),
            cause: format!("pipeline {pipeline_id} has no version"),
        })
    }

    /// The experiment named `name` (in `namespace`), created when missing;
    /// `true` when it was created.
    pub fn find_or_create_experiment(
        &self,
        name: &str,
        namespace: Option<&str>,
    ) -> Result<(Experiment, bool)> {
        let what = "looking up the experiment";
        let mut query = vec![("filter", equals_filter(name))];
        if let Some(ns) = namespace {
            query.push(("namespace", ns.to_string()));
        }
        let v = self.send(what, self.http.get(self.url("experiments")).query(&query))?;
        let list: Vec<Experiment> =
            Self::decode(what, v["experiments"].clone()).unwrap_or_default();
        if let Some(e) = list.into_iter().next() {
            return Ok((e, false));
        }
        let what = "creating the experiment";
        let mut body = json!({"display_name": name});
        if let Some(ns) = namespace {
            body["namespace"] = json!(ns);
        }
        let v = self.send(what, self.post_json("experiments", &body))?;
        Ok((Self::decode(what, v)?, true))
    }

    /// Creates a run of a pipeline version in an experiment with these
    /// parameter values (`POST runs`, as kfp.Client's `run_pipeline`).
    pub fn create_run(
        &self,
        display_name: &str,
        experiment_id: &str,
        version: &PipelineVersion,
        params: &BTreeMap<String, Value>,
    ) -> Result<Run> {
        let what = "creating the run";
        let body = json!({
            "display_name": display_name,
            "experiment_id": experiment_id,
            "pipeline_version_reference": {
                "pipeline_id": version.pipeline_id,
                "pipeline_version_id": version.pipeline_version_id,
            },
            "runtime_config": {"parameters": params},
        });
        let v = self.send(what, self.post_json("runs", &body))?;
        Self::decode(what, v)
    }

    /// The run's current state (`GET runs/{id}`).
    pub fn get_run(&self, run_id: &str) -> Result<Run> {
        let what = "reading the run";
        let v = self.send(what, self.http.get(self.url(&format!("runs/{run_id}"))))?;
        Self::decode(what, v)
    }

    /// Polls the run until it finishes, calling `on_change` for the run's
    /// state changes and each pipeline task's (Argo's own nodes folded away,
    /// see [`model::pipeline_tasks`]), and once per task whose pod has been
    /// pending longer than `opts.pending_hint`.
    pub fn wait(
        &self,
        run_id: &str,
        opts: &WaitOptions,
        on_change: &mut dyn FnMut(&StateChange),
    ) -> Result<Run> {
        let start = Instant::now();
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        let mut unfinished_since: BTreeMap<String, Instant> = BTreeMap::new();
        let mut hinted: Vec<String> = Vec::new();
        let mut run_state = String::new();
        let mut failed_polls = 0;
        loop {
            // A run goes on for hours: an API server restarting or a gateway
            // blinking is waited out, a few polls in a row at most.
            let run = match self.get_run(run_id) {
                Ok(run) => {
                    failed_polls = 0;
                    run
                }
                Err(e) if e.remedy() == Remedy::RetryLater && failed_polls < MAX_FAILED_POLLS => {
                    failed_polls += 1;
                    on_change(&StateChange::Hint {
                        task: String::new(),
                        message: format!("{e}; polling again ({failed_polls}/{MAX_FAILED_POLLS})"),
                    });
                    std::thread::sleep(opts.poll);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let tasks = model::pipeline_tasks(run.rows(), &opts.tasks);
            // Without parent ids a pending pod cannot be tied to a task, so
            // it is only blamed on the one task under way.
            let under_way = tasks
                .iter()
                .filter(|t| matches!(t.state.as_str(), "PENDING" | "RUNNING"))
                .count();
            for t in tasks {
                if seen.get(&t.name) != Some(&t.state) {
                    seen.insert(t.name.clone(), t.state.clone());
                    on_change(&StateChange::Task {
                        name: t.name.clone(),
                        state: t.state.clone(),
                    });
                }
                if matches!(t.state.as_str(), "PENDING" | "RUNNING") {
                    let since = *unfinished_since
                        .entry(t.name.clone())
                        .or_insert_with(Instant::now);
                    let pending = t.state == "PENDING"
                        || (under_way == 1 && model::pod_pending(run.rows(), t.task_id.as_deref()));
                    if pending && since.elapsed() >= opts.pending_hint && !hinted.contains(&t.name)
                    {
                        hinted.push(t.name.clone());
                        on_change(&StateChange::Hint {
                            task: t.name.clone(),
                            message: pending_hint(&t.name, since.elapsed(), opts),
                        });
                    }
                } else {
                    unfinished_since.remove(&t.name);
                }
            }
            if run.state() != run_state {
                run_state = run.state().to_string();
                on_change(&StateChange::Run {
                    state: run_state.clone(),
                });
            }
            if run.finished() {
                return Ok(run);
            }
            if let Some(limit) = opts.timeout {
                if start.elapsed() + opts.poll > limit {
                    return Err(ClientError::Timeout {
                        run_id: run_id.into(),
                        seconds: limit.as_secs(),
                        state: run_state,
                        link: self.run_link(run_id),
                    });
                }
            }
            std::thread::sleep(opts.poll);
        }
    }
}

/// How [`KfpClient::wait`] follows a run.
#[derive(Debug, Clone)]
pub struct WaitOptions {
    /// Longest wait.
    pub timeout: Option<Duration>,
    /// Time between polls.
    pub poll: Duration,
    /// The pipeline's task names, in order (empty: found from the run).
    pub tasks: Vec<String>,
    /// How long a task's pod may wait to start before a hint is printed.
    pub pending_hint: Duration,
    /// The namespace, for the hint's commands.
    pub namespace: Option<String>,
}

/// Far longer than pulling the image takes on a cluster that can reach it.
pub const PENDING_HINT: Duration = Duration::from_secs(600);

fn pending_hint(task: &str, waited: Duration, opts: &WaitOptions) -> String {
    let ns = opts.namespace.as_deref().unwrap_or("kubeflow");
    format!(
        "task {task} has waited {}s for its pod to start. Usual causes: the image cannot be \
         pulled (is --image pushed where the cluster pulls from?), the volume claim does not \
         bind (`kubectl get pvc -n {ns}`: a Pending claim wants --storage-class), or the \
         cluster refuses the user (runAsNonRoot: CreateContainerConfigError). `kubectl get \
         pods -n {ns}` and `kubectl describe pod -n {ns} POD` say which",
        waited.as_secs()
    )
}

/// A redirect is followed only to the origin (scheme, host and port) the
/// request went to: reqwest's default keeps `Authorization` when only the
/// scheme changes, which would send a token down from https to http.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let origin = |u: &reqwest::Url| {
            (
                u.scheme().to_string(),
                u.host_str().map(str::to_string),
                u.port_or_known_default(),
            )
        };
        let first = attempt.previous().first().map(origin);
        if attempt.previous().len() > 10 {
            attempt.error("more than 10 redirects")
        } else if first.is_some_and(|f| f != origin(attempt.url())) {
            let to = {
                let mut u = attempt.url().clone();
                u.set_query(None);
                u.to_string()
            };
            attempt.error(format!(
                "the KFP API redirected to another origin ({}), not followed: credentials \
                 stay with --host; give the address that answers directly",
                crate::error::printable(&to)
            ))
        } else {
            attempt.follow()
        }
    })
}

fn http_client(connect: Duration, total: Duration) -> Result<Client> {
    Client::builder()
        .redirect(same_origin_redirects())
        .connect_timeout(connect)
        .timeout(total)
        .user_agent(crate::version::USER_AGENT)
        .build()
        .map_err(|e| ClientError::BadArgument(format!("cannot set up HTTP: {e}")))
}

/// A `V2beta1Filter` on `display_name` EQUALS `name`, as kfp.Client sends it.
fn equals_filter(name: &str) -> String {
    json!({"predicates": [{"operation": "EQUALS", "key": "display_name", "stringValue": name}]})
        .to_string()
}
