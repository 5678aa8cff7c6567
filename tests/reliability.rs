//! Never a stale or mixed result: `run` redoes exactly the stages whose
//! options or inputs changed, a stage killed anywhere leaves nothing a later
//! run trusts, temporary files never pile up, one writer per data path, and
//! bad options, data and dates are errors, never panics or NaN successes.
//!
//! Every test drives the real binary on a few days of synthetic data.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::common::*;

/// Model flags that keep every run to a second or two.
const QUICK: [&str; 4] = ["--n-estimators", "12", "--num-threads", "1"];

fn output(mut c: Command) -> Output {
    c.output().expect("run crypto-lab")
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// train.csv and asset_details.csv of a few days around the lab's split,
/// made once and copied into each test's folder.
fn seed_data() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // Made once per test process (nothing removes it at exit), so the
        // folders of earlier processes that have ended are removed here.
        let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
        for entry in std::fs::read_dir(root).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("reliability-seed-") {
                if !Path::new("/proc").join(pid).exists() {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let dir = root.join(format!("reliability-seed-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        ok(&[
            "synth",
            "-q",
            "--data-path",
            &s(&dir),
            "--start",
            "2021-04-28",
            "--end",
            "2021-05-04",
        ]);
        dir
    })
}

fn data_dir(tag: &str) -> TempDir {
    let dir = temp_dir(tag);
    for f in ["train.csv", "asset_details.csv"] {
        std::fs::copy(seed_data().join(f), dir.path().join(f)).expect("copy seed data");
    }
    dir
}

fn run_args<'a>(d: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["run", "--data-path", d];
    a.extend(QUICK);
    a.extend(extra);
    a
}

/// `run` and its stderr.
fn run(d: &str, extra: &[&str]) -> String {
    text(&ok(&run_args(d, extra)).stderr)
}

fn metrics(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("mlpipeline-metrics.json")).expect("metrics")
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("list")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp-"))
        .collect()
}

/// The stages `run` reran, by the log line each prints.
fn reran(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| l.split_once(": rerun (").map(|(name, _)| name.to_string()))
        .collect()
}

const STAGES: [&str; 5] = [
    "load_data",
    "feature_engineering",
    "merge_assets_features",
    "modeling",
    "evaluation_result",
];

#[test]
fn changed_option_reruns_exactly_the_stages_it_affects() {
    let dir = data_dir("options");
    let d = s(dir.path());
    let first = run(&d, &[]);
    assert_eq!(reran(&first), STAGES, "{first}");
    let again = run(&d, &[]);
    assert!(reran(&again).is_empty(), "{again}");
    assert_eq!(again.matches("up to date").count(), 5, "{again}");

    let model = run(&d, &["--n-estimators", "8"]);
    assert_eq!(reran(&model), ["modeling", "evaluation_result"], "{model}");
    assert!(
        model.contains("modeling: rerun (n_estimators 12 -> 8)"),
        "{model}"
    );
    let history = std::fs::read_to_string(dir.path().join("lgb_history.json")).unwrap();
    assert!(history.contains("\"n_estimators\": 8"), "{history}");

    let split = run(&d, &["--n-estimators", "8", "--valid-from", "2021-05-02"]);
    assert_eq!(reran(&split)[0], "feature_engineering", "{split}");
    assert!(
        split.contains("valid_from 2021-05-01T00:00:00Z -> 2021-05-02T00:00:00Z"),
        "{split}"
    );
    assert!(!reran(&split).contains(&"load_data".to_string()));
    // The runs table shows the feature options beside the parameters, as
    // modeling found them in the rows it trained on.
    let nan = run(
        &d,
        &[
            "--n-estimators",
            "8",
            "--valid-from",
            "2021-05-02",
            "--keep-target-nan",
        ],
    );
    assert_eq!(reran(&nan)[0], "feature_engineering", "{nan}");
    let table = text(&ok(&["runs", "--data-path", d.as_str()]).stdout);
    let rows: Vec<&str> = table.lines().collect();
    assert!(rows[0].contains("feature options"), "{table}");
    assert!(rows[1].contains("lab's 24  lab's"), "{table}");
    assert!(rows[3].contains("valid_from=2021-05-02  "), "{table}");
    assert!(
        rows[4].contains("valid_from=2021-05-02 keep_target_nan (")
            && rows[4].contains(" rows left out)"),
        "{table}"
    );

    // A stage run on its own with other options is noticed by the next run.
    let mut alone = vec!["modeling", "-q", "--data-path", d.as_str()];
    alone.extend(QUICK);
    alone.extend(["--n-estimators", "5"]);
    ok(&alone);
    let back = run(&d, &[]);
    assert!(
        back.contains("modeling: rerun (n_estimators 5 -> 12)"),
        "{back}"
    );
    assert!(
        back.contains("feature_engineering: rerun (keep_target_nan true -> false, valid_from"),
        "{back}"
    );
}

