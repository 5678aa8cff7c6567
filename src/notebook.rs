//! What the notebook needs besides the stages: where its data lives, its
//! Kubeflow settings from the environment a teacher sets, and whether its
//! cells still compute what the crate's functions compute (a pipeline on
//! Kubeflow runs the crate's, never a cell's).

use std::path::PathBuf;

use crate::args::DATA_ENV;
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
        }
    }
}

/// Which of the notebook's functions compute something other than the
/// crate's, tried on `bars` (get_features) and on a fixed set of rows
/// (the feval): the names of those that differ. A pipeline exported to
/// Kubeflow runs the crate's functions, so an edit made in a cell ships
/// only once it is moved into the crate and the image is rebuilt.
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
        let close: Vec<f64> = (0..400).map(|i| 50.0 + (i as f64 * 0.2).cos()).collect();
        AssetBars {
            asset_id: 1,
            timestamp: (0..400).map(|i| 1_619_000_000 + 60 * i).collect(),
            open: close.iter().map(|c| c + 0.05).collect(),
            high: close.iter().map(|c| c + 0.3).collect(),
            low: close.iter().map(|c| c - 0.3).collect(),
            target: vec![0.0; 400],
            close,
        }
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
