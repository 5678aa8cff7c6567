//! Lab cell "Modeling": LightGBM with the lab's parameters, its weighted
//! correlation evaluated every round and early stopping after 60 rounds.

use std::path::Path;

use polars::prelude::*;

use crate::artifact::{
    ensure_writable_dir, read_parquet_columns, write_bytes, write_json, write_parquet,
};
use crate::contract::{Evals, FeatureImportance, TrainingHistory, ValidPredictions};
use crate::files;

use crate::contract::early_stopping::EarlyStopping;
use crate::error::{Error, Result};
use crate::scoring::weighted_correlation;
use crate::stages::modeling::lgbm::{Dataset, Importance, Trainer};

/// A function in the shape of the lab's `weighted_correlation` feval:
/// predictions, labels (as LightGBM stores them) and weights of the
/// validation rows in, the score out (greater is better). The crate's is
/// [`weighted_correlation`]; a notebook may pass its own to
/// [`modeling_with`].
pub type Feval = fn(&[f64], &[f32], &[f64]) -> f64;

/// Whether `f` computes what the crate's own [`weighted_correlation`]
/// computes: the same function, or one that gives the same bits on a fixed
/// set of rows (a notebook's unedited copy of the lab's cell is another
/// function of the same text). An edit that agrees on these rows and not
/// on others goes unseen; the history then calls it the lab's.
pub fn is_crate_feval(f: Feval) -> bool {
    if std::ptr::fn_addr_eq(f, weighted_correlation as Feval) {
        return true;
    }
    let n = 1000;
    let a: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin() * 1e-3).collect();
    let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos() * 1e-2).collect();
    let w: Vec<f64> = (0..n).map(|i| 1.0 + (i % 14) as f64).collect();
    f(&a, &b, &w).to_bits() == weighted_correlation(&a, &b, &w).to_bits()
}
use crate::model_params::ModelParams;
use crate::progress::Progress;
use inputs::explain_unusable;
pub use inputs::{model_columns, model_inputs, FeatureRows, ModelInputs, SplitRows};

mod inputs;
pub(crate) mod lgbm;

/// The lab's features, in the lab's order: Asset_ID (categorical) and the
/// features feature_engineering computes (a test holds the two lists
/// together).
pub const FEATURES: [&str; 24] = crate::model_params::LAB_FEATURES;

/// A trained model and its record.
#[derive(Debug, Clone)]
pub struct TrainedModel {
    /// LightGBM text model holding the best rounds (what `save_model` writes
    /// by default in Python).
    pub model_text: String,
    /// Metrics per round and the best ones.
    pub history: TrainingHistory,
    /// Importance per feature.
    pub importance: FeatureImportance,
    /// Validation rows and the best round's predictions.
    pub predictions: ValidPredictions,
}

fn label_of_inputs() -> &'static Path {
    Path::new(files::MERGE_FEATURE_DF)
}

/// LightGBM's two datasets, binned from `merge_feature_df`, and what of
/// the split modeling still needs once the frame is gone.
struct Binned {
    train_set: Dataset,
    valid_set: Dataset,
    train: SplitRows,
    valid: SplitRows,
    valid_timestamp: Vec<i64>,
    valid_asset: Vec<i64>,
    rows_without_target: usize,
}

/// Bins the training and validation rows (Asset_ID categorical, validation
/// binned as training is, as the lab's `lgb.Dataset(..., reference=)`).
fn bin(merge_feature_df: &DataFrame, lgb_params: &str, features: &[String]) -> Result<Binned> {
    // The lab's `categorical_feature=['Asset_ID']`, wherever it is listed.
    let dataset_params = match features.iter().position(|f| f == "Asset_ID") {
        Some(i) => format!("{lgb_params} categorical_column={i}"),
        None => lgb_params.to_string(),
    };
    let names: Vec<&str> = features.iter().map(String::as_str).collect();
    let inputs = model_inputs(merge_feature_df, features)?;
    let mut train_set =
        Dataset::from_source(&inputs.rows_of(&inputs.train), &dataset_params, None)?;
    train_set.set_label(&inputs.train.y)?;
    train_set.set_feature_names(&names)?;
    let mut valid_set = Dataset::from_source(
        &inputs.rows_of(&inputs.valid),
        &dataset_params,
        Some(&train_set),
    )?;
    valid_set.set_label(&inputs.valid.y)?;
    valid_set.set_feature_names(&names)?;
    let valid_asset: Vec<i64> = inputs
        .valid
        .rows
        .iter()
        .map(|&r| inputs.asset.get(r as usize) as i64)
        .collect();
    let ModelInputs {
        train,
        valid,
        valid_timestamp,
        rows_without_target,
        ..
    } = inputs;
    Ok(Binned {
        train_set,
        valid_set,
        train,
        valid,
        valid_timestamp,
        valid_asset,
        rows_without_target,
    })
}

