//! The lab's charts, drawn with plotters: one definition serves the notebook
//! (inline SVG), `crypto-lab plot` (PNG and SVG files) and the KFP UI
//! (evaluation-result's HTML artifact).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::chart::MeshStyle;
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use polars::prelude::DataFrame;

use crate::artifact::{
    for_each_parquet_slice, parquet_rows, read_json, replace_atomically, write_bytes,
};
use crate::columns::F64Pieces;
use crate::error::{Error, Result};
use crate::stages::files;
use crate::stages::modeling::{FeatureImportance, TrainingHistory, ValidPredictions};

pub mod style;
pub mod ticks;

use ticks::Ticks;

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
/// Features whose distributions are drawn.
pub const DISTRIBUTION_FEATURES: [&str; 4] = ["RSI_30", "return_30", "sma_30", "HL"];

/// Where chart text comes from when neither environment variable below
/// says otherwise, in order.
const FONT_CANDIDATES: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
];

/// A font file to try before the built-in list.
pub const FONT_ENV: &str = "CRYPTO_LAB_FONT";
/// Font files (separated like PATH) that replace the built-in list; empty
/// means none. For systems that keep fonts elsewhere, and for tests that
/// need a machine without a font.
pub const FONT_SEARCH_ENV: &str = "CRYPTO_LAB_FONT_SEARCH";
/// What to do when no font is found.
pub const FONT_HINT: &str =
    "install fonts-dejavu-core (Debian) or set CRYPTO_LAB_FONT=/path/to/font.ttf";

/// The font files tried for chart text, in order: `font` (the value of
/// [`FONT_ENV`]), then `search` (the value of [`FONT_SEARCH_ENV`]) or, when
/// that is unset, the places Linux distributions and macOS put DejaVu Sans
/// or Arial Unicode.
pub fn font_candidates(font: Option<&str>, search: Option<&str>) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = font
        .filter(|f| !f.is_empty())
        .map(PathBuf::from)
        .into_iter()
        .collect();
    match search {
        Some(list) => {
            paths.extend(std::env::split_paths(list).filter(|p| !p.as_os_str().is_empty()))
        }
        None => paths.extend(FONT_CANDIDATES.iter().map(PathBuf::from)),
    }
    paths
}

/// The candidates named by this process's environment.
fn process_font_candidates() -> Vec<PathBuf> {
    let font = std::env::var(FONT_ENV).ok();
    let search = std::env::var(FONT_SEARCH_ENV).ok();
    font_candidates(font.as_deref(), search.as_deref())
}

/// Whether `bytes` start like a TrueType, OpenType or collection file (the
/// formats ab_glyph reads); a cheap test that skips HTML error pages and
/// empty files without parsing a whole font.
fn looks_like_font(bytes: &[u8]) -> bool {
    matches!(
        bytes.get(..4),
        Some(b"\x00\x01\x00\x00" | b"true" | b"OTTO" | b"ttcf")
    )
}

/// The first of `candidates` that is a readable font file.
pub fn find_font_in(candidates: &[PathBuf]) -> Option<PathBuf> {
    candidates.iter().find(|p| is_font_file(p)).cloned()
}

/// The font chart text will use, as [`ensure_font`] looks for it (reads
/// only the first bytes of each candidate; registers nothing).
pub fn find_font() -> Option<PathBuf> {
    find_font_in(&process_font_candidates())
}

fn is_font_file(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| looks_like_font(&head))
}

/// Registers a TrueType font for chart text once per process: the first of
/// [`font_candidates`] that loads.
pub fn ensure_font() -> Result<()> {
    static FONT: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    FONT.get_or_init(|| {
        for path in process_font_candidates() {
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            if !looks_like_font(&bytes) {
                continue;
            }
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                return Ok(());
            }
        }
        Err(format!("no TrueType font for chart text: {FONT_HINT}"))
    })
    .clone()
    .map_err(Error::BadArgument)
}

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
    PredictedVsActual(Vec<(f64, f64)>),
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

