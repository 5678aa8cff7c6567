//! The lab's LightGBM parameters and the one place where user overrides
//! (flags, `--param KEY=VALUE`) meet them, are merged and checked.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub(crate) mod lightgbm;

/// The lab's LightGBM parameters, every key its `params` dict sets, and the
/// features it trains on; each can be overridden.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelParams {
    /// Boosting rounds at most (`n_estimators`).
    pub n_estimators: usize,
    /// LightGBM's objective: a regression one (the Target is a return).
    #[serde(default = "lab_objective")]
    pub objective: String,
    /// The metric LightGBM reports on the validation rows each round; the
    /// weighted correlation is computed beside it.
    #[serde(default = "lab_metric")]
    pub metric: String,
    /// `gbdt`, `dart` or `rf`.
    #[serde(default = "lab_boosting_type")]
    pub boosting_type: String,
    /// Tree depth limit, -1 for none.
    pub max_depth: i32,
    /// Shrinkage.
    pub learning_rate: f64,
    /// LightGBM's master seed.
    pub seed: u64,
    /// LightGBM's own messages: -1 keeps it quiet, as the lab does.
    #[serde(default = "lab_verbose")]
    pub verbose: i32,
    /// Stop when a metric has not improved for this many rounds; 0 disables.
    pub early_stopping_rounds: usize,
    /// Log the evaluation every this many rounds (the lab's `verbose_eval`).
    pub log_period: usize,
    /// LightGBM threads; 0 lets OpenMP choose (the lab's default).
    pub num_threads: usize,
    /// The columns of `merge_feature_df` the model learns from, in order
    /// (the lab's `features`); `Asset_ID`, where listed, is categorical.
    #[serde(default = "lab_features")]
    pub features: Vec<String>,
    /// Further `key=value` LightGBM parameters, appended last.
    pub extra: Vec<(String, String)>,
}

fn lab_objective() -> String {
    "regression".into()
}

fn lab_metric() -> String {
    "rmse".into()
}

fn lab_boosting_type() -> String {
    "gbdt".into()
}

fn lab_verbose() -> i32 {
    -1
}

/// The lab's `features` list, as its Modeling cell writes it: `Asset_ID`
/// and every feature its `get_features` computes, in that order (a test
/// holds it to feature_engineering's columns).
pub const LAB_FEATURES: [&str; 24] = [
    "Asset_ID",
    "RSI_30",
    "ATR_30",
    "DEMA_30",
    "RSI_120",
    "ATR_120",
    "DEMA_120",
    "RSI_240",
    "ATR_240",
    "DEMA_240",
    "sma_30",
    "return_30",
    "sma_120",
    "return_120",
    "sma_240",
    "return_240",
    "HL",
    "OC",
    "lower_shadow",
    "upper_shadow",
    "Day",
    "dayofyear",
    "weekofyear",
    "season",
];

/// [`LAB_FEATURES`] as owned names, the default of [`ModelParams::features`].
pub fn lab_features() -> Vec<String> {
    LAB_FEATURES.iter().map(|f| f.to_string()).collect()
}

impl Default for ModelParams {
    fn default() -> Self {
        ModelParams {
            n_estimators: 1200,
            objective: lab_objective(),
            metric: lab_metric(),
            boosting_type: lab_boosting_type(),
            max_depth: -1,
            learning_rate: 0.01,
            seed: 2022,
            verbose: lab_verbose(),
            early_stopping_rounds: 60,
            log_period: 30,
            num_threads: 0,
            features: lab_features(),
            extra: Vec::new(),
        }
    }
}

