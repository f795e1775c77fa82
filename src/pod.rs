//! Read-only views of the Pod JSON. Reading checks the shape of everything
//! the policy looks at, so that later steps never meet a surprise, and says
//! which field is wrong when the request is not a Pod the policy can read.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::order::Placement;

/// A named entry of a Pod list: a container (init, ephemeral) or a volume.
#[derive(Debug)]
pub struct Entry<'a> {
    pub name: &'a str,
    /// The list under `spec`, e.g. `containers`, and the index in it.
    pub list: &'static str,
    pub index: usize,
    pub spec: &'a Map<String, Value>,
}

impl Entry<'_> {
    /// Path of the entry in the Pod, e.g. `spec.containers[0]`. Formatted
    /// only for a message: reading a Pod allocates no path per entry.
    pub fn path(&self) -> String {
        format!("spec.{}[{}]", self.list, self.index)
    }

    /// An init container with `restartPolicy: Always` runs alongside the app.
    pub fn is_native_sidecar(&self) -> bool {
        self.spec.get("restartPolicy").and_then(Value::as_str) == Some("Always")
    }
}

impl<'a> Entry<'a> {
    /// The `image` of a container entry ("" when absent).
    pub fn image(&self) -> &'a str {
        self.spec
            .get("image")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// Whether this container entry sits where inject mode puts an item
    /// placed so; `own` are the indices of the app containers in
    /// `spec.containers`. Without app containers, a Pod's sidecars are both
    /// leading and trailing.
    pub fn is_placed(&self, placement: Placement, own: &[usize]) -> bool {
        let in_init = self.list == "initContainers";
        let in_containers = self.list == "containers";
        match placement {
            Placement::Init => in_init && !self.is_native_sidecar(),
            Placement::NativeSidecar => in_init && self.is_native_sidecar(),
            Placement::Leading => in_containers && own.iter().all(|&i| self.index < i),
            Placement::Trailing => in_containers && own.iter().all(|&i| self.index > i),
        }
    }
}

pub type ContainerView<'a> = Entry<'a>;

/// The list `key` of a container or other object (env, volumeMounts,
/// volumeDevices…): empty where it is absent or not a list.
pub fn list<'e>(map: &'e Map<String, Value>, key: &str) -> &'e [Value] {
    match map.get(key) {
        Some(Value::Array(list)) => list,
        _ => &[],
    }
}
pub type VolumeView<'a> = Entry<'a>;

/// What the policy reads of a Pod, borrowed from the request object.
#[derive(Debug)]
pub struct PodView<'a> {
    pub labels: BTreeMap<&'a str, &'a str>,
    pub annotations: BTreeMap<&'a str, &'a str>,
    pub init_containers: Vec<ContainerView<'a>>,
    pub containers: Vec<ContainerView<'a>>,
    pub ephemeral_containers: Vec<ContainerView<'a>>,
    pub volumes: Vec<VolumeView<'a>>,
    pub image_pull_secrets: Vec<&'a str>,
    /// `spec.restartPolicy`; absent means Always.
    pub restart_policy: Option<&'a str>,
    /// `spec.hostNetwork: true`: the Pod shares the node's network.
    pub host_network: bool,
    /// The whole spec: its Pod-level fields (securityContext, os…).
    pub spec: &'a Map<String, Value>,
}

impl<'a> PodView<'a> {
    /// The container or init container of that name.
    pub fn container(&self, name: &str) -> Option<&ContainerView<'a>> {
        self.init_containers
            .iter()
            .chain(&self.containers)
            .find(|c| c.name == name)
    }

    /// Indices in `spec.containers` of the app containers: those `injected`
    /// does not claim.
    pub fn app_containers(&self, injected: impl Fn(&str) -> bool) -> Vec<usize> {
        self.containers
            .iter()
            .filter(|c| !injected(c.name))
            .map(|c| c.index)
            .collect()
    }

    /// A Pod with restartPolicy Never or OnFailure (a Job's, a CronJob's)
    /// is done once its app containers are; a running regular container
    /// keeps it from ever completing.
    pub fn runs_to_completion(&self) -> bool {
        matches!(self.restart_policy, Some("Never" | "OnFailure"))
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn invalid(path: &str, expected: &str, found: &Value) -> String {
    format!(
        "invalid Pod in the admission request: {path} must be {expected}, found {}; send a valid Pod object",
        type_name(found)
    )
}

/// An optional object member: absent and null read as None.
fn optional_object<'a>(
    parent: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<&'a Map<String, Value>>, String> {
    match parent.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(other) => Err(invalid(path, "an object", other)),
    }
}

