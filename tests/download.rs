//! download_data against a real HTTP server on loopback standing in for
//! Kaggle (API + redirect to a storage host), with archives built here from
//! synthetic data.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::http::{Behaviour, Server};
use crate::common::{basic_auth, crypto_lab_bin, temp_dir};
use crypto_lab::prelude::*;
use crypto_lab::stages::download_data::credentials::{self, Auth, Lookup};
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

const USER: &str = "lab-user";
const KEY: &str = "s3cr3t-key-0123456789";

fn basic() -> String {
    basic_auth(USER, KEY)
}

/// train.csv and asset_details.csv made by `synth` for a few days.
fn synthetic_members() -> Vec<(String, Vec<u8>)> {
    synthetic_members_of(11)
}

/// The same with another seed: other content under the same names.
fn synthetic_members_of(seed: u64) -> Vec<(String, Vec<u8>)> {
    let dir = temp_dir(&format!("dl-synth-{seed}"));
    let opts = SynthOptions {
        start: crypto_lab::calendar::parse_instant("2021-04-29").expect("date"),
        end: crypto_lab::calendar::parse_instant("2021-05-03").expect("date"),
        seed,
    };
    synth(dir.path(), &opts, &Silent).expect("synth");
    ["train.csv", "asset_details.csv"]
        .iter()
        .map(|f| {
            (
                f.to_string(),
                std::fs::read(dir.path().join(f)).expect("read"),
            )
        })
        .collect()
}

fn zip_bytes(members: &[(String, Vec<u8>)], method: CompressionMethod) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(method);
    for (name, data) in members {
        w.start_file(name.as_str(), opts).expect("start");
        w.write_all(data).expect("write");
    }
    w.finish().expect("finish").into_inner()
}

struct Kaggle {
    api: Server,
    storage: Server,
    members: Vec<(String, Vec<u8>)>,
    archive: Vec<u8>,
}

impl Kaggle {
    fn start() -> Kaggle {
        let members = synthetic_members();
        Self::serving(
            members.clone(),
            zip_bytes(&members, CompressionMethod::Deflated),
        )
    }

    fn serving(members: Vec<(String, Vec<u8>)>, archive: Vec<u8>) -> Kaggle {
        let storage = Server::start(Behaviour {
            body: archive.clone(),
            ranges: true,
            etag: Some("\"archive-v1\"".into()),
            ..Behaviour::default()
        });
        let api = Server::start(Behaviour {
            expect_auth: Some(basic()),
            redirect_to: Some(format!(
                "{}/storage/archive.zip?X-Signature=signed-secret",
                storage.url
            )),
            ..Behaviour::default()
        });
        Kaggle {
            api,
            storage,
            members,
            archive,
        }
    }

    fn options(&self) -> DownloadOptions {
        DownloadOptions {
            source: Source::Kaggle {
                api: format!("{}/api/v1", self.api.url),
            },
            lookup: env_lookup(&[("KAGGLE_USERNAME", USER), ("KAGGLE_KEY", KEY)]),
            retries: 3,
            backoff: Duration::from_millis(10),
            ..DownloadOptions::default()
        }
    }

    fn assert_extracted(&self, dir: &Path) {
        for (name, data) in &self.members {
            assert_eq!(
                &std::fs::read(dir.join(name)).expect("extracted"),
                data,
                "{name}"
            );
        }
    }

    fn assert_storage_never_saw_credentials(&self) {
        for s in self.storage.seen() {
            assert!(
                !s.headers.contains_key("authorization"),
                "credentials sent to storage: {s:?}"
            );
        }
    }
}

fn env_lookup(vars: &[(&str, &str)]) -> Lookup {
    Lookup {
        env: vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        home: None,
        secret_dir: None,
    }
}

fn err_text(r: crypto_lab::Result<impl std::fmt::Debug>) -> String {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.to_string(),
    }
}

fn no_temp_files(dir: &Path) {
    for e in std::fs::read_dir(dir).expect("dir") {
        let name = e.expect("entry").file_name().to_string_lossy().into_owned();
        assert!(!name.contains(".tmp-"), "{name} left behind");
    }
}