/// Bins of a feature histogram.
const HISTOGRAM_BINS: usize = 40;

/// A feature's histogram: counted once, so a chart holds 40 numbers, not
/// the column.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// Feature name.
    pub name: String,
    /// Left edge of the first bin.
    pub lo: f64,
    /// Bin width.
    pub width: f64,
    /// Values per bin.
    pub counts: Vec<u32>,
}

impl Histogram {
    /// The histogram of `values`, leaving out the missing values the lab
    /// filled with 0 (and anything not finite), which would hide the shape.
    pub fn of(name: &str, values: &F64Pieces) -> Histogram {
        let (lo, hi) = finite_range(values.iter().filter(|v| Self::kept(*v)));
        let mut h = Histogram::spanning(name, lo, hi);
        h.add(values);
        h
    }

    /// The histogram of a column of a Parquet file, read a slice of rows at
    /// a time (two passes: range, then counts).
    pub fn of_file(name: &str, path: &Path, made_by: &str) -> Result<Histogram> {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for_each_slice(path, made_by, &[name], |df| {
            for v in F64Pieces::of(df, name, path)?
                .iter()
                .filter(|v| Self::kept(*v))
            {
                lo = lo.min(v);
                hi = hi.max(v);
            }
            Ok(())
        })?;
        let (lo, hi) = padded_range(lo, hi);
        let mut h = Histogram::spanning(name, lo, hi);
        for_each_slice(path, made_by, &[name], |df| {
            h.add(&F64Pieces::of(df, name, path)?);
            Ok(())
        })?;
        Ok(h)
    }

    fn kept(v: f64) -> bool {
        v.is_finite() && v != 0.0
    }

    fn spanning(name: &str, lo: f64, hi: f64) -> Histogram {
        Histogram {
            name: name.to_string(),
            lo,
            width: (hi - lo) / HISTOGRAM_BINS as f64,
            counts: vec![0; HISTOGRAM_BINS],
        }
    }

    fn add(&mut self, values: &F64Pieces) {
        for v in values.iter().filter(|v| Self::kept(*v)) {
            let b = (((v - self.lo) / self.width) as usize).min(HISTOGRAM_BINS - 1);
            self.counts[b] += 1;
        }
    }
}

/// Rows read per pass when a chart streams a large artifact.
const ROWS_PER_PASS: usize = 1 << 18;

/// Calls `f` with `columns` of a Parquet artifact, a slice of rows at a time.
fn for_each_slice(
    path: &Path,
    made_by: &str,
    columns: &[&str],
    mut f: impl FnMut(&DataFrame) -> Result<()>,
) -> Result<()> {
    for_each_parquet_slice(path, made_by, Some(columns), ROWS_PER_PASS, |df| f(&df))
}

fn chart_err<E: std::fmt::Debug>(e: E) -> Error {
    Error::Check(format!("drawing a chart: {e:?}"))
}

fn finite_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    padded_range(lo, hi)
}

/// An axis range around `lo..=hi` (the finite extremes, or infinities when
/// there were none), with a little room on both sides.
fn padded_range(lo: f64, hi: f64) -> (f64, f64) {
    if !lo.is_finite() {
        (0.0, 1.0)
    } else if lo == hi {
        (lo - 0.5, hi + 0.5)
    } else {
        let pad = (hi - lo) * 0.03;
        (lo - pad, hi + pad)
    }
}

/// Every `thin_step(len)`-th point is drawn, at most [`MAX_POINTS`].
fn thin_step(len: usize) -> usize {
    (len / MAX_POINTS).max(1)
}

impl Chart {
    /// Price and volume of `asset_id` from `df_train`.
    pub fn price_volume(df_train: &DataFrame, asset_id: i64) -> Result<Chart> {
        Chart::price_volume_of(price_bars(df_train, asset_id)?, asset_id)
    }

