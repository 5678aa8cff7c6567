//! `crypto-lab doctor` run as a real process in a controlled world: PATH is
//! a folder of small stand-in tools (so a test can leave any of them out or
//! make one too old), fonts, credentials and the checkout's target/ are
//! temp files, and loopback HTTP servers stand in for Kaggle and a KFP host.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::http::{Behaviour, Server};
use crate::common::{basic_auth, crypto_lab_bin, stderr, stdout, temp_dir, TempDir};

const HOST: &str = "x86_64-unknown-linux-gnu";
const USER: &str = "lab-user";
const KEY: &str = "doctor-s3cr3t-key-9876543210";

/// A machine as the doctor sees it.
struct World {
    dir: TempDir,
    tools: BTreeMap<&'static str, String>,
    env: Vec<(String, String)>,
    kernelspecs: String,
    /// What --project names.
    project: String,
}

impl World {
    /// Every tool present and new enough, a font, libclang, the Rust kernel
    /// registered, a checkout with a warm target/, no credentials.
    fn ready(tag: &str) -> World {
        let dir = temp_dir(tag);
        let root = dir.path().to_path_buf();
        for sub in [
            "bin",
            "home",
            "libclang",
            "project/notebooks",
            "project/.cargo",
            "data",
        ] {
            std::fs::create_dir_all(root.join(sub)).expect("mkdir");
        }
        std::fs::write(root.join("project/notebooks/evcxr.toml"), "[evcxr]\n").expect("write");
        std::fs::write(
            root.join("project/.cargo/config.toml"),
            "[build]\ntarget = \"host-tuple\"\n",
        )
        .expect("write");
        std::fs::write(root.join("libclang/libclang.so.1"), b"").expect("write");
        // The first bytes of a TrueType file are all the check reads.
        std::fs::write(root.join("font.ttf"), b"\x00\x01\x00\x00rest-of-font").expect("write");
        let mut w = World {
            dir,
            tools: BTreeMap::new(),
            env: Vec::new(),
            kernelspecs: String::new(),
            project: root.join("project").display().to_string(),
        };
        w.tool("cargo", "echo 'cargo 1.95.0 (f2d3ce0bd 2026-03-21)'");
        w.tool(
            "rustc",
            &format!("printf 'rustc 1.95.0\\nbinary: rustc\\nhost: {HOST}\\nrelease: 1.95.0\\n'"),
        );
        for t in ["cc", "g++", "clang", "jupyter-lab", "evcxr_jupyter", "mold"] {
            w.tool(t, "exit 0");
        }
        w.tool("cmake", "echo 'cmake version 3.31.6'");
        w.tool(
            "jupyter",
            &format!(
                "[ \"$1\" = kernelspec ] && exec /bin/cat '{}'\nexit 1",
                root.join("kernelspecs.json").display()
            ),
        );
        w.register_rust_kernel();
        w.warm_target();
        w.set("HOME", &w.path("home"));
        w.set("LIBCLANG_PATH", &w.path("libclang"));
        w.set("CRYPTO_LAB_FONT", &w.path("font.ttf"));
        w.set("CRYPTO_LAB_FONT_SEARCH", "");
        w
    }

    fn path(&self, sub: &str) -> String {
        self.dir.path().join(sub).display().to_string()
    }

    /// A stand-in tool: a shell script (its shell has an absolute path, so
    /// it runs whatever PATH says).
    fn tool(&mut self, name: &'static str, body: &str) {
        self.tools.insert(name, format!("#!/bin/sh\n{body}\n"));
    }

    fn without(&mut self, name: &str) {
        self.tools.remove(name);
    }

