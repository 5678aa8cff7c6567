//! Every chart renders a non-empty PNG and SVG from the fixture data.

use crate::common::*;
use crypto_lab::plots::{lab_charts, save_all, Chart};
use crypto_lab::prelude::*;

/// A record of a run early stopping ended, best at round `best` (1-based),
/// with the metrics per round given.
fn stopped_history(
    rmse: Vec<f64>,
    wcorr: Vec<f64>,
    best: usize,
    patience: usize,
) -> TrainingHistory {
    TrainingHistory {
        best_iteration: best,
        rmse: rmse[best - 1],
        weighted_correlation: wcorr[best - 1],
        evals: Evals {
            rmse,
            eval_wcorr: wcorr,
        },
        stopped_early: true,
        train_rows: 1000,
        valid_rows: 100,
        params: ModelParams {
            early_stopping_rounds: patience,
            ..ModelParams::default()
        },
        custom_feval: false,
        first_valid_timestamp: None,
        rows_without_target: 0,
    }
}

#[test]
fn every_chart_renders_png_and_svg() {
    let dir = fixture_data_path("plots");
    let data = dir.path();
    let mut ctx = StageContext::new(data, &Silent);
    ctx.model.n_estimators = 30;
    run_pipeline(&ctx, &RunOptions::default()).expect("run");
    let charts = lab_charts(data, 1).expect("charts");
    assert_eq!(charts.len(), 5);
    let out = data.join("plots");
    let written = save_all(&charts, &out).expect("save");
    assert_eq!(written.len(), 10);
    for path in &written {
        let bytes = std::fs::read(path).expect("chart file");
        assert!(bytes.len() > 1000, "{} is nearly empty", path.display());
        if path.extension().is_some_and(|e| e == "png") {
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
        } else {
            let text = String::from_utf8(bytes).expect("svg text");
            assert!(
                text.contains("<svg") && text.contains("<text"),
                "{}",
                path.display()
            );
        }
    }
    for chart in &charts {
        let svg = chart.to_svg().expect("svg");
        assert!(svg.0.starts_with("<svg"), "{}", chart.name());
    }
    assert!(Chart::learning_curves(
        &serde_json::from_str(
            &std::fs::read_to_string(data.join(files::HISTORY)).expect("history")
        )
        .expect("json")
    )
    .save(&out.join("x.gif"))
    .is_err());
    // evaluation-result puts the same charts and a summary where KFP shows them.
    let page = std::fs::read_to_string(data.join(files::CHARTS)).expect("page");
    assert_eq!(page.matches("<svg").count(), 5);
    let summary = std::fs::read_to_string(data.join(files::SUMMARY)).expect("summary");
    assert!(summary.contains("| weighted-correlation |"));
}

// ---- Labels a class can read -------------------------------------------
//
// The charts below are drawn from small inputs shaped like the lab's (an
// rmse that moves only in its fifth significant digit, Bitcoin near
// 58,000 over several days, a few hundred rounds) and checked in their SVG
// text: per axis, tick labels differ; rounds and counts are whole numbers;
// time axes show dates; prices have no trailing ".0"; text is large.

use crypto_lab::contract::{Evals, FeatureImportance, TrainingHistory};
use crypto_lab::model_params::ModelParams;
use crypto_lab::plots::{style, Histogram, PipelineStep, PriceNotes};

/// One `<text>` of an SVG: anchor, position and content.
#[derive(Debug, Clone)]
struct Text {
    anchor: String,
    x: f64,
    y: f64,
    size: f64,
    content: String,
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let len = tag[start..].find('"')?;
    Some(tag[start..start + len].to_string())
}

fn texts(svg: &str) -> Vec<Text> {
    svg.split("<text")
        .skip(1)
        .filter_map(|piece| {
            let (tag, rest) = piece.split_once('>')?;
            let (content, _) = rest.split_once("</text>")?;
            Some(Text {
                anchor: attr(tag, "text-anchor")?,
                x: attr(tag, "x")?.parse().ok()?,
                y: attr(tag, "y")?.parse().ok()?,
                size: attr(tag, "font-size")?.parse().ok()?,
                content: content.trim().replace("&apos;", "'").replace("&amp;", "&"),
            })
        })
        .collect()
}