    /// The price chart from (timestamp, close, volume) bars of one asset, in
    /// any order; thinned to [`MAX_BARS`].
    pub fn price_volume_of(mut bars: Vec<(i64, f64, f64)>, asset_id: i64) -> Result<Chart> {
        bars.sort_by_key(|b| b.0);
        let step = bars.len().div_ceil(MAX_BARS).max(1);
        let bars: Vec<_> = bars.into_iter().step_by(step).collect();
        if bars.is_empty() {
            return Err(Error::BadArgument(format!(
                "asset {asset_id} has no rows to draw"
            )));
        }
        Ok(Chart::PriceVolume { asset_id, bars })
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

    /// Predicted against actual Target (thinned to [`MAX_POINTS`]).
    pub fn predicted_vs_actual(pred: &[f64], actual: &[f32]) -> Chart {
        Chart::PredictedVsActual(
            pred.iter()
                .zip(actual)
                .step_by(thin_step(pred.len()))
                .map(|(p, a)| (f64::from(*a), *p))
                .collect(),
        )
    }

    /// [`Chart::predicted_vs_actual`] of modeling's `valid_predictions.parquet`,
    /// read a slice at a time.
    pub fn predicted_vs_actual_file(path: &Path) -> Result<Chart> {
        let step = thin_step(parquet_rows(path, "modeling")?);
        let mut points = Vec::new();
        let mut row = 0;
        ValidPredictions::for_each_slice(path, |pred, actual, _| {
            for (p, a) in pred.iter().zip(actual) {
                if row % step == 0 {
                    points.push((f64::from(*a), *p));
                }
                row += 1;
            }
            Ok(())
        })?;
        Ok(Chart::PredictedVsActual(points))
    }

    /// File-name stem of the chart.
    pub fn name(&self) -> String {
        match self {
            Chart::PriceVolume { asset_id, .. } => format!("price_volume_asset_{asset_id}"),
            Chart::Distributions(_) => "feature_distributions".into(),
            Chart::LearningCurves(_) => "learning_curves".into(),
            Chart::Importance(_) => "feature_importance".into(),
            Chart::PredictedVsActual(_) => "predicted_vs_actual".into(),
            Chart::Lines { .. } => "lines".into(),
        }
    }

    /// Draws on any plotters backend.
    pub fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(chart_err)?;
        match self {
            Chart::PriceVolume { asset_id, bars } => draw_price_volume(root, *asset_id, bars),
            Chart::Distributions(hists) => draw_distributions(root, hists),
            Chart::LearningCurves(h) => draw_learning_curves(root, h),
            Chart::Importance(imp) => draw_importance(root, imp),
            Chart::PredictedVsActual(points) => draw_scatter(root, points),
            Chart::Lines {
                title,
                labels,
                series,
            } => draw_lines(root, title, labels, series),
        }?;
        root.present().map_err(chart_err)
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

/// (timestamp, close, volume) of `asset_id`'s rows in a `df_train` frame.
fn price_bars(df_train: &DataFrame, asset_id: i64) -> Result<Vec<(i64, f64, f64)>> {
    let label = Path::new(files::DF_TRAIN);
    let ts = F64Pieces::of(df_train, "timestamp", label)?;
    let asset = F64Pieces::of(df_train, "Asset_ID", label)?;
    let close = F64Pieces::of(df_train, "Close", label)?;
    let volume = F64Pieces::of(df_train, "Volume", label)?;
    let wanted = asset_id as f64;
    Ok(asset
        .iter()
        .zip(ts.iter())
        .zip(close.iter().zip(volume.iter()))
        .filter(|((a, _), _)| *a == wanted)
        .map(|((_, t), (c, v))| (t as i64, c, v))
        .collect())
}

/// Space around each panel, in pixels.
const MARGIN: u32 = 10;
/// Extra space right of a panel: the last x tick label is centred on its
/// tick and would otherwise be cut at the edge.
const MARGIN_RIGHT: u32 = 28;

/// A numeric axis: its range, ticked and labelled by [`ticks`]. It is a
/// plotters coordinate itself, so every panel labels its axes the same way.
#[derive(Debug, Clone)]
struct Axis {
    range: std::ops::Range<f64>,
    ticks: Ticks,
}

impl Axis {
    /// A real-valued axis over `lo..hi`.
    fn numbers((lo, hi): (f64, f64), max_ticks: usize) -> Axis {
        Axis {
            range: lo..hi,
            ticks: ticks::numbers(lo, hi, max_ticks),
        }
    }

    /// An axis of whole numbers (rounds, counts).
    fn integers((lo, hi): (f64, f64), max_ticks: usize) -> Axis {
        Axis {
            range: lo..hi,
            ticks: ticks::integers(lo, hi, max_ticks),
        }
    }

    /// A time axis over unix seconds.
    fn dates(t0: i64, t1: i64, max_ticks: usize) -> Axis {
        let t1 = t1.max(t0 + 60);
        Axis {
            range: t0 as f64..t1 as f64,
            ticks: ticks::dates(t0, t1, max_ticks),
        }
    }
}

impl Ranged for Axis {
    type ValueType = f64;
    // Labels come from the ticks (ValueFormatter below), not Debug.
    type FormatOption = NoDefaultFormatting;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        RangedCoordf64::from(self.range.clone()).map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Grid lines only at labelled ticks: the light in-between lines
        // plotters adds turn to noise on a projector.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.values.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.range.clone()
    }
}

impl ValueFormatter<f64> for Axis {
    fn format_ext(&self, value: &f64) -> String {
        self.ticks.label(*value)
    }
}

/// A panel with two numeric axes.
struct Panel<'t> {
    /// Caption, empty for none.
    title: &'t str,
    x: Axis,
    y: Axis,
    /// Axis descriptions, empty for none.
    x_desc: &'t str,
    y_desc: &'t str,
    /// Whether the x axis is labelled (stacked panels label the lowest).
    x_labels: bool,
    /// Width of the y label area, where stacked panels must line up.
    y_area: Option<u32>,
}

type NumericChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<Axis, Axis>>;

/// Width of `text` at `px` in the chart font (estimated from its length
/// when the backend cannot measure).
fn text_width<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, text: &str, px: u32) -> u32 {
    area.estimate_text_size(text, &TextStyle::from(style::font(px)))
        .map_or(text.chars().count() as u32 * px * 6 / 10, |(w, _)| w)
}

/// Width a y axis needs for its tick labels and description.
fn y_label_area<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    longest_label: &str,
    desc: &str,
) -> u32 {
    let desc = if desc.is_empty() {
        0
    } else {
        style::AXIS_DESC_PX + 14
    };
    text_width(area, longest_label, style::TICK_PX) + 16 + desc
}

/// Height an x axis needs for its tick labels and description.
fn x_label_area(desc: &str) -> u32 {
    let desc = if desc.is_empty() {
        0
    } else {
        style::AXIS_DESC_PX + 10
    };
    style::TICK_PX + 16 + desc
}

/// Fonts and grid shared by every chart's axes.
fn styled_mesh<'m, 'a, 'b, X: Ranged, Y: Ranged, DB: DrawingBackend>(
    mesh: &'m mut MeshStyle<'a, 'b, X, Y, DB>,
) -> &'m mut MeshStyle<'a, 'b, X, Y, DB> {
    mesh.label_style(style::font(style::TICK_PX))
        .axis_desc_style(style::font(style::AXIS_DESC_PX))
        .bold_line_style(style::GRID)
        .light_line_style(TRANSPARENT)
}