    fn set(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_string(), value.to_string()));
    }

    fn register_rust_kernel(&mut self) {
        self.kernelspecs = format!(
            r#"{{"kernelspecs": {{"rust": {{"resource_dir": "/k/rust", "spec": {{"argv": ["{}", "--control_file", "{{connection_file}}"], "display_name": "Rust", "language": "rust"}}}}}}}}"#,
            self.path("bin/evcxr_jupyter")
        );
    }

    fn deps(&self) -> PathBuf {
        self.dir
            .path()
            .join("project/target")
            .join(HOST)
            .join("debug/deps")
    }

    fn warm_target(&self) {
        let deps = self.deps();
        std::fs::create_dir_all(&deps).expect("mkdir");
        for name in crypto_lab::doctor::WARM_RLIBS {
            std::fs::write(deps.join(format!("lib{name}-0123abcd.rlib")), b"").expect("write");
        }
    }

    /// Runs `crypto-lab doctor` with only this world's environment.
    fn doctor(&self, extra: &[&str]) -> Output {
        let bin = self.dir.path().join("bin");
        let _ = std::fs::remove_dir_all(&bin);
        std::fs::create_dir_all(&bin).expect("mkdir bin");
        for (name, script) in &self.tools {
            let path = bin.join(name);
            std::fs::write(&path, script).expect("write tool");
            make_executable(&path);
        }
        std::fs::write(self.dir.path().join("kernelspecs.json"), &self.kernelspecs)
            .expect("write kernelspecs");
        let mut cmd = Command::new(crypto_lab_bin());
        cmd.env_clear()
            .env("PATH", &bin)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(self.dir.path())
            .args(["doctor", "--project", &self.project])
            .args(["--data-path", &self.path("data")])
            .args(["--timeout", "3"])
            .args(extra);
        cmd.output().expect("run crypto-lab doctor")
    }
}

#[cfg(unix)]
fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// The printed line of check `name`.
fn line<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines()
        .find(|l| {
            let mut words = l.splitn(2, char::is_whitespace);
            words.next();
            // Names are padded to one width and followed by two spaces, so
            // `rust` does not match `rust kernel`.
            words.next().is_some_and(|rest| {
                rest.trim_start()
                    .strip_prefix(name)
                    .is_some_and(|after| after.starts_with("  "))
            })
        })
        .unwrap_or_else(|| panic!("no `{name}` line in:\n{text}"))
}

fn status<'a>(text: &'a str, name: &str) -> &'a str {
    line(text, name).split_whitespace().next().unwrap_or("")
}

fn assert_ready(out: &Output) -> String {
    let text = stdout(out);
    assert!(
        out.status.success(),
        "doctor failed:\n{text}\n{}",
        stderr(out)
    );
    assert!(text.contains("ready for the workshop"), "{text}");
    text
}

/// Runs, expects a non-zero exit naming `missing` on stderr, returns stdout.
fn assert_not_ready(out: &Output, missing: &[&str]) -> String {
    let text = stdout(out);
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{text}\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    let last = err.lines().last().unwrap_or("");
    assert!(
        last.starts_with("error: not ready for the workshop"),
        "{err}"
    );
    for m in missing {
        assert_eq!(status(&text, m), "missing", "{text}");
        assert!(last.contains(m), "`{m}` not in {last}");
    }
    text
}

/// A loopback port that refuses connections.
fn closed_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    url
}

fn basic() -> String {
    basic_auth(USER, KEY)
}

/// Every file under `dir` with its size and modification time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, std::time::SystemTime)> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir").flatten() {
            let meta = e.metadata().expect("metadata");
            if meta.is_dir() {
                stack.push(e.path());
            }
            files.insert(e.path(), (meta.len(), meta.modified().expect("mtime")));
        }
    }
    files
}

#[test]
fn a_ready_machine_passes_and_the_doctor_changes_nothing() {
    let w = World::ready("doc-ready");
    let before = snapshot(w.dir.path());
    let out = w.doctor(&[]);
    let text = assert_ready(&out);
    for name in [
        "rust",
        "c/c++ compiler",
        "clang/libclang",
        "cmake",
        "jupyter",
        "rust kernel",
        "kernel build",
        "linker",
        "build env",
        "font",
    ] {
        assert_eq!(status(&text, name), "ok", "{name}:\n{text}");
    }
    // Little disk for the full data only warns.
    assert_ne!(status(&text, "disk"), "missing");
    assert!(line(&text, "rust").contains(&format!("cargo 1.95.0, rustc 1.95.0, host {HOST}")));
    assert!(line(&text, "cmake").contains("3.31.6"));
    assert!(line(&text, "kernel build").contains("warm: first cell about 1 min"));
    assert!(line(&text, "font").contains("font.ttf"));
    // Free space is measured where the data would go.
    assert!(line(&text, "disk").contains(&w.path("data")), "{text}");
    // No credentials: a warning, not a failure, and nothing asked of Kaggle.
    assert_eq!(status(&text, "kaggle credentials"), "warn");
    assert!(line(&text, "kaggle credentials").contains("synthetic data works"));
    assert!(!text.contains("kaggle rules"));
    assert!(!text.contains("kfp"), "no KFP line without --kfp-host");
    // Only the stand-in tools' files were written, and by the test itself.
    let mut after = snapshot(w.dir.path());
    let mut before = before;
    for s in [&mut before, &mut after] {
        s.retain(|p, _| {
            !p.starts_with(w.dir.path().join("bin")) && !p.ends_with("kernelspecs.json")
        });
    }
    assert_eq!(before, after, "doctor wrote something");
}

