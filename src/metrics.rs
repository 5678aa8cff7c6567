//! The model metrics: the lab's weighted correlation and LightGBM's rmse.

/// The lab's `weighted_correlation` feval: Pearson correlation of predictions
/// `a` and labels `b` with weights `w`, in the lab's formula and order of
/// operations. Labels arrive as LightGBM stores them (`f32`), as in Python.
pub fn weighted_correlation(a: &[f64], b: &[f32], w: &[f64]) -> f64 {
    let sum_w: f64 = w.iter().sum();
    let mut sum_aw = 0.0;
    let mut sum_bw = 0.0;
    for i in 0..a.len() {
        sum_aw += a[i] * w[i];
        sum_bw += f64::from(b[i]) * w[i];
    }
    let mean_a = sum_aw / sum_w;
    let mean_b = sum_bw / sum_w;
    let (mut var_a, mut var_b, mut cov) = (0.0, 0.0, 0.0);
    for i in 0..a.len() {
        let bi = f64::from(b[i]);
        let da = a[i] - mean_a;
        let db = bi - mean_b;
        var_a += w[i] * (da * da);
        var_b += w[i] * (db * db);
        cov += a[i] * bi * w[i];
    }
    let var_a = var_a / sum_w;
    let var_b = var_b / sum_w;
    let cov = cov / sum_w - mean_a * mean_b;
    cov / (var_a * var_b).sqrt()
}

/// LightGBM's `rmse` metric (unweighted): `sqrt(mean((score - label)^2))`.
pub fn rmse(scores: &[f64], labels: &[f32]) -> f64 {
    let sum: f64 = scores
        .iter()
        .zip(labels)
        .map(|(s, l)| {
            let d = s - f64::from(*l);
            d * d
        })
        .sum();
    (sum / scores.len() as f64).sqrt()
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
    fn rmse_by_hand() {
        assert!((rmse(&[1.0, 3.0], &[0.0, 0.0]) - 5.0f64.sqrt()).abs() < 1e-15);
        assert_eq!(rel_diff(0.0, 0.0), 0.0);
    }
}