/// Builds a numeric panel and draws its axes, labelled by [`ticks`].
fn numeric_panel<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    p: Panel,
) -> Result<NumericChart<'a, DB>> {
    let mut builder = ChartBuilder::on(area);
    if !p.title.is_empty() {
        builder.caption(p.title, style::font(style::PANEL_TITLE_PX));
    }
    builder
        .margin(MARGIN)
        .margin_right(MARGIN_RIGHT)
        .x_label_area_size(if p.x_labels {
            x_label_area(p.x_desc)
        } else {
            0
        })
        .y_label_area_size(
            p.y_area
                .unwrap_or_else(|| y_label_area(area, p.y.ticks.longest(), p.y_desc)),
        );
    let mut chart = builder.build_cartesian_2d(p.x, p.y).map_err(chart_err)?;
    let mut mesh = chart.configure_mesh();
    styled_mesh(&mut mesh);
    if !p.x_desc.is_empty() {
        mesh.x_desc(p.x_desc);
    }
    if !p.y_desc.is_empty() {
        mesh.y_desc(p.y_desc);
    }
    mesh.draw().map_err(chart_err)?;
    Ok(chart)
}

/// Draws the legend of a panel's labelled series.
fn legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut NumericChart<'a, DB>,
    position: SeriesLabelPosition,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(position)
        .label_font(style::font(style::TICK_PX))
        .background_style(WHITE.mix(0.85))
        .border_style(style::GRID)
        .draw()
        .map_err(chart_err)
}

/// A legend entry: a short line in the series' style.
fn legend_line(color: RGBColor, width: u32) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(width))
}

/// The competition's name of an asset, for titles.
fn asset_name(asset_id: i64) -> String {
    crate::synth::ASSETS
        .iter()
        .find(|a| a.id == asset_id)
        .map_or_else(|| format!("Asset {asset_id}"), |a| a.name.to_string())
}

fn draw_price_volume<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    asset_id: i64,
    bars: &[(i64, f64, f64)],
) -> Result<()> {
    let (t0, t1) = (bars[0].0, bars[bars.len() - 1].0);
    // The period goes in the title: the axis then only needs short dates.
    let title = format!(
        "{}: close and volume, {} to {} (UTC)",
        asset_name(asset_id),
        ticks::iso_date(t0),
        ticks::iso_date(t1)
    );
    let body = root
        .titled(&title, style::font(style::TITLE_PX))
        .map_err(chart_err)?;
    let (top, bottom) = body.split_vertically(body.dim_in_pixel().1 * 3 / 5);
    let price = Axis::numbers(finite_range(bars.iter().map(|b| b.1)), 6);
    let (_, vhi) = finite_range(bars.iter().map(|b| b.2));
    let volume = Axis::numbers((0.0, vhi.max(1e-9)), 3);
    let (price_desc, volume_desc) = ("Close (USD)", "Volume");
    // Both panels get the wider label area, so their time axes line up.
    let y_area = y_label_area(&top, price.ticks.longest(), price_desc).max(y_label_area(
        &bottom,
        volume.ticks.longest(),
        volume_desc,
    ));
    let mut chart = numeric_panel(
        &top,
        Panel {
            title: "",
            x: Axis::dates(t0, t1, 8),
            y: price,
            x_desc: "",
            y_desc: price_desc,
            x_labels: false,
            y_area: Some(y_area),
        },
    )?;
    chart
        .draw_series(LineSeries::new(
            // Thin: two thousand bars side by side make a band already,
            // and a wider pen smears it.
            bars.iter().map(|b| (b.0 as f64, b.1)),
            style::BLUE.stroke_width(1),
        ))
        .map_err(chart_err)?;
    let mut vol = numeric_panel(
        &bottom,
        Panel {
            title: "",
            x: Axis::dates(t0, t1, 8),
            y: volume,
            x_desc: "",
            y_desc: volume_desc,
            x_labels: true,
            y_area: Some(y_area),
        },
    )?;
    vol.draw_series(bars.iter().filter(|b| b.2.is_finite()).map(|b| {
        let t = b.0 as f64;
        PathElement::new(vec![(t, 0.0), (t, b.2)], style::GREEN)
    }))
    .map_err(chart_err)?;
    Ok(())
}