impl ModelParams {
    /// Applies `key=value` LightGBM parameters over these, in order, so the
    /// last one given wins; the one place where the lab's values, the flags
    /// and `--param` meet. Names go through LightGBM's aliases (`eta` is
    /// `learning_rate`, `n_estimators` is `num_iterations`); an unknown name
    /// is an error suggesting the nearest known one. Parameters modeling
    /// drives itself (rounds, learning rate, depth, seed, early stopping,
    /// threads) land in their fields; the rest replace the lab's value of
    /// the same parameter or are added.
    pub fn with_overrides(mut self, params: &[(String, String)]) -> Result<Self> {
        for (key, value) in params {
            let name = lightgbm::canonical_param(key.trim())?;
            let value = value.trim();
            let bad = |expected: &str| {
                Error::BadArgument(format!(
                    "--param {}={}: {expected}",
                    crate::error::printable(key),
                    crate::error::printable(value)
                ))
            };
            match name.as_str() {
                "num_iterations" => {
                    self.n_estimators = value
                        .parse()
                        .map_err(|_| bad("expected a whole number of rounds, at least 1"))?
                }
                "learning_rate" => {
                    self.learning_rate = value.parse().map_err(|_| bad("expected a number"))?
                }
                "max_depth" => {
                    self.max_depth = value
                        .parse()
                        .map_err(|_| bad("expected a whole number (-1: no limit)"))?
                }
                "seed" => {
                    self.seed = value
                        .parse()
                        .map_err(|_| bad("expected a whole number from 0 to 2147483647"))?
                }
                "early_stopping_round" => {
                    self.early_stopping_rounds = value
                        .parse()
                        .map_err(|_| bad("expected a whole number of rounds (0: off)"))?
                }
                "num_threads" => {
                    self.num_threads = value
                        .parse()
                        .map_err(|_| bad("expected a whole number of threads (0: all cores)"))?
                }
                "objective" => self.objective = value.to_string(),
                "metric" => self.metric = value.to_string(),
                "boosting" => self.boosting_type = value.to_string(),
                "verbosity" => {
                    self.verbose = value
                        .parse()
                        .map_err(|_| bad("expected a whole number (-1: quiet)"))?
                }
                _ => {
                    self.extra.retain(|(k, _)| canonical_or_same(k) != name);
                    self.extra.push((name, value.to_string()));
                }
            }
        }
        Ok(self)
    }

    /// Checks every value before any data is read: numbers in range
    /// (rounds at least 1, a finite learning rate above 0, a seed in
    /// LightGBM's int range), every extra name known to LightGBM, the
    /// metric left to the lab's rmse, and the whole set read by LightGBM as
    /// training would read it (its own rejection of a value is passed on).
    pub fn validate(&self) -> Result<()> {
        let limit = i32::MAX as usize;
        if self.n_estimators == 0 || self.n_estimators > limit {
            return Err(Error::BadArgument(format!(
                "n_estimators is {}: expected 1 to {limit}",
                self.n_estimators
            )));
        }
        if !self.learning_rate.is_finite() || self.learning_rate <= 0.0 {
            return Err(Error::BadArgument(format!(
                "learning_rate is {}: expected a finite number above 0",
                self.learning_rate
            )));
        }
        if self.seed > limit as u64 {
            return Err(Error::BadArgument(format!(
                "seed is {}: LightGBM's seed is an int, expected 0 to {limit}",
                self.seed
            )));
        }
        if self.num_threads > limit || self.early_stopping_rounds > limit {
            return Err(Error::BadArgument(format!(
                "num_threads {} and early_stopping_rounds {}: expected at most {limit}",
                self.num_threads, self.early_stopping_rounds
            )));
        }
        self.validate_features()?;
        for (k, v) in self.extra.iter().chain(&self.lightgbm_param_list()) {
            let name = lightgbm::canonical_param(k)?;
            if v.is_empty() || v.contains(char::is_whitespace) {
                return Err(Error::BadArgument(format!(
                    "{}={}: expected a value without spaces",
                    crate::error::printable(k),
                    crate::error::printable(v)
                )));
            }
            if name == "objective" && NOT_REGRESSION.contains(&v.to_ascii_lowercase().as_str()) {
                return Err(Error::BadArgument(format!(
                    "objective={}: the lab's Target is a continuous return, so the objective \
                     must be a regression one (regression, regression_l1, huber, fair, quantile, \
                     mape, ...)",
                    crate::error::printable(v)
                )));
            }
            if name == "metric"
                && !["rmse", "l2_root", "root_mean_squared_error"].contains(&v.as_str())
            {
                return Err(Error::BadArgument(format!(
                    "metric={}: the lab reports rmse and its weighted correlation; \
                     another metric is not supported",
                    crate::error::printable(v)
                )));
            }
        }
        let rejected = |what: String, e: Error| {
            let text = e.to_string();
            Error::BadArgument(format!(
                "LightGBM rejects {what}: {}",
                crate::error::printable(text.trim_start_matches("LightGBM: ").trim())
            ))
        };
        // LightGBM's message may not name the parameter ("Unknown token
        // abc"): find the one it refuses on its own.
        for (k, v) in &self.extra {
            lightgbm::check_params(&format!("{k}={v}"))
                .map_err(|e| rejected(crate::error::printable(&format!("{k}={v}")), e))?;
        }
        lightgbm::check_params(&self.lightgbm_params())
            .map_err(|e| rejected("the parameters".into(), e))
    }

