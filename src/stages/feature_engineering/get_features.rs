//! The lab's `get_features`, in the lab's shape: this function's text is
//! also the notebook's Feature Engineering cell (a test holds the two
//! equal), so what a student reads there is what every pipeline runs. Its
//! `use` lines name only what the notebook's prelude brings in.

use crate::calendar::{civil, Civil};
use crate::indicators::{atr, dema, nan_max, nan_min, pct_return, rolling_mean, rsi};
use crate::stages::feature_engineering::{AssetBars, FeatureOptions, Features};

/// The lab's `get_features(df, asset_id, train=True)`: the features of one
/// asset's bars, sorted by time.
pub fn get_features(bars: &AssetBars, opts: &FeatureOptions) -> Features {
    let (open, high, low, close) = (&bars.open, &bars.high, &bars.low, &bars.close);
    let n = bars.len();

    // train_flg splits the rows: 1 trains the model, 0 validates it
    // (from opts.valid_from, 1 May 2021, on)
    let train_flg = bars
        .timestamp
        .iter()
        .map(|&t| i64::from(t < opts.valid_from))
        .collect();
    let mut df_feat = Features::new(bars, train_flg);

    for i in [30, 120, 240] {
        // technical indicators, as TA-Lib (RSI, ATR) and pandas' ewm (DEMA) compute them
        df_feat.add(format!("RSI_{i}"), rsi(close, i));
        df_feat.add(format!("ATR_{i}"), atr(high, low, close, i));
        df_feat.add(format!("DEMA_{i}"), dema(close, i));
    }

    for i in [30, 120, 240] {
        // lag features: the moving average against the close, the return over i minutes
        let sma = rolling_mean(close, i);
        df_feat.add(format!("sma_{i}"), (0..n).map(|t| sma[t] / close[t] - 1.0));
        df_feat.add(format!("return_{i}"), pct_return(close, i));
    }

    // the candle: logs of its range, body and shadows (the log of 0 or less is
    // -inf or NaN, which become 0 at the end, as in the lab)
    df_feat.add("HL", (0..n).map(|t| (high[t] - low[t]).ln()));
    df_feat.add("OC", (0..n).map(|t| (close[t] - open[t]).ln()));
    df_feat.add(
        "lower_shadow",
        (0..n).map(|t| (nan_min(close[t], open[t]) - low[t]).ln()),
    );
    df_feat.add(
        "upper_shadow",
        (0..n).map(|t| (high[t] - nan_max(close[t], open[t])).ln()),
    );

    // datetime features, in UTC as pd.to_datetime(unit='s') gives them
    let date: Vec<Civil> = bars.timestamp.iter().map(|&t| civil(t)).collect();
    df_feat.add("Day", date.iter().map(|d| d.weekday as i32));
    df_feat.add("dayofyear", date.iter().map(|d| d.day_of_year as i32));
    df_feat.add("weekofyear", date.iter().map(|d| d.iso_week as i32));
    df_feat.add("season", date.iter().map(|d| (d.month as i32 % 12 + 3) / 3));

    // replace inf with nan, then fill nan values with 0: the Target too, as the
    // lab does, unless opts.keep_target_nan
    df_feat.replace_inf_with_nan();
    df_feat.fillna(0.0, opts.keep_target_nan);
    df_feat
}
