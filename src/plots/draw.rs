//! Rendering: every chart on any plotters backend, with the axes of
//! [`super::ticks`] and the look of [`super::style`].

use plotters::chart::MeshStyle;
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontDesc;

use super::data::finite_range;
use super::ticks::{self, Ticks};
use super::{style, Chart, Histogram, PipelineStep, PriceNotes, MAX_IMPORTANCE_BARS};
use crate::contract::{best_round_choice, BestRoundChoice, FeatureImportance, TrainingHistory};
use crate::error::{Error, Result};

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

fn draw_price_volume<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    asset_id: i64,
    notes: &PriceNotes,
    bars: &[(i64, f64, f64)],
) -> Result<()> {
    let (t0, t1) = (bars[0].0, bars[bars.len() - 1].0);
    // The period goes in the title: the axis then only needs short dates.
    let title = format!(
        "{}, {} to {} (UTC)",
        asset_title(asset_id, notes),
        ticks::iso_date(t0),
        ticks::iso_date(t1)
    );
    let body = root
        .titled(&title, title_font(root, &title))
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
    // The split is drawn only where the bars reach both sides of it.
    let split =
        (t0 < notes.valid_from && notes.valid_from <= t1).then_some(notes.valid_from as f64);
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
    if let Some(x) = split {
        vertical_marker(&mut chart, x)?;
        let label = format!("validation from {}", ticks::iso_date(notes.valid_from));
        // Beside the line, on the side with more room, so it stays inside.
        let x_range = chart.x_range();
        let right_side = x - x_range.start < (x_range.end - x_range.start) * 0.6;
        let (anchor, dx) = if right_side {
            (HPos::Left, 8)
        } else {
            (HPos::Right, -8)
        };
        let font = style::font(style::TICK_PX)
            .color(&style::BLACK)
            .pos(Pos::new(anchor, VPos::Top));
        let top_y = chart.y_range().end;
        chart
            .draw_series(std::iter::once(
                EmptyElement::at((x, top_y)) + Text::new(label, (dx, 4), font),
            ))
            .map_err(chart_err)?;
    }
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
    if let Some(x) = split {
        vertical_marker(&mut vol, x)?;
    }
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

/// What the learning curves' title says about the best round: which
/// metric chose it, replayed from the record ([`best_round_choice`]).
fn best_round_title(h: &TrainingHistory) -> String {
    let best = h.best_iteration;
    match best_round_choice(h) {
        BestRoundChoice::EarlyStopping { metric, rounds } => {
            format!("Best round {best}, chosen by {metric} (early stopping, {rounds} rounds)")
        }
        BestRoundChoice::LastRound { metric } => format!(
            "Best round {best}, chosen by {metric} (all {} rounds trained)",
            h.evals.rmse.len()
        ),
        BestRoundChoice::NoEarlyStopping => {
            format!("Best round {best}: the last (no early stopping)")
        }
        BestRoundChoice::Unknown => format!("Best round {best}"),
    }
}

fn draw_learning_curves<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    h: &TrainingHistory,
) -> Result<()> {
    let title = best_round_title(h);
    let body = root
        .titled(&title, title_font(root, &title))
        .map_err(chart_err)?;
    let (left, right) = body.split_horizontally(body.dim_in_pixel().0 / 2);
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
    let all = rows.len();
    rows.truncate(MAX_IMPORTANCE_BARS);
    let top = rows.first().map_or(1.0, |r| r.1).max(1e-12);
    let n = rows.len();
    let gain = Axis::numbers((0.0, top * 1.05), 6);
    let names: Vec<String> = rows.iter().map(|r| r.0.to_string()).collect();
    let longest = names
        .iter()
        .max_by_key(|n| n.chars().count())
        .map_or("", String::as_str);
    let title = if n == all {
        format!("Feature importance: all {all} features (total gain of their splits)")
    } else {
        format!("Feature importance: top {n} of {all} features (total gain of their splits)")
    };
    let mut chart = ChartBuilder::on(root)
        .caption(&title, title_font(root, &title))
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
    bins: &[(f64, f64)],
    corr: f64,
    weighted: bool,
) -> Result<()> {
    let corr = if corr.is_finite() {
        format!("{corr:.3}")
    } else {
        "undefined".into()
    };
    let kind = if weighted { "weighted corr" } else { "corr" };
    let title = format!("Predicted vs actual Target (validation, {kind} {corr})");
    let body = root
        .titled(&title, title_font(root, &title))
        .map_err(chart_err)?;
    let (left, right) = body.split_horizontally(body.dim_in_pixel().0 / 2);
    let bin_line = |(x, y): (i32, i32)| {
        EmptyElement::at((x, y))
            + PathElement::new(vec![(-12, 0), (12, 0)], style::VERMILLION.stroke_width(3))
            + Circle::new((0, 0), 5, style::VERMILLION.filled())
    };
    let sample = format!("{} rows, evenly spaced", points.len());
    let mut chart = numeric_panel(
        &left,
        Panel {
            title: &sample,
            x: Axis::numbers(finite_range(points.iter().map(|p| p.0)), 5),
            y: Axis::numbers(finite_range(points.iter().map(|p| p.1)), 6),
            x_desc: "predicted Target",
            y_desc: "actual Target",
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
    // The same means on the rows' scale: next to the actuals' spread they
    // look flat, which is the point the right panel then zooms into.
    chart
        .draw_series(LineSeries::new(
            bins.iter().copied(),
            style::VERMILLION.stroke_width(3),
        ))
        .map_err(chart_err)?
        .label("mean actual per bin")
        .legend(bin_line);
    legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    // Each bin's mean actual against its mean prediction, on the means' own
    // scale: the model's signal is far smaller than a row's noise.
    let (xlo, xhi) = finite_range(bins.iter().map(|b| b.0));
    let (ylo, yhi) = finite_range(bins.iter().map(|b| b.1));
    let bins_title = format!("Mean actual in {} bins of the prediction", bins.len());
    let mut zoom = numeric_panel(
        &right,
        Panel {
            title: &bins_title,
            x: Axis::numbers((xlo, xhi), 4),
            y: Axis::numbers((ylo, yhi), 6),
            x_desc: "predicted Target",
            y_desc: "mean actual Target",
            x_labels: true,
            y_area: None,
        },
    )?;
    // Where a bin's mean actual would equal its mean prediction, drawn
    // only over the values both axes show.
    let (lo, hi) = (xlo.max(ylo), xhi.min(yhi));
    if lo < hi {
        zoom.draw_series(DashedLineSeries::new(
            [(lo, lo), (hi, hi)],
            10,
            6,
            style::BLACK.stroke_width(2),
        ))
        .map_err(chart_err)?
        .label("actual = predicted")
        .legend(legend_line(style::BLACK, 2));
    }
    zoom.draw_series(LineSeries::new(
        bins.iter().copied(),
        style::VERMILLION.stroke_width(3),
    ))
    .map_err(chart_err)?
    .label("mean actual per bin")
    .legend(bin_line);
    zoom.draw_series(
        bins.iter()
            .map(|b| Circle::new(*b, 5, style::VERMILLION.filled())),
    )
    .map_err(chart_err)?;
    legend(&mut zoom, SeriesLabelPosition::UpperLeft)
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

/// Padding inside a pipeline box, in pixels.
const BOX_PAD: i32 = 12;
/// Room between a box and the text beside it.
const BOX_TEXT_GAP: i32 = 24;
/// Height of a line of text beside a box.
const LINE_H: i32 = style::TICK_PX as i32 + 4;

/// Where a pipeline chart's parts go: the steps one under the other, as
/// KFP's UI draws a graph, each box as wide as the longest name, and what
/// each step writes beside it, wrapped to the room left.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PipelineLayout {
    /// Box size.
    size: (i32, i32),
    /// Top-left corner of each box, in step order.
    corners: Vec<(i32, i32)>,
    /// Where the text beside the boxes starts.
    text_x: i32,
    /// The lines beside each box.
    lines: Vec<Vec<String>>,
}

/// What is written beside a step: the files a stage writes, or what a KFP
/// step does.
fn step_text(step: &PipelineStep) -> Vec<String> {
    let mut items = step.details.clone();
    if !step.setup {
        if let Some(first) = items.first_mut() {
            *first = format!("writes {first}");
        }
    }
    items
}

/// `items` joined by commas into lines of at most `room` pixels (an item
/// wider than that gets a line of its own).
fn wrap(items: &[String], room: i32, width: &impl Fn(&str, u32) -> i32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let item = if i + 1 < items.len() {
            format!("{item},")
        } else {
            item.clone()
        };
        match lines.last_mut() {
            Some(line) if width(&format!("{line} {item}"), style::TICK_PX) <= room => {
                line.push(' ');
                line.push_str(&item);
            }
            _ => lines.push(item),
        }
    }
    lines
}

/// Lays out `steps` in an area of `area` pixels; `width` measures a text at
/// a size.
fn pipeline_layout(
    steps: &[PipelineStep],
    area: (i32, i32),
    width: impl Fn(&str, u32) -> i32,
) -> PipelineLayout {
    let name_w = steps
        .iter()
        .map(|s| width(&s.name, style::PANEL_TITLE_PX))
        .max()
        .unwrap_or(0);
    let size = (
        name_w + 2 * BOX_PAD,
        style::PANEL_TITLE_PX as i32 + 2 * BOX_PAD * 2 / 3,
    );
    let room = area.0 - size.0 - BOX_TEXT_GAP;
    let lines: Vec<Vec<String>> = steps
        .iter()
        .map(|s| wrap(&step_text(s), room, &width))
        .collect();
    let text_w = lines
        .iter()
        .flatten()
        .map(|l| width(l, style::TICK_PX))
        .max()
        .unwrap_or(0);
    // Centred across; down the whole height, so the arrows between the
    // boxes are as long as the room allows.
    let left = ((area.0 - size.0 - BOX_TEXT_GAP - text_w) / 2).max(0);
    let n = steps.len().max(1) as i32;
    let pitch = (area.1 / n).min(size.1 * 3);
    let top = (area.1 - (n * pitch - (pitch - size.1))).max(0) / 2;
    let corners = (0..steps.len() as i32)
        .map(|i| (left, top + i * pitch))
        .collect();
    PipelineLayout {
        size,
        corners,
        text_x: left + size.0 + BOX_TEXT_GAP,
        lines,
    }
}

/// A filled arrowhead pointing down at `tip`.
fn arrowhead_down(tip: (i32, i32)) -> Polygon<(i32, i32)> {
    let (len, half) = (10, 7);
    Polygon::new(
        vec![
            tip,
            (tip.0 - half, tip.1 - len),
            (tip.0 + half, tip.1 - len),
        ],
        style::BLACK.filled(),
    )
}

fn draw_pipeline<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    steps: &[PipelineStep],
) -> Result<()> {
    let setup = steps.iter().filter(|s| s.setup).count();
    let title = format!(
        "The pipeline: {setup} KFP steps, then the lab's {} stages",
        steps.len() - setup
    );
    let body = root
        .titled(&title, title_font(root, &title))
        .map_err(chart_err)?
        .margin(0, MARGIN, MARGIN, MARGIN);
    let (bw, bh) = body.dim_in_pixel();
    let layout = pipeline_layout(steps, (bw as i32, bh as i32), |text, px| {
        text_width(&body, text, px) as i32
    });
    let (w, h) = layout.size;
    for (i, (step, &(x, y))) in steps.iter().zip(&layout.corners).enumerate() {
        let color = if step.setup {
            style::ORANGE
        } else {
            style::BLUE
        };
        body.draw(&Rectangle::new(
            [(x, y), (x + w, y + h)],
            color.mix(0.15).filled(),
        ))
        .map_err(chart_err)?;
        body.draw(&Rectangle::new(
            [(x, y), (x + w, y + h)],
            color.stroke_width(3),
        ))
        .map_err(chart_err)?;
        let centre = y + h / 2;
        let name = style::font(style::PANEL_TITLE_PX)
            .color(&style::BLACK)
            .pos(Pos::new(HPos::Left, VPos::Center));
        body.draw(&Text::new(step.name.as_str(), (x + BOX_PAD, centre), name))
            .map_err(chart_err)?;
        let lines = &layout.lines[i];
        let first = centre - lines.len() as i32 * LINE_H / 2;
        for (k, line) in lines.iter().enumerate() {
            let font = style::font(style::TICK_PX).color(&RGBColor(60, 60, 60));
            body.draw(&Text::new(
                line.as_str(),
                (layout.text_x, first + k as i32 * LINE_H + 2),
                font,
            ))
            .map_err(chart_err)?;
        }
    }
    let pen = style::BLACK.stroke_width(2);
    for pair in layout.corners.windows(2) {
        let ((x0, y0), (_, y1)) = (pair[0], pair[1]);
        let cx = x0 + w / 2;
        body.draw(&PathElement::new(vec![(cx, y0 + h), (cx, y1 - 2)], pen))
            .map_err(chart_err)?;
        body.draw(&arrowhead_down((cx, y1))).map_err(chart_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipeline_parts_fit_the_chart_and_do_not_overlap() {
        let steps = crate::kfp::v2::pipeline_steps(&crate::kfp::ExportOptions::default());
        // The body of a chart at SIZE, and a width per character wider than
        // the chart font's average, so real text fits with room to spare.
        let area = (940, 470);
        let width = |t: &str, px: u32| (t.chars().count() as u32 * px * 6 / 10) as i32;
        let layout = pipeline_layout(&steps, area, width);
        let (w, h) = layout.size;
        assert_eq!(layout.corners.len(), steps.len());
        for (i, &(x, y)) in layout.corners.iter().enumerate() {
            assert!(
                x >= 0 && y >= 0 && x + w <= area.0 && y + h <= area.1,
                "box {i} at {x},{y} size {w}x{h} leaves {area:?}"
            );
            let lines = &layout.lines[i];
            assert!(!lines.is_empty(), "{}: nothing beside it", steps[i].name);
            for line in lines {
                assert!(
                    layout.text_x + width(line, style::TICK_PX) <= area.0,
                    "{line}"
                );
            }
            // The text beside a box stays within its share of the height.
            if let Some(&(_, next)) = layout.corners.get(i + 1) {
                assert!(lines.len() as i32 * LINE_H < next - y, "{lines:?}");
                assert!(next - y - h >= 16, "no room for an arrow");
            }
        }
        let all: Vec<&str> = layout.lines.iter().flatten().map(String::as_str).collect();
        assert!(all.join(" ").contains("lgb_history.json"));
    }
}
