//! The exported pipeline run as KFP runs it: `pipeline.yaml` executed by
//! kfp 2.17's own local orchestration (`kfp.local`, DockerRunner) through
//! tests/kfp/run_local.py, which replaces only the container call by a local
//! process: the binary standing for the image, the claim's folder (fresh,
//! root:root 0755) bind-mounted at its mount path in a mount namespace of
//! its own, each step as the image's default user (root, the Dockerfile's)
//! or as the security context the pipeline asks for where the emulated
//! backend release applies it, with that release's cache (`--backend`).
//!
//! Needs the kfp 2 venv (`.ci/setup`; skipped without it except under CI)
//! and, for the namespaces and the user switch, root (as in CI). Without
//! mount namespaces the steps' args name the claim's folder instead of
//! /mnt; without root they run as the current user.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value;

/// Tasks in the order KFP must run them.
const ORDER: [&str; 9] = [
    "comp-createpvc",
    "comp-prepare-volume",
    "comp-download-data",
    "comp-load-data",
    "comp-feature-engineering",
    "comp-merge-assets-features",
    "comp-modeling",
    "comp-evaluation-result",
    "comp-deletepvc",
];

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

/// A small competition archive (6 days of synthetic bars, 2 of them after the validation split) as a zip, the
/// `source` run parameter of download_data.
fn synthetic_zip(dir: &Path) -> std::path::PathBuf {
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
/// synthetic archive and an export for `kfp_version`, in a fresh folder.
struct Setup {
    root: TempDir,
    bin: std::path::PathBuf,
    zip: std::path::PathBuf,
}

const IMAGE: &str = "registry.example/crypto-lab:test";

impl Setup {
    fn new(tag: &str) -> Self {
        let root = TempDir::new(tag);
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

    /// `export-kfp --kfp-version kfp_version`; returns the pipeline file.
    fn export(&self, kfp_version: &str) -> std::path::PathBuf {
        let export = self.root.path().join(format!("kfp-{kfp_version}"));
        run(Command::new(crypto_lab_bin()).args([
            "export-kfp",
            "--quiet",
            "--out",
            &export.display().to_string(),
            "--image",
            IMAGE,
            "--storage-class",
            "standard",
            "--kfp-version",
            kfp_version,
        ]));
        export.join("pipeline.yaml")
    }

    /// One run of `pipeline` on the cluster kept in `work` (claims and
    /// cache), as backend `backend`; `extra`: more run_local.py flags.
    fn run(
        &self,
        python: &Path,
        pipeline: &Path,
        backend: &str,
        extra: &[&str],
    ) -> (bool, Value, String) {
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
            "--backend".into(),
            backend.into(),
            "--param".into(),
            format!("source={}", self.zip.display()),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        let t = std::time::Instant::now();
        let (ok, text) = run_kfp_script(python, "run_local.py", &args);
        println!(
            "{text}\n(kfp.local run as {backend}: {:.1}s)",
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

/// A run that must have succeeded: every task in order, each step's data
/// path the volume, the claim handed over and deleted, the model and
/// predictions published; `stage_uid`: who the stages ran as.
fn assert_complete_run(result: &Value, text: &str, stage_uid: u64) {
    let tasks = result["tasks"].as_array().expect("tasks");
    let order: Vec<&str> = tasks
        .iter()
        .map(|t| t["component"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(order, ORDER, "{text}");
    for t in tasks {
        assert_eq!(t["rc"], 0, "{t}");
        assert_eq!(t["status"], "ran", "no step may come from the cache: {t}");
        let command: Vec<&str> = t["command"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        for arg in &command {
            assert!(!arg.contains("{{"), "unresolved placeholder in {t}");
        }
        if matches!(
            t["component"].as_str(),
            Some("comp-createpvc" | "comp-deletepvc")
        ) {
            continue;
        }
        // Each step's data path is the volume, whatever the run's parameters.
        let at = command
            .iter()
            .position(|a| *a == "--data-path")
            .expect("--data-path");
        assert_eq!(command[at + 1], "/mnt", "{t}");
        assert_eq!(t["mounts"], serde_json::json!(["/mnt"]), "{t}");
    }
    if result["namespaces"] != true {
        eprintln!("NOTE: no mount namespaces: the steps' args named the claim's folder");
    }
    let log = result["logs"]["comp-prepare-volume"].as_str().unwrap_or("");
    assert!(log.contains("prepare-volume: "), "{log}");
    if result["root"] == true {
        // prepare-volume as the image's user, root, which hands the claim
        // over; the stages as `stage_uid`.
        assert_eq!(tasks[1]["uid"], 0, "{}", tasks[1]);
        assert!(log.contains("now owned by 1000:1000"), "{log}");
        for t in &tasks[2..8] {
            assert_eq!(
                (t["uid"].as_u64(), t["gid"].as_u64()),
                (Some(stage_uid), Some(stage_uid)),
                "{t}"
            );
        }
        let claim = result["claim"].as_object().expect("claim");
        assert_eq!(claim["."]["uid"], 1000, "the claim was not handed over");
        for (name, owner) in claim {
            if name != "." {
                assert_eq!(owner["uid"], stage_uid, "{name} is not the stages' user's");
            }
        }
        assert!(claim.contains_key("train.csv") && claim.contains_key("lgb.txt"));
    } else {
        eprintln!("NOTE: not root: the steps ran as the current user");
    }
    // The run's claim is gone; the results live in KFP's artifacts.
    let left = result["claims_left"].as_array().expect("claims_left");
    assert!(
        !left.contains(&result["claim_name"]),
        "the run left its claim behind: {left:?}"
    );
    for name in ["model", "predictions", "metrics", "charts", "summary"] {
        assert!(
            result["artifacts"][name]["bytes"].as_u64().unwrap_or(0) > 0,
            "artifact {name} missing: {}",
            result["artifacts"]
        );
    }
    let metadata = &result["executor_output"]["artifacts"]["metrics"]["artifacts"][0]["metadata"];
    for name in ["root-mean-squared-error", "weighted-correlation"] {
        assert!(
            metadata[name].is_number(),
            "metric {name} missing: {result}"
        );
    }
}

#[test]
fn the_pipeline_runs_on_a_fresh_root_owned_volume_as_kfp_2_17_runs_it() {
    let Some(python) = kfp_python("CRYPTO_LAB_KFP2_PYTHON", "venv-kfp2") else {
        return;
    };
    let setup = Setup::new("kfp-local-217");
    let pipeline = setup.export("2.17");
    let (ok, result, text) = setup.run(&python, &pipeline, "2.17.0", &[]);
    assert!(ok, "the pipeline failed:\n{text}");
    assert_eq!(result["claims_left"], serde_json::json!([]), "{text}");
    // 2.16 on applies the security context: the stages are not root.
    assert_complete_run(&result, &text, 1000);
}

#[test]
fn the_pipeline_runs_where_the_backend_drops_the_security_context() {
    let Some(python) = kfp_python("CRYPTO_LAB_KFP2_PYTHON", "venv-kfp2") else {
        return;
    };
    let setup = Setup::new("kfp-local-25");
    // A 2.17 export on 2.5 (Kubeflow 1.10): the driver drops what it does not
    // know, so every step runs as the image's user, root.
    let pipeline = setup.export("2.17");
    let (ok, result, text) = setup.run(&python, &pipeline, "2.5.0", &[]);
    assert!(ok, "the pipeline failed:\n{text}");
    assert_complete_run(&result, &text, 0);
}

#[test]
fn a_second_run_after_a_lost_pod_starts_afresh_under_a_cache_without_the_claim() {
    let Some(python) = kfp_python("CRYPTO_LAB_KFP2_PYTHON", "venv-kfp2") else {
        return;
    };
    let setup = Setup::new("kfp-local-22");
    // The default export, which every backend runs, on 2.2 (Kubeflow 1.9):
    // strict driver, no security context, a cache key without the claim.
    let pipeline = setup.export("2.0");
    let (ok, first, text) = setup.run(&python, &pipeline, "2.2.0", &["--lose-pod", "modeling"]);
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
    let (ok, second, text) = setup.run(&python, &pipeline, "2.2.0", &[]);
    assert!(ok, "the second run failed:\n{text}");
    assert_ne!(second["claim_name"], first["claim_name"], "{text}");
    assert_complete_run(&second, &text, 0);
    assert_eq!(second["claims_left"], serde_json::json!([claim]), "{text}");
}

#[test]
fn an_export_for_a_newer_backend_is_refused_as_the_older_backend_refuses_it() {
    let Some(python) = kfp_python("CRYPTO_LAB_KFP2_PYTHON", "venv-kfp2") else {
        return;
    };
    let setup = Setup::new("kfp-local-strict");
    // What the export's --kfp-version guards against: a 2.17 pipeline on 2.15
    // is refused at run creation, on 2.4.0 its first mounted step fails.
    let pipeline = setup.export("2.17");
    let (ok, result, text) = setup.run(&python, &pipeline, "2.15.0", &[]);
    assert!(!ok && result["rejected"] == true, "{text}");
    assert!(text.contains("securityContext"), "{text}");
    let (ok, _, text) = setup.run(&python, &pipeline, "2.4.0", &[]);
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
        "the image's default user must be root for prepare-volume"
    );
    assert!(runtime.contains("useradd --create-home --uid 1000 lab"));
}
