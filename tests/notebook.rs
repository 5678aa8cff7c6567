//! The notebook shows the code that runs: its `get_features` and
//! `weighted_correlation` cells are the crate's functions, letter for letter,
//! and a function of the notebook's shape, edited, changes what the stages
//! make (feature_df, the model, its metrics).

use std::path::{Path, PathBuf};

use crypto_lab::prelude::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

const NOTEBOOK: &str = "notebooks/g_research_crypto_forecasting.ipynb";

/// The code cells of the notebook, each as one text.
fn code_cells() -> Vec<String> {
    let text = std::fs::read_to_string(root().join(NOTEBOOK)).expect("notebook");
    let nb: serde_json::Value = serde_json::from_str(&text).expect("notebook JSON");
    nb["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .filter(|c| c["cell_type"] == "code")
        .map(|c| match &c["source"] {
            serde_json::Value::Array(lines) => lines
                .iter()
                .map(|l| l.as_str().expect("source line"))
                .collect::<String>(),
            serde_json::Value::String(s) => s.clone(),
            other => panic!("cell source is {other}"),
        })
        .collect()
}

/// The item `fn NAME(` up to its closing `}` at the start of a line, with
/// `pub ` taken off: the text a reader sees, doc comments aside.
fn function_text(source: &str, name: &str) -> Option<String> {
    let lines: Vec<&str> = source.lines().collect();
    let start = lines.iter().position(|l| {
        let l = l.strip_prefix("pub ").unwrap_or(l);
        l.starts_with(&format!("fn {name}("))
    })?;
    let end = start + lines[start..].iter().position(|l| *l == "}")?;
    let mut text = lines[start..=end].join("\n");
    if let Some(rest) = text.strip_prefix("pub ") {
        text = rest.to_string();
    }
    Some(text)
}

fn assert_cell_is_crate_function(name: &str, crate_file: &str) {
    let crate_source = std::fs::read_to_string(root().join(crate_file)).expect("crate source");
    let crate_text = function_text(&crate_source, name)
        .unwrap_or_else(|| panic!("{crate_file} has no `pub fn {name}(`"));
    let cells: Vec<String> = code_cells()
        .iter()
        .filter_map(|cell| function_text(cell, name))
        .collect();
    assert_eq!(
        cells.len(),
        1,
        "{NOTEBOOK}: expected one code cell defining `fn {name}(`"
    );
    if cells[0] != crate_text {
        let first = cells[0]
            .lines()
            .zip(crate_text.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(cells[0].lines().count().min(crate_text.lines().count()));
        panic!(
            "the notebook's `fn {name}` differs from {crate_file}'s from line {} of the function on:\n\
             notebook: {:?}\n   crate: {:?}\n\
             The notebook must show the code that runs: copy the crate's function into the cell \
             (or move the edit into {crate_file}).",
            first + 1,
            cells[0].lines().nth(first),
            crate_text.lines().nth(first)
        );
    }
}

#[test]
fn the_notebooks_get_features_is_the_crates() {
    assert_cell_is_crate_function(
        "get_features",
        "src/stages/feature_engineering/get_features.rs",
    );
}

#[test]
fn the_notebooks_weighted_correlation_is_the_crates() {
    assert_cell_is_crate_function("weighted_correlation", "src/scoring.rs");
}

#[test]
fn the_drift_check_sees_a_one_character_edit() {
    let source = std::fs::read_to_string(root().join("src/scoring.rs")).expect("source");
    let text = function_text(&source, "weighted_correlation").expect("function");
    let edited = text.replacen("sum_w", "sum_w2", 1);
    assert_ne!(text, edited);
    assert_eq!(
        function_text(&format!("pub {text}\n"), "weighted_correlation").as_deref(),
        Some(text.as_str())
    );
}

#[test]
fn the_modeling_cell_sets_every_key_of_the_labs_params() {
    let cells = code_cells();
    let cell = cells
        .iter()
        .find(|c| c.contains("let params: ModelParams = ModelParams {"))
        .expect("a cell with the modeling parameters as a literal");
    for key in [
        "n_estimators: 1200",
        "objective: \"regression\"",
        "metric: \"rmse\"",
        "boosting_type: \"gbdt\"",
        "max_depth: -1",
        "learning_rate: 0.01",
        "seed: 2022",
        "verbose: -1",
        "early_stopping_rounds: 60",
    ] {
        assert!(
            cell.contains(key),
            "the parameters cell lacks `{key}`:\n{cell}"
        );
    }
}

/// A student's edit of the notebook's `get_features`: the lab's function with
/// RSI taken on the open instead of the close.
fn edited_get_features(bars: &AssetBars, opts: &FeatureOptions) -> Features {
    let mut edited = bars.clone();
    edited.close = bars.open.clone();
    let mut f = get_features(bars, opts);
    let on_open = get_features(&edited, opts);
    for i in [30, 120, 240] {
        let name = format!("RSI_{i}");
        f.add(name.clone(), on_open.float(&name).expect("RSI").to_vec());
    }
    f
}

fn metrics_of(
    data: &Path,
    get: fn(&AssetBars, &FeatureOptions) -> Features,
) -> (Vec<f64>, f64, f64) {
    feature_engineering_with(data, &FeatureOptions::default(), get).expect("features");
    merge_assets_features(data).expect("merge");
    let params = ModelParams {
        n_estimators: 40,
        ..ModelParams::default()
    };
    let model = modeling_with(data, &params, weighted_correlation, &Silent).expect("modeling");
    let feature_df =
        crypto_lab::artifact::read_parquet(&data.join(files::FEATURE_DF)).expect("feature_df");
    let rsi: Vec<f64> = feature_df
        .column("RSI_30")
        .expect("RSI_30")
        .f64()
        .expect("f64")
        .into_no_null_iter()
        .collect();
    (rsi, model.history.rmse, model.history.weighted_correlation)
}

/// A data path holding twelve synthetic days, loaded.
fn loaded_data(tag: &str) -> crate::common::TempDir {
    let dir = crate::common::temp_dir(tag);
    let opts = SynthOptions {
        start: crypto_lab::calendar::parse_instant("2021-04-24").expect("date"),
        end: crypto_lab::calendar::parse_instant("2021-05-06").expect("date"),
        seed: 7,
    };
    synth(dir.path(), &opts, &Silent).expect("synth");
    load_data(dir.path()).expect("load");
    dir
}

#[test]
fn an_edited_get_features_changes_feature_df_and_the_metrics() {
    let dir = loaded_data("notebook-edit");
    let data = dir.path();
    let (rsi_lab, rmse_lab, wcorr_lab) = metrics_of(data, get_features);
    // The lab's function through the `_with` entry point is the default stage.
    let default_df = crypto_lab::artifact::read_parquet(&data.join(files::FEATURE_DF)).expect("df");
    feature_engineering(data, &FeatureOptions::default()).expect("features");
    let again = crypto_lab::artifact::read_parquet(&data.join(files::FEATURE_DF)).expect("df");
    assert!(default_df.equals_missing(&again));

    let (rsi_edit, rmse_edit, wcorr_edit) = metrics_of(data, edited_get_features);
    assert_ne!(rsi_lab, rsi_edit, "the edit must reach feature_df");
    assert!(
        rmse_lab != rmse_edit || wcorr_lab != wcorr_edit,
        "the edit must reach the model: rmse {rmse_lab} / {rmse_edit}, wcorr {wcorr_lab} / {wcorr_edit}"
    );
    // Both runs are in the runs table, the lab's first.
    let runs = crypto_lab::runs::read(data).expect("runs");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].rmse, rmse_lab);
    assert_eq!(runs[1].rmse, rmse_edit);
}

