//! The lab's charts: price and volume, feature distributions, learning
//! curves, importance, predicted against actual.

use plotters::coord::Shift;
use plotters::prelude::*;

use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::contract::{best_round_choice, BestRoundChoice, FeatureImportance, TrainingHistory};
use crate::error::Result;
use crate::plots::data::finite_range;
use crate::plots::ticks::{self};
use crate::plots::{style, Histogram, PriceNotes, MAX_IMPORTANCE_BARS};

use super::*;

pub(super) fn draw_price_volume<DB: DrawingBackend>(
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

pub(super) fn draw_distributions<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    hists: &[Histogram],
) -> Result<()> {
    let body = root
        .titled(
            "Feature distributions (0s left out: the lab fills missing values with 0)",
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

pub(super) fn draw_learning_curves<DB: DrawingBackend>(
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

pub(super) fn draw_importance<DB: DrawingBackend>(
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

pub(super) fn draw_scatter<DB: DrawingBackend>(
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
    let (px, py) = (
        finite_range(points.iter().map(|p| p.0)),
        finite_range(points.iter().map(|p| p.1)),
    );
    let mut chart = numeric_panel(
        &left,
        Panel {
            title: &sample,
            x: Axis::numbers(px, 5),
            y: Axis::numbers(py, 6),
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
    let drawn: Vec<(f64, f64)> = points.iter().chain(bins).copied().collect();
    legend(&mut chart, emptiest_corner(&drawn, px, py))?;
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
    // The bins and the diagonal, sampled, are what the legend must not hide.
    let diagonal = (0..=20).filter(|_| lo < hi).map(|i| {
        let v = lo + (hi - lo) * f64::from(i) / 20.0;
        (v, v)
    });
    let drawn: Vec<(f64, f64)> = bins.iter().copied().chain(diagonal).collect();
    legend(&mut zoom, emptiest_corner(&drawn, (xlo, xhi), (ylo, yhi)))
}
