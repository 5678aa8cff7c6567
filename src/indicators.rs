//! Technical indicators with the exact arithmetic of the libraries the lab
//! calls, so the features agree to the last few bits rather than "roughly".
//!
//! - [`rsi`] and [`atr`] follow TA-Lib 0.8 (`ta_RSI.c`, `ta_ATR.c`) behind the
//!   Python wrapper, which starts at the first non-NaN input.
//! - [`ewm_mean`] follows pandas' `ewm(span, adjust=False).mean()`.
//! - [`rolling_mean`] follows pandas' `rolling(n).mean()`, Kahan sums included.

/// TA-Lib's `TA_IS_ZERO_OR_NEG` threshold. TA-Lib 0.8 (PyPI `ta-lib`, the
/// fixture's reference) uses 1e-14; the lab's `talib-binary` (TA-Lib 0.4) used
/// 1e-8, which only changes RSI on series whose average moves are under 1e-8.
pub const TALIB_EPSILON: f64 = 1e-14;

fn is_zero_or_neg(v: f64) -> bool {
    v < TALIB_EPSILON
}

/// Index of the first element for which `valid` holds, as TA-Lib's Python
/// wrapper finds where to begin (`check_begidx`).
fn first_valid(len: usize, valid: impl Fn(usize) -> bool) -> usize {
    (0..len).find(|&i| valid(i)).unwrap_or(len)
}

/// TA-Lib `RSI(close, period)`: Wilder smoothing seeded by the simple mean of
/// the first `period` moves; NaN until index `begin + period`.
pub fn rsi(close: &[f64], period: usize) -> Vec<f64> {
    let n = close.len();
    let mut out = vec![f64::NAN; n];
    let begin = first_valid(n, |i| !close[i].is_nan());
    if period < 2 || begin + period >= n {
        return out;
    }
    let x = &close[begin..];
    let p = period as f64;
    // TA-Lib's step: a fall adds to the losses, anything else to the gains.
    let add = |d: f64, gain: &mut f64, loss: &mut f64| {
        if d < 0.0 {
            *loss -= d;
        } else {
            *gain += d;
        }
    };
    let mut prev = x[0];
    let (mut gain, mut loss) = (0.0, 0.0);
    for &v in &x[1..=period] {
        add(v - prev, &mut gain, &mut loss);
        prev = v;
    }
    loss /= p;
    gain /= p;
    let value = |gain: f64, loss: f64| {
        let total = gain + loss;
        if !is_zero_or_neg(total) {
            100.0 * (gain / total)
        } else {
            0.0
        }
    };
    out[begin + period] = value(gain, loss);
    for (k, &v) in x.iter().enumerate().skip(period + 1) {
        loss *= p - 1.0;
        gain *= p - 1.0;
        add(v - prev, &mut gain, &mut loss);
        prev = v;
        loss /= p;
        gain /= p;
        out[begin + k] = value(gain, loss);
    }
    out
}

/// TA-Lib `TRANGE` at `i >= 1`, with TA-Lib's comparison order (a NaN
/// candidate never replaces the running maximum).
fn true_range(high: &[f64], low: &[f64], close: &[f64], i: usize) -> f64 {
    let (h, l, prev_close) = (high[i], low[i], close[i - 1]);
    let mut greatest = h - l;
    let v2 = (prev_close - h).abs();
    if v2 > greatest {
        greatest = v2;
    }
    let v3 = (prev_close - l).abs();
    if v3 > greatest {
        greatest = v3;
    }
    greatest
}

/// TA-Lib `ATR(high, low, close, period)`: the first value (index
/// `begin + period`) is the mean of the first `period` true ranges, then
/// Wilder smoothing.
pub fn atr(high: &[f64], low: &[f64], close: &[f64], period: usize) -> Vec<f64> {
    let n = close.len();
    let mut out = vec![f64::NAN; n];
    let begin = first_valid(n, |i| {
        !(high[i].is_nan() || low[i].is_nan() || close[i].is_nan())
    });
    if period < 2 || begin + period >= n {
        return out;
    }
    let (h, l, c) = (&high[begin..], &low[begin..], &close[begin..]);
    let p = period as f64;
    let mut sum = 0.0;
    for i in 1..=period {
        sum += true_range(h, l, c, i);
    }
    let mut prev = sum / p;
    out[begin + period] = prev;
    for i in period + 1..h.len() {
        prev *= p - 1.0;
        prev += true_range(h, l, c, i);
        prev /= p;
        out[begin + i] = prev;
    }
    out
}

