//! A Rust lightweight component's program, built and run in its step.
//!
//! When a notebook's `get_features` or feval is edited, the export embeds
//! the stage's script (the form of `scripts/<stage>.rs`: a rust-script file
//! whose `main` runs the stage through [`crate::args::Script`]) with the
//! edited function in it, as kfp embeds a lightweight Python component's
//! source. The step runs `crypto-lab run-script FILE ARGS` in the dev image
//! (the Dockerfile's `dev` target): rust-script makes the script's package,
//! cargo builds it offline against the crate and its dependencies already
//! built there (the project's one profile, `.cargo/config.toml`), so only the
//! function's package is compiled and linked, and the program then runs with
//! the stage's arguments. A compile error ends the step with the compiler's
//! first error, not pages of cargo's output.

use std::path::{Path, PathBuf};
use std::process::Command;

use std::time::Instant;

use crate::error::{printable, Error, Result};
use crate::progress::Progress;

/// Where the dev image keeps the crate's source, its `Cargo.lock`, its
/// `.cargo/config.toml` and its built `target/`.
pub const DEV_SOURCE: &str = "/opt/crypto-lab";
/// Names another place for that layout (a checkout whose `target/` is
/// built, as on a developer's machine or in the project's emulator).
pub const SOURCE_ENV: &str = "CRYPTO_LAB_SOURCE";

/// The crate's folder this step builds against: `$CRYPTO_LAB_SOURCE`, else
/// [`DEV_SOURCE`]; checked to hold what the build needs.
pub fn source_dir() -> Result<PathBuf> {
    source_dir_from(std::env::var_os(SOURCE_ENV))
}

/// [`source_dir`] for the folder `var` names (unset or empty: [`DEV_SOURCE`]).
pub fn source_dir_from(var: Option<std::ffi::OsString>) -> Result<PathBuf> {
    let dir = var
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(DEV_SOURCE), PathBuf::from);
    for needed in ["Cargo.toml", "Cargo.lock", ".cargo/config.toml", "target"] {
        if !dir.join(needed).exists() {
            return Err(Error::BadArgument(format!(
                "{}: no {needed}: run-script builds against the crate as the dev image lays it \
                 out (the Dockerfile's `dev` target: source, Cargo.lock, .cargo/config.toml and \
                 a built target/ in {DEV_SOURCE}); elsewhere set {SOURCE_ENV} to a checkout \
                 built with `cargo build`",
                dir.display()
            )));
        }
    }
    // Absolute: the script's manifest names it from another folder.
    dir.canonicalize()
        .map_err(|e| Error::io(&dir, "cannot resolve the crate's folder", e))
}

/// The first error line in cargo's text output (what it says on standard
/// error when it fails before the compiler, e.g. resolving a dependency);
/// `None` when there is none.
pub fn first_error(cargo_output: &str) -> Option<String> {
    let lines: Vec<&str> = cargo_output.lines().collect();
    let at = lines.iter().position(|l| {
        let t = l.trim_start();
        (t.starts_with("error") && !t.starts_with("error: could not compile"))
            || t.contains(": error")
    })?;
    Some(printable(lines[at].trim()))
}

fn run(cmd: &mut Command, what: &str) -> Result<std::process::Output> {
    cmd.output().map_err(|e| {
        Error::BadArgument(format!(
            "cannot start {what}: {e} (the dev image has it on PATH; elsewhere install it: \
             `.ci/setup`)"
        ))
    })
}

/// A script built by [`build_script`]: its program, ready to run.
#[derive(Debug, Clone)]
pub struct Built {
    /// The program cargo built.
    pub executable: PathBuf,
    /// Seconds the build took (cargo's, after rust-script made the package).
    pub seconds: f64,
}

impl Built {
    /// Runs the program with `args` in place of this process (so the step's
    /// signals reach it, and its exit status is the step's); returns only
    /// if it could not be started.
    pub fn exec(&self, args: &[std::ffi::OsString]) -> Error {
        use std::os::unix::process::CommandExt;
        let e = Command::new(&self.executable).args(args).exec();
        Error::io(&self.executable, "cannot run the built program", e)
    }
}

fn cargo(verb: &str, source: &Path, package: &Path) -> Command {
    let mut c = Command::new("cargo");
    c.arg(verb)
        .arg("--offline")
        .arg("--quiet")
        .arg("--config")
        .arg(source.join(".cargo/config.toml"))
        .arg("--manifest-path")
        .arg(package.join("Cargo.toml"));
    c
}

/// From cargo's `--message-format=json-diagnostic-short` output: the
/// program built (its `executable`) and the compiler's first error.
fn read_messages(stdout: &str) -> (Option<PathBuf>, Option<String>) {
    let (mut executable, mut error) = (None, None);
    for line in stdout.lines() {
        let Ok(m) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if let Some(exe) = m.get("executable").and_then(serde_json::Value::as_str) {
            executable = Some(PathBuf::from(exe));
        }
        let message = &m["message"];
        if error.is_none() && message["level"] == "error" {
            error = message["rendered"]
                .as_str()
                .map(|r| printable(r.lines().next().unwrap_or(r).trim()));
        }
    }
    (executable, error)
}