/// What boosting produced: every round's metrics, the round kept (1-based)
/// with its scores, and its predictions on the validation rows.
struct Boosted {
    evals: Evals,
    best_iteration: usize,
    best_scores: [f64; 2],
    prediction: Vec<f64>,
}

/// The lab's `lgb.train`: a round at a time, both metrics on the validation
/// rows after each, the every-30-rounds log, early stopping.
fn boost(
    trainer: &mut Trainer,
    params: &ModelParams,
    valid: &SplitRows,
    feval: Feval,
    progress: &dyn Progress,
) -> Result<Boosted> {
    let mut stopper = EarlyStopping {
        rounds: params.early_stopping_rounds,
        greater_is_better: [false, true],
        best: [None, None],
    };
    let mut evals = Evals::default();
    let mut scores = Vec::with_capacity(valid.len());
    // Each metric's best round so far and the validation scores then: the
    // best round's predictions are saved without predicting again.
    let mut kept: [(usize, Vec<f64>); 2] = [(0, Vec::new()), (0, Vec::new())];
    let mut outcome = None;
    let last_iter = params.n_estimators - 1;
    let clock = std::time::Instant::now();
    progress.start("modeling", params.n_estimators as u64);
    for iter in 0..params.n_estimators {
        trainer.update_one_iter()?;
        let rmse = *trainer
            .eval_valid()?
            .first()
            .ok_or_else(|| Error::LightGbm("no rmse reported for the validation set".into()))?;
        trainer.valid_scores(&mut scores)?;
        let wcorr = feval(&scores, &valid.y, &valid.weight);
        evals.rmse.push(rmse);
        evals.eval_wcorr.push(wcorr);
        progress.advance(1);
        if params.log_period > 0 && (iter + 1) % params.log_period == 0 {
            progress.log(&format!(
                "[{}]\tvalid_0's rmse: {rmse:.6}\tvalid_0's eval_wcorr: {wcorr:.6}",
                iter + 1
            ));
        }
        if params.early_stopping_rounds > 0 {
            let stop = stopper.check(iter, last_iter, [rmse, wcorr]);
            for (m, best) in stopper.best.iter().enumerate() {
                if matches!(best, Some((at, _, _)) if *at == iter) {
                    kept[m] = (iter, scores.clone());
                }
            }
            if let Some(stop) = stop {
                outcome = Some(stop);
                break;
            }
        }
    }
    progress.finish();
    let trained = evals.rmse.len();
    progress.log(&format!(
        "modeling: {trained} rounds in {:.1}s ({:.2}s a round, LightGBM's own work but for the weighted correlation)",
        clock.elapsed().as_secs_f64(),
        clock.elapsed().as_secs_f64() / trained as f64
    ));
    let (best_iter0, best_scores) = outcome.unwrap_or((
        trained - 1,
        [evals.rmse[trained - 1], evals.eval_wcorr[trained - 1]],
    ));
    let best_iteration = best_iter0 + 1;
    let prediction = if outcome.is_some() {
        kept.into_iter()
            .find(|(at, s)| *at == best_iter0 && !s.is_empty())
            .map(|(_, s)| s)
            .ok_or_else(|| Error::Internal(format!("no scores kept for round {best_iteration}")))?
    } else {
        scores
    };
    Ok(Boosted {
        evals,
        best_iteration,
        best_scores,
        prediction,
    })
}

