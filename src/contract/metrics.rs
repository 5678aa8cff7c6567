//! What evaluation_result publishes: the lab's `mlpipeline-metrics`
//! document, which the KFP executor output, the run summary and the
//! notebook read back.

use serde::{Deserialize, Serialize};

use super::training::TrainingHistory;

/// One entry of the KFP v1 metrics file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// Metric name shown in the KFP UI.
    pub name: String,
    /// Its value.
    #[serde(rename = "numberValue")]
    pub number_value: f64,
    /// Display format (`RAW` or `PERCENTAGE`).
    pub format: String,
}

/// The lab's `mlpipeline-metrics` document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// The metrics, rmse first.
    pub metrics: Vec<Metric>,
}

impl Metrics {
    /// The lab's two metrics from a training record.
    pub fn from_history(history: &TrainingHistory) -> Self {
        let metric = |name: &str, v: f64| Metric {
            name: name.to_string(),
            number_value: v,
            format: "RAW".to_string(),
        };
        Metrics {
            metrics: vec![
                metric("root-mean-squared-error", history.rmse),
                metric("weighted-correlation", history.weighted_correlation),
            ],
        }
    }

    /// The value of a metric by name.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.metrics
            .iter()
            .find(|m| m.name == name)
            .map(|m| m.number_value)
    }
}
