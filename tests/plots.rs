//! Every chart renders a non-empty PNG and SVG from the fixture data.

mod common;

use common::*;
use crypto_lab::plots::{lab_charts, save_all, Chart};
use crypto_lab::prelude::*;

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
