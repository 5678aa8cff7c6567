//! What `kfp.Client` does to submit a pipeline, over KFP's REST API
//! v2beta1: upload the package (or a new version of the pipeline of that
//! name), find or create the experiment, create the run, and follow it.
//!
//! Requests and responses follow the models of `kfp_server_api` 2.17
//! (`V2beta1Pipeline`, `V2beta1PipelineVersion`, `V2beta1Experiment`,
//! `V2beta1Run`, `V2beta1RuntimeState`); the upload is a multipart form with
//! the package in the field `uploadfile`, as `PipelineUploadServiceApi`
//! sends it. Credentials are found as kfp.Client finds them and are never
//! shown: errors name where a credential came from, not what it is.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};

/// The environment variable holding a token (as `--token`).
pub const TOKEN_ENV: &str = "KF_PIPELINES_TOKEN";
/// The environment variable naming the ServiceAccount token file (kfp.Client's).
pub const SA_TOKEN_PATH_ENV: &str = "KF_PIPELINES_SA_TOKEN_PATH";
/// Where kfp.Client looks for the projected ServiceAccount token in a pod.
pub const SA_TOKEN_PATH: &str = "/var/run/secrets/kubeflow/pipelines/token";
/// kfp.Client's default experiment.
pub const DEFAULT_EXPERIMENT: &str = "Default";

/// What went wrong talking to the KFP API, said so a user can act on it.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing listens at the host (or it is unreachable).
    #[error("cannot reach the KFP API at {host}: {cause}. Is the port-forward running? \
             (e.g. `kubectl port-forward -n kubeflow svc/ml-pipeline-ui 8080:80`, then --host http://localhost:8080)")]
    Connect {
        /// The --host given.
        host: String,
        /// The connection error.
        cause: String,
    },
    /// 401 or 403.
    #[error("{what}: the KFP API answered {status} with {credential}{server}. {advice}")]
    Unauthorized {
        /// The request.
        what: String,
        /// 401 Unauthorized or 403 Forbidden.
        status: StatusCode,
        /// Which credential was sent (where it came from, never its value).
        credential: String,
        /// The server's message, if any (`: ...`).
        server: String,
        /// How to get one that works.
        advice: &'static str,
    },
    /// 404 on an API path: the host is not the API root.
    #[error(
        "{what}: {url} answered 404 Not Found{server}. Is --host the pipelines API root \
             (the KFP UI's address, e.g. http://localhost:8080, without /pipeline or /apis)?"
    )]
    NotFound {
        /// The request.
        what: String,
        /// The URL asked (no credentials in it).
        url: String,
        /// The server's message, if any.
        server: String,
    },
    /// 400 and other refusals, with the server's own message.
    #[error("{what}: the KFP API answered {status}: {message}")]
    Rejected {
        /// The request.
        what: String,
        /// The status.
        status: StatusCode,
        /// The server's message.
        message: String,
    },
    /// An answer that is not what the API returns.
    #[error("{what}: unexpected answer from the KFP API: {cause}")]
    Decode {
        /// The request.
        what: String,
        /// What did not fit.
        cause: String,
    },
    /// `--wait` ran out of time.
    #[error(
        "run {run_id} did not finish within {seconds}s; its last state was {state} \
             (it goes on running: follow it at {link})"
    )]
    Timeout {
        /// The run.
        run_id: String,
        /// The wait allowed.
        seconds: u64,
        /// The run's last state seen.
        state: String,
        /// The run's UI link.
        link: String,
    },
    /// A bad option value.
    #[error("{0}")]
    BadArgument(String),
}

/// Result of the client's calls.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// Where the credential sent came from (said in errors; the value never is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// `--token`.
    Flag,
    /// `$KF_PIPELINES_TOKEN`.
    Env,
    /// The ServiceAccount token file.
    File(PathBuf),
}

/// How requests authenticate, as kfp.Client: a Bearer token (`--token`,
/// else `$KF_PIPELINES_TOKEN`, else the ServiceAccount token file when
/// present) and/or a session cookie (Dex/Istio).
#[derive(Clone, Default)]
pub struct Credentials {
    token: Option<(String, CredentialSource)>,
    cookie: Option<String>,
}

