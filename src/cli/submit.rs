//! `crypto-lab submit`: the library does the work; this prints it.

use anyhow::{bail, Result};
use crypto_lab::args::SubmitArgs;
use crypto_lab::kfp::client;

/// Sends the pipeline, starts a run and (with --wait) follows it.
pub fn exec(args: &SubmitArgs) -> Result<()> {
    let s = args.resolve()?;
    for w in &s.warnings {
        eprintln!("warning: {w}");
    }
    // The client's errors leave as the crate's, so `submit` exits as every
    // other command does (75 when the same command may work later).
    let done = client::submit(&s.client, &s.package, &s.options, &mut |event| {
        println!("{event}")
    })
    .map_err(crypto_lab::Error::from)?;
    if let Some(failure) = done.failure(s.options.namespace.as_deref()) {
        bail!("run {} {failure} (logs: {})", done.run_id, done.link);
    }
    if done.run.is_some() {
        println!("run {} SUCCEEDED: {}", done.run_id, done.link);
    }
    Ok(())
}
