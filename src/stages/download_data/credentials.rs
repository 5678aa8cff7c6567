//! Finding Kaggle credentials the way the kaggle CLI does, and more, without
//! ever printing, logging or writing them.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use reqwest::blocking::RequestBuilder;

use crate::error::{Error, Result};

/// How requests to the Kaggle API authenticate.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// HTTP Basic with a username and API key.
    Basic {
        /// Kaggle username.
        username: String,
        /// API key (secret).
        key: String,
    },
    /// An API token sent as `Authorization: Bearer`.
    Bearer(String),
}

impl Auth {
    /// `req` with this authentication: the one place a Kaggle credential is
    /// put on a request (the download, doctor's rules check).
    pub fn apply(&self, req: RequestBuilder) -> RequestBuilder {
        match self {
            Auth::Basic { username, key } => req.basic_auth(username, Some(key)),
            Auth::Bearer(token) => req.bearer_auth(token),
        }
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Basic { username, .. } => write!(f, "Basic(user {username}, key hidden)"),
            Auth::Bearer(_) => write!(f, "Bearer(token hidden)"),
        }
    }
}

/// Kaggle credentials and where they were found (for messages; never the values).
#[derive(Clone, PartialEq, Eq)]
pub struct KaggleCredentials {
    /// The secret part.
    pub auth: Auth,
    /// Where they came from, e.g. `KAGGLE_USERNAME + KAGGLE_KEY`.
    pub origin: String,
}

impl fmt::Debug for KaggleCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "KaggleCredentials {{ {:?}, from {} }}",
            self.auth, self.origin
        )
    }
}

/// Where to look, in order; the CLI fills it from the process environment,
/// tests from explicit values.
#[derive(Clone, Default)]
pub struct Lookup {
    /// Environment variables (only the KAGGLE_* ones are read).
    pub env: HashMap<String, String>,
    /// The user's home folder.
    pub home: Option<PathBuf>,
    /// A mounted Kubernetes secret folder (`--secret-dir`).
    pub secret_dir: Option<PathBuf>,
}

/// The variables' names only: their values hold the key, and a notebook
/// cell that ends in a value holding a `Lookup` (`DownloadOptions`) prints
/// its Debug form into the saved notebook.
impl fmt::Debug for Lookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.env.keys().collect();
        names.sort();
        f.debug_struct("Lookup")
            .field("env (values hidden)", &names)
            .field("home", &self.home)
            .field("secret_dir", &self.secret_dir)
            .finish()
    }
}

impl Lookup {
    /// From this process's environment and home folder.
    pub fn from_process(secret_dir: Option<PathBuf>) -> Self {
        Lookup {
            env: std::env::vars()
                .filter(|(k, _)| k.starts_with("KAGGLE_"))
                .collect(),
            home: std::env::var_os("HOME").map(PathBuf::from),
            secret_dir,
        }
    }

    fn var(&self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }

    fn kaggle_json_paths(&self) -> Vec<PathBuf> {
        let mut paths = Vec::new();
        if let Some(dir) = self.var("KAGGLE_CONFIG_DIR") {
            paths.push(Path::new(dir).join("kaggle.json"));
        }
        if let Some(home) = &self.home {
            paths.push(home.join(".kaggle/kaggle.json"));
            paths.push(home.join(".config/kaggle/kaggle.json"));
        }
        paths
    }
}

/// What was found besides the credentials: warnings to show the user.
#[derive(Debug, Default)]
pub struct Found {
    /// The credentials, if any source had them.
    pub credentials: Option<KaggleCredentials>,
    /// Warnings (e.g. a kaggle.json readable by others).
    pub warnings: Vec<String>,
    /// Every place looked, in order.
    pub looked: Vec<String>,
}

fn read_secret(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, "cannot read credentials", e)),
    }
}

#[cfg(unix)]
fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o077 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn readable_by_others(_: &Path) -> bool {
    false
}

