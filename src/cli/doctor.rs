//! `crypto-lab doctor`.

use anyhow::{bail, Result};
use crypto_lab::args::DoctorArgs;
use crypto_lab::doctor;

/// Runs the checks, prints one line each, fails when something is missing.
pub fn exec(args: &DoctorArgs) -> Result<()> {
    let report = doctor::run(&args.options()?);
    print_doctor(&report);
    if !report.ready() {
        bail!(
            "not ready for the workshop: {} missing (fixes above)",
            report.missing().join(", ")
        );
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
