//! A pipeline package as a KFP backend reads it: the bytes `submit` uploads,
//! parsed once (YAML by a maintained parser, any style: flow maps, anchors,
//! any indentation; or the JSON form), and the facts `submit` needs from
//! them: the run parameters it declares, its root tasks and the keys of its
//! platform spec.

use std::collections::BTreeMap;

use serde_json::Value;

use super::backend::{platform_keys, PlatformKeys};

/// A parsed pipeline package: the pipeline spec, then the platform spec
/// when there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageSpec {
    docs: Vec<Value>,
}

impl PackageSpec {
    /// Parses a package's bytes: a YAML stream of one or two documents (the
    /// compiler's form), or JSON (`{"pipeline_spec": ..., "platform_spec":
    /// ...}`, or the pipeline spec alone). The error is the parser's.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 text: {e}"))?;
        if text.trim_start().starts_with('{') {
            let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
            let docs = match v.get("pipeline_spec") {
                Some(spec) => std::iter::once(spec.clone())
                    .chain(v.get("platform_spec").cloned())
                    .collect(),
                None => vec![v],
            };
            return Ok(PackageSpec { docs });
        }
        let docs: Vec<Value> =
            serde_saphyr::from_slice_multiple(bytes).map_err(|e| e.to_string())?;
        if docs.is_empty() {
            return Err("no YAML document".into());
        }
        Ok(PackageSpec { docs })
    }

    /// The pipeline spec (the first document).
    fn spec(&self) -> &Value {
        &self.docs[0]
    }

    /// The run parameters the pipeline declares, each with its KFP type
    /// (`STRING`, `NUMBER_DOUBLE`, ...).
    pub fn declared_parameters(&self) -> BTreeMap<String, String> {
        self.spec()
            .pointer("/root/inputDefinitions/parameters")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        let t = v["parameterType"].as_str().unwrap_or("STRING").to_string();
                        (k.clone(), t)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The task names of the root DAG, by name.
    pub fn root_tasks(&self) -> Vec<String> {
        self.spec()
            .pointer("/root/dag/tasks")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Each executor of the platform spec with the keys its config uses
    /// ([`PlatformKeys`]).
    pub fn platform_keys(&self) -> PlatformKeys {
        platform_keys(&self.docs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kfp::backend::{unsupported_keys, KfpVersion};

    fn refused(keys: &PlatformKeys, v: &str) -> Vec<&'static str> {
        unsupported_keys(keys, v.parse().expect("version"))
            .iter()
            .map(|u| u.field.name)
            .collect()
    }

    #[test]
    fn a_key_is_judged_where_it_stands_whatever_the_style() {
        // secretAsVolume.optional is known to every release; 4-space YAML
        // with indented lists, flow maps and an anchor read as kfp's own
        // 2-space block style does.
        let text = "\
# a package
root:
    inputDefinitions:
        parameters: {n: {parameterType: NUMBER_INTEGER}, name: {parameterType: STRING}}
    dag:
        tasks:
            a:
                componentRef: {name: comp-a}
            'b':
                taskInfo:
                    name: b
---
platforms:
    kubernetes:
        deploymentSpec:
            executors:
                exec-a:
                    secretAsVolume:
                        -   secretName: s
                            optional: false
                    pvcMount:
                        - &mount {mountPath: /mnt, pvcNameParameter: {taskOutputParameter: {}}}
                exec-b: {securityContext: {runAsUser: 1000}, pvcMount: [*mount]}
";
        let spec = PackageSpec::parse(text.as_bytes()).expect("parse");
        let keys = spec.platform_keys();
        assert_eq!(
            refused(&keys, "2.2.0"),
            ["pvcNameParameter", "securityContext", "pvcNameParameter"],
            "{keys:?}"
        );
        assert_eq!(spec.root_tasks(), ["a", "b"]);
        let declared = spec.declared_parameters();
        assert_eq!(declared["n"], "NUMBER_INTEGER");
        assert_eq!(declared["name"], "STRING");
    }

    #[test]
    fn the_export_reads_the_same_as_yaml_and_as_json() {
        let opts = crate::kfp::ExportOptions {
            kfp_version: KfpVersion::new(2, 17, 0),
            data: crate::kfp::export::DataForm::Volume,
            ..Default::default()
        };
        let text = crate::kfp::pipeline_yaml(&opts).expect("export");
        let (spec, platform) = crate::kfp::export::v2::pipeline(&opts);
        let platform = platform.expect("the volume form has a platform spec");
        let from_text = PackageSpec::parse(text.as_bytes()).expect("yaml");
        let json = json_package(&spec, &platform);
        let from_json = PackageSpec::parse(json.as_bytes()).expect("json");
        assert_eq!(from_text, from_json);
        for v in ["2.0", "2.4.0", "2.14", "2.15", "2.16"] {
            assert_eq!(
                refused(&from_text.platform_keys(), v),
                refused(&platform_keys(&[spec.clone(), platform.clone()]), v),
                "{v}"
            );
        }
        assert!(refused(&from_text.platform_keys(), "2.14").contains(&"optional"));
        assert!(refused(&from_text.platform_keys(), "2.4.0").contains(&"pvcNameParameter"));
        let tasks: Vec<String> = spec["root"]["dag"]["tasks"]
            .as_object()
            .expect("tasks")
            .keys()
            .cloned()
            .collect();
        assert_eq!(from_text.root_tasks(), tasks);
        assert_eq!(
            from_text.declared_parameters()["learning_rate"],
            "NUMBER_DOUBLE"
        );
        assert!(PackageSpec::parse(b"not: [yaml").is_err());
        assert!(PackageSpec::parse(b"").is_err());
        assert!(PackageSpec::parse(&[0xff, 0xfe]).is_err());
    }

    fn json_package(spec: &Value, platform: &Value) -> String {
        serde_json::json!({"pipeline_spec": spec, "platform_spec": platform}).to_string()
    }
}
