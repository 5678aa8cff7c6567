//! How modeling picks the best round recorded in `lgb_history.json`:
//! LightGBM's Python `early_stopping` callback for the lab's two metrics,
//! and the same rule replayed on a record to tell which metric picked it
//! (the record holds both metrics at that round, so it cannot say itself).

use super::TrainingHistory;

/// The metrics early stopping watches, in the order it checks them (the
/// order of `EarlyStopping::greater_is_better`).
pub const STOPPING_METRICS: [&str; 2] = ["rmse", "weighted correlation"];

/// LightGBM's Python `early_stopping` callback with several metrics: stop
/// when any metric has gone `rounds` rounds without a strict improvement
/// (checked in metric order), best round and scores from that metric; at the
/// last round, the first metric's best.
pub struct EarlyStopping {
    /// Rounds without a strict improvement that stop training.
    pub rounds: usize,
    /// Per metric, whether larger is better.
    pub greater_is_better: [bool; 2],
    /// Per metric, its best round so far (0-based), its score then and
    /// both metrics' scores then.
    pub best: [Option<(usize, f64, [f64; 2])>; 2],
}

impl EarlyStopping {
    /// Feeds round `iter` (0-based); returns the (best round, scores) to stop at.
    pub fn check(
        &mut self,
        iter: usize,
        last_iter: usize,
        scores: [f64; 2],
    ) -> Option<(usize, [f64; 2])> {
        self.check_metric(iter, last_iter, scores)
            .map(|(_, best_iter, best_scores)| (best_iter, best_scores))
    }

    /// [`check`](Self::check), also saying which metric (index into
    /// [`STOPPING_METRICS`]) ended training.
    fn check_metric(
        &mut self,
        iter: usize,
        last_iter: usize,
        scores: [f64; 2],
    ) -> Option<(usize, usize, [f64; 2])> {
        for m in 0..2 {
            let improved = match self.best[m] {
                None => true,
                Some((_, best, _)) if self.greater_is_better[m] => scores[m] > best,
                Some((_, best, _)) => scores[m] < best,
            };
            if improved {
                self.best[m] = Some((iter, scores[m], scores));
            }
            let (best_iter, _, best_scores) = self.best[m]?;
            if iter - best_iter >= self.rounds || iter == last_iter {
                return Some((m, best_iter, best_scores));
            }
        }
        None
    }
}

/// Why a record's best round is the one kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BestRoundChoice {
    /// `metric` went `rounds` rounds without improving, which stopped
    /// training; the best round is that metric's best.
    EarlyStopping {
        /// The metric, rmse or weighted correlation.
        metric: &'static str,
        /// Rounds without improvement that stop training.
        rounds: usize,
    },
    /// Every round was trained without a metric stalling long enough; the
    /// best round is `metric`'s best (LightGBM's rule: the first metric).
    LastRound {
        /// The metric, rmse or weighted correlation.
        metric: &'static str,
    },
    /// Early stopping was off: the last round is kept.
    NoEarlyStopping,
    /// The per-round metrics do not lead to the recorded best round under
    /// the recorded parameters (a record edited or made another way).
    Unknown,
}

