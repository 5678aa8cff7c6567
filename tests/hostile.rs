//! Inputs as an attacker would send them, and secrets where a careless print
//! would show them: a 300 MB line, escape sequences in cells, a KFP server
//! that redirects elsewhere, and every secret-bearing type under `{:?}`.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use crate::common::*;
use clap::Parser;

const KEY: &str = "kaggle-key-5f4dcc3b5aa765d61d83";
const TOKEN: &str = "kfp-token-e99a18c428cb38d5f260";
const COOKIE: &str = "authservice_session=0cc175b9c0f1b6a8";

fn assert_hidden(text: &str, what: &str) {
    for secret in [KEY, TOKEN, COOKIE, "0cc175b9c0f1b6a8"] {
        assert!(!text.contains(secret), "{what} shows a secret:\n{text}");
    }
}

#[test]
fn no_secret_bearing_type_prints_its_secret() {
    use crypto_lab::kfp::client::auth::Given;
    use crypto_lab::kfp::client::Credentials;
    use crypto_lab::stages::download_data::credentials::Lookup;
    let lookup = Lookup {
        env: [
            ("KAGGLE_USERNAME".to_string(), "lab".to_string()),
            ("KAGGLE_KEY".to_string(), KEY.to_string()),
        ]
        .into_iter()
        .collect(),
        home: None,
        secret_dir: None,
    };
    let download = crypto_lab::stages::download_data::DownloadOptions {
        lookup: lookup.clone(),
        ..Default::default()
    };
    let env = crypto_lab::doctor::Env {
        vars: [
            ("KAGGLE_KEY".to_string(), KEY.to_string()),
            ("KF_PIPELINES_TOKEN".to_string(), TOKEN.to_string()),
            ("KF_PIPELINES_COOKIE".to_string(), COOKIE.to_string()),
        ]
        .into_iter()
        .collect(),
    };
    let cli = crypto_lab::args::Cli::try_parse_from([
        "crypto-lab",
        "submit",
        "--host",
        "http://127.0.0.1:9",
        "--token",
        TOKEN,
        "--cookie",
        COOKIE,
    ])
    .expect("parse");
    let credentials = Credentials::lookup_given(
        Some(Given::Value(TOKEN.into())),
        Some(Given::Value(COOKIE.into())),
    )
    .expect("credentials");
    let given = Given::Value(KEY.into());
    let found = crypto_lab::stages::download_data::credentials::require(&lookup)
        .expect("found")
        .0;
    for (what, debug, pretty) in [
        ("Lookup", format!("{lookup:?}"), format!("{lookup:#?}")),
        (
            "DownloadOptions",
            format!("{download:?}"),
            format!("{download:#?}"),
        ),
        ("doctor::Env", format!("{env:?}"), format!("{env:#?}")),
        ("Cli (submit)", format!("{cli:?}"), format!("{cli:#?}")),
        (
            "Credentials",
            format!("{credentials:?}"),
            format!("{credentials:#?}"),
        ),
        ("Given", format!("{given:?}"), format!("{given:#?}")),
        (
            "KaggleCredentials",
            format!("{found:?}"),
            format!("{found:#?}"),
        ),
    ] {
        assert_hidden(&debug, what);
        assert_hidden(&pretty, what);
    }
    // What is hidden is still named: a reader can tell what was set.
    assert!(format!("{env:?}").contains("KAGGLE_KEY"));
}

#[test]
fn a_token_on_the_command_line_is_warned_about_and_a_file_is_not() {
    let dir = temp_dir("hostile-token-file");
    let file = dir.path().join("token");
    std::fs::write(&file, format!("{TOKEN}\n")).expect("token");
    // Port 9 (discard) on loopback: refused, after the flags are read.
    let base = [
        "submit",
        "--host",
        "http://127.0.0.1:9",
        "--storage-class",
        "x",
    ];
    let mut args = base.to_vec();
    args.extend(["--token", TOKEN]);
    let out = crypto_lab(&args);
    let err = stderr(&out);
    assert!(err.contains("--token shows in the process list"), "{err}");
    assert_hidden(&err, "submit's stderr");
    let f = file.display().to_string();
    let mut args = base.to_vec();
    args.extend(["--token-file", &f]);
    let err = stderr(&crypto_lab(&args));
    assert!(!err.contains("process list"), "{err}");
    assert!(err.contains("cannot reach the KFP API"), "{err}");
    let mut args = base.to_vec();
    args.extend(["--token-file", "/nonexistent/token"]);
    let err = stderr(&crypto_lab(&args));
    assert!(
        err.contains("--token-file /nonexistent/token: no such file"),
        "{err}"
    );
}

/// Three days of synthetic data in `dir`.
fn synth_days(dir: &Path) {
    let d = dir.display().to_string();
    ok(&[
        "synth",
        "--quiet",
        "--data-path",
        &d,
        "--start",
        "2021-04-29",
        "--end",
        "2021-05-01",
    ]);
}

