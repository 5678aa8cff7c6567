//! `crypto-lab runs`: the runs table.

use anyhow::Result;
use crypto_lab::args::RunsArgs;
use crypto_lab::runs;

use crypto_lab::progress::Progress;

use crate::terminal::Terminal;

/// Prints every modeling run in the data path (as text or JSON lines).
pub fn exec(args: &RunsArgs, term: &Terminal) -> Result<()> {
    let data_path = &args.data.data_path;
    let table = runs::read(data_path)?;
    if table.is_empty() {
        term.log(&format!(
            "runs: no modeling run in {} yet (each modeling run adds one to {})",
            data_path.display(),
            runs::RUNS_FILE
        ));
    } else if args.json {
        for run in &table {
            println!("{}", serde_json::to_string(run)?);
        }
    } else {
        println!("{}", runs::to_text(&table));
    }
    Ok(())
}