#[test]
fn missing_jupyter_and_cmake_fail_with_their_fixes() {
    let mut w = World::ready("doc-nojup");
    w.without("jupyter");
    w.without("cmake");
    let out = w.doctor(&[]);
    let text = assert_not_ready(&out, &["cmake", "jupyter", "rust kernel"]);
    assert!(line(&text, "cmake").contains("not on PATH"));
    assert!(line(&text, "cmake").contains("fix: bash .ci/setup --build-only"));
    // .ci/setup never ran in this home: the fix runs it, then sets PATH.
    assert!(line(&text, "jupyter").contains("fix: bash .ci/setup && export PATH="));
    assert_eq!(status(&text, "rust"), "ok");

    // After .ci/setup, only PATH is missing its folders.
    let venv = w.dir.path().join("home/.cache/crypto-lab/venv-jupyter/bin");
    std::fs::create_dir_all(&venv).expect("mkdir");
    std::fs::write(venv.join("jupyter"), "#!/bin/sh\n").expect("write");
    make_executable(&venv.join("jupyter"));
    let text = stdout(&w.doctor(&[]));
    assert!(
        line(&text, "jupyter").contains("fix: export PATH=\"$HOME/.cache/crypto-lab/tools/bin"),
        "{text}"
    );
}

#[test]
fn tools_too_old_or_absent_are_missing() {
    let mut w = World::ready("doc-old");
    w.tool("cargo", "echo 'cargo 1.90.0 (840b83a10 2025-07-30)'");
    w.tool("cmake", "echo 'cmake version 3.25.1'");
    w.without("g++");
    w.without("clang");
    let text = assert_not_ready(
        &w.doctor(&[]),
        &["rust", "cmake", "c/c++ compiler", "clang/libclang"],
    );
    assert!(line(&text, "rust").contains("cargo 1.90.0 is older than 1.91"));
    assert!(line(&text, "rust").contains("fix: rustup update stable"));
    assert!(line(&text, "cmake").contains("3.25.1, LightGBM 4.7 needs 3.28"));
    assert!(line(&text, "c/c++ compiler").contains("C++ compiler"));
    assert!(line(&text, "clang/libclang").contains("clang is not on PATH"));
}

#[test]
fn no_font_is_missing() {
    let mut w = World::ready("doc-font");
    w.set("CRYPTO_LAB_FONT", &w.path("nowhere/font.ttf"));
    let text = assert_not_ready(&w.doctor(&[]), &["font"]);
    assert!(line(&text, "font").contains("nowhere/font.ttf"));
    assert!(line(&text, "font").contains("fix: sudo apt-get install fonts-dejavu-core"));

    // A file that is not a font (an HTML error page saved as .ttf) is no font.
    w.set("CRYPTO_LAB_FONT", "");
    std::fs::write(w.dir.path().join("page.ttf"), "<html>").expect("write");
    w.set("CRYPTO_LAB_FONT_SEARCH", &w.path("page.ttf"));
    assert_not_ready(&w.doctor(&[]), &["font"]);
}

