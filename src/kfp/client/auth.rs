//! How requests to a KFP API authenticate, found as kfp.Client finds it,
//! and never shown: messages name where a credential came from.

use std::path::{Path, PathBuf};

use reqwest::blocking::RequestBuilder;
use reqwest::header::{HeaderValue, AUTHORIZATION, COOKIE};

use super::error::{ClientError, Result};

/// The environment variable holding a token (as `--token`).
pub const TOKEN_ENV: &str = "KF_PIPELINES_TOKEN";
/// The environment variable holding a session cookie (as `--cookie`).
pub const COOKIE_ENV: &str = "KF_PIPELINES_COOKIE";
/// The environment variable naming the ServiceAccount token file (kfp.Client's).
pub const SA_TOKEN_PATH_ENV: &str = "KF_PIPELINES_SA_TOKEN_PATH";
/// Where kfp.Client looks for the projected ServiceAccount token in a pod.
pub const SA_TOKEN_PATH: &str = "/var/run/secrets/kubeflow/pipelines/token";
/// Where the credential sent came from (said in errors; the value never is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// `--token` (or `--cookie`).
    Flag,
    /// `$KF_PIPELINES_TOKEN` (or `$KF_PIPELINES_COOKIE`).
    Env,
    /// The ServiceAccount token file.
    File(PathBuf),
    /// `--token-file` (or `--cookie-file`).
    GivenFile(PathBuf),
}

/// A credential as the user gave it: on the command line (visible in the
/// process list) or in a file.
#[derive(Clone, PartialEq, Eq)]
pub enum Given {
    /// `--token VALUE` / `--cookie VALUE`.
    Value(String),
    /// `--token-file PATH` / `--cookie-file PATH`.
    File(PathBuf),
}

/// A flag's value (`--token VALUE`), as clap parses it.
impl std::str::FromStr for Given {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Ok(Given::Value(s.to_string()))
    }
}

// Never print a credential, even in debug output.
impl std::fmt::Debug for Given {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Given::Value(_) => f.write_str("Value(<hidden>)"),
            Given::File(p) => f.debug_tuple("File").field(p).finish(),
        }
    }
}

/// How requests authenticate, as kfp.Client: a Bearer token (`--token`,
/// else `$KF_PIPELINES_TOKEN`, else the ServiceAccount token file when
/// present) and/or a session cookie (Dex/Istio).
#[derive(Clone, Default)]
pub struct Credentials {
    token: Option<(String, CredentialSource)>,
    cookie: Option<(String, CredentialSource)>,
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
        Self::lookup_given(token.map(Given::Value), cookie.map(Given::Value))
    }

    /// [`Credentials::lookup`] with each credential as given: a value
    /// (`--token`, `--cookie`) or a file (`--token-file`, `--cookie-file`,
    /// read whole, trimmed); the cookie otherwise from
    /// `$KF_PIPELINES_COOKIE`.
    pub fn lookup_given(token: Option<Given>, cookie: Option<Given>) -> Result<Self> {
        let given = |g: Option<Given>, flag: &str| -> Result<Option<(String, CredentialSource)>> {
            Ok(match g {
                Some(Given::Value(v)) => Some((v.trim().to_string(), CredentialSource::Flag)),
                Some(Given::File(p)) => match read_token_file(&p)? {
                    Some(v) => Some((v, CredentialSource::GivenFile(p))),
                    None => {
                        return Err(ClientError::BadArgument(format!(
                            "{flag} {}: no such file, or empty",
                            p.display()
                        )))
                    }
                },
                None => None,
            }
            .filter(|(v, _)| !v.is_empty()))
        };
        let token = given(token, "--token-file")?;
        let cookie = given(cookie, "--cookie-file")?.or_else(|| {
            std::env::var(COOKIE_ENV)
                .ok()
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .map(|c| (c, CredentialSource::Env))
        });
        let token = match token {
            Some(t) => Some(t),
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
        for value in token
            .iter()
            .map(|t| &t.0)
            .chain(cookie.iter().map(|c| &c.0))
        {
            if value.contains(['\r', '\n']) || HeaderValue::from_str(value).is_err() {
                return Err(ClientError::BadArgument(
                    "a credential holds a line break or a character no HTTP header may carry; \
                     pass the token or cookie alone"
                        .into(),
                ));
            }
        }
        Ok(Credentials { token, cookie })
    }

    /// Whether any credential is sent.
    pub fn any(&self) -> bool {
        self.token.is_some() || self.cookie.is_some()
    }

    /// Which credentials are sent, for messages (never their values).
    pub fn describe(&self) -> String {
        let token = self.token.as_ref().map(|(_, s)| match s {
            CredentialSource::Flag => "the Bearer token from --token".to_string(),
            CredentialSource::Env => format!("the Bearer token from ${TOKEN_ENV}"),
            CredentialSource::File(p) => {
                format!("the ServiceAccount token from {}", p.display())
            }
            CredentialSource::GivenFile(p) => {
                format!("the Bearer token from --token-file {}", p.display())
            }
        });
        let cookie = self.cookie.as_ref().map(|(_, s)| match s {
            CredentialSource::Env => format!("the session cookie from ${COOKIE_ENV}"),
            CredentialSource::GivenFile(p) | CredentialSource::File(p) => {
                format!("the session cookie from --cookie-file {}", p.display())
            }
            CredentialSource::Flag => "the session cookie from --cookie".to_string(),
        });
        match (token, cookie) {
            (None, None) => "no credentials".into(),
            (Some(t), None) => t,
            (None, Some(c)) => c,
            (Some(t), Some(c)) => format!("{t} and {c}"),
        }
    }

    pub(super) fn apply(&self, req: RequestBuilder) -> RequestBuilder {
        // Sensitive: kept out of reqwest's and hyper's debug output.
        let sensitive = |v: &str| {
            HeaderValue::from_str(v).map(|mut h| {
                h.set_sensitive(true);
                h
            })
        };
        let mut req = req;
        if let Some((token, _)) = &self.token {
            if let Ok(v) = sensitive(&format!("Bearer {token}")) {
                req = req.header(AUTHORIZATION, v);
            }
        }
        if let Some((cookie, _)) = &self.cookie {
            if let Ok(v) = sensitive(cookie) {
                req = req.header(COOKIE, v);
            }
        }
        req
    }
}

fn read_token_file(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text.trim().to_string()).filter(|t| !t.is_empty())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ClientError::BadArgument(format!(
            "cannot read the credential file {}: {e}",
            path.display()
        ))),
    }
}

pub(super) const AUTH_ADVICE: &str =
    "Get a token with `kubectl create token default-editor -n NAMESPACE \
--audience pipelines.kubeflow.org` and pass it with --token or $KF_PIPELINES_TOKEN; behind \
Dex/Istio, pass the browser session's cookie instead (--cookie 'authservice_session=...'); in \
multi-user mode also give --namespace (your profile)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_described_not_shown() {
        let c = Credentials {
            token: Some(("s3cr3t".into(), CredentialSource::Flag)),
            cookie: Some(("authservice_session=abc".into(), CredentialSource::Flag)),
        };
        let text = format!("{} {c:?}", c.describe());
        assert!(!text.contains("s3cr3t") && !text.contains("abc"), "{text}");
        assert!(text.contains("--token") && text.contains("--cookie"));
    }
}
