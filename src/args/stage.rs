//! A lab stage's subcommand and its script: the same flags, turned into the
//! same context, run the same way (by the runner).

use std::path::PathBuf;

use clap::{ArgMatches, Args, FromArgMatches};

use super::options::{DownloadArgs, FeatureArgs, ModelArgs};
use super::{last_wins, stage_line, Common, DataPath};
use crate::error::Result;
use crate::progress::Progress;
use crate::stages::evaluation_result::EvaluationOptions;
use crate::stages::feature_engineering::GetFeatures;
use crate::stages::modeling::Feval;
use crate::stages::{self, Stage, StageContext, StageRun};
use crate::stages::{PlacedFiles, StageFunctions};

/// A lab stage's subcommand flags: what the binary's subcommand and the
/// stage's script both parse, and how they become the stage's context.
pub trait StageArgs: Args + FromArgMatches {
    /// The stage these flags run.
    const STAGE: &'static Stage;

    /// The stage's context: the data path and this stage's options, checked.
    fn context<'a>(&self, progress: &'a dyn Progress) -> Result<StageContext<'a>>;

    /// Runs the stage as its subcommand does, through the runner
    /// ([`crate::runner::run_stage`]): this only builds the context. Returns
    /// what it did and where its outputs are.
    fn run(&self, common: &Common, progress: &dyn Progress) -> Result<(StageRun, Vec<PathBuf>)> {
        self.run_with(common, progress, StageFunctions::default())
    }

    /// [`StageArgs::run`] with lab functions of the caller's (a script's or
    /// a Rust lightweight component's edited `get_features` or feval).
    fn run_with(
        &self,
        common: &Common,
        progress: &dyn Progress,
        functions: StageFunctions,
    ) -> Result<(StageRun, Vec<PathBuf>)> {
        let mut ctx = self.context(progress)?;
        ctx.functions = functions;
        let run = crate::runner::run_stage(Self::STAGE, &ctx, common.wait_lock)?;
        Ok((run, Self::STAGE.output_paths(&ctx)))
    }
}

/// Where a stage's files are: the data path, and (KFP's artifacts form)
/// any input or output at a path of its own.
#[derive(Args, Debug, Clone)]
pub struct StageFiles {
    /// The data path.
    #[command(flatten)]
    pub data: DataPath,
    /// Read input NAME (one of the lab's file names this stage reads, e.g.
    /// train.csv) from PATH: it is linked into the data path for the stage
    /// (KFP's input artifacts). Repeatable.
    #[arg(long = "in", num_args = 2, value_names = ["NAME", "PATH"], action = clap::ArgAction::Append)]
    pub inputs: Vec<String>,
    /// Write output NAME (one of the lab's file names this stage writes,
    /// e.g. df_train.parquet) to PATH: moved there once the stage has
    /// finished (KFP's output artifacts). Repeatable.
    #[arg(long = "out", num_args = 2, value_names = ["NAME", "PATH"], action = clap::ArgAction::Append)]
    pub outputs: Vec<String>,
}

impl StageFiles {
    /// A context with the lab's defaults for these files.
    pub fn context<'a>(&self, progress: &'a dyn Progress) -> StageContext<'a> {
        let mut ctx = StageContext::new(self.data.data_path.clone(), progress);
        ctx.placed = PlacedFiles::from_pairs(&self.inputs, &self.outputs);
        ctx
    }
}