#[test]
fn the_rust_kernel_must_be_registered_and_present() {
    let mut w = World::ready("doc-kernel");
    w.kernelspecs = r#"{"kernelspecs": {"python3": {"spec": {"argv": ["python"]}}}}"#.into();
    let text = assert_not_ready(&w.doctor(&[]), &["rust kernel"]);
    assert!(line(&text, "rust kernel").contains("no `rust` kernel"));
    assert!(line(&text, "rust kernel").contains("fix: evcxr_jupyter --install"));

    // Registered once, but its program was removed since.
    w.register_rust_kernel();
    w.without("evcxr_jupyter");
    let text = assert_not_ready(&w.doctor(&[]), &["rust kernel"]);
    assert!(
        line(&text, "rust kernel").contains("which is gone"),
        "{text}"
    );
}

#[test]
fn a_cold_or_mismatched_build_warns_with_the_fix_but_passes() {
    let mut w = World::ready("doc-cold");
    std::fs::remove_dir_all(w.dir.path().join("project/target")).expect("rm target");
    let text = assert_ready(&w.doctor(&[]));
    assert_eq!(status(&text, "kernel build"), "warn");
    assert!(line(&text, "kernel build")
        .contains("cold: the first notebook cell will compile everything"));
    assert!(line(&text, "kernel build").contains("fix: cargo build"));

    // Half built: says what is left.
    std::fs::create_dir_all(w.deps()).expect("mkdir");
    std::fs::write(w.deps().join("libpolars_core-1.rlib"), b"").expect("write");
    let text = assert_ready(&w.doctor(&[]));
    assert!(
        line(&text, "kernel build").contains("partly built"),
        "{text}"
    );
    assert!(
        line(&text, "kernel build").contains("lightgbm3_sys"),
        "{text}"
    );

    // Build settings in the environment would make the kernel rebuild.
    w.warm_target();
    w.set("RUSTFLAGS", "-C target-cpu=native");
    w.set("CARGO_TARGET_DIR", "/tmp/elsewhere");
    let text = assert_ready(&w.doctor(&[]));
    assert_eq!(status(&text, "kernel build"), "ok");
    assert_eq!(status(&text, "build env"), "warn");
    assert!(line(&text, "build env").contains("fix: unset RUSTFLAGS CARGO_TARGET_DIR"));
}

#[test]
fn outside_a_checkout_the_kernel_build_is_missing() {
    let mut w = World::ready("doc-nocheckout");
    w.project = w.path("home");
    let out = w.doctor(&[]);
    let text = assert_not_ready(&out, &["kernel build"]);
    assert!(line(&text, "kernel build").contains("not a crypto-lab checkout"));
}

#[test]
fn kaggle_credentials_are_located_never_shown_and_the_rules_asked() {
    let mut w = World::ready("doc-kaggle");
    w.set("KAGGLE_USERNAME", USER);
    w.set("KAGGLE_KEY", KEY);
    let api = Server::start(Behaviour {
        expect_auth: Some(basic()),
        redirect_to: Some("http://127.0.0.1:9/never-followed".into()),
        ..Behaviour::default()
    });
    let api_root = format!("{}/api/v1", api.url);
    let accepted = w.doctor(&["--kaggle-api", &api_root]);
    let text = assert_ready(&accepted);
    assert_eq!(status(&text, "kaggle credentials"), "ok");
    assert!(line(&text, "kaggle credentials").contains("from KAGGLE_USERNAME + KAGGLE_KEY"));
    assert_eq!(status(&text, "kaggle rules"), "ok", "{text}");
    assert!(line(&text, "kaggle rules").contains("accepted"));
    let seen = api.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        seen[0].path,
        "/api/v1/competitions/data/download-all/g-research-crypto-forecasting"
    );
    assert_eq!(seen[0].headers.get("authorization"), Some(&basic()));

    // An API mirror that answers 200 instead of redirecting: accepted too.
    let mirror = Server::start(Behaviour {
        body: b"PK".to_vec(),
        ..Behaviour::default()
    });
    let text = assert_ready(&w.doctor(&["--kaggle-api", &mirror.url]));
    assert_eq!(status(&text, "kaggle rules"), "ok", "{text}");

    // Rules not accepted: Kaggle answers 403.
    api.set(|b| b.status = Some(403));
    let out = w.doctor(&["--kaggle-api", &api_root]);
    let text = assert_ready(&out);
    assert_eq!(status(&text, "kaggle rules"), "warn");
    assert!(line(&text, "kaggle rules").contains(
        "fix: accept the rules at https://www.kaggle.com/competitions/g-research-crypto-forecasting/rules"
    ));
    for o in [&accepted, &out] {
        let all = format!("{}{}", stdout(o), stderr(o));
        assert!(!all.contains(KEY), "the key was printed:\n{all}");
    }

    // Offline: not checked, and not a failure.
    let out = w.doctor(&["--kaggle-api", &closed_port()]);
    let text = assert_ready(&out);
    assert!(
        line(&text, "kaggle rules").contains("not checked (offline"),
        "{text}"
    );
    assert!(!format!("{text}{}", stderr(&out)).contains(KEY));
}