/// The array `spec.<key>`: absent and null read as empty.
fn spec_array<'a>(spec: &'a Map<String, Value>, key: &str) -> Result<&'a [Value], String> {
    match spec.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(list)) => Ok(list),
        Some(other) => Err(invalid(&format!("spec.{key}"), "an array", other)),
    }
}

fn string_map<'a>(
    map: Option<&'a Map<String, Value>>,
    path: &str,
) -> Result<BTreeMap<&'a str, &'a str>, String> {
    let mut out = BTreeMap::new();
    for (key, value) in map.into_iter().flatten() {
        match value {
            Value::String(s) => {
                out.insert(key.as_str(), s.as_str());
            }
            other => return Err(invalid(&format!("{path}[{key:?}]"), "a string", other)),
        }
    }
    Ok(out)
}

/// The named entries of `spec.<key>` (absent or null: none).
fn named_entries<'a>(
    spec: &'a Map<String, Value>,
    key: &'static str,
) -> Result<Vec<Entry<'a>>, String> {
    spec_array(spec, key)?
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            let at = || format!("spec.{key}[{index}]");
            let Value::Object(spec) = entry else {
                return Err(invalid(&at(), "an object", entry));
            };
            match spec.get("name") {
                Some(Value::String(name)) => Ok(Entry {
                    name,
                    list: key,
                    index,
                    spec,
                }),
                Some(other) => Err(invalid(&format!("{}.name", at()), "a string", other)),
                None => Err(format!(
                    "invalid Pod in the admission request: {}.name is missing; every entry needs a name",
                    at()
                )),
            }
        })
        .collect()
}

/// The string map `metadata.<key>` of a Pod object (absent: empty); `path`
/// names it in messages.
fn metadata_map<'a>(
    object: &'a Value,
    key: &str,
    path: &str,
) -> Result<BTreeMap<&'a str, &'a str>, String> {
    let Value::Object(pod) = object else {
        return Err(invalid("request.object", "a Pod object", object));
    };
    match optional_object(pod, "metadata", "metadata")? {
        Some(metadata) => string_map(optional_object(metadata, key, path)?, path),
        None => Ok(BTreeMap::new()),
    }
}

impl<'a> PodView<'a> {
    /// The Pod's labels alone: what choosing the sets to read needs, before
    /// the rest of the Pod is read.
    pub fn labels(object: &'a Value) -> Result<BTreeMap<&'a str, &'a str>, String> {
        metadata_map(object, "labels", "metadata.labels")
    }

    /// `spec.hostNetwork: true`, read alone for the same reason.
    pub fn uses_host_network(object: &Value) -> bool {
        object.pointer("/spec/hostNetwork") == Some(&Value::Bool(true))
    }