#[test]
fn downloads_follows_the_redirect_without_credentials_and_extracts() {
    let k = Kaggle::start();
    let dir = temp_dir("dl-ok");
    let report = download_data(dir.path(), &k.options(), &Silent).expect("download");
    assert_eq!(report.downloaded_bytes, k.archive.len() as u64);
    k.assert_extracted(dir.path());
    assert_eq!(
        std::fs::read(dir.path().join("g-research-crypto-forecasting.zip")).expect("zip"),
        k.archive
    );
    let api = k.api.seen();
    assert_eq!(
        api[0].path,
        "/api/v1/competitions/data/download-all/g-research-crypto-forecasting"
    );
    assert_eq!(api[0].headers.get("authorization"), Some(&basic()));
    k.assert_storage_never_saw_credentials();
    assert!(!dir
        .path()
        .join("g-research-crypto-forecasting.zip.part")
        .exists());
    no_temp_files(dir.path());

    // Complete files are not fetched again; --force does.
    let before = k.api.seen().len();
    let again = download_data(dir.path(), &k.options(), &Silent).expect("again");
    assert!(again.already_present);
    assert_eq!(k.api.seen().len(), before);
    let forced = DownloadOptions {
        force: true,
        ..k.options()
    };
    download_data(dir.path(), &forced, &Silent).expect("forced");
    assert_eq!(k.api.seen().len(), before + 1);
}

#[test]
fn a_cut_connection_resumes_with_range_and_gives_identical_bytes() {
    let k = Kaggle::start();
    k.storage.set(|b| b.cut = Some((2, 20_000)));
    let dir = temp_dir("dl-resume");
    let report = download_data(dir.path(), &k.options(), &Silent).expect("download");
    assert!(report.resumed);
    assert_eq!(
        std::fs::read(dir.path().join("g-research-crypto-forecasting.zip")).expect("zip"),
        k.archive
    );
    let ranges: Vec<Option<String>> = k
        .storage
        .seen()
        .iter()
        .map(|s| s.headers.get("range").cloned())
        .collect();
    assert_eq!(
        ranges,
        vec![
            None,
            Some("bytes=20000-".into()),
            Some("bytes=40000-".into())
        ]
    );
    k.assert_extracted(dir.path());
    k.assert_storage_never_saw_credentials();
}

#[test]
fn without_range_support_a_cut_download_starts_over() {
    let k = Kaggle::start();
    k.storage.set(|b| {
        b.cut = Some((1, 5_000));
        b.ranges = false;
    });
    let dir = temp_dir("dl-norange");
    let report = download_data(dir.path(), &k.options(), &Silent).expect("download");
    assert!(!report.resumed);
    k.assert_extracted(dir.path());
}

#[test]
fn http_errors_say_what_to_do() {
    let k = Kaggle::start();
    let dir = temp_dir("dl-errors");
    let wrong = DownloadOptions {
        lookup: env_lookup(&[("KAGGLE_USERNAME", USER), ("KAGGLE_KEY", "wrong")]),
        ..k.options()
    };
    let e = err_text(download_data(dir.path(), &wrong, &Silent));
    assert!(
        e.contains("401") && e.contains("KAGGLE_USERNAME + KAGGLE_KEY"),
        "{e}"
    );
    assert!(!e.contains("wrong"), "key leaked: {e}");

    k.api.set(|b| b.status = Some(403));
    let refused = download_data(dir.path(), &k.options(), &Silent);
    // Accepting the rules is the user's fix, not a retry.
    assert!(matches!(&refused, Err(e) if e.remedy() == crypto_lab::error::Remedy::FixInput));
    let e = err_text(refused);
    assert!(
        e.contains("403")
            && e.contains(
                "https://www.kaggle.com/competitions/g-research-crypto-forecasting/rules"
            ),
        "{e}"
    );

    k.api.set(|b| b.status = Some(404));
    let e = err_text(download_data(dir.path(), &k.options(), &Silent));
    assert!(e.contains("404") && e.contains("--dataset"), "{e}");

    k.api.set(|b| b.status = Some(500));
    let failed = download_data(dir.path(), &k.options(), &Silent);
    assert!(matches!(&failed, Err(e) if e.remedy() == crypto_lab::error::Remedy::RetryLater));
    let e = err_text(failed);
    assert!(e.contains("after 4 attempts") && e.contains("500"), "{e}");

    let down = DownloadOptions {
        source: Source::Kaggle {
            api: "http://127.0.0.1:9/api/v1".into(),
        },
        retries: 1,
        ..k.options()
    };
    let e = err_text(download_data(dir.path(), &down, &Silent));
    assert!(
        e.contains("cannot reach") && e.contains("127.0.0.1:9"),
        "{e}"
    );
    assert!(!dir.path().join("train.csv").exists());
}

