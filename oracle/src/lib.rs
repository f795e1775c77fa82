//! Test-only oracle of the Kubernetes API server's Pod CREATE validation.
//!
//! `ValidatePodCreate` of kubernetes/kubernetes
//! `pkg/apis/core/validation/validation.go`, and the helpers it calls,
//! ported rule by rule for Kubernetes 1.29 to 1.36 with every feature gate
//! at its default for the version (see [`GATES`]). The Pod is first
//! decoded (type errors and unparsable quantities refused, fields the
//! version does not know dropped), defaulted as the API server decodes it
//! (`SetDefaults_*` of pkg/apis/core/v1/defaults.go), stripped of the
//! fields whose gate is off (`dropDisabledFields` of pkg/api/pod/util.go),
//! then validated. README.md lists what is ported and what is not.

mod decode;
mod defaults;
mod gates;
mod names;
mod quantity;
mod rules;

pub use gates::{GATES, Gate};
pub use quantity::{Format, Quantity, parse_quantity};

use serde_json::Value;
use std::fmt;

/// A Kubernetes minor version, 29..=36 (1.29 to 1.36), with the feature
/// gates at their default for that version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32); // Version(33) is 1.33

/// The versions the oracle models.
pub const VERSIONS: std::ops::RangeInclusive<u32> = 29..=36;

impl Version {
    /// The default of feature gate `name` in this version (see [`GATES`]).
    pub fn gate(self, name: &str) -> bool {
        gates::enabled(name, self.0)
    }

    /// Every modelled version, 1.29 to 1.36.
    pub fn all() -> impl Iterator<Item = Version> {
        VERSIONS.map(Version)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "1.{}", self.0)
    }
}

/// One error of the API server's answer (a field.Error).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The field path as field.Path renders it, e.g.
    /// `spec.initContainers[2].volumeMounts[0].mountPath`.
    pub path: String,
    /// Required | Invalid | Duplicate | Forbidden | NotSupported | TooLong | NotFound
    pub kind: &'static str,
    pub message: String,
    /// The Go function that reports it, e.g. "validateVolumeMounts"; "decode"
    /// for a value of the wrong JSON type, "ParseQuantity" for a quantity
    /// that does not parse (both refused while decoding, before validation).
    pub rule: &'static str,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {} [{}]",
            self.path, self.kind, self.message, self.rule
        )
    }
}

/// The defaulting alone: what the API server's decoder sets on a v1 Pod
/// (the `SetDefaults_*` functions validation depends on), as 1.36 does.
pub fn default_pod(pod: &mut Value) {
    defaults::default_pod(pod, Version(36));
}

/// What the API server answers for a Pod CREATE whose object (after a
/// mutating webhook's patch) is `pod`: decoded, defaulted, stripped of
/// gated-off fields, then validated. Empty Vec = accepted.
pub fn validate_pod_create(pod: &Value, version: Version) -> Vec<FieldError> {
    let version = Version(version.0.clamp(*VERSIONS.start(), *VERSIONS.end()));
    if !pod.is_object() {
        return vec![FieldError {
            path: String::new(),
            kind: "Invalid",
            message: "json: cannot unmarshal into Go value of type core.Pod".into(),
            rule: "decode",
        }];
    }
    let errs = decode::check_pod(pod);
    if !errs.is_empty() {
        return errs;
    }
    let mut p = pod.clone();
    decode::drop_unknown_fields(&mut p, version);
    defaults::default_pod(&mut p, version);
    defaults::drop_disabled_fields(&mut p, version);
    rules::validate_pod_create(&p, version)
}

/// Panics, listing every error, unless `pod` is accepted in `version`.
pub fn assert_accepted(pod: &Value, version: Version) {
    let errs = validate_pod_create(pod, version);
    if !errs.is_empty() {
        let list: Vec<String> = errs.iter().map(|e| format!("  {e}")).collect();
        panic!(
            "Pod refused by the API server {version} oracle:\n{}\npod: {pod}",
            list.join("\n")
        );
    }
}

/// Panics unless `pod` is refused in `version`; returns the errors.
pub fn assert_refused(pod: &Value, version: Version) -> Vec<FieldError> {
    let errs = validate_pod_create(pod, version);
    assert!(
        !errs.is_empty(),
        "Pod accepted by the API server {version} oracle: {pod}"
    );
    errs
}
