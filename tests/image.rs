//! The workshop's image (the Dockerfile's `notebook` target, `.binder/`), as
//! far as a machine without a container engine can check it: the stage's
//! layout against what the entrypoint, Jupyter's settings and the notebook
//! expect, and the entrypoint itself run on that layout in a folder (the
//! students' folder filled once and never over their copy, the command
//! run, refusals that say what to fix), as uid 1000 in group 0 where this
//! machine allows it. Building the image and starting it under Docker, a
//! JupyterHub or Binder is not run here (docs/WORKSHOP.md says so).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{temp_dir, text};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The Dockerfile's stage that starts `FROM <head>`.
fn stage(dockerfile: &str, head: &str) -> String {
    dockerfile
        .split("\nFROM ")
        .find(|s| s.starts_with(head))
        .unwrap_or_else(|| panic!("no stage FROM {head}"))
        .to_string()
}

const NOTEBOOK_FILES: [&str; 2] = ["evcxr.toml", "g_research_crypto_forecasting.ipynb"];

#[test]
fn the_notebook_stage_holds_what_its_entrypoint_and_jupyter_expect() {
    let dockerfile = read("Dockerfile");
    let nb = stage(&dockerfile, "dev AS notebook");
    // The crate and its build come from the dev stage, at the path the
    // kernel's `:dep crypto-lab = { path = ".." }` resolves to.
    let entrypoint = read(".binder/entrypoint");
    assert!(entrypoint.contains(r#"lab="${CRYPTO_LAB_SOURCE:-/opt/crypto-lab}""#));
    assert!(entrypoint.contains(r#"pristine="$lab/share/notebooks""#));
    assert!(entrypoint.contains(r#"work="$lab/notebooks""#));
    assert!(nb.contains(&format!(
        "COPY notebooks/{} notebooks/{} share/notebooks/",
        NOTEBOOK_FILES[0], NOTEBOOK_FILES[1]
    )));
    for file in NOTEBOOK_FILES {
        assert!(root().join("notebooks").join(file).is_file(), "{file}");
    }
    // The kernel built and warmed as .ci/setup does, its spec for every user.
    assert!(nb.contains("bash .ci/setup --kernel"));
    assert!(read(".ci/setup").contains(r#"[ "${1:-}" = "--kernel" ] && kernel_only=true"#));
    assert!(nb.contains("/opt/jupyter/share/jupyter/kernels/rust"));
    // Jupyter's root is the students' folder; the notebook opens at start.
    let config = read(".binder/jupyter_server_config.py");
    assert!(config.contains(r#"c.ServerApp.root_dir = "/opt/crypto-lab/notebooks""#));
    // `jupyter lab` takes its start page from JupyterLab's setting, a Hub's
    // jupyterhub-singleuser from the server's: both open the notebook.
    assert!(config.contains(&format!(
        r#"c.LabApp.default_url = "/lab/tree/{}""#,
        NOTEBOOK_FILES[1]
    )));
    assert!(config.contains("c.ServerApp.default_url = c.LabApp.default_url"));
    assert!(
        nb.contains("COPY .binder/jupyter_server_config.py /etc/jupyter/jupyter_server_config.py")
    );
    // jovyan, uid 1000 in group 0; the entrypoint wraps any command.
    assert!(nb.contains("useradd --uid 1000 --gid 0"));
    assert!(nb.contains("\nUSER 1000\n"));
    assert!(nb.contains("COPY .binder/entrypoint /usr/local/bin/crypto-lab-notebook"));
    assert!(nb.contains(r#"ENTRYPOINT ["crypto-lab-notebook"]"#));
    assert!(nb.contains(r#"CMD ["jupyter", "lab"]"#));
    // The room's Jupyter: one list for the image and .ci/check-room's root.
    assert!(nb.contains("pip install --no-cache-dir -r /opt/jupyter-requirements.txt"));
    let requirements = read(".binder/requirements.txt");
    assert!(
        requirements.lines().any(|l| l.starts_with("jupyterhub")),
        "jupyterhub-singleuser for a Hub"
    );
    let room = read(".ci/check-room");
    assert!(room.contains("cp .binder/requirements.txt \"$root/opt/jupyter-requirements.txt\""));
    assert!(room.contains("-r /opt/jupyter-requirements.txt"));
    // .ci/check-room gives its Debian root jovyan by the stage's own line.
    assert!(room.contains(r"grep -o 'useradd --uid 1000 [^\\&]*jovyan' Dockerfile"));
    // Binder starts from this image, at the crate's version.
    let binder = read(".binder/Dockerfile");
    let from = binder
        .lines()
        .find(|l| l.starts_with("FROM "))
        .expect("a FROM line");
    assert!(
        from.ends_with(&format!("/crypto-lab-notebook:{}", crypto_lab::VERSION)),
        "{from}"
    );
    // The build context keeps what the stage copies.
    let ignored = read(".dockerignore");
    for needed in [".ci", ".binder", "notebooks"] {
        assert!(!ignored.lines().any(|l| l.trim() == needed), "{needed}");
    }
}

/// A folder laid out as the image's /opt/crypto-lab, the shipped notebook
/// files in share/notebooks.
fn image_layout(name: &str) -> tempfile::TempDir {
    let dir = temp_dir(name);
    let share = dir.path().join("share/notebooks");
    std::fs::create_dir_all(&share).expect("share");
    for file in NOTEBOOK_FILES {
        std::fs::copy(root().join("notebooks").join(file), share.join(file)).expect("copy");
    }
    dir
}

fn entrypoint(lab: &Path, args: &[&str], path_prefix: Option<&Path>) -> Output {
    let mut cmd = Command::new("bash");
    cmd.arg(root().join(".binder/entrypoint"))
        .args(args)
        .env("CRYPTO_LAB_SOURCE", lab);
    if let Some(prefix) = path_prefix {
        let path = std::env::var("PATH").unwrap_or_default();
        cmd.env("PATH", format!("{}:{path}", prefix.display()));
    }
    cmd.output().expect("run the entrypoint")
}

#[test]
fn the_entrypoint_fills_an_empty_students_folder_once_and_runs_the_command() {
    let lab = image_layout("entrypoint");
    let lab = lab.path();
    // A Hub's fresh volume: the folder exists and is empty.
    std::fs::create_dir_all(lab.join("notebooks")).expect("volume");
    let out = entrypoint(
        lab,
        &["sh", "-c", "echo ran in $PWD with \"$@\"", "x", "a b"],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("ran in "),
        "{}",
        text(&out.stdout)
    );
    assert!(text(&out.stdout).ends_with("with a b\n"));
    for file in NOTEBOOK_FILES {
        let shipped = std::fs::read(lab.join("share/notebooks").join(file)).expect("shipped");
        assert_eq!(
            std::fs::read(lab.join("notebooks").join(file)).expect(file),
            shipped
        );
        assert!(text(&out.stderr).contains(&format!("copied {file} into")));
    }
    assert!(lab.join("data").is_dir(), "the notebook's data folder");

    // A student's saved copy is never replaced; a deleted file comes back.
    let mine = lab.join("notebooks").join(NOTEBOOK_FILES[1]);
    std::fs::write(&mine, "{\"a student's\": \"notebook\"}").expect("edit");
    std::fs::remove_file(lab.join("notebooks").join(NOTEBOOK_FILES[0])).expect("rm");
    let out = entrypoint(lab, &["true"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(&mine).expect("mine"),
        "{\"a student's\": \"notebook\"}"
    );
    assert_eq!(
        text(&out.stderr).matches("copied ").count(),
        1,
        "{}",
        text(&out.stderr)
    );
    assert!(lab.join("notebooks").join(NOTEBOOK_FILES[0]).is_file());
    // No temporary copies left beside them.
    let names: Vec<String> = std::fs::read_dir(lab.join("notebooks"))
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn without_a_command_the_entrypoint_starts_jupyter_lab() {
    let lab = image_layout("entrypoint-default");
    let bin = temp_dir("entrypoint-bin");
    let fake = bin.path().join("jupyter");
    std::fs::write(&fake, "#!/bin/sh\necho \"jupyter $*\"\n").expect("fake jupyter");
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&fake)
        .status()
        .expect("chmod");
    let out = entrypoint(lab.path(), &[], Some(bin.path()));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "jupyter lab\n");
}

#[test]
fn the_entrypoint_refuses_a_layout_it_cannot_use_and_says_what_to_fix() {
    // Not the image's layout at all.
    let empty = temp_dir("entrypoint-empty");
    let out = entrypoint(empty.path(), &["true"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr)
        .contains("share/notebooks is missing: this is not the notebook image's layout"));
    // The students' folder cannot be made (a file in its place).
    let lab = image_layout("entrypoint-blocked");
    std::fs::write(lab.path().join("notebooks"), "not a folder").expect("file");
    let out = entrypoint(lab.path(), &["true"], None);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("notebooks is not writable by uid") && err.contains("fsGid"),
        "{err}"
    );
}

#[test]
fn as_uid_1000_in_group_0_the_entrypoint_writes_where_the_image_grants_group_0() {
    // The image's user: jovyan, uid 1000, primary group 0, writing into
    // folders that are group 0 with the owner's rights (the Dockerfile's
    // chgrp/chmod g=u). Needs root to switch user; skipped otherwise.
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| text(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let setpriv = Command::new("setpriv").arg("--version").output().is_ok();
    if !is_root || !setpriv {
        eprintln!("skipped: needs root and setpriv to run as uid 1000");
        return;
    }
    let lab = image_layout("entrypoint-uid");
    let dir = lab.path();
    std::fs::create_dir_all(dir.join("notebooks")).expect("notebooks");
    // As the Dockerfile leaves them: owned by root, group 0, g=u; the
    // folders above readable by all.
    let chmod = |args: &[&str]| {
        assert!(Command::new("chmod")
            .args(args)
            .status()
            .expect("chmod")
            .success());
    };
    // The script itself from inside the folder: uid 1000 may not read the
    // checkout.
    let script = dir.join("entrypoint");
    std::fs::copy(root().join(".binder/entrypoint"), &script).expect("copy");
    chmod(&["-R", "u=rwX,g=u,o=rX", &dir.display().to_string()]);
    let out = Command::new("setpriv")
        .args(["--reuid", "1000", "--regid", "0", "--clear-groups", "bash"])
        .arg(&script)
        .args(["sh", "-c", "id -u; id -g; touch ../data/written"])
        .env("CRYPTO_LAB_SOURCE", dir)
        .current_dir(dir.join("notebooks"))
        .output()
        .expect("setpriv");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "1000\n0\n");
    assert!(dir.join("data/written").is_file());
    for file in NOTEBOOK_FILES {
        assert!(dir.join("notebooks").join(file).is_file(), "{file}");
    }
}
