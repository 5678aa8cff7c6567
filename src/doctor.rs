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

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::blocking::Client;

use crate::credentials::{self, Auth, Lookup};
use crate::plots;
use crate::stages::download_data::{DEFAULT_DATASET, DEFAULT_KAGGLE_API};

/// The oldest cargo that reads `build.target = "host-tuple"` in
/// .cargo/config.toml: the value was added in cargo 1.91 (rust-lang/cargo
/// #15838, first spelled `host`, renamed `host-tuple` by #16003 and
/// backported to the 1.91 beta in #16032). Older cargo rejects the config.
pub const MIN_CARGO: (u32, u32) = (1, 91);

/// The oldest CMake that configures LightGBM 4.7 (its CMakeLists asks for
/// 3.28; Debian 12 ships 3.25).
pub const MIN_CMAKE: (u32, u32) = (3, 28);

/// Bytes a full-size run leaves in --data-path with every artifact
/// (synthetic data of Kaggle's size, `run`, `plot`): the free-disk check
/// warns below it. Measured, with the command, in the README's Workshop
/// section; a Kaggle download also keeps its archive beside it.
pub const FULL_RUN_BYTES: u64 = 8_740_622_923;

/// Bytes the default run (`crypto-lab run` on its synthetic data) leaves in
/// --data-path, measured the same way (README, Workshop).
pub const SMALL_RUN_BYTES: u64 = 1_508_387_027;

/// Dependencies whose compiled form (`lib<name>-<hash>.rlib` in
/// target/<host>/debug/deps) makes the notebook kernel's first cell short:
/// the largest crates to compile, polars and LightGBM's C++ above all.
pub const WARM_RLIBS: [&str; 8] = [
    "polars_core",
    "polars_io",
    "polars_parquet",
    "polars_arrow",
    "lightgbm3_sys",
    "lightgbm3",
    "plotters",
    "reqwest",
];

/// Environment variables that change how `cargo build` compiles or where
/// it writes, while the kernel (notebooks/evcxr.toml) sets its own: with
/// any of them set, the two disagree and the kernel compiles everything.
pub const BUILD_ENV_VARS: [&str; 6] = [
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_BUILD_TARGET",
];