/// pandas `Series.ewm(span=span, adjust=False).mean()` (ignore_na=False,
/// min_periods=0), including its skip of the update when the new value
/// equals the running mean.
pub fn ewm_mean(x: &[f64], span: f64) -> Vec<f64> {
    let com = (span - 1.0) / 2.0;
    let alpha = 1.0 / (1.0 + com);
    let old_wt_factor = 1.0 - alpha;
    let new_wt = alpha;
    let mut out = Vec::with_capacity(x.len());
    let Some(&first) = x.first() else {
        return out;
    };
    let mut weighted = first;
    let mut nobs = usize::from(!first.is_nan());
    out.push(if nobs >= 1 { weighted } else { f64::NAN });
    let mut old_wt = 1.0;
    for &cur in &x[1..] {
        let is_obs = !cur.is_nan();
        nobs += usize::from(is_obs);
        if !weighted.is_nan() {
            old_wt *= old_wt_factor;
            if is_obs {
                if weighted != cur {
                    weighted = old_wt * weighted + new_wt * cur;
                    weighted /= old_wt + new_wt;
                }
                old_wt = 1.0;
            }
        } else if is_obs {
            weighted = cur;
        }
        out.push(if nobs >= 1 { weighted } else { f64::NAN });
    }
    out
}

/// The lab's DEMA: `2*EMA - EMA(EMA)` with pandas `ewm(span, adjust=False)`.
pub fn dema(close: &[f64], span: usize) -> Vec<f64> {
    let ema = ewm_mean(close, span as f64);
    let ema2 = ewm_mean(&ema, span as f64);
    ema.iter().zip(&ema2).map(|(a, b)| 2.0 * a - b).collect()
}

/// Running state of pandas' rolling mean (`add_mean`/`remove_mean`).
#[derive(Default)]
struct RollingSum {
    nobs: usize,
    sum: f64,
    neg: usize,
    comp_add: f64,
    comp_remove: f64,
    same_run: usize,
    prev: f64,
}

impl RollingSum {
    fn add(&mut self, v: f64) {
        if v.is_nan() {
            return;
        }
        self.nobs += 1;
        let y = v - self.comp_add;
        let t = self.sum + y;
        self.comp_add = t - self.sum - y;
        self.sum = t;
        if v.is_sign_negative() {
            self.neg += 1;
        }
        if v == self.prev {
            self.same_run += 1;
        } else {
            self.same_run = 1;
        }
        self.prev = v;
    }

    fn remove(&mut self, v: f64) {
        if v.is_nan() {
            return;
        }
        self.nobs -= 1;
        let y = -v - self.comp_remove;
        let t = self.sum + y;
        self.comp_remove = t - self.sum - y;
        self.sum = t;
        if v.is_sign_negative() {
            self.neg -= 1;
        }
    }

    fn mean(&self, min_periods: usize) -> f64 {
        if self.nobs < min_periods || self.nobs == 0 {
            return f64::NAN;
        }
        let result = self.sum / self.nobs as f64;
        if self.same_run >= self.nobs {
            self.prev
        } else if (self.neg == 0 && result < 0.0) || (self.neg == self.nobs && result > 0.0) {
            0.0
        } else {
            result
        }
    }
}

/// pandas `Series.rolling(window).mean()` (min_periods = window).
pub fn rolling_mean(x: &[f64], window: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.len());
    if window == 0 {
        out.resize(x.len(), f64::NAN);
        return out;
    }
    let mut state = RollingSum {
        prev: x.first().copied().unwrap_or(f64::NAN),
        ..RollingSum::default()
    };
    for i in 0..x.len() {
        if i >= window {
            state.remove(x[i - window]);
        }
        state.add(x[i]);
        out.push(state.mean(window));
    }
    out
}

/// `x / x.shift(lag) - 1`, NaN for the first `lag` rows.
pub fn pct_return(x: &[f64], lag: usize) -> Vec<f64> {
    (0..x.len())
        .map(|i| {
            if i >= lag {
                x[i] / x[i - lag] - 1.0
            } else {
                f64::NAN
            }
        })
        .collect()
}

