//! The one build definition: `.cargo/config.toml` must pin every profile key
//! that evcxr's generated crate sets, no manifest may add profile keys of its
//! own, and the kernel and scripts must reach the project's target directory.
//! If any of these drifts, the notebook kernel or the scripts silently compile
//! polars and LightGBM a second time (.ci/check-notebook and .ci/check-scripts
//! count the compiled copies to prove the sharing itself).

use std::fs;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The keys of one `[table]` of a TOML file, read line by line (the files
/// involved are plain key = value tables).
fn table_keys(text: &str, table: &str) -> Vec<String> {
    let header = format!("[{table}]");
    let mut keys = Vec::new();
    let mut inside = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == header;
        } else if inside && !line.is_empty() && !line.starts_with('#') {
            if let Some((key, _)) = line.split_once('=') {
                keys.push(key.trim().to_string());
            }
        }
    }
    keys
}

/// What evcxr 0.22 writes into its generated crate's `[profile.dev]`
/// (evcxr/src/module.rs, `get_cargo_toml_contents`).
const EVCXR_PROFILE_KEYS: [&str; 10] = [
    "opt-level",
    "debug",
    "strip",
    "rpath",
    "lto",
    "debug-assertions",
    "codegen-units",
    "panic",
    "incremental",
    "overflow-checks",
];

#[test]
fn config_pins_every_profile_key_evcxr_sets() {
    let config = read(".cargo/config.toml");
    let keys = table_keys(&config, "profile.dev");
    for key in EVCXR_PROFILE_KEYS {
        assert!(
            keys.iter().any(|k| k == key),
            ".cargo/config.toml [profile.dev] lacks `{key}`: the kernel's crate would build with evcxr's value and cargo with its default"
        );
    }
    assert_eq!(
        table_keys(&config, "build"),
        ["target", "target-dir"],
        "[build]: evcxr passes --target <host>, so cargo must too"
    );
    assert!(config.contains("target = \"host-tuple\""));
}

/// `cargo test` builds test executables with the test profile and everything
/// they link (the library included) with the dev profile, so the library the
/// tests exercise is the one `cargo build` made. The test profile may lower
/// only the opt-level of crypto-lab's own test executables (to compile them
/// faster); any other key (debug-assertions, overflow-checks, ...) would make
/// the tests check different code from what users run.
#[test]
fn test_profile_only_lowers_the_crates_own_test_executables() {
    let config = read(".cargo/config.toml");
    let tables: Vec<&str> = config
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("[profile.test"))
        .collect();
    assert_eq!(
        tables,
        ["[profile.test.package.crypto-lab]"],
        "only crypto-lab's own test executables may differ from the dev profile"
    );
    assert_eq!(
        table_keys(&config, "profile.test.package.crypto-lab"),
        ["opt-level"]
    );
}

#[test]
fn no_manifest_carries_a_profile_of_its_own() {
    let mut manifests = vec![("Cargo.toml".to_string(), read("Cargo.toml"))];
    for dir in ["scripts", "bench"] {
        for entry in fs::read_dir(root().join(dir)).expect("list") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "rs") {
                let text = fs::read_to_string(&path).expect("read script");
                manifests.push((path.display().to_string(), text));
            }
        }
    }
    assert!(
        manifests.len() >= 9,
        "the seven stage scripts and bench/plot.rs"
    );
    for (name, text) in manifests {
        assert!(
            !text.contains("[profile"),
            "{name} defines a cargo profile: the one profile lives in .cargo/config.toml"
        );
    }
}

#[test]
fn scripts_build_with_the_project_config_and_lock() {
    for entry in fs::read_dir(root().join("scripts")).expect("list") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = fs::read_to_string(&path).expect("read script");
        let shebang = text.lines().next().unwrap_or_default();
        for needed in [
            "rust-script -p \"$0\"",
            "/../Cargo.lock",
            "--config \"${0%/*}/../.cargo/config.toml\"",
        ] {
            assert!(
                shebang.contains(needed),
                "{}: shebang lacks {needed}",
                path.display()
            );
        }
        // Linux reads at most 255 bytes of a shebang line.
        assert!(shebang.len() < 256, "{}: shebang too long", path.display());
    }
}

#[test]
fn kernel_builds_into_the_project_target_with_cargos_flags() {
    let evcxr = read("notebooks/evcxr.toml");
    for line in [
        ":build_env RUSTFLAGS=\n",
        ":build_env CARGO_TARGET_DIR=../../target\n",
        ":build_env CARGO_BUILD_BUILD_DIR=../../target\n",
        "! cp ../Cargo.lock .evcxr/Cargo.lock",
    ] {
        assert!(evcxr.contains(line), "notebooks/evcxr.toml lacks {line:?}");
    }
    assert!(evcxr.contains("tmpdir = \".evcxr\""));
}

#[test]
fn setup_builds_the_kernels_copy_of_the_crate_as_the_kernel_would() {
    // The kernel finds its crypto-lab built only if .ci/setup builds it the
    // way evcxr does: a package two levels under the checkout depending on
    // the checkout by absolute path, no RUSTFLAGS, the project's target/
    // (as notebooks/evcxr.toml sets for the kernel).
    let setup = read(".ci/setup");
    for needed in [
        "warm=\"$root/notebooks/.kernel-warm\"",
        "\"crypto-lab = { path = \\\"$root\\\" }\"",
        "RUSTFLAGS= CARGO_TARGET_DIR=../../target CARGO_BUILD_BUILD_DIR=../../target cargo build",
    ] {
        assert!(setup.contains(needed), ".ci/setup lacks {needed:?}");
    }
    let evcxr = read("notebooks/evcxr.toml");
    assert!(
        evcxr.contains("tmpdir = \".evcxr\""),
        "the kernel's package sits in notebooks/.evcxr"
    );
    assert!(read(".gitignore").contains("/notebooks/.kernel-warm"));
}
