//! The model metrics: the lab's weighted correlation and LightGBM's rmse.

/// The lab's `weighted_correlation` feval: the Pearson correlation of
/// predictions `a` and labels `b` with weights `w`, in the lab's formula and
/// order of operations. Labels arrive as LightGBM stores them (`f32`), as in
/// Python. This function's text is also the notebook's Modeling cell (a test
/// holds the two equal).
pub fn weighted_correlation(a: &[f64], b: &[f32], w: &[f64]) -> f64 {
    // numpy's np.sum(a * w) is (0..n).map(|i| a[i] * w[i]).sum(): every
    // row's product, added up in row order
    let n = a.len();
    let sum_w: f64 = w.iter().sum();
    let mean_a = (0..n).map(|i| a[i] * w[i]).sum::<f64>() / sum_w;
    let mean_b = (0..n).map(|i| b[i] as f64 * w[i]).sum::<f64>() / sum_w;
    let var_a = (0..n).map(|i| w[i] * (a[i] - mean_a).powi(2)).sum::<f64>() / sum_w;
    let var_b = (0..n)
        .map(|i| w[i] * (b[i] as f64 - mean_b).powi(2))
        .sum::<f64>()
        / sum_w;

    let cov = (0..n).map(|i| a[i] * b[i] as f64 * w[i]).sum::<f64>() / sum_w - mean_a * mean_b;
    cov / (var_a * var_b).sqrt()
}

/// [`weighted_correlation`] over rows that arrive in parts (a file read a
/// slice at a time): every part through [`first_pass`](Self::first_pass),
/// then every part again through [`second_pass`](Self::second_pass). The
/// sums are the lab function's, in row order whatever the parts, so the
/// result is the same to the last bit (a test holds it so).
#[derive(Debug, Clone, Default)]
pub struct WeightedCorrelation {
    sum_w: f64,
    sum_aw: f64,
    sum_bw: f64,
    var_a: f64,
    var_b: f64,
    cov: f64,
}

impl WeightedCorrelation {
    /// The weighted sums of the means.
    pub fn first_pass(&mut self, a: &[f64], b: &[f32], w: &[f64]) {
        for i in 0..a.len() {
            self.sum_w += w[i];
            self.sum_aw += a[i] * w[i];
            self.sum_bw += f64::from(b[i]) * w[i];
        }
    }

    /// The weighted sums of the variances and the covariance.
    pub fn second_pass(&mut self, a: &[f64], b: &[f32], w: &[f64]) {
        let (mean_a, mean_b) = self.means();
        for i in 0..a.len() {
            let bi = f64::from(b[i]);
            let da = a[i] - mean_a;
            let db = bi - mean_b;
            self.var_a += w[i] * (da * da);
            self.var_b += w[i] * (db * db);
            self.cov += a[i] * bi * w[i];
        }
    }

    fn means(&self) -> (f64, f64) {
        (self.sum_aw / self.sum_w, self.sum_bw / self.sum_w)
    }

    /// The correlation.
    pub fn value(&self) -> f64 {
        let (mean_a, mean_b) = self.means();
        let var_a = self.var_a / self.sum_w;
        let var_b = self.var_b / self.sum_w;
        let cov = self.cov / self.sum_w - mean_a * mean_b;
        cov / (var_a * var_b).sqrt()
    }
}

/// LightGBM's `rmse` metric (unweighted): `sqrt(mean((score - label)^2))`.
pub fn rmse(scores: &[f64], labels: &[f32]) -> f64 {
    let mut r = Rmse::default();
    r.add(scores, labels);
    r.value()
}

/// [`rmse`] over rows that arrive in parts, summed in row order.
#[derive(Debug, Clone, Default)]
pub struct Rmse {
    sum: f64,
    n: usize,
}

impl Rmse {
    /// Adds a part.
    pub fn add(&mut self, scores: &[f64], labels: &[f32]) {
        for (s, l) in scores.iter().zip(labels) {
            let d = s - f64::from(*l);
            self.sum += d * d;
        }
        self.n += scores.len();
    }

    /// The rmse.
    pub fn value(&self) -> f64 {
        (self.sum / self.n as f64).sqrt()
    }
}

/// Relative difference `|a - b| / max(|a|, |b|)` (0 when both are 0).
pub fn rel_diff(a: f64, b: f64) -> f64 {
    let scale = a.abs().max(b.abs());
    if scale == 0.0 {
        0.0
    } else {
        (a - b).abs() / scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_and_inverse_correlation() {
        let a = [1.0, 2.0, 3.0, 4.0];
        let b = [2.0f32, 4.0, 6.0, 8.0];
        let w = [1.0, 2.0, 1.0, 3.0];
        assert!((weighted_correlation(&a, &b, &w) - 1.0).abs() < 1e-12);
        let b = [8.0f32, 6.0, 4.0, 2.0];
        assert!((weighted_correlation(&a, &b, &w) + 1.0).abs() < 1e-12);
    }

    #[test]
    fn parts_give_the_same_bits() {
        let a: Vec<f64> = (0..1000).map(|i| (i as f64 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.11).cos()).collect();
        let w: Vec<f64> = (0..1000).map(|i| 1.0 + (i % 7) as f64).collect();
        let mut c = WeightedCorrelation::default();
        let mut r = Rmse::default();
        for (i, j) in [(0, 333), (333, 334), (334, 1000)] {
            c.first_pass(&a[i..j], &b[i..j], &w[i..j]);
            r.add(&a[i..j], &b[i..j]);
        }
        for (i, j) in [(0, 10), (10, 1000)] {
            c.second_pass(&a[i..j], &b[i..j], &w[i..j]);
        }
        assert_eq!(
            c.value().to_bits(),
            weighted_correlation(&a, &b, &w).to_bits()
        );
        assert_eq!(r.value().to_bits(), rmse(&a, &b).to_bits());
    }

    #[test]
    fn rmse_by_hand() {
        assert!((rmse(&[1.0, 3.0], &[0.0, 0.0]) - 5.0f64.sqrt()).abs() < 1e-15);
        assert_eq!(rel_diff(0.0, 0.0), 0.0);
    }
}
