//! Synthetic competition data: `train.csv` and `asset_details.csv` in the
//! exact Kaggle schema and row order, so the whole lab runs without a Kaggle
//! account.
//!
//! What it models, per asset, on a one-minute grid:
//! - log price `x` driven by a shared market factor (correlation 0.6) plus
//!   its own noise, with volatility of the asset's order of magnitude;
//! - **the planted signal**: `x` is pulled back towards its own 60-minute
//!   EMA at rate `MEAN_REVERSION` per minute. Stretched prices tend to
//!   come back, so features such as `sma_30`, `DEMA_30` and `return_30`
//!   predict the 15-minute Target; the model finds a positive weighted
//!   correlation on validation rows;
//! - the quirks of the real files: assets that start late, missing minutes
//!   and longer outages, flat bars (High == Low, Open == Close), zero volume
//!   with `inf` VWAP, missing VWAP, and missing Target where it cannot be
//!   computed;
//! - Target exactly as the competition defines it: `R = ln(Close(t+16) /
//!   Close(t+1))`, market `M` = Weight-weighted mean of the assets' `R`,
//!   `beta = mean(M*R) / mean(M^2)` over the minutes of the last 3750 where
//!   both are known, 0 until at least half of them are,
//!   `Target = R - beta*M`.

use std::io::Write;
use std::path::Path;

use rayon::prelude::*;

use crate::artifact::{ensure_writable_dir, write_atomic, write_bytes};
use crate::calendar::days_from_civil;
use crate::error::{Error, Result};
use crate::files;
use crate::progress::Progress;
use crate::rng::Rng;

/// Per-minute pull of log price towards its 60-minute EMA (the planted signal).
pub const MEAN_REVERSION: f64 = 0.015;
/// Minutes in the rolling beta of the competition's Target.
pub const BETA_WINDOW: usize = 3750;
/// Known minutes the beta window needs before beta is defined (0 before).
/// Half the window: the competition's full-window rule would leave beta
/// undefined around every missing minute.
pub const BETA_MIN_MINUTES: usize = BETA_WINDOW / 2;

/// One competition asset.
pub struct AssetSpec {
    /// Asset_ID.
    pub id: i64,
    /// Asset_Name in `asset_details.csv`.
    pub name: &'static str,
    /// Competition weight.
    pub weight: f64,
    /// Price at the start of the range.
    pub price: f64,
    /// Volatility per minute (log).
    pub vol: f64,
    /// Share of the range before the asset starts trading.
    pub late_start: f64,
}

/// The 14 competition assets, in `asset_details.csv` order.
pub const ASSETS: [AssetSpec; 14] = [
    AssetSpec {
        id: 2,
        name: "Bitcoin Cash",
        weight: 2.397895272798371,
        price: 500.0,
        vol: 0.0016,
        late_start: 0.0,
    },
    AssetSpec {
        id: 0,
        name: "Binance Coin",
        weight: 4.30406509320417,
        price: 300.0,
        vol: 0.0015,
        late_start: 0.0,
    },
    AssetSpec {
        id: 1,
        name: "Bitcoin",
        weight: 6.779921907472252,
        price: 40000.0,
        vol: 0.0010,
        late_start: 0.0,
    },
    AssetSpec {
        id: 5,
        name: "EOS.IO",
        weight: 1.3862943611198906,
        price: 4.0,
        vol: 0.0017,
        late_start: 0.0,
    },
    AssetSpec {
        id: 7,
        name: "Ethereum Classic",
        weight: 2.0794415416798357,
        price: 40.0,
        vol: 0.0018,
        late_start: 0.0,
    },
    AssetSpec {
        id: 6,
        name: "Ethereum",
        weight: 5.8944028342648505,
        price: 2500.0,
        vol: 0.0012,
        late_start: 0.0,
    },
    AssetSpec {
        id: 9,
        name: "Litecoin",
        weight: 2.3978952727983707,
        price: 150.0,
        vol: 0.0015,
        late_start: 0.0,
    },
    AssetSpec {
        id: 11,
        name: "Monero",
        weight: 1.6094379124341005,
        price: 250.0,
        vol: 0.0016,
        late_start: 0.20,
    },
    AssetSpec {
        id: 13,
        name: "TRON",
        weight: 1.791759469228055,
        price: 0.07,
        vol: 0.0018,
        late_start: 0.25,
    },
    AssetSpec {
        id: 12,
        name: "Stellar",
        weight: 2.0794415416798357,
        price: 0.3,
        vol: 0.0017,
        late_start: 0.15,
    },
    AssetSpec {
        id: 3,
        name: "Cardano",
        weight: 4.406719247264253,
        price: 1.2,
        vol: 0.0018,
        late_start: 0.0,
    },
    AssetSpec {
        id: 8,
        name: "IOTA",
        weight: 1.0986122886681098,
        price: 1.0,
        vol: 0.0019,
        late_start: 0.25,
    },
    AssetSpec {
        id: 10,
        name: "Maker",
        weight: 1.0986122886681098,
        price: 2500.0,
        vol: 0.0019,
        late_start: 0.55,
    },
    AssetSpec {
        id: 4,
        name: "Dogecoin",
        weight: 3.555348061489414,
        price: 0.2,
        vol: 0.0022,
        late_start: 0.10,
    },
];

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthOptions {
    /// First minute (unix seconds, UTC).
    pub start: i64,
    /// End of the range (exclusive).
    pub end: i64,
    /// Seed: the same seed gives byte-identical files.
    pub seed: u64,
}

