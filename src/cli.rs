//! The `crypto-lab` binary's commands: the flags are the library's
//! ([`crypto_lab::args`]); this calls the library and prints what it did.

use std::time::Instant;

use anyhow::{bail, Context, Result};

use crypto_lab::args::{self, Command, Common, StageArgs};
use crypto_lab::artifact::read_json;
use crypto_lab::doctor;
use crypto_lab::kfp::export::DataForm;
use crypto_lab::kfp::export_kfp;
use crypto_lab::kfp::runtime::volume::{prepare_volume, Prepared, STORAGE_CLASS_NOTE};
use crypto_lab::prelude::*;
use crypto_lab::runner::{run_synth, PipelineRun};
use crypto_lab::stages::Outcome;

use crate::terminal::Terminal;

/// A lab stage's subcommand: the stage runs through the library exactly as
/// its script runs it; this says what it wrote.
fn run_stage<A: StageArgs>(args: &A, common: &Common, term: &Terminal) -> Result<()> {
    let (ran, outputs) = args.run(common, term)?;
    term.log(&ran.line(&outputs));
    Ok(())
}

/// Parses arguments and runs the command.
pub fn main() -> Result<()> {
    let cli = args::parse();
    let term = Terminal::new(cli.common.quiet);
    crypto_lab::artifact::exit_cleanly_on_signals()?;
    let common = &cli.common;
    let wait = common.wait_lock;
    match cli.command {
        Command::Synth(a) => {
            let opts = a.synth.options();
            let data_path = &a.data.data_path;
            let t = Instant::now();
            let rows = run_synth(data_path, &opts, wait, &term)?;
            term.log(&format!(
                "synth: wrote {rows} rows to {} and {} ({:.1}s)",
                data_path.join(files::TRAIN_CSV).display(),
                data_path.join(files::ASSET_DETAILS_CSV).display(),
                t.elapsed().as_secs_f64()
            ));
        }
        Command::DownloadData(a) => run_stage(&a, common, &term)?,
        Command::LoadData(a) => run_stage(&a, common, &term)?,
        Command::FeatureEngineering(a) => run_stage(&a, common, &term)?,
        Command::MergeAssetsFeatures(a) => run_stage(&a, common, &term)?,
        Command::Modeling(a) => run_stage(&a, common, &term)?,
        Command::EvaluationResult(a) => run_stage(&a, common, &term)?,
        Command::Run(a) => {
            let ctx = a.context(&term)?;
            let t = Instant::now();
            let report = run_pipeline(&ctx, &a.run_options(common))?;
            print_summary(&ctx, &report, t.elapsed().as_secs_f64())?;
        }
        Command::Plot(a) => {
            let data_path = &a.data.data_path;
            let out = a.out.clone().unwrap_or_else(|| data_path.join("plots"));
            let t = Instant::now();
            let mut charts = crypto_lab::plots::lab_charts(data_path, a.asset)?;
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
        }
        Command::Submit(a) => submit(&a)?,
        Command::ExportKfp(a) => {
            let opts = a.options()?;
            if !opts.code.is_empty() {
                check_edited_builds(&opts, &term)?;
            }
            let written = export_kfp(&a.out, &opts)?;
            term.log(&format!(
                "export-kfp: wrote {} files under {}; upload {} in the KFP UI (or crypto-lab submit)",
                written.len(),
                a.out.display(),
                a.out.join("pipeline.yaml").display()
            ));
            if opts.data == DataForm::Volume && opts.storage_class.is_none() {
                // Said even with --quiet: the claim may never bind.
                eprintln!("warning: {STORAGE_CLASS_NOTE}");
            }
        }
        Command::RunScript(a) => {
            // Returns only when the program could not be built or started.
            match crypto_lab::kfp::runtime::script::run_script(&a.file, &a.args, &term)? {}
        }
        Command::PrepareVolume(a) if a.check => {
            let path = &a.data.data_path;
            crypto_lab::kfp::runtime::volume::check_writable(path)?;
            term.log(&format!(
                "prepare-volume: {}: writable for the steps",
                path.display()
            ));
        }
        Command::PrepareVolume(a) => {
            let (path, uid, gid) = (&a.data.data_path, a.uid, a.gid);
            let what = match prepare_volume(path, uid, gid)? {
                Prepared::AlreadyWritable => format!("already writable for uid {uid}, unchanged"),
                Prepared::Chowned => format!("now owned by {uid}:{gid}"),
            };
            term.log(&format!("prepare-volume: {}: {what}", path.display()));
        }
        Command::Doctor(a) => {
            let cwd = std::env::current_dir().context("cannot read the current folder")?;
            let project = a
                .project
                .or_else(|| doctor::find_project(&cwd))
                .unwrap_or(cwd);
            let opts = doctor::DoctorOptions {
                project,
                data_path: a.data.data_path,
                kaggle_api: a.kaggle.kaggle_api,
                dataset: a.kaggle.dataset,
                secret_dir: a.kaggle.secret_dir,
                kfp_host: a.kfp_host,
                timeout: std::time::Duration::from_secs(a.timeout.max(1)),
                env: doctor::Env::from_process(),
            };
            let report = doctor::run(&opts);
            print_doctor(&report);
            if !report.ready() {
                bail!(
                    "not ready for the workshop: {} missing (fixes above)",
                    report.missing().join(", ")
                );
            }
        }
        Command::Runs(a) => {
            let data_path = &a.data.data_path;
            let runs = crypto_lab::runs::read(data_path)?;
            if runs.is_empty() {
                term.log(&format!(
                    "runs: no modeling run in {} yet (each modeling run adds one to {})",
                    data_path.display(),
                    crypto_lab::runs::RUNS_FILE
                ));
            } else if a.json {
                for run in &runs {
                    println!("{}", serde_json::to_string(run)?);
                }
            } else {
                println!("{}", crypto_lab::runs::to_text(&runs));
            }
        }
        Command::Stages => {
            for s in STAGES {
                println!("{:24} {}", s.command, s.description);
                println!("{:24}   in:  {}", "", s.inputs.join(", "));
                println!("{:24}   out: {}", "", s.outputs().join(", "));
            }
        }
    }
    Ok(())
}

