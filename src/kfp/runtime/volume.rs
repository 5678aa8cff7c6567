//! The pipeline's shared volume on a real cluster: making a fresh claim
//! writable for the image's user, and what the claim's storage class will be.
//!
//! A freshly provisioned volume is usually `root:root 0755` (most block
//! storage), while the image runs as `lab` (uid 1000, the Dockerfile's
//! `USER`). Kubernetes' answer, a pod `fsGroup`, is not something
//! kfp-kubernetes 2.17 can ask for; its `set_security_context` sets only
//! `runAsUser`, `runAsGroup` and `runAsNonRoot`. So the pipeline's first step
//! after CreatePVC runs `crypto-lab prepare-volume` as uid 0 and hands the
//! folder over. KFP's driver drops every capability of a container whose
//! security context the pipeline sets, so that root cannot `chown`; it owns
//! the folder, though, and an owner may always change its mode.

use std::os::unix::fs::{chown, MetadataExt, PermissionsExt};
use std::path::Path;

use crate::error::{Error, Result};
use crate::stages::{Stage, StageContext, StageKind, StageOutput};

/// The image's user (the Dockerfile's `useradd --uid 1000 lab`).
pub const IMAGE_UID: u32 = 1000;
/// The image user's group.
pub const IMAGE_GID: u32 = 1000;

/// The task that creates the pipeline's claim before prepare-volume runs
/// (kfp-kubernetes' CreatePVC, named as its compiler names it).
pub const CREATE_PVC_TASK: &str = "createpvc";

/// prepare-volume as a stage of the KFP v1 pipeline (its component and
/// Argo step are made like the lab's stages'); not one of the lab's
/// [`crate::stages::STAGES`], and the v2 pipeline has its own component.
pub const PREPARE_STAGE: Stage = Stage {
    name: "prepare_volume",
    command: "prepare-volume",
    description:
        "Make the freshly mounted volume writable for the image's user (runs as root, first)",
    kind: StageKind::Setup,
    inputs: &[],
    params: &["data_path"],
    run: run_prepare,
    options: crate::stages::no_options,
};

fn run_prepare(ctx: &StageContext) -> Result<StageOutput> {
    let done = prepare_volume(&ctx.data_path, IMAGE_UID, IMAGE_GID)?;
    Ok(StageOutput::Setup(format!("{done:?}")))
}

/// What [`prepare_volume`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prepared {
    /// The user could already write there (an fsGroup, an earlier run, an
    /// administrator's default user); nothing changed.
    AlreadyWritable,
    /// The folder now belongs to the user (mode unchanged).
    Chowned,
    /// Ownership could not change (no CAP_CHOWN), so the folder's mode
    /// became `01777`, like /tmp: anyone may create files, only owners
    /// remove them.
    OpenedMode,
}

/// Whether `uid:gid` (without supplementary groups, as the steps run) may
/// create files in a folder with this owner and mode.
fn writable_by(meta: &std::fs::Metadata, uid: u32, gid: u32) -> bool {
    let mode = meta.mode();
    let (w, x) = if meta.uid() == uid {
        (0o200, 0o100)
    } else if meta.gid() == gid {
        (0o020, 0o010)
    } else {
        (0o002, 0o001)
    };
    uid == 0 || (mode & w != 0 && mode & x != 0)
}

/// Makes the mounted volume at `path` writable for `uid:gid`: nothing when
/// it already is, else hand it over with `chown`, else (no CAP_CHOWN, as
/// under KFP's dropped capabilities) open its mode to `01777`. Fails with
/// what to do when neither works (the step did not run as the folder's
/// owner).
pub fn prepare_volume(path: &Path, uid: u32, gid: u32) -> Result<Prepared> {
    let meta = std::fs::metadata(path).map_err(|e| {
        Error::io(
            path,
            "cannot read the mounted volume (is the claim mounted here?)",
            e,
        )
    })?;
    if !meta.is_dir() {
        return Err(Error::BadArgument(format!(
            "{}: not a folder; prepare-volume takes the volume's mount path",
            path.display()
        )));
    }
    if writable_by(&meta, uid, gid) {
        return Ok(Prepared::AlreadyWritable);
    }
    if chown(path, Some(uid), Some(gid)).is_ok() {
        return Ok(Prepared::Chowned);
    }
    match std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o1777)) {
        Ok(()) => Ok(Prepared::OpenedMode),
        Err(e) => Err(Error::BadArgument(format!(
            "{}: cannot make it writable for uid {uid} (owner uid {}, mode {:o}): {e}. \
             This step must run as the volume's owner (the exported pipeline asks for \
             runAsUser 0); if the cluster forbids root, give the pods an fsGroup of {gid} \
             (a cluster default) instead",
            path.display(),
            meta.uid(),
            meta.mode() & 0o7777
        ))),
    }
}

/// What KFP's driver does when a pipeline's CreatePVC names no storage
/// class: `createPVC` in kubeflow/pipelines backend/src/v2/driver/k8s.go
/// sets `storageClassName: standard` (not the cluster's default class: that
/// needs the field left unset, which the driver never does; an empty name
/// asks for no class at all). Said by `export-kfp` and `submit`.
pub const STORAGE_CLASS_NOTE: &str = "no --storage-class: KFP's driver then asks for the \
class `standard` (kubeflow/pipelines backend/src/v2/driver/k8s.go, createPVC), not the \
cluster's default; if `kubectl get storageclass` shows no `standard`, the claim stays \
Pending: export again with --storage-class NAME (the class marked (default))";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writable_by_mode_and_owner() {
        let dir = std::env::temp_dir().join(format!("crypto-lab-volume-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let set = |mode| {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).expect("chmod")
        };
        let meta = || std::fs::metadata(&dir).expect("meta");
        let owner = meta().uid();
        let other = owner.wrapping_add(4242);
        set(0o755);
        assert!(writable_by(&meta(), owner, 4242));
        assert!(!writable_by(&meta(), other, 4242) || other == 0);
        set(0o1777);
        assert!(writable_by(&meta(), other, 4242));
        set(0o700);
        assert!(prepare_volume(&dir, owner, meta().gid()).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_missing_mount_is_named() {
        let err =
            prepare_volume(Path::new("/nonexistent/crypto-lab"), 1000, 1000).expect_err("missing");
        assert!(err.to_string().contains("is the claim mounted"), "{err}");
    }
}
