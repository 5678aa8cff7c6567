//! Colours and text sizes shared by every chart.
//!
//! The colours are Okabe and Ito's palette ("Color Universal Design",
//! 2002): its eight colours stay distinguishable with the common forms of
//! colour blindness and on a washed-out projector, which plotters'
//! Palette99 and pure RED/GREEN/BLUE do not. Each kind of mark keeps its
//! colour across charts, so a class learns it once.
//!
//! Text sizes are for a chart of [`super::SIZE`] projected on a wall:
//! plotters' defaults (12 px tick labels) are unreadable from the back.

use plotters::style::{FontDesc, IntoFont, RGBColor};

/// Okabe–Ito blue: the main data series (prices, histograms, bars,
/// points, weighted correlation).
pub const BLUE: RGBColor = RGBColor(0, 114, 178);
/// Okabe–Ito vermillion: the second series (rmse, a second line).
pub const VERMILLION: RGBColor = RGBColor(213, 94, 0);
/// Okabe–Ito bluish green: volume.
pub const GREEN: RGBColor = RGBColor(0, 158, 115);
/// Okabe–Ito orange: markers such as the best round.
pub const ORANGE: RGBColor = RGBColor(230, 159, 0);
/// Okabe–Ito sky blue.
pub const SKY_BLUE: RGBColor = RGBColor(86, 180, 233);
/// Okabe–Ito reddish purple.
pub const PURPLE: RGBColor = RGBColor(204, 121, 167);
/// Okabe–Ito yellow (weak on white: last in the series order).
pub const YELLOW: RGBColor = RGBColor(240, 228, 66);
/// Okabe–Ito black.
pub const BLACK: RGBColor = RGBColor(0, 0, 0);
/// Grid lines: light enough to stay behind the data.
pub const GRID: RGBColor = RGBColor(220, 220, 220);

/// Colours of successive line series, in Okabe–Ito order with the strong
/// colours first.
pub const SERIES: [RGBColor; 8] = [
    BLUE, VERMILLION, GREEN, ORANGE, PURPLE, SKY_BLUE, BLACK, YELLOW,
];

/// The colour of series `i` (wrapping after eight).
pub fn series(i: usize) -> RGBColor {
    SERIES[i % SERIES.len()]
}

/// Chart title, in pixels.
pub const TITLE_PX: u32 = 28;
/// Title of one panel of a multi-panel chart.
pub const PANEL_TITLE_PX: u32 = 24;
/// Axis descriptions ("round", "Close (USD)").
pub const AXIS_DESC_PX: u32 = 22;
/// Tick labels and legends.
pub const TICK_PX: u32 = 20;

/// The chart font at `px` pixels.
pub fn font(px: u32) -> FontDesc<'static> {
    ("sans-serif", px).into_font()
}
