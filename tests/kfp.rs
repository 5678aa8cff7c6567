//! The KFP exporter, checked by the real kfp SDKs: kfp 2.17.3 + kfp-kubernetes
//! for the v2 files, kfp 1.8.22 for the v1 files (tests/kfp/check_v*.py).
//!
//! The SDKs live in Python venvs that `.ci/setup` makes
//! (`~/.cache/crypto-lab/venv-kfp2`, `venv-kfp1`; or set CRYPTO_LAB_KFP2_PYTHON
//! and CRYPTO_LAB_KFP1_PYTHON). Without them the SDK checks say so and pass,
//! except under CI (CI=true), where a missing SDK fails the test.

use std::path::Path;
use std::process::Command;

use crate::common::*;

/// `crypto-lab ARGS`, which must succeed, with Kaggle credentials in its
/// environment (none may reach an exported file).
fn crypto_lab_with_secrets(args: &[&str]) -> std::process::Output {
    let out = crypto_lab_cmd(args)
        .env("KAGGLE_USERNAME", "exporter-user")
        .env("KAGGLE_KEY", "exporter-secret-key")
        .output()
        .expect("run crypto-lab");
    assert!(
        out.status.success(),
        "crypto-lab {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn check(python: &Path, script: &str, args: &[&Path]) {
    let (ok, text) = run_kfp_script(python, script, args);
    println!("{text}");
    assert!(ok, "tests/kfp/{script} failed:\n{text}");
}

fn export(dir: &Path, extra: &[&str]) {
    let d = dir.display().to_string();
    let mut args = vec![
        "export-kfp",
        "--out",
        &d,
        "--image",
        "registry.example/crypto-lab:test",
    ];
    args.extend_from_slice(extra);
    crypto_lab_with_secrets(&args);
}

#[test]
fn exported_files_name_every_stage_and_hold_no_secret() {
    let dir = temp_dir("kfp-files");
    export(dir.path(), &[]);
    for stage in &crypto_lab::stages::STAGES {
        for file in [
            dir.path().join(format!("components/{}.yaml", stage.name)),
            dir.path()
                .join(format!("components/v1/{}.yaml", stage.name)),
        ] {
            let text = std::fs::read_to_string(&file).expect("component");
            assert!(text.contains(stage.command), "{}", file.display());
            assert!(text.contains("registry.example/crypto-lab:test"));
        }
    }
    for file in ["pipeline.yaml", "v1/pipeline.yaml"] {
        let text = std::fs::read_to_string(dir.path().join(file)).expect("pipeline");
        assert!(!text.contains("exporter-secret-key") && !text.contains("exporter-user"));
        assert!(
            text.contains("kaggle-secret"),
            "credentials come from the Secret"
        );
    }
    let v2 = std::fs::read_to_string(dir.path().join("pipeline.yaml")).expect("v2");
    assert_eq!(
        v2.matches("\n---\n").count(),
        1,
        "pipeline and platform documents"
    );
    // Vertex's file: one document, no Secret (it has none), nothing mounted.
    let vertex = std::fs::read_to_string(dir.path().join("vertex/pipeline.yaml")).expect("vertex");
    assert!(!vertex.contains("\n---\n") && !vertex.contains("platforms"));
    assert!(!vertex.contains("exporter-secret-key") && !vertex.contains("kaggle-secret"));
}

#[test]
fn the_kfp_sdks_accept_every_exported_file() {
    let kfp2 = kfp_python("CRYPTO_LAB_KFP2_PYTHON", "venv-kfp2");
    let kfp1 = kfp_python("CRYPTO_LAB_KFP1_PYTHON", "venv-kfp1");

    // What evaluation-result publishes through KFP v2's executor protocol.
    let data = fixture_data_path("kfp-eval");
    let d = data.path().display().to_string();
    crypto_lab_with_secrets(&["run", "--data-path", &d]);
    let output_file = data.path().join("kfp/outputs/output_metadata.json");
    let executor_input = serde_json::json!({
        "inputs": {"parameterValues": {"data_path": d}},
        "outputs": {
            "artifacts": {"metrics": {"artifacts": [{
                "name": "metrics",
                "type": {"schemaTitle": "system.Metrics", "schemaVersion": "0.0.1"},
                "uri": "minio://mlpipeline/v2/artifacts/run/evaluation-result/metrics",
                "metadata": {},
            }]}},
            "outputFile": output_file,
        },
    });
    let art = data.path().join("kfp/artifacts");
    let metrics_file = art.join("metrics");
    let ui_file = art.join("mlpipeline_ui_metadata");
    crypto_lab_with_secrets(&[
        "evaluation-result",
        "--data-path",
        &d,
        "--metrics-path",
        &metrics_file.display().to_string(),
        "--charts-path",
        &art.join("charts").display().to_string(),
        "--summary-path",
        &art.join("summary").display().to_string(),
        "--ui-metadata-path",
        &ui_file.display().to_string(),
        "--model-path",
        &art.join("model").display().to_string(),
        "--predictions-path",
        &art.join("predictions").display().to_string(),
        "--executor-input",
        &executor_input.to_string(),
    ]);
    assert!(output_file.is_file() && metrics_file.is_file());
    assert!(std::fs::read_to_string(art.join("charts"))
        .expect("html")
        .contains("<svg"));
    assert!(std::fs::read_to_string(art.join("summary"))
        .expect("md")
        .starts_with("# "));
    let ui: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&ui_file).expect("ui")).expect("json");
    assert_eq!(ui["outputs"][0]["type"], "markdown");
    assert_eq!(ui["outputs"][1]["type"], "web-app");
    // The published results are the volume's files, byte for byte.
    for (copy, original) in [
        ("model", "lgb.txt"),
        ("predictions", "valid_predictions.parquet"),
    ] {
        assert_eq!(
            std::fs::read(art.join(copy)).expect("copy"),
            std::fs::read(data.path().join(original)).expect("original"),
            "{copy}"
        );
    }

    for (tag, extra) in [
        ("defaults", &[][..]),
        (
            "choices",
            &[
                "--learning-rate",
                "0.05",
                "--n-estimators",
                "300",
                "--drop-features",
                "Day,season",
                "--keep-target-nan",
                "--valid-from",
                "2021-04-01",
                "--param",
                "num_leaves=63",
                "--kaggle-secret",
                "my-kaggle",
                "--cpu",
                "all=500m:2",
                "--memory",
                "modeling=6Gi:12Gi",
            ][..],
        ),
        (
            "volume",
            &[
                "--data",
                "volume",
                "--mount-path",
                "/data",
                "--pvc-size",
                "20Gi",
                "--storage-class",
                "standard",
            ][..],
        ),
        // One export per range of backend releases that knows other fields.
        ("kfp-2.4", &["--kfp-version", "2.4"][..]),
        (
            "kfp-2.5",
            &["--kfp-version", "2.5", "--data", "volume", "--keep-volume"][..],
        ),
        ("kfp-2.15", &["--kfp-version", "2.15"][..]),
        (
            "kfp-2.17",
            &[
                "--kfp-version",
                "2.17.0",
                "--data",
                "volume",
                "--storage-class",
                "gp3",
            ][..],
        ),
    ] {
        let dir = temp_dir(&format!("kfp-sdk-{tag}"));
        export(dir.path(), extra);
        if let Some(py) = &kfp2 {
            check(py, "check_v2.py", &[dir.path(), &output_file]);
        }
        if let Some(py) = &kfp1 {
            check(py, "check_v1.py", &[dir.path()]);
        }
    }
}

