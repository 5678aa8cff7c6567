//! What the notebook needs besides the stages: where its data lives, its
//! Kubeflow settings from the environment a teacher sets, and whether its
//! cells still compute what the crate's functions compute (a pipeline on
//! Kubeflow runs the crate's, never a cell's).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use polars::prelude::{Column, DataFrame};

use crate::args::DATA_ENV;
use crate::error::{Error, Result};
use crate::kfp::client::{submit, Credentials, KfpClient, Package, SubmitOptions};
use crate::kfp::export::edited::function_with_callees;
use crate::kfp::export::{EditedCode, EditedFunction};
use crate::kfp::ExportOptions;
use crate::stages::feature_engineering::{
    get_features as crate_get_features, AssetBars, FeatureColumn, FeatureOptions, Features,
    GetFeatures,
};
use crate::stages::modeling::Feval;

/// The notebook's data path when `CRYPTO_LAB_DATA` is unset: the folder
/// `data/notebook` of the checkout (Jupyter starts the kernel in
/// `notebooks/`), beside the CLI's default `data`, so the notebook's short
/// synthetic period never replaces what `crypto-lab run` made.
pub const DEFAULT_DATA: &str = "../data/notebook";

/// The notebook's data path: `$CRYPTO_LAB_DATA` when set (the CLI and the
/// scripts read the same variable, so one setting serves all three), else
/// [`DEFAULT_DATA`].
pub fn data_path() -> PathBuf {
    std::env::var_os(DATA_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA))
}

/// The Kubeflow cell's settings, each from an environment variable a
/// teacher sets before starting Jupyter; nothing is sent anywhere unless
/// `KFP_HOST` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeflowSettings {
    /// `KFP_HOST`: the KFP API or UI, e.g. `http://localhost:8080` (a
    /// port-forward) or `http://ml-pipeline.kubeflow:8888` in the cluster.
    pub host: Option<String>,
    /// `KFP_NAMESPACE`: the profile namespace of a multi-user cluster.
    pub namespace: Option<String>,
    /// `CRYPTO_LAB_IMAGE`: the image holding the `crypto-lab` binary.
    pub image: String,
    /// `KFP_STORAGE_CLASS`: the storage class of the pipeline's volume.
    pub storage_class: Option<String>,
    /// `CRYPTO_LAB_DEV_IMAGE`: the image for steps that run an edited
    /// function (the Dockerfile's `dev` target).
    pub dev_image: String,
    /// How long [`submit`](Self::submit) waits between looks at a running
    /// run: 10 seconds.
    pub poll: Duration,
}

impl KubeflowSettings {
    /// The settings from this process's environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The settings from `lookup` (a variable's value, if set); empty
    /// values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        KubeflowSettings {
            host: get("KFP_HOST"),
            namespace: get("KFP_NAMESPACE"),
            image: get("CRYPTO_LAB_IMAGE")
                .unwrap_or_else(|| crate::kfp::ExportOptions::default().image),
            storage_class: get("KFP_STORAGE_CLASS"),
            dev_image: get("CRYPTO_LAB_DEV_IMAGE")
                .unwrap_or_else(|| crate::kfp::ExportOptions::default().dev_image),
            poll: Duration::from_secs(10),
        }
    }

    /// The notebook's last cell: sends `pipeline` to `KFP_HOST` (exported
    /// for the release the server reports), starts a run with the run
    /// parameters `params`, prints each step as it changes, waits for the
    /// run (two hours at most) and says in a sentence how it ended. Without
    /// `KFP_HOST` nothing is sent, and the sentence says so. The cell stays
    /// one line: a student reads what it does here, not in a `match`.
    pub fn submit(
        &self,
        pipeline: &ExportOptions,
        params: &[(&str, &str)],
    ) -> crate::kfp::client::Result<String> {
        let Some(host) = &self.host else {
            return Ok(
                "KFP_HOST is not set: nothing sent. Upload the pipeline.yaml written above \
                       in the KFP UI, or set KFP_HOST (and KFP_NAMESPACE on a multi-user \
                       cluster) before starting Jupyter to send it from here."
                    .to_string(),
            );
        };
        let credentials = Credentials::lookup(None, None)?;
        let api = KfpClient::new(host, credentials)?;
        let opts = SubmitOptions {
            namespace: self.namespace.clone(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            wait: true,
            timeout: Some(Duration::from_secs(2 * 3600)),
            poll: self.poll,
            ..SubmitOptions::default()
        };
        let package = Package::Export(pipeline.clone());
        let done = submit(&api, &package, &opts, &mut |event| println!("{event}"))?;
        Ok(match done.failure(self.namespace.as_deref()) {
            Some(failure) => format!("run {} {failure}", done.run_id),
            None => format!("run {} succeeded: {}", done.run_id, done.link),
        })
    }
}

