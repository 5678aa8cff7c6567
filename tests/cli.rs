//! The `crypto-lab` binary: every subcommand, and every kind of bad input
//! giving a one-line error, a non-zero exit and untouched earlier artifacts.

use std::path::Path;
use std::process::Command;

use crate::common::*;

fn dp(dir: &Path) -> String {
    dir.display().to_string()
}

#[test]
fn help_teaches_the_stages() {
    let out = ok(&["--help"]);
    let text = stdout(&out);
    for cmd in [
        "synth",
        "load-data",
        "feature-engineering",
        "merge-assets-features",
        "modeling",
        "evaluation-result",
        "run",
    ] {
        assert!(text.contains(cmd), "{cmd} missing from --help");
    }
    let out = ok(&["modeling", "--help"]);
    assert!(stdout(&out).contains("--n-estimators"));
    let out = ok(&["stages"]);
    assert!(stdout(&out).contains("merge_feature_df.parquet"));
}

#[test]
fn each_stage_subcommand_in_the_labs_order() {
    let dir = fixture_data_path("cli-stages");
    let d = dp(dir.path());
    up_to_merge(&d);
    let out = ok(&["modeling", "--data-path", &d]);
    assert!(
        stderr(&out).contains("best iteration is:\n[89]"),
        "{}",
        stderr(&out)
    );
    let metrics = dir.path().join("out/metrics.json");
    ok(&[
        "evaluation-result",
        "--data-path",
        &d,
        "--metrics-path",
        &dp(&metrics),
    ]);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&metrics).expect("metrics")).expect("json");
    assert_eq!(doc["metrics"][0]["name"], "root-mean-squared-error");
    for f in [
        "df_train.parquet",
        "df_asset_details.parquet",
        "feature_df.parquet",
        "merge_feature_df.parquet",
        "lgb.txt",
        "lgb_history.json",
        "feature_importance.json",
    ] {
        assert!(dir.path().join(f).is_file(), "{f} not written");
    }
    // No temporary files are left behind.
    for entry in std::fs::read_dir(dir.path()).expect("dir") {
        let name = entry.expect("entry").file_name();
        assert!(
            !name.to_string_lossy().contains(".tmp-"),
            "{name:?} left behind"
        );
    }
}

/// load-data, feature-engineering and merge-assets-features in `d`.
fn up_to_merge(d: &str) {
    for stage in ["load-data", "feature-engineering", "merge-assets-features"] {
        ok(&[stage, "--data-path", d]);
    }
}

#[test]
fn modeling_parameters_are_overridable() {
    let dir = fixture_data_path("cli-params");
    let d = dp(dir.path());
    up_to_merge(&d);
    ok(&[
        "modeling",
        "--data-path",
        &d,
        "--n-estimators",
        "5",
        "--early-stopping-rounds",
        "0",
        "--learning-rate",
        "0.1",
        "--param",
        "num_leaves=7",
    ]);
    let h: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("lgb_history.json")).expect("history"),
    )
    .expect("json");
    assert_eq!(h["evals"]["rmse"].as_array().expect("rmse").len(), 5);
    assert_eq!(h["best_iteration"], 5);
    assert!(std::fs::read_to_string(dir.path().join("lgb.txt"))
        .expect("model")
        .contains("[num_leaves: 7]"));
    fails(
        &["modeling", "--data-path", &d, "--param", "num_leaves"],
        &["KEY=VALUE"],
    );
}

#[test]
fn runs_lists_every_modeling_run_with_what_changed() {
    let dir = fixture_data_path("cli-runs");
    let d = dp(dir.path());
    let none = ok(&["runs", "--data-path", &d]);
    assert!(
        stderr(&none).contains("no modeling run"),
        "{}",
        stderr(&none)
    );
    up_to_merge(&d);
    let modeling = |extra: &[&str]| {
        let mut args = vec!["modeling", "--data-path", &d, "--n-estimators", "5"];
        args.extend_from_slice(extra);
        ok(&args);
    };
    modeling(&[]);
    modeling(&[
        "--learning-rate",
        "0.05",
        "--drop-features",
        "Day,dayofyear,weekofyear,season",
    ]);
    let table = stdout(&ok(&["runs", "--data-path", &d]));
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[0].starts_with("run"), "{table}");
    assert!(lines[2].contains("learning_rate=0.05"), "{table}");
    assert!(
        lines[2].contains("lab's 24 - Day, dayofyear, weekofyear, season"),
        "{table}"
    );
    let json = stdout(&ok(&["runs", "--data-path", &d, "--json"]));
    assert_eq!(json.lines().count(), 2);
    // The data path comes from CRYPTO_LAB_DATA when --data-path is not given.
    let out = Command::new(crypto_lab_bin())
        .args(["runs"])
        .env("CRYPTO_LAB_DATA", dir.path())
        .output()
        .expect("run");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), table);
    fails(
        &[
            "modeling",
            "--data-path",
            &d,
            "--drop-features",
            "dayofyeer",
        ],
        &["--drop-features dayofyeer", "did you mean dayofyear?"],
    );
}