#[test]
fn the_artifacts_form_wires_files_caches_and_takes_the_notebooks_choices_as_run_parameters() {
    use crypto_lab::kfp::{export::v2, ExportOptions};
    use crypto_lab::prelude::*;
    use serde_json::json;
    let opts = ExportOptions {
        model: ModelParams {
            learning_rate: 0.05,
            ..ModelParams::default()
        },
        features: FeatureOptions {
            keep_target_nan: true,
            ..FeatureOptions::default()
        },
        ..ExportOptions::default()
    };
    let (spec, platform) = v2::pipeline(&opts);
    let params = spec["root"]["inputDefinitions"]["parameters"]
        .as_object()
        .expect("parameters");
    let names: Vec<&String> = params.keys().collect();
    for name in [
        "n_estimators",
        "objective",
        "metric",
        "boosting_type",
        "max_depth",
        "learning_rate",
        "seed",
        "verbose",
        "early_stopping_rounds",
        "verbose_eval",
        "features",
        "valid_from",
        "keep_target_nan",
        "dataset",
        "source",
    ] {
        assert!(params.contains_key(name), "{name} not in {names:?}");
    }
    assert!(!params.contains_key("data_path"));
    assert_eq!(params["learning_rate"]["defaultValue"], json!(0.05));
    assert_eq!(params["learning_rate"]["parameterType"], "NUMBER_DOUBLE");
    assert_eq!(params["n_estimators"]["parameterType"], "NUMBER_INTEGER");
    assert_eq!(params["keep_target_nan"]["defaultValue"], json!(true));
    let tasks = spec["root"]["dag"]["tasks"].as_object().expect("tasks");
    assert_eq!(tasks.len(), 6, "no claim, no prepare-volume");
    for (name, task) in tasks {
        assert_eq!(
            task["cachingOptions"],
            json!({"enableCache": true}),
            "{name}"
        );
    }
    // evaluation-result reads from three steps; KFP orders by the data.
    assert_eq!(
        tasks["evaluation-result"]["dependentTasks"],
        json!(["load-data", "merge-assets-features", "modeling"])
    );
    assert_eq!(
        tasks["modeling"]["inputs"]["artifacts"]["merge_feature_df"],
        json!({"taskOutputArtifact": {
            "outputArtifactKey": "merge_feature_df",
            "producerTask": "merge-assets-features",
        }})
    );
    let modeling = &spec["components"]["comp-modeling"]["outputDefinitions"]["artifacts"];
    assert_eq!(
        modeling["model"]["artifactType"]["schemaTitle"],
        "system.Model"
    );
    // The only Kubernetes feature: the Secret as download-data's environment.
    let platform = platform.expect("platform spec");
    let execs = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
        .as_object()
        .expect("executors");
    assert_eq!(execs.keys().collect::<Vec<_>>(), ["exec-download-data"]);
    assert!(execs["exec-download-data"].get("pvcMount").is_none());
    // CPU and memory for a ResourceQuota; the default (2.0) in the fields
    // every backend reads.
    let res = &spec["deploymentSpec"]["executors"]["exec-modeling"]["container"]["resources"];
    assert_eq!(res["cpuRequest"], json!(2.0));
    assert_eq!(res["memoryLimit"], json!(8.589934592));
    assert!(res.get("resourceMemoryLimit").is_none());
}