// Never print a credential, even in debug output.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({})", self.describe())
    }
}

impl Credentials {
    /// No credentials (a single-user deployment behind a port-forward).
    pub fn none() -> Self {
        Credentials::default()
    }

    /// Finds the token as kfp.Client does: `token` (from `--token`), else
    /// `$KF_PIPELINES_TOKEN`, else the file at `$KF_PIPELINES_SA_TOKEN_PATH`
    /// (default [`SA_TOKEN_PATH`]) when it exists; `cookie` as given.
    pub fn lookup(token: Option<String>, cookie: Option<String>) -> Result<Self> {
        let token = match token.filter(|t| !t.trim().is_empty()) {
            Some(t) => Some((t.trim().to_string(), CredentialSource::Flag)),
            None => match std::env::var(TOKEN_ENV)
                .ok()
                .filter(|t| !t.trim().is_empty())
            {
                Some(t) => Some((t.trim().to_string(), CredentialSource::Env)),
                None => {
                    let path = std::env::var_os(SA_TOKEN_PATH_ENV)
                        .map(PathBuf::from)
                        .unwrap_or_else(|| PathBuf::from(SA_TOKEN_PATH));
                    read_token_file(&path)?.map(|t| (t, CredentialSource::File(path.clone())))
                }
            },
        };
        let cookie = cookie.filter(|c| !c.trim().is_empty());
        for value in token.iter().map(|t| &t.0).chain(cookie.iter()) {
            if value.contains(['\r', '\n']) {
                return Err(ClientError::BadArgument(
                    "a credential holds a line break; pass the token or cookie alone".into(),
                ));
            }
        }
        Ok(Credentials { token, cookie })
    }

    /// Which credentials are sent, for messages (never their values).
    pub fn describe(&self) -> String {
        let token = self.token.as_ref().map(|(_, s)| match s {
            CredentialSource::Flag => "the Bearer token from --token".to_string(),
            CredentialSource::Env => format!("the Bearer token from ${TOKEN_ENV}"),
            CredentialSource::File(p) => {
                format!("the ServiceAccount token from {}", p.display())
            }
        });
        let cookie = self
            .cookie
            .as_ref()
            .map(|_| "the session cookie from --cookie".to_string());
        match (token, cookie) {
            (None, None) => "no credentials".into(),
            (Some(t), None) => t,
            (None, Some(c)) => c,
            (Some(t), Some(c)) => format!("{t} and {c}"),
        }
    }

    fn apply(&self, req: RequestBuilder) -> RequestBuilder {
        let mut req = req;
        if let Some((token, _)) = &self.token {
            req = req.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(cookie) = &self.cookie {
            req = req.header(COOKIE, cookie.as_str());
        }
        req
    }
}

fn read_token_file(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text.trim().to_string()).filter(|t| !t.is_empty())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ClientError::BadArgument(format!(
            "cannot read the ServiceAccount token {}: {e}",
            path.display()
        ))),
    }
}