/// The tick labels of each axis. plotters writes an axis' labels one after
/// the other, all sharing a coordinate: x for a y axis' right-aligned
/// labels, y for an x axis' centred ones. A run of texts with the same
/// anchor and shared coordinate is one axis (titles and descriptions
/// stand alone, so runs of one are left out).
fn axes(svg: &str) -> Vec<Vec<String>> {
    let mut runs: Vec<(String, f64, Vec<String>)> = Vec::new();
    for t in texts(svg) {
        let shared = if t.anchor == "middle" { t.y } else { t.x };
        match runs.last_mut() {
            Some((anchor, coord, labels)) if *anchor == t.anchor && *coord == shared => {
                labels.push(t.content)
            }
            _ => runs.push((t.anchor, shared, vec![t.content])),
        }
    }
    runs.into_iter()
        .map(|r| r.2)
        .filter(|labels| labels.len() >= 2)
        .collect()
}

fn number(label: &str) -> Option<f64> {
    label.replace(',', "").parse().ok()
}

fn is_date(label: &str) -> bool {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    match label.split_once(' ') {
        Some((m, d)) => {
            MONTHS.contains(&m)
                && d.len() == 2
                && d.parse::<u32>().is_ok_and(|d| (1..=31).contains(&d))
        }
        None => false,
    }
}

/// Renders `chart` and checks what holds for every chart: each axis'
/// labels distinct, text at projector size, Okabe–Ito colours only.
fn rendered(chart: &Chart) -> (String, Vec<Vec<String>>) {
    let svg = chart.to_svg().expect("svg").0;
    let axes = axes(&svg);
    assert!(!axes.is_empty(), "{}: no tick labels found", chart.name());
    for labels in &axes {
        let mut sorted = labels.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(
            sorted.len(),
            labels.len(),
            "{}: repeated tick labels {labels:?}",
            chart.name()
        );
    }
    for t in texts(&svg) {
        // plotters writes font-size as pixels / 1.24; its default tick
        // labels come out below 10.
        let px = t.size * 1.24;
        assert!(
            px >= f64::from(style::TICK_PX) - 0.01,
            "{}: {:?} is small",
            chart.name(),
            t
        );
    }
    for plain in ["#FF0000", "#00FF00", "#0000FF"] {
        assert!(!svg.contains(plain), "{}: uses {plain}", chart.name());
    }
    (svg, axes)
}

fn day(d: i64) -> i64 {
    // 2021-04-01 00:00 UTC.
    1_617_235_200 + d * 86_400
}

#[test]
fn rmse_axis_labels_differ_and_rounds_are_whole() {
    // rmse falls to its best round and then rises until its patience runs
    // out, while the weighted correlation still improves.
    let (best, patience) = (214, 60);
    let rounds = best + patience;
    let rmse: Vec<f64> = (0..rounds)
        .map(|i| {
            let past = (i as f64 - (best - 1) as f64).max(0.0);
            0.004691 - 0.000008 * (1.0 - (-(i as f64) / 60.0).exp()) + 1e-8 * past
        })
        .collect();
    let wcorr: Vec<f64> = (0..rounds)
        .map(|i| 0.02 + 0.03 * (1.0 - (-(i as f64) / 80.0).exp()))
        .collect();
    let history = stopped_history(rmse, wcorr, best, patience);
    let (svg, axes) = rendered(&Chart::learning_curves(&history));
    let rounds: Vec<_> = axes
        .iter()
        .filter(|a| a.iter().all(|l| number(l).is_some_and(|v| v >= 1.0)))
        .collect();
    assert_eq!(rounds.len(), 2, "{axes:?}");
    for a in &rounds {
        assert!(a.len() >= 4, "{a:?}");
        assert!(a.iter().all(|l| !l.contains('.')), "{a:?}");
        assert!(a.contains(&"100".to_string()), "{a:?}");
    }
    let rmse_axis = axes
        .iter()
        .find(|a| a.iter().all(|l| l.starts_with("0.0046")))
        .unwrap_or_else(|| panic!("no rmse axis in {axes:?}"));
    assert!(rmse_axis.len() >= 3, "{rmse_axis:?}");
    assert!(svg.contains("best round 214"));
    assert!(
        svg.contains("Best round 214, chosen by rmse (early stopping, 60 rounds)"),
        "{:?}",
        texts(&svg).first()
    );
}

