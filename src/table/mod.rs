//! Data frames for people to read: an HTML table for the notebook (evcxr's
//! display protocol) and plain text for a terminal, a pandas-style
//! [`describe`], and [`sample_rows`] to preview rows whose indicators have
//! warmed up.
//!
//! ```no_run
//! # fn f(df: &polars::prelude::DataFrame) -> crypto_lab::Result<()> {
//! use crypto_lab::prelude::*;
//! let preview = sample_rows(df, 3, "Asset_ID", 240)?;
//! println!("{}", Table::new(&preview).title("features after warm-up"));
//! println!("{}", Table::new(&describe(df)?));
//! # Ok(()) }
//! ```

use std::fmt;
use std::ops::Range;

use polars::prelude::*;

use crate::calendar::format_instant;
use crate::error::printable;

mod summary;

pub use summary::{describe, sample_rows};

/// Rows a [`Table`] shows unless told otherwise: enough to see the data's
/// shape, few enough that a 2.7-million-row frame renders at once.
pub const DEFAULT_ROWS: usize = 10;

/// The statistics [`describe`] computes, in pandas' order and spelling.
pub const STATISTICS: [&str; 8] = ["count", "mean", "std", "min", "25%", "50%", "75%", "max"];

/// A view of some rows of a data frame, shown as an HTML table in the
/// notebook ([`Table::evcxr_display`]) and as aligned text through
/// [`fmt::Display`].
///
/// Every column is shown; the rows are the first [`DEFAULT_ROWS`] unless
/// [`Table::rows`] or [`Table::range`] choose others. A column named
/// `timestamp` holding integers is read as unix seconds and its UTC date-time
/// is shown beside each value (turn off with [`Table::iso_timestamps`]).
#[derive(Debug, Clone)]
pub struct Table {
    // Cloning a polars frame shares its buffers, so holding the whole frame
    // is cheap and keeps the true shape for the caption.
    df: DataFrame,
    start: usize,
    len: usize,
    title: Option<String>,
    iso_timestamps: bool,
}

impl Table {
    /// A table of `df`'s first [`DEFAULT_ROWS`] rows and all its columns.
    pub fn new(df: &DataFrame) -> Table {
        Table {
            df: df.clone(),
            start: 0,
            len: DEFAULT_ROWS,
            title: None,
            iso_timestamps: true,
        }
    }

    /// Shows `n` rows from the first one shown (all of them if the frame has
    /// fewer).
    pub fn rows(mut self, n: usize) -> Table {
        self.len = n;
        self
    }

    /// Shows the rows `rows.start..rows.end` (0-based, end excluded). A range
    /// reaching past the frame is cut to it, as a slice preview should not
    /// fail on a frame that turned out shorter.
    pub fn range(mut self, rows: Range<usize>) -> Table {
        self.start = rows.start;
        self.len = rows.end.saturating_sub(rows.start);
        self
    }

    /// A heading shown above the table.
    pub fn title(mut self, title: impl Into<String>) -> Table {
        self.title = Some(title.into());
        self
    }

    /// Whether an integer `timestamp` column also shows its UTC date-time
    /// (on by default).
    pub fn iso_timestamps(mut self, on: bool) -> Table {
        self.iso_timestamps = on;
        self
    }

    /// The rows shown, after cutting the requested range to the frame.
    pub fn shown_rows(&self) -> Range<usize> {
        let height = self.df.height();
        let start = self.start.min(height);
        start..start.saturating_add(self.len).min(height)
    }

    /// The shape line under the table, as pandas writes it:
    /// `2,716,800 rows × 27 columns`, and which rows are shown when not all.
    pub fn caption(&self) -> String {
        let (height, width) = self.df.shape();
        let shape = format!(
            "{} {} × {} {}",
            thousands(height),
            plural(height, "row", "rows"),
            thousands(width),
            plural(width, "column", "columns")
        );
        let shown = self.shown_rows();
        if shown.len() == height {
            shape
        } else if shown.is_empty() {
            format!("{shape} (no rows shown)")
        } else if shown.start == 0 {
            format!("{shape} (first {} shown)", thousands(shown.len()))
        } else {
            format!(
                "{shape} (rows {}–{} shown)",
                thousands(shown.start),
                thousands(shown.end - 1)
            )
        }
    }