/// Replays early stopping on `history`'s per-round metrics with its own
/// parameters: a record holds both metrics at the best round, so only the
/// replay tells which of them chose it.
pub fn best_round_choice(history: &TrainingHistory) -> BestRoundChoice {
    let (rmse, wcorr) = (&history.evals.rmse, &history.evals.eval_wcorr);
    let rounds = history.params.early_stopping_rounds;
    let trained = rmse.len();
    if trained == 0 || wcorr.len() != trained {
        return BestRoundChoice::Unknown;
    }
    if rounds == 0 {
        return if history.best_iteration == trained {
            BestRoundChoice::NoEarlyStopping
        } else {
            BestRoundChoice::Unknown
        };
    }
    let mut stopper = EarlyStopping {
        rounds,
        greater_is_better: [false, true],
        best: [None, None],
    };
    let last_iter = history.params.n_estimators.saturating_sub(1);
    for iter in 0..trained {
        let Some((m, best_iter, _)) =
            stopper.check_metric(iter, last_iter, [rmse[iter], wcorr[iter]])
        else {
            continue;
        };
        // Training ends where the stopper stops: rounds recorded after
        // that, or a different best round, mean another rule made this record.
        if iter + 1 != trained || best_iter + 1 != history.best_iteration {
            return BestRoundChoice::Unknown;
        }
        let metric = STOPPING_METRICS[m];
        return if iter - best_iter >= rounds {
            BestRoundChoice::EarlyStopping { metric, rounds }
        } else {
            BestRoundChoice::LastRound { metric }
        };
    }
    BestRoundChoice::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stopper(rounds: usize) -> EarlyStopping {
        EarlyStopping {
            rounds,
            greater_is_better: [false, true],
            best: [None, None],
        }
    }

    #[test]
    fn stops_on_first_metric_without_improvement() {
        let mut s = stopper(2);
        assert_eq!(s.check(0, 9, [1.0, 0.1]), None);
        assert_eq!(s.check(1, 9, [1.0, 0.2]), None); // rmse not strictly better
        assert_eq!(s.check(2, 9, [1.1, 0.3]), Some((0, [1.0, 0.1])));
    }

    #[test]
    fn stops_on_second_metric_with_its_best() {
        let mut s = stopper(2);
        assert_eq!(s.check(0, 9, [1.0, 0.5]), None);
        assert_eq!(s.check(1, 9, [0.9, 0.4]), None);
        assert_eq!(s.check(2, 9, [0.8, 0.4]), Some((0, [1.0, 0.5])));
    }

    #[test]
    fn last_round_reports_first_metric_best() {
        let mut s = stopper(5);
        assert_eq!(s.check(0, 2, [1.0, 0.1]), None);
        assert_eq!(s.check(1, 2, [0.9, 0.0]), None);
        assert_eq!(s.check(2, 2, [0.95, 0.3]), Some((1, [0.9, 0.0])));
    }

    fn history(
        rmse: Vec<f64>,
        wcorr: Vec<f64>,
        best: usize,
        n_estimators: usize,
    ) -> TrainingHistory {
        TrainingHistory {
            best_iteration: best,
            rmse: rmse[best - 1],
            weighted_correlation: wcorr[best - 1],
            evals: crate::contract::Evals {
                rmse,
                eval_wcorr: wcorr,
            },
            stopped_early: true,
            train_rows: 10,
            valid_rows: 10,
            params: crate::model_params::ModelParams {
                early_stopping_rounds: 2,
                n_estimators,
                ..Default::default()
            },
            custom_feval: false,
            first_valid_timestamp: None,
            rows_without_target: 0,
        }
    }

    #[test]
    fn replay_names_the_metric_that_stalled() {
        // rmse is best in the first round and then stalls; wcorr keeps rising.
        let h = history(vec![1.0, 1.1, 1.2], vec![0.1, 0.2, 0.3], 1, 9);
        assert_eq!(
            best_round_choice(&h),
            BestRoundChoice::EarlyStopping {
                metric: "rmse",
                rounds: 2
            }
        );
        // rmse keeps falling, wcorr is best in the first round.
        let h = history(vec![1.0, 0.9, 0.8], vec![0.5, 0.4, 0.4], 1, 9);
        assert_eq!(
            best_round_choice(&h),
            BestRoundChoice::EarlyStopping {
                metric: "weighted correlation",
                rounds: 2
            }
        );
    }

    #[test]
    fn replay_tells_last_round_and_inconsistent_records() {
        let h = history(vec![1.0, 0.9, 0.95], vec![0.1, 0.0, 0.3], 2, 3);
        assert_eq!(
            best_round_choice(&h),
            BestRoundChoice::LastRound { metric: "rmse" }
        );
        // The same rounds with another best round recorded.
        let h = history(vec![1.0, 0.9, 0.95], vec![0.1, 0.0, 0.3], 3, 3);
        assert_eq!(best_round_choice(&h), BestRoundChoice::Unknown);
        // Rounds go on after the stopper would have stopped.
        let h = history(vec![1.0, 1.1, 1.2, 1.3], vec![0.1, 0.2, 0.3, 0.4], 1, 9);
        assert_eq!(best_round_choice(&h), BestRoundChoice::Unknown);
        let mut h = history(vec![1.0, 0.9], vec![0.1, 0.2], 2, 2);
        h.params.early_stopping_rounds = 0;
        assert_eq!(best_round_choice(&h), BestRoundChoice::NoEarlyStopping);
    }
}
