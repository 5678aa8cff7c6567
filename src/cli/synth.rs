//! `crypto-lab synth`.

use std::time::Instant;

use anyhow::Result;
use crypto_lab::args::{Common, SynthCommandArgs};
use crypto_lab::prelude::files;
use crypto_lab::runner::run_synth;

use crypto_lab::progress::Progress;

use crate::terminal::Terminal;

/// Writes the synthetic files and says where.
pub fn exec(args: &SynthCommandArgs, common: &Common, term: &Terminal) -> Result<()> {
    let data_path = &args.data.data_path;
    let t = Instant::now();
    let rows = run_synth(data_path, &args.synth.options(), common.wait_lock, term)?;
    term.log(&format!(
        "synth: wrote {rows} rows to {} and {} ({:.1}s)",
        data_path.join(files::TRAIN_CSV).display(),
        data_path.join(files::ASSET_DETAILS_CSV).display(),
        t.elapsed().as_secs_f64()
    ));
    Ok(())
}
