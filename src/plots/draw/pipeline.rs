//! The pipeline's graph: its steps as boxes, one under the other, chained
//! by arrows, each with the files it writes.

use plotters::coord::Shift;
use plotters::prelude::*;

use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::Result;
use crate::plots::{style, PipelineStep};

use super::*;

/// Padding inside a pipeline box, in pixels.
const BOX_PAD: i32 = 12;
/// Room between a box and the text beside it.
const BOX_TEXT_GAP: i32 = 24;
/// The shortest arrow between two boxes, in pixels.
const MIN_ARROW: i32 = 16;
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
    let n = steps.len().max(1) as i32;
    // Boxes lose vertical padding before the arrows between them get too
    // short to see (KFP's graph with DeletePVC has nine steps).
    let title = style::PANEL_TITLE_PX as i32;
    let box_h = (title + 2 * BOX_PAD * 2 / 3)
        .min(area.1 / n - MIN_ARROW - 2)
        .max(title + 6);
    let size = (name_w + 2 * BOX_PAD, box_h);
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

pub(super) fn draw_pipeline<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    steps: &[PipelineStep],
) -> Result<()> {
    // KFP's own steps come before the stages and, when the claim is
    // deleted, one after them.
    let before = steps.iter().take_while(|s| s.setup).count();
    let stages = steps.iter().filter(|s| !s.setup).count();
    let after = steps.len() - before - stages;
    let title = match after {
        0 => format!("The pipeline: {before} KFP steps, then the lab's {stages} stages"),
        n => format!(
            "The pipeline: {before} KFP steps, the lab's {stages} stages, {n} KFP step{} after",
            if n == 1 { "" } else { "s" }
        ),
    };
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
        let steps = crate::kfp::export::v2::pipeline_steps(&crate::kfp::ExportOptions::default());
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
                assert!(next - y - h >= MIN_ARROW, "no room for an arrow");
            }
        }
        let all: Vec<&str> = layout.lines.iter().flatten().map(String::as_str).collect();
        assert!(all.join(" ").contains("lgb_history.json"));
    }
}
