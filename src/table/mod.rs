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
/// Every column is shown; the rows are the first 10 unless
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
    /// A table of `df`'s first 10 rows and all its columns.
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

    /// Shows these columns first, in this order, then the others as they
    /// were (a wide frame's column of interest would otherwise be off to the
    /// right); a name the frame lacks is left out.
    pub fn first(mut self, columns: &[&str]) -> Table {
        let names: Vec<String> = self
            .df
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect();
        let order: Vec<&str> = columns
            .iter()
            .copied()
            .filter(|c| names.iter().any(|n| n == c))
            .chain(
                names
                    .iter()
                    .map(String::as_str)
                    .filter(|n| !columns.contains(n)),
            )
            .collect();
        if let Ok(df) = self.df.select(order) {
            self.df = df;
        }
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

    /// This table and `next` shown together, one under the other: a
    /// notebook cell shows one value, and each cell costs the kernel a
    /// compile.
    pub fn and(self, next: Table) -> Tables {
        Tables(vec![self, next])
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

/// Several tables shown as one output ([`Table::and`]).
#[derive(Debug, Clone)]
pub struct Tables(pub Vec<Table>);

impl Tables {
    /// Adds a table under the others.
    pub fn and(mut self, next: Table) -> Tables {
        self.0.push(next);
        self
    }

    /// evcxr's display hook: the tables' HTML in one block.
    pub fn evcxr_display(&self) {
        let html: Vec<String> = self.0.iter().map(Table::to_html).collect();
        println!(
            "EVCXR_BEGIN_CONTENT text/html\n{}\nEVCXR_END_CONTENT",
            html.join("\n<br>\n")
        );
    }
}

impl fmt::Display for Tables {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{t}")?;
        }
        Ok(())
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
mod tests;
