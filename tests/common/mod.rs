//! Helpers shared by the integration tests.

pub mod http;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use polars::prelude::*;

/// The crypto-lab binary under test: `$CRYPTO_LAB_BIN` when set (a copy
/// of a build, safe from a target directory shared with other checkouts),
/// else the one cargo built for this test.
pub fn crypto_lab_bin() -> PathBuf {
    std::env::var_os("CRYPTO_LAB_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_crypto-lab")))
}

/// `crypto-lab ARGS`, without a die point inherited from the test's
/// environment.
pub fn crypto_lab(args: &[&str]) -> Output {
    crypto_lab_cmd(args).output().expect("run crypto-lab")
}

/// The command `crypto-lab ARGS`, without a die point inherited from the
/// test's environment, for a test to add to.
pub fn crypto_lab_cmd(args: &[&str]) -> Command {
    let mut c = Command::new(crypto_lab_bin());
    c.args(args).env_remove("CRYPTO_LAB_DIE_AFTER");
    c
}

/// Bytes of a process's output as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A finished command's standard output.
pub fn stdout(out: &Output) -> String {
    text(&out.stdout)
}

/// A finished command's standard error.
pub fn stderr(out: &Output) -> String {
    text(&out.stderr)
}

/// Runs `crypto-lab ARGS` and expects success.
pub fn ok(args: &[&str]) -> Output {
    let out = crypto_lab(args);
    assert!(
        out.status.success(),
        "crypto-lab {args:?} failed:\n{}",
        stderr(&out)
    );
    out
}

/// Runs `crypto-lab ARGS`, expects failure with an `error:` line containing
/// every one of `needles`, and no panic; returns that line.
pub fn fails(args: &[&str], needles: &[&str]) -> String {
    let out = crypto_lab(args);
    let err = stderr(&out);
    assert!(
        !out.status.success(),
        "crypto-lab {args:?} should fail:\n{err}"
    );
    assert!(!err.contains("panicked"), "panic: {err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("no error line in: {err}"))
        .to_string();
    for n in needles {
        assert!(line.contains(n), "`{n}` not in error line: {line}");
    }
    line
}

/// The `Authorization` value of HTTP Basic for `user` and `key`, as a
/// client sends it (base64 written here: no test dependency for it).
pub fn basic_auth(user: &str, key: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{user}:{key}");
    let mut out = String::new();
    for chunk in input.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                T[((n >> (18 - 6 * i)) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    format!("Basic {out}")
}

/// The Python of a kfp SDK venv: `$var`, else `~/.cache/crypto-lab/<venv>`
/// (made by `.ci/setup`). Without one the caller skips its check and says
/// so, except under CI (CI set), where a missing SDK fails the test.
pub fn kfp_python(var: &str, venv: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(var) {
        return Some(PathBuf::from(p));
    }
    let home = std::env::var_os("HOME")?;
    let p = Path::new(&home)
        .join(".cache/crypto-lab")
        .join(venv)
        .join("bin/python");
    if p.is_file() {
        return Some(p);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "{var} is not set and {} is missing: .ci/setup makes it",
            p.display()
        );
    }
    eprintln!("SKIPPED the kfp SDK check: no {venv} (run bash .ci/setup)");
    None
}

/// The folder holding `tool` (rust-script, cargo): on PATH, else in
/// `.ci/setup`'s tools (`$CRYPTO_LAB_CACHE`, default `~/.cache/crypto-lab`).
/// Without it the caller skips and says so, except under CI, where a
/// missing tool fails the test.
pub fn tool_dir(tool: &str) -> Option<PathBuf> {
    let home = PathBuf::from(std::env::var_os("HOME").unwrap_or_default());
    let cache = std::env::var_os("CRYPTO_LAB_CACHE")
        .map_or_else(|| home.join(".cache/crypto-lab"), PathBuf::from);
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .chain([cache.join("tools/bin")])
        .find(|d| d.join(tool).is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs {tool} (.ci/setup)"
        );
        eprintln!("SKIPPED: no {tool} (run bash .ci/setup)");
    }
    found
}

/// Runs `tests/kfp/<script>` with a kfp venv's Python; returns whether it
/// succeeded and what it printed (stdout, then stderr).
pub fn run_kfp_script<S: AsRef<std::ffi::OsStr>>(
    python: &Path,
    script: &str,
    args: &[S],
) -> (bool, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/kfp")
        .join(script);
    let out = std::process::Command::new(python)
        .arg(&script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", python.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The fixture folder copied from the lab's own outputs.
pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed-parity")
}

pub use tempfile::TempDir;

/// A fresh temporary folder named for its test, removed when dropped.
pub fn temp_dir(tag: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(&format!("crypto-lab-test-{tag}-"))
        .tempdir()
        .expect("create temp dir")
}

/// A temp data path holding the fixture's train.csv and asset_details.csv.
pub fn fixture_data_path(tag: &str) -> TempDir {
    let dir = temp_dir(tag);
    for f in ["train.csv", "asset_details.csv"] {
        std::fs::copy(fixture_dir().join(f), dir.path().join(f)).expect("copy fixture");
    }
    dir
}

pub fn read_parquet(path: &Path) -> DataFrame {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ParquetReader::new(file).finish().expect("read parquet")
}

/// Values of a column as f64, nulls as NaN.
pub fn values(df: &DataFrame, name: &str) -> Vec<f64> {
    let c = df
        .column(name)
        .unwrap_or_else(|_| panic!("column {name} missing"))
        .cast(&DataType::Float64)
        .expect("numeric column");
    c.f64()
        .expect("f64")
        .iter()
        .map(|v| v.unwrap_or(f64::NAN))
        .collect()
}

/// Asserts two frames hold the same columns (by name, `expected`'s set) with
/// values equal within `rel` relative tolerance; NaN and null count as equal.
pub fn assert_frames_match(actual: &DataFrame, expected: &DataFrame, rel: f64, skip: &[&str]) {
    assert_eq!(actual.height(), expected.height(), "row counts differ");
    for name in expected.get_column_names() {
        let name = name.as_str();
        if skip.contains(&name) || name.starts_with("__index") {
            continue;
        }
        let exp = expected.column(name).expect("expected column");
        if exp.dtype() == &DataType::String {
            let act = actual
                .column(name)
                .unwrap_or_else(|_| panic!("column {name} missing"));
            assert_eq!(
                act.as_materialized_series(),
                exp.as_materialized_series(),
                "column {name}"
            );
            continue;
        }
        let a = values(actual, name);
        let e = values(expected, name);
        for (row, (x, y)) in a.iter().zip(&e).enumerate() {
            let same =
                (x.is_nan() && y.is_nan()) || x == y || (x - y).abs() <= rel * x.abs().max(y.abs());
            assert!(same, "column {name}, row {row}: got {x}, expected {y}");
        }
    }
}
