//! No input makes a panic: the date parser, the model options a user types,
//! the train.csv and asset_details.csv parsers, the zip member filter, KFP's
//! executor input, a KFP server's JSON and a pipeline package's text take
//! any text and answer with a value or an error, and no error carries a raw
//! control character to the terminal. (The flags that go into Kubernetes
//! objects are checked the same way beside their code, src/kfp/names.rs.)

use crate::common::temp_dir;
use crypto_lab::calendar::{format_instant, parse_instant, YEARS};
use crypto_lab::model_params::ModelParams;
use crypto_lab::stages::load_data::read_train_csv_from;
use crypto_lab::synth::SynthOptions;
use proptest::prelude::*;

const HEADER: &str = "timestamp,Asset_ID,Count,Open,High,Low,Close,Volume,VWAP,Target\n";

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn date_parser_takes_any_text(text in "\\PC{0,40}") {
        let _ = parse_instant(&text);
    }

    #[test]
    fn dates_in_range_round_trip(y in -100_000i64..100_000, m in 0u32..14, d in 0u32..33, h in 0i64..25) {
        let text = format!("{y:04}-{m:02}-{d:02}T{h:02}:00");
        if let Some(ts) = parse_instant(&text) {
            prop_assert!(YEARS.contains(&y));
            prop_assert_eq!(format_instant(ts), format!("{y:04}-{m:02}-{d:02}T{h:02}:00:00Z"));
        }
    }

    #[test]
    fn unix_seconds_of_any_size_are_checked(ts in any::<i64>()) {
        if let Some(parsed) = parse_instant(&ts.to_string()) {
            prop_assert_eq!(parsed, ts);
        }
    }

    #[test]
    fn model_options_take_any_key_and_value(key in "\\PC{0,20}", value in "\\PC{0,20}") {
        if let Ok(p) = ModelParams::default().with_overrides(&[(key, value)]) {
            let _ = p.validate();
        }
    }

    #[test]
    fn model_numbers_of_any_size_are_checked(n in any::<usize>(), lr in any::<f64>(), seed in any::<u64>()) {
        let p = ModelParams { n_estimators: n, learning_rate: lr, seed, ..ModelParams::default() };
        let ok = p.validate().is_ok();
        prop_assert_eq!(ok, (1..=i32::MAX as usize).contains(&n) && lr.is_finite() && lr > 0.0 && seed <= i32::MAX as u64);
    }

    #[test]
    fn synthetic_ranges_of_any_size_are_checked(start in any::<i64>(), end in any::<i64>()) {
        // Only the size check runs: ranges past it are refused before any work.
        let opts = SynthOptions { start, end, seed: 1 };
        if end.checked_sub(start).is_none_or(|d| d <= 0 || d / 60 > crypto_lab::synth::MAX_MINUTES) {
            let dir = temp_dir("prop-synth");
            prop_assert!(crypto_lab::synth::synth(dir.path(), &opts, &crypto_lab::progress::Silent).is_err());
        }
    }

    #[test]
    fn train_csv_lines_of_any_bytes_are_read_or_refused(line in proptest::collection::vec(any::<u8>(), 0..120)) {
        let dir = temp_dir("prop-csv");
        let path = dir.path().join("train.csv");
        let mut bytes = HEADER.as_bytes().to_vec();
        bytes.extend(&line);
        bytes.push(b'\n');
        std::fs::write(&path, &bytes).unwrap();
        if let Err(e) = read_train_csv_from(&path, 0) {
            let text = e.to_string();
            prop_assert!(!text.contains('\u{1b}') && !text.contains('\0'), "{}", text);
        }
    }
}

/// What a message may not carry to a terminal.
fn printable(text: &str) -> bool {
    !text.contains('\u{1b}') && !text.contains('\0') && !text.contains('\u{7}')
}

