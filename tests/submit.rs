//! `crypto-lab submit` against a loopback KFP API (tests/kfp/mock_kfp_api.py,
//! which checks requests with kfp_server_api 2.17's models the way the real
//! server does and walks runs through PENDING, RUNNING, SUCCEEDED or FAILED).
//!
//! Needs the kfp 2 venv (`.ci/setup`; skipped without it except under CI).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::common::*;
use serde_json::Value;

const TOKEN: &str = "kfp-test-token-5d41402abc4b2a76";

/// The exported pipeline's tasks (the default, artifacts form), in order.
const TASKS: [&str; 6] = [
    "download-data",
    "load-data",
    "feature-engineering",
    "merge-assets-features",
    "modeling",
    "evaluation-result",
];

/// The volume form's tasks besides those: the claim's.
const VOLUME_TASKS: [&str; 3] = ["createpvc", "prepare-volume", "deletepvc"];

/// The mock API, stopped when dropped.
struct Api {
    child: Child,
    url: String,
}

impl Api {
    fn start(args: &[&str]) -> Option<Api> {
        let python = kfp_python("CRYPTO_LAB_KFP2_PYTHON", "venv-kfp2")?;
        let mut child = Command::new(python)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kfp/mock_kfp_api.py"))
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the mock KFP API");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout).read_line(&mut line).expect("read");
        let url = line
            .trim()
            .strip_prefix("LISTENING ")
            .unwrap_or_else(|| panic!("mock API did not start: {line}"))
            .to_string();
        Some(Api { child, url })
    }

    /// What the API received.
    fn requests(&self) -> Vec<Value> {
        let text = reqwest::blocking::get(format!("{}/_test/requests", self.url))
            .expect("requests")
            .text()
            .expect("body");
        serde_json::from_str(&text).expect("json")
    }

    fn requests_to(&self, method: &str, path: &str) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r["method"] == method && r["path"] == format!("/apis/v2beta1/{path}"))
            .collect()
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// `crypto-lab submit ARGS` with no credentials from this machine's
/// environment (only `env`).
fn submit(args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut cmd = Command::new(crypto_lab_bin());
    cmd.arg("submit")
        .args(args)
        .env_remove("KF_PIPELINES_TOKEN")
        .env(
            "KF_PIPELINES_SA_TOKEN_PATH",
            "/nonexistent/crypto-lab/token",
        );
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run crypto-lab submit");
    let o = Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    println!(
        "exit {}\n--- stdout\n{}--- stderr\n{}",
        o.code, o.stdout, o.stderr
    );
    assert!(
        !o.stdout.contains(TOKEN) && !o.stderr.contains(TOKEN),
        "the token was printed"
    );
    o
}