/// The command that installs what a fresh Debian machine lacks to build.
const SETUP_BUILD: &str = "bash .ci/setup --build-only";
/// How long a `--version` or `jupyter kernelspec` may take.
const TOOL_TIMEOUT: Duration = Duration::from_secs(15);

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
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// Environment variables (PATH among them).
    pub vars: HashMap<String, String>,
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

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// What to check and where.
#[derive(Debug, Clone)]
pub struct Options {
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

impl Default for Options {
    fn default() -> Self {
        Options {
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
pub fn run(opts: &Options) -> Report {
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

/// A finished tool run.
struct ToolOutput {
    success: bool,
    stdout: String,
}

/// Runs `program args` with no input, its standard output captured, for at
/// most [`TOOL_TIMEOUT`] (a hung tool must not hang the doctor).
fn run_tool(program: &Path, args: &[&str]) -> Option<ToolOutput> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdout = child.stdout.take()?;
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + TOOL_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let stdout = reader.join().unwrap_or_default();
    Some(ToolOutput {
        success: status.is_some_and(|s| s.success()),
        stdout,
    })
}

/// `major.minor[.patch]` at the start of `text` (`1.95.0`, `3.28.1-rc1`,
/// `1.93.0-nightly`).
pub fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    let core = text.split(['-', '+', ' ']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u32>());
    let major = parts.next()?.ok()?;
    let minor = parts.next()?.ok()?;
    let patch = parts.next().and_then(|p| p.ok()).unwrap_or(0);
    Some((major, minor, patch))
}

/// The version a `--version` line gives after its program name: `cargo
/// 1.95.0 (...)` or `cmake version 3.28.1`.
fn version_in(line: &str) -> Option<(u32, u32, u32)> {
    line.split_whitespace().find_map(parse_version)
}

fn show_version(v: (u32, u32, u32)) -> String {
    format!("{}.{}.{}", v.0, v.1, v.2)
}

/// The Rust check and, from `rustc -vV`, the host triple (where cargo puts
/// the compiled dependencies, target/<host>/debug/deps).
pub struct RustCheck {
    /// The check.
    pub check: Check,
    /// The host triple, when rustc answered.
    pub host: Option<String>,
}

/// cargo and rustc on PATH, cargo new enough for .cargo/config.toml.
pub fn rust(env: &Env) -> RustCheck {
    const NAME: &str = "rust";
    const INSTALL: &str =
        "curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y && . \"$HOME/.cargo/env\"";
    let (Some(cargo), Some(rustc)) = (env.find_tool("cargo"), env.find_tool("rustc")) else {
        let which = match (env.find_tool("cargo"), env.find_tool("rustc")) {
            (None, None) => "cargo and rustc are",
            (None, _) => "cargo is",
            _ => "rustc is",
        };
        return RustCheck {
            check: Check::missing(NAME, format!("{which} not on PATH"), INSTALL),
            host: None,
        };
    };
    let cargo_line = run_tool(&cargo, &["--version"])
        .filter(|o| o.success)
        .map(|o| o.stdout.lines().next().unwrap_or("").trim().to_string());
    let rustc_out = run_tool(&rustc, &["-vV"]).filter(|o| o.success);
    let host = rustc_out.as_ref().and_then(|o| {
        o.stdout
            .lines()
            .find_map(|l| l.strip_prefix("host:"))
            .map(|h| h.trim().to_string())
    });
    let rustc_version = rustc_out.as_ref().and_then(|o| {
        o.stdout
            .lines()
            .find_map(|l| l.strip_prefix("release:"))
            .and_then(|v| parse_version(v.trim()))
    });
    let check = match (cargo_line.as_deref().and_then(version_in), rustc_version) {
        (None, _) => Check::missing(
            NAME,
            format!("`{} --version` gave no version", cargo.display()),
            "rustup update stable",
        ),
        (_, None) => Check::missing(
            NAME,
            format!("`{} -vV` gave no version", rustc.display()),
            "rustup update stable",
        ),
        (Some(v), Some(_)) if (v.0, v.1) < MIN_CARGO => Check::missing(
            NAME,
            format!(
                "cargo {} is older than {}.{}, which .cargo/config.toml needs (build.target = \"host-tuple\")",
                show_version(v),
                MIN_CARGO.0,
                MIN_CARGO.1
            ),
            "rustup update stable",
        ),
        (Some(v), Some(r)) => Check::ok(
            NAME,
            format!(
                "cargo {}, rustc {}, host {}",
                show_version(v),
                show_version(r),
                host.as_deref().unwrap_or("unknown")
            ),
        ),
    };
    RustCheck { check, host }
}

/// A C and a C++ compiler (LightGBM's C++ through CMake, the C parts of
/// some dependencies through the `cc` crate).
pub fn c_compilers(env: &Env) -> Check {
    const NAME: &str = "c/c++ compiler";
    let first = |names: &[&str]| names.iter().find_map(|n| env.find_tool(n));
    let cxx = first(&["g++", "c++", "clang++"]);
    let cc = first(&["cc", "gcc", "clang"]);
    match (cc, cxx) {
        (Some(cc), Some(cxx)) => Check::ok(NAME, format!("{}, {}", cc.display(), cxx.display())),
        (cc, cxx) => {
            let mut lacking = Vec::new();
            if cc.is_none() {
                lacking.push("a C compiler (cc, gcc or clang)");
            }
            if cxx.is_none() {
                lacking.push("a C++ compiler (g++, c++ or clang++)");
            }
            Check::missing(
                NAME,
                format!("no {} on PATH", lacking.join(" and no ")),
                SETUP_BUILD,
            )
        }
    }
}

/// Folders where distributions install libclang, searched after
/// `$LIBCLANG_PATH` as bindgen's clang-sys does.
const LIBCLANG_DIRS: [&str; 7] = [
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
    "/usr/local/lib",
    "/usr/local/opt/llvm/lib",
    "/Library/Developer/CommandLineTools/usr/lib",
];

fn libclang_in(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir).ok()?.flatten().find_map(|entry| {
        let name = entry.file_name();
        let name = name.to_str()?;
        let lib = name.starts_with("libclang")
            && !name.starts_with("libclang-cpp")
            && !name.starts_with("libclang_rt")
            && (name.contains(".so") || name.ends_with(".dylib"));
        // libclang.so, libclang.so.1, libclang-14.so.1; not the libclangAST.a family.
        let plain = name.starts_with("libclang.") || name.starts_with("libclang-");
        (lib && plain).then(|| entry.path())
    })
}

fn find_libclang(env: &Env) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = env
        .var("LIBCLANG_PATH")
        .map(|p| std::env::split_paths(p).collect())
        .unwrap_or_default();
    // Debian and Ubuntu keep each LLVM under /usr/lib/llvm-<N>/lib; newest first.
    let mut llvm: Vec<PathBuf> = std::fs::read_dir("/usr/lib")
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("llvm-"))
                })
                .map(|p| p.join("lib"))
                .collect()
        })
        .unwrap_or_default();
    llvm.sort_by_key(|p| {
        std::cmp::Reverse(
            p.parent()
                .and_then(|d| d.file_name())
                .and_then(|n| n.to_str())
                .and_then(|n| n.trim_start_matches("llvm-").parse::<u32>().ok()),
        )
    });
    dirs.extend(llvm);
    dirs.extend(LIBCLANG_DIRS.iter().map(PathBuf::from));
    dirs.iter().find_map(|d| libclang_in(d))
}