#[test]
fn learning_curves_name_the_weighted_correlation_when_it_stops_training() {
    let (best, patience) = (50, 30);
    let rounds = best + patience;
    // rmse keeps improving; the weighted correlation peaks at `best`.
    let rmse: Vec<f64> = (0..rounds).map(|i| 0.005 - 1e-7 * i as f64).collect();
    let wcorr: Vec<f64> = (0..rounds)
        .map(|i| 0.05 - 1e-5 * (i as f64 - (best - 1) as f64).abs())
        .collect();
    let history = stopped_history(rmse, wcorr, best, patience);
    let svg = Chart::learning_curves(&history).to_svg().expect("svg").0;
    assert!(
        svg.contains("chosen by weighted correlation (early stopping, 30 rounds)"),
        "{:?}",
        texts(&svg).first()
    );
    // A record whose rounds do not replay to its best round claims no metric.
    let mut edited = history.clone();
    edited.best_iteration = 40;
    let svg = Chart::learning_curves(&edited).to_svg().expect("svg").0;
    assert!(svg.contains("Best round 40") && !svg.contains("chosen by"));
}

#[test]
fn price_axis_has_dates_and_whole_prices() {
    let bars: Vec<(i64, f64, f64)> = (0..6 * 24)
        .map(|h| {
            let t = day(0) + h * 3600;
            let close = 58_000.0 + 1_200.0 * ((h as f64) / 17.0).sin() + 0.37;
            (t, close, 40.0 + 25.0 * ((h as f64) / 5.0).cos().abs())
        })
        .collect();
    let chart = Chart::price_volume_of(bars.clone(), 1, PriceNotes::default()).expect("chart");
    let (svg, axes) = rendered(&chart);
    let dates = axes
        .iter()
        .find(|a| a.iter().all(|l| is_date(l)))
        .unwrap_or_else(|| panic!("no date axis in {axes:?}"));
    assert!(
        dates.len() >= 4 && dates.contains(&"Apr 03".to_string()),
        "{dates:?}"
    );
    let prices = axes
        .iter()
        .find(|a| a.iter().all(|l| number(l).is_some_and(|v| v > 50_000.0)))
        .unwrap_or_else(|| panic!("no price axis in {axes:?}"));
    assert!(prices.len() >= 3, "{prices:?}");
    assert!(
        prices.iter().all(|l| !l.ends_with(".0") && l.contains(',')),
        "{prices:?}"
    );
    assert!(!svg.contains("days since"));
    assert!(
        svg.contains("2021-04-01") && svg.contains("2021-04-06"),
        "period in the title"
    );
    // No name given, so none is made up; the split lies after these bars.
    assert!(svg.contains("Asset 1, 2021-04-01") && !svg.contains("Bitcoin"));
    assert!(!svg.contains("validation from"));

    let notes = PriceNotes {
        name: Some("Bitcoin".into()),
        synthetic: true,
        valid_from: day(3),
    };
    let (svg, _) = rendered(&Chart::price_volume_of(bars, 1, notes).expect("chart"));
    assert!(svg.contains("Asset 1 (Bitcoin, synthetic data)"));
    assert!(svg.contains("validation from 2021-04-04"));
}

#[test]
fn price_chart_marks_the_lab_split_and_says_when_data_is_synthetic() {
    let bars: Vec<(i64, f64, f64)> = (0..60 * 24)
        .map(|h| (day(0) + h * 3600, 58_000.0 + h as f64, 10.0))
        .collect();
    let notes = PriceNotes {
        name: Some("Bitcoin".into()),
        ..PriceNotes::default()
    };
    let (svg, _) = rendered(&Chart::price_volume_of(bars, 1, notes).expect("chart"));
    // The lab's split falls inside these two months.
    assert!(svg.contains("validation from 2021-05-01"), "split label");
    assert!(svg.contains("Asset 1 (Bitcoin)") && !svg.contains("synthetic"));
}