#[test]
fn content_changed_under_an_old_mtime_is_noticed() {
    let dir = data_dir("mtime");
    let d = s(dir.path());
    run(&d, &[]);
    let before = metrics(dir.path());
    let train = dir.path().join("train.csv");
    let old = std::fs::metadata(&train).unwrap().modified().unwrap();
    // Other bars of the same size, written in place, the old mtime put back.
    let other = temp_dir("mtime-other");
    ok(&[
        "synth",
        "-q",
        "--data-path",
        &s(other.path()),
        "--start",
        "2021-04-28",
        "--end",
        "2021-05-04",
        "--synth-seed",
        "7",
    ]);
    std::fs::copy(other.path().join("train.csv"), &train).unwrap();
    let f = std::fs::File::options().write(true).open(&train).unwrap();
    f.set_modified(old).unwrap();
    drop(f);
    let after = run(&d, &[]);
    assert!(
        after.contains("load_data: rerun (train.csv changed)"),
        "{after}"
    );
    assert_eq!(reran(&after), STAGES, "{after}");
    assert_ne!(metrics(dir.path()), before, "new data, new metrics");
}

#[test]
fn damaged_or_swapped_artifact_names_the_file_and_the_stage_to_rerun() {
    let dir = data_dir("damaged");
    let d = s(dir.path());
    run(&d, &[]);
    let good = metrics(dir.path());
    let p = dir.path();
    // df_train renamed to feature_df: merge refuses it, naming its maker.
    std::fs::copy(p.join("df_train.parquet"), p.join("feature_df.parquet")).unwrap();
    fails(
        &["merge-assets-features", "--data-path", &d],
        &[
            "feature_df.parquet",
            "feature_engineering",
            "crypto-lab feature-engineering",
        ],
    );
    // `run` heals it: the stage that makes the file runs again.
    let healed = run(&d, &[]);
    assert!(healed.contains("feature_engineering: rerun ("), "{healed}");
    assert_eq!(metrics(p), good);

    // Random bytes in the middle of a Parquet artifact.
    let target = p.join("merge_feature_df.parquet");
    let mut bytes = std::fs::read(&target).unwrap();
    let mid = bytes.len() / 2;
    for (i, b) in bytes[mid..mid + 64].iter_mut().enumerate() {
        *b = b.wrapping_add(1 + i as u8);
    }
    std::fs::write(&target, &bytes).unwrap();
    let mut args = vec!["modeling", "--data-path", d.as_str()];
    args.extend(QUICK);
    fails(
        &args,
        &[
            "merge_feature_df.parquet",
            "merge_assets_features",
            "crypto-lab merge-assets-features",
        ],
    );
    run(&d, &[]);
    assert_eq!(metrics(p), good);
}

/// Write points of each stage (see artifact::die_point): a temp file and a
/// rename per output, then two around the record.
fn points(stage: &str) -> usize {
    let outputs = match stage {
        "load_data" => 2,
        "modeling" => 4,
        "evaluation_result" => 3,
        _ => 1,
    };
    2 * outputs + 2
}