    /// The table as an HTML fragment (no scripts, no external styles), the
    /// same for the same frame every time.
    pub fn to_html(&self) -> String {
        let shown = self.shown_rows();
        let cells = self.cells(shown.clone());
        let mut html = String::from("<div style=\"overflow-x:auto\">\n");
        if let Some(title) = &self.title {
            html.push_str(&format!(
                "<div style=\"font-weight:bold;margin:0.3em 0\">{}</div>\n",
                escape_html(title)
            ));
        }
        html.push_str(
            "<table style=\"border-collapse:collapse;font-variant-numeric:tabular-nums\">\n",
        );
        html.push_str("<thead><tr><th></th>");
        for column in self.df.columns() {
            html.push_str(&format!(
                "<th style=\"text-align:{};white-space:nowrap\">{}<br>\
                 <span style=\"font-weight:normal;opacity:0.6\">{}</span></th>",
                side(column),
                escape_html(column.name()),
                escape_html(&column.dtype().to_string())
            ));
        }
        html.push_str("</tr></thead>\n<tbody>\n");
        let sides: Vec<&str> = self.df.columns().iter().map(side).collect();
        for (row, line) in shown.zip(&cells) {
            html.push_str(&format!("<tr><th style=\"opacity:0.6\">{row}</th>"));
            for (cell, side) in line.iter().zip(&sides) {
                html.push_str(&cell.html(side));
            }
            html.push_str("</tr>\n");
        }
        html.push_str("</tbody>\n</table>\n");
        html.push_str(&format!(
            "<p style=\"opacity:0.7;margin:0.3em 0\">{}</p>\n</div>",
            escape_html(&self.caption())
        ));
        html
    }

    /// evcxr's display hook: a notebook cell ending in a `Table` shows it as
    /// HTML.
    pub fn evcxr_display(&self) {
        println!("{}", self.evcxr_block());
    }

    fn evcxr_block(&self) -> String {
        // The protocol ends at a line reading EVCXR_END_CONTENT; cells
        // escape their line breaks, so no value can end it early.
        format!(
            "EVCXR_BEGIN_CONTENT text/html\n{}\nEVCXR_END_CONTENT",
            self.to_html()
        )
    }