/// Peak resident memory of `cmd` (its own, from wait4), and its output.
// Reaped by wait4, which reports the child's own peak; `Child::wait` would
// not.
/// Runs `crypto-lab ARGS` and returns its peak resident memory and its
/// output. Measured through a small Python parent: Linux counts the
/// memory of the process that spawned a child into the child's peak
/// (`ru_maxrss` keeps the spawner's high-water mark across exec), and this
/// test process, holding every other test's data, is not small.
fn peak_rss(args: &[&str]) -> (u64, std::process::Output) {
    const MEASURE: &str = "import resource, subprocess, sys
ran = subprocess.run(sys.argv[2:])
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
open(sys.argv[1], 'w').write(str(peak))
sys.exit(ran.returncode if ran.returncode >= 0 else 128 - ran.returncode)";
    let dir = temp_dir("peak-rss");
    let report = dir.path().join("peak");
    let out = Command::new("python3")
        .arg("-c")
        .arg(MEASURE)
        .arg(&report)
        .arg(crypto_lab_bin())
        .args(args)
        .env_remove("CRYPTO_LAB_DIE_AFTER")
        .output()
        .expect("python3 runs crypto-lab");
    let kib: u64 = std::fs::read_to_string(&report)
        .expect("peak written")
        .trim()
        .parse()
        .expect("peak in KiB");
    (kib * 1024, out)
}

#[test]
fn a_300_mb_line_is_refused_with_its_number_in_bounded_memory() {
    let dir = temp_dir("hostile-long-line");
    let data = dir.path();
    synth_days(data);
    let train = data.join("train.csv");
    let text = std::fs::read_to_string(&train).expect("train.csv");
    let mut lines = text.lines();
    let header = lines.next().expect("header");
    let first = lines.next().expect("a row");
    let mut f = std::fs::File::create(&train).expect("rewrite");
    writeln!(f, "{header}\n{first}").expect("write");
    let chunk = vec![b'7'; 1 << 20];
    for _ in 0..300 {
        f.write_all(&chunk).expect("write");
    }
    drop(f);
    let (peak, out) = peak_rss(&["load-data", "--data-path", &data.display().to_string()]);
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(err.contains("line 3: longer than 1048576 bytes"), "{err}");
    assert!(peak < 256 << 20, "peak {} MiB", peak >> 20);
    // The header line, too.
    let mut f = std::fs::File::create(&train).expect("rewrite");
    for _ in 0..3 {
        f.write_all(&chunk).expect("write");
    }
    drop(f);
    fails(
        &["load-data", "--data-path", &data.display().to_string()],
        &["line 1: longer than"],
    );
    // And asset_details.csv, read by another parser.
    let other = temp_dir("hostile-long-assets");
    let d = other.path().display().to_string();
    synth_days(other.path());
    let mut f = std::fs::File::create(other.path().join("asset_details.csv")).expect("assets");
    writeln!(f, "Asset_ID,Weight,Asset_Name").expect("write");
    for _ in 0..2 {
        f.write_all(&chunk).expect("write");
    }
    drop(f);
    fails(
        &["load-data", "--data-path", &d],
        &["asset_details.csv", "line 2: longer than"],
    );
}

#[test]
fn escape_sequences_in_cells_never_reach_the_terminal() {
    let dir = temp_dir("hostile-esc");
    let data = dir.path().display().to_string();
    synth_days(dir.path());
    let assets = dir.path().join("asset_details.csv");
    let text = std::fs::read_to_string(&assets).expect("assets");
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let cells: Vec<&str> = lines[1].split(',').collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let weight = header.iter().position(|h| *h == "Weight").expect("Weight");
    let mut bad: Vec<String> = cells.iter().map(|c| c.to_string()).collect();
    bad[weight] = "\u{1b}]0;owned\u{7}\u{1b}[2J".into();
    lines[1] = bad.join(",");
    std::fs::write(&assets, lines.join("\n") + "\n").expect("write");
    let out = crypto_lab(&["load-data", "--data-path", &data]);
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(err.contains("column `Weight`"), "{err}");
    assert!(
        !err.contains('\u{1b}') && !err.contains('\u{7}'),
        "raw control bytes: {err:?}"
    );
    assert!(err.contains("\\u{1b}"), "{err}");
}

/// A KFP API at 127.0.0.1 that redirects every request to `localhost`
/// (another origin), and the other origin, which records what reaches it.
#[test]
fn the_kfp_client_follows_no_redirect_to_another_origin() {
    use crypto_lab::kfp::client::{Credentials, KfpClient};
    let other = TcpListener::bind("127.0.0.1:0").expect("bind");
    let other_port = other.local_addr().expect("addr").port();
    let reached = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let r = reached.clone();
    std::thread::spawn(move || {
        for s in other.incoming().flatten() {
            r.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(s);
        }
    });
    let api = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", api.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for mut s in api.incoming().flatten() {
            let mut line = String::new();
            let mut reader = BufReader::new(s.try_clone().expect("clone"));
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let _ = write!(
                s,
                "HTTP/1.1 302 Found\r\nLocation: http://localhost:{other_port}/apis/v2beta1/pipelines\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    let credentials = Credentials::lookup(Some(TOKEN.into()), None).expect("credentials");
    let client = KfpClient::new(&url, credentials).expect("client");
    let err = client
        .find_pipeline("p", None)
        .expect_err("a cross-origin redirect is not followed")
        .to_string();
    assert!(err.contains("redirected to another origin"), "{err}");
    assert_hidden(&err, "the error");
    assert_eq!(reached.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[test]
fn a_date_out_of_range_names_the_range() {
    let dir = temp_dir("hostile-date");
    fails(
        &[
            "synth",
            "--data-path",
            &dir.path().display().to_string(),
            "--start",
            "1900-01-01",
        ],
        &["in the years 1970..=2100"],
    );
    assert!(!Path::new(&dir.path().join("train.csv")).exists());
}
