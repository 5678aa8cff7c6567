//! The notebook's side: Jupyter, the Rust kernel, whether its first cell
//! finds polars and LightGBM built, and a font for the charts.

use std::path::{Path, PathBuf};

use super::probe::{is_executable, run_tool};
use super::{Check, Env};
use crate::plots;

/// Dependencies whose compiled form (`lib<name>-<hash>.rlib` in
/// `target/<host>/debug/deps`) makes the notebook kernel's first cell short:
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
/// `target/<host>/debug/deps` are reused. `host` is rustc's host triple.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

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
}