#[test]
fn histogram_counts_are_whole_numbers() {
    let hist = |name: &str, lo: f64, width: f64| Histogram {
        name: name.into(),
        lo,
        width,
        counts: (0..40u32).map(|i| 50 * i * (40 - i)).collect(),
    };
    let chart = Chart::Distributions(vec![
        hist("RSI_30", 10.0, 2.0),
        hist("return_30", -0.02, 0.001),
        hist("sma_30", 0.999, 0.00005),
        hist("HL", 0.0, 0.0002),
    ]);
    let (_, axes) = rendered(&chart);
    // Four panels, two axes each.
    assert_eq!(axes.len(), 8, "{axes:?}");
    let counts: Vec<_> = axes
        .iter()
        .filter(|a| a.iter().any(|l| number(l).is_some_and(|v| v >= 1000.0)))
        .collect();
    assert_eq!(counts.len(), 4, "{axes:?}");
    for a in counts {
        assert!(a.iter().all(|l| !l.contains('.')), "{a:?}");
    }
}

#[test]
fn importance_scatter_and_lines_label_their_axes() {
    let importance = FeatureImportance {
        feature: (0..24).map(|i| format!("feature_{i}")).collect(),
        split: vec![1.0; 24],
        gain: (0..24).map(|i| 0.0031 / f64::from(i + 1)).collect(),
    };
    let (svg, axes) = rendered(&Chart::importance(&importance));
    assert!(svg.contains("feature_0") && !svg.contains("feature_15"));
    assert!(
        svg.contains("top 15 of 24 features"),
        "title counts the features"
    );
    assert!(axes.iter().any(|a| a.iter().all(|l| number(l).is_some())));

    let actual: Vec<f32> = (0..3000)
        .map(|i| ((i as f32) * 0.37).sin() * 0.01)
        .collect();
    let pred: Vec<f64> = actual.iter().map(|a| f64::from(*a) * 0.05 + 1e-5).collect();
    let (svg, axes) = rendered(&Chart::predicted_vs_actual(&pred, &actual));
    // Two panels, two axes each: the rows, and the bins' means (the
    // legend's entries line up like an axis and are left out).
    let numeric = axes
        .iter()
        .filter(|a| a.iter().all(|l| number(l).is_some()))
        .count();
    assert_eq!(numeric, 4, "{axes:?}");
    // Predictions exactly proportional to the actuals: a perfect correlation.
    assert!(
        svg.contains("Predicted vs actual Target (validation, corr 1.000)"),
        "{:?}",
        texts(&svg).first()
    );
    assert!(svg.contains("Mean actual in 20 bins of the prediction"));

    let lines = Chart::Lines {
        title: "Whole lab: wall time against rows".into(),
        labels: ("rows (millions)".into(), "seconds".into()),
        series: (0..3)
            .map(|s| {
                let points = (1..6)
                    .map(|r| (r as f64 * 4.0, r as f64 * (10.0 + s as f64)))
                    .collect();
                (format!("series {s}"), points)
            })
            .collect(),
    };
    let (svg, _) = rendered(&lines);
    // Successive series take successive Okabe–Ito colours.
    for c in &style::SERIES[..3] {
        let hex = format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2);
        assert!(svg.contains(&hex), "{hex}");
    }
}

#[test]
fn predicted_vs_actual_bins_follow_the_signal_and_weight_the_correlation() {
    // Actuals are noise plus the prediction scaled up: the bins' means must
    // rise with the prediction although a row's noise is far larger.
    let n = 20_000;
    let pred: Vec<f64> = (0..n)
        .map(|i| ((i * 7919) % n) as f64 / n as f64 * 0.002 - 0.001)
        .collect();
    let actual: Vec<f32> = pred
        .iter()
        .enumerate()
        .map(|(i, p)| (p * 2.0 + ((i as f64) * 1.7).sin() * 0.02) as f32)
        .collect();
    let weight: Vec<f64> = (0..n).map(|i| 1.0 + (i % 3) as f64).collect();
    let chart = Chart::predicted_vs_actual_weighted(&pred, &actual, &weight);
    let Chart::PredictedVsActual {
        points,
        bins,
        corr,
        weighted,
    } = &chart
    else {
        panic!("not predicted vs actual");
    };
    assert!(weighted);
    assert!(points.len() <= 2 * crypto_lab::plots::MAX_POINTS);
    assert_eq!(bins.len(), crypto_lab::plots::PREDICTION_BINS);
    assert!(bins.windows(2).all(|b| b[0].0 < b[1].0), "{bins:?}");
    let (first, last) = (bins[0], bins[bins.len() - 1]);
    assert!(last.1 - first.1 > 0.002, "{bins:?}");
    let expected = crypto_lab::prelude::weighted_correlation(&pred, &actual, &weight);
    assert_eq!(*corr, expected);
    let (svg, _) = rendered(&chart);
    assert!(svg.contains(&format!("weighted corr {expected:.3}")));
}

