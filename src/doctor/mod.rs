//! `crypto-lab doctor`: is this machine ready for the workshop?
//!
//! Every check only looks: it runs `--version`-style commands and
//! `jupyter kernelspec list`, reads files and folder listings, and sends at
//! most two HTTP GETs (Kaggle, a KFP host). It builds, installs and writes
//! nothing, so a student can run it any time and a teacher can ask everyone
//! to run it the day before.
//!
//! Each check returns a [`Check`]: a [`Status`], a short detail and, where
//! something is missing or worth fixing, the command that fixes it. The
//! machine is ready ([`Report::ready`]) when no check is
//! [`Status::Missing`]: build tools, Jupyter with the Rust kernel and a
//! font are needed for the notebook; Kaggle, free disk for the full data and
//! a cold kernel build only warn, since the workshop runs offline on
//! synthetic data and a cold build only makes the first cell slow. A KFP host
//! is checked only when one is given, and then must answer.

//!
//! The checks live by what they look at: `toolchain` (Rust, C/C++,
//! libclang, CMake, linker, build settings), `notebook` (Jupyter, the
//! Rust kernel, its warm build, a font), `remote` (Kaggle, a KFP host,
//! with the download's and the KFP client's own requests), `disk`; and
//! `probe` runs the tools they ask.

pub(crate) mod disk;
pub(crate) mod notebook;
pub(crate) mod probe;
pub(crate) mod remote;
pub(crate) mod toolchain;

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::stages::download_data::{DEFAULT_DATASET, DEFAULT_KAGGLE_API};
use probe::is_executable;

use disk::disk;
pub use notebook::WARM_RLIBS;
use notebook::{font, jupyter, kernel_build, rust_kernel};
use remote::{kaggle, kfp_host};
use toolchain::{build_env, c_compilers, cmake, libclang, linker, rust};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Works.
    Ok,
    /// Works, but something is slow, optional or could not be checked.
    Warn,
    /// The workshop path does not work until this is fixed.
    Missing,
}

impl Status {
    /// The word printed for the status.
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Missing => "missing",
        }
    }
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked, e.g. `cmake`.
    pub name: &'static str,
    /// How it came out.
    pub status: Status,
    /// A short explanation (versions, paths, what is wrong). Never a secret.
    pub detail: String,
    /// The command (or step) that fixes it, when not ok.
    pub fix: Option<String>,
}

impl Check {
    fn ok(name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    fn warn(name: &'static str, detail: impl Into<String>, fix: Option<String>) -> Check {
        Check {
            name,
            status: Status::Warn,
            detail: detail.into(),
            fix,
        }
    }

    fn missing(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Missing,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// All checks, in the order they are printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The outcomes.
    pub checks: Vec<Check>,
}

impl Report {
    /// Whether the workshop path works: nothing is [`Status::Missing`].
    pub fn ready(&self) -> bool {
        self.checks.iter().all(|c| c.status != Status::Missing)
    }

    /// The names of the missing pieces.
    pub fn missing(&self) -> Vec<&'static str> {
        self.checks
            .iter()
            .filter(|c| c.status == Status::Missing)
            .map(|c| c.name)
            .collect()
    }
}

/// The environment the checks see: the CLI takes the process's, tests and
/// callers may build their own.
#[derive(Clone, Default)]
pub struct Env {
    /// Environment variables (PATH among them).
    pub vars: HashMap<String, String>,
}

// The environment holds KAGGLE_KEY and KF_PIPELINES_TOKEN: a Debug print
// (a notebook cell ending in `env`) names the variables, never a value.
impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.vars.keys().collect();
        names.sort();
        f.debug_struct("Env")
            .field("vars (values hidden)", &names)
            .finish()
    }
}

impl Env {
    /// This process's environment (variables that are not UTF-8 are left
    /// out; none of the ones read here may be).
    pub fn from_process() -> Env {
        Env {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// A variable's value, unset and empty alike as `None`.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The executable `name` as the shell would find it on PATH.
    pub fn find_tool(&self, name: &str) -> Option<PathBuf> {
        let path = OsString::from(self.vars.get("PATH")?);
        std::env::split_paths(&path)
            .filter(|dir| !dir.as_os_str().is_empty())
            .map(|dir| dir.join(name))
            .find(|p| is_executable(p))
    }

    /// The user's home folder.
    pub fn home(&self) -> Option<PathBuf> {
        self.var("HOME").map(PathBuf::from)
    }
}

/// What to check and where.
#[derive(Debug, Clone)]
pub struct DoctorOptions {
    /// The crypto-lab checkout (holds .cargo/config.toml, notebooks/ and
    /// target/).
    pub project: PathBuf,
    /// Where the lab's data would go (--data-path).
    pub data_path: PathBuf,
    /// Kaggle's API root.
    pub kaggle_api: String,
    /// The competition.
    pub dataset: String,
    /// A mounted secret folder with Kaggle credentials (--secret-dir).
    pub secret_dir: Option<PathBuf>,
    /// A KFP host to reach, e.g. `http://localhost:8080`.
    pub kfp_host: Option<String>,
    /// Limit of each HTTP request.
    pub timeout: Duration,
    /// The environment seen by the checks.
    pub env: Env,
}

impl Default for DoctorOptions {
    fn default() -> Self {
        DoctorOptions {
            project: PathBuf::from("."),
            data_path: PathBuf::from("data"),
            kaggle_api: DEFAULT_KAGGLE_API.to_string(),
            dataset: DEFAULT_DATASET.to_string(),
            secret_dir: None,
            kfp_host: None,
            timeout: Duration::from_secs(5),
            env: Env::default(),
        }
    }
}

/// The checkout that holds `start`: the nearest folder from `start` up with
/// notebooks/evcxr.toml, so `crypto-lab doctor` works from any subfolder.
pub fn find_project(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join("notebooks/evcxr.toml").is_file())
        .map(Path::to_path_buf)
}

/// Runs every check; the network checks run beside the local ones so the
/// whole takes about as long as the slowest (a few seconds).
pub fn run(opts: &DoctorOptions) -> Report {
    std::thread::scope(|scope| {
        let kaggle = scope.spawn(|| kaggle(opts));
        let kfp = opts
            .kfp_host
            .as_deref()
            .map(|host| scope.spawn(move || kfp_host(host, opts.timeout)));
        let env = &opts.env;
        let rust = rust(env);
        let mut checks = vec![
            rust.check,
            c_compilers(env),
            libclang(env),
            cmake(env),
            jupyter(env),
            rust_kernel(env),
            kernel_build(&opts.project, rust.host.as_deref()),
            linker(env),
            build_env(env),
            font(env),
        ];
        checks.extend(
            kaggle
                .join()
                .unwrap_or_else(|_| vec![Check::warn("kaggle", "the check itself failed", None)]),
        );
        checks.push(disk(&opts.data_path));
        if let Some(handle) = kfp {
            checks.push(
                handle
                    .join()
                    .unwrap_or_else(|_| Check::warn("kfp", "the check itself failed", None)),
            );
        }
        Report { checks }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_without_missing() {
        let mut report = Report {
            checks: vec![
                Check::ok("a", "fine"),
                Check::warn("b", "slow", Some("cargo build".into())),
            ],
        };
        assert!(report.ready());
        report.checks.push(Check::missing("c", "gone", "install c"));
        assert!(!report.ready());
        assert_eq!(report.missing(), vec!["c"]);
    }
}
