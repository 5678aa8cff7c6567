//! CPU and memory for each step: requests a namespace's ResourceQuota
//! needs (a Kubeflow profile can set one, and then a pod without requests is
//! refused) and memory limits from the measured peaks, written in the IR
//! fields each backend release reads.
//!
//! Defaults: the memory request is about one and a half times the stage's
//! peak at the competition's full size (bench/results/results.md: load 1059
//! MiB, features 1490, merge 993, modeling 3053, evaluation 46) and the limit
//! twice the request; download streams the archive. CPU: a request of one
//! core, two for modeling (LightGBM's threads), and no CPU limit (a limit
//! throttles without protecting anyone).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::kfp::backend::KfpVersion;
use crate::kfp::names;
use crate::stages::STAGES;

/// One step's requests and limits (Kubernetes quantities; `None`: unset).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct StepResources {
    /// CPU request (`1`, `500m`).
    pub cpu_request: Option<String>,
    /// CPU limit.
    pub cpu_limit: Option<String>,
    /// Memory request (`2Gi`).
    pub memory_request: Option<String>,
    /// Memory limit.
    pub memory_limit: Option<String>,
}

/// Every step's resources, by the lab's stage name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Resources(pub BTreeMap<String, StepResources>);

fn step(cpu: &str, memory: &str, limit: &str) -> StepResources {
    StepResources {
        cpu_request: Some(cpu.into()),
        cpu_limit: None,
        memory_request: Some(memory.into()),
        memory_limit: Some(limit.into()),
    }
}

impl Default for Resources {
    fn default() -> Self {
        let by_stage = [
            ("download_data", step("1", "512Mi", "1Gi")),
            ("load_data", step("1", "1536Mi", "3Gi")),
            ("feature_engineering", step("1", "2Gi", "4Gi")),
            ("merge_assets_features", step("1", "1536Mi", "3Gi")),
            ("modeling", step("2", "4Gi", "8Gi")),
            ("evaluation_result", step("1", "512Mi", "1Gi")),
        ];
        Resources(
            by_stage
                .into_iter()
                .map(|(s, r)| (s.to_string(), r))
                .collect(),
        )
    }
}

/// Which resource a `--cpu`/`--memory` value sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `--cpu STEP=REQUEST[:LIMIT]`.
    Cpu,
    /// `--memory STEP=REQUEST[:LIMIT]`.
    Memory,
}