/// numpy's `maximum`: NaN if either side is NaN (unlike `f64::max`).
pub fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a >= b {
        a
    } else {
        b
    }
}

/// numpy's `minimum`: NaN if either side is NaN (unlike `f64::min`).
pub fn nan_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a <= b {
        a
    } else {
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn rsi_by_hand() {
        // Moves: +1, +1, -1, +2, -1. Period 3: gains 2/3, losses 1/3 -> 66.67 at
        // index 3; then Wilder: gain (2/3*2+2)/3 = 10/9, loss (1/3*2)/3 = 2/9
        // -> 83.33; then gain 20/27, loss (4/9+1)/3 = 13/27 -> 60.606..
        let x = [10.0, 11.0, 12.0, 11.0, 13.0, 12.0];
        let r = rsi(&x, 3);
        assert!(r[..3].iter().all(|v| v.is_nan()));
        assert!(close(r[3], 200.0 / 3.0));
        assert!(close(r[4], 100.0 * (10.0 / 9.0) / (12.0 / 9.0)));
        assert!(close(r[5], 100.0 * 20.0 / 33.0));
    }

    #[test]
    fn rsi_flat_series_is_zero_and_leading_nan_shifts_start() {
        let r = rsi(&[5.0; 6], 3);
        assert_eq!(r[3], 0.0);
        let r = rsi(&[f64::NAN, 10.0, 11.0, 12.0, 11.0], 3);
        assert!(r[3].is_nan());
        assert!(close(r[4], 200.0 / 3.0));
    }

    #[test]
    fn atr_by_hand() {
        let h = [10.0, 12.0, 11.0, 13.0, 12.0];
        let l = [9.0, 10.0, 9.5, 10.0, 11.0];
        let c = [9.5, 11.0, 10.0, 12.0, 11.5];
        // TR1 = max(2, |9.5-12|, |9.5-10|) = 2.5; TR2 = max(1.5, 0, 1.5) = 1.5;
        // TR3 = max(3, 3, 0) = 3; TR4 = max(1, 0, 1) = 1.
        let a = atr(&h, &l, &c, 3);
        assert!(a[..3].iter().all(|v| v.is_nan()));
        assert!(close(a[3], (2.5 + 1.5 + 3.0) / 3.0));
        assert!(close(a[4], ((7.0 / 3.0) * 2.0 + 1.0) / 3.0));
    }

    #[test]
    fn ewm_matches_recursive_definition() {
        // span 3 -> alpha 0.5: y0 = 1, y1 = 2, y2 = 3, y3 = 1.5 (NaN skipped,
        // weight decays), matching pandas' adjust=False, ignore_na=False.
        let e = ewm_mean(&[1.0, 3.0, 4.0], 3.0);
        assert_eq!(e, vec![1.0, 2.0, 3.0]);
        let e = ewm_mean(&[2.0, f64::NAN, 4.0], 3.0);
        // old_wt = 0.25 after the NaN: (0.25*2 + 0.5*4) / 0.75 = 3.333..
        assert!(close(e[2], 2.5 / 0.75));
        assert_eq!(e[1], 2.0);
    }

    #[test]
    fn dema_of_constant_is_constant() {
        assert!(dema(&[7.0; 50], 30).iter().all(|&v| v == 7.0));
    }

    #[test]
    fn rolling_mean_window_and_nan() {
        let m = rolling_mean(&[1.0, 2.0, 3.0, 4.0], 2);
        assert!(m[0].is_nan());
        assert_eq!(&m[1..], &[1.5, 2.5, 3.5]);
        let m = rolling_mean(&[1.0, f64::NAN, 3.0, 4.0], 2);
        assert!(m[1].is_nan() && m[2].is_nan());
        assert_eq!(m[3], 3.5);
        // A constant window returns the value itself, not a rounded sum.
        let m = rolling_mean(&[0.1, 0.1, 0.1, 0.1], 3);
        assert_eq!(m[3], 0.1);
    }

    #[test]
    fn returns_and_nan_aware_extrema() {
        assert_eq!(pct_return(&[1.0, 2.0, 4.0], 1)[1..], [1.0, 1.0]);
        assert!(nan_max(1.0, f64::NAN).is_nan());
        assert_eq!(nan_min(1.0, 2.0), 1.0);
    }
}
