//! The exported pipeline run as the clusters users have run it:
//! `pipeline.yaml` executed by kfp 2.17's own local orchestration
//! (`kfp.local`, DockerRunner) through tests/kfp/run_local.py, which replaces
//! only the container call by a local process standing for the pod: the
//! binary standing for the image, artifacts in kfp.local's pipeline root,
//! claims (volume form) bind-mounted in a mount namespace of the step's own,
//! each step as the emulated cluster runs it (`--cluster kubeflow|openshift|
//! vertex`, `--backend X.Y.Z`): its user, groups and capabilities, the
//! release's strictness and its execution cache.
//!
//! Needs the kfp 2 venv (`.ci/setup`; skipped without it except under CI)
//! and, for the namespaces and the user switch, root (as in CI). Without
//! mount namespaces the steps' args name the folders instead of the mount
//! paths; without root they run as the current user.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use serde_json::Value;

/// The stages' tasks in the order KFP runs them.
const STAGE_COMPONENTS: [&str; 6] = [
    "comp-download-data",
    "comp-load-data",
    "comp-feature-engineering",
    "comp-merge-assets-features",
    "comp-modeling",
    "comp-evaluation-result",
];

/// The uid OpenShift's restricted-v2 gives the emulated namespace's pods.
const OPENSHIFT_UID: u64 = 1_000_680_000;

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("start");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

