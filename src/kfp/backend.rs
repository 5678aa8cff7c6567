//! Which KFP backend release accepts what: the export leaves out what a
//! backend would reject, and `submit` checks a package against the server
//! it is about to send it to.
//!
//! Read from kubeflow/pipelines' backend source at each tag (the fact sheet
//! is `docs/kfp-backends.md`). Three behaviours towards a field of the
//! Kubernetes platform spec the backend's proto does not know:
//! - 2.0.0 to 2.4.0: the driver parses the executor's config strictly, so
//!   the step fails at its driver once the run reaches it;
//! - 2.4.1 to 2.5.x: the driver ignores unknown fields (the feature is
//!   silently lost);
//! - 2.14.0 on: the API server compiles the run strictly, so creating the
//!   run fails (HTTP 500) before anything starts.
//!
//! There are no backend releases between 2.5 and 2.14.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

/// A KFP backend release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KfpVersion {
    /// Major (2 for every backend this exporter targets).
    pub major: u32,
    /// Minor.
    pub minor: u32,
    /// Patch.
    pub patch: u32,
}

impl KfpVersion {
    /// A release.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        KfpVersion {
            major,
            minor,
            patch,
        }
    }

    /// The oldest backend of KFP 2; an export for it runs on every 2.x
    /// backend (the export's default).
    pub const WIDEST: KfpVersion = KfpVersion::new(2, 0, 0);
    /// The newest backend whose source this exporter was checked against.
    pub const NEWEST_CHECKED: KfpVersion = KfpVersion::new(2, 17, 0);

    /// Whether the backend's driver applies kfp-kubernetes' `securityContext`
    /// (`runAsUser`, `runAsGroup`), added in 2.16.0.
    pub fn applies_security_context(self) -> bool {
        self.knows("securityContext")
    }

    /// Whether the backend rejects a platform-spec field its proto lacks
    /// (2.0.0-2.4.0 at the driver, 2.14.0 on at run creation).
    pub fn is_strict(self) -> bool {
        self <= KfpVersion::new(2, 4, 0) || self >= KfpVersion::new(2, 14, 0)
    }

    /// Whether platform-spec field `field` (a [`FIELDS`] name) is known to
    /// this backend.
    pub fn knows(self, field: &str) -> bool {
        FIELDS
            .iter()
            .find(|f| f.name == field)
            .is_none_or(|f| self >= f.since)
    }

    /// How this backend meets a field it does not know, in words.
    pub fn rejection(self) -> &'static str {
        if self >= KfpVersion::new(2, 14, 0) {
            "the API server refuses to create the run (HTTP 500, failed to unmarshal kubernetes config)"
        } else {
            "the step's driver fails when the run reaches it"
        }
    }
}

impl fmt::Display for KfpVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl FromStr for KfpVersion {
    type Err = String;

    /// `2.5`, `2.5.0`, `v2.5.0` or a tag with a suffix (`2.5.0-rc.1`).
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "`{}`: expected a KFP backend release such as 2.5 or 2.16.0",
                crate::error::printable(s)
            )
        };
        let t = s.trim().trim_start_matches('v');
        let core = t.split(['-', '+']).next().unwrap_or("");
        let mut parts = core.split('.');
        let mut next = |required: bool| -> Result<u32, String> {
            match parts.next() {
                Some(p)
                    if !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    p.parse().map_err(|_| bad())
                }
                None if !required => Ok(0),
                _ => Err(bad()),
            }
        };
        let v = KfpVersion::new(next(true)?, next(true)?, next(false)?);
        if parts.next().is_some() {
            return Err(bad());
        }
        if v.major != 2 {
            return Err(format!(
                "{v}: this exporter writes KFP 2 pipelines (backends 2.0 to {}); for a KFP 1.x \
                 cluster upload v1/pipeline.yaml from export-kfp's output folder (an Argo \
                 workflow)",
                KfpVersion::NEWEST_CHECKED
            ));
        }
        Ok(v)
    }
}

/// A platform-spec field that not every backend knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Its JSON name in the executor's config (the path's last part).
    pub name: &'static str,
    /// Where it sits, for messages.
    pub path: &'static str,
    /// The first backend whose proto has it.
    pub since: KfpVersion,
}

/// The newer fields the export may write, each with the first backend that
/// knows it (kubernetes_executor_config.proto at each tag; before 2.5 the
/// proto compiled in is the one go.mod pins, not the tag's copy).
pub const FIELDS: [Field; 4] = [
    Field {
        name: "securityContext",
        path: "securityContext",
        since: KfpVersion::new(2, 16, 0),
    },
    Field {
        name: "pvcNameParameter",
        path: "pvcMount[].pvcNameParameter",
        since: KfpVersion::new(2, 5, 0),
    },
    Field {
        name: "secretNameParameter",
        path: "secretAsEnv[].secretNameParameter",
        since: KfpVersion::new(2, 5, 0),
    },
    Field {
        name: "optional",
        path: "secretAsEnv[].optional",
        since: KfpVersion::new(2, 15, 0),
    },
];