const AUTH_ADVICE: &str = "Get a token with `kubectl create token default-editor -n NAMESPACE \
--audience pipelines.kubeflow.org` and pass it with --token or $KF_PIPELINES_TOKEN; behind \
Dex/Istio, pass the browser session's cookie instead (--cookie 'authservice_session=...'); in \
multi-user mode also give --namespace (your profile)";

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

    fn tasks(&self) -> impl Iterator<Item = &TaskDetail> {
        self.run_details.iter().flat_map(|d| d.task_details.iter())
    }
}

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
        let http = Client::builder()
            .connect_timeout(Duration::from_secs(20))
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("crypto-lab/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::BadArgument(format!("cannot set up HTTP: {e}")))?;
        Ok(KfpClient {
            http,
            host,
            credentials,
        })
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
        let resp = req.send().map_err(|e| {
            if e.is_connect() || e.is_timeout() {
                let cause = std::error::Error::source(&e)
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| e.to_string());
                ClientError::Connect {
                    host: self.host.clone(),
                    cause,
                }
            } else {
                ClientError::Decode {
                    what: what.into(),
                    cause: e.without_url().to_string(),
                }
            }
        })?;
        self.answer(what, resp)
    }

    fn answer(&self, what: &str, resp: Response) -> Result<Value> {
        let status = resp.status();
        let url = {
            let mut u = resp.url().clone();
            u.set_query(None);
            u.to_string()
        };
        let text = resp.text().unwrap_or_default();
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
        let (content_type, body) = multipart("uploadfile", file_name, package);
        let req = self
            .http
            .post(url)
            .query(query)
            .header(CONTENT_TYPE, content_type)
            .body(body);
        self.send(what, req)
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

    /// Polls the run every `poll` until it finishes, calling `on_change`
    /// for the run's and each task's state changes; at most `timeout`.
    pub fn wait(
        &self,
        run_id: &str,
        timeout: Option<Duration>,
        poll: Duration,
        on_change: &mut dyn FnMut(&StateChange),
    ) -> Result<Run> {
        let start = Instant::now();
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        let mut run_state = String::new();
        loop {
            let run = self.get_run(run_id)?;
            for t in run.tasks() {
                let name = if t.display_name.is_empty() {
                    t.task_id.clone()
                } else {
                    t.display_name.clone()
                };
                let state = t.state.clone().unwrap_or_else(|| "PENDING".into());
                if seen.get(&name) != Some(&state) {
                    seen.insert(name.clone(), state.clone());
                    on_change(&StateChange::Task { name, state });
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
            if let Some(limit) = timeout {
                if start.elapsed() + poll > limit {
                    return Err(ClientError::Timeout {
                        run_id: run_id.into(),
                        seconds: limit.as_secs(),
                        state: run_state,
                        link: self.run_link(run_id),
                    });
                }
            }
            std::thread::sleep(poll);
        }
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

/// A `V2beta1Filter` on `display_name` EQUALS `name`, as kfp.Client sends it.
fn equals_filter(name: &str) -> String {
    json!({"predicates": [{"operation": "EQUALS", "key": "display_name", "stringValue": name}]})
        .to_string()
}

/// A multipart/form-data body with one file field.
fn multipart(field: &str, file_name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let boundary = format!("crypto-lab-{nanos:x}");
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The server's message from an error body (grpc-gateway's
/// `{"error": ..., "message": ...}`, or text).
fn server_message(text: &str) -> String {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        for key in ["message", "error"] {
            if let Some(m) = v.get(key).and_then(Value::as_str).filter(|m| !m.is_empty()) {
                return m.to_string();
            }
        }
    }
    snippet(text)
}

fn snippet(text: &str) -> String {
    let t = text.trim();
    let mut s: String = t.chars().take(300).collect();
    if t.chars().count() > 300 {
        s.push_str("...");
    }
    s
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
            pipeline_name: super::PIPELINE_NAME.to_string(),
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
    pub fn for_export(export: &super::ExportOptions) -> Self {
        let (spec, _) = super::v2::pipeline(export);
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
        env!("CARGO_PKG_VERSION"),
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

    #[test]
    fn credentials_are_described_not_shown() {
        let c = Credentials {
            token: Some(("s3cr3t".into(), CredentialSource::Flag)),
            cookie: Some("authservice_session=abc".into()),
        };
        let text = format!("{} {c:?}", c.describe());
        assert!(!text.contains("s3cr3t") && !text.contains("abc"), "{text}");
        assert!(text.contains("--token") && text.contains("--cookie"));
    }

    #[test]
    fn multipart_names_the_field() {
        let (ct, body) = multipart("uploadfile", "pipeline.yaml", b"a: 1\n");
        let boundary = ct.split("boundary=").nth(1).expect("boundary");
        let text = String::from_utf8(body).expect("utf8");
        assert!(text.starts_with(&format!("--{boundary}\r\n")));
        assert!(text.contains("name=\"uploadfile\"; filename=\"pipeline.yaml\""));
        assert!(text.ends_with(&format!("\r\na: 1\n\r\n--{boundary}--\r\n")));
    }
}
