//! The exported pipeline run as KFP runs it: `pipeline.yaml` executed by
//! kfp 2.17's own local orchestration (`kfp.local`, DockerRunner) through
//! tests/kfp/run_local.py, which replaces only the container call by a local
//! process: the binary standing for the image, the claim's folder (fresh,
//! root:root 0755) bind-mounted at its mount path in a mount namespace of
//! its own, each step as the image's user (uid 1000, no supplementary
//! groups) or as the security context the pipeline asks for.
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
const ORDER: [&str; 8] = [
    "comp-createpvc",
    "comp-prepare-volume",
    "comp-download-data",
    "comp-load-data",
    "comp-feature-engineering",
    "comp-merge-assets-features",
    "comp-modeling",
    "comp-evaluation-result",
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

#[test]
fn the_exported_pipeline_runs_under_kfp_local_on_a_fresh_root_owned_volume() {
    let Some(python) = kfp_python("CRYPTO_LAB_KFP2_PYTHON", "venv-kfp2") else {
        return;
    };
    let root = TempDir::new("kfp-local");
    // Readable by the steps' user: the image (binary) and the archive.
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
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

    let image = "registry.example/crypto-lab:test";
    let export = root.path().join("kfp");
    run(Command::new(crypto_lab_bin()).args([
        "export-kfp",
        "--quiet",
        "--out",
        &export.display().to_string(),
        "--image",
        image,
        "--storage-class",
        "standard",
    ]));

    let work = root.path().join("work");
    let t = std::time::Instant::now();
    let (ok, text) = run_kfp_script(
        &python,
        "run_local.py",
        &[
            export.join("pipeline.yaml").display().to_string(),
            "--bin-dir".into(),
            bin.display().to_string(),
            "--work".into(),
            work.display().to_string(),
            "--image".into(),
            image.into(),
            "--param".into(),
            format!("source={}", zip.display()),
        ],
    );
    println!("{text}\n(kfp.local run: {:.1}s)", t.elapsed().as_secs_f64());
    let result: Value = text
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .map(|j| serde_json::from_str(j).expect("RESULT json"))
        .unwrap_or_else(|| panic!("no RESULT line:\n{text}"));
    assert!(ok, "the pipeline failed:\n{text}");

    // Every step ran, in the pipeline's order, and succeeded.
    let tasks = result["tasks"].as_array().expect("tasks");
    let order: Vec<&str> = tasks
        .iter()
        .map(|t| t["component"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(order, ORDER, "{text}");
    for t in tasks {
        assert_eq!(t["rc"], 0, "{t}");
        let command: Vec<&str> = t["command"]
            .as_array()
            .expect("command")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for arg in &command {
            assert!(!arg.contains("{{"), "unresolved placeholder in {t}");
        }
        if t["component"] == "comp-createpvc" {
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
    if result["root"] == true {
        // The lab's steps ran as the image's user; only prepare-volume as root.
        for t in &tasks[2..] {
            assert_eq!(
                (t["uid"].as_u64(), t["gid"].as_u64()),
                (Some(1000), Some(1000)),
                "{t}"
            );
        }
        assert_eq!(tasks[1]["uid"], 0);
        let claim = result["claim"].as_object().expect("claim");
        for (name, owner) in claim {
            if name != "." {
                assert_eq!(owner["uid"], 1000, "{name} is not the image user's");
            }
        }
        assert!(claim.contains_key("train.csv") && claim.contains_key("lgb.txt"));
    } else {
        eprintln!("NOTE: not root: the steps ran as the current user");
    }
    let log = result["logs"]["comp-prepare-volume"].as_str().unwrap_or("");
    assert!(log.contains("prepare-volume: "), "{log}");
    if result["root"] == true {
        // As KFP runs it: root without CAP_CHOWN, so the mode opens.
        assert!(log.contains("mode set to 01777"), "{log}");
    }

    // What evaluation-result handed back to KFP: the metrics on the artifact.
    let metadata = &result["executor_output"]["artifacts"]["metrics"]["artifacts"][0]["metadata"];
    for name in ["root-mean-squared-error", "weighted-correlation"] {
        assert!(
            metadata[name].is_number(),
            "metric {name} missing: {result}"
        );
    }
}