/// Runs `work`, then prints `done` and the seconds it took
/// (`-- DATA LOADED -- (0.4s)`, the lab's cells' closing lines), and returns
/// what `work` returned: `let loaded = timed("-- DATA LOADED --", || load_data(&data))?;`.
pub fn timed<T>(done: &str, work: impl FnOnce() -> T) -> T {
    let clock = Instant::now();
    let out = work();
    println!("{done} ({:.1}s)", clock.elapsed().as_secs_f64());
    out
}

/// The instant `text` names, `YYYY-MM-DD[THH:MM[:SS]]` in UTC (or unix
/// seconds), for a cell's `?`: `valid_from: date("2021-05-04")?`. A text
/// that is not a real date is an error that quotes it and shows the form.
pub fn date(text: &str) -> Result<i64> {
    text.parse::<crate::calendar::UtcInstant>()
        .map(|t| t.0)
        .map_err(Error::BadArgument)
}

/// Column `name` of `df`, found by comparing names. Use it on a frame kept
/// from an earlier cell: polars' own `df.column(name)` looks the name up in
/// a cache that the next cell's copy of polars cannot read, and misses. The
/// error names the column and lists the frame's.
pub fn column<'a>(df: &'a DataFrame, name: &str) -> Result<&'a Column> {
    crate::columns::find_column(df, name).ok_or_else(|| {
        let names: Vec<&str> = df.columns().iter().map(|c| c.name().as_str()).collect();
        Error::BadArgument(format!(
            "no column `{}` in this frame; its columns: {}",
            crate::error::printable(name),
            names.join(", ")
        ))
    })
}

/// The data path's runs table as a frame to show, one row a run
/// ([`crate::runs`]).
pub fn runs_frame(data_path: &Path) -> Result<DataFrame> {
    crate::runs::to_frame(&crate::runs::read(data_path)?)
}

/// Which of the notebook's functions compute something other than the
/// crate's, tried on `bars` (get_features) and on a fixed set of rows
/// (the feval): the names of those that differ, which [`edited_code`] ships
/// in the pipeline as Rust lightweight components.
pub fn edited_functions(
    get_features: GetFeatures,
    feval: Feval,
    bars: &AssetBars,
) -> Vec<&'static str> {
    let mut edited = Vec::new();
    let opts = FeatureOptions::default();
    if !same_features(&get_features(bars, &opts), &crate_get_features(bars, &opts)) {
        edited.push("get_features");
    }
    if !crate::stages::modeling::is_crate_feval(feval) {
        edited.push("weighted_correlation");
    }
    edited
}

/// Where the kernel keeps the crate it compiles the notebook's cells into
/// (notebooks/evcxr.toml's `tmpdir`, relative to the notebook's folder):
/// its `src/lib.rs` holds every function the cells define, as compiled.
pub const KERNEL_CRATE: &str = ".evcxr";

/// A small, fixed set of bars to tell functions apart by what they compute.
fn probe_bars() -> AssetBars {
    let close: Vec<f64> = (0..400).map(|i| 50.0 + (i as f64 * 0.2).cos()).collect();
    AssetBars {
        asset_id: 1,
        timestamp: (0..400).map(|i| 1_619_000_000 + 60 * i).collect(),
        // Not a shift of close: an RSI over it differs from one over close.
        open: (0..400)
            .map(|i| close[i] + 0.05 * (i as f64 * 0.9).sin())
            .collect(),
        high: close.iter().map(|c| c + 0.3).collect(),
        low: close.iter().map(|c| c - 0.3).collect(),
        target: (0..400).map(|i| (i as f64 * 0.7).sin() * 1e-3).collect(),
        close,
    }
}