#[test]
fn unsafe_archives_are_refused_and_removed() {
    let members = synthetic_members();
    let mut evil = members.clone();
    evil.push(("../evil.csv".into(), b"x".to_vec()));
    let k = Kaggle::serving(
        members.clone(),
        zip_bytes(&evil, CompressionMethod::Deflated),
    );
    let outer = temp_dir("dl-evil");
    let dir = outer.path().join("data");
    let e = err_text(download_data(&dir, &k.options(), &Silent));
    assert!(
        e.contains("refused") && e.contains("../evil.csv") && e.contains(".zip"),
        "{e}"
    );
    assert!(!outer.path().join("evil.csv").exists());
    assert!(!dir.join("train.csv").exists());
    assert!(
        !dir.join("g-research-crypto-forecasting.zip").exists(),
        "bad archive kept"
    );

    // A link entry.
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.add_symlink("train.csv", "/etc/passwd", SimpleFileOptions::default())
        .expect("link");
    let linked = w.finish().expect("finish").into_inner();
    let zip_path = outer.path().join("linked.zip");
    std::fs::write(&zip_path, linked).expect("write");
    let local = DownloadOptions {
        source: Source::Zip(zip_path.clone()),
        ..DownloadOptions::default()
    };
    let e = err_text(download_data(&dir, &local, &Silent));
    assert!(e.contains("link") && e.contains("linked.zip"), "{e}");
    assert!(zip_path.exists(), "a user's own zip is never removed");
}

#[test]
fn corrupt_and_truncated_archives_are_errors_naming_the_archive() {
    let members = synthetic_members();
    let mut stored = zip_bytes(&members, CompressionMethod::Stored);
    // Flip a byte inside train.csv's data (after its 30-byte header and name).
    stored[30 + "train.csv".len() + 100] ^= 0x55;
    let k = Kaggle::serving(members.clone(), stored);
    let dir = temp_dir("dl-crc");
    let e = err_text(download_data(dir.path(), &k.options(), &Silent));
    assert!(
        e.contains("g-research-crypto-forecasting.zip") && e.contains("damaged"),
        "{e}"
    );
    assert!(!dir.path().join("train.csv").exists());
    no_temp_files(dir.path());

    let whole = zip_bytes(&members, CompressionMethod::Deflated);
    let truncated = whole[..whole.len() - 200].to_vec();
    let k = Kaggle::serving(members, truncated);
    let dir = temp_dir("dl-trunc");
    let e = err_text(download_data(dir.path(), &k.options(), &Silent));
    assert!(
        e.contains("g-research-crypto-forecasting.zip") && e.contains("not a readable zip"),
        "{e}"
    );
}

#[test]
fn a_mirror_url_or_a_local_zip_work_the_same_and_get_no_credentials() {
    let k = Kaggle::start();
    let dir = temp_dir("dl-mirror");
    let mirror = DownloadOptions {
        source: Source::Url(format!("{}/mirror/g.zip", k.storage.url)),
        ..k.options()
    };
    download_data(dir.path(), &mirror, &Silent).expect("mirror");
    k.assert_extracted(dir.path());
    k.assert_storage_never_saw_credentials();
    assert!(k.api.seen().is_empty());

    let zip_path = dir.path().join("copy.zip");
    std::fs::write(&zip_path, &k.archive).expect("zip");
    let other = temp_dir("dl-local");
    let local = DownloadOptions {
        source: Source::Zip(zip_path),
        files: vec!["asset_details.csv".into()],
        ..DownloadOptions::default()
    };
    download_data(other.path(), &local, &Silent).expect("local");
    assert!(other.path().join("asset_details.csv").is_file());
    assert!(
        !other.path().join("train.csv").exists(),
        "only the wanted members"
    );

    let missing = DownloadOptions {
        files: vec!["nope.csv".into()],
        ..local
    };
    let e = err_text(download_data(other.path(), &missing, &Silent));
    assert!(e.contains("no member `nope.csv`"), "{e}");
}

