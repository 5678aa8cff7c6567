//! The build toolchain: Rust, the C and C++ compilers, libclang, CMake,
//! the linker the kernel uses, and build settings the kernel would not share.

use std::path::{Path, PathBuf};

use super::probe::{parse_version, run_tool, show_version, version_in};
use super::{Check, Env};

/// The oldest cargo that reads `build.target = "host-tuple"` in
/// .cargo/config.toml: the value was added in cargo 1.91 (rust-lang/cargo
/// #15838, first spelled `host`, renamed `host-tuple` by #16003 and
/// backported to the 1.91 beta in #16032). Older cargo rejects the config.
pub const MIN_CARGO: (u32, u32) = (1, 91);

/// The oldest CMake that configures LightGBM 4.7 (its CMakeLists asks for
/// 3.28; Debian 12 ships 3.25).
pub const MIN_CMAKE: (u32, u32) = (3, 28);

/// Environment variables that change how `cargo build` compiles or where
/// it writes, while the kernel (notebooks/evcxr.toml) sets its own: with
/// any of them set, the two disagree and the kernel compiles everything.
pub const BUILD_ENV_VARS: [&str; 6] = [
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_BUILD_TARGET",
];

/// The command that installs what a fresh Debian machine lacks to build.
pub(super) const SETUP_BUILD: &str = "bash .ci/setup --build-only";

/// The Rust check and, from `rustc -vV`, the host triple (where cargo puts
/// the compiled dependencies, `target/<host>/debug/deps`).
pub struct RustCheck {
    /// The check.
    pub check: Check,
    /// The host triple, when rustc answered.
    pub host: Option<String>,
}

/// cargo and rustc on PATH, cargo new enough for .cargo/config.toml.
pub fn rust(env: &Env) -> RustCheck {
    const NAME: &str = "rust";
    const INSTALL: &str =
        "curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y && . \"$HOME/.cargo/env\"";
    let (Some(cargo), Some(rustc)) = (env.find_tool("cargo"), env.find_tool("rustc")) else {
        let which = match (env.find_tool("cargo"), env.find_tool("rustc")) {
            (None, None) => "cargo and rustc are",
            (None, _) => "cargo is",
            _ => "rustc is",
        };
        return RustCheck {
            check: Check::missing(NAME, format!("{which} not on PATH"), INSTALL),
            host: None,
        };
    };
    let cargo_line = run_tool(&cargo, &["--version"])
        .filter(|o| o.success)
        .map(|o| o.stdout.lines().next().unwrap_or("").trim().to_string());
    let rustc_out = run_tool(&rustc, &["-vV"]).filter(|o| o.success);
    let host = rustc_out.as_ref().and_then(|o| {
        o.stdout
            .lines()
            .find_map(|l| l.strip_prefix("host:"))
            .map(|h| h.trim().to_string())
    });
    let rustc_version = rustc_out.as_ref().and_then(|o| {
        o.stdout
            .lines()
            .find_map(|l| l.strip_prefix("release:"))
            .and_then(|v| parse_version(v.trim()))
    });
    let check = match (cargo_line.as_deref().and_then(version_in), rustc_version) {
        (None, _) => Check::missing(
            NAME,
            format!("`{} --version` gave no version", cargo.display()),
            "rustup update stable",
        ),
        (_, None) => Check::missing(
            NAME,
            format!("`{} -vV` gave no version", rustc.display()),
            "rustup update stable",
        ),
        (Some(v), Some(_)) if (v.0, v.1) < MIN_CARGO => Check::missing(
            NAME,
            format!(
                "cargo {} is older than {}.{}, which .cargo/config.toml needs (build.target = \"host-tuple\")",
                show_version(v),
                MIN_CARGO.0,
                MIN_CARGO.1
            ),
            "rustup update stable",
        ),
        (Some(v), Some(r)) => Check::ok(
            NAME,
            format!(
                "cargo {}, rustc {}, host {}",
                show_version(v),
                show_version(r),
                host.as_deref().unwrap_or("unknown")
            ),
        ),
    };
    RustCheck { check, host }
}

/// A C and a C++ compiler (LightGBM's C++ through CMake, the C parts of
/// some dependencies through the `cc` crate).
pub fn c_compilers(env: &Env) -> Check {
    const NAME: &str = "c/c++ compiler";
    let first = |names: &[&str]| names.iter().find_map(|n| env.find_tool(n));
    let cxx = first(&["g++", "c++", "clang++"]);
    let cc = first(&["cc", "gcc", "clang"]);
    match (cc, cxx) {
        (Some(cc), Some(cxx)) => Check::ok(NAME, format!("{}, {}", cc.display(), cxx.display())),
        (cc, cxx) => {
            let mut lacking = Vec::new();
            if cc.is_none() {
                lacking.push("a C compiler (cc, gcc or clang)");
            }
            if cxx.is_none() {
                lacking.push("a C++ compiler (g++, c++ or clang++)");
            }
            Check::missing(
                NAME,
                format!("no {} on PATH", lacking.join(" and no ")),
                SETUP_BUILD,
            )
        }
    }
}

/// Folders where distributions install libclang, searched after
/// `$LIBCLANG_PATH` as bindgen's clang-sys does.
const LIBCLANG_DIRS: [&str; 7] = [
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
    "/usr/local/lib",
    "/usr/local/opt/llvm/lib",
    "/Library/Developer/CommandLineTools/usr/lib",
];