/// The pipeline's edited code from the notebook's functions: each that
/// computes something other than the crate's (tried on fixed bars and rows)
/// with its source and that of the notebook functions it calls, as the
/// kernel compiled them. `(name, function)` pairs; the macro
/// [`crate::notebook_functions`] writes them from the names.
///
/// Each edited step's program is then built here against the checkout
/// (the kernel runs in `notebooks/`, beside it), as the dev image will build
/// it: a function whose text does not compile as a step's program is caught
/// in the notebook, not on the cluster. Without rust-script on PATH that
/// check is left to the step.
pub fn edited_code(get_features: (&str, GetFeatures), feval: (&str, Feval)) -> Result<EditedCode> {
    let code = edited_code_in(std::path::Path::new(KERNEL_CRATE), get_features, feval)?;
    let has_rust_script = std::process::Command::new("rust-script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !code.is_empty() && has_rust_script {
        let source = crate::kfp::runtime::script::source_dir_from(Some("..".into()))?;
        crate::kfp::export::edited::check_builds(&code, &source)?;
    }
    Ok(code)
}

/// [`edited_code`] with the kernel's crate at `kernel_crate`.
pub fn edited_code_in(
    kernel_crate: &std::path::Path,
    get_features: (&str, GetFeatures),
    feval: (&str, Feval),
) -> Result<EditedCode> {
    let edited = edited_functions(get_features.1, feval.1, &probe_bars());
    let lib = kernel_crate.join("src/lib.rs");
    let mut code = EditedCode::default();
    for (which, name) in [
        ("get_features", get_features.0),
        ("weighted_correlation", feval.0),
    ] {
        if !edited.contains(&which) {
            continue;
        }
        let text = std::fs::read_to_string(&lib).map_err(|e| {
            Error::io(
                &lib,
                "cannot read the kernel's crate (notebooks/evcxr.toml keeps it in .evcxr)",
                e,
            )
        })?;
        let f = Some(EditedFunction {
            name: name.to_string(),
            source: function_with_callees(&text, name).ok_or_else(|| {
                Error::BadArgument(format!(
                    "{}: no `fn {name}` in the kernel's crate: run its cell first",
                    lib.display()
                ))
            })?,
        });
        match which {
            "get_features" => code.get_features = f,
            _ => code.feval = f,
        }
    }
    Ok(code)
}