#[test]
fn a_features_list_without_the_calendar_trains_without_it() {
    let dir = loaded_data("notebook-features");
    let data = dir.path();
    feature_engineering(data, &FeatureOptions::default()).expect("features");
    merge_assets_features(data).expect("merge");
    let params = ModelParams {
        n_estimators: 20,
        ..ModelParams::default()
    }
    .without_features(&["Day", "dayofyear", "weekofyear", "season"].map(String::from))
    .expect("drop");
    let model = modeling(data, &params, &Silent).expect("modeling");
    assert_eq!(model.importance.feature.len(), 20);
    assert!(!model.importance.feature.iter().any(|f| f == "dayofyear"));
    // evaluation_result re-predicts with the saved list of features.
    evaluation_result(data, None).expect("evaluation");
    let runs = crypto_lab::runs::read(data).expect("runs");
    assert_eq!(
        runs[0].features_change(),
        "lab's 24 - Day, dayofyear, weekofyear, season"
    );

    let bad = ModelParams {
        features: vec!["Asset_ID".into(), "RSI_31".into()],
        ..ModelParams::default()
    };
    let err = modeling(data, &bad, &Silent).unwrap_err().to_string();
    assert!(
        err.contains("RSI_31") && err.contains("merge_feature_df"),
        "{err}"
    );
}

