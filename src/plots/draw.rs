//! Rendering: every chart on any plotters backend, with the axes of
//! [`super::ticks`] and the look of [`super::style`].

use plotters::chart::MeshStyle;
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::data::finite_range;
use super::ticks::{self, Ticks};
use super::{style, Chart, Histogram};
use crate::contract::{FeatureImportance, TrainingHistory};
use crate::error::{Error, Result};

impl Chart {
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
}

fn chart_err<E: std::fmt::Debug>(e: E) -> Error {
    Error::Chart(format!("{e:?}"))
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