// Every parser that takes bytes from outside: asset_details.csv, a zip's
// member names and its bytes, KFP's executor input, a KFP server's JSON, a
// pipeline package's text. Inputs
// are at most a few KiB each, so no case allocates more than that many
// times over; the case counts keep CI's share to seconds.
proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn asset_details_of_any_bytes_are_read_or_refused(body in proptest::collection::vec(any::<u8>(), 0..400)) {
        let dir = temp_dir("prop-assets");
        let path = dir.path().join("asset_details.csv");
        let mut bytes = b"Asset_ID,Weight,Asset_Name\n".to_vec();
        bytes.extend(&body);
        std::fs::write(&path, &bytes).unwrap();
        if let Err(e) = crypto_lab::stages::load_data::read_asset_details_csv(&path) {
            prop_assert!(printable(&e.to_string()), "{}", e);
        }
    }

    #[test]
    fn zip_members_of_any_name_are_extracted_or_refused(name in "[\\PC\\x00-\\x1f]{1,40}") {
        use std::io::Write;
        let dir = temp_dir("prop-zip");
        let zip_path = dir.path().join("any.zip");
        let mut w = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
        let opts = zip::write::SimpleFileOptions::default();
        if w.start_file(name.as_str(), opts).is_ok() {
            w.write_all(b"x").unwrap();
        }
        let _ = w.finish();
        let opts = crypto_lab::stages::download_data::DownloadOptions {
            source: crypto_lab::stages::download_data::Source::Zip(zip_path),
            ..Default::default()
        };
        let data = dir.path().join("data");
        let outcome = crypto_lab::stages::download_data::download_data(&data, &opts, &crypto_lab::progress::Silent);
        if let Err(e) = outcome {
            prop_assert!(printable(&e.to_string()), "{}", e);
        }
        // Nothing outside the data path, whatever the name.
        for entry in std::fs::read_dir(dir.path()).unwrap().flatten() {
            let n = entry.file_name().to_string_lossy().into_owned();
            prop_assert!(n == "any.zip" || n == "data", "{} written outside", n);
        }
    }

    #[test]
    fn archives_of_any_bytes_are_refused_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let dir = temp_dir("prop-zip-bytes");
        let zip_path = dir.path().join("bytes.zip");
        let mut b = b"PK\x03\x04".to_vec();
        b.extend(bytes);
        std::fs::write(&zip_path, b).unwrap();
        let opts = crypto_lab::stages::download_data::DownloadOptions {
            source: crypto_lab::stages::download_data::Source::Zip(zip_path),
            ..Default::default()
        };
        let r = crypto_lab::stages::download_data::download_data(&dir.path().join("data"), &opts, &crypto_lab::progress::Silent);
        prop_assert!(r.is_err());
    }

    #[test]
    fn executor_input_of_any_text_is_used_or_refused(text in "\\PC{0,200}", artifacts in "\\PC{0,60}") {
        let dir = temp_dir("prop-executor");
        let metrics = crypto_lab::contract::Metrics { metrics: Vec::new() };
        let _ = crypto_lab::kfp::runtime::executor::write_metrics_output(&text, &metrics);
        // Well-formed around, anything inside.
        let out = dir.path().join("out.json");
        let doc = format!(
            "{{\"outputs\": {{\"outputFile\": {}, \"artifacts\": {artifacts}}}}}",
            serde_json::Value::from(out.display().to_string())
        );
        if let Err(e) = crypto_lab::kfp::runtime::executor::write_metrics_output(&doc, &metrics) {
            prop_assert!(printable(&e.to_string()), "{}", e);
        }
    }

    #[test]
    fn a_kfp_servers_json_of_any_shape_is_read_or_refused(
        text in "\\PC{0,300}",
        rows in proptest::collection::vec(
            ("(root|root-driver|executor|modeling|modeling-driver|createpvc|deletepvc|wf-x|)",
             proptest::option::of("(PENDING|RUNNING|SUCCEEDED|FAILED|SKIPPED|\\PC{0,8})")),
            0..12,
        ),
    ) {
        use crypto_lab::kfp::client::{pipeline_tasks, Run, TaskDetail};
        let _ = serde_json::from_str::<Run>(&text);
        let details: Vec<serde_json::Value> = rows
            .iter()
            .map(|(name, state)| serde_json::json!({"display_name": name, "state": state, "child_tasks": [{"pod_name": "n"}]}))
            .collect();
        let run: Run = serde_json::from_value(serde_json::json!({
            "run_id": "r", "state": "FAILED", "run_details": {"task_details": details},
            "error": {"message": text},
        })).unwrap();
        let rows: Vec<TaskDetail> = run.rows().to_vec();
        for names in [vec![], vec!["modeling".to_string(), "createpvc".to_string()]] {
            for t in pipeline_tasks(&rows, &names) {
                prop_assert!(!["root", "root-driver", "executor", "wf-x"].contains(&t.name.as_str()));
            }
            let failure = run.failure(&names, None).unwrap();
            prop_assert!(printable(&failure) && !failure.contains('\n'), "{}", failure);
        }
    }

    #[test]
    fn package_text_of_any_text_is_checked(text in "[\\PC\\n]{0,300}") {
        use crypto_lab::kfp::{backend, package::PackageSpec};
        match PackageSpec::parse(text.as_bytes()) {
            Ok(spec) => {
                let _ = (spec.platform_keys(), spec.root_tasks(), spec.declared_parameters());
            }
            Err(e) => prop_assert!(!e.is_empty()),
        }
        let _ = text.parse::<backend::KfpVersion>();
    }
}
