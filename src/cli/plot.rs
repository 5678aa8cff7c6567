//! `crypto-lab plot`.

use std::time::Instant;

use anyhow::Result;
use crypto_lab::args::PlotArgs;

use crypto_lab::progress::Progress;

use crate::terminal::Terminal;

/// Draws the lab's charts and the pipeline's graph.
pub fn exec(args: &PlotArgs, term: &Terminal) -> Result<()> {
    let out = args.out_dir();
    let t = Instant::now();
    let mut charts = crypto_lab::plots::lab_charts(&args.data.data_path, args.asset)?;
    charts.push(crypto_lab::kfp::export::v2::pipeline_chart(
        &crypto_lab::kfp::ExportOptions::default(),
    ));
    let written = crypto_lab::plots::save_all(&charts, &out)?;
    term.log(&format!(
        "plot: wrote {} charts to {} ({:.1}s)",
        written.len(),
        out.display(),
        t.elapsed().as_secs_f64()
    ));
    Ok(())
}