#[test]
fn the_volume_form_fixes_data_path_to_the_mount_and_checks_the_volume_first() {
    use crypto_lab::kfp::export::{v2, DataForm};
    use crypto_lab::kfp::ExportOptions;
    use serde_json::json;
    let opts = ExportOptions {
        data: DataForm::Volume,
        data_path: "/data/lab".into(),
        ..ExportOptions::default()
    };
    let (spec, platform) = v2::pipeline(&opts);
    // Run parameters: no data_path, which could point a step off the volume.
    assert!(spec["root"]["inputDefinitions"]["parameters"]
        .get("data_path")
        .is_none());
    let tasks = spec["root"]["dag"]["tasks"].as_object().expect("tasks");
    for (name, task) in tasks {
        // Caching off everywhere: the claim is in no cache key before 2.15.
        assert_eq!(task["cachingOptions"], json!({}), "{name}");
        if name != "createpvc" && name != "deletepvc" {
            assert_eq!(
                task["inputs"]["parameters"]["data_path"],
                json!({"runtimeValue": {"constant": "/data/lab"}}),
                "{name}"
            );
        }
    }
    assert_eq!(
        tasks["download-data"]["dependentTasks"],
        json!(["createpvc", "prepare-volume"])
    );
    assert_eq!(
        tasks["prepare-volume"]["dependentTasks"],
        json!(["createpvc"])
    );
    // The claim goes after the last stage, which publishes the results first.
    assert_eq!(
        tasks["deletepvc"]["dependentTasks"],
        json!(["createpvc", "evaluation-result"])
    );
    let prepare = &spec["deploymentSpec"]["executors"]["exec-prepare-volume"]["container"];
    assert_eq!(prepare["args"][3], "--check", "it only checks: no chown");
    let outputs = &spec["components"]["comp-evaluation-result"]["outputDefinitions"]["artifacts"];
    assert_eq!(
        outputs["model"]["artifactType"]["schemaTitle"],
        "system.Model"
    );
    let platform = platform.expect("platform spec");
    let execs = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
        .as_object()
        .expect("executors");
    assert_eq!(execs.len(), 7);
    for (name, cfg) in execs {
        assert_eq!(cfg["pvcMount"][0]["mountPath"], "/data/lab", "{name}");
        assert!(cfg.get("securityContext").is_none(), "{name}");
        assert!(
            cfg["pvcMount"][0].get("pvcNameParameter").is_none(),
            "{name}"
        );
    }
    // No backend gets a security context: every step is the image's user.
    let newer = ExportOptions {
        kfp_version: "2.17".parse().expect("version"),
        keep_volume: true,
        ..opts.clone()
    };
    let (spec, platform) = v2::pipeline(&newer);
    let platform = platform.expect("platform spec");
    let execs = &platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"];
    for (name, cfg) in execs.as_object().expect("executors") {
        assert!(cfg.get("securityContext").is_none(), "{name}");
    }
    assert!(spec["root"]["dag"]["tasks"].get("deletepvc").is_none());
    // No class given: left out, and export-kfp says what KFP then asks for.
    assert!(tasks["createpvc"]["inputs"]["parameters"]
        .get("storage_class_name")
        .is_none());
    let dir = temp_dir("kfp-note");
    let out = Command::new(crypto_lab_bin())
        .args(["export-kfp", "--quiet", "--data", "volume", "--out"])
        .arg(dir.path())
        .output()
        .expect("export");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("asks for the class `standard`") && stderr.contains("--storage-class"),
        "{stderr}"
    );
    assert!(crypto_lab::kfp::export::vertex_pipeline_yaml(&opts)
        .expect_err("no volume on Vertex")
        .to_string()
        .contains("--data artifacts"));
}