/// A field of a package's platform spec that `backend` rejects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// The executor whose config has it.
    pub executor: String,
    /// The field.
    pub field: Field,
}

/// Each executor of a package's platform spec with the keys its config
/// uses: its own (`securityContext`) and, qualified by their parent, those
/// one level down (`pvcMount.pvcNameParameter`, `secretAsEnv.optional`), so
/// a key of the same name elsewhere (`secretAsVolume.optional`, known to
/// every release) is not taken for a newer field.
pub type PlatformKeys = Vec<(String, Vec<String>)>;

impl Field {
    /// The key [`PlatformKeys`] holds for it: its path without `[]`.
    pub fn key(&self) -> String {
        self.path.replace("[]", "")
    }
}

/// The platform keys of a package's documents as JSON (the platform spec is
/// the one with `platforms`).
pub fn platform_keys(docs: &[Value]) -> PlatformKeys {
    let executors = docs
        .iter()
        .filter_map(|d| d.pointer("/platforms/kubernetes/deploymentSpec/executors"))
        .filter_map(Value::as_object)
        .flatten();
    let mut out = Vec::new();
    for (executor, cfg) in executors {
        let mut names: Vec<String> = Vec::new();
        for (key, value) in cfg.as_object().into_iter().flatten() {
            names.push(key.clone());
            let children: Vec<&serde_json::Map<String, Value>> = match value {
                Value::Array(items) => items.iter().filter_map(Value::as_object).collect(),
                Value::Object(m) => vec![m],
                _ => Vec::new(),
            };
            for child in children {
                names.extend(child.keys().map(|k| format!("{key}.{k}")));
            }
        }
        out.push((executor.clone(), names));
    }
    out
}

/// The fields of a package (its platform keys) that `backend` would
/// reject. Empty on backends that ignore unknown fields.
pub fn unsupported_keys(keys: &PlatformKeys, backend: KfpVersion) -> Vec<Unsupported> {
    let mut found = Vec::new();
    if !backend.is_strict() {
        return found;
    }
    for (executor, names) in keys {
        for field in FIELDS {
            let key = field.key();
            if names.contains(&key) && !backend.knows(field.name) {
                found.push(Unsupported {
                    executor: executor.clone(),
                    field,
                });
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn versions_parse_and_order() {
        let v: KfpVersion = "2.5".parse().expect("2.5");
        assert_eq!(v, KfpVersion::new(2, 5, 0));
        assert_eq!("v2.4.1".parse::<KfpVersion>(), Ok(KfpVersion::new(2, 4, 1)));
        assert_eq!(
            "2.16.0-rc.1".parse::<KfpVersion>(),
            Ok(KfpVersion::new(2, 16, 0))
        );
        for bad in ["", "2", "two.five", "2.5.0.1", "2.x", "2..1", "2.5\n: x"] {
            assert!(bad.parse::<KfpVersion>().is_err(), "{bad:?}");
        }
        let e = "1.8".parse::<KfpVersion>().expect_err("1.x");
        assert!(e.contains("v1/pipeline.yaml"), "{e}");
        assert!(KfpVersion::new(2, 4, 1) > KfpVersion::new(2, 4, 0));
    }

    #[test]
    fn strict_ranges_follow_the_source() {
        let strict = |s: &str| s.parse::<KfpVersion>().expect("v").is_strict();
        assert!(strict("2.0.0") && strict("2.2.0") && strict("2.4.0"));
        assert!(!strict("2.4.1") && !strict("2.5.0"));
        assert!(strict("2.14.0") && strict("2.15.0") && strict("2.17.0"));
        assert!(!KfpVersion::new(2, 15, 0).applies_security_context());
        assert!(KfpVersion::new(2, 16, 0).applies_security_context());
    }

    #[test]
    fn unsupported_fields_are_found_per_backend() {
        let platform = json!({"platforms": {"kubernetes": {"deploymentSpec": {"executors": {
            "exec-a": {"pvcMount": [{"mountPath": "/mnt", "pvcNameParameter": {}}],
                       "securityContext": {"runAsUser": "1000"}},
            "exec-b": {"secretAsEnv": [{"secretName": "s", "optional": false}]},
        }}}}});
        let docs = [json!({}), platform];
        let names = |v: &str| -> Vec<&str> {
            unsupported_keys(&platform_keys(&docs), v.parse().expect("v"))
                .iter()
                .map(|u| u.field.name)
                .collect()
        };
        assert_eq!(
            names("2.4.0"),
            ["securityContext", "pvcNameParameter", "optional"]
        );
        assert!(names("2.4.1").is_empty() && names("2.5.0").is_empty());
        assert_eq!(names("2.14.0"), ["securityContext", "optional"]);
        assert_eq!(names("2.15.0"), ["securityContext"]);
        assert!(names("2.16.0").is_empty());
    }
}