#[test]
fn a_dataset_that_is_not_a_slug_is_refused_before_any_file_is_touched() {
    let k = Kaggle::start();
    let parent = temp_dir("dl-dataset");
    let data = parent.path().join("data");
    // A file beside the data path, where `--dataset ../x` would point.
    let beside = parent.path().join("x.zip");
    std::fs::write(&beside, b"not ours").expect("write");
    for dataset in [
        "../x",
        "a/b",
        "",
        "Upper",
        "-lead",
        "sp ace",
        &"a".repeat(101),
    ] {
        let opts = DownloadOptions {
            dataset: dataset.to_string(),
            force: true,
            ..k.options()
        };
        let e = err_text(download_data(&data, &opts, &Silent));
        assert!(
            e.contains("--dataset") && e.contains("Kaggle competition name"),
            "{dataset}: {e}"
        );
        assert_eq!(std::fs::read(&beside).expect("beside"), b"not ours");
    }
    assert!(!data.exists(), "nothing made before the name is checked");
    assert!(k.api.seen().is_empty(), "nothing sent");
    crypto_lab::stages::download_data::check_dataset("g-research-crypto-forecasting")
        .expect("slug");
    crypto_lab::stages::download_data::check_dataset(&"a".repeat(100)).expect("100 long");
}

// ---- credentials: every source, in order ----