/// clang and libclang: lightgbm3-sys generates its Rust bindings with
/// bindgen, which loads libclang and asks clang for the system headers.
pub fn libclang(env: &Env) -> Check {
    const NAME: &str = "clang/libclang";
    let clang = env.find_tool("clang");
    let lib = find_libclang(env);
    match (clang, lib) {
        (Some(clang), Some(lib)) => {
            Check::ok(NAME, format!("{}, {}", clang.display(), lib.display()))
        }
        (None, Some(_)) => Check::missing(NAME, "clang is not on PATH", SETUP_BUILD),
        (_, None) => Check::missing(
            NAME,
            "no libclang found ($LIBCLANG_PATH, /usr/lib/llvm-*/lib, /usr/lib, ...)",
            SETUP_BUILD,
        ),
    }
}

/// CMake new enough for LightGBM 4.7.
pub fn cmake(env: &Env) -> Check {
    const NAME: &str = "cmake";
    let Some(cmake) = env.find_tool("cmake") else {
        return Check::missing(NAME, "not on PATH", SETUP_BUILD);
    };
    let version = run_tool(&cmake, &["--version"])
        .filter(|o| o.success)
        .and_then(|o| o.stdout.lines().next().and_then(version_in));
    match version {
        None => Check::missing(
            NAME,
            format!("`{} --version` gave no version", cmake.display()),
            SETUP_BUILD,
        ),
        Some(v) if (v.0, v.1) < MIN_CMAKE => Check::missing(
            NAME,
            format!(
                "{} is {}, LightGBM 4.7 needs {}.{} or newer",
                cmake.display(),
                show_version(v),
                MIN_CMAKE.0,
                MIN_CMAKE.1
            ),
            SETUP_BUILD,
        ),
        Some(v) => Check::ok(NAME, format!("{} {}", cmake.display(), show_version(v))),
    }
}

/// Where `.ci/setup` puts the notebook's tools.
fn setup_cache(env: &Env) -> Option<PathBuf> {
    env.var("CRYPTO_LAB_CACHE")
        .map(PathBuf::from)
        .or_else(|| env.home().map(|h| h.join(".cache/crypto-lab")))
}

/// The fix when a notebook tool is not on PATH: `.ci/setup` when it was
/// never run, just the PATH line when it was.
fn notebook_tools_fix(env: &Env, tool: &str) -> String {
    let export =
        "export PATH=\"$HOME/.cache/crypto-lab/tools/bin:$HOME/.cache/crypto-lab/venv-jupyter/bin:$PATH\"";
    let installed = setup_cache(env).is_some_and(|cache| {
        ["tools/bin", "venv-jupyter/bin"]
            .iter()
            .any(|d| is_executable(&cache.join(d).join(tool)))
    });
    if installed {
        export.to_string()
    } else {
        format!("bash .ci/setup && {export}")
    }
}

