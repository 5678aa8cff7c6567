//! What can go wrong talking to a KFP API, said so a user can act on it,
//! and how it leaves the library: as the crate's [`Error`] with a
//! [`Remedy`], so `submit` exits as every other command does.

use reqwest::StatusCode;
use serde_json::Value;

use crate::error::{Error, Remedy};

/// The command that makes a cluster's KFP API reachable from a workstation
/// (the UI's service, which also serves the API), at http://localhost:8080.
pub const PORT_FORWARD: &str = "kubectl port-forward -n kubeflow svc/ml-pipeline-ui 8080:80";

/// What went wrong talking to the KFP API, said so a user can act on it.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing listens at the host (or it is unreachable).
    #[error(
        "cannot reach the KFP API at {host}: {cause}. Is the port-forward running? \
             (e.g. `{PORT_FORWARD}`, then --host http://localhost:8080)"
    )]
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

impl ClientError {
    /// How a caller should treat it: a server that cannot be reached or
    /// answers 5xx may work later; a refused credential, a wrong host or a
    /// bad option will not. A run still going after `--timeout` is not
    /// retried either (submitting again would start a second run): the
    /// message gives its link.
    pub fn remedy(&self) -> Remedy {
        match self {
            ClientError::Connect { .. } => Remedy::RetryLater,
            ClientError::Timeout { .. } => Remedy::FixInput,
            ClientError::Rejected { status, .. }
                if status.is_server_error()
                    || *status == StatusCode::TOO_MANY_REQUESTS
                    || *status == StatusCode::REQUEST_TIMEOUT =>
            {
                Remedy::RetryLater
            }
            ClientError::Decode { .. } => Remedy::FixEnvironment,
            ClientError::Unauthorized { .. }
            | ClientError::NotFound { .. }
            | ClientError::Rejected { .. }
            | ClientError::BadArgument(_) => Remedy::FixInput,
        }
    }
}

impl From<ClientError> for Error {
    fn from(e: ClientError) -> Self {
        Error::Remote {
            remedy: e.remedy(),
            message: e.to_string(),
        }
    }
}

/// The server's message from an error body (grpc-gateway's
/// `{"error": ..., "message": ...}`, the upload handler's
/// `{"error_message": ..., "error_details": ...}`, or text): its first line
/// only, escaped. `error_details`, and whatever follows the first line of a
/// message, is a Go stack trace (`%+v`), never shown.
pub(super) fn server_message(text: &str) -> String {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        for key in ["error_message", "message", "error"] {
            if let Some(m) = v.get(key).and_then(Value::as_str).filter(|m| !m.is_empty()) {
                return first_line(m);
            }
        }
    }
    first_line(text)
}

/// The first line of a server's message, at most 300 characters, with
/// control characters escaped.
pub(super) fn first_line(text: &str) -> String {
    snippet(text.trim().lines().next().unwrap_or(""))
}

pub(super) fn snippet(text: &str) -> String {
    let t = text.trim();
    let mut s: String = t.chars().take(300).collect();
    if t.chars().count() > 300 {
        s.push_str("...");
    }
    crate::error::printable(&s)
}