    /// The parameters handed to LightGBM, in the lab's order, each once: an
    /// extra parameter replaces the lab's value of the same parameter
    /// (LightGBM itself would keep the first of two).
    pub fn lightgbm_param_list(&self) -> Vec<(String, String)> {
        let mut list: Vec<(String, String)> = vec![
            ("objective".into(), self.objective.clone()),
            ("metric".into(), self.metric.clone()),
            ("boosting_type".into(), self.boosting_type.clone()),
            ("max_depth".into(), self.max_depth.to_string()),
            ("learning_rate".into(), self.learning_rate.to_string()),
            ("seed".into(), self.seed.to_string()),
            ("verbose".into(), self.verbose.to_string()),
            ("num_iterations".into(), self.n_estimators.to_string()),
        ];
        if self.num_threads > 0 {
            list.push(("num_threads".into(), self.num_threads.to_string()));
        }
        for (k, v) in &self.extra {
            let name = canonical_or_same(k);
            match list
                .iter_mut()
                .find(|(lk, _)| canonical_or_same(lk) == name)
            {
                Some(entry) => entry.1 = v.clone(),
                None => list.push((k.clone(), v.clone())),
            }
        }
        list
    }

    /// The parameter string given to LightGBM, as `lgb.train` builds it.
    pub fn lightgbm_params(&self) -> String {
        self.lightgbm_param_list()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The options as modeling's record keeps them: every parameter given to
    /// LightGBM (rounds as `n_estimators`) and the early stopping rounds;
    /// not the log period or verbosity, which change no output.
    pub fn record_options(&self) -> std::collections::BTreeMap<String, String> {
        let mut o: std::collections::BTreeMap<String, String> = self
            .lightgbm_param_list()
            .into_iter()
            .filter(|(k, _)| k != "verbose")
            .map(|(k, v)| {
                let k = if k == "num_iterations" {
                    "n_estimators".to_string()
                } else {
                    k
                };
                (k, v)
            })
            .collect();
        o.insert(
            "early_stopping_rounds".into(),
            self.early_stopping_rounds.to_string(),
        );
        // Only a changed list is recorded, so the records of the lab's
        // defaults read as before.
        if self.features != lab_features() {
            o.insert("features".into(), self.features.join(","));
        }
        o
    }

    /// These parameters without the features named (`--drop-features`); a
    /// name that is not among the features is an error suggesting the
    /// nearest one.
    pub fn without_features(mut self, names: &[String]) -> Result<Self> {
        for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
            if !self.features.iter().any(|f| f == name) {
                let hint = crate::columns::closest(name, self.features.iter().map(String::as_str))
                    .map(|c| format!(" (did you mean {c}?)"))
                    .unwrap_or_default();
                return Err(Error::BadArgument(format!(
                    "--drop-features {}: not one of the model's features{hint}",
                    crate::error::printable(name)
                )));
            }
            self.features.retain(|f| f != name);
        }
        Ok(self)
    }

    /// Fails unless the features are a non-empty list of distinct names,
    /// none of them a key, the label or the weight: caught before any data
    /// is read. Whether each is a column is checked against the file.
    pub fn validate_features(&self) -> Result<()> {
        if self.features.is_empty() {
            return Err(Error::BadArgument(
                "features is empty: the model needs at least one column of merge_feature_df".into(),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for f in &self.features {
            if ["timestamp", "Target", "train_flg", "Weight"].contains(&f.as_str()) {
                return Err(Error::BadArgument(format!(
                    "features lists {}: the model may not learn from the key, the label or the weight",
                    crate::error::printable(f)
                )));
            }
            if !seen.insert(f.as_str()) {
                return Err(Error::BadArgument(format!(
                    "features lists {} twice",
                    crate::error::printable(f)
                )));
            }
        }
        Ok(())
    }
}

/// LightGBM objectives (and their aliases) that are not regressions: with
/// them LightGBM would read the continuous Target as classes or ranks
/// (`binary` takes every positive return as class 1) and train without a
/// word, so they are refused.
const NOT_REGRESSION: [&str; 21] = [
    "binary",
    "multiclass",
    "softmax",
    "multiclassova",
    "multiclass_ova",
    "ova",
    "ovr",
    "cross_entropy",
    "xentropy",
    "cross_entropy_lambda",
    "xentlambda",
    "lambdarank",
    "rank_xendcg",
    "xendcg",
    "xe_ndcg",
    "xe_ndcg_mart",
    "xendcg_mart",
    "custom",
    "none",
    "null",
    "na",
];

/// LightGBM's name of a parameter, or the text itself when LightGBM does
/// not know it (validate reports that).
fn canonical_or_same(key: &str) -> String {
    lightgbm::canonical_param(key).unwrap_or_else(|_| key.to_string())
}