/// Jupyter on PATH, with a front end to open the notebook in.
pub fn jupyter(env: &Env) -> Check {
    const NAME: &str = "jupyter";
    let Some(jupyter) = env.find_tool("jupyter") else {
        return Check::missing(NAME, "not on PATH", notebook_tools_fix(env, "jupyter"));
    };
    // jupyter runs `jupyter-<sub>` from PATH or from its own folder.
    let beside = |sub: &str| {
        env.find_tool(sub).is_some()
            || jupyter
                .parent()
                .is_some_and(|d| is_executable(&d.join(sub)))
            || std::fs::canonicalize(&jupyter)
                .ok()
                .and_then(|p| p.parent().map(|d| is_executable(&d.join(sub))))
                .unwrap_or(false)
    };
    if beside("jupyter-lab") || beside("jupyter-notebook") {
        Check::ok(NAME, jupyter.display().to_string())
    } else if beside("jupyter-nbconvert") {
        Check::warn(
            NAME,
            format!(
                "{} can run the notebook headless (nbconvert) but has no JupyterLab or Notebook to open it",
                jupyter.display()
            ),
            Some("pip install jupyterlab".into()),
        )
    } else {
        Check::missing(
            NAME,
            format!(
                "{} has no JupyterLab, Notebook or nbconvert",
                jupyter.display()
            ),
            "pip install jupyterlab",
        )
    }
}

/// The Rust kernel: `jupyter kernelspec list --json` has a `rust` kernel
/// whose program exists, and evcxr_jupyter is on PATH.
pub fn rust_kernel(env: &Env) -> Check {
    const NAME: &str = "rust kernel";
    let evcxr = env.find_tool("evcxr_jupyter");
    let Some(jupyter) = env.find_tool("jupyter") else {
        return Check::missing(
            NAME,
            "not checked: jupyter is not on PATH",
            notebook_tools_fix(env, "jupyter"),
        );
    };
    let Some(out) = run_tool(&jupyter, &["kernelspec", "list", "--json"]).filter(|o| o.success)
    else {
        return Check::missing(
            NAME,
            format!("`{} kernelspec list --json` failed", jupyter.display()),
            notebook_tools_fix(env, "jupyter"),
        );
    };
    let specs: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_default();
    let install = match &evcxr {
        Some(_) => "evcxr_jupyter --install".to_string(),
        None => format!(
            "{} && evcxr_jupyter --install",
            notebook_tools_fix(env, "evcxr_jupyter")
        ),
    };
    let Some(rust) = specs.pointer("/kernelspecs/rust") else {
        return Check::missing(NAME, "Jupyter has no `rust` kernel", install);
    };
    // evcxr_jupyter --install writes its own absolute path into the spec.
    let program = rust
        .pointer("/spec/argv/0")
        .and_then(|v| v.as_str())
        .map(PathBuf::from);
    match (program, evcxr) {
        (Some(p), _) if p.is_absolute() && !is_executable(&p) => Check::missing(
            NAME,
            format!("the `rust` kernel runs {}, which is gone", p.display()),
            install,
        ),
        (_, None) => Check::missing(
            NAME,
            "the `rust` kernel is registered but evcxr_jupyter is not on PATH",
            notebook_tools_fix(env, "evcxr_jupyter"),
        ),
        (program, Some(evcxr)) => Check::ok(
            NAME,
            format!("`rust` kernel ({})", program.unwrap_or(evcxr).display()),
        ),
    }
}