#[test]
fn a_kaggle_json_readable_by_others_warns() {
    let mut w = World::ready("doc-json");
    let dir = w.dir.path().join("home/.kaggle");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let json = dir.join("kaggle.json");
    std::fs::write(&json, format!(r#"{{"username":"{USER}","key":"{KEY}"}}"#)).expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&json, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    w.set("KAGGLE_CONFIG_DIR", &w.path("nowhere"));
    let out = w.doctor(&["--kaggle-api", &closed_port()]);
    let text = assert_ready(&out);
    assert_eq!(status(&text, "kaggle credentials"), "warn");
    let l = line(&text, "kaggle credentials");
    assert!(l.contains(&json.display().to_string()), "{l}");
    assert!(l.contains("readable by other users"), "{l}");
    assert!(
        l.contains(&format!("fix: chmod 600 {}", json.display())),
        "{l}"
    );
    assert!(!format!("{text}{}", stderr(&out)).contains(KEY));
}

#[test]
fn a_kfp_host_must_answer_its_healthz() {
    let w = World::ready("doc-kfp");
    let kfp = Server::start(Behaviour {
        body: br#"{"commit_sha":"abc","tag_name":"2.5.0","multi_user":false}"#.to_vec(),
        ..Behaviour::default()
    });
    let text = assert_ready(&w.doctor(&["--kfp-host", &kfp.url]));
    assert_eq!(status(&text, "kfp"), "ok");
    assert!(line(&text, "kfp").contains("answered 200"));
    assert_eq!(kfp.seen()[0].path, "/apis/v2beta1/healthz");

    // Something answers, but not KFP's API.
    let other = Server::start(Behaviour {
        redirect_to: Some("http://127.0.0.1:9/".into()),
        status: Some(500),
        ..Behaviour::default()
    });
    let text = assert_not_ready(&w.doctor(&["--kfp-host", &other.url]), &["kfp"]);
    assert!(line(&text, "kfp").contains("answered 500"), "{text}");

    let text = assert_not_ready(&w.doctor(&["--kfp-host", &closed_port()]), &["kfp"]);
    assert!(line(&text, "kfp").contains("unreachable (is the port-forward running?)"));
    assert!(line(&text, "kfp").contains("fix: kubectl port-forward"));
}

#[test]
fn help_says_what_is_checked_and_that_nothing_changes() {
    let out = Command::new(crypto_lab_bin())
        .args(["doctor", "--help"])
        .output()
        .expect("run");
    let text = stdout(&out);
    assert!(out.status.success());
    for needle in [
        "builds, installs and writes nothing",
        "cargo >= 1.91",
        "CMake >= 3.28",
        "evcxr_jupyter --install",
        "--kfp-host",
        "--kaggle-api",
        "Exit status 0",
    ] {
        assert!(text.contains(needle), "`{needle}` not in:\n{text}");
    }
    let out = Command::new(crypto_lab_bin())
        .arg("--help")
        .output()
        .expect("run");
    assert!(stdout(&out).contains("doctor "));
}

#[test]
fn without_mold_the_kernel_links_slower_but_the_workshop_works() {
    let mut w = World::ready("doc-mold");
    w.without("mold");
    let out = w.doctor(&[]);
    let text = assert_ready(&out);
    assert_eq!(status(&text, "linker"), "warn", "{text}");
    assert!(
        line(&text, "linker").contains("fix: bash .ci/setup --build-only"),
        "{text}"
    );
}
