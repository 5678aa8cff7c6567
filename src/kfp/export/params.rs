//! The pipeline's run parameters: every choice a student makes in the
//! notebook (the lab's LightGBM `params`, the `features` list, the
//! validation split and the Target fill) and download_data's source, each a
//! typed KFP input whose default is the value the pipeline was exported
//! with. The KFP UI's run form shows them and its run comparison lists them
//! beside the metrics.

use serde_json::{json, Value};

use super::ExportOptions;
use crate::calendar::UtcInstant;
use crate::stages::download_data::DEFAULT_DATASET;
use crate::stages::Stage;

/// A run parameter's KFP type (`parameterType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// Text.
    String,
    /// A whole number (the launcher passes it as digits).
    Integer,
    /// A number.
    Double,
    /// `true` or `false`.
    Boolean,
}

impl ParamType {
    /// The IR's name for it.
    pub fn ir(self) -> &'static str {
        match self {
            ParamType::String => "STRING",
            ParamType::Integer => "NUMBER_INTEGER",
            ParamType::Double => "NUMBER_DOUBLE",
            ParamType::Boolean => "BOOLEAN",
        }
    }
}

/// One run parameter: its name (the lab's, and so the flag's:
/// `verbose_eval` is `--verbose-eval`), the stage whose component takes
/// it, and its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunParam {
    /// The lab's name.
    pub name: &'static str,
    /// The lab stage (function name) that takes it.
    pub stage: &'static str,
    /// Its KFP type.
    pub kind: ParamType,
}

const fn param(name: &'static str, stage: &'static str, kind: ParamType) -> RunParam {
    RunParam { name, stage, kind }
}

/// download_data's extra input: where the archive comes from (`kaggle`, an
/// http(s) URL of a mirror, or a zip path inside the image), so a cluster
/// without Kaggle credentials (Vertex AI) can run the lab.
pub const SOURCE: &str = "source";

/// Every run parameter, in the order the run form lists them: download's,
/// feature_engineering's, then the lab's `params` dict in its order, its
/// `early_stopping_rounds` and `verbose_eval`, and the `features` list.
pub const RUN_PARAMS: [RunParam; 15] = [
    param("dataset", "download_data", ParamType::String),
    param(SOURCE, "download_data", ParamType::String),
    param("valid_from", "feature_engineering", ParamType::String),
    param("keep_target_nan", "feature_engineering", ParamType::Boolean),
    param("n_estimators", "modeling", ParamType::Integer),
    param("objective", "modeling", ParamType::String),
    param("metric", "modeling", ParamType::String),
    param("boosting_type", "modeling", ParamType::String),
    param("max_depth", "modeling", ParamType::Integer),
    param("learning_rate", "modeling", ParamType::Double),
    param("seed", "modeling", ParamType::Integer),
    param("verbose", "modeling", ParamType::Integer),
    param("early_stopping_rounds", "modeling", ParamType::Integer),
    param("verbose_eval", "modeling", ParamType::Integer),
    param("features", "modeling", ParamType::String),
];

/// The run parameters `stage`'s component takes.
pub fn of_stage(stage: &Stage) -> impl Iterator<Item = &'static RunParam> + '_ {
    RUN_PARAMS.iter().filter(move |p| p.stage == stage.name)
}

/// The default of run parameter `name` in a pipeline exported with
/// `opts`: the notebook's (or the flags') value, typed as KFP writes it.
pub fn default_of(opts: &ExportOptions, name: &str) -> Value {
    let m = &opts.model;
    match name {
        "dataset" => json!(DEFAULT_DATASET),
        SOURCE => json!("kaggle"),
        "valid_from" => json!(UtcInstant(opts.features.valid_from).to_string()),
        "keep_target_nan" => json!(opts.features.keep_target_nan),
        "n_estimators" => json!(m.n_estimators),
        "objective" => json!(m.objective),
        "metric" => json!(m.metric),
        "boosting_type" => json!(m.boosting_type),
        "max_depth" => json!(m.max_depth),
        "learning_rate" => json!(m.learning_rate),
        "seed" => json!(m.seed),
        "verbose" => json!(m.verbose),
        "early_stopping_rounds" => json!(m.early_stopping_rounds),
        "verbose_eval" => json!(m.log_period),
        "features" => json!(m.features.join(",")),
        _ => Value::Null,
    }
}

/// The constant arguments modeling gets besides its run parameters: what
/// the notebook set that is no key of the lab's `params` (further LightGBM
/// parameters, a thread count). Fixed at export, not run parameters.
pub fn fixed_model_args(opts: &ExportOptions) -> Vec<String> {
    let mut args = Vec::new();
    for (k, v) in &opts.model.extra {
        args.push("--param".to_string());
        args.push(format!("{k}={v}"));
    }
    if opts.model.num_threads != 0 {
        args.push("--num-threads".into());
        args.push(opts.model.num_threads.to_string());
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{parse_from, Command};

    #[test]
    fn every_run_parameter_is_a_flag_of_its_stage_and_defaults_parse_back() {
        let opts = ExportOptions::default();
        for stage in crate::stages::STAGES {
            let mut argv = vec!["crypto-lab".to_string(), stage.command.to_string()];
            for p in of_stage(stage) {
                argv.push(Stage::flag(p.name));
                argv.push(opts.default_of(p.name));
            }
            let cli = parse_from(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
            match cli.command {
                Command::Modeling(m) => assert_eq!(m.model.params().expect("params"), opts.model),
                Command::FeatureEngineering(f) => assert_eq!(f.features.options(), opts.features),
                _ => {}
            }
        }
    }
}