/// `.ci/solve-notebook NOTEBOOK KEY OUT`: its exit status and stderr.
fn solve(key: &Path, out: &Path) -> (bool, String) {
    let o = std::process::Command::new("python3")
        .arg(root().join(".ci/solve-notebook"))
        .arg(root().join(NOTEBOOK))
        .arg(key)
        .arg(out)
        .output()
        .expect("python3 .ci/solve-notebook");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn every_exercise_has_a_blank_and_the_answer_key_fills_each_and_nothing_else() {
    // The students' notebook: a todo!() in each exercise, none elsewhere.
    let cells = code_cells();
    let blanks: Vec<&String> = cells.iter().filter(|c| c.contains("todo!(")).collect();
    assert_eq!(blanks.len(), 5, "one blank cell per exercise");
    assert!(blanks.iter().all(|c| c.contains("modeling_with(")));

    let dir = crate::common::temp_dir("solve");
    let worked = dir.path().join("worked.ipynb");
    let key = root().join("docs/WORKSHOP.md");
    let (ok, err) = solve(&key, &worked);
    assert!(ok, "{err}");
    let nb: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&worked).expect("worked copy"))
            .expect("worked JSON");
    let code: String = nb["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .filter(|c| c["cell_type"] == "code")
        .flat_map(|c| c["source"].as_array().expect("lines").iter())
        .map(|l| l.as_str().expect("line"))
        .collect();
    assert!(!code.contains("todo!("));
    assert!(code.contains("learning_rate: 0.05,") && code.contains("date(\"2021-05-04\")?"));

    // An answer that changes more than its blank is refused, naming the cell.
    let drifted = dir.path().join("drifted.md");
    let original = std::fs::read_to_string(&key).expect("answer key");
    std::fs::write(
        &drifted,
        original.replace(
            "    learning_rate: 0.05,\n",
            "    learning_rate: 0.05,\n    seed: 1,\n",
        ),
    )
    .expect("write");
    let (ok, err) = solve(&drifted, &dir.path().join("x.ipynb"));
    assert!(
        !ok && err.contains("cell-28") && err.contains("blank(s) filled"),
        "{err}"
    );
    // A blank without its answer is refused too.
    let missing = dir.path().join("missing.md");
    std::fs::write(
        &missing,
        original.replace("```rust answer=cell-32", "```rust"),
    )
    .expect("write");
    let (ok, err) = solve(&missing, &dir.path().join("y.ipynb"));
    assert!(
        !ok && err.contains("cell-32: a blank with no answer"),
        "{err}"
    );
}