    fn cells(&self, rows: Range<usize>) -> Vec<Vec<Cell>> {
        let columns = self.df.columns();
        rows.map(|row| {
            columns
                .iter()
                .map(|column| {
                    let timestamp = self.iso_timestamps && column.name().as_str() == "timestamp";
                    // A row inside shown_rows always exists; a failure here
                    // would be polars' own, shown rather than panicking in a
                    // display hook.
                    match column.get(row) {
                        Ok(value) => Cell::of(&value, timestamp),
                        Err(e) => Cell::text(format!("<{e}>")),
                    }
                })
                .collect()
        })
        .collect()
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = self.shown_rows();
        let cells = self.cells(shown.clone());
        let columns = self.df.columns();
        // Names and strings go to a terminal: control characters escaped so
        // a value cannot move the cursor or recolour the screen.
        let names: Vec<String> = columns.iter().map(|c| printable(c.name())).collect();
        let dtypes: Vec<String> = columns.iter().map(|c| c.dtype().to_string()).collect();
        let texts: Vec<Vec<String>> = cells
            .iter()
            .map(|line| line.iter().map(Cell::plain).collect())
            .collect();
        let index: Vec<String> = shown.clone().map(|r| r.to_string()).collect();
        let index_width = index.iter().map(|s| s.chars().count()).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns.len())
            .map(|c| {
                texts
                    .iter()
                    .map(|line| line[c].chars().count())
                    .chain([names[c].chars().count(), dtypes[c].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();

        if let Some(title) = &self.title {
            writeln!(f, "{}", printable(title))?;
        }
        let left: Vec<bool> = columns.iter().map(|c| side(c) == "left").collect();
        // Padding built as a string first so that a left-aligned last column
        // leaves no trailing blanks.
        let line = |first: &str, texts: &mut dyn Iterator<Item = (&str, bool)>| {
            let mut out = format!("{first:>index_width$}");
            for ((text, left), width) in texts.zip(&widths) {
                if left {
                    out.push_str(&format!("  {text:<width$}"));
                } else {
                    out.push_str(&format!("  {text:>width$}"));
                }
            }
            out.trim_end().to_string()
        };
        let labels = |labels: &[String]| {
            line(
                "",
                &mut labels
                    .iter()
                    .zip(&left)
                    .map(|(l, &left)| (l.as_str(), left)),
            )
        };
        writeln!(f, "{}", labels(&names))?;
        writeln!(f, "{}", labels(&dtypes))?;
        for (row, texts) in index.iter().zip(&texts) {
            let mut items = texts.iter().zip(&left).map(|(t, &left)| (t.as_str(), left));
            writeln!(f, "{}", line(row, &mut items))?;
        }
        write!(f, "{}", self.caption())
    }
}

/// Which side a column's header sits on: numbers right, like their values,
/// anything else left.
fn side(column: &Column) -> &'static str {
    if column.dtype().is_primitive_numeric() {
        "right"
    } else {
        "left"
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    Number,
    Text,
}

/// One value, formatted once for both renderings.
#[derive(Debug, Clone)]
struct Cell {
    kind: Kind,
    text: String,
    /// The UTC date-time of a timestamp, shown beside the number.
    note: Option<String>,
}

impl Cell {
    fn text(text: String) -> Cell {
        Cell {
            kind: Kind::Text,
            text,
            note: None,
        }
    }

    fn number(text: String) -> Cell {
        Cell {
            kind: Kind::Number,
            text,
            note: None,
        }
    }

    fn of(value: &AnyValue<'_>, timestamp: bool) -> Cell {
        if value.is_null() {
            return Cell {
                kind: Kind::Null,
                text: "null".into(),
                note: None,
            };
        }
        if value.is_signed_integer() {
            if let Some(v) = value.extract::<i128>() {
                let mut cell = Cell::number(v.to_string());
                if timestamp {
                    cell.note = i64::try_from(v).ok().and_then(iso_instant);
                }
                return cell;
            }
        }
        if value.is_unsigned_integer() {
            if let Some(v) = value.extract::<u128>() {
                let mut cell = Cell::number(v.to_string());
                if timestamp {
                    cell.note = i64::try_from(v).ok().and_then(iso_instant);
                }
                return cell;
            }
        }
        if value.is_float() {
            if let Some(v) = value.extract::<f64>() {
                return Cell::number(format_float(v));
            }
        }
        if let Some(b) = value.extract_bool() {
            return Cell::text(b.to_string());
        }
        if let Some(s) = value.extract_str() {
            return Cell::text(s.to_string());
        }
        Cell::text(value.to_string())
    }

    /// The cell as a `<td>`, aligned to `side` as its column's header is.
    fn html(&self, side: &str) -> String {
        let style = match self.kind {
            Kind::Null => "opacity:0.45;font-style:italic",
            Kind::Number => "white-space:nowrap",
            Kind::Text => "",
        };
        let note = match &self.note {
            Some(note) => format!(" <span style=\"opacity:0.6\">{}</span>", escape_html(note)),
            None => String::new(),
        };
        format!(
            "<td style=\"text-align:{side};{style}\">{}{note}</td>",
            escape_html(&self.text)
        )
    }

    fn plain(&self) -> String {
        match &self.note {
            Some(note) => format!("{} ({note})", printable(&self.text)),
            None => printable(&self.text),
        }
    }
}

/// The UTC date-time of unix seconds, for years 1 to 9999 only: anything
/// else in a `timestamp` column is not a time and is shown as a bare number.
fn iso_instant(t: i64) -> Option<String> {
    const FIRST: i64 = -62_135_596_800; // 0001-01-01T00:00:00Z
    const LAST: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    (FIRST..=LAST).contains(&t).then(|| format_instant(t))
}

/// `text` safe inside an HTML element or a quoted attribute. Line breaks
/// become character references too, which keeps every value on one line of
/// the display protocol.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            _ => out.push(c),
        }
    }
    out
}