fn cpu_quantity(s: &str) -> std::result::Result<(), String> {
    let number = s.strip_suffix('m').unwrap_or(s);
    let ok = !number.is_empty()
        && number.matches('.').count() <= 1
        && number.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && number.bytes().any(|b| b != b'0' && b != b'.');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}`: expected CPU cores such as 2, 0.5 or 500m",
            crate::error::printable(s)
        ))
    }
}

impl Resources {
    /// Applies one `STEP=REQUEST[:LIMIT]` value (STEP: a stage's name or
    /// command, or `all`; an empty part leaves that value unset, so
    /// `modeling=4Gi:` drops the limit).
    pub fn set(&mut self, kind: Kind, spec: &str) -> Result<()> {
        let flag = match kind {
            Kind::Cpu => "--cpu",
            Kind::Memory => "--memory",
        };
        let bad = |why: String| Error::BadArgument(format!("{flag} {why}"));
        let (who, values) = spec.split_once('=').ok_or_else(|| {
            bad(format!(
                "`{}`: expected STEP=REQUEST[:LIMIT], e.g. modeling=4Gi:8Gi",
                crate::error::printable(spec)
            ))
        })?;
        let stages: Vec<&str> = if who == "all" {
            STAGES.iter().map(|s| s.name).collect()
        } else {
            let stage = crate::stages::find(who).ok_or_else(|| {
                bad(format!(
                    "`{}`: not a stage; the stages are {} (or `all`)",
                    crate::error::printable(who),
                    STAGES.map(|s| s.name).join(", ")
                ))
            })?;
            vec![stage.name]
        };
        let (request, limit) = match values.split_once(':') {
            Some((r, l)) => (r, Some(l)),
            None => (values, None),
        };
        let check = |q: &str| match kind {
            Kind::Cpu => cpu_quantity(q),
            Kind::Memory => names::volume_size(q),
        };
        let value = |q: &str| -> Result<Option<String>> {
            if q.is_empty() {
                return Ok(None);
            }
            check(q).map_err(bad)?;
            Ok(Some(q.to_string()))
        };
        let request = value(request)?;
        let given_limit = limit.map(value).transpose()?;
        let amount = |q: &Option<String>| {
            q.as_deref().and_then(|q| match kind {
                Kind::Cpu => cpu_cores(q),
                Kind::Memory => memory_gb(q),
            })
        };
        for stage in stages {
            let r = self.0.entry(stage.to_string()).or_default();
            let (req, lim) = match kind {
                Kind::Cpu => (&mut r.cpu_request, &mut r.cpu_limit),
                Kind::Memory => (&mut r.memory_request, &mut r.memory_limit),
            };
            *req = request.clone();
            match &given_limit {
                Some(l) => *lim = l.clone(),
                // A request alone keeps the limit, raised to it if below.
                None if amount(lim) < amount(req) && lim.is_some() => *lim = req.clone(),
                None => {}
            }
            if let (Some(a), Some(b)) = (amount(req), amount(lim)) {
                if a > b {
                    return Err(bad(format!(
                        "`{}`: the request is above the limit; Kubernetes refuses such a pod",
                        crate::error::printable(spec)
                    )));
                }
            }
        }
        Ok(())
    }

    /// `stage`'s resources as the container's `resources` in the IR, for
    /// backend `version`: the quantities as text (`resourceCpuLimit`, what
    /// 2.4 on read, taking them over the old fields) and the old numbers
    /// (`cpuLimit` in cores, `memoryLimit` in GB, what 2.0-2.3 read), as
    /// kfp's compiler writes both; before 2.4 only the numbers, since those
    /// backends refuse a pipeline with a field their proto lacks.
    pub fn ir(&self, stage: &str, version: KfpVersion) -> Option<Value> {
        let r = self.0.get(stage)?;
        let mut m = Map::new();
        let text_fields = version >= KfpVersion::new(2, 4, 0);
        let fields = [
            ("cpuRequest", "resourceCpuRequest", &r.cpu_request, false),
            ("cpuLimit", "resourceCpuLimit", &r.cpu_limit, false),
            (
                "memoryRequest",
                "resourceMemoryRequest",
                &r.memory_request,
                true,
            ),
            ("memoryLimit", "resourceMemoryLimit", &r.memory_limit, true),
        ];
        for (old, new, value, memory) in fields {
            let Some(q) = value else { continue };
            let number = if memory { memory_gb(q) } else { cpu_cores(q) };
            if let Some(n) = number {
                m.insert(old.into(), json!(n));
            }
            if text_fields {
                m.insert(new.into(), json!(q));
            }
        }
        (!m.is_empty()).then_some(Value::Object(m))
    }
}

/// Cores of a CPU quantity (`500m` = 0.5), as kfp's `_cpu_to_float`.
fn cpu_cores(q: &str) -> Option<f64> {
    match q.strip_suffix('m') {
        Some(milli) => milli.parse::<f64>().ok().map(|v| v / 1000.0),
        None => q.parse().ok(),
    }
}

/// Decimal gigabytes of a memory quantity (`4Gi` = 4.294967296), as kfp's
/// `_memory_to_float`: what the older field's unit is.
fn memory_gb(q: &str) -> Option<f64> {
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(q.len());
    let (number, suffix) = q.split_at(split);
    let n: f64 = number.parse().ok()?;
    let bytes = match suffix {
        "" => 1.0,
        "k" | "K" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        _ => return None,
    };
    Some(n * bytes / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_set_one_step_or_all_and_bad_values_are_refused() {
        let mut r = Resources::default();
        r.set(Kind::Memory, "modeling=6Gi:12Gi").expect("memory");
        r.set(Kind::Cpu, "all=500m:").expect("cpu");
        let m = &r.0["modeling"];
        assert_eq!(m.memory_request.as_deref(), Some("6Gi"));
        assert_eq!(m.memory_limit.as_deref(), Some("12Gi"));
        assert_eq!(r.0["load_data"].cpu_request.as_deref(), Some("500m"));
        // A request alone keeps the limit, raised to it when below.
        r.set(Kind::Memory, "modeling=16Gi").expect("request");
        assert_eq!(r.0["modeling"].memory_limit.as_deref(), Some("16Gi"));
        r.set(Kind::Memory, "load_data=1Gi").expect("request");
        assert_eq!(r.0["load_data"].memory_limit.as_deref(), Some("3Gi"));
        for bad in [
            "modeling",
            "nope=1Gi",
            "modeling=16GB",
            "modeling=x:1Gi",
            "modeling=16Gi:8Gi",
        ] {
            assert!(r.set(Kind::Memory, bad).is_err(), "{bad}");
        }
        assert!(r.set(Kind::Cpu, "modeling=0").is_err());
    }

    #[test]
    fn old_backends_get_numbers_only_and_new_ones_both_as_kfp_writes() {
        let mut r = Resources::default();
        r.set(Kind::Memory, "modeling=4Gi:14Gi").expect("memory");
        r.set(Kind::Cpu, "modeling=2:4").expect("cpu");
        let old = r.ir("modeling", KfpVersion::new(2, 3, 0)).expect("old");
        assert_eq!(old["memoryLimit"], json!(15.032385536));
        assert_eq!(old["cpuLimit"], json!(4.0));
        assert!(old.get("resourceMemoryLimit").is_none());
        let new = r.ir("modeling", KfpVersion::new(2, 4, 0)).expect("new");
        assert_eq!(new["resourceMemoryLimit"], json!("14Gi"));
        assert_eq!(new["memoryRequest"], json!(4.294967296));
    }
}