/// Whether two feature tables hold the same names and the same bits (NaN
/// equal to NaN, as it is in a file).
pub fn same_features(a: &Features, b: &Features) -> bool {
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    a.timestamp == b.timestamp
        && a.asset_id == b.asset_id
        && a.train_flg == b.train_flg
        && bits(&a.target) == bits(&b.target)
        && a.columns.len() == b.columns.len()
        && a.columns
            .iter()
            .zip(&b.columns)
            .all(|((na, ca), (nb, cb))| {
                na == nb
                    && match (ca, cb) {
                        (FeatureColumn::Float(x), FeatureColumn::Float(y)) => bits(x) == bits(y),
                        (FeatureColumn::Int(x), FeatureColumn::Int(y)) => x == y,
                        _ => false,
                    }
            })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars() -> AssetBars {
        probe_bars()
    }

    fn rsi_on_open(bars: &AssetBars, opts: &FeatureOptions) -> Features {
        let mut f = crate_get_features(bars, opts);
        f.add("RSI_30", crate::indicators::rsi(&bars.open, 30));
        f
    }

    fn plain_correlation(a: &[f64], b: &[f32], _w: &[f64]) -> f64 {
        crate::scoring::weighted_correlation(a, b, &vec![1.0; a.len()])
    }

    #[test]
    fn a_column_is_found_by_name_and_a_missing_one_is_named() {
        let df = crate::columns::frame(vec![
            crate::columns::col("Close", vec![1.0, 2.0]),
            crate::columns::col("Open", vec![1.5, 2.5]),
        ])
        .unwrap();
        assert_eq!(column(&df, "Open").unwrap().len(), 2);
        let err = column(&df, "close").unwrap_err().to_string();
        assert_eq!(
            err,
            "no column `close` in this frame; its columns: Close, Open"
        );
    }

    #[test]
    fn a_date_parses_and_a_mistyped_one_is_quoted() {
        assert_eq!(date("2021-05-01").unwrap(), crate::contract::VALID_FROM);
        let err = date("2021-13-04").unwrap_err().to_string();
        assert!(
            err.starts_with("`2021-13-04`: expected a real date YYYY-MM-DD"),
            "{err}"
        );
    }

    #[test]
    fn timed_returns_what_its_work_returned() {
        assert_eq!(timed("-- DONE --", || 41 + 1), 42);
    }

    #[test]
    fn edits_are_told_apart_from_the_crates_functions() {
        let b = bars();
        let crate_feval: Feval = crate::scoring::weighted_correlation;
        assert!(edited_functions(crate_get_features, crate_feval, &b).is_empty());
        assert_eq!(
            edited_functions(rsi_on_open, crate_feval, &b),
            ["get_features"]
        );
        assert_eq!(
            edited_functions(crate_get_features, plain_correlation, &b),
            ["weighted_correlation"]
        );
    }

    const KERNEL_LIB: &str = "use crypto_lab::prelude::*;\n\
/// The lab's get_features.\n\
fn get_features(bars: &AssetBars, opts: &FeatureOptions) -> Features {\n\
    let s = \"}{\"; // braces in a string\n\
    let c = '}';\n\
    crypto_lab::prelude::get_features(bars, opts)\n\
}\n\
\n\
fn get_features_rsi15<'a>(bars: &'a AssetBars, opts: &FeatureOptions) -> Features {\n\
    let mut df_feat = get_features(bars, opts);\n\
    /* } */ df_feat.add(\"RSI_15\", rsi(&bars.close, 15));\n\
    df_feat\n\
}\n\
fn unrelated() {}\n";

    #[test]
    fn a_function_is_taken_whole_with_the_notebook_functions_it_calls() {
        let text = function_with_callees(KERNEL_LIB, "get_features_rsi15").expect("found");
        assert!(text.starts_with("fn get_features_rsi15<'a>"), "{text}");
        assert!(
            text.contains("/// The lab's get_features.\nfn get_features("),
            "{text}"
        );
        // (the constant's lines lose their indentation to the `\` line ends)
        assert!(text.contains("let c = '}';\ncrypto_lab::prelude::get_features(bars, opts)\n}"));
        assert!(!text.contains("unrelated"), "{text}");
        assert_eq!(function_with_callees(KERNEL_LIB, "missing"), None);
    }

    #[test]
    fn the_edited_code_names_only_the_functions_that_compute_otherwise() {
        let dir = std::env::temp_dir().join(format!("crypto-lab-kernel-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("src")).expect("dir");
        let lib =
            KERNEL_LIB.replace("fn unrelated", "fn rsi_on_open") + "fn plain_correlation() {}\n";
        std::fs::write(dir.join("src/lib.rs"), lib).expect("write");
        let crate_feval: Feval = crate::scoring::weighted_correlation;
        let code = edited_code_in(
            &dir,
            ("get_features", crate_get_features),
            ("weighted_correlation", crate_feval),
        )
        .expect("code");
        assert!(code.is_empty());
        let code = edited_code_in(
            &dir,
            ("rsi_on_open", rsi_on_open),
            ("plain_correlation", plain_correlation),
        )
        .expect("code");
        assert_eq!(code.get_features.expect("edited").name, "rsi_on_open");
        assert_eq!(code.feval.expect("edited").name, "plain_correlation");
        let err = edited_code_in(
            &dir.join("nowhere"),
            ("rsi_on_open", rsi_on_open),
            ("w", crate_feval),
        )
        .expect_err("no kernel crate");
        assert!(err.to_string().contains(".evcxr"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn kubeflow_settings_come_from_the_variables() {
        let s = KubeflowSettings::from_lookup(|name| match name {
            "KFP_HOST" => Some("http://localhost:8080".into()),
            "KFP_STORAGE_CLASS" => Some(" ".into()),
            _ => None,
        });
        assert_eq!(s.host.as_deref(), Some("http://localhost:8080"));
        assert_eq!(s.storage_class, None);
        assert!(s.image.starts_with("crypto-lab:"));
    }
}
