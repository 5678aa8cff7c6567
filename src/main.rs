//! The `crypto-lab` command: one subcommand per lab stage, `run` for the
//! whole pipeline, `synth` for offline data. All logic lives in the library.

mod cli;
mod terminal;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            // 75 when the same command may work later (network, a busy data
            // path), so scripts and schedulers can retry without parsing text.
            let code = err
                .downcast_ref::<crypto_lab::Error>()
                .map_or(1, |e| e.remedy().exit_code());
            ExitCode::from(code)
        }
    }
}
