//! No input makes a panic: the date parser, the model options a user types
//! and the train.csv line parser take any text and answer with a value or an
//! error.

mod common;

use common::TempDir;
use crypto_lab::calendar::{format_instant, parse_instant, YEARS};
use crypto_lab::model_params::ModelParams;
use crypto_lab::synth::SynthOptions;
use crypto_lab::train_csv::read_train_csv_from;
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
            let dir = TempDir::new("prop-synth");
            prop_assert!(crypto_lab::synth::synth(dir.path(), &opts, &crypto_lab::progress::Silent).is_err());
        }
    }

    #[test]
    fn train_csv_lines_of_any_bytes_are_read_or_refused(line in proptest::collection::vec(any::<u8>(), 0..120)) {
        let dir = TempDir::new("prop-csv");
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