#[test]
fn run_makes_synthetic_data_then_skips_up_to_date_stages() {
    let dir = temp_dir("cli-run");
    let d = dp(dir.path());
    let out = ok(&[
        "run",
        "--data-path",
        &d,
        "--start",
        "2021-04-20",
        "--end",
        "2021-05-05",
        "--n-estimators",
        "20",
    ]);
    let err = stderr(&out);
    assert!(err.contains("making synthetic data"), "{err}");
    let summary = stdout(&out);
    for s in [
        "synth",
        "load_data",
        "modeling",
        "evaluation_result",
        "weighted-correlation",
    ] {
        assert!(summary.contains(s), "{s} missing from summary:\n{summary}");
    }
    let out = ok(&["run", "--data-path", &d, "--n-estimators", "20"]);
    let summary = stdout(&out);
    assert_eq!(summary.matches("up to date").count(), 5, "{summary}");
    let out = ok(&["run", "--data-path", &d, "--n-estimators", "20", "--force"]);
    assert_eq!(stdout(&out).matches("up to date").count(), 0);
}

#[test]
fn synth_is_deterministic_and_in_the_kaggle_schema() {
    let a = temp_dir("synth-a");
    let b = temp_dir("synth-b");
    for dir in [&a, &b] {
        ok(&[
            "synth",
            "--data-path",
            &dp(dir.path()),
            "--start",
            "2021-01-01",
            "--end",
            "2021-01-04",
            "--synth-seed",
            "7",
        ]);
    }
    let ta = std::fs::read(a.path().join("train.csv")).expect("a");
    let tb = std::fs::read(b.path().join("train.csv")).expect("b");
    assert_eq!(ta, tb, "same seed, same bytes");
    let text = String::from_utf8(ta).expect("utf8");
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("timestamp,Asset_ID,Count,Open,High,Low,Close,Volume,VWAP,Target")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let key = |r: &Vec<&str>| {
        (
            r[0].parse::<i64>().expect("ts"),
            r[1].parse::<i64>().expect("id"),
        )
    };
    assert!(
        rows.windows(2).all(|w| key(&w[0]) < key(&w[1])),
        "ordered by timestamp then Asset_ID"
    );
    assert!(
        rows.iter().any(|r| r[8] == "inf" && r[7] == "0"),
        "zero volume with inf VWAP"
    );
    assert!(rows.iter().any(|r| r[8].is_empty()), "missing VWAP");
    assert!(rows.iter().any(|r| r[9].is_empty()), "missing Target");
    assert!(
        rows.iter().any(|r| r[4] == r[5] && r[3] == r[6]),
        "flat bars"
    );
    let ids: std::collections::BTreeSet<i64> = rows.iter().map(|r| key(r).1).collect();
    assert_eq!(ids.len(), 14);
    let details = std::fs::read_to_string(a.path().join("asset_details.csv")).expect("details");
    let fixture =
        std::fs::read_to_string(fixture_dir().join("asset_details.csv")).expect("fixture");
    assert_eq!(details, fixture, "the competition's assets and weights");
}

#[test]
fn missing_input_file() {
    let dir = temp_dir("bad-missing");
    fails(
        &["load-data", "--data-path", &dp(dir.path())],
        &["asset_details.csv", "not found"],
    );
    fails(
        &["feature-engineering", "--data-path", &dp(dir.path())],
        &["df_train.parquet", "load-data"],
    );
    fails(
        &["evaluation-result", "--data-path", &dp(dir.path())],
        &["lgb_history.json"],
    );
}

/// Writes a train.csv whose text has been altered by `edit`.
fn with_train_csv(tag: &str, edit: impl Fn(&str) -> String) -> TempDir {
    let dir = fixture_data_path(tag);
    let text = std::fs::read_to_string(dir.path().join("train.csv")).expect("train");
    std::fs::write(dir.path().join("train.csv"), edit(&text)).expect("write");
    dir
}

/// `text` with field `col` of line `line` (0 = header) replaced by `value`.
fn set_field(text: &str, line: usize, col: usize, value: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut fields: Vec<&str> = lines[line].split(',').collect();
    fields[col] = value;
    lines[line] = fields.join(",");
    lines.join("\n") + "\n"
}

/// Index in `text.lines()` of the first row load_data keeps (2020-01-01 on):
/// rows before it are dropped after reading their timestamp only.
fn first_kept_line(text: &str) -> usize {
    text.lines()
        .position(|l| {
            l.split(',')
                .next()
                .and_then(|t| t.parse::<i64>().ok())
                .is_some_and(|t| t >= 1_577_836_800)
        })
        .expect("a row from 2020 on")
}