fn draw_distributions<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    hists: &[Histogram],
) -> Result<()> {
    let body = root
        .titled(
            "Feature distributions (missing values left out)",
            style::font(style::TITLE_PX),
        )
        .map_err(chart_err)?;
    let rows = hists.len().max(1).div_ceil(2);
    let areas = body.split_evenly((rows, 2));
    for (h, area) in hists.iter().zip(areas.iter()) {
        let (lo, width) = (h.lo, h.width);
        let hi = lo + width * h.counts.len() as f64;
        let top = f64::from(h.counts.iter().copied().max().unwrap_or(1).max(1));
        let mut chart = numeric_panel(
            area,
            Panel {
                title: &h.name,
                x: Axis::numbers((lo, hi), 5),
                y: Axis::integers((0.0, top * 1.1), 5),
                x_desc: "",
                y_desc: "rows",
                x_labels: true,
                y_area: None,
            },
        )?;
        chart
            .draw_series(h.counts.iter().enumerate().map(|(i, c)| {
                let x0 = lo + width * i as f64;
                Rectangle::new(
                    [(x0, 0.0), (x0 + width, f64::from(*c))],
                    style::BLUE.filled(),
                )
            }))
            .map_err(chart_err)?;
    }
    Ok(())
}

fn draw_learning_curves<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    h: &TrainingHistory,
) -> Result<()> {
    let (left, right) = root.split_horizontally(root.dim_in_pixel().0 / 2);
    let best = h.best_iteration as f64;
    for (area, title, values, color, corner) in [
        (
            &left,
            "Validation RMSE (lower is better)",
            &h.evals.rmse,
            style::VERMILLION,
            SeriesLabelPosition::UpperRight,
        ),
        (
            &right,
            "Validation weighted correlation",
            &h.evals.eval_wcorr,
            style::BLUE,
            SeriesLabelPosition::LowerRight,
        ),
    ] {
        let rounds = (values.len() as f64).max(2.0);
        let (lo, hi) = finite_range(values.iter().copied());
        let mut chart = numeric_panel(
            area,
            Panel {
                title,
                x: Axis::integers((1.0, rounds), 6),
                y: Axis::numbers((lo, hi), 6),
                x_desc: "boosting round",
                y_desc: "",
                x_labels: true,
                y_area: None,
            },
        )?;
        chart
            .draw_series(LineSeries::new(
                values.iter().enumerate().map(|(i, v)| ((i + 1) as f64, *v)),
                color.stroke_width(3),
            ))
            .map_err(chart_err)?;
        chart
            .draw_series(DashedLineSeries::new(
                [(best, lo), (best, hi)],
                10,
                6,
                style::BLACK.stroke_width(2),
            ))
            .map_err(chart_err)?
            .label(format!("best round {}", h.best_iteration))
            .legend(legend_line(style::BLACK, 2));
        legend(&mut chart, corner)?;
    }
    Ok(())
}