fn find(lookup: &Lookup) -> credentials::KaggleCredentials {
    credentials::find(lookup)
        .expect("find")
        .credentials
        .expect("credentials")
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

#[test]
fn credential_sources_in_order() {
    let home = temp_dir("cred-home");
    let json = |u: &str| format!("{{\"username\": \"{u}\", \"key\": \"k-{u}\"}}");
    let mut lookup = Lookup {
        env: HashMap::new(),
        home: Some(home.path().to_path_buf()),
        secret_dir: None,
    };
    let basic_user = |c: &credentials::KaggleCredentials| match &c.auth {
        Auth::Basic { username, .. } => username.clone(),
        Auth::Bearer(t) => format!("bearer:{t}"),
    };

    // None anywhere: the error lists the places and how to make a token.
    let e = err_text(credentials::require(&lookup));
    for place in [
        "KAGGLE_API_TOKEN",
        "KAGGLE_USERNAME + KAGGLE_KEY",
        ".kaggle/kaggle.json",
        ".config/kaggle/kaggle.json",
        "Create New Token",
    ] {
        assert!(e.contains(place), "{place} not in: {e}");
    }

    write(
        &home.path().join(".config/kaggle/kaggle.json"),
        &json("xdg"),
    );
    assert_eq!(basic_user(&find(&lookup)), "xdg");
    write(&home.path().join(".kaggle/kaggle.json"), &json("dotkaggle"));
    assert_eq!(basic_user(&find(&lookup)), "dotkaggle");
    let config = home.path().join("cfg");
    write(&config.join("kaggle.json"), &json("configdir"));
    lookup
        .env
        .insert("KAGGLE_CONFIG_DIR".into(), config.display().to_string());
    assert_eq!(basic_user(&find(&lookup)), "configdir");

    let secret = home.path().join("secret");
    write(&secret.join("username"), "secret-user\n");
    write(&secret.join("password"), "lab-password\n");
    lookup.secret_dir = Some(secret.clone());
    let c = find(&lookup);
    assert_eq!(
        c.auth,
        Auth::Basic {
            username: "secret-user".into(),
            key: "lab-password".into()
        }
    );
    write(&secret.join("key"), "secret-key\n");
    let c = find(&lookup);
    assert_eq!(
        c.auth,
        Auth::Basic {
            username: "secret-user".into(),
            key: "secret-key".into()
        }
    );
    assert!(c.origin.contains("secret"));

    lookup
        .env
        .insert("KAGGLE_USERNAME".into(), "env-user".into());
    lookup.env.insert("KAGGLE_KEY".into(), "env-key".into());
    assert_eq!(basic_user(&find(&lookup)), "env-user");

    let token_file = home.path().join("token");
    write(&token_file, "file-token\n");
    lookup
        .env
        .insert("KAGGLE_API_TOKEN".into(), token_file.display().to_string());
    assert_eq!(find(&lookup).auth, Auth::Bearer("file-token".into()));
    lookup
        .env
        .insert("KAGGLE_API_TOKEN".into(), "value-token".into());
    let c = find(&lookup);
    assert_eq!(c.auth, Auth::Bearer("value-token".into()));
    // Debug output never shows the secret.
    assert!(!format!("{c:?}").contains("value-token"));
}

#[cfg(unix)]
#[test]
fn a_kaggle_json_readable_by_others_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let home = temp_dir("cred-perm");
    let path = home.path().join(".kaggle/kaggle.json");
    write(&path, "{\"username\": \"u\", \"key\": \"k\"}");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let lookup = Lookup {
        home: Some(home.path().to_path_buf()),
        ..Lookup::default()
    };
    let found = credentials::find(&lookup).expect("find");
    assert!(
        found.warnings.iter().any(|w| w.contains("chmod 600")),
        "{:?}",
        found.warnings
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    assert!(credentials::find(&lookup)
        .expect("find")
        .warnings
        .is_empty());
}

#[test]
fn bearer_tokens_are_sent_as_bearer() {
    let k = Kaggle::start();
    k.api.set(|b| b.expect_auth = Some("Bearer tok-123".into()));
    let dir = temp_dir("dl-bearer");
    let opts = DownloadOptions {
        lookup: env_lookup(&[("KAGGLE_API_TOKEN", "tok-123")]),
        ..k.options()
    };
    download_data(dir.path(), &opts, &Silent).expect("download");
    k.assert_storage_never_saw_credentials();
}

#[test]
fn cli_download_then_run_from_kaggle_without_leaking_the_key() {
    let k = Kaggle::start();
    let dir = temp_dir("dl-cli");
    let home = temp_dir("dl-cli-home");
    let api = format!("{}/api/v1", k.api.url);
    let out = Command::new(crypto_lab_bin())
        .args([
            "run",
            "--source",
            "kaggle",
            "--kaggle-api",
            &api,
            "--n-estimators",
            "10",
        ])
        .arg("--data-path")
        .arg(dir.path())
        .env("KAGGLE_USERNAME", USER)
        .env("KAGGLE_KEY", KEY)
        .env("HOME", home.path())
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("download_data") && stdout.contains("bytes downloaded"),
        "{stdout}"
    );
    assert!(
        stderr.contains("credentials from KAGGLE_USERNAME + KAGGLE_KEY"),
        "{stderr}"
    );
    for text in [&stdout, &stderr] {
        assert!(
            !text.contains(KEY) && !text.contains("signed-secret"),
            "secret in output"
        );
    }
    k.assert_extracted(dir.path());
    assert!(dir.path().join("mlpipeline-metrics.json").is_file());

    // No credentials anywhere: a clear error, non-zero exit.
    let empty = temp_dir("dl-cli-none");
    let out = Command::new(crypto_lab_bin())
        .args(["download-data", "--kaggle-api", &api])
        .arg("--data-path")
        .arg(empty.path())
        .env_remove("KAGGLE_USERNAME")
        .env_remove("KAGGLE_KEY")
        .env_remove("KAGGLE_API_TOKEN")
        .env_remove("KAGGLE_CONFIG_DIR")
        .env("HOME", home.path())
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no Kaggle credentials found"), "{stderr}");
}