#[test]
fn kill_at_any_write_point_then_run_gives_the_uninterrupted_metrics() {
    // The reference: one uninterrupted run with the final options.
    let reference = data_dir("kill-ref");
    run(&s(reference.path()), &[]);
    let expected = metrics(reference.path());

    let cases: Vec<(&str, usize)> = STAGES
        .iter()
        .flat_map(|st| (1..=points(st)).map(move |n| (*st, n)))
        .collect();
    std::thread::scope(|scope| {
        for chunk in cases.chunks(cases.len().div_ceil(2)) {
            let expected = &expected;
            scope.spawn(move || {
                for &(stage, n) in chunk {
                    let dir = data_dir("kill");
                    let d = s(dir.path());
                    // A complete run with other options first, so the kill
                    // lands in a rerun over older artifacts: the mixed case
                    // (load_data has no options: it runs on fresh data).
                    if stage != "load_data" {
                        run(&d, &["--n-estimators", "6", "--valid-from", "2021-05-02"]);
                    }
                    let mut c = crypto_lab_cmd(&run_args(&d, &["-q"]));
                    c.env("CRYPTO_LAB_DIE_AFTER", format!("{stage}:{n}"));
                    let killed = output(c);
                    use std::os::unix::process::ExitStatusExt;
                    assert_eq!(
                        killed.status.signal(),
                        Some(9),
                        "{stage}:{n} was not killed: {}",
                        text(&killed.stderr)
                    );
                    let after = run(&d, &[]);
                    assert_eq!(
                        &metrics(dir.path()),
                        expected,
                        "after a kill at {stage}:{n}:\n{after}"
                    );
                    assert!(
                        temp_files(dir.path()).is_empty(),
                        "{stage}:{n}: {:?}",
                        temp_files(dir.path())
                    );
                }
            });
        }
    });
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts `run` stopped at modeling's first write point (its first temp file
/// complete), holding the data path.
fn stopped_in_modeling(d: &str, extra: &[&str]) -> Child {
    let mut args = run_args(d, &["-q"]);
    args.extend(extra);
    let mut c = crypto_lab_cmd(&args);
    c.env("CRYPTO_LAB_DIE_AFTER", "modeling:1:wait")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let child = c.spawn().expect("spawn");
    let dir = PathBuf::from(d);
    wait_for("modeling's temp file", || !temp_files(&dir).is_empty());
    child
}

#[test]
fn ctrl_c_and_sigterm_remove_the_stages_temp_files() {
    for (signal, code) in [(SIGINT, 130), (SIGTERM, 143)] {
        let dir = data_dir("signal");
        let d = s(dir.path());
        let child = stopped_in_modeling(&d, &[]);
        send(child.id(), signal);
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(code), "{}", text(&out.stderr));
        assert!(
            temp_files(dir.path()).is_empty(),
            "{:?}",
            temp_files(dir.path())
        );
        // The stage left no record: the next run redoes it.
        let after = run(&d, &[]);
        assert!(after.contains("modeling: rerun (no record"), "{after}");
    }
}

#[test]
fn temp_files_of_dead_processes_are_removed_whenever_the_data_path_is_locked() {
    let dir = data_dir("stale");
    let d = s(dir.path());
    // A process id that surely has ended: a child reaped just now.
    let mut child = Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let stale = dir.path().join(format!(".tmp-{dead}-df_train.parquet"));
    std::fs::write(&stale, b"left by a kill -9").unwrap();
    let out = run(&d, &[]);
    assert!(!stale.exists(), "{out}");
    assert!(
        out.contains(&format!(".tmp-{dead}-df_train.parquet")),
        "{out}"
    );
    assert!(temp_files(dir.path()).is_empty());
    // Also when every stage is up to date and no stage runs at all.
    std::fs::write(&stale, b"left by a kill -9").unwrap();
    let out = run(&d, &[]);
    assert!(out.contains("up to date") && !stale.exists(), "{out}");
}