impl SynthOptions {
    /// The default: 2021-01-01 to 2021-06-01, four months of training rows and
    /// one of validation rows around the lab's 2021-05-01 split (about 2.7M
    /// rows; the whole lab runs in well under a minute on 2 cores).
    pub fn small() -> Self {
        SynthOptions {
            start: days_from_civil(2021, 1, 1) * 86_400,
            end: days_from_civil(2021, 6, 1) * 86_400,
            seed: 2022,
        }
    }

    /// The competition's size: 2018-01-01 to 2021-09-21 (about 24.2M rows).
    pub fn full() -> Self {
        SynthOptions {
            start: days_from_civil(2018, 1, 1) * 86_400,
            end: days_from_civil(2021, 9, 21) * 86_400,
            ..Self::small()
        }
    }

    fn minutes(&self) -> Result<usize> {
        let span = self
            .end
            .checked_sub(self.start)
            .filter(|&d| d > 0)
            .ok_or_else(|| {
                Error::BadArgument(format!(
                    "synthetic range is empty: end {} is not after start {}",
                    self.end, self.start
                ))
            })?;
        if self.start % 60 != 0 {
            return Err(Error::BadArgument(
                "synthetic range must start on a whole minute".into(),
            ));
        }
        let minutes = span / 60;
        if minutes > MAX_MINUTES {
            // Bytes per minute: about 14 bars of 90 bytes in train.csv, and
            // 14 simulated series of 61 bytes each in memory.
            let gb = |bytes: f64| bytes / 1e9;
            return Err(Error::BadArgument(format!(
                "synthetic range {} to {} is {minutes} minutes: about {:.0}M rows, \
                 {:.0} GB of train.csv and {:.0} GB of memory; at most {MAX_MINUTES} minutes \
                 (about 7.6 years) are made",
                crate::calendar::format_instant(self.start),
                crate::calendar::format_instant(self.end),
                minutes as f64 * 14.0 / 1e6,
                gb(minutes as f64 * 14.0 * 90.0),
                gb(minutes as f64 * (14.0 * 61.0 + 8.0)),
            )));
        }
        usize::try_from(minutes)
            .map_err(|_| Error::BadArgument(format!("{minutes} minutes: too many")))
    }
}

/// The longest synthetic range, in minutes: twice the competition's 3.7
/// years (about 56M rows, 5 GB of train.csv, 3.4 GB of memory while made).
pub const MAX_MINUTES: i64 = 4_000_000;

impl Default for SynthOptions {
    fn default() -> Self {
        Self::small()
    }
}

/// One asset's bars on the minute grid.
struct Series {
    present: Vec<bool>,
    count: Vec<u32>,
    open: Vec<f64>,
    high: Vec<f64>,
    low: Vec<f64>,
    close: Vec<f64>,
    volume: Vec<f64>,
    vwap: Vec<f64>,
    target: Vec<f64>,
}

