//! Rendering: every chart on any plotters backend, with the axes of
//! [`super::ticks`] and the look of [`super::style`]. The shared pieces
//! (axes, panels, legends, markers) live here; `lab` draws the lab's charts
//! and `pipeline` the pipeline's graph.

use plotters::chart::MeshStyle;
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use plotters::style::FontDesc;

use super::data::finite_range;
use super::ticks::{self, Ticks};
use super::{style, Chart, PriceNotes};
use crate::error::{Error, Result};

mod lab;
mod pipeline;

use lab::{
    draw_distributions, draw_importance, draw_learning_curves, draw_price_volume, draw_scatter,
};
use pipeline::draw_pipeline;

impl Chart {
    /// Draws on any plotters backend.
    pub fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(chart_err)?;
        match self {
            Chart::PriceVolume {
                asset_id,
                notes,
                bars,
            } => draw_price_volume(root, *asset_id, notes, bars),
            Chart::Distributions(hists) => draw_distributions(root, hists),
            Chart::LearningCurves(h) => draw_learning_curves(root, h),
            Chart::Importance(imp) => draw_importance(root, imp),
            Chart::PredictedVsActual {
                points,
                bins,
                corr,
                weighted,
            } => draw_scatter(root, points, bins, *corr, *weighted),
            Chart::Pipeline(steps) => draw_pipeline(root, steps),
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

/// The chart title's font: the title size, or smaller down to the tick
/// size when a long title (an asset's notes, a metric's name) would
/// otherwise run off the chart.
fn title_font<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, text: &str) -> FontDesc<'static> {
    let room = area.dim_in_pixel().0.saturating_sub(2 * MARGIN);
    (style::TICK_PX..=style::TITLE_PX)
        .rev()
        .find(|px| text_width(area, text, *px) <= room)
        .map_or_else(|| style::font(style::TICK_PX), style::font)
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

/// The corner of a panel (x over `x`, y over `y`) whose legend box covers
/// the fewest of `points`, so the legend sits off the data: a box of 60% of
/// the width and a fifth of the height (a two-entry legend in a half-width
/// panel), the upper corners first on a tie.
fn emptiest_corner(points: &[(f64, f64)], x: (f64, f64), y: (f64, f64)) -> SeriesLabelPosition {
    let (w, h) = ((x.1 - x.0) * 0.6, (y.1 - y.0) / 5.0);
    let covered = |x0: f64, y0: f64| {
        points
            .iter()
            .filter(|(px, py)| (x0..=x0 + w).contains(px) && (y0..=y0 + h).contains(py))
            .count()
    };
    [
        (SeriesLabelPosition::UpperLeft, x.0, y.1 - h),
        (SeriesLabelPosition::UpperRight, x.1 - w, y.1 - h),
        (SeriesLabelPosition::LowerLeft, x.0, y.0),
        (SeriesLabelPosition::LowerRight, x.1 - w, y.0),
    ]
    .into_iter()
    .min_by_key(|(_, x0, y0)| covered(*x0, *y0))
    .map_or(SeriesLabelPosition::UpperLeft, |(corner, _, _)| corner)
}

/// A legend entry: a short line in the series' style.
fn legend_line(color: RGBColor, width: u32) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(width))
}

/// How a title names an asset: its id, with its name and the data's origin
/// when known ("Asset 1 (Bitcoin, synthetic data)").
fn asset_title(asset_id: i64, notes: &PriceNotes) -> String {
    let mut about: Vec<&str> = notes.name.iter().map(String::as_str).collect();
    if notes.synthetic {
        about.push("synthetic data");
    }
    if about.is_empty() {
        format!("Asset {asset_id}")
    } else {
        format!("Asset {asset_id} ({})", about.join(", "))
    }
}

/// A dashed vertical line at `x` across a panel's whole y range.
fn vertical_marker<'a, DB: DrawingBackend + 'a>(
    chart: &mut NumericChart<'a, DB>,
    x: f64,
) -> Result<()> {
    let y = chart.y_range();
    chart
        .draw_series(DashedLineSeries::new(
            [(x, y.start), (x, y.end)],
            10,
            6,
            style::BLACK.stroke_width(2),
        ))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_legend_goes_to_the_corner_with_the_fewest_points() {
        let is = |a: SeriesLabelPosition, b: &str| format!("{a:?}") == b;
        // A rising cloud: the upper left and lower right are empty.
        let rising: Vec<(f64, f64)> = (0..=100).map(|i| (f64::from(i), f64::from(i))).collect();
        assert!(is(
            emptiest_corner(&rising, (0.0, 100.0), (0.0, 100.0)),
            "UpperLeft"
        ));
        // Points in the upper left: the other empty corner, lower right, wins.
        let mut crowded = rising.clone();
        crowded.extend((0..50).map(|i| (f64::from(i % 10), 95.0)));
        assert!(is(
            emptiest_corner(&crowded, (0.0, 100.0), (0.0, 100.0)),
            "LowerRight"
        ));
    }
}