#[test]
fn cli_download_says_wrote_only_when_it_wrote() {
    let k = Kaggle::start();
    let dir = temp_dir("dl-cli-twice");
    let zip_path = dir.path().join("g.zip");
    std::fs::write(&zip_path, &k.archive).expect("zip");
    let data = dir.path().join("data");
    let download = || {
        let out = Command::new(crypto_lab_bin())
            .args(["download-data", "--source"])
            .arg(&zip_path)
            .arg("--data-path")
            .arg(&data)
            .output()
            .expect("run");
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let first = download();
    assert!(
        first.contains("extracted") && first.contains("; wrote "),
        "{first}"
    );
    let again = download();
    assert!(
        again.contains("already present, nothing written"),
        "{again}"
    );
    assert!(!again.contains("; wrote"), "{again}");
}

#[test]
fn another_source_downloads_again_and_the_stages_after_it_rerun() {
    let k = Kaggle::start();
    let dir = temp_dir("dl-cli-other-source");
    let first_zip = dir.path().join("first.zip");
    std::fs::write(&first_zip, &k.archive).expect("zip");
    // The same members, other content: another seed's synthetic data.
    let other = synthetic_members_of(12);
    let second_zip = dir.path().join("second.zip");
    std::fs::write(&second_zip, zip_bytes(&other, CompressionMethod::Deflated)).expect("zip");
    let data = dir.path().join("data");
    let crypto_lab = |args: &[&str]| {
        let out = Command::new(crypto_lab_bin())
            .args(args)
            .arg("--data-path")
            .arg(&data)
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{args:?}: {err}");
        err
    };
    let zip = |p: &Path| p.display().to_string();
    crypto_lab(&["download-data", "--source", &zip(&first_zip)]);
    crypto_lab(&["run", "--source", &zip(&first_zip), "--n-estimators", "5"]);
    let same = crypto_lab(&["run", "--source", &zip(&first_zip), "--n-estimators", "5"]);
    assert!(same.contains("load_data: up to date"), "{same}");
    let again = crypto_lab(&["run", "--source", &zip(&second_zip), "--n-estimators", "5"]);
    assert!(
        again.contains("download_data: downloading again (source zip ")
            && again.contains("first.zip -> zip ")
            && again.contains("load_data: rerun (train.csv changed)"),
        "{again}"
    );
    assert_eq!(
        std::fs::read(data.join("train.csv")).expect("train.csv"),
        other[0].1
    );
}

/// A local zip of `members` for `Source::Zip`, its bytes passed through
/// `patch` (to make what the zip writer refuses to write).
fn local_zip(
    dir: &Path,
    members: &[(String, Vec<u8>)],
    patch: impl Fn(&mut Vec<u8>),
) -> DownloadOptions {
    let mut bytes = zip_bytes(members, CompressionMethod::Stored);
    patch(&mut bytes);
    let path = dir.join("hostile.zip");
    std::fs::write(&path, bytes).expect("write zip");
    DownloadOptions {
        source: Source::Zip(path),
        ..DownloadOptions::default()
    }
}

fn replace_all(bytes: &mut [u8], from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            i += from.len();
        } else {
            i += 1;
        }
    }
}

#[test]
fn two_members_of_one_name_are_refused() {
    let mut members = synthetic_members();
    members.push(("trainXcsv".into(), b"timestamp\n".to_vec()));
    let dir = temp_dir("dl-dup");
    let opts = local_zip(dir.path(), &members, |b| {
        replace_all(b, b"trainXcsv", b"train.csv")
    });
    let data = dir.path().join("data");
    let e = err_text(download_data(&data, &opts, &Silent));
    assert!(e.contains("two entries share a name"), "{e}");
    assert!(!data.join("train.csv").exists());
}

#[test]
fn a_member_declaring_a_terabyte_is_refused_before_anything_is_written() {
    let members = synthetic_members();
    let dir = temp_dir("dl-huge");
    // Zip64 sizes, so the central directory can declare any size: the
    // member's uncompressed size is patched to 1 TiB there.
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .large_file(true);
    for (name, data) in &members {
        w.start_file(name.as_str(), opts).expect("start");
        w.write_all(data).expect("write");
    }
    let mut bytes = w.finish().expect("finish").into_inner();
    let train = &members[0].1;
    let size = (train.len() as u64).to_le_bytes();
    let tib = (1u64 << 40).to_le_bytes();
    // The central directory's zip64 field holds the size twice (sizes of
    // the data, uncompressed and stored): the first is the uncompressed.
    let cd = bytes
        .windows(4)
        .position(|w| w == b"PK\x01\x02")
        .expect("central directory");
    let at = cd
        + bytes[cd..]
            .windows(16)
            .position(|w| w[..8] == size && w[8..] == size)
            .expect("zip64 sizes in the central directory");
    bytes[at..at + 8].copy_from_slice(&tib);
    let path = dir.path().join("huge.zip");
    std::fs::write(&path, bytes).expect("write");
    let opts = DownloadOptions {
        source: Source::Zip(path),
        ..DownloadOptions::default()
    };
    let data = dir.path().join("data");
    let e = err_text(download_data(&data, &opts, &Silent));
    assert!(
        e.contains("`train.csv` declares 1099511627776 bytes"),
        "{e}"
    );
    assert!(!data.join("train.csv").exists());
    no_temp_files(&data);
}