/// Looks for credentials, first found wins:
/// 1. `KAGGLE_API_TOKEN` (the token, or the path of a file holding it),
/// 2. `KAGGLE_USERNAME` + `KAGGLE_KEY`,
/// 3. the secret folder's `username` and `key` (or the lab's `password`),
/// 4. `$KAGGLE_CONFIG_DIR/kaggle.json`, `~/.kaggle/kaggle.json`,
///    `~/.config/kaggle/kaggle.json`.
pub fn find(lookup: &Lookup) -> Result<Found> {
    let mut found = Found::default();
    found.looked.push("KAGGLE_API_TOKEN".into());
    if let Some(token) = lookup.var("KAGGLE_API_TOKEN") {
        let path = Path::new(token);
        let (token, origin) = if path.is_file() {
            let t = read_secret(path)?.ok_or_else(|| {
                Error::bad_input(path, "KAGGLE_API_TOKEN names this file, but it is empty")
            })?;
            (t, format!("KAGGLE_API_TOKEN file {}", path.display()))
        } else {
            (token.to_string(), "KAGGLE_API_TOKEN".to_string())
        };
        found.credentials = Some(KaggleCredentials {
            auth: Auth::Bearer(token),
            origin,
        });
        return Ok(found);
    }
    found.looked.push("KAGGLE_USERNAME + KAGGLE_KEY".into());
    if let (Some(u), Some(k)) = (lookup.var("KAGGLE_USERNAME"), lookup.var("KAGGLE_KEY")) {
        found.credentials = Some(KaggleCredentials {
            auth: Auth::Basic {
                username: u.to_string(),
                key: k.to_string(),
            },
            origin: "KAGGLE_USERNAME + KAGGLE_KEY".into(),
        });
        return Ok(found);
    }
    if let Some(dir) = &lookup.secret_dir {
        found
            .looked
            .push(format!("{}/username + key (or password)", dir.display()));
        let user = read_secret(&dir.join("username"))?;
        let key = match read_secret(&dir.join("key"))? {
            Some(k) => Some(k),
            None => read_secret(&dir.join("password"))?,
        };
        if let (Some(username), Some(key)) = (user, key) {
            found.credentials = Some(KaggleCredentials {
                auth: Auth::Basic { username, key },
                origin: format!("secret folder {}", dir.display()),
            });
            return Ok(found);
        }
    }
    for path in lookup.kaggle_json_paths() {
        found.looked.push(path.display().to_string());
        let Some(text) = read_secret(&path)? else {
            continue;
        };
        let doc: serde_json::Value = serde_json::from_str(&text).map_err(|_| {
            Error::bad_input(
                &path,
                "not valid JSON; expected {\"username\": ..., \"key\": ...}",
            )
        })?;
        let field = |name: &str| {
            doc.get(name)
                .and_then(|v| v.as_str())
                .map(str::to_string)
                .filter(|s| !s.is_empty())
        };
        let (Some(username), Some(key)) = (field("username"), field("key")) else {
            return Err(Error::bad_input(
                &path,
                "expected the fields \"username\" and \"key\" (download a new token from your Kaggle account page)",
            ));
        };
        if readable_by_others(&path) {
            found.warnings.push(format!(
                "Your Kaggle API key is readable by other users on this system! To fix this, run: chmod 600 {}",
                path.display()
            ));
        }
        found.credentials = Some(KaggleCredentials {
            auth: Auth::Basic { username, key },
            origin: path.display().to_string(),
        });
        return Ok(found);
    }
    Ok(found)
}

/// Like [`find`], but no credentials at all is an error that says where it
/// looked and how to make a token.
pub fn require(lookup: &Lookup) -> Result<(KaggleCredentials, Vec<String>)> {
    let found = find(lookup)?;
    match found.credentials {
        Some(c) => Ok((c, found.warnings)),
        None => Err(Error::BadArgument(format!(
            "no Kaggle credentials found; looked in: {}. To make one: sign in at https://www.kaggle.com, \
             open Settings > API > Create New Token, and save the kaggle.json it downloads as \
             ~/.kaggle/kaggle.json (chmod 600), or set KAGGLE_USERNAME and KAGGLE_KEY. \
             No account? `crypto-lab run` works offline on synthetic data",
            found.looked.join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::download_data::DownloadOptions;

    #[test]
    fn no_debug_form_shows_a_secret() {
        let lookup = Lookup {
            env: [
                ("KAGGLE_USERNAME", "someone-unique"),
                ("KAGGLE_KEY", "k3y-v4lue-0123456789"),
                ("KAGGLE_API_TOKEN", "t0ken-v4lue-abcdef"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            home: None,
            secret_dir: None,
        };
        let opts = DownloadOptions {
            lookup: lookup.clone(),
            ..DownloadOptions::default()
        };
        let creds = KaggleCredentials {
            auth: Auth::Basic {
                username: "someone-unique".into(),
                key: "k3y-v4lue-0123456789".into(),
            },
            origin: "KAGGLE_USERNAME + KAGGLE_KEY".into(),
        };
        for text in [
            format!("{lookup:?}"),
            format!("{lookup:#?}"),
            format!("{opts:?}"),
            format!("{opts:#?}"),
            format!("{creds:?}"),
            format!("{creds:#?}"),
        ] {
            assert!(!text.contains("k3y-v4lue"), "{text}");
            assert!(!text.contains("t0ken-v4lue"), "{text}");
        }
        assert!(format!("{lookup:?}").contains("KAGGLE_KEY"), "names stay");
    }
}