/// Every container argument list the exporter writes, with KFP's
/// placeholders (`{{$.inputs.parameters['data_path']}}`, `{inputValue: ..}`,
/// `{{inputs.parameters.data_path}}`) replaced by the kind of value KFP puts
/// there at run time.
fn exported_arg_lists(opts: &crypto_lab::kfp::ExportOptions) -> Vec<Vec<String>> {
    use crypto_lab::kfp::{export::v1, export::v2, runtime::volume};
    use serde_json::Value;
    let concrete = |v: &Value| -> String {
        match v {
            Value::String(s) if s == "{{$}}" => r#"{"outputs": {}}"#.to_string(),
            // A run parameter: its default as KFP's launcher writes it.
            Value::String(s) if s.starts_with("{{$.inputs.parameters['") => {
                let name = s
                    .trim_start_matches("{{$.inputs.parameters['")
                    .trim_end_matches("']}}");
                opts.default_of(name)
            }
            Value::String(s) if s.contains("{{") => "/mnt/value".to_string(),
            Value::String(s) => s.clone(),
            Value::Object(_) => "/mnt/value".to_string(),
            other => other.to_string(),
        }
    };
    let of = |args: &Value| -> Vec<String> {
        args.as_array()
            .unwrap_or_else(|| panic!("args are not a list: {args}"))
            .iter()
            .map(concrete)
            .collect()
    };
    let mut lists = Vec::new();
    let (ir, _) = v2::pipeline(opts);
    for (_, exec) in ir["deploymentSpec"]["executors"]
        .as_object()
        .expect("executors")
    {
        // KFP's own createpvc stub runs no crypto-lab.
        if exec["container"]["command"] == serde_json::json!(["crypto-lab"]) {
            lists.push(of(&exec["container"]["args"]));
        }
    }
    let mut components = vec![(&volume::PREPARE_STAGE, String::new())];
    for stage in crypto_lab::stages::STAGES {
        let c = v1::component(stage, opts);
        lists.push(of(&c["implementation"]["container"]["args"]));
        components.push((stage, v1::component_text(stage, opts)));
    }
    let argo = v1::pipeline(opts, &components);
    for t in argo["spec"]["templates"].as_array().expect("templates") {
        if let Some(args) = t.get("container").and_then(|c| c.get("args")) {
            lists.push(of(args));
        }
    }
    lists
}