fn draw_importance<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    imp: &FeatureImportance,
) -> Result<()> {
    let mut rows: Vec<(&str, f64)> = imp
        .feature
        .iter()
        .map(String::as_str)
        .zip(imp.gain.iter().copied())
        .collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    rows.truncate(15);
    let top = rows.first().map_or(1.0, |r| r.1).max(1e-12);
    let n = rows.len();
    let gain = Axis::numbers((0.0, top * 1.05), 6);
    let names: Vec<String> = rows.iter().map(|r| r.0.to_string()).collect();
    let longest = names
        .iter()
        .max_by_key(|n| n.chars().count())
        .map_or("", String::as_str);
    let mut chart = ChartBuilder::on(root)
        .caption(
            "Feature importance (total gain of the model's splits)",
            style::font(style::TITLE_PX),
        )
        .margin(MARGIN)
        .margin_right(MARGIN_RIGHT)
        .x_label_area_size(x_label_area("gain"))
        .y_label_area_size(y_label_area(root, longest, ""))
        // A usize range includes its end, so 0..n - 1 holds the n rows
        // (0..n would leave an empty row on top); one row keeps 0..1, as
        // a range of one value has no length to map.
        .build_cartesian_2d(gain, (0..n.saturating_sub(1).max(1)).into_segmented())
        .map_err(chart_err)?;
    // Largest first, read from the top.
    let y_label = |y: &SegmentValue<usize>| match y {
        SegmentValue::CenterOf(i) => (n - 1)
            .checked_sub(*i)
            .and_then(|k| names.get(k))
            .cloned()
            .unwrap_or_default(),
        _ => String::new(),
    };
    let mut mesh = chart.configure_mesh();
    styled_mesh(&mut mesh)
        .disable_y_mesh()
        .y_labels(n)
        .y_label_formatter(&y_label)
        .x_desc("gain")
        .draw()
        .map_err(chart_err)?;
    chart
        .draw_series(rows.iter().enumerate().map(|(i, (_, g))| {
            let y = n - 1 - i;
            let mut bar = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(y)),
                    (*g, SegmentValue::Exact(y + 1)),
                ],
                style::BLUE.filled(),
            );
            // A gap between bars, so neighbouring features read apart.
            bar.set_margin(3, 3, 0, 0);
            bar
        }))
        .map_err(chart_err)?;
    Ok(())
}

fn draw_scatter<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    points: &[(f64, f64)],
) -> Result<()> {
    let body = root
        .titled(
            "Validation rows: predicted against actual Target",
            style::font(style::TITLE_PX),
        )
        .map_err(chart_err)?;
    let mut chart = numeric_panel(
        &body,
        Panel {
            title: "",
            x: Axis::numbers(finite_range(points.iter().map(|p| p.0)), 8),
            y: Axis::numbers(finite_range(points.iter().map(|p| p.1)), 6),
            x_desc: "actual Target",
            y_desc: "predicted Target",
            x_labels: true,
            y_area: None,
        },
    )?;
    chart
        .draw_series(
            points
                .iter()
                .map(|p| Circle::new(*p, 3, style::BLUE.mix(0.35).filled())),
        )
        .map_err(chart_err)?;
    Ok(())
}

fn draw_lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    labels: &(String, String),
    series: &[(String, Vec<(f64, f64)>)],
) -> Result<()> {
    let body = root
        .titled(title, style::font(style::TITLE_PX))
        .map_err(chart_err)?;
    let (xlo, xhi) = finite_range(series.iter().flat_map(|s| s.1.iter().map(|p| p.0)));
    let (_, yhi) = finite_range(series.iter().flat_map(|s| s.1.iter().map(|p| p.1)));
    let mut chart = numeric_panel(
        &body,
        Panel {
            title: "",
            x: Axis::numbers((xlo.min(0.0), xhi), 8),
            y: Axis::numbers((0.0, yhi), 6),
            x_desc: &labels.0,
            y_desc: &labels.1,
            x_labels: true,
            y_area: None,
        },
    )?;
    for (i, (name, points)) in series.iter().enumerate() {
        let color = style::series(i);
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(3),
            ))
            .map_err(chart_err)?
            .label(name.as_str())
            .legend(legend_line(color, 3));
        chart
            .draw_series(points.iter().map(|p| Circle::new(*p, 4, color.filled())))
            .map_err(chart_err)?;
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)
}

/// What the five lab charts are drawn from besides the data path.
pub struct ChartInputs<'a> {
    /// The lab's data path: the price chart reads `df_train.parquet`, the
    /// distributions `merge_feature_df.parquet`, the last chart
    /// `valid_predictions.parquet`.
    pub data_path: &'a Path,
    /// Asset of the price chart.
    pub asset_id: i64,
    /// modeling's record.
    pub history: &'a TrainingHistory,
    /// modeling's importance.
    pub importance: &'a FeatureImportance,
}

