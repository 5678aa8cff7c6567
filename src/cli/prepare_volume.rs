//! `crypto-lab prepare-volume`: the volume form's first step.

use anyhow::Result;
use crypto_lab::args::PrepareVolumeArgs;
use crypto_lab::kfp::runtime::volume::{check_writable, prepare_volume, Prepared};

use crypto_lab::progress::Progress;

use crate::terminal::Terminal;

/// With --check, proves the steps can write the claim; without it (KFP v1,
/// as root), hands the claim to the stages' user.
pub fn exec(args: &PrepareVolumeArgs, term: &Terminal) -> Result<()> {
    let path = &args.data.data_path;
    if args.check {
        check_writable(path)?;
        term.log(&format!(
            "prepare-volume: {}: writable for the steps",
            path.display()
        ));
        return Ok(());
    }
    let (uid, gid) = (args.uid, args.gid);
    let what = match prepare_volume(path, uid, gid)? {
        Prepared::AlreadyWritable => format!("already writable for uid {uid}, unchanged"),
        Prepared::Chowned => format!("now owned by {uid}:{gid}"),
    };
    term.log(&format!("prepare-volume: {}: {what}", path.display()));
    Ok(())
}
