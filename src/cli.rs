//! The `crypto-lab` binary's commands: the flags and their resolution are
//! the library's ([`crypto_lab::args`]); each subcommand's module here calls
//! the library and prints what it did.

mod doctor;
mod export_kfp;
mod plot;
mod prepare_volume;
mod run;
mod runs;
mod stage;
mod stages;
mod submit;
mod synth;

use anyhow::Result;
use crypto_lab::args::{self, Command};

use crate::terminal::Terminal;

/// Parses arguments and runs the command.
pub fn main() -> Result<()> {
    let cli = args::parse();
    let term = Terminal::new(cli.common.quiet);
    crypto_lab::artifact::exit_cleanly_on_signals()?;
    let (common, term) = (&cli.common, &term);
    match cli.command {
        Command::Synth(a) => synth::exec(&a, common, term),
        Command::DownloadData(a) => stage::exec(&a, common, term),
        Command::LoadData(a) => stage::exec(&a, common, term),
        Command::FeatureEngineering(a) => stage::exec(&a, common, term),
        Command::MergeAssetsFeatures(a) => stage::exec(&a, common, term),
        Command::Modeling(a) => stage::exec(&a, common, term),
        Command::EvaluationResult(a) => stage::exec(&a, common, term),
        Command::Run(a) => run::exec(&a, common, term),
        Command::Runs(a) => runs::exec(&a, term),
        Command::Plot(a) => plot::exec(&a, term),
        Command::ExportKfp(a) => export_kfp::exec(&a, term),
        Command::Submit(a) => submit::exec(&a),
        Command::Doctor(a) => doctor::exec(&a),
        Command::Stages => stages::exec(),
        Command::PrepareVolume(a) => prepare_volume::exec(&a, term),
        // Returns only when the program could not be built or started.
        Command::RunScript(a) => {
            match crypto_lab::kfp::runtime::script::run_script(&a.file, &a.args, term)? {}
        }
    }
}