#[test]
fn a_read_only_folder_with_every_stage_up_to_date_reports_its_results() {
    let dir = data_dir("read-only");
    let d = s(dir.path());
    run(&d, &[]);
    let before = metrics(dir.path());
    let mut args = vec![s(&crypto_lab_bin())];
    args.extend(run_args(&d, &[]).iter().map(|a| a.to_string()));
    // Root writes through any mode, so as root the folder is made read-only
    // by a read-only bind mount in a mount namespace of its own.
    let root = unsafe { libc::geteuid() } == 0;
    let out = if root {
        let script = format!("mount --bind {d} {d} && mount -o remount,bind,ro {d} && exec \"$@\"");
        let mut c = Command::new("unshare");
        c.args(["-m", "sh", "-c", &script, "sh"]).args(&args);
        output(c)
    } else {
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
        let mut c = Command::new(&args[0]);
        c.args(&args[1..]);
        let o = output(c);
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        o
    };
    let err = text(&out.stderr);
    if root && err.contains("unshare: ") {
        eprintln!("NOTE: no mount namespaces here: {err}");
        return;
    }
    assert!(out.status.success(), "{err}");
    assert!(err.contains("read-only here"), "{err}");
    assert!(
        text(&out.stdout).contains("root-mean-squared-error"),
        "{err}"
    );
    assert_eq!(metrics(dir.path()), before);
}

#[test]
fn one_writer_per_data_path() {
    let dir = data_dir("lock");
    let d = s(dir.path());
    run(&d, &[]);
    let first = stopped_in_modeling(&d, &["--n-estimators", "7"]);
    // A second writer stops at once, naming the holder.
    let line = fails(
        &run_args(&d, &[]),
        &["is in use by crypto-lab (pid", " since "],
    );
    assert!(line.contains(&format!("pid {})", first.id())), "{line}");
    fails(&["synth", "--data-path", &d], &["is in use by crypto-lab"]);
    // Its exit status says "try again later" (EX_TEMPFAIL), not "fix it".
    let busy = output(crypto_lab_cmd(&["load-data", "--data-path", &d]));
    assert_eq!(busy.status.code(), Some(75), "{}", text(&busy.stderr));
    // A reader does not lock.
    let plots = temp_dir("lock-plots");
    ok(&["plot", "-q", "--data-path", &d, "--out", &s(plots.path())]);
    // --wait-lock waits for the holder, then runs. Its stderr goes to a file
    // so the kill below comes only once it says it is waiting: a fixed 300 ms
    // sleep was a race on a loaded machine (the waiter not started yet, it
    // would take the freed lock without waiting and the check would fail).
    let logs = temp_dir("lock-waiting");
    let waiting_log = logs.path().join("waiting.log");
    let mut waiting = crypto_lab_cmd(&run_args(&d, &["--wait-lock"]));
    waiting
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&waiting_log).unwrap());
    let mut waiting = waiting.spawn().unwrap();
    let err = || std::fs::read_to_string(&waiting_log).unwrap_or_default();
    wait_for("the second run to wait for the lock", || {
        err().contains("waiting (--wait-lock)")
    });
    // kill -9 of the holder: its lock goes with it and is taken over.
    send(first.id(), 9);
    let out = first.wait_with_output().unwrap();
    assert!(!out.status.success());
    let status = waiting.wait().unwrap();
    assert!(status.success(), "{}", err());
    // And a plain run after that finds everything in order.
    let after = run(&d, &[]);
    assert!(reran(&after).is_empty(), "{after}");
}

