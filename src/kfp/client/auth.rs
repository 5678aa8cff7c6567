//! How requests to a KFP API authenticate, found as kfp.Client finds it,
//! and never shown: messages name where a credential came from.

use std::path::{Path, PathBuf};

use reqwest::blocking::RequestBuilder;
use reqwest::header::{AUTHORIZATION, COOKIE};

use super::error::{ClientError, Result};

/// The environment variable holding a token (as `--token`).
pub const TOKEN_ENV: &str = "KF_PIPELINES_TOKEN";
/// The environment variable naming the ServiceAccount token file (kfp.Client's).
pub const SA_TOKEN_PATH_ENV: &str = "KF_PIPELINES_SA_TOKEN_PATH";
/// Where kfp.Client looks for the projected ServiceAccount token in a pod.
pub const SA_TOKEN_PATH: &str = "/var/run/secrets/kubeflow/pipelines/token";
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

    pub(super) fn apply(&self, req: RequestBuilder) -> RequestBuilder {
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
            cookie: Some("authservice_session=abc".into()),
        };
        let text = format!("{} {c:?}", c.describe());
        assert!(!text.contains("s3cr3t") && !text.contains("abc"), "{text}");
        assert!(text.contains("--token") && text.contains("--cookie"));
    }
}
