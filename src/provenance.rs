//! The status annotation: which sets this policy injected into the Pod, with
//! the hash of each set's definition and the names of what each one added.
//! It makes a second evaluation a no-op and lets a stale copy be re-injected.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::annotations::STATUS;

/// The value of the `sidecarset.kubewarden.io/status` annotation.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Status {
    pub sets: Vec<InjectedSet>,
    /// Names of the init containers, then the containers, in the order the
    /// kubelet starts them, as of the last injection.
    #[serde(default, rename = "startOrder", skip_serializing_if = "Vec::is_empty")]
    pub start_order: Vec<String>,
}

/// What one set added to the Pod. Only what the set actually added is
/// recorded: a volume or pull secret the Pod already had stays the Pod's.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InjectedSet {
    pub name: String,
    pub hash: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub init_containers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<String>,
}

impl InjectedSet {
    /// Names of the containers and init containers the set added.
    pub fn container_names(&self) -> impl Iterator<Item = &str> {
        self.init_containers
            .iter()
            .chain(&self.containers)
            .map(String::as_str)
    }
}

/// The names of what stale injections added: taken out of the Pod before
/// their sets are injected afresh.
#[derive(Debug, Default)]
pub struct Removed<'a> {
    pub containers: HashSet<&'a str>,
    pub volumes: HashSet<&'a str>,
    pub pull_secrets: HashSet<&'a str>,
}

impl<'a> Removed<'a> {
    pub fn of(stale: &'a [InjectedSet]) -> Removed<'a> {
        let names = |field: fn(&'a InjectedSet) -> &'a Vec<String>| {
            stale.iter().flat_map(field).map(String::as_str).collect()
        };
        Removed {
            containers: stale
                .iter()
                .flat_map(InjectedSet::container_names)
                .collect(),
            volumes: names(|s| &s.volumes),
            pull_secrets: names(|s| &s.image_pull_secrets),
        }
    }
}

impl Status {
    /// Reads the annotation value; absent means nothing injected yet.
    pub fn read(annotation: Option<&str>) -> Result<Status, String> {
        match annotation {
            None => Ok(Status::default()),
            Some(value) => serde_json::from_str(value).map_err(|e| {
                format!(
                    "metadata.annotations[{STATUS:?}] is not a status this policy wrote ({e}); remove the annotation from the Pod so that the policy can inject afresh"
                )
            }),
        }
    }

    pub fn get(&self, set: &str) -> Option<&InjectedSet> {
        self.sets.iter().find(|s| s.name == set)
    }

    /// Compact JSON: it is stored in every injected Pod.
    pub fn to_annotation(&self) -> String {
        // A struct of strings and lists always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let status = Status {
            sets: vec![
                InjectedSet {
                    name: "log-shipper".into(),
                    hash: "0123456789abcdef".into(),
                    containers: vec!["fluent-bit".into()],
                    volumes: vec!["varlog".into()],
                    ..Default::default()
                },
                InjectedSet {
                    name: "mesh".into(),
                    hash: "fedcba9876543210".into(),
                    init_containers: vec!["mesh-init".into(), "envoy".into()],
                    image_pull_secrets: vec!["registry-creds".into()],
                    ..Default::default()
                },
            ],
            start_order: vec![
                "mesh-init".into(),
                "envoy".into(),
                "app".into(),
                "fluent-bit".into(),
            ],
        };
        let annotation = status.to_annotation();
        assert_eq!(Status::read(Some(&annotation)).unwrap(), status);
        assert_eq!(
            annotation,
            r#"{"sets":[{"name":"log-shipper","hash":"0123456789abcdef","containers":["fluent-bit"],"volumes":["varlog"]},{"name":"mesh","hash":"fedcba9876543210","initContainers":["mesh-init","envoy"],"imagePullSecrets":["registry-creds"]}],"startOrder":["mesh-init","envoy","app","fluent-bit"]}"#
        );
    }

    #[test]
    fn a_status_without_start_order_still_reads() {
        let status = Status::read(Some(r#"{"sets":[{"name":"mesh","hash":"00"}]}"#)).unwrap();
        assert!(status.start_order.is_empty());
        assert_eq!(status.sets[0].name, "mesh");
    }

    #[test]
    fn absent_is_empty_and_garbage_is_an_error() {
        assert_eq!(Status::read(None).unwrap(), Status::default());
        let error = Status::read(Some("{nope")).unwrap_err();
        assert!(
            error.starts_with("metadata.annotations[\"sidecarset.kubewarden.io/status\"] is not a status this policy wrote"),
            "{error}"
        );
        assert!(
            error.ends_with(
                "remove the annotation from the Pod so that the policy can inject afresh"
            )
        );
    }
}