#[test]
fn two_concurrent_runs_one_waits_and_both_report_the_same_metrics() {
    let dir = data_dir("concurrent");
    let d = s(dir.path());
    let spawn = || {
        let mut c = crypto_lab_cmd(&run_args(&d, &["--wait-lock"]));
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        c.spawn().unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(
        a.status.success() && b.status.success(),
        "{}\n{}",
        text(&a.stderr),
        text(&b.stderr)
    );
    let ran = reran(&text(&a.stderr)).len() + reran(&text(&b.stderr)).len();
    assert_eq!(
        ran,
        5,
        "each stage ran once:\n{}\n{}",
        text(&a.stderr),
        text(&b.stderr)
    );
    let metric_lines = |o: &Output| {
        text(&o.stdout)
            .lines()
            .filter(|l| {
                let l = l.trim_start();
                l.starts_with("root-mean-squared-error") || l.starts_with("weighted-correlation")
            })
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(metric_lines(&a), metric_lines(&b));
}

#[test]
fn model_parameters_override_the_labs_and_are_checked() {
    let dir = data_dir("params");
    let d = s(dir.path());
    let mut args = run_args(
        &d,
        &[
            "--param",
            "learning_rate=0.05",
            "--param",
            "eta=0.07",
            "--param",
            "num_leaves=7",
        ],
    );
    args.push("-q");
    ok(&args);
    let history = std::fs::read_to_string(dir.path().join("lgb_history.json")).unwrap();
    assert!(
        history.contains("\"learning_rate\": 0.07"),
        "last given wins: {history}"
    );
    let model = std::fs::read_to_string(dir.path().join("lgb.txt")).unwrap();
    assert!(model.contains("[learning_rate: 0.07]"), "LightGBM got it");
    assert!(model.contains("[num_leaves: 7]"));

    let m = |extra: &[&'static str]| {
        let mut a = vec!["modeling", "--data-path", "/nonexistent/never-read"];
        a.extend(extra);
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let check = |extra: &[&'static str], needles: &[&str]| {
        let a = m(extra);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        fails(&a, needles);
    };
    check(
        &["--param", "nonsense=1"],
        &["unknown LightGBM parameter `nonsense`"],
    );
    check(&["--param", "num_leafs=3"], &["did you mean `num_leaves`"]);
    check(&["--param", "learning_rate=abc"], &["learning_rate=abc"]);
    check(
        &["--param", "max_bin=abc"],
        &["LightGBM rejects", "max_bin"],
    );
    check(&["--param", "metric=l1"], &["metric=l1"]);
    check(
        &["--seed", "99999999999"],
        &["seed is 99999999999", "2147483647"],
    );
    check(&["--learning-rate", "inf"], &["learning_rate is inf"]);
    check(&["--learning-rate", "0"], &["learning_rate is 0"]);
    check(&["--n-estimators", "0"], &["n_estimators is 0"]);
    check(
        &["--param", "objective=binary"],
        &["objective=binary", "regression"],
    );
    // A value LightGBM takes but the data cannot serve: its own error, one line.
    let mut poisson = vec![
        "modeling",
        "--data-path",
        d.as_str(),
        "--param",
        "objective=poisson",
    ];
    poisson.extend(QUICK);
    fails(&poisson, &["LightGBM", "negative"]);
}

fn edit_csv(path: &Path, f: impl Fn(usize, &str) -> Option<String>) {
    let textual = std::fs::read_to_string(path).unwrap();
    let mut out = String::new();
    for (i, line) in textual.lines().enumerate() {
        if let Some(l) = f(i, line) {
            out.push_str(&l);
            out.push('\n');
        }
    }
    std::fs::write(path, out).unwrap();
}

#[test]
fn no_nan_result_is_a_success() {
    // Every Target missing.
    let dir = data_dir("nan-target");
    let d = s(dir.path());
    edit_csv(&dir.path().join("train.csv"), |i, l| {
        Some(if i == 0 {
            l.to_string()
        } else {
            format!("{},", l.rsplit_once(',').unwrap().0)
        })
    });
    let line = fails(&run_args(&d, &["--keep-target-nan"]), &["no finite Target"]);
    assert!(line.contains("merge_feature_df.parquet"), "{line}");
    assert!(!dir.path().join("lgb.txt").exists(), "no model is written");

    // An asset absent from asset_details.csv.
    let dir = data_dir("nan-weight");
    let d = s(dir.path());
    edit_csv(&dir.path().join("asset_details.csv"), |_, l| {
        (!l.starts_with("3,")).then(|| l.to_string())
    });
    fails(
        &run_args(&d, &[]),
        &["asset_details.csv", "lacks Asset_ID 3"],
    );

    // A single validation row: the last minute keeps one asset's bar.
    let dir = data_dir("nan-one-row");
    let d = s(dir.path());
    let last = "1620086340,";
    let kept = std::cell::Cell::new(false);
    edit_csv(&dir.path().join("train.csv"), |_, l| {
        if !l.starts_with(last) {
            return Some(l.to_string());
        }
        (!kept.replace(true)).then(|| l.to_string())
    });
    let line = fails(
        &run_args(&d, &["--valid-from", "2021-05-03T23:59"]),
        &["1 validation row"],
    );
    assert!(line.contains("at least 2"), "{line}");
    assert!(!dir.path().join("lgb.txt").exists());

    // A model that never splits predicts one value: no correlation exists.
    let dir = data_dir("nan-constant");
    let d = s(dir.path());
    fails(
        &run_args(&d, &["--learning-rate", "1e-300"]),
        &["predicts the same value for every validation row"],
    );
    assert!(!dir.path().join("lgb.txt").exists());
}

#[test]
fn data_without_bitcoin_still_gets_its_evaluation() {
    // The chart page draws asset 1 (Bitcoin) when it can; without it, another.
    let dir = data_dir("no-btc");
    let d = s(dir.path());
    let not_asset_1 = |l: &str| l.split(',').nth(1) != Some("1");
    edit_csv(&dir.path().join("train.csv"), |_, l| {
        not_asset_1(l).then(|| l.to_string())
    });
    edit_csv(&dir.path().join("asset_details.csv"), |_, l| {
        (!l.starts_with("1,")).then(|| l.to_string())
    });
    run(&d, &[]);
    let page = std::fs::read_to_string(dir.path().join("evaluation_charts.html")).unwrap();
    assert!(page.contains("<svg"), "charts drawn");
}

#[test]
fn dates_are_real_and_synthetic_sizes_bounded() {
    let dir = temp_dir("dates");
    let d = s(dir.path());
    fails(
        &["synth", "--data-path", &d, "--start", "2021-02-31"],
        &["2021-02-31"],
    );
    fails(
        &[
            "synth",
            "--data-path",
            &d,
            "--start",
            "99999999999999-01-01",
        ],
        &["99999999999999-01-01"],
    );
    fails(
        &["synth", "--data-path", &d, "--start", "9223372036854775807"],
        &["9223372036854775807"],
    );
    fails(
        &[
            "synth",
            "--data-path",
            &d,
            "--start",
            "1900-01-01",
            "--end",
            "2100-01-01",
        ],
        &["1900-01-01"],
    );
    fails(
        &[
            "synth",
            "--data-path",
            &d,
            "--start",
            "1971-01-01",
            "--end",
            "2100-01-01",
        ],
        &[
            "67848480 minutes",
            "GB of train.csv",
            "GB of memory",
            "at most 4000000 minutes",
        ],
    );
    fails(
        &["run", "--data-path", &d, "--valid-from", "2021-04-31"],
        &["2021-04-31"],
    );
    assert!(!dir.path().join("train.csv").exists());
}

#[test]
fn errors_escape_raw_bytes_and_never_name_a_temp_file() {
    let dir = data_dir("bytes");
    let d = s(dir.path());
    let train = dir.path().join("train.csv");
    let mut bytes = std::fs::read(&train).unwrap();
    let at = bytes.len() - 2;
    // A damaged last line: an escape sequence and a byte that is not UTF-8.
    let tail = bytes.split_off(at);
    bytes.extend_from_slice(b"\x1b[31m\xff");
    bytes.extend(tail);
    std::fs::write(&train, &bytes).unwrap();
    let line = fails(
        &["load-data", "--data-path", &d],
        &["train.csv", "\\u{1b}[31m\\xff"],
    );
    assert!(!line.contains('\u{1b}'), "{line:?}");
    assert!(!line.contains(".tmp-"), "{line}");
}

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

fn send(pid: u32, signal: i32) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("kill");
    assert!(status.success());
}

#[test]
fn a_stage_function_called_directly_voids_its_record_and_run_redoes_it() {
    // As a notebook cell does: the file form, no stage commit, no record.
    let dir = data_dir("direct");
    let d = s(dir.path());
    run(&d, &[]);
    let before = metrics(dir.path());
    crypto_lab::prelude::merge_assets_features(dir.path()).expect("merge");
    assert!(!dir
        .path()
        .join("merge_assets_features.record.json")
        .exists());
    // modeling reads the new merge_feature_df without calling it damaged,
    // and run redoes merge (then modeling and evaluation, whose input moved).
    ok(&[
        "modeling",
        "--data-path",
        &d,
        "-q",
        "--n-estimators",
        "12",
        "--num-threads",
        "1",
    ]);
    let after = run(&d, &[]);
    assert!(
        after.contains("merge_assets_features: rerun (no record of a complete run)"),
        "{after}"
    );
    assert!(after.contains("load_data: up to date"), "{after}");
    assert_eq!(metrics(dir.path()), before);
}