#[test]
fn every_exported_container_parses_with_the_real_command_line() {
    let opts = crypto_lab::kfp::ExportOptions {
        storage_class: Some("standard".into()),
        ..Default::default()
    };
    let volume = crypto_lab::kfp::ExportOptions {
        data: crypto_lab::kfp::export::DataForm::Volume,
        ..opts.clone()
    };
    let mut lists = exported_arg_lists(&opts);
    lists.extend(exported_arg_lists(&volume));
    // prepare-volume and six stages in each of the v2 IR, the v1 components
    // and the v1 Argo workflow (less the v1 components' prepare-volume).
    assert!(lists.len() >= 19, "{} argument lists", lists.len());
    let mut seen = std::collections::BTreeSet::new();
    for args in &lists {
        let line = std::iter::once("crypto-lab".to_string()).chain(args.iter().cloned());
        match crypto_lab::args::parse_from(line) {
            Ok(_) => {
                seen.insert(args[0].clone());
            }
            Err(e) => panic!("crypto-lab {}: {e}", args.join(" ")),
        }
    }
    for stage in crypto_lab::stages::STAGES {
        assert!(
            seen.contains(stage.command),
            "no container runs {}",
            stage.command
        );
    }
    assert!(seen.contains("prepare-volume"));
}

#[test]
fn the_pipelines_steps_are_what_the_build_cell_lists() {
    use crypto_lab::kfp::{export_kfp, pipeline_yaml, ExportOptions};
    let dir = temp_dir("kfp-steps");
    let opts = ExportOptions {
        steps: ["download_data", "load_data", "feature_engineering"]
            .map(String::from)
            .to_vec(),
        ..ExportOptions::default()
    };
    export_kfp(dir.path(), &opts).expect("export");
    let v2 = std::fs::read_to_string(dir.path().join("pipeline.yaml")).expect("v2");
    let v1 = std::fs::read_to_string(dir.path().join("v1/pipeline.yaml")).expect("v1");
    for text in [&v2, &v1] {
        assert!(text.contains("feature-engineering"));
        assert!(!text.contains("merge-assets-features") && !text.contains("evaluation-result"));
    }
    assert!(!dir.path().join("components/modeling.yaml").exists());
    assert_eq!(pipeline_yaml(&opts).expect("yaml"), v2);

    for (steps, expected) in [
        (
            vec!["load_data", "merge_assets_features"],
            "without download_data",
        ),
        (vec!["load_data", "download_data"], "out of order or twice"),
        (vec!["load_data", "load_data"], "out of order or twice"),
        (vec!["download", "load_data"], "not a stage"),
        (vec![], "steps is empty"),
    ] {
        let bad = ExportOptions {
            steps: steps.iter().map(|s| s.to_string()).collect(),
            ..ExportOptions::default()
        };
        let err = export_kfp(&dir.path().join("bad"), &bad)
            .expect_err("refused")
            .to_string();
        assert!(err.contains(expected), "{steps:?}: {err}");
        assert!(!dir.path().join("bad/pipeline.yaml").exists());
    }
}