#[test]
fn misspelt_column() {
    let dir = with_train_csv("bad-column", |t| t.replacen("Close", "Clsoe", 1));
    fails(
        &["load-data", "--data-path", &dp(dir.path())],
        &["train.csv", "`Close`", "Clsoe"],
    );
    let dir = with_train_csv("bad-column2", |t| t.replacen(",Target", "", 1));
    fails(
        &["load-data", "--data-path", &dp(dir.path())],
        &["train.csv", "`Target`"],
    );
}

#[test]
fn text_where_a_number_belongs() {
    let text = std::fs::read_to_string(fixture_dir().join("train.csv")).expect("train");
    let kept = first_kept_line(&text);
    let dir = with_train_csv("bad-number", |t| set_field(t, kept + 2, 3, "abc"));
    let line = format!("line {}", kept + 3);
    fails(
        &["load-data", "--data-path", &dp(dir.path())],
        &["train.csv", &line, "`Open`", "`abc`"],
    );
    // A row the lab drops is read for its timestamp only.
    let dir = with_train_csv("dropped-row", |t| set_field(t, 5, 3, "abc"));
    ok(&["load-data", "--data-path", &dp(dir.path())]);
    let dir = with_train_csv("bad-timestamp", |t| set_field(t, 5, 0, "soon"));
    fails(
        &["load-data", "--data-path", &dp(dir.path())],
        &["train.csv", "line 6", "`timestamp`", "`soon`"],
    );
}

#[test]
fn empty_file() {
    let dir = with_train_csv("bad-empty", |_| String::new());
    fails(
        &["load-data", "--data-path", &dp(dir.path())],
        &["train.csv", "empty"],
    );
    let dir = with_train_csv("bad-header-only", |t| {
        t.lines().next().expect("header").to_string() + "\n"
    });
    fails(
        &["load-data", "--data-path", &dp(dir.path())],
        &["train.csv", "no rows"],
    );
}

#[test]
fn asset_outside_the_competition() {
    let text = std::fs::read_to_string(fixture_dir().join("train.csv")).expect("train");
    let kept = first_kept_line(&text);
    let dir = with_train_csv("bad-asset", |t| set_field(t, kept, 1, "14"));
    let line = format!("line {}", kept + 1);
    fails(
        &["load-data", "--data-path", &dp(dir.path())],
        &["train.csv", &line, "Asset_ID", "14", "0 to 13"],
    );
}

#[test]
fn data_path_that_cannot_be_written() {
    let dir = temp_dir("bad-dir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").expect("file");
    let inside = file.join("data");
    fails(&["load-data", "--data-path", &dp(&inside)], &["a-file"]);
    fails(&["synth", "--data-path", &dp(&inside)], &["a-file"]);
}

#[test]
fn a_failed_stage_leaves_earlier_artifacts_untouched() {
    let dir = fixture_data_path("bad-keeps");
    let d = dp(dir.path());
    ok(&["load-data", "--data-path", &d]);
    let before = std::fs::read(dir.path().join("df_train.parquet")).expect("df_train");
    let text = std::fs::read_to_string(dir.path().join("train.csv")).expect("train");
    std::fs::write(
        dir.path().join("train.csv"),
        text.replacen("\n1", "\nnot-a-time", 1),
    )
    .expect("w");
    fails(
        &["load-data", "--data-path", &d],
        &["train.csv", "`timestamp`"],
    );
    let after = std::fs::read(dir.path().join("df_train.parquet")).expect("df_train");
    assert_eq!(before, after, "df_train.parquet changed by a failed run");
}

#[test]
fn a_failed_stage_says_its_cause_once() {
    let dir = temp_dir("cli-cause-once");
    let d = dir.path().display().to_string();
    let line = fails(&["load-data", "--data-path", &d], &["load_data failed: "]);
    assert_eq!(line.matches("file not found").count(), 1, "{line}");
}

#[test]
fn doctor_checks_the_data_path_the_stages_use() {
    // CRYPTO_LAB_DATA is the stages' data path, so doctor's disk check is too.
    let dir = temp_dir("cli-doctor-data");
    let out = std::process::Command::new(crypto_lab_bin())
        .args(["doctor", "--timeout", "1"])
        .env("CRYPTO_LAB_DATA", dir.path().join("data"))
        .current_dir(std::env::temp_dir())
        .output()
        .expect("doctor");
    let text = stdout(&out);
    let disk = text
        .lines()
        .find(|l| l.contains(" disk "))
        .unwrap_or_else(|| panic!("no disk line:\n{text}"));
    assert!(disk.contains(&dir.path().display().to_string()), "{disk}");
}