/// `crypto-lab submit`: the library does the work; this prints it.
fn submit(args: &args::SubmitArgs) -> Result<()> {
    use crypto_lab::kfp::client::{self, Credentials, KfpClient, Package};
    let (package, base) = match &args.package {
        Some(path) => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("cannot read --package {}", path.display()))?;
            // Its parameters are checked by the server.
            let name = path.display().to_string();
            (
                Package::File { name, bytes },
                client::SubmitOptions::default(),
            )
        }
        None => {
            let export = args.export.options()?;
            // Every flag is checked before anything is sent.
            export.validate()?;
            if export.data == DataForm::Volume && export.storage_class.is_none() {
                eprintln!("warning: {STORAGE_CLASS_NOTE}");
            }
            let base = client::SubmitOptions::for_export(&export);
            (Package::Export(export), base)
        }
    };
    let poll = args.poll()?;
    // The client's errors leave as the crate's, so `submit` exits as every
    // other command does (75 when the same command may work later).
    let (token, cookie, warnings) = args.credentials();
    for w in warnings {
        eprintln!("warning: {w}");
    }
    let credentials = Credentials::lookup_given(token, cookie).map_err(crypto_lab::Error::from)?;
    let api = KfpClient::new(&args.host, credentials).map_err(crypto_lab::Error::from)?;
    let opts = client::SubmitOptions {
        pipeline_name: args.pipeline_name.clone(),
        experiment: args.experiment.clone(),
        run_name: args.run_name.clone(),
        namespace: args.namespace.clone(),
        params: args.params.clone(),
        wait: args.wait,
        timeout: args.timeout.map(std::time::Duration::from_secs),
        poll,
        kfp_version: args.export.kfp_version,
        pending_hint: std::time::Duration::from_secs(args.pending_hint),
        ..base
    };
    let done = client::submit(&api, &package, &opts, &mut |event| println!("{event}"))
        .map_err(crypto_lab::Error::from)?;
    if let Some(failure) = done.failure(opts.namespace.as_deref()) {
        bail!("run {} {failure} (logs: {})", done.run_id, done.link);
    }
    if done.run.is_some() {
        println!("run {} SUCCEEDED: {}", done.run_id, done.link);
    }
    Ok(())
}

fn print_doctor(report: &doctor::Report) {
    let width = report
        .checks
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0);
    for c in &report.checks {
        let fix = match &c.fix {
            Some(fix) if c.status != doctor::Status::Ok => format!("  -> fix: {fix}"),
            _ => String::new(),
        };
        println!(
            "{:7}  {:width$}  {}{fix}",
            c.status.label(),
            c.name,
            c.detail
        );
    }
    if report.ready() {
        println!("ready for the workshop");
    }
}

fn print_summary(ctx: &StageContext, report: &PipelineRun, total: f64) -> Result<()> {
    println!("crypto-lab run: {}", ctx.data_path.display());
    if let Some(rows) = report.synthesized_rows {
        println!(
            "  {:24} {:>7.1}s  {rows} synthetic rows",
            "synth", report.synth_seconds
        );
    }
    for s in &report.stages {
        match &s.outcome {
            Outcome::Ran(output) => println!("  {:24} {:>7.1}s  {output}", s.name, s.seconds),
            Outcome::Skipped(why) => println!("  {:24} {:>8}  {why}", s.name, "skipped"),
        }
    }
    let metrics_path = ctx.path_of(files::METRICS);
    // evaluation_result skipped (up to date): its published metrics stand.
    let read;
    let metrics = match report.metrics() {
        Some(m) => m,
        None => {
            read = read_json::<Metrics>(&metrics_path)?;
            &read
        }
    };
    for m in &metrics.metrics {
        println!("  {:24} {:.6}", m.name, m.number_value);
    }
    println!(
        "  {:24} {:>7.1}s  metrics in {}",
        "total",
        total,
        metrics_path.display()
    );
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