/// The five lab charts. The large artifacts are read a slice of rows at a
/// time: a chart needs one asset's bars, a histogram or a thinned sample,
/// never a whole frame.
pub fn charts(inputs: &ChartInputs) -> Result<Vec<Chart>> {
    let train = inputs.data_path.join(files::DF_TRAIN);
    // A first pass counts the asset's bars and checks they are in time
    // order (as load_data leaves them); then only the bars the chart
    // draws are kept, the same ones price_volume_of would pick.
    let (mut count, mut sorted, mut last) = (0usize, true, i64::MIN);
    let wanted = inputs.asset_id as f64;
    for_each_slice(&train, "load-data", &["timestamp", "Asset_ID"], |df| {
        let ts = F64Pieces::of(df, "timestamp", &train)?;
        let asset = F64Pieces::of(df, "Asset_ID", &train)?;
        for (t, a) in ts.iter().zip(asset.iter()) {
            if a == wanted {
                count += 1;
                sorted &= t as i64 >= last;
                last = t as i64;
            }
        }
        Ok(())
    })?;
    let step = if sorted {
        count.div_ceil(MAX_BARS).max(1)
    } else {
        1
    };
    let (mut bars, mut k) = (Vec::new(), 0usize);
    for_each_slice(
        &train,
        "load-data",
        &["timestamp", "Asset_ID", "Close", "Volume"],
        |df| {
            for bar in price_bars(df, inputs.asset_id)? {
                if k % step == 0 {
                    bars.push(bar);
                }
                k += 1;
            }
            Ok(())
        },
    )?;
    let merged = inputs.data_path.join(files::MERGE_FEATURE_DF);
    let hists = DISTRIBUTION_FEATURES
        .iter()
        .map(|f| Histogram::of_file(f, &merged, "merge-assets-features"))
        .collect::<Result<Vec<_>>>()?;
    Ok(vec![
        Chart::price_volume_of(bars, inputs.asset_id)?,
        Chart::Distributions(hists),
        Chart::learning_curves(inputs.history),
        Chart::importance(inputs.importance),
        Chart::predicted_vs_actual_file(&inputs.data_path.join(files::VALID_PREDICTIONS))?,
    ])
}

/// The five lab charts from the artifacts in `data_path`.
pub fn lab_charts(data_path: &Path, asset_id: i64) -> Result<Vec<Chart>> {
    let history: TrainingHistory = read_json(&data_path.join(files::HISTORY), "modeling")?;
    let importance: FeatureImportance =
        read_json(&data_path.join(files::FEATURE_IMPORTANCE), "modeling")?;
    charts(&ChartInputs {
        data_path,
        asset_id,
        history: &history,
        importance: &importance,
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::columns::col;

    #[test]
    fn histogram_leaves_out_filled_zeros_and_keeps_every_value() {
        let df = DataFrame::new_infer_height(vec![col(
            "x",
            vec![0.0, 1.0, 2.0, 2.0, 3.0, f64::NAN, f64::INFINITY, 0.0],
        )])
        .expect("frame");
        let h = Histogram::of("x", &F64Pieces::of(&df, "x", Path::new("f")).expect("col"));
        assert_eq!(h.counts.len(), HISTOGRAM_BINS);
        assert_eq!(h.counts.iter().sum::<u32>(), 4);
        assert!(h.lo < 1.0 && h.lo + h.width * HISTOGRAM_BINS as f64 > 3.0);
        let bin_of = |v: f64| ((v - h.lo) / h.width) as usize;
        assert_eq!(h.counts[bin_of(2.0)], 2);
        assert_eq!(h.counts[bin_of(1.0)], 1);
    }
}