fn base<'a>(api: &'a Api, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--host",
        api.url.as_str(),
        "--image",
        "registry.example/crypto-lab:test",
        "--storage-class",
        "standard",
        "--poll-interval",
        "0.05",
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn submit_uploads_creates_the_experiment_and_the_run_and_waits_for_success() {
    let Some(api) = Api::start(&["--token", TOKEN]) else {
        return;
    };
    let o = submit(
        &base(
            &api,
            &[
                "--token",
                TOKEN,
                "--param",
                "source=https://mirror.example/g.zip",
                "--wait",
            ],
        ),
        &[],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let lines: Vec<&str> = o.stdout.lines().collect();
    // The server first: its release decides the export.
    assert_eq!(
        lines[0],
        "KFP API 2.17.0 (single-user): exporting the pipeline for KFP 2.17.0"
    );
    assert_eq!(api.requests()[0]["path"], "/apis/v2beta1/healthz");
    let lines = &lines[1..];
    assert!(lines[0].starts_with("uploaded pipeline g-research-crypto-forecasting-pipeline (id "));
    assert!(lines[1].starts_with("experiment Default (id ") && lines[1].ends_with(", created"));
    let run = api.requests_to("POST", "runs");
    assert_eq!(run.len(), 1);
    let body = &run[0]["body"];
    let run_id = api
        .requests()
        .iter()
        .filter_map(|r| {
            r["path"]
                .as_str()?
                .strip_prefix("/apis/v2beta1/runs/")
                .map(String::from)
        })
        .next()
        .expect("polled the run");
    assert_eq!(
        lines[2],
        format!("run {run_id} created: {}/#/runs/details/{run_id}", api.url)
    );
    // Every task's state change, in order, then the run's end.
    for (i, task) in TASKS.iter().enumerate() {
        let running = o
            .stdout
            .find(&format!("  task {task}: RUNNING\n"))
            .unwrap_or_else(|| panic!("{task} RUNNING missing"));
        let done = o
            .stdout
            .find(&format!("  task {task}: SUCCEEDED\n"))
            .unwrap_or_else(|| panic!("{task} SUCCEEDED missing"));
        assert!(running < done, "{task}: {i}");
    }
    assert!(o.stdout.contains("run: PENDING\n") && o.stdout.contains("run: RUNNING\n"));
    // Argo's own nodes never show: only the pipeline's tasks, each state once.
    assert_only_pipeline_tasks(&o.stdout);
    assert!(o.stdout.ends_with(&format!(
        "run: SUCCEEDED\nrun {run_id} SUCCEEDED: {}/#/runs/details/{run_id}\n",
        api.url
    )));

    // What was sent: the package in the multipart field, the run's fields, the header.
    let upload = api.requests_to("POST", "pipelines/upload");
    assert_eq!(upload.len(), 1);
    assert!(upload[0]["headers"]["content-type"]
        .as_str()
        .unwrap_or("")
        .starts_with("multipart/form-data; boundary="));
    assert_eq!(
        body["runtime_config"]["parameters"],
        serde_json::json!({"source": "https://mirror.example/g.zip"})
    );
    assert!(body["pipeline_version_reference"]["pipeline_version_id"].is_string());
    for r in api.requests() {
        let path = r["path"].as_str().unwrap_or("");
        // healthz too: a gateway in front of the API may ask for them.
        if path.starts_with("/apis/") {
            assert_eq!(
                r["headers"]["authorization"],
                format!("Bearer {TOKEN}"),
                "{r}"
            );
        }
    }
}

#[test]
fn an_existing_pipeline_gets_a_new_version_and_an_existing_experiment_is_reused() {
    let Some(api) = Api::start(&[
        "--pipeline",
        "g-research-crypto-forecasting-pipeline",
        "--experiment",
        "lab7",
    ]) else {
        return;
    };
    let o = submit(&base(&api, &["--experiment", "lab7"]), &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.lines().nth(1).unwrap_or("").starts_with(
        "pipeline g-research-crypto-forecasting-pipeline exists: uploaded version crypto-lab-"
    ));
    assert!(o.stdout.contains("experiment lab7 (id ") && !o.stdout.contains("created,"));
    assert!(!o.stdout.contains(", created"));
    assert!(api.requests_to("POST", "pipelines/upload").is_empty());
    assert!(api.requests_to("POST", "experiments").is_empty());
    let version = api.requests_to("POST", "pipelines/upload_version");
    assert_eq!(version.len(), 1);
    assert!(version[0]["query"]["pipelineid"][0].is_string());
    // Without --wait: the run is created and its link printed, nothing more.
    assert_eq!(api.requests_to("POST", "runs").len(), 1);
    assert!(o
        .stdout
        .lines()
        .last()
        .unwrap_or("")
        .contains("/#/runs/details/"));
}

/// Every `  task NAME: STATE` line names a pipeline task (no `executor`,
/// `root`, `*-driver` or workflow node) and says something new.
fn assert_only_pipeline_tasks(stdout: &str) {
    let mut last: std::collections::BTreeMap<&str, &str> = Default::default();
    for line in stdout.lines().filter(|l| l.starts_with("  task ")) {
        let (name, state) = line["  task ".len()..]
            .split_once(": ")
            .unwrap_or_else(|| panic!("{line}"));
        assert!(
            TASKS.contains(&name) || VOLUME_TASKS.contains(&name),
            "not a pipeline task: {line}\n{stdout}"
        );
        assert_ne!(last.insert(name, state), Some(state), "repeated: {line}");
    }
}

#[test]
fn a_failed_run_exits_non_zero_and_names_the_failed_task_its_pod_and_the_kept_claim() {
    for extra in [
        &[][..],
        &["--parent-ids", "--run-error", "--cache-rows"][..],
    ] {
        let mut args = vec!["--fail-task", "modeling"];
        args.extend_from_slice(extra);
        let Some(api) = Api::start(&args) else {
            return;
        };
        // The volume form: a failed run keeps its claim, and says so.
        let o = submit(&base(&api, &["--wait", "--data", "volume"]), &[]);
        assert_eq!(o.code, 1);
        assert!(
            o.stdout.contains("  task modeling: FAILED\n"),
            "{}",
            o.stdout
        );
        assert!(o.stdout.ends_with("run: FAILED\n"));
        assert_only_pipeline_tasks(&o.stdout);
        for never in [
            "evaluation-result: RUNNING",
            "evaluation-result: SUCCEEDED",
            "deletepvc: ",
        ] {
            assert!(!o.stdout.contains(never), "{never}\n{}", o.stdout);
        }
        let err = &o.stderr;
        assert!(
            err.contains("ended FAILED; failed tasks: modeling (Argo node g-research-crypto-forecasting-pipeline-"),
            "{err}"
        );
        assert!(!err.contains("executor") && !err.contains("root"), "{err}");
        assert!(
            err.contains("kubectl get pods -n kubeflow -l workflows.argoproj.io/workflow=g-research-crypto-forecasting-pipeline-"),
            "{err}"
        );
        assert!(err.contains("kubectl delete pvc -n kubeflow NAME"), "{err}");
        if extra.contains(&"--run-error") {
            assert!(err.contains("; error: "), "{err}");
        }
    }
    // evaluation-result, the last stage: the claim still stays.
    let Some(api) = Api::start(&["--outcome", "failed"]) else {
        return;
    };
    let o = submit(
        &base(
            &api,
            &["--wait", "--namespace", "team-a", "--data", "volume"],
        ),
        &[],
    );
    assert_eq!(o.code, 1);
    assert!(
        o.stderr
            .contains("failed tasks: evaluation-result (Argo node"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("kubectl get pvc -n team-a"),
        "{}",
        o.stderr
    );
}

#[test]
fn a_task_whose_pod_does_not_start_gets_a_hint() {
    let Some(api) = Api::start(&["--stall", "modeling"]) else {
        return;
    };
    let o = submit(
        &base(&api, &["--wait", "--timeout", "4", "--pending-hint", "1"]),
        &[],
    );
    assert_eq!(o.code, 1);
    let hints: Vec<&str> = o
        .stdout
        .lines()
        .filter(|l| l.starts_with("  hint: "))
        .collect();
    assert_eq!(hints.len(), 1, "{}", o.stdout);
    assert!(
        hints[0].starts_with("  hint: task modeling has waited"),
        "{}",
        hints[0]
    );
    for cause in ["image", "storage-class", "runAsNonRoot"] {
        assert!(hints[0].contains(cause), "{cause}: {}", hints[0]);
    }
}

#[test]
fn the_server_release_decides_the_export_and_refuses_a_package_it_cannot_run() {
    let dir = temp_dir("submit-backends");
    let newer = dir.path().join("kfp-2.17");
    crypto_lab(&[
        "export-kfp",
        "--quiet",
        "--out",
        &newer.display().to_string(),
        "--data",
        "volume",
        "--storage-class",
        "standard",
        "--kfp-version",
        "2.17",
    ]);
    let package = newer.join("pipeline.yaml").display().to_string();
    // 2.14 refuses the Secret's `optional` at run creation; 2.4.0's driver
    // refuses pvcNameParameter: refused here, before any upload.
    for (tag, field, flag) in [
        (
            "2.14.0",
            "secretAsEnv[].optional (in exec-",
            "--kfp-version 2.14",
        ),
        ("2.4.0", "pvcMount[].pvcNameParameter", "--kfp-version 2.4"),
    ] {
        let Some(api) = Api::start(&["--tag-name", tag]) else {
            return;
        };
        let o = submit(&base(&api, &["--package", &package]), &[]);
        assert_eq!(o.code, 1);
        assert!(o.stderr.contains(field), "{}", o.stderr);
        assert!(
            o.stderr.contains(&format!("unknown to KFP {tag}")),
            "{}",
            o.stderr
        );
        assert!(o.stderr.contains(flag) && o.stderr.contains("Nothing was uploaded"));
        let paths: Vec<Value> = api.requests().iter().map(|r| r["path"].clone()).collect();
        assert_eq!(paths, ["/apis/v2beta1/healthz"], "only healthz was asked");
    }
    // Without --package, the export is made for the server: 2.4.0's strict
    // driver gets a pipeline without the fields it lacks, and runs it.
    let Some(api) = Api::start(&["--tag-name", "2.4.0"]) else {
        return;
    };
    let o = submit(&base(&api, &["--wait"]), &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o
        .stdout
        .starts_with("KFP API 2.4.0 (single-user): exporting the pipeline for KFP 2.4.0\n"));
    // A server that does not say its release: the widest export, and a word.
    let Some(api) = Api::start(&["--tag-name", "unknown", "--behave-as", "2.14.0"]) else {
        return;
    };
    let o = submit(&base(&api, &["--wait"]), &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout
            .contains("warning: the KFP API does not say its release"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains("exporting the pipeline for KFP 2.0.0"),
        "{}",
        o.stdout
    );
    // Asked for more than the server knows: its 500 comes back as one line,
    // never its Go stack trace.
    let o = submit(&base(&api, &["--kfp-version", "2.15"]), &[]);
    assert_eq!(o.code, 75, "a 5xx may answer later");
    assert!(o.stderr.contains("unknown field"), "{}", o.stderr);
    for trace in ["github.com/", "/go/src", "\t"] {
        assert!(!o.stderr.contains(trace), "{trace}: {}", o.stderr);
    }
}

#[test]
fn upload_refusals_say_what_to_do_and_never_show_the_servers_stack() {
    // A pipeline of that name the lookup does not see: 409.
    let Some(api) = Api::start(&["--pipeline", "g-research-crypto-forecasting-pipeline=Other"])
    else {
        return;
    };
    let o = submit(&base(&api, &[]), &[]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("409 Conflict"), "{}", o.stderr);
    assert!(o.stderr.contains("--pipeline-name"), "{}", o.stderr);
    assert!(!o.stderr.contains("github.com/") && !o.stderr.contains("/go/src"));
    // A token that may read but not upload: KFP answers 400.
    let Some(api) = Api::start(&["--token", TOKEN, "--read-only-token", "read-only-token-42"])
    else {
        return;
    };
    let o = submit(&base(&api, &["--token", "read-only-token-42"]), &[]);
    assert_eq!(o.code, 1);
    assert!(
        o.stderr.contains("the Bearer token from --token"),
        "{}",
        o.stderr
    );
    assert!(!o.stderr.contains("read-only-token-42"));
}

#[test]
fn names_and_flags_are_checked_before_anything_is_sent() {
    let Some(api) = Api::start(&[]) else {
        return;
    };
    for (flag, value, needle) in [
        (
            "--namespace",
            "Team A",
            "expected a Kubernetes namespace name",
        ),
        ("--pipeline-name", " ", "--pipeline-name"),
        ("--run-name", "a\u{1b}[2Jb", "control characters"),
        ("--pvc-size", "16GB", "(Gi or G)"),
        ("--image", "a b", "whitespace"),
    ] {
        let o = submit(&base(&api, &[flag, value]), &[]);
        assert_eq!(o.code, 1, "{flag}");
        assert!(o.stderr.contains(needle), "{flag}: {}", o.stderr);
        assert!(!o.stderr.contains('\u{1b}'), "raw ESC printed");
    }
    assert!(api.requests().is_empty(), "nothing is sent");
}

#[test]
fn parameters_are_checked_against_the_package_before_anything_is_sent() {
    let Some(api) = Api::start(&[]) else {
        return;
    };
    // The exported pipeline declares the run parameters, never data_path;
    // a package from a file has its own declared parameters and types read
    // from its bytes, checked the same way.
    let dir = temp_dir("submit-package");
    let package = dir.path().join("pipeline.yaml");
    let opts = crypto_lab::kfp::ExportOptions::default();
    std::fs::write(
        &package,
        crypto_lab::kfp::pipeline_yaml(&opts).expect("pipeline"),
    )
    .expect("write");
    let p = package.display().to_string();
    for from_file in [&[][..], &["--package", p.as_str()][..]] {
        for (param, needle) in [
            (
                "data_path=/data/lab",
                "no parameter `data_path` (it takes: boosting_type, dataset, early_stopping_rounds,",
            ),
            (
                "learning_rate=fast",
                "--param learning_rate=fast: expected a number (NUMBER_DOUBLE)",
            ),
        ] {
            let args = [from_file, &["--param", param][..]].concat();
            let o = submit(&base(&api, &args), &[]);
            assert_eq!(o.code, 1);
            assert!(o.stderr.contains(needle), "{from_file:?}: {}", o.stderr);
        }
    }
    // A file that is not a pipeline package: named, nothing sent.
    let junk = dir.path().join("junk.yaml");
    std::fs::write(&junk, "root: [unclosed").expect("write");
    let j = junk.display().to_string();
    let o = submit(&base(&api, &["--package", &j]), &[]);
    assert_eq!(o.code, 1);
    assert!(
        o.stderr.contains("junk.yaml: not a pipeline package"),
        "{}",
        o.stderr
    );
    assert!(api.requests().is_empty(), "nothing is sent");
}

#[test]
fn multi_user_mode_takes_the_namespace() {
    let Some(api) = Api::start(&["--multi-user"]) else {
        return;
    };
    let o = submit(&base(&api, &["--namespace", "kubeflow-user"]), &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let created = api.requests_to("POST", "experiments");
    assert_eq!(created[0]["body"]["namespace"], "kubeflow-user");
    assert_eq!(
        api.requests_to("POST", "pipelines/upload")[0]["query"]["namespace"][0],
        "kubeflow-user"
    );
    // Without --namespace: refused before anything is uploaded.
    let o = submit(&base(&api, &["--experiment", "other"]), &[]);
    assert_eq!(o.code, 1);
    assert!(
        o.stderr
            .contains("is multi-user (Kubeflow profiles): pass --namespace"),
        "{}",
        o.stderr
    );
    assert_eq!(api.requests_to("POST", "pipelines/upload").len(), 1);
    assert!(api
        .requests_to("POST", "pipelines/upload_version")
        .is_empty());
}

#[test]
fn credentials_come_from_the_flag_the_environment_or_the_token_file_and_are_never_shown() {
    let Some(api) = Api::start(&["--token", TOKEN]) else {
        return;
    };
    // No credential at all.
    let o = submit(&base(&api, &[]), &[]);
    assert_eq!(o.code, 1);
    assert!(
        o.stderr
            .contains("answered 401 Unauthorized with no credentials"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("kubectl create token"));
    // A wrong one, from each source: the message names the source, not the value.
    let wrong = "wrong-token-0123456789";
    let o = submit(&base(&api, &["--token", wrong]), &[]);
    assert!(
        o.stderr.contains("with the Bearer token from --token"),
        "{}",
        o.stderr
    );
    assert!(!o.stderr.contains(wrong) && !o.stdout.contains(wrong));
    let o = submit(&base(&api, &[]), &[("KF_PIPELINES_TOKEN", wrong)]);
    assert!(
        o.stderr
            .contains("with the Bearer token from $KF_PIPELINES_TOKEN"),
        "{}",
        o.stderr
    );
    assert!(!o.stderr.contains(wrong));
    // The ServiceAccount token file, as in a notebook pod.
    let dir = temp_dir("submit-token");
    let file = dir.path().join("token");
    std::fs::write(&file, format!("{TOKEN}\n")).expect("token file");
    let f = file.display().to_string();
    let o = submit(&base(&api, &[]), &[("KF_PIPELINES_SA_TOKEN_PATH", &f)]);
    assert_eq!(o.code, 0, "{}", o.stderr);
}

#[test]
fn a_wrong_host_and_a_closed_port_say_what_to_check_and_exit_as_the_rest() {
    let Some(api) = Api::start(&[]) else {
        return;
    };
    let wrong = format!("{}/pipeline", api.url);
    let o = submit(&["--host", &wrong, "--storage-class", "standard"], &[]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("answered 404 Not Found"), "{}", o.stderr);
    assert!(
        o.stderr.contains("Is --host the pipelines API root"),
        "{}",
        o.stderr
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let closed = format!("http://127.0.0.1:{port}");
    let o = submit(&["--host", &closed, "--storage-class", "standard"], &[]);
    // Unreachable may answer later: the exit status every network failure
    // has (the client's error leaves as the crate's).
    assert_eq!(o.code, 75);
    assert!(
        o.stderr
            .contains(&format!("cannot reach the KFP API at {closed}")),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("Is the port-forward running?"),
        "{}",
        o.stderr
    );
}

#[test]
fn a_wait_rides_out_an_api_server_that_blinks_but_not_one_that_is_gone() {
    let Some(api) = Api::start(&["--flaky-polls", "3"]) else {
        return;
    };
    let o = submit(&base(&api, &["--wait"]), &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout
            .contains("  hint: reading the run: the KFP API answered 503 Service Unavailable"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("polling again (1/5)"), "{}", o.stdout);
    assert!(o.stdout.contains("run: SUCCEEDED"));
    let Some(api) = Api::start(&["--flaky-polls", "1"]) else {
        return;
    };
    let o = submit(&base(&api, &["--wait"]), &[]);
    assert_eq!(o.code, 75, "a 5xx may answer later: {}", o.stderr);
    assert!(o.stdout.contains("polling again (5/5)"), "{}", o.stdout);
}

#[test]
fn the_wait_is_bounded_and_names_the_last_state() {
    let Some(api) = Api::start(&[]) else {
        return;
    };
    let o = submit(
        &[
            "--host",
            &api.url,
            "--storage-class",
            "standard",
            "--wait",
            "--timeout",
            "1",
            "--poll-interval",
            "0.6",
        ],
        &[],
    );
    assert_eq!(o.code, 1);
    assert!(
        o.stderr
            .contains("did not finish within 1s; its last state was RUNNING"),
        "{}",
        o.stderr
    );
}

#[test]
fn submit_help_teaches() {
    let out = Command::new(crypto_lab_bin())
        .args(["submit", "--help"])
        .output()
        .expect("help");
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "kubectl port-forward -n kubeflow svc/ml-pipeline-ui 8080:80",
        "KF_PIPELINES_TOKEN",
        "KF_PIPELINES_SA_TOKEN_PATH",
        "--cookie",
        "--wait",
        "--timeout",
        "--package",
        "data_path is not one",
    ] {
        assert!(text.contains(needle), "--help lacks {needle}:\n{text}");
    }
}

#[test]
fn run_parameters_go_typed_and_a_wrong_type_is_refused_before_sending() {
    let Some(api) = Api::start(&[]) else {
        return;
    };
    let o = submit(&base(&api, &["--param", "learning_rate=fast"]), &[]);
    assert_eq!(o.code, 1);
    assert!(
        o.stderr
            .contains("--param learning_rate=fast: expected a number (NUMBER_DOUBLE)"),
        "{}",
        o.stderr
    );
    assert!(api.requests().is_empty(), "nothing is sent");
    let o = submit(
        &base(
            &api,
            &[
                "--param",
                "learning_rate=0.05",
                "--param",
                "n_estimators=300",
                "--param",
                "keep_target_nan=true",
                "--param",
                "features=Asset_ID,RSI_30",
            ],
        ),
        &[],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let run = api.requests_to("POST", "runs");
    assert_eq!(
        run[0]["body"]["runtime_config"]["parameters"],
        serde_json::json!({
            "learning_rate": 0.05,
            "n_estimators": 300,
            "keep_target_nan": true,
            "features": "Asset_ID,RSI_30",
        })
    );
}

#[test]
fn the_notebooks_submit_cell_sends_its_export_and_says_how_the_run_ended() {
    use crypto_lab::notebook::KubeflowSettings;
    let unset = KubeflowSettings::from_lookup(|_| None);
    let pipeline = crypto_lab::kfp::ExportOptions::default();
    let said = unset.submit(&pipeline, &[]).expect("nothing to send");
    assert!(
        said.starts_with("KFP_HOST is not set: nothing sent."),
        "{said}"
    );

    let Some(api) = Api::start(&[]) else {
        return;
    };
    let settings = KubeflowSettings {
        poll: std::time::Duration::from_millis(50),
        ..KubeflowSettings::from_lookup(|name| (name == "KFP_HOST").then(|| api.url.clone()))
    };
    let said = settings
        .submit(&pipeline, &[("source", "https://mirror.example/g.zip")])
        .expect("submit");
    let run = api.requests_to("POST", "runs");
    assert_eq!(run.len(), 1);
    assert_eq!(
        run[0]["body"]["runtime_config"]["parameters"],
        serde_json::json!({"source": "https://mirror.example/g.zip"})
    );
    assert!(
        said.starts_with("run ") && said.contains(" succeeded: ") && said.contains(&api.url),
        "{said}"
    );

    let failing = Api::start(&["--fail-task", "modeling"]).expect("the mock API");
    let settings = KubeflowSettings {
        host: Some(failing.url.clone()),
        ..settings
    };
    let said = settings.submit(&pipeline, &[]).expect("submit");
    assert!(said.contains("modeling"), "{said}");
}
