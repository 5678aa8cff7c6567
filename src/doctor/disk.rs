//! Free disk where the lab's data would go.

use std::path::Path;

use super::Check;
pub use crate::artifact::free_bytes;

/// Bytes a full-size run leaves in --data-path with every artifact
/// (synthetic data of Kaggle's size, `run`, `plot`): the free-disk check
/// warns below it. Measured, with the command, in docs/WORKSHOP.md
/// (Disk and memory); a Kaggle download also keeps its archive beside it.
pub const FULL_RUN_BYTES: u64 = 8_740_622_923;

/// Bytes the default run (`crypto-lab run` on its synthetic data) leaves in
/// --data-path, measured the same way (docs/WORKSHOP.md).
pub const SMALL_RUN_BYTES: u64 = 1_508_387_027;

/// `bytes` in GiB, for messages.
fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

/// Free disk for a full-size run in `data_path` (or its nearest existing
/// ancestor, where it would be created).
pub fn disk(data_path: &Path) -> Check {
    const NAME: &str = "disk";
    let absolute = std::path::absolute(data_path).unwrap_or_else(|_| data_path.to_path_buf());
    let Some(dir) = absolute.ancestors().find(|d| d.is_dir()) else {
        return Check::warn(
            NAME,
            format!("not checked: no folder of {} exists", data_path.display()),
            None,
        );
    };
    let Some(free) = free_bytes(dir) else {
        return Check::warn(
            NAME,
            format!("not checked: cannot read free space of {}", dir.display()),
            None,
        );
    };
    let need = format!(
        "a full-size run (synth --full or Kaggle's data, every artifact) takes {}",
        gib(FULL_RUN_BYTES)
    );
    if free >= FULL_RUN_BYTES {
        Check::ok(
            NAME,
            format!("{} free in {}; {need}", gib(free), dir.display()),
        )
    } else if free >= SMALL_RUN_BYTES {
        Check::warn(
            NAME,
            format!(
                "{} free in {}, {need}; the default synthetic run ({}) fits",
                gib(free),
                dir.display(),
                gib(SMALL_RUN_BYTES)
            ),
            Some("free some space, or pass --data-path on a larger disk for the full data".into()),
        )
    } else {
        Check::warn(
            NAME,
            format!(
                "{} free in {}: not even the default synthetic run ({}) fits",
                gib(free),
                dir.display(),
                gib(SMALL_RUN_BYTES)
            ),
            Some("free some space, or pass --data-path on a larger disk".into()),
        )
    }
}