/// A lab stage's flags: its files ([`StageFiles`]), the fields given, and
/// how they set the stage's context: one shape for the six stages.
macro_rules! stage_args {
    (
        $(#[$doc:meta])* $name:ident => $stage:ident {
            $($(#[$attr:meta])* pub $field:ident: $ty:ty,)*
        }
        |$args:ident, $ctx:ident| $apply:block
    ) => {
        $(#[$doc])*
        #[derive(Args, Debug, Clone)]
        pub struct $name {
            /// The data path and any file placed elsewhere.
            #[command(flatten)]
            pub data: StageFiles,
            $($(#[$attr])* pub $field: $ty,)*
        }

        impl StageArgs for $name {
            const STAGE: &'static Stage = &stages::$stage;
            #[allow(unused_mut)]
            fn context<'a>(&self, progress: &'a dyn Progress) -> Result<StageContext<'a>> {
                let $args = self;
                let mut $ctx = self.data.context(progress);
                $apply
                Ok($ctx)
            }
        }
    };
}

stage_args! {
    /// `crypto-lab download-data` and `scripts/download_data.rs`.
    DownloadDataArgs => DOWNLOAD_DATA {
        /// The competition, credentials, members and retries.
        #[command(flatten)]
        pub download: DownloadArgs,
        /// Where the archive comes from: `kaggle`, an http(s) URL of the same
        /// archive, or a local zip file.
        #[arg(long, value_name = "kaggle|URL|ZIP", default_value = "kaggle")]
        pub source: String,
        /// Download and extract again even if the files are there.
        #[arg(long)]
        pub force: bool,
    }
    |args, ctx| { ctx.download = args.download.options(&args.source, args.force); }
}

stage_args! {
    /// `crypto-lab load-data` and `scripts/load_data.rs`.
    LoadDataArgs => LOAD_DATA {} |_args, _ctx| {}
}

stage_args! {
    /// `crypto-lab feature-engineering` and `scripts/feature_engineering.rs`.
    FeatureEngineeringArgs => FEATURE_ENGINEERING {
        /// The feature options.
        #[command(flatten)]
        pub features: FeatureArgs,
    }
    |args, ctx| { ctx.features = args.features.options(); }
}

stage_args! {
    /// `crypto-lab merge-assets-features` and `scripts/merge_assets_features.rs`.
    MergeAssetsFeaturesArgs => MERGE_ASSETS_FEATURES {} |_args, _ctx| {}
}

stage_args! {
    /// `crypto-lab modeling` and `scripts/modeling.rs`.
    ModelingArgs => MODELING {
        /// The LightGBM parameters.
        #[command(flatten)]
        pub model: ModelArgs,
    }
    |args, ctx| { ctx.model = args.model.params()?; }
}

stage_args! {
    /// `crypto-lab evaluation-result` and `scripts/evaluation_result.rs`.
    EvaluationResultArgs => EVALUATION_RESULT {
        /// Where the outputs go.
        #[command(flatten)]
        pub evaluation: EvaluationOptions,
    }
    |args, ctx| { ctx.evaluation = args.evaluation.clone(); }
}

/// A stage's script: the same flags, defaults, checks and help as the
/// binary's subcommand, plus `--quiet` and `--wait-lock`.
pub struct Script<A> {
    /// The stage's flags.
    pub args: A,
    /// `--quiet`, `--wait-lock`.
    pub common: Common,
    /// The lab functions it runs with: the crate's unless the script says
    /// otherwise ([`Script::with_get_features`], [`Script::with_feval`]).
    pub functions: StageFunctions,
}

impl<A: StageArgs> Script<A> {
    /// Parses the process's arguments (`--help` prints and exits).
    pub fn from_env() -> Self {
        let cmd = Self::command();
        let matches: ArgMatches = cmd.get_matches();
        let parsed = A::from_arg_matches(&matches)
            .and_then(|args| Ok((args, Common::from_arg_matches(&matches)?)));
        match parsed {
            Ok((args, common)) => Script {
                args,
                common,
                functions: StageFunctions::default(),
            },
            Err(e) => e.exit(),
        }
    }

    /// Runs feature_engineering with this `get_features` (named `name` in
    /// the stage's record): a notebook's edited function in its script.
    pub fn with_get_features(mut self, name: &'static str, f: GetFeatures) -> Self {
        self.functions.get_features = (name, f);
        self
    }

    /// Runs modeling with this feval (named `name` in the stage's record).
    pub fn with_feval(mut self, name: &'static str, f: Feval) -> Self {
        self.functions.feval = (name, f);
        self
    }

    /// The script's command line: its stage's flags and `Common`'s, named
    /// and described as the script.
    pub fn command() -> clap::Command {
        let stage = A::STAGE;
        let name = format!("scripts/{}.rs", stage.name);
        let about = format!(
            "{} The same flags as `crypto-lab {}`.",
            stage_line(stage),
            stage.command
        );
        // The about and name go last: a flattened struct's doc comment
        // would otherwise become the script's description, and the usage
        // line would show the compiled binary's name.
        let cmd = Common::augment_args(A::augment_args(clap::Command::new(name.clone())));
        last_wins(cmd).about(about).bin_name(name)
    }

    /// Runs the stage as the binary's subcommand does ([`StageArgs::run`]).
    pub fn run(&self, progress: &dyn Progress) -> Result<(StageRun, Vec<PathBuf>)> {
        self.args.run_with(&self.common, progress, self.functions)
    }

    /// The whole script: Ctrl-C and SIGTERM clean up as in the binary, the
    /// stage runs, and the line the binary prints is printed (or `error:
    /// ...` on standard error, with the binary's exit status).
    pub fn main(&self) -> std::process::ExitCode {
        let progress: &dyn Progress = if self.common.quiet {
            &crate::progress::Silent
        } else {
            &crate::progress::Print
        };
        let result = crate::artifact::exit_cleanly_on_signals().and_then(|()| self.run(progress));
        match result {
            Ok((ran, outputs)) => {
                progress.log(&ran.line(&outputs));
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                std::process::ExitCode::from(e.remedy().exit_code())
            }
        }
    }
}

/// Parses the process's arguments as `A` alone, for a script that is not a
/// stage (`scripts/export_kfp.rs`, `bench/plot.rs`).
pub fn parse_script<A: Args + FromArgMatches>(name: &str, about: &str) -> A {
    let cmd = last_wins(A::augment_args(clap::Command::new(name.to_string())))
        .about(about.to_string())
        .bin_name(name.to_string());
    A::from_arg_matches(&cmd.get_matches()).unwrap_or_else(|e| e.exit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_is_named_and_described_as_itself() {
        let mut cmd = Script::<ModelingArgs>::command();
        let help = cmd.render_help().to_string();
        assert!(
            help.starts_with("Lab stage modeling: train LightGBM"),
            "{help}"
        );
        assert!(
            help.contains("Usage: scripts/modeling.rs [OPTIONS]"),
            "{help}"
        );
        assert!(
            help.contains("--n-estimators") && help.contains("--wait-lock"),
            "{help}"
        );
    }
}
