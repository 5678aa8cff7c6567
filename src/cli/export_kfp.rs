//! `crypto-lab export-kfp`.

use anyhow::Result;
use crypto_lab::args::ExportKfpArgs;
use crypto_lab::kfp::export_kfp;

use crypto_lab::progress::Progress;

use crate::terminal::Terminal;

/// Writes the component and pipeline files (building any function of the
/// user's first).
pub fn exec(args: &ExportKfpArgs, term: &Terminal) -> Result<()> {
    let opts = args.options()?;
    if !opts.code.is_empty() {
        check_edited_builds(&opts, term)?;
    }
    let written = export_kfp(&args.out, &opts)?;
    term.log(&format!(
        "export-kfp: wrote {} files under {}; upload {} in the KFP UI (or crypto-lab submit)",
        written.len(),
        args.out.display(),
        args.out.join("pipeline.yaml").display()
    ));
    if let Some(warning) = opts.storage_class_warning() {
        // Said even with --quiet: the claim may never bind.
        eprintln!("warning: {warning}");
    }
    Ok(())
}

/// Builds the programs of the steps that run a function of the user's
/// against a built checkout ($CRYPTO_LAB_SOURCE, or the current folder), so
/// a function that does not compile is caught before it reaches a cluster;
/// says so when there is none to build against.
fn check_edited_builds(opts: &crypto_lab::kfp::ExportOptions, term: &Terminal) -> Result<()> {
    use crypto_lab::kfp::runtime::script;
    // $CRYPTO_LAB_SOURCE when set (a wrong one is an error), else the
    // current folder when it is a built checkout.
    let source = match std::env::var_os(script::SOURCE_ENV).filter(|v| !v.is_empty()) {
        Some(v) => Ok(script::source_dir_from(Some(v))?),
        None => std::env::current_dir()
            .map_err(|e| anyhow::anyhow!(e))
            .and_then(|here| Ok(script::source_dir_from(Some(here.into()))?)),
    };
    let Ok(source) = source else {
        eprintln!(
            "warning: your function was not built here (no built checkout: set {} to one); \
             a compile error would show in the step on the cluster",
            script::SOURCE_ENV
        );
        return Ok(());
    };
    for (step, secs) in crypto_lab::kfp::export::edited::check_builds(&opts.code, &source)? {
        term.log(&format!(
            "export-kfp: {step} runs your function in {}; its program builds ({secs:.1}s here)",
            opts.dev_image
        ));
    }
    Ok(())
}