/// A small competition (6 days of synthetic bars, 2 of them after the
/// validation split) in `dir/synth`, and the same as a zip: the `source` run
/// parameter of download_data.
fn synthetic_zip(dir: &Path) -> PathBuf {
    let data = dir.join("synth");
    run(Command::new(crypto_lab_bin()).args([
        "synth",
        "--quiet",
        "--data-path",
        &data.display().to_string(),
        "--start",
        "2021-04-27",
        "--end",
        "2021-05-03",
    ]));
    let zip_path = dir.join("g-research-crypto-forecasting.zip");
    let file = std::fs::File::create(&zip_path).expect("zip");
    let mut zip = zip::ZipWriter::new(file);
    for name in ["train.csv", "asset_details.csv"] {
        zip.start_file(name, zip::write::SimpleFileOptions::default())
            .expect("member");
        let bytes = std::fs::read(data.join(name)).expect("synth file");
        std::io::Write::write_all(&mut zip, &bytes).expect("write member");
    }
    zip.finish().expect("finish zip");
    std::fs::set_permissions(&zip_path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    zip_path
}

/// The image (the binary in a folder the steps' users can read), the
/// synthetic archive, and one emulated cluster (its claims, its cache).
struct Setup {
    root: TempDir,
    bin: PathBuf,
    zip: PathBuf,
}

const IMAGE: &str = "registry.example/crypto-lab:test";

impl Setup {
    fn new(tag: &str) -> Self {
        let root = temp_dir(tag);
        // Readable by the steps' users: the image (binary) and the archive.
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let bin = root.path().join("image/usr/local/bin");
        std::fs::create_dir_all(&bin).expect("bin dir");
        for dir in [
            root.path().join("image"),
            root.path().join("image/usr"),
            root.path().join("image/usr/local"),
            bin.clone(),
        ] {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        std::fs::copy(crypto_lab_bin(), bin.join("crypto-lab")).expect("copy binary");
        let zip = synthetic_zip(root.path());
        Setup { root, bin, zip }
    }

    /// `export-kfp` with `flags`; returns the export folder.
    fn export(&self, tag: &str, flags: &[&str]) -> PathBuf {
        let export = self.root.path().join(format!("kfp-{tag}"));
        let out = export.display().to_string();
        let mut args = vec!["export-kfp", "--quiet", "--out", &out, "--image", IMAGE];
        args.extend_from_slice(flags);
        run(Command::new(crypto_lab_bin()).args(&args));
        export
    }

    /// One run of `pipeline` on this setup's cluster (claims and cache kept
    /// between runs); `extra`: more run_local.py flags.
    fn run(&self, python: &Path, pipeline: &Path, extra: &[&str]) -> (bool, Value, String) {
        let work = self.root.path().join("work");
        let cache = self.root.path().join("cache");
        let mut args = vec![
            pipeline.display().to_string(),
            "--bin-dir".into(),
            self.bin.display().to_string(),
            "--work".into(),
            work.display().to_string(),
            "--cache-dir".into(),
            cache.display().to_string(),
            "--image".into(),
            IMAGE.into(),
            "--param".into(),
            format!("source={}", self.zip.display()),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        let t = std::time::Instant::now();
        let (ok, text) = run_kfp_script(python, "run_local.py", &args);
        println!(
            "{text}\n(kfp.local run {extra:?}: {:.1}s)",
            t.elapsed().as_secs_f64()
        );
        let result: Value = text
            .lines()
            .find_map(|l| l.strip_prefix("RESULT "))
            .map(|j| serde_json::from_str(j).expect("RESULT json"))
            .unwrap_or_else(|| panic!("no RESULT line:\n{text}"));
        (ok, result, text)
    }
}

/// Runs the lab locally on the setup's synthetic data with the choices
/// `choose` makes, and checks the pipeline's `result` has the same metrics
/// and the same feature_df, byte for byte; returns the local data path.
fn assert_same_as_local(
    setup: &Setup,
    result: &Value,
    text: &str,
    choose: impl FnOnce(&mut crypto_lab::stages::StageContext),
) -> PathBuf {
    use crypto_lab::prelude::*;
    let local = setup.root.path().join("local");
    std::fs::create_dir_all(&local).expect("local");
    for f in ["train.csv", "asset_details.csv"] {
        std::fs::copy(setup.root.path().join("synth").join(f), local.join(f)).expect("copy");
    }
    let mut ctx = StageContext::new(&local, &Silent);
    choose(&mut ctx);
    let run = run_pipeline(&ctx, &RunOptions::default()).expect("local run");
    let m = run.metrics().expect("metrics");
    let value = |name: &str| {
        m.metrics
            .iter()
            .find(|x| x.name == name)
            .map(|x| x.number_value)
            .expect("metric")
    };
    assert_eq!(
        metrics(result),
        (
            value("root-mean-squared-error"),
            value("weighted-correlation")
        ),
        "{text}"
    );
    let feature_df = result["outputs"]["feature-engineering"]["feature_df"]["path"]
        .as_str()
        .expect("feature_df artifact");
    assert_eq!(
        std::fs::read(feature_df).expect("artifact"),
        std::fs::read(local.join("feature_df.parquet")).expect("local"),
        "the pipeline's feature_df is the local run's, byte for byte"
    );
    local
}

fn python() -> Option<PathBuf> {
    kfp_python("CRYPTO_LAB_KFP2_PYTHON", "venv-kfp2")
}

fn tasks(result: &Value) -> &Vec<Value> {
    result["tasks"].as_array().expect("tasks")
}

fn statuses(result: &Value) -> Vec<(String, String)> {
    tasks(result)
        .iter()
        .map(|t| {
            (
                t["task"].as_str().unwrap_or("").to_string(),
                t["status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// The two metrics evaluation-result published on its `metrics` artifact
/// (through KFP's executor output when it ran; as recorded when cached).
fn metrics(result: &Value) -> (f64, f64) {
    let m = &result["outputs"]["evaluation-result"]["metrics"]["metadata"];
    let get = |name: &str| {
        m[name]
            .as_f64()
            .unwrap_or_else(|| panic!("metric {name} missing: {result}"))
    };
    (get("root-mean-squared-error"), get("weighted-correlation"))
}

/// A run of the artifacts form that must have succeeded: the six stages in
/// order, each given its inputs as artifacts and writing its outputs as
/// artifacts (no claim, no mount), `uid` the steps' user where it can be
/// told, and the metrics published.
fn assert_artifacts_run(result: &Value, text: &str, uid: Option<u64>) {
    let order: Vec<&str> = tasks(result)
        .iter()
        .map(|t| t["component"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(order, STAGE_COMPONENTS, "{text}");
    for t in tasks(result) {
        assert_eq!(t["rc"], 0, "{t}");
        if t["status"] == "cached" {
            continue;
        }
        assert_eq!(t["status"], "ran", "{t}");
        let command: Vec<&str> = t["command"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        for arg in &command {
            assert!(!arg.contains("{{"), "unresolved placeholder in {t}");
        }
        assert_eq!(t["mounts"], serde_json::json!([]), "no claim: {t}");
        if let (Some(uid), true) = (uid, result["root"] == true) {
            assert_eq!(t["uid"].as_u64(), Some(uid), "{t}");
        }
    }
    assert_eq!(result["claims_left"], serde_json::json!([]), "{text}");
    let outputs = &result["outputs"];
    for (task, name) in [
        ("download-data", "train_csv"),
        ("load-data", "df_train"),
        ("feature-engineering", "feature_df"),
        ("merge-assets-features", "merge_feature_df"),
        ("modeling", "model"),
        ("evaluation-result", "charts"),
    ] {
        assert!(
            outputs[task][name]["bytes"].as_u64().unwrap_or(0) > 0,
            "{task}'s {name} missing: {outputs}"
        );
    }
    metrics(result);
}

/// The default export on a KFP backend release.
fn default_export_runs_on(backend: &str) {
    let Some(python) = python() else { return };
    let setup = Setup::new(&format!("kfp-art-{backend}"));
    let export = setup.export("default", &[]);
    let (ok, result, text) = setup.run(
        &python,
        &export.join("pipeline.yaml"),
        &["--backend", backend],
    );
    assert!(ok, "the pipeline failed on {backend}:\n{text}");
    // The image's user, root; from 2.16 without any capability.
    assert_artifacts_run(&result, &text, Some(0));
    let dropped = matches!(backend, "2.16.0" | "2.17.0");
    for t in tasks(&result) {
        if result["root"] == true {
            assert_eq!(t["caps"], if dropped { "none" } else { "default" }, "{t}");
        }
    }
}

#[test]
fn the_default_export_runs_on_kfp_2_2() {
    default_export_runs_on("2.2.0");
}

#[test]
fn the_default_export_runs_on_kfp_2_5() {
    default_export_runs_on("2.5.0");
}

#[test]
fn the_default_export_runs_on_kfp_2_15() {
    default_export_runs_on("2.15.0");
}

#[test]
fn the_default_export_runs_on_kfp_2_17_where_every_step_drops_all_capabilities() {
    default_export_runs_on("2.17.0");
}

#[test]
fn the_default_export_runs_on_openshift_ai_under_restricted_v2() {
    let Some(python) = python() else { return };
    // OpenShift AI 3.4 ships backend 2.16.0; 2.25 ships 2.5.0.
    for backend in ["2.16.0", "2.5.0"] {
        let setup = Setup::new(&format!("kfp-art-openshift-{backend}"));
        let export = setup.export("default", &[]);
        let (ok, result, text) = setup.run(
            &python,
            &export.join("pipeline.yaml"),
            &["--cluster", "openshift", "--backend", backend],
        );
        assert!(ok, "the pipeline failed on OpenShift ({backend}):\n{text}");
        assert_artifacts_run(&result, &text, Some(OPENSHIFT_UID));
        if result["root"] == true {
            for t in tasks(&result).iter().filter(|t| t["status"] == "ran") {
                assert_eq!(t["gid"], 0, "{t}");
                assert_eq!(t["caps"], "none", "{t}");
            }
        }
    }
}

#[test]
fn the_vertex_file_runs_on_vertex_and_the_kubeflow_package_is_refused_there() {
    let Some(python) = python() else { return };
    let setup = Setup::new("kfp-art-vertex");
    let export = setup.export("default", &[]);
    // Vertex's SDK loads one YAML document: pipeline.yaml has two.
    let (ok, result, text) = setup.run(
        &python,
        &export.join("pipeline.yaml"),
        &["--cluster", "vertex"],
    );
    assert!(!ok && result["rejected"] == true, "{text}");
    assert!(
        text.contains("expected a single document in the stream"),
        "{text}"
    );
    // vertex/pipeline.yaml: no platform spec, so no Secret; `source` (the
    // archive's mirror, here a file) is what download-data reads.
    let (ok, result, text) = setup.run(
        &python,
        &export.join("vertex/pipeline.yaml"),
        &["--cluster", "vertex"],
    );
    assert!(ok, "the pipeline failed on Vertex:\n{text}");
    assert_artifacts_run(&result, &text, Some(0));
    let header = std::fs::read_to_string(export.join("vertex/pipeline.yaml")).expect("vertex");
    assert!(
        header.contains("set the run parameter `source`"),
        "{header}"
    );
}

#[test]
fn a_second_run_with_another_learning_rate_reuses_every_step_before_modeling() {
    let Some(python) = python() else { return };
    let setup = Setup::new("kfp-art-cache");
    let export = setup.export("kfp-2.17", &["--kfp-version", "2.17"]);
    let pipeline = export.join("pipeline.yaml");
    let (ok, first, text) = setup.run(&python, &pipeline, &["--backend", "2.17.0"]);
    assert!(ok, "{text}");
    assert!(
        tasks(&first).iter().all(|t| t["cache"] == "recorded"),
        "{text}"
    );
    let (ok, second, text) = setup.run(
        &python,
        &pipeline,
        &["--backend", "2.17.0", "--param", "learning_rate=0.05"],
    );
    assert!(ok, "{text}");
    assert_artifacts_run(&second, &text, None);
    let expected: Vec<(String, String)> = [
        ("download-data", "cached"),
        ("load-data", "cached"),
        ("feature-engineering", "cached"),
        ("merge-assets-features", "cached"),
        ("modeling", "ran"),
        ("evaluation-result", "ran"),
    ]
    .iter()
    .map(|(t, s)| (t.to_string(), s.to_string()))
    .collect();
    assert_eq!(statuses(&second), expected, "{text}");
    assert_ne!(
        metrics(&second),
        metrics(&first),
        "the new learning rate trained another model"
    );
    let command = tasks(&second)[4]["command"].to_string();
    assert!(
        command.contains("\"--learning-rate\",\"0.05\""),
        "{command}"
    );
    // The same choices again: every step from the cache, the same metrics.
    let (ok, third, text) = setup.run(
        &python,
        &pipeline,
        &["--backend", "2.17.0", "--param", "learning_rate=0.05"],
    );
    assert!(ok, "{text}");
    assert!(
        statuses(&third).iter().all(|(_, s)| s == "cached"),
        "{text}"
    );
    assert_eq!(metrics(&third), metrics(&second));
}

#[test]
fn a_notebook_export_runs_with_the_notebooks_choices_and_gives_the_notebooks_numbers() {
    use crypto_lab::kfp::{export_kfp, ExportOptions};
    use crypto_lab::prelude::*;
    let Some(python) = python() else { return };
    let setup = Setup::new("kfp-art-notebook");
    // What a student did in the notebook: another learning rate, no
    // calendar features.
    let params = ModelParams {
        learning_rate: 0.05,
        ..ModelParams::default()
    }
    .without_features(&["Day", "dayofyear", "weekofyear", "season"].map(String::from))
    .expect("features");
    let export = setup.root.path().join("kfp-notebook");
    let opts = ExportOptions {
        image: IMAGE.into(),
        model: params.clone(),
        ..ExportOptions::default()
    };
    export_kfp(&export, &opts).expect("export");
    let (ok, result, text) = setup.run(&python, &export.join("pipeline.yaml"), &[]);
    assert!(ok, "{text}");
    assert_artifacts_run(&result, &text, None);
    // The notebook's own run of the same choices on the same data.
    assert_same_as_local(&setup, &result, &text, |ctx| ctx.model = params.clone());
    let features = tasks(&result)[4]["command"].to_string();
    assert!(
        !features.contains("dayofyear") && features.contains("RSI_30"),
        "{features}"
    );
}

#[test]
fn the_volume_form_runs_without_a_capability_and_says_when_it_cannot_write() {
    let Some(python) = python() else { return };
    let setup = Setup::new("kfp-vol");
    let export = setup.export(
        "volume",
        &["--data", "volume", "--storage-class", "standard"],
    );
    let pipeline = export.join("pipeline.yaml");
    // 2.17: root without capabilities owns the fresh root:root claim.
    let (ok, result, text) = setup.run(&python, &pipeline, &["--backend", "2.17.0"]);
    assert!(ok, "{text}");
    assert_eq!(tasks(&result).len(), 9, "{text}");
    assert!(
        tasks(&result).iter().all(|t| t["status"] == "ran"),
        "caching is off in the volume form: {text}"
    );
    // OpenShift: a uid of the namespace's range writes through the fsGroup.
    let (ok, result, text) = setup.run(
        &python,
        &pipeline,
        &["--cluster", "openshift", "--backend", "2.16.0"],
    );
    assert!(ok, "{text}");
    if result["root"] == true {
        let claim = &result["claim"]["."];
        assert_eq!(claim["gid"], OPENSHIFT_UID, "{text}");
        assert_eq!(claim["mode"], "0o2775", "{text}");
    }
    // Vertex has no claims.
    let (ok, _, text) = setup.run(&python, &pipeline, &["--cluster", "vertex"]);
    assert!(!ok && text.contains("single document"), "{text}");
    // An image whose user is not the claim's owner, and no fsGroup: the
    // first step says so and names the fixes; no stage starts.
    if std::env::var_os("CRYPTO_LAB_NO_NAMESPACES").is_none() && is_root() {
        let (ok, result, text) = setup.run(
            &python,
            &pipeline,
            &[
                "--backend",
                "2.17.0",
                "--image-uid",
                "1000",
                "--image-gid",
                "1000",
            ],
        );
        assert!(!ok, "{text}");
        let log = result["logs"]["comp-prepare-volume"].as_str().unwrap_or("");
        assert!(
            log.contains("cannot write the volume")
                && log.contains("fsGroup")
                && log.contains("--data artifacts"),
            "{log}"
        );
        assert!(
            !tasks(&result)
                .iter()
                .any(|t| t["component"] == "comp-download-data"),
            "{text}"
        );
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn a_second_volume_run_after_a_lost_pod_starts_afresh_on_a_new_claim() {
    let Some(python) = python() else { return };
    let setup = Setup::new("kfp-vol-lost");
    let export = setup.export(
        "volume",
        &["--data", "volume", "--storage-class", "standard"],
    );
    let pipeline = export.join("pipeline.yaml");
    let (ok, first, text) = setup.run(
        &python,
        &pipeline,
        &["--backend", "2.2.0", "--lose-pod", "modeling"],
    );
    assert!(!ok, "the first run should fail with its lost pod:\n{text}");
    let claim = first["claim_name"]
        .as_str()
        .expect("claim name")
        .to_string();
    assert_eq!(
        first["claims_left"],
        serde_json::json!([claim]),
        "a failed run keeps its claim for inspection"
    );
    let (ok, second, text) = setup.run(&python, &pipeline, &["--backend", "2.2.0"]);
    assert!(ok, "the second run failed:\n{text}");
    assert_ne!(second["claim_name"], first["claim_name"], "{text}");
    assert!(
        tasks(&second).iter().all(|t| t["status"] == "ran"),
        "{text}"
    );
    assert_eq!(second["claims_left"], serde_json::json!([claim]), "{text}");
}

#[test]
fn an_export_for_a_newer_backend_is_refused_as_the_older_backend_refuses_it() {
    let Some(python) = python() else { return };
    let setup = Setup::new("kfp-strict");
    // A 2.15 export's Secret has `optional`, which 2.14 refuses at run creation.
    let export = setup.export("kfp-2.15", &["--kfp-version", "2.15"]);
    let (ok, result, text) = setup.run(
        &python,
        &export.join("pipeline.yaml"),
        &["--backend", "2.14.0"],
    );
    assert!(!ok && result["rejected"] == true, "{text}");
    assert!(text.contains("optional"), "{text}");
    // The resources' text fields: 2.3 does not know them, so it refuses the upload.
    let (ok, result, text) = setup.run(
        &python,
        &export.join("pipeline.yaml"),
        &["--backend", "2.3.0"],
    );
    assert!(!ok && result["rejected"] == true, "{text}");
    assert!(text.contains("resourceCpuRequest"), "{text}");
    // The volume form's mount by pvcNameParameter fails 2.4.0's strict driver.
    let export = setup.export(
        "volume-2.15",
        &[
            "--data",
            "volume",
            "--kfp-version",
            "2.15",
            "--storage-class",
            "s",
        ],
    );
    let (ok, _, text) = setup.run(
        &python,
        &export.join("pipeline.yaml"),
        &["--backend", "2.4.0"],
    );
    assert!(!ok && text.contains("pvcNameParameter"), "{text}");
}

#[test]
fn the_emulated_image_user_is_the_dockerfiles() {
    // run_local.py runs a step without an applied security context as
    // --image-uid, default 0: the Dockerfile's runtime stage sets no USER.
    let dockerfile =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Dockerfile"))
            .expect("Dockerfile");
    let runtime = dockerfile
        .rsplit("\nFROM ")
        .next()
        .expect("a runtime stage");
    assert!(
        !runtime.lines().any(|l| l.trim_start().starts_with("USER ")),
        "the image's default user must be root, the owner of a fresh claim (volume form)"
    );
    assert!(runtime.contains("useradd --create-home --uid 1000 lab"));
}

/// The dev image's layout on this machine, for the emulator: this checkout
/// as its crate (source, Cargo.lock, .cargo/config.toml, the built target/),
/// cargo and rust-script on its PATH. `None` (the test skips) without
/// rust-script, except under CI.
fn dev_layout() -> Option<Vec<String>> {
    let home = PathBuf::from(std::env::var_os("HOME")?);
    let (cargo, script) = (tool_dir("cargo")?, tool_dir("rust-script")?);
    let var = |name: &str, default: PathBuf| std::env::var_os(name).map_or(default, PathBuf::from);
    Some(vec![
        "--dev-image".into(),
        DEV_IMAGE.into(),
        "--dev-path".into(),
        format!("{}:{}", cargo.display(), script.display()),
        "--dev-env".into(),
        format!("CRYPTO_LAB_SOURCE={}", env!("CARGO_MANIFEST_DIR")),
        "--dev-env".into(),
        format!(
            "CARGO_HOME={}",
            var("CARGO_HOME", home.join(".cargo")).display()
        ),
        "--dev-env".into(),
        format!(
            "RUSTUP_HOME={}",
            var("RUSTUP_HOME", home.join(".rustup")).display()
        ),
    ])
}

const DEV_IMAGE: &str = "registry.example/crypto-lab-dev:test";

/// The functions of tests/fixtures/edited_functions.rs, compiled here.
mod edited {
    #![allow(dead_code)]
    include!("fixtures/edited_functions.rs");
    pub const RSI_ON_OPEN: crypto_lab::stages::feature_engineering::GetFeatures = rsi_on_open;
    pub const EQUAL_WEIGHTS: crypto_lab::stages::modeling::Feval = equal_weights;
}

#[test]
fn edited_functions_run_as_rust_lightweight_components_and_give_the_local_numbers() {
    use crypto_lab::kfp::export::edited::function_from_file;
    use crypto_lab::kfp::export::EditedCode;
    use crypto_lab::kfp::{export_kfp, ExportOptions};
    use crypto_lab::prelude::*;
    let Some(python) = python() else { return };
    let Some(dev) = dev_layout() else { return };
    let setup = Setup::new("kfp-edited");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/edited_functions.rs");
    let source = source.display().to_string();
    let code = EditedCode {
        get_features: Some(
            function_from_file(&format!("{source}:rsi_on_open"), "").expect("get_features"),
        ),
        feval: Some(function_from_file(&format!("{source}:equal_weights"), "").expect("feval")),
    };
    let export = setup.root.path().join("kfp-edited");
    let opts = ExportOptions {
        image: IMAGE.into(),
        dev_image: DEV_IMAGE.into(),
        code,
        ..ExportOptions::default()
    };
    export_kfp(&export, &opts).expect("export");
    let mut extra: Vec<&str> = dev.iter().map(String::as_str).collect();
    extra.extend(["--backend", "2.17.0"]);
    let (ok, result, text) = setup.run(&python, &export.join("pipeline.yaml"), &extra);
    assert!(ok, "{text}");
    assert_artifacts_run(&result, &text, Some(0));
    // Only the steps that call an edited function run in the dev image.
    let images: Vec<(&str, &str)> = tasks(&result)
        .iter()
        .map(|t| {
            (
                t["task"].as_str().unwrap_or(""),
                t["image"].as_str().unwrap_or(""),
            )
        })
        .collect();
    for (task, image) in &images {
        let dev = matches!(*task, "feature-engineering" | "modeling");
        assert_eq!(*image, if dev { DEV_IMAGE } else { IMAGE }, "{task}");
    }
    let log = result["logs"]["comp-feature-engineering"]
        .as_str()
        .unwrap_or("");
    assert!(log.contains("run-script: built"), "{log}");
    // The same functions run locally on the same data.
    let local = assert_same_as_local(&setup, &result, &text, |ctx| {
        ctx.functions.get_features = ("rsi_on_open", edited::RSI_ON_OPEN);
        ctx.functions.feval = ("equal_weights", edited::EQUAL_WEIGHTS);
    });
    // And the lab's own functions would have given other numbers.
    let crate_ctx = StageContext::new(&local, &Silent);
    let lab = run_pipeline(
        &crate_ctx,
        &RunOptions {
            force: true,
            ..RunOptions::default()
        },
    )
    .expect("lab run");
    let lab = lab.metrics().expect("metrics");
    let lab = (lab.metrics[0].number_value, lab.metrics[1].number_value);
    assert_ne!(lab, metrics(&result), "the edits changed the model");
}
