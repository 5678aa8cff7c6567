//! The HTML and text tables.
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
fn first_moves_the_named_columns_to_the_front() {
    let df = frame(vec![
        col("a", vec![1i64]),
        col("b", vec![2i64]),
        col("Weight", vec![0.5f64]),
    ]);
    let t = Table::new(&df).first(&["Weight", "missing"]);
    let names: Vec<&str> = t.df.get_column_names().iter().map(|n| n.as_str()).collect();
    assert_eq!(names, ["Weight", "a", "b"]);
    assert_eq!(t.df.height(), 1);
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
    assert!(html.contains("<td style=\"text-align:left;opacity:0.45;font-style:italic\">null</td>"));
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

#[test]
fn tables_show_together_in_one_block() {
    let a = frame(vec![col("a", vec![1i64])]);
    let b = frame(vec![col("b", vec![2.5f64])]);
    let both = Table::new(&a)
        .title("first")
        .and(Table::new(&b).title("second"));
    let text = both.to_string();
    assert!(
        text.find("first").unwrap() < text.find("second").unwrap(),
        "{text}"
    );
    assert_eq!(both.0.len(), 2);
}