/// A float as a person reads it: about 6 significant digits, scientific
/// (`1.23457e-05`, `4.2e+12`) below 1e-4 or from 1e10 on, trailing zeros
/// dropped, `NaN`, `inf` and `-inf` by name.
pub fn format_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let magnitude = v.abs();
    if !(1e-4..1e10).contains(&magnitude) {
        let text = format!("{v:.5e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let exponent: i32 = exponent.parse().unwrap_or(0);
        let sign = if exponent < 0 { '-' } else { '+' };
        return format!(
            "{}e{sign}{:02}",
            trim_zeros(mantissa),
            exponent.unsigned_abs()
        );
    }
    let digits_before = magnitude.log10().floor() as i32;
    let decimals = (5 - digits_before).max(0) as usize;
    trim_zeros(&format!("{v:.decimals$}")).to_string()
}

fn trim_zeros(number: &str) -> &str {
    if number.contains('.') {
        number.trim_end_matches('0').trim_end_matches('.')
    } else {
        number
    }
}

/// `2716800` as `2,716,800`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::columns::col;

    fn frame(columns: Vec<Column>) -> DataFrame {
        DataFrame::new_infer_height(columns).expect("frame")
    }

    #[test]
    fn escapes_names_and_string_cells() {
        let df = frame(vec![
            Column::new("<b>&\"x'".into(), ["<script>alert('x')</script>", "a&b"]),
            col("n", vec![1i64, 2]),
        ]);
        let html = Table::new(&df).title("<i>t</i>").to_html();
        assert!(html.contains("&lt;b&gt;&amp;&quot;x&#39;"));
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
        assert!(html.contains("a&amp;b"));
        assert!(html.contains("&lt;i&gt;t&lt;/i&gt;"));
        assert!(!html.contains("<script>") && !html.contains("<b>") && !html.contains("<i>"));
        assert_eq!(
            escape_html("a\nEVCXR_END_CONTENT"),
            "a&#10;EVCXR_END_CONTENT"
        );
    }

    #[test]
    fn html_has_every_column_with_its_dtype_in_a_scrolling_div() {
        let columns: Vec<Column> = (0..30)
            .map(|i| col(&format!("c{i}"), vec![i as f64]))
            .collect();
        let html = Table::new(&frame(columns)).to_html();
        assert!(html.starts_with("<div style=\"overflow-x:auto\">"));
        assert_eq!(html.matches("<th style=\"text-align:right").count(), 30);
        assert!(html.contains("c29<br><span style=\"font-weight:normal;opacity:0.6\">f64</span>"));
        assert_eq!(
            html,
            Table::new(&frame(
                (0..30)
                    .map(|i| col(&format!("c{i}"), vec![i as f64]))
                    .collect()
            ))
            .to_html()
        );
    }

    #[test]
    fn caption_gives_the_shape_and_the_rows_shown() {
        let df = frame(vec![
            col("a", (0..2_716_800i64).collect::<Vec<_>>()),
            col("b", vec![0.5f64; 2_716_800]),
        ]);
        assert_eq!(
            Table::new(&df).caption(),
            "2,716,800 rows × 2 columns (first 10 shown)"
        );
        assert_eq!(
            Table::new(&df).range(1000..1005).caption(),
            "2,716,800 rows × 2 columns (rows 1,000–1,004 shown)"
        );
        let small = frame(vec![col("a", vec![1i64])]);
        assert_eq!(Table::new(&small).caption(), "1 row × 1 column");
        assert_eq!(
            Table::new(&small).range(5..9).caption(),
            "1 row × 1 column (no rows shown)"
        );
        let html = Table::new(&df).range(1000..1003).to_html();
        assert_eq!(html.matches("<tr><th style").count(), 3);
        assert!(html.contains("<tr><th style=\"opacity:0.6\">1000</th><td style=\"text-align:right;white-space:nowrap\">1000</td>"));
        assert!(html.contains("rows 1,000–1,002 shown"));
    }

    #[test]
    fn formats_numbers_for_reading() {
        assert_eq!(format_float(0.1f32 as f64), "0.1");
        assert_eq!(format_float(1.0), "1");
        assert_eq!(format_float(-2.5), "-2.5");
        assert_eq!(format_float(std::f64::consts::PI), "3.14159");
        assert_eq!(format_float(61234.5678), "61234.6");
        assert_eq!(format_float(2716800.0), "2716800");
        assert_eq!(format_float(0.000123456), "0.000123456");
        assert_eq!(format_float(0.0000123456789), "1.23457e-05");
        assert_eq!(format_float(-4.2e12), "-4.2e+12");
        assert_eq!(format_float(1e100), "1e+100");
        assert_eq!(format_float(0.0), "0");
        assert_eq!(format_float(f64::NAN), "NaN");
        assert_eq!(format_float(f64::NEG_INFINITY), "-inf");
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(12_345_678), "12,345,678");
    }

    #[test]
    fn shows_nulls_dimmed_and_timestamps_as_dates() {
        let df = frame(vec![
            col("timestamp", vec![1_514_764_860i64, 1_623_542_400]),
            Column::new("x".into(), [Some(1.5f64), None]),
            Column::new("s".into(), [None, Some("a")]),
        ]);
        let html = Table::new(&df).to_html();
        assert_eq!(
            html.matches("opacity:0.45;font-style:italic\">null</td>")
                .count(),
            2
        );
        assert!(
            html.contains("<td style=\"text-align:left;opacity:0.45;font-style:italic\">null</td>")
        );
        assert!(html.contains("1514764860 <span style=\"opacity:0.6\">2018-01-01T00:01:00Z</span>"));
        assert!(!Table::new(&df)
            .iso_timestamps(false)
            .to_html()
            .contains("2018-01-01"));
        let text = Table::new(&df).to_string();
        assert!(text.contains("1514764860 (2018-01-01T00:01:00Z)"), "{text}");
        assert!(text.contains("null"));
        assert!(text.ends_with("2 rows × 3 columns"), "{text}");
    }

    #[test]
    fn plain_text_aligns_and_escapes_control_characters() {
        let df = frame(vec![
            Column::new("name".into(), ["a\u{1b}[31m", "bb"]),
            col("v", vec![1.25f64, 100.0]),
        ]);
        let text = Table::new(&df).title("T").to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "T");
        assert!(!text.contains('\u{1b}'));
        assert_eq!(lines[3].len(), lines[4].len(), "{text}");
        assert!(
            lines[3].ends_with("  1.25") && lines[4].ends_with("   100"),
            "{text}"
        );
    }

    #[test]
    fn evcxr_display_is_one_html_block() {
        let df = frame(vec![Column::new("s".into(), ["x\nEVCXR_END_CONTENT\ny"])]);
        let block = Table::new(&df).evcxr_block();
        let lines: Vec<&str> = block.lines().collect();
        assert_eq!(lines[0], "EVCXR_BEGIN_CONTENT text/html");
        assert_eq!(lines[1], "<div style=\"overflow-x:auto\">");
        assert_eq!(
            lines.iter().filter(|l| **l == "EVCXR_END_CONTENT").count(),
            1
        );
        assert_eq!(lines.last(), Some(&"EVCXR_END_CONTENT"));
    }

}