#[test]
fn flags_that_would_break_the_yaml_or_the_driver_are_refused_before_writing() {
    let dir = temp_dir("kfp-bad-flags");
    let out = dir.path().join("kfp");
    let o = out.display().to_string();
    for (flag, value, needle) in [
        ("--pvc-size", "16GB", "not a Kubernetes suffix (Gi or G)"),
        ("--storage-class", "Fast SSD", "expected a Kubernetes name"),
        (
            "--image",
            "crypto-lab:1\n    securityContext: {}",
            "control character",
        ),
        ("--kaggle-secret", "../x", "expected a Kubernetes name"),
        ("--mount-path", "relative", "absolute path"),
        ("--memory", "modeling=16GB", "not a Kubernetes suffix"),
        ("--cpu", "nope=1", "not a stage"),
        ("--data", "claim", "expected `artifacts`"),
        ("--kfp-version", "1.8", "v1/pipeline.yaml"),
        ("--kfp-version", "2.x", "expected a KFP backend release"),
    ] {
        let err = fails(&["export-kfp", "--out", &o, flag, value], &[needle]);
        assert!(
            !err.contains("\n    securityContext"),
            "raw newline echoed: {err}"
        );
        assert!(!out.exists(), "{flag} {value:?}: something was written");
    }
    // kfp's own value for a claim bound to a pre-made volume stays allowed.
    ok(&[
        "export-kfp",
        "--quiet",
        "--data",
        "volume",
        "--out",
        &o,
        "--storage-class",
        "",
    ]);
    let text = std::fs::read_to_string(out.join("pipeline.yaml")).expect("pipeline");
    assert!(
        text.contains("storage_class_name"),
        "the empty class is written"
    );
}