fn libclang_in(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir).ok()?.flatten().find_map(|entry| {
        let name = entry.file_name();
        let name = name.to_str()?;
        let lib = name.starts_with("libclang")
            && !name.starts_with("libclang-cpp")
            && !name.starts_with("libclang_rt")
            && (name.contains(".so") || name.ends_with(".dylib"));
        // libclang.so, libclang.so.1, libclang-14.so.1; not the libclangAST.a family.
        let plain = name.starts_with("libclang.") || name.starts_with("libclang-");
        (lib && plain).then(|| entry.path())
    })
}

fn find_libclang(env: &Env) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = env
        .var("LIBCLANG_PATH")
        .map(|p| std::env::split_paths(p).collect())
        .unwrap_or_default();
    // Debian and Ubuntu keep each LLVM under /usr/lib/llvm-<N>/lib; newest first.
    let mut llvm: Vec<PathBuf> = std::fs::read_dir("/usr/lib")
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("llvm-"))
                })
                .map(|p| p.join("lib"))
                .collect()
        })
        .unwrap_or_default();
    llvm.sort_by_key(|p| {
        std::cmp::Reverse(
            p.parent()
                .and_then(|d| d.file_name())
                .and_then(|n| n.to_str())
                .and_then(|n| n.trim_start_matches("llvm-").parse::<u32>().ok()),
        )
    });
    dirs.extend(llvm);
    dirs.extend(LIBCLANG_DIRS.iter().map(PathBuf::from));
    dirs.iter().find_map(|d| libclang_in(d))
}

/// clang and libclang: lightgbm3-sys generates its Rust bindings with
/// bindgen, which loads libclang and asks clang for the system headers.
pub fn libclang(env: &Env) -> Check {
    const NAME: &str = "clang/libclang";
    let clang = env.find_tool("clang");
    let lib = find_libclang(env);
    match (clang, lib) {
        (Some(clang), Some(lib)) => {
            Check::ok(NAME, format!("{}, {}", clang.display(), lib.display()))
        }
        (None, Some(_)) => Check::missing(NAME, "clang is not on PATH", SETUP_BUILD),
        (_, None) => Check::missing(
            NAME,
            "no libclang found ($LIBCLANG_PATH, /usr/lib/llvm-*/lib, /usr/lib, ...)",
            SETUP_BUILD,
        ),
    }
}

/// CMake new enough for LightGBM 4.7.
pub fn cmake(env: &Env) -> Check {
    const NAME: &str = "cmake";
    let Some(cmake) = env.find_tool("cmake") else {
        return Check::missing(NAME, "not on PATH", SETUP_BUILD);
    };
    let version = run_tool(&cmake, &["--version"])
        .filter(|o| o.success)
        .and_then(|o| o.stdout.lines().next().and_then(version_in));
    match version {
        None => Check::missing(
            NAME,
            format!("`{} --version` gave no version", cmake.display()),
            SETUP_BUILD,
        ),
        Some(v) if (v.0, v.1) < MIN_CMAKE => Check::missing(
            NAME,
            format!(
                "{} is {}, LightGBM 4.7 needs {}.{} or newer",
                cmake.display(),
                show_version(v),
                MIN_CMAKE.0,
                MIN_CMAKE.1
            ),
            SETUP_BUILD,
        ),
        Some(v) => Check::ok(NAME, format!("{} {}", cmake.display(), show_version(v))),
    }
}

/// mold on PATH: evcxr then links every cell with it (`mold -run cargo`),
/// which changes no compiler flag, so the shared build stays shared. Each
/// cell links all of polars and LightGBM into one shared object, which mold
/// does markedly faster than the system linker (figures in
/// docs/building.md).
pub fn linker(env: &Env) -> Check {
    const NAME: &str = "linker";
    match env.find_tool("mold") {
        Some(mold) => Check::ok(
            NAME,
            format!("{}: the kernel links each cell with mold", mold.display()),
        ),
        None => Check::warn(
            NAME,
            "no mold: the kernel links each cell with the system linker, which makes every cell slower (docs/building.md)",
            Some(SETUP_BUILD.to_string()),
        ),
    }
}

/// Build settings in the environment that the kernel would not share.
pub fn build_env(env: &Env) -> Check {
    const NAME: &str = "build env";
    let set: Vec<&str> = BUILD_ENV_VARS
        .iter()
        .copied()
        .filter(|v| env.var(v).is_some())
        .collect();
    if set.is_empty() {
        Check::ok(NAME, "no RUSTFLAGS or CARGO_TARGET_DIR overrides")
    } else {
        Check::warn(
            NAME,
            format!(
                "{} set: `cargo build` then compiles differently (or elsewhere) than the notebook kernel, which would rebuild everything",
                set.join(", ")
            ),
            Some(format!("unset {}", set.join(" "))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

    #[test]
    fn env_overrides_are_flagged() {
        let mut env = Env::default();
        env.vars.insert("RUSTFLAGS".into(), String::new());
        assert_eq!(build_env(&env).status, Status::Ok);
        env.vars.insert("CARGO_TARGET_DIR".into(), "/tmp/t".into());
        let c = build_env(&env);
        assert_eq!(c.status, Status::Warn);
        assert_eq!(c.fix.as_deref(), Some("unset CARGO_TARGET_DIR"));
    }
}