#[test]
fn pipeline_chart_draws_every_registered_stage_in_order() {
    // The default (artifacts) form: the six stages alone.
    let default =
        crypto_lab::kfp::export::v2::pipeline_chart(&crypto_lab::kfp::ExportOptions::default());
    let Chart::Pipeline(steps) = &default else {
        panic!("not a pipeline chart");
    };
    let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
    let commands: Vec<&str> = STAGES.iter().map(|s| s.command).collect();
    assert_eq!(names, commands);
    assert!(steps.iter().all(|s| !s.setup));
    // The volume form: the claim's steps around them.
    let chart = crypto_lab::kfp::export::v2::pipeline_chart(&crypto_lab::kfp::ExportOptions {
        data: crypto_lab::kfp::export::DataForm::Volume,
        ..Default::default()
    });
    let Chart::Pipeline(steps) = &chart else {
        panic!("not a pipeline chart");
    };
    let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
    let mut expected = vec![
        crypto_lab::kfp::export::v2::CREATE_PVC_TASK,
        crypto_lab::kfp::export::v2::PREPARE_TASK,
    ];
    expected.extend(STAGES.iter().map(|s| s.command));
    expected.push(crypto_lab::kfp::export::v2::DELETE_PVC_TASK);
    assert_eq!(names, expected);
    assert!(steps[..2].iter().all(|s: &PipelineStep| s.setup));
    assert!(
        steps[steps.len() - 1].setup,
        "deletepvc is KFP's, not a stage"
    );
    let svg = chart.to_svg().expect("svg").0;
    let shown: Vec<String> = texts(&svg).into_iter().map(|t| t.content).collect();
    let all = shown.join("\n");
    for (i, stage) in STAGES.iter().enumerate() {
        let at = shown
            .iter()
            .position(|t| t == stage.command)
            .unwrap_or_else(|| panic!("{} missing from {shown:?}", stage.command));
        if let Some(prev) = i.checked_sub(1) {
            let before = shown
                .iter()
                .position(|t| t == STAGES[prev].command)
                .expect("previous stage");
            assert!(
                before < at,
                "{} drawn before {}",
                stage.command,
                STAGES[prev].command
            );
        }
        for file in stage.outputs() {
            assert!(all.contains(file), "{file} of {} not shown", stage.command);
        }
    }
    assert!(all.contains("2 KFP steps, the lab's 6 stages, 1 KFP step after"));
    for t in texts(&svg) {
        assert!(
            t.size * 1.24 >= f64::from(style::TICK_PX) - 0.01,
            "{t:?} is small"
        );
    }
    // One arrow per link: drawn as paths ending in a filled head.
    assert_eq!(svg.matches("<polygon").count(), steps.len() - 1);
}

#[test]
fn price_chart_from_records_says_synthetic_only_for_synth_data() {
    let dir = temp_dir("plots-synthetic");
    let data = dir.path();
    let opts = SynthOptions {
        start: crypto_lab::calendar::parse_instant("2021-04-29").expect("date"),
        end: crypto_lab::calendar::parse_instant("2021-05-03").expect("date"),
        seed: 5,
    };
    synth(data, &opts, &Silent).expect("synth");
    let ctx = StageContext::new(data, &Silent);
    crypto_lab::stages::LOAD_DATA
        .execute(&ctx)
        .expect("load_data");
    assert!(crypto_lab::plots::synthetic_data(data));
    let svg = Chart::price_volume_file(data, 1)
        .expect("chart")
        .to_svg()
        .expect("svg")
        .0;
    assert!(svg.contains("Asset 1 (Bitcoin, synthetic data)"), "title");
    assert!(svg.contains("validation from 2021-05-01"), "split");

    // The competition's file in its place: load_data reads it, and the
    // chart no longer calls the data synthetic.
    std::fs::copy(
        fixture_dir().join(files::TRAIN_CSV),
        data.join(files::TRAIN_CSV),
    )
    .expect("copy fixture");
    crypto_lab::stages::LOAD_DATA
        .execute(&ctx)
        .expect("load_data");
    assert!(!crypto_lab::plots::synthetic_data(data));
}
