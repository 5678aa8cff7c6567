//! The lab's charts, drawn with plotters: one definition serves the notebook
//! (inline SVG), `crypto-lab plot` (PNG and SVG files) and the KFP UI
//! (evaluation-result's HTML artifact).
//!
//! `data` reads what a chart shows from the artifacts (a slice of rows at
//! a time), `draw` renders a [`Chart`] on any plotters backend, `font`
//! finds the TrueType font for its text, `ticks` and `style` give every
//! chart the same axes and look.

use std::path::{Path, PathBuf};

use plotters::prelude::*;
use polars::prelude::DataFrame;

use crate::artifact::{parquet_rows, replace_atomically, write_bytes};
use crate::columns::F64Pieces;
use crate::contract::{FeatureImportance, TrainingHistory, ValidPredictions};
use crate::error::{Error, Result};
use crate::files;

mod data;
mod draw;
mod font;
pub mod style;
pub(crate) mod ticks;

pub use data::{charts, lab_charts, synthetic_data, ChartInputs, Histogram, PriceNotes};
use data::{price_bars, PredictionSummary};
pub(crate) use font::{ensure_font, find_font_in, font_candidates, FONT_ENV, FONT_SEARCH_ENV};

/// Chart size in pixels: 16:9, the shape of a projector or a notebook
/// cell, and the size the PNGs are saved at.
pub const SIZE: (u32, u32) = (960, 540);
/// Validation points drawn at most in the scatter (evenly spaced).
pub const MAX_POINTS: usize = 5_000;
/// Bars drawn at most in the price chart (evenly spaced; more cannot be
/// told apart at this size and only bloat the SVG).
pub const MAX_BARS: usize = 2_000;
/// The asset whose price and volume are drawn by default (Bitcoin).
pub const PRICE_ASSET: i64 = 1;
/// Bins of the prediction in the predicted-vs-actual chart, each holding
/// about the same number of rows.
pub const PREDICTION_BINS: usize = 20;
/// Features named at most in the importance chart (more bars than this
/// cannot be labelled at [`SIZE`]).
pub const MAX_IMPORTANCE_BARS: usize = 15;
/// Features whose distributions are drawn.
pub const DISTRIBUTION_FEATURES: [&str; 4] = ["RSI_30", "return_30", "sma_30", "HL"];

/// An SVG chart; shows inline in the evcxr Jupyter kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Svg(pub String);

impl Svg {
    /// evcxr's display hook.
    pub fn evcxr_display(&self) {
        println!(
            "EVCXR_BEGIN_CONTENT image/svg+xml\n{}\nEVCXR_END_CONTENT",
            self.0
        );
    }
}

/// One of the lab's charts, with the data it needs.
#[derive(Debug, Clone)]
pub enum Chart {
    /// Close price and volume of one asset over time.
    PriceVolume {
        /// Asset shown.
        asset_id: i64,
        /// Its name, where the data came from, where validation starts.
        notes: PriceNotes,
        /// (timestamp, close, volume).
        bars: Vec<(i64, f64, f64)>,
    },
    /// Histograms of a few features.
    Distributions(Vec<Histogram>),
    /// Validation rmse and weighted correlation per round.
    LearningCurves(TrainingHistory),
    /// Gain importance per feature.
    Importance(FeatureImportance),
    /// Predicted against actual Target on validation rows.
    PredictedVsActual {
        /// (predicted, actual) of evenly spaced rows, at most about
        /// [`MAX_POINTS`].
        points: Vec<(f64, f64)>,
        /// (mean predicted, mean actual) of each prediction bin that holds
        /// rows, lowest prediction first, over every row.
        bins: Vec<(f64, f64)>,
        /// Correlation of predicted and actual over every row.
        corr: f64,
        /// Whether `corr` is weighted by the assets' weights (the lab's
        /// metric) or plain Pearson.
        weighted: bool,
    },
    /// A pipeline's steps in order, each linked to the next (the lab's:
    /// `crate::kfp::export::v2::pipeline_chart`, which knows the stages; the
    /// charts may not, as evaluation_result draws them).
    Pipeline(Vec<PipelineStep>),
    /// Named line series on shared axes (e.g. benchmark time against rows).
    Lines {
        /// Chart title.
        title: String,
        /// Axis labels (x, y).
        labels: (String, String),
        /// (legend, points) per series.
        series: Vec<(String, Vec<(f64, f64)>)>,
    },
}

/// One box of the pipeline chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineStep {
    /// The task's name as KFP shows it.
    pub name: String,
    /// What is written beside it: the files a stage writes, or what one
    /// of KFP's steps does.
    pub details: Vec<String>,
    /// Whether it is one of KFP's steps rather than a lab stage.
    pub setup: bool,
}

impl Chart {
    /// Price and volume of `asset_id` from `df_train`.
    pub fn price_volume(df_train: &DataFrame, asset_id: i64, notes: PriceNotes) -> Result<Chart> {
        Chart::price_volume_of(price_bars(df_train, asset_id)?, asset_id, notes)
    }