/// Whether the kernel's first cell finds polars and LightGBM compiled: the
/// kernel builds into the checkout's target/ with `cargo build`'s settings
/// (notebooks/evcxr.toml, .cargo/config.toml), so their rlibs in
/// target/<host>/debug/deps are reused. `host` is rustc's host triple.
pub fn kernel_build(project: &Path, host: Option<&str>) -> Check {
    const NAME: &str = "kernel build";
    if !project.join("notebooks/evcxr.toml").is_file() {
        return Check::missing(
            NAME,
            format!(
                "{} is not a crypto-lab checkout (no notebooks/evcxr.toml)",
                project.display()
            ),
            "run `crypto-lab doctor` inside the checkout, or pass --project DIR",
        );
    }
    let config = std::fs::read_to_string(project.join(".cargo/config.toml")).unwrap_or_default();
    if !config.contains("\"host-tuple\"") {
        return Check::warn(
            NAME,
            "the checkout's .cargo/config.toml does not build for host-tuple, so the kernel and `cargo build` compile apart",
            Some("git pull".into()),
        );
    }
    let Some(host) = host else {
        return Check::warn(NAME, "not checked: rustc did not say its host triple", None);
    };
    let deps = project.join("target").join(host).join("debug/deps");
    let built: Vec<&str> = WARM_RLIBS
        .iter()
        .copied()
        .filter(|name| has_rlib(&deps, name))
        .collect();
    let cold = "cold: the first notebook cell will compile everything (~15 min on 2 cores)";
    if built.len() == WARM_RLIBS.len() {
        Check::ok(
            NAME,
            "warm: first cell about 1 min (polars and LightGBM are built)",
        )
    } else if built.is_empty() {
        Check::warn(
            NAME,
            format!("{cold}; nothing built in {}", deps.display()),
            Some("cargo build".into()),
        )
    } else {
        let lacking: Vec<&str> = WARM_RLIBS
            .iter()
            .copied()
            .filter(|n| !built.contains(n))
            .collect();
        Check::warn(
            NAME,
            format!(
                "partly built: the first cell compiles {} first",
                lacking.join(", ")
            ),
            Some("cargo build".into()),
        )
    }
}

fn has_rlib(deps: &Path, name: &str) -> bool {
    let prefix = format!("lib{name}-");
    std::fs::read_dir(deps).is_ok_and(|rd| {
        rd.flatten().any(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".rlib"))
        })
    })
}

/// mold on PATH: evcxr then links every cell with it (`mold -run cargo`),
/// which changes no compiler flag, so the shared build stays shared. Each
/// cell links all of polars and LightGBM into one shared object, which mold
/// does markedly faster than the system linker (figures in the README's
/// Workshop section).
pub fn linker(env: &Env) -> Check {
    const NAME: &str = "linker";
    match env.find_tool("mold") {
        Some(mold) => Check::ok(
            NAME,
            format!("{}: the kernel links each cell with mold", mold.display()),
        ),
        None => Check::warn(
            NAME,
            "no mold: the kernel links each cell with the system linker (on 2 cores the first cell took 48 s instead of 29 s)",
            Some(SETUP_BUILD.to_string()),
        ),
    }
}

/// Build settings in the environment that the kernel would not share.
pub fn build_env(env: &Env) -> Check {
    const NAME: &str = "build env";
    let set: Vec<&str> = BUILD_ENV_VARS
        .iter()
        .copied()
        .filter(|v| env.var(v).is_some())
        .collect();
    if set.is_empty() {
        Check::ok(NAME, "no RUSTFLAGS or CARGO_TARGET_DIR overrides")
    } else {
        Check::warn(
            NAME,
            format!(
                "{} set: `cargo build` then compiles differently (or elsewhere) than the notebook kernel, which would rebuild everything",
                set.join(", ")
            ),
            Some(format!("unset {}", set.join(" "))),
        )
    }
}

