//! The `crypto-lab` command: one subcommand per lab stage, `run` for the
//! whole pipeline, `synth` for offline data. All logic lives in the library.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