/// Builds the script `file` against the crate in `source` (see
/// [`source_dir`]) as the scripts' shebang does: rust-script makes its
/// package, the crate's `Cargo.lock` pins it, cargo builds it offline with
/// the project's `.cargo/config.toml` into the crate's `target/`. The
/// script's dependency on the crate names [`DEV_SOURCE`]; where the source
/// is elsewhere a copy of the script names that place instead. A compile
/// error is the compiler's first error.
pub fn build_script(file: &Path, source: &Path) -> Result<Built> {
    let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, "cannot read", e))?;
    let dev_path = format!("path = \"{DEV_SOURCE}\"");
    let script = if text.contains(&dev_path) && source != Path::new(DEV_SOURCE) {
        let moved = file.with_extension("local.rs");
        let here = format!("path = \"{}\"", source.display());
        std::fs::write(&moved, text.replace(&dev_path, &here))
            .map_err(|e| Error::io(&moved, "cannot write", e))?;
        moved
    } else {
        file.to_path_buf()
    };
    let made = run(
        Command::new("rust-script").arg("--package").arg(&script),
        "rust-script",
    )?;
    let stdout = String::from_utf8_lossy(&made.stdout);
    let package = stdout.lines().last().map(str::trim).unwrap_or("");
    if !made.status.success() || package.is_empty() {
        return Err(Error::BadArgument(format!(
            "{}: rust-script could not make its package: {}",
            file.display(),
            printable(String::from_utf8_lossy(&made.stderr).trim())
        )));
    }
    let package = PathBuf::from(package);
    let lock = package.join("Cargo.lock");
    std::fs::copy(source.join("Cargo.lock"), &lock)
        .map_err(|e| Error::io(&lock, "cannot pin the dependencies", e))?;
    let t = Instant::now();
    let built = run(
        cargo("build", source, &package).arg("--message-format=json-diagnostic-short"),
        "cargo",
    )?;
    let (executable, compiler_error) = read_messages(&String::from_utf8_lossy(&built.stdout));
    if !built.status.success() {
        let stderr = String::from_utf8_lossy(&built.stderr);
        let error = compiler_error
            .or_else(|| first_error(&stderr))
            .unwrap_or_else(|| {
                printable(stderr.lines().last().unwrap_or("cargo build failed").trim())
            });
        return Err(Error::BadArgument(format!(
            "the step's program does not compile: {error} (in {})",
            file.display()
        )));
    }
    let executable = executable.ok_or_else(|| {
        Error::Internal(format!(
            "cargo built {} but named no program",
            file.display()
        ))
    })?;
    Ok(Built {
        executable,
        seconds: t.elapsed().as_secs_f64(),
    })
}

/// Builds the script `file` against the crate in [`source_dir`] and runs it
/// with `args` in place of this process: returns only with why it could
/// not (the build failed, or the program would not start).
pub fn run_script(
    file: &Path,
    args: &[std::ffi::OsString],
    progress: &dyn Progress,
) -> Result<std::convert::Infallible> {
    let source = source_dir()?;
    let built = build_script(file, &source)?;
    progress.log(&format!(
        "run-script: built {} against {} in {:.1}s",
        file.display(),
        source.display(),
        built.seconds
    ));
    Err(built.exec(args))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargos_messages_give_the_program_and_the_compilers_first_error() {
        let ok = r#"{"reason":"compiler-artifact","executable":"/t/debug/step"}"#;
        assert_eq!(
            read_messages(ok),
            (Some(PathBuf::from("/t/debug/step")), None)
        );
        let failed = concat!(
            r#"{"reason":"compiler-message","message":{"level":"warning","rendered":"w"}}"#,
            "\n",
            r#"{"reason":"compiler-message","message":{"level":"error","rendered":"src/main.rs:3:5: error[E0425]: cannot find function `x`\nmore"}}"#,
        );
        assert_eq!(
            read_messages(failed).1.as_deref(),
            Some("src/main.rs:3:5: error[E0425]: cannot find function `x`")
        );
    }

    #[test]
    fn the_first_error_is_the_compilers_own_line() {
        let output = "warning: unused import\n\
            src/main.rs:14:20: error[E0425]: cannot find value `opn` in this scope\n\
            src/main.rs:20:1: error[E0308]: mismatched types\n\
            error: could not compile `feature_engineering` (bin) due to 2 previous errors\n";
        assert_eq!(
            first_error(output).as_deref(),
            Some("src/main.rs:14:20: error[E0425]: cannot find value `opn` in this scope")
        );
        assert_eq!(first_error("warning: x\n"), None);
        assert_eq!(
            first_error("error: failed to select a version for `polars`\n").as_deref(),
            Some("error: failed to select a version for `polars`")
        );
    }

    #[test]
    fn a_folder_without_the_dev_layout_is_named_with_the_fix() {
        // The variable points at an empty folder: every check names it.
        let dir = std::env::temp_dir().join(format!("crypto-lab-nodev-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let err = source_dir_from(Some(dir.clone().into())).expect_err("no layout");
        assert!(err.to_string().contains("no Cargo.toml"), "{err}");
        assert!(err.to_string().contains("`dev` target"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