/// Trains on a frame it owns, and lets it go once LightGBM has binned the
/// rows: the frame is the largest thing in memory and training needs only
/// the datasets, so the peak is the frame or the training, not both.
fn train_frame(
    merge_feature_df: DataFrame,
    params: &ModelParams,
    feval: Feval,
    progress: &dyn Progress,
) -> Result<TrainedModel> {
    let clock = std::time::Instant::now();
    let lgb_params = params.lightgbm_params();
    let binned = bin(&merge_feature_df, &lgb_params, &params.features)?;
    drop(merge_feature_df);
    let (train, valid) = (&binned.train, &binned.valid);
    progress.log(&format!(
        "modeling: {} training and {} validation rows binned by LightGBM in {:.1}s",
        train.len(),
        valid.len(),
        clock.elapsed().as_secs_f64()
    ));
    let mut trainer = Trainer::new(&binned.train_set, &binned.valid_set, &lgb_params)?;
    let Boosted {
        evals,
        best_iteration,
        best_scores,
        prediction,
    } = boost(&mut trainer, params, valid, feval, progress)?;
    if let Some(why) = explain_unusable(best_scores[0], best_scores[1], &prediction, valid) {
        return Err(Error::bad_input(label_of_inputs(), why));
    }
    let stopped_early = evals.rmse.len() < params.n_estimators;
    progress.log(&format!(
        "{}, best iteration is:\n[{best_iteration}]\tvalid_0's rmse: {:.6}\tvalid_0's eval_wcorr: {:.6}",
        if stopped_early { "Early stopping" } else { "Did not meet early stopping" },
        best_scores[0],
        best_scores[1]
    ));
    let n_iter = best_iteration as i32;
    let ncol = params.features.len();
    let importance = FeatureImportance {
        feature: params.features.clone(),
        split: trainer.feature_importance(n_iter, Importance::Split, ncol)?,
        gain: trainer.feature_importance(n_iter, Importance::Gain, ncol)?,
    };
    Ok(TrainedModel {
        model_text: trainer.model_string(n_iter)?,
        history: TrainingHistory {
            best_iteration,
            rmse: best_scores[0],
            weighted_correlation: best_scores[1],
            evals,
            stopped_early,
            train_rows: train.len(),
            valid_rows: valid.len(),
            params: params.clone(),
            custom_feval: !is_crate_feval(feval),
            // What the frame says of the feature options, which modeling is
            // not given: the runs table shows them beside the parameters.
            first_valid_timestamp: binned.valid_timestamp.iter().copied().min(),
            rows_without_target: binned.rows_without_target,
        },
        importance,
        predictions: ValidPredictions {
            timestamp: binned.valid_timestamp,
            asset_id: binned.valid_asset,
            target: valid.y.iter().map(|&y| f64::from(y)).collect(),
            weight: valid.weight.clone(),
            prediction,
        },
    })
}

/// File form, as the lab's `modeling(data_path)`: reads
/// `merge_feature_df.parquet`, writes `lgb.txt`, `valid_predictions.parquet`,
/// `feature_importance.json` and `lgb_history.json`, and appends the run to
/// the data path's runs table ([`crate::runs`]).
pub fn modeling(
    data_path: &Path,
    params: &ModelParams,
    progress: &dyn Progress,
) -> Result<TrainedModel> {
    modeling_with(data_path, params, weighted_correlation, progress)
}

/// [`modeling`] with a feval of the caller's (a notebook's edited
/// `weighted_correlation`) scoring every round and choosing, with the
/// rmse, where early stopping stops.
pub fn modeling_with(
    data_path: &Path,
    params: &ModelParams,
    feval: Feval,
    progress: &dyn Progress,
) -> Result<TrainedModel> {
    // Every parameter is checked before the frame is read: a typo costs
    // nothing.
    params.validate()?;
    ensure_writable_dir(data_path)?;
    let columns = model_columns(&params.features);
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    let df = read_parquet_columns(&data_path.join(files::MERGE_FEATURE_DF), &columns)?;
    let model = train_frame(df, params, feval, progress)?;
    write_bytes(&data_path.join(files::MODEL), model.model_text.as_bytes())?;
    write_parquet(
        &data_path.join(files::VALID_PREDICTIONS),
        &mut model.predictions.to_frame()?,
    )?;
    write_json(
        &data_path.join(files::FEATURE_IMPORTANCE),
        &model.importance,
    )?;
    // The history goes last: evaluation-result trusts a model only with it.
    write_json(&data_path.join(files::HISTORY), &model.history)?;
    crate::runs::append(data_path, &model.history)?;
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_are_feature_df_columns_without_keys_and_label() {
        use crate::stages::feature_engineering::FEATURE_DF_COLUMNS;
        let derived: Vec<&str> = FEATURE_DF_COLUMNS
            .iter()
            .copied()
            .filter(|c| !["timestamp", "Target", "train_flg"].contains(c))
            .collect();
        assert_eq!(derived, FEATURES);
    }

    fn unweighted(a: &[f64], b: &[f32], _w: &[f64]) -> f64 {
        weighted_correlation(a, b, &vec![1.0; a.len()])
    }

    #[test]
    fn a_copy_of_the_labs_feval_counts_as_the_lab_s_and_an_edit_does_not() {
        assert!(is_crate_feval(weighted_correlation));
        // Another function (a notebook cell's copy) computing the same.
        let copy: Feval = |a, b, w| weighted_correlation(a, b, w);
        assert!(!std::ptr::fn_addr_eq(copy, weighted_correlation as Feval));
        assert!(is_crate_feval(copy));
        assert!(!is_crate_feval(unweighted));
    }

    #[test]
    fn params_string_has_the_labs_values() {
        let s = ModelParams::default().lightgbm_params();
        for part in [
            "objective=regression",
            "metric=rmse",
            "learning_rate=0.01",
            "seed=2022",
            "num_iterations=1200",
            "max_depth=-1",
        ] {
            assert!(s.contains(part), "{s}");
        }
    }
}
