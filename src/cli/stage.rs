//! A lab stage's subcommand: the stage runs through the library exactly as
//! its script runs it; this says what it wrote.

use anyhow::Result;
use crypto_lab::args::{Common, StageArgs};

use crypto_lab::progress::Progress;

use crate::terminal::Terminal;

/// `crypto-lab <stage>`.
pub fn exec<A: StageArgs>(args: &A, common: &Common, term: &Terminal) -> Result<()> {
    let (ran, outputs) = args.run(common, term)?;
    term.log(&ran.line(&outputs));
    Ok(())
}