    /// The price chart of `asset_id` from `df_train.parquet` in `data_path`,
    /// read a slice at a time, with the notes its records give
    /// ([`PriceNotes::of_data_path`]).
    pub fn price_volume_file(data_path: &Path, asset_id: i64) -> Result<Chart> {
        data::price_chart(data_path, asset_id)
    }

    /// The price chart from (timestamp, close, volume) bars of one asset, in
    /// any order; thinned to [`MAX_BARS`].
    pub fn price_volume_of(
        mut bars: Vec<(i64, f64, f64)>,
        asset_id: i64,
        notes: PriceNotes,
    ) -> Result<Chart> {
        bars.sort_by_key(|b| b.0);
        let step = bars.len().div_ceil(MAX_BARS).max(1);
        let bars: Vec<_> = bars.into_iter().step_by(step).collect();
        if bars.is_empty() {
            return Err(Error::BadArgument(format!(
                "asset {asset_id} has no rows to draw"
            )));
        }
        Ok(Chart::PriceVolume {
            asset_id,
            notes,
            bars,
        })
    }

    /// Distributions of `features` in a feature frame.
    pub fn distributions(feature_df: &DataFrame, features: &[&str]) -> Result<Chart> {
        let label = Path::new(files::FEATURE_DF);
        let hists = features
            .iter()
            .map(|f| Ok(Histogram::of(f, &F64Pieces::of(feature_df, f, label)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Chart::Distributions(hists))
    }

    /// Learning curves from modeling's record.
    pub fn learning_curves(history: &TrainingHistory) -> Chart {
        Chart::LearningCurves(history.clone())
    }

    /// Feature importance from modeling's record.
    pub fn importance(importance: &FeatureImportance) -> Chart {
        Chart::Importance(importance.clone())
    }

    /// Predicted against actual Target (thinned to [`MAX_POINTS`]), with
    /// the plain Pearson correlation: see
    /// [`Chart::predicted_vs_actual_weighted`] for the lab's metric.
    pub fn predicted_vs_actual(pred: &[f64], actual: &[f32]) -> Chart {
        // Equal weights make the weighted correlation Pearson's.
        PredictionSummary::of(pred, actual, &vec![1.0; pred.len()], false)
    }

    /// Predicted against actual Target with the weighted correlation of
    /// every row, as the lab scores it.
    pub fn predicted_vs_actual_weighted(pred: &[f64], actual: &[f32], weight: &[f64]) -> Chart {
        PredictionSummary::of(pred, actual, weight, true)
    }

    /// [`Chart::predicted_vs_actual_weighted`] of modeling's
    /// `valid_predictions.parquet`, read a slice at a time.
    pub fn predicted_vs_actual_file(path: &Path) -> Result<Chart> {
        let mut summary = PredictionSummary::new(parquet_rows(path)?, true);
        ValidPredictions::for_each_slice(path, |pred, actual, weight| {
            summary.first_pass(pred, actual, weight);
            Ok(())
        })?;
        summary.close_first_pass();
        ValidPredictions::for_each_slice(path, |pred, actual, weight| {
            summary.second_pass(pred, actual, weight);
            Ok(())
        })?;
        Ok(summary.chart())
    }

    /// File-name stem of the chart.
    pub fn name(&self) -> String {
        match self {
            Chart::PriceVolume { asset_id, .. } => format!("price_volume_asset_{asset_id}"),
            Chart::Distributions(_) => "feature_distributions".into(),
            Chart::LearningCurves(_) => "learning_curves".into(),
            Chart::Importance(_) => "feature_importance".into(),
            Chart::PredictedVsActual { .. } => "predicted_vs_actual".into(),
            Chart::Pipeline(_) => "pipeline".into(),
            Chart::Lines { .. } => "lines".into(),
        }
    }

    /// The chart as SVG text.
    pub fn to_svg(&self) -> Result<Svg> {
        ensure_font()?;
        let mut text = String::new();
        {
            let root = SVGBackend::with_string(&mut text, SIZE).into_drawing_area();
            self.draw(&root)?;
        }
        Ok(Svg(text))
    }

    /// Writes the chart to `path`, PNG or SVG by its extension, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("svg") => write_bytes(path, self.to_svg()?.0.as_bytes()),
            Some("png") => {
                ensure_font()?;
                replace_atomically(path, |tmp| {
                    let root = BitMapBackend::new(tmp, SIZE).into_drawing_area();
                    self.draw(&root)
                })
            }
            _ => Err(Error::BadArgument(format!(
                "{}: charts are written as .png or .svg",
                path.display()
            ))),
        }
    }
}

/// Writes every chart as PNG and SVG into `dir`; returns the files.
pub fn save_all(charts: &[Chart], dir: &Path) -> Result<Vec<PathBuf>> {
    crate::artifact::ensure_writable_dir(dir)?;
    let mut written = Vec::new();
    for chart in charts {
        for ext in ["png", "svg"] {
            let path = dir.join(format!("{}.{ext}", chart.name()));
            chart.save(&path)?;
            written.push(path);
        }
    }
    Ok(written)
}