fn simulate(spec: &AssetSpec, market: &[f64], opts: &SynthOptions) -> Series {
    let n = market.len();
    let mut rng = Rng::new(opts.seed, 1 + spec.id as u64);
    let start = (spec.late_start * n as f64) as usize;
    let alpha = 2.0 / 61.0;
    let mut x = spec.price.ln();
    let mut ema = x;
    let mut s = Series {
        present: vec![false; n],
        count: vec![0; n],
        open: vec![f64::NAN; n],
        high: vec![f64::NAN; n],
        low: vec![f64::NAN; n],
        close: vec![f64::NAN; n],
        volume: vec![f64::NAN; n],
        vwap: vec![f64::NAN; n],
        target: vec![f64::NAN; n],
    };
    let mut outage = 0usize;
    let mut prev_close = spec.price;
    for (t, &common) in market.iter().enumerate() {
        let z = 0.6 * common + 0.8 * rng.normal();
        x += -MEAN_REVERSION * (x - ema) + spec.vol * z;
        ema += alpha * (x - ema);
        let close = x.exp();
        if outage > 0 {
            outage -= 1;
        } else if rng.chance(1.0 / 20_000.0) {
            outage = 30 + (rng.uniform() * 600.0) as usize;
        }
        let missing = t < start || outage > 0 || rng.chance(0.004);
        let open = prev_close * (spec.vol * 0.05 * rng.normal()).exp();
        prev_close = close;
        if missing {
            continue;
        }
        s.present[t] = true;
        s.close[t] = close;
        if rng.chance(0.01) {
            // A flat bar: one trade.
            s.open[t] = close;
            s.high[t] = close;
            s.low[t] = close;
            s.count[t] = 1;
        } else {
            s.open[t] = open;
            s.high[t] = open.max(close) * (spec.vol * 0.3 * rng.normal().abs()).exp();
            s.low[t] = open.min(close) * (-spec.vol * 0.3 * rng.normal().abs()).exp();
            s.count[t] = 1 + (3.0 + rng.normal()).exp() as u32;
        }
        let volume = f64::from(s.count[t]) * (rng.normal()).exp() * (100.0 / close).sqrt();
        if rng.chance(0.002) {
            // Kaggle's VWAP is sum(price*volume)/volume: inf when nothing traded.
            s.volume[t] = 0.0;
            s.vwap[t] = f64::INFINITY;
        } else {
            s.volume[t] = volume;
            s.vwap[t] = if rng.chance(0.001) {
                f64::NAN
            } else {
                let mid = (s.open[t] + s.high[t] + s.low[t] + s.close[t]) / 4.0;
                mid.clamp(s.low[t], s.high[t])
            };
        }
    }
    s
}

/// The competition's Target for every asset, in place.
fn fill_targets(series: &mut [Series], weights: &[f64]) {
    let n = series.first().map_or(0, |s| s.close.len());
    let r: Vec<Vec<f64>> = series
        .par_iter()
        .map(|s| {
            (0..n)
                .map(|t| {
                    if t + 16 < n && s.present[t + 1] && s.present[t + 16] {
                        (s.close[t + 16] / s.close[t + 1]).ln()
                    } else {
                        f64::NAN
                    }
                })
                .collect()
        })
        .collect();
    let market: Vec<f64> = (0..n)
        .map(|t| {
            let (mut num, mut den) = (0.0, 0.0);
            for (ra, w) in r.iter().zip(weights) {
                if !ra[t].is_nan() {
                    num += w * ra[t];
                    den += w;
                }
            }
            if den > 0.0 {
                num / den
            } else {
                f64::NAN
            }
        })
        .collect();
    series.par_iter_mut().zip(r.par_iter()).for_each(|(s, ra)| {
        let (mut sum_mr, mut sum_mm, mut count) = (0.0, 0.0, 0usize);
        let term = |t: usize| -> Option<(f64, f64)> {
            let (m, v) = (market[t], ra[t]);
            (!m.is_nan() && !v.is_nan()).then_some((m * v, m * m))
        };
        for t in 0..n {
            if let Some((mr, mm)) = term(t) {
                sum_mr += mr;
                sum_mm += mm;
                count += 1;
            }
            if t >= BETA_WINDOW {
                if let Some((mr, mm)) = term(t - BETA_WINDOW) {
                    sum_mr -= mr;
                    sum_mm -= mm;
                    count -= 1;
                }
            }
            let beta = if count >= BETA_MIN_MINUTES && sum_mm > 0.0 {
                sum_mr / sum_mm
            } else {
                0.0
            };
            if s.present[t] {
                s.target[t] = ra[t] - beta * market[t];
            }
        }
    });
}