#[test]
fn a_function_that_does_not_compile_is_refused_with_the_compilers_first_error() {
    let Some(tools) = tool_dir("rust-script") else {
        return;
    };
    let dir = temp_dir("kfp-edited-bad");
    let file = dir.path().join("mine.rs");
    std::fs::write(
        &file,
        "use crypto_lab::prelude::*;\n\n\
         fn get_features(bars: &AssetBars, opts: &FeatureOptions) -> Features {\n    \
         get_feature(bars, opts)\n}\n",
    )
    .expect("write");
    let out = dir.path().join("kfp");
    let path = format!(
        "{}:{}",
        tools.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = Command::new(crypto_lab_bin())
        .args(["export-kfp", "--out"])
        .arg(&out)
        .arg("--get-features")
        .arg(&file)
        .env("PATH", path)
        .env("CRYPTO_LAB_SOURCE", env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("export");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("does not compile") && err.contains("error[E0425]"),
        "{err}"
    );
    assert!(err.contains("get_feature"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line, not cargo's pages: {err}");
    assert!(!out.exists(), "nothing written");
    // A file without the function is named.
    let empty = dir.path().join("empty.rs");
    std::fs::write(&empty, "// nothing\n").expect("write");
    fails(
        &[
            "export-kfp",
            "--out",
            &out.display().to_string(),
            "--feval",
            &format!("{}:mine", empty.display()),
        ],
        &["defines no `fn mine`"],
    );
}

#[test]
fn the_dev_image_is_laid_out_as_run_script_expects() {
    use crypto_lab::kfp::runtime::script::{DEV_SOURCE, SOURCE_ENV};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).expect("Dockerfile");
    let dev = dockerfile
        .split("\nFROM ")
        .find(|s| s.starts_with("toolchain AS dev"))
        .expect("a dev stage built on the toolchain");
    assert!(dev.contains(&format!("ENV {SOURCE_ENV}={DEV_SOURCE} HOME=/tmp")));
    assert!(dev.contains(&format!("WORKDIR {DEV_SOURCE}")));
    for copied in [
        "Cargo.toml Cargo.lock",
        ".cargo .cargo",
        "src src",
        "scripts scripts",
    ] {
        assert!(dev.contains(&format!("COPY {copied}")), "{copied}");
    }
    // rust-script, the binary, the scripts' packages built, writable by any uid.
    for step in [
        "cargo install --locked rust-script@",
        "cp target/*/debug/crypto-lab /usr/local/bin/crypto-lab",
        "rust-script --package \"$s\"",
        "chgrp -R 0 /opt/crypto-lab/target /usr/local/cargo",
        "chmod -R g=u /opt/crypto-lab/target /usr/local/cargo",
    ] {
        assert!(dev.contains(step), "{step}");
    }
    let ignored = std::fs::read_to_string(root.join(".dockerignore")).expect(".dockerignore");
    for needed in [".cargo", "scripts", "src", "Cargo.lock"] {
        assert!(
            !ignored.lines().any(|l| l.trim() == needed),
            "{needed} is ignored"
        );
    }
    // The component image stays the last stage (docker build's default).
    assert!(dockerfile
        .rsplit("\nFROM ")
        .next()
        .expect("last")
        .starts_with("debian:"));
}

#[test]
fn an_edited_step_runs_its_program_in_the_dev_image_and_the_others_stay_slim() {
    use crypto_lab::kfp::export::{v2, EditedCode, EditedFunction};
    use crypto_lab::kfp::ExportOptions;
    let opts = ExportOptions {
        code: EditedCode {
            get_features: None,
            feval: Some(EditedFunction {
                name: "equal_weights".into(),
                source: "fn equal_weights(a: &[f64], b: &[f32], w: &[f64]) -> f64 {\n    \
                         weighted_correlation(a, b, &vec![1.0; w.len()])\n}"
                    .into(),
            }),
        },
        ..ExportOptions::default()
    };
    let (spec, _) = v2::pipeline(&opts);
    let execs = spec["deploymentSpec"]["executors"]
        .as_object()
        .expect("executors");
    for (name, exec) in execs {
        let c = &exec["container"];
        if name == "exec-modeling" {
            assert_eq!(c["image"], opts.dev_image);
            assert_eq!(c["command"][0], "sh");
            let program = c["command"][3].as_str().expect("program");
            assert!(program.contains(".with_feval(\"equal_weights\", equal_weights)"));
            // The script's flags: no subcommand first.
            assert_eq!(c["args"][0], "--data-path");
        } else {
            assert_eq!(c["image"], opts.image, "{name}");
            assert_eq!(c["command"], serde_json::json!(["crypto-lab"]), "{name}");
        }
    }
}

#[test]
fn a_step_whose_program_does_not_compile_fails_with_the_compilers_first_error() {
    use crypto_lab::kfp::export::{EditedCode, EditedFunction};
    let Some(tools) = tool_dir("rust-script") else {
        return;
    };
    // What a step in the dev image runs, with a function the export's check
    // never saw (written by hand into a component, say).
    let code = EditedCode {
        get_features: Some(EditedFunction {
            name: "mine".into(),
            source: "fn mine(bars: &AssetBars, opts: &FeatureOptions) -> Features {\n    \
                     let n: u8 = \"x\";\n    get_features(bars, opts)\n}"
                .into(),
        }),
        feval: None,
    };
    let program = code
        .script(&crypto_lab::stages::FEATURE_ENGINEERING)
        .expect("program");
    let dir = temp_dir("kfp-step-bad");
    let file = dir.path().join("feature_engineering.rs");
    std::fs::write(&file, program).expect("write");
    let path = format!(
        "{}:{}",
        tools.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = Command::new(crypto_lab_bin())
        .arg("run-script")
        .arg(&file)
        .args([
            "--data-path",
            &dir.path().join("data").display().to_string(),
        ])
        .env("PATH", path)
        .env("CRYPTO_LAB_SOURCE", env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run-script");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("does not compile") && err.contains("error[E0308]: mismatched types"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one line, not cargo's pages: {err}");
}
