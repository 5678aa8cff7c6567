//! LightGBM's Python `early_stopping` callback, for the lab's two metrics.

/// LightGBM's Python `early_stopping` callback with several metrics: stop
/// when any metric has gone `rounds` rounds without a strict improvement
/// (checked in metric order), best round and scores from that metric; at the
/// last round, the first metric's best.
pub(super) struct EarlyStopping {
    pub(super) rounds: usize,
    pub(super) greater_is_better: [bool; 2],
    pub(super) best: [Option<(usize, f64, [f64; 2])>; 2],
}

impl EarlyStopping {
    /// Feeds round `iter` (0-based); returns the (best round, scores) to stop at.
    pub(super) fn check(
        &mut self,
        iter: usize,
        last_iter: usize,
        scores: [f64; 2],
    ) -> Option<(usize, [f64; 2])> {
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
                return Some((best_iter, best_scores));
            }
        }
        None
    }
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
}
