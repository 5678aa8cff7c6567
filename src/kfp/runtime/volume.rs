//! The pipeline's shared volume on a real cluster (the export's volume
//! form and the v1 pipeline): checking the steps can write a fresh claim,
//! handing it to the stages' user where a pipeline asks for that, and what
//! the claim's storage class will be.
//!
//! The v2 volume form only checks ([`check_writable`]): every step runs as
//! the image's user, which on Kubeflow is root and owns the fresh
//! `root:root 0755` claim (from KFP 2.16 every executor drops all
//! capabilities, so root may write only where it is the owner, and a chown
//! is no longer possible), and on OpenShift is a uid of the namespace's
//! range whose fsGroup owns the claim (`2775`). Where neither holds, the step
//! fails naming the fix instead of a stage failing half-way.
//!
//! The v1 pipeline (KFP 1.x, whose Argo steps keep the runtime's
//! capabilities) still hands the claim over, as below.
//! A freshly provisioned volume is usually `root:root 0755` (most block
//! storage). Kubernetes' answer, a pod `fsGroup`, is not something
//! kfp-kubernetes can ask for, and the security context it can set is
//! applied only by backends from 2.16 (`docs/kfp-backends.md`). So the
//! image's default user is root, and the pipeline's first step after
//! CreatePVC runs `crypto-lab prepare-volume` as that user with the
//! runtime's default capabilities (no security context, so no backend drops
//! or refuses anything) and `chown`s the folder to uid/gid 1000, the user
//! the stages ask for where the backend applies it. There is no fallback
//! to a world-writable mode: a folder others can write invites planted
//! links into the stages' writes.

use std::os::unix::fs::{chown, MetadataExt};
use std::path::Path;

use crate::error::{Error, Result};
use crate::stages::{Stage, StageContext, StageKind, StageOutput};

/// The stages' user (the Dockerfile's `useradd --uid 1000 lab`).
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
    description: "Make sure the lab's steps can write the freshly mounted volume (runs first)",
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
/// it already is, else hand it over with `chown`. Fails with what to do
/// when that is not allowed (the step did not run as root, or without
/// CAP_CHOWN).
pub fn prepare_volume(path: &Path, uid: u32, gid: u32) -> Result<Prepared> {
    let meta = mounted_folder(path)?;
    if writable_by(&meta, uid, gid) {
        return Ok(Prepared::AlreadyWritable);
    }
    chown(path, Some(uid), Some(gid)).map_err(|e| {
        Error::BadArgument(format!(
            "{}: cannot hand it to uid {uid} (owner uid {}, mode {:o}): {e}. This step \
             must run as root, the image's default user, with the runtime's default \
             capabilities; a cluster that forces a non-root user needs an fsGroup of {gid} \
             on the pipeline's pods instead (a cluster default), which makes the volume \
             writable without this step",
            path.display(),
            meta.uid(),
            meta.mode() & 0o7777
        ))
    })?;
    Ok(Prepared::Chowned)
}

/// The mount path's status: a folder, or an error saying what is wrong.
fn mounted_folder(path: &Path) -> Result<std::fs::Metadata> {
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
    Ok(meta)
}

/// Fails unless this process can create files in `path` (the mounted
/// claim), naming who it is, who owns the folder and the fixes. Changes
/// nothing: the probe file it makes is removed at once.
pub fn check_writable(path: &Path) -> Result<()> {
    let meta = mounted_folder(path)?;
    let probe = path.join(format!(".crypto-lab-write-check-{}", std::process::id()));
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe);
    match created {
        Ok(_) => {
            std::fs::remove_file(&probe).map_err(|e| Error::io(&probe, "cannot remove", e))?;
            Ok(())
        }
        Err(e) => {
            // SAFETY: getuid/getgid cannot fail and touch no memory.
            let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
            Err(Error::BadArgument(format!(
                "{}: the pipeline's steps cannot write the volume ({e}): they run as uid {uid} \
                 gid {gid}, the folder is owned by {}:{} with mode {:o}. Fixes: give the \
                 pipeline's pods an fsGroup that the claim is then made writable for (OpenShift's \
                 restricted-v2 SCC does; elsewhere a cluster default), run the image as the \
                 claim's owner, or export with --data artifacts (the default), which needs no \
                 volume at all",
                path.display(),
                meta.uid(),
                meta.gid(),
                meta.mode() & 0o7777
            )))
        }
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
        use std::os::unix::fs::PermissionsExt;
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
        set(0o755);
        set(0o700);
        assert!(prepare_volume(&dir, owner, meta().gid()).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_writable_folder_passes_the_check_and_keeps_nothing() {
        let dir = std::env::temp_dir().join(format!("crypto-lab-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        check_writable(&dir).expect("writable");
        assert_eq!(std::fs::read_dir(&dir).expect("list").count(), 0);
        let err = check_writable(&dir.join("absent")).expect_err("missing");
        assert!(err.to_string().contains("is the claim mounted"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_missing_mount_is_named() {
        let err =
            prepare_volume(Path::new("/nonexistent/crypto-lab"), 1000, 1000).expect_err("missing");
        assert!(err.to_string().contains("is the claim mounted"), "{err}");
    }
}