/// A TrueType font for chart text, found as the charts find it.
pub fn font(env: &Env) -> Check {
    const NAME: &str = "font";
    let candidates = plots::font_candidates(
        env.var(plots::FONT_ENV),
        env.vars.get(plots::FONT_SEARCH_ENV).map(String::as_str),
    );
    match plots::find_font_in(&candidates) {
        Some(path) => Check::ok(NAME, path.display().to_string()),
        None => Check::missing(
            NAME,
            format!(
                "no TrueType font for chart text (looked at {})",
                if candidates.is_empty() {
                    "nothing: the font list is empty".to_string()
                } else {
                    candidates
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
            format!(
                "sudo apt-get install fonts-dejavu-core (or set {}=/path/to/font.ttf)",
                plots::FONT_ENV
            ),
        ),
    }
}

/// Kaggle credentials (where they are, never what) and, when they are
/// found and the network answers, whether the competition's rules are
/// accepted. Both only warn: the workshop runs on synthetic data.
pub fn kaggle(opts: &Options) -> Vec<Check> {
    const NAME: &str = "kaggle credentials";
    let lookup = Lookup {
        env: opts
            .env
            .vars
            .iter()
            .filter(|(k, _)| k.starts_with("KAGGLE_"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        home: opts.env.home(),
        secret_dir: opts.secret_dir.clone(),
    };
    let found = match credentials::find(&lookup) {
        Ok(found) => found,
        Err(e) => {
            return vec![Check::warn(
                NAME,
                format!("{e} (optional: synthetic data works without)"),
                Some("download a new token under Settings > API on kaggle.com".into()),
            )]
        }
    };
    let Some(creds) = found.credentials else {
        return vec![Check::warn(
            NAME,
            format!(
                "none found (optional: synthetic data works without); looked in {}",
                found.looked.join(", ")
            ),
            Some(
                "save the kaggle.json from kaggle.com Settings > API as ~/.kaggle/kaggle.json (chmod 600), or set KAGGLE_USERNAME and KAGGLE_KEY"
                    .into(),
            ),
        )];
    };
    let mut checks = Vec::new();
    match found.warnings.first() {
        Some(w) => {
            let fix = w.split("run: ").nth(1).map(str::to_string);
            checks.push(Check::warn(
                NAME,
                format!("from {}, but it is readable by other users", creds.origin),
                fix,
            ));
        }
        None => checks.push(Check::ok(NAME, format!("from {}", creds.origin))),
    }
    checks.push(kaggle_rules(
        &opts.kaggle_api,
        &opts.dataset,
        &creds.auth,
        opts.timeout,
    ));
    checks
}

/// Asks Kaggle for the competition's archive as download-data does, without
/// following the redirect to it: a redirect (or 200) means the rules are
/// accepted, 403 that they are not.
pub fn kaggle_rules(api: &str, dataset: &str, auth: &Auth, timeout: Duration) -> Check {
    const NAME: &str = "kaggle rules";
    let url = format!(
        "{}/competitions/data/download-all/{dataset}",
        api.trim_end_matches('/')
    );
    let rules = format!("https://www.kaggle.com/competitions/{dataset}/rules");
    let Some(client) = http_client(timeout) else {
        return Check::warn(NAME, "not checked (no HTTP client)", None);
    };
    let request = match auth {
        Auth::Basic { username, key } => client.get(&url).basic_auth(username, Some(key)),
        Auth::Bearer(token) => client.get(&url).bearer_auth(token),
    };
    match request.send() {
        Err(e) if e.is_connect() || e.is_timeout() => Check::warn(
            NAME,
            "not checked (offline; synthetic data works without)",
            None,
        ),
        Err(_) => Check::warn(NAME, format!("not checked: {api} did not answer"), None),
        Ok(resp) => match resp.status().as_u16() {
            200..=399 => Check::ok(NAME, format!("accepted for {dataset}")),
            401 => Check::warn(
                NAME,
                "Kaggle rejected the credentials (401)",
                Some("download a new token under Settings > API on kaggle.com".into()),
            ),
            403 => Check::warn(
                NAME,
                format!("not accepted for {dataset} (403): downloads will be refused"),
                Some(format!("accept the rules at {rules} while signed in")),
            ),
            404 => Check::warn(NAME, format!("no competition `{dataset}` (404)"), None),
            code => Check::warn(NAME, format!("not checked: Kaggle answered {code}"), None),
        },
    }
}

fn http_client(timeout: Duration) -> Option<Client> {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout)
        .timeout(timeout)
        .user_agent(concat!("crypto-lab/", env!("CARGO_PKG_VERSION"), " doctor"))
        .build()
        .ok()
}

/// Bytes free to this user on the file system holding `dir`.
#[cfg(unix)]
pub fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is a NUL-terminated string and `stat` a buffer of the
    // right type; statvfs only writes into it and it is read only on success.
    let rc = unsafe { libc::statvfs(path.as_ptr(), stat.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it filled `stat`.
    let stat = unsafe { stat.assume_init() };
    // The field types differ between platforms (u32 on some).
    #[allow(clippy::unnecessary_cast)]
    let free = stat.f_bavail as u64 * stat.f_frsize as u64;
    Some(free)
}

/// Bytes free to this user on the file system holding `dir`.
#[cfg(not(unix))]
pub fn free_bytes(_dir: &Path) -> Option<u64> {
    None
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

/// Free disk for a full-size run in `data_path` (or its nearest existing
/// ancestor, where it would be created).
pub fn disk(data_path: &Path) -> Check {
    const NAME: &str = "disk";
    let absolute = std::path::absolute(data_path).unwrap_or_else(|_| data_path.to_path_buf());
    let Some(dir) = absolute.ancestors().find(|d| d.is_dir()) else {
        return Check::warn(
            NAME,
            format!("not checked: no folder of {} exists", data_path.display()),
            None,
        );
    };
    let Some(free) = free_bytes(dir) else {
        return Check::warn(
            NAME,
            format!("not checked: cannot read free space of {}", dir.display()),
            None,
        );
    };
    let need = format!(
        "a full-size run (synth --full or Kaggle's data, every artifact) takes {}",
        gib(FULL_RUN_BYTES)
    );
    if free >= FULL_RUN_BYTES {
        Check::ok(
            NAME,
            format!("{} free in {}; {need}", gib(free), dir.display()),
        )
    } else if free >= SMALL_RUN_BYTES {
        Check::warn(
            NAME,
            format!(
                "{} free in {}, {need}; the default synthetic run ({}) fits",
                gib(free),
                dir.display(),
                gib(SMALL_RUN_BYTES)
            ),
            Some("free some space, or pass --data-path on a larger disk for the full data".into()),
        )
    } else {
        Check::warn(
            NAME,
            format!(
                "{} free in {}: not even the default synthetic run ({}) fits",
                gib(free),
                dir.display(),
                gib(SMALL_RUN_BYTES)
            ),
            Some("free some space, or pass --data-path on a larger disk".into()),
        )
    }
}

/// A KFP API server's health: `GET {host}/apis/v2beta1/healthz`.
pub fn kfp_host(host: &str, timeout: Duration) -> Check {
    const NAME: &str = "kfp";
    let url = format!("{}/apis/v2beta1/healthz", host.trim_end_matches('/'));
    let forward = "kubectl port-forward -n kubeflow svc/ml-pipeline-ui 8080:80";
    let Some(client) = http_client(timeout) else {
        return Check::missing(NAME, "no HTTP client", forward);
    };
    match client.get(&url).send() {
        Err(e) if e.is_builder() => Check::missing(
            NAME,
            format!("`{host}` is not a URL like http://localhost:8080"),
            "pass --kfp-host http://HOST:PORT",
        ),
        Err(_) => Check::missing(
            NAME,
            format!("{host} is unreachable (is the port-forward running?)"),
            forward,
        ),
        Ok(resp) if resp.status().is_success() => {
            Check::ok(NAME, format!("{url} answered {}", resp.status().as_u16()))
        }
        Ok(resp) => Check::missing(
            NAME,
            format!("{url} answered {}", resp.status()),
            "check --kfp-host (the KFP UI or API server, e.g. http://localhost:8080)",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_version("1.95.0"), Some((1, 95, 0)));
        assert_eq!(parse_version("1.93.0-nightly"), Some((1, 93, 0)));
        assert_eq!(parse_version("3.28"), Some((3, 28, 0)));
        assert_eq!(parse_version("cargo"), None);
        assert_eq!(
            version_in("cargo 1.90.1 (abc 2025-09-01)"),
            Some((1, 90, 1))
        );
        assert_eq!(version_in("cmake version 3.25.1"), Some((3, 25, 1)));
    }

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

    #[test]
    fn font_search_can_be_emptied() {
        let only = plots::font_candidates(Some("/f/x.ttf"), Some(""));
        assert_eq!(only, vec![PathBuf::from("/f/x.ttf")]);
        assert!(plots::font_candidates(None, Some("")).is_empty());
        assert!(plots::font_candidates(Some(""), None).len() > 1);
        let mut env = Env::default();
        env.vars
            .insert(plots::FONT_SEARCH_ENV.into(), String::new());
        assert_eq!(font(&env).status, Status::Missing);
    }

    #[test]
    fn env_overrides_are_flagged() {
        let mut env = Env::default();
        env.vars.insert("RUSTFLAGS".into(), String::new());
        assert_eq!(build_env(&env).status, Status::Ok);
        env.vars.insert("CARGO_TARGET_DIR".into(), "/tmp/t".into());
        let c = build_env(&env);
        assert_eq!(c.status, Status::Warn);
        assert_eq!(c.fix.as_deref(), Some("unset CARGO_TARGET_DIR"));
    }
}