    pub fn read(object: &'a Value) -> Result<PodView<'a>, String> {
        let labels = Self::labels(object)?;
        let annotations = metadata_map(object, "annotations", "metadata.annotations")?;
        let Value::Object(pod) = object else {
            return Err(invalid("request.object", "a Pod object", object));
        };
        let spec = match pod.get("spec") {
            Some(Value::Object(spec)) => spec,
            None | Some(Value::Null) => {
                return Err(
                    "invalid Pod in the admission request: spec is missing; a Pod needs spec.containers".to_string(),
                );
            }
            Some(other) => return Err(invalid("spec", "an object", other)),
        };
        if !matches!(spec.get("containers"), Some(Value::Array(_))) {
            let found = spec.get("containers").unwrap_or(&Value::Null);
            return Err(invalid("spec.containers", "an array of containers", found));
        }
        let volumes = named_entries(spec, "volumes")?;
        let image_pull_secrets = spec_array(spec, "imagePullSecrets")?
            .iter()
            .enumerate()
            .filter_map(|(i, secret)| match secret {
                // An entry without a name is legal (and useless); skip it.
                Value::Object(s) => s.get("name").and_then(Value::as_str).map(Ok),
                other => Some(Err(invalid(
                    &format!("spec.imagePullSecrets[{i}]"),
                    "an object",
                    other,
                ))),
            })
            .collect::<Result<_, _>>()?;
        Ok(PodView {
            labels,
            annotations,
            init_containers: named_entries(spec, "initContainers")?,
            containers: named_entries(spec, "containers")?,
            ephemeral_containers: named_entries(spec, "ephemeralContainers")?,
            volumes,
            image_pull_secrets,
            restart_policy: spec.get("restartPolicy").and_then(Value::as_str),
            host_network: Self::uses_host_network(object),
            spec,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    #[test]
    fn reads_the_replicaset_fixture() {
        let request: Value = serde_json::from_str(include_str!(
            "../test_data/requests/pod-replicaset-create.json"
        ))
        .unwrap();
        let pod = PodView::read(&request["object"]).unwrap();
        assert_eq!(pod.labels.get("tier"), Some(&"web"));
        assert_eq!(pod.containers.len(), 1);
        assert_eq!(pod.containers[0].name, "checkout");
        assert_eq!(pod.containers[0].path(), "spec.containers[0]");
        assert_eq!(
            pod.volumes.iter().map(|v| v.name).collect::<Vec<_>>(),
            ["config", "kube-api-access-7x2qz"]
        );
        assert!(pod.init_containers.is_empty());
    }

    #[test]
    fn native_sidecars_are_recognised() {
        let request: Value = serde_json::from_str(include_str!(
            "../test_data/requests/pod-own-init-and-native-sidecar-create.json"
        ))
        .unwrap();
        let pod = PodView::read(&request["object"]).unwrap();
        let natives: Vec<bool> = pod
            .init_containers
            .iter()
            .map(ContainerView::is_native_sidecar)
            .collect();
        assert_eq!(natives, [true, false]);
    }

    #[rstest]
    #[case::null(json!(null), "invalid Pod in the admission request: request.object must be a Pod object, found null; send a valid Pod object")]
    #[case::array(json!([]), "invalid Pod in the admission request: request.object must be a Pod object, found an array; send a valid Pod object")]
    #[case::no_spec(json!({"metadata": {}}), "invalid Pod in the admission request: spec is missing; a Pod needs spec.containers")]
    #[case::spec_string(json!({"spec": "x"}), "invalid Pod in the admission request: spec must be an object, found a string; send a valid Pod object")]
    #[case::no_containers(json!({"spec": {}}), "invalid Pod in the admission request: spec.containers must be an array of containers, found null; send a valid Pod object")]
    #[case::container_not_object(json!({"spec": {"containers": [{"name": "a"}, 3]}}), "invalid Pod in the admission request: spec.containers[1] must be an object, found a number; send a valid Pod object")]
    #[case::container_without_name(json!({"spec": {"containers": [{}]}}), "invalid Pod in the admission request: spec.containers[0].name is missing; every entry needs a name")]
    #[case::label_not_string(json!({"metadata": {"labels": {"tier": 1}}, "spec": {"containers": []}}), "invalid Pod in the admission request: metadata.labels[\"tier\"] must be a string, found a number; send a valid Pod object")]
    #[case::annotations_array(json!({"metadata": {"annotations": []}, "spec": {"containers": []}}), "invalid Pod in the admission request: metadata.annotations must be an object, found an array; send a valid Pod object")]
    #[case::volumes_object(json!({"spec": {"containers": [], "volumes": {}}}), "invalid Pod in the admission request: spec.volumes must be an array, found an object; send a valid Pod object")]
    #[case::init_name_number(json!({"spec": {"containers": [], "initContainers": [{"name": 1}]}}), "invalid Pod in the admission request: spec.initContainers[0].name must be a string, found a number; send a valid Pod object")]
    #[case::pull_secret_string(json!({"spec": {"containers": [], "imagePullSecrets": ["x"]}}), "invalid Pod in the admission request: spec.imagePullSecrets[0] must be an object, found a string; send a valid Pod object")]
    fn shape_errors_name_the_field(#[case] object: Value, #[case] expected: &str) {
        assert_eq!(PodView::read(&object).unwrap_err(), expected);
    }

    #[test]
    fn null_lists_read_as_empty() {
        let object = json!({"metadata": {"labels": null}, "spec": {"containers": [], "initContainers": null, "volumes": null}});
        let pod = PodView::read(&object).unwrap();
        assert!(pod.labels.is_empty() && pod.init_containers.is_empty() && pod.volumes.is_empty());
    }
}