#[test]
fn a_changed_remote_file_is_fetched_again_not_spliced() {
    let k = Kaggle::start();
    k.storage.set(|b| b.cut = Some((1, 20_000)));
    let dir = temp_dir("dl-changed");
    let once = DownloadOptions {
        retries: 0,
        ..k.options()
    };
    err_text(download_data(dir.path(), &once, &Silent));
    // The remote archive changes before the resume.
    let other = synthetic_members_of(12);
    let archive = zip_bytes(&other, CompressionMethod::Deflated);
    k.storage.set(|b| {
        b.body = archive.clone();
        b.etag = Some("\"archive-v2\"".into());
    });
    let report = download_data(dir.path(), &k.options(), &Silent).expect("download");
    assert!(!report.resumed, "the part file was of another archive");
    let last = k.storage.seen().last().cloned().expect("a request");
    assert_eq!(
        last.headers.get("if-range").map(String::as_str),
        Some("\"archive-v1\"")
    );
    assert_eq!(
        std::fs::read(dir.path().join("g-research-crypto-forecasting.zip")).expect("zip"),
        archive
    );
    for (name, data) in &other {
        assert_eq!(&std::fs::read(dir.path().join(name)).expect("member"), data);
    }
}

#[test]
fn a_stalled_mirror_is_given_up_within_the_idle_timeout_and_its_retries() {
    let k = Kaggle::start();
    k.storage.set(|b| b.stall_after = Some(10_000));
    let dir = temp_dir("dl-stall");
    let opts = DownloadOptions {
        retries: 1,
        idle_timeout: Duration::from_secs(1),
        ..k.options()
    };
    let t = std::time::Instant::now();
    let e = err_text(download_data(dir.path(), &opts, &Silent));
    let took = t.elapsed();
    assert!(took < Duration::from_secs(10), "gave up after {took:?}");
    assert!(e.contains("no byte arrived within the idle timeout"), "{e}");
    assert!(
        e.contains("after 2 attempts") && !e.contains("X-Signature"),
        "{e}"
    );
    // The data path's lock went with the attempt: a new download may start.
    k.storage.set(|b| b.stall_after = None);
    download_data(dir.path(), &k.options(), &Silent).expect("download after the stall");
}

#[test]
fn an_archive_larger_than_max_bytes_is_refused_declared_or_streamed() {
    let k = Kaggle::start();
    let dir = temp_dir("dl-max");
    let opts = DownloadOptions {
        max_bytes: k.archive.len() as u64 / 2,
        ..k.options()
    };
    let e = err_text(download_data(dir.path(), &opts, &Silent));
    assert!(e.contains("more than --max-bytes"), "{e}");
    // Without a Content-Length the cap stops the stream itself.
    k.storage.set(|b| b.no_length = true);
    let e = err_text(download_data(dir.path(), &opts, &Silent));
    assert!(e.contains("sent more than --max-bytes"), "{e}");
    assert!(!dir
        .path()
        .join("g-research-crypto-forecasting.zip.part")
        .exists());
}

#[test]
fn credentials_never_go_over_plain_http_off_this_machine() {
    let dir = temp_dir("dl-plain-http");
    let opts = DownloadOptions {
        source: Source::Kaggle {
            // A non-routable address: the refusal comes before any connection.
            api: "http://10.255.255.1:9/api/v1".into(),
        },
        lookup: env_lookup(&[("KAGGLE_USERNAME", USER), ("KAGGLE_KEY", KEY)]),
        retries: 0,
        ..DownloadOptions::default()
    };
    let t = std::time::Instant::now();
    let e = err_text(download_data(dir.path(), &opts, &Silent));
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(
        e.contains("refusing to send Kaggle credentials over plain http"),
        "{e}"
    );
    assert!(!e.contains(KEY));
}