fn push_float(buf: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        // Kaggle leaves missing values empty.
    } else if v.is_infinite() {
        buf.extend_from_slice(if v > 0.0 { b"inf" } else { b"-inf" });
    } else if v != 0.0 && (v.abs() < 1e-4 || v.abs() >= 1e16) {
        // Python's repr switches to exponent notation here, as pandas' files do.
        let _ = write!(buf, "{v:e}");
    } else {
        let _ = write!(buf, "{v}");
    }
}

/// Generates the data and writes `train.csv` and `asset_details.csv` into
/// `data_path` (atomically). Returns the number of bar rows written.
pub fn synth(data_path: &Path, opts: &SynthOptions, progress: &dyn Progress) -> Result<usize> {
    let n = opts.minutes()?;
    ensure_writable_dir(data_path)?;
    crate::artifact::remove_stale_temps(data_path);
    // Both files appear together, then the record of what they hold.
    let writes = crate::artifact::StageWrites::begin(crate::contract::record::SYNTH);
    let _ = std::fs::remove_file(crate::contract::record::record_path(
        data_path,
        crate::contract::record::SYNTH,
    ));
    let mut market_rng = Rng::new(opts.seed, 0);
    let market: Vec<f64> = (0..n).map(|_| market_rng.normal()).collect();
    // Indexed by Asset_ID so rows come out in the file's Asset_ID order.
    let mut by_id: Vec<&AssetSpec> = ASSETS.iter().collect();
    by_id.sort_by_key(|a| a.id);
    let mut series: Vec<Series> = by_id
        .par_iter()
        .map(|spec| simulate(spec, &market, opts))
        .collect();
    let weights: Vec<f64> = by_id.iter().map(|a| a.weight).collect();
    fill_targets(&mut series, &weights);

    let mut details = String::from("Asset_ID,Weight,Asset_Name\n");
    for a in &ASSETS {
        details.push_str(&format!("{},{},{}\n", a.id, a.weight, a.name));
    }
    write_bytes(
        &data_path.join(files::ASSET_DETAILS_CSV),
        details.as_bytes(),
    )?;

    const CHUNK: usize = 4096;
    let chunks = n.div_ceil(CHUNK);
    progress.start("synth", chunks as u64);
    let mut rows = 0usize;
    let train_path = data_path.join(files::TRAIN_CSV);
    write_atomic(&train_path, |w| {
        w.write_all(b"timestamp,Asset_ID,Count,Open,High,Low,Close,Volume,VWAP,Target\n")
            .map_err(|e| Error::io(&train_path, "cannot write", e))?;
        let batch = rayon::current_num_threads().max(1) * 4;
        for first in (0..chunks).step_by(batch) {
            let parts: Vec<(Vec<u8>, usize)> = (first..(first + batch).min(chunks))
                .into_par_iter()
                .map(|c| {
                    let mut buf = Vec::with_capacity(CHUNK * 14 * 90);
                    let mut count = 0;
                    for t in c * CHUNK..((c + 1) * CHUNK).min(n) {
                        let ts = opts.start + 60 * t as i64;
                        for (id, s) in series.iter().enumerate() {
                            if !s.present[t] {
                                continue;
                            }
                            count += 1;
                            let _ = write!(buf, "{ts},{id},{},", s.count[t]);
                            for v in [
                                s.open[t],
                                s.high[t],
                                s.low[t],
                                s.close[t],
                                s.volume[t],
                                s.vwap[t],
                            ] {
                                push_float(&mut buf, v);
                                buf.push(b',');
                            }
                            push_float(&mut buf, s.target[t]);
                            buf.push(b'\n');
                        }
                    }
                    (buf, count)
                })
                .collect();
            for (buf, count) in parts {
                w.write_all(&buf)
                    .map_err(|e| Error::io(&train_path, "cannot write", e))?;
                rows += count;
                progress.advance(1);
            }
        }
        Ok(())
    })?;
    progress.finish();
    let written = writes.commit()?;
    let options = [
        ("start", crate::calendar::format_instant(opts.start)),
        ("end", crate::calendar::format_instant(opts.end)),
        ("seed", opts.seed.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    crate::contract::record::write_outputs_record(
        data_path,
        crate::contract::record::SYNTH,
        options,
        &written,
    )?;
    crate::runs::start_over(data_path)?;
    Ok(rows)
}
