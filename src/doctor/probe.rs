//! Running the tools the checks ask (`--version`, `jupyter kernelspec`),
//! each bounded in time, and reading the versions they print.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use wait_timeout::ChildExt;

/// How long a `--version` or `jupyter kernelspec` may take.
pub(super) const TOOL_TIMEOUT: Duration = Duration::from_secs(15);

/// Whether `path` is a file this user may run.
pub(super) fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A finished tool run.
pub(super) struct ToolOutput {
    pub(super) success: bool,
    pub(super) stdout: String,
}

/// Runs `program args` with no input, its standard output captured, for at
/// most [`TOOL_TIMEOUT`] (a hung tool must not hang the doctor).
pub(super) fn run_tool(program: &Path, args: &[&str]) -> Option<ToolOutput> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdout = child.stdout.take()?;
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let status = match child.wait_timeout(TOOL_TIMEOUT) {
        Ok(Some(status)) => Some(status),
        _ => {
            let _ = child.kill();
            let _ = child.wait();
            None
        }
    };
    let stdout = reader.join().unwrap_or_default();
    Some(ToolOutput {
        success: status.is_some_and(|s| s.success()),
        stdout,
    })
}

/// `major.minor[.patch]` at the start of `text` (`1.95.0`, `3.28.1-rc1`,
/// `1.93.0-nightly`).
pub fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    let core = text.split(['-', '+', ' ']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u32>());
    let major = parts.next()?.ok()?;
    let minor = parts.next()?.ok()?;
    let patch = parts.next().and_then(|p| p.ok()).unwrap_or(0);
    Some((major, minor, patch))
}

/// The version a `--version` line gives after its program name: `cargo
/// 1.95.0 (...)` or `cmake version 3.28.1`.
pub(super) fn version_in(line: &str) -> Option<(u32, u32, u32)> {
    line.split_whitespace().find_map(parse_version)
}

pub(super) fn show_version(v: (u32, u32, u32)) -> String {
    format!("{}.{}.{}", v.0, v.1, v.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_version("1.95.0"), Some((1, 95, 0)));
        assert_eq!(parse_version("1.93.0-nightly"), Some((1, 93, 0)));
        assert_eq!(parse_version("3.28"), Some((3, 28, 0)));
        assert_eq!(parse_version("cargo"), None);
        assert_eq!(
            version_in("cargo 1.90.1 (abc 2025-09-01)"),
            Some((1, 90, 1))
        );
        assert_eq!(version_in("cmake version 3.25.1"), Some((3, 25, 1)));
    }
}
