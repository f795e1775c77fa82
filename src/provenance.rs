//! The status annotation: which sets this policy injected into the Pod, with
//! the hash of each set's definition and what each one added. It is a
//! record, never proof: the Pod's author writes its annotations too. A set
//! counts as injected only when the Pod holds what the set injects, and a
//! stale injection's parts are removed only where the Pod holds them exactly
//! as recorded.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::annotations::STATUS;
use crate::defaults::normalized_volume;
use crate::pod::{Entry, PodView};

/// The value of the `sidecarset.kubewarden.io/status` annotation. Fields a
/// newer version of the policy adds are ignored, not refused.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub sets: Vec<InjectedSet>,
    /// Names of the init containers, then the containers, in the order the
    /// kubelet starts them, as of the last injection.
    #[serde(default, rename = "startOrder", skip_serializing_if = "Vec::is_empty")]
    pub start_order: Vec<String>,
    /// The Pod's effective requests after the last injection, as the
    /// scheduler computes them. Informational: no decision reads it, so a
    /// Pod's own words here count for nothing; read leniently (anything but
    /// a map of strings is dropped) only so that rewriting the record for
    /// an in-place upgrade keeps it.
    #[serde(
        default,
        rename = "effectiveRequests",
        deserialize_with = "lenient_strings",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub effective_requests: BTreeMap<String, String>,
}

/// What one set added to the Pod. Only what the set actually added is
/// recorded: a volume or pull secret the Pod already had stays the Pod's.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
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
    /// The image of each container and init container the set added.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub images: BTreeMap<String, String>,
    /// A digest of each volume the set added, as the API server stores it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub volume_digests: BTreeMap<String, String>,
    /// The annotations the set wrote through patchPodMetadata (Retain and
    /// Overwrite), with the values written.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// The revision injected, for a set that has revisions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Where that revision came from: `pod` (the Pod's pin), `namespace`
    /// (its Namespace's), `canary` or `current`; and the tag the pin named,
    /// where it named one. Informational: the revision label stays the
    /// revision, so that `kubectl get pods -L` shows where the fleet stands.
    #[serde(default, rename = "from", skip_serializing_if = "String::is_empty")]
    pub revision_from: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tag: String,
    /// The definition hash without images: an in-place upgrade needs it
    /// unchanged.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub imageless_hash: String,
    /// Each container's hash without its image (8 hex digits), to name
    /// the one that changed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub imageless: BTreeMap<String, String>,
    /// The Pod's canary buckets at CREATE, for a set that has revisions:
    /// an upgrade keeps the Pod on the canary it was created on.
    /// `owner:25,pod:71` (see `Buckets::to_record`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub buckets: String,
    /// What the set gave the app containers (appContainers): keyed
    /// `container/env/NAME`, `container/envFrom/DIGEST` or
    /// `container/volumeMounts/PATH`, each entry's digest as the API server
    /// stores it. Flat: a map of strings, as the other fields.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub app: BTreeMap<String, String>,
}

impl InjectedSet {
    /// Names of the containers and init containers the set added.
    pub fn container_names(&self) -> impl Iterator<Item = &str> {
        self.init_containers
            .iter()
            .chain(&self.containers)
            .map(String::as_str)
    }

    /// Whether the Pod's container (or init container) `entry` is exactly
    /// what this record says the set added: same list, same image.
    pub fn describes_container(&self, entry: &Entry) -> bool {
        let listed = match entry.list {
            "initContainers" => &self.init_containers,
            "containers" => &self.containers,
            _ => return false,
        };
        listed.iter().any(|n| n == entry.name)
            && self.images.get(entry.name).map(String::as_str) == Some(entry.image())
    }

    fn describes_volume(&self, entry: &Entry) -> bool {
        self.volumes.iter().any(|n| n == entry.name)
            && self.volume_digests.get(entry.name) == Some(&volume_digest(entry.spec))
    }
}

/// A digest of a volume as the API server stores it (defaults applied).
pub fn volume_digest(volume: &serde_json::Map<String, Value>) -> String {
    digest(&normalized_volume(volume))
}

/// What the sets that apply to a Pod write now: the only names a stale
/// record's claims may take out of it (a record is the Pod's author's words
/// too: it never removes a container, volume or annotation no set writes).
#[derive(Debug, Default)]
pub struct Writable<'a> {
    pub containers: Vec<&'a str>,
    pub volumes: Vec<&'a str>,
    /// Annotations of patchPodMetadata with Retain or Overwrite.
    pub annotations: Vec<&'a str>,
}

/// What stale injections added and the Pod still holds exactly as recorded,
/// of what the applying sets write now: taken out of the Pod before their
/// sets are injected afresh. Whatever else a record names stays, as the
/// Pod's own.
#[derive(Debug, Default)]
pub struct Removed {
    pub containers: Vec<String>,
    pub volumes: Vec<String>,
    /// Annotation keys whose values are still the ones a stale set wrote.
    pub annotations: Vec<String>,
}

impl Removed {
    pub fn of(stale: &[InjectedSet], pod: &PodView, writable: &Writable) -> Removed {
        let mut removed = Removed::default();
        for entry in pod.init_containers.iter().chain(&pod.containers) {
            if writable.containers.contains(&entry.name)
                && stale.iter().any(|s| s.describes_container(entry))
            {
                removed.containers.push(entry.name.to_string());
            }
        }
        // A volume a container that stays mounts stays too: the Pod's own
        // containers may mount what a set added, and the API server refuses
        // a mount of a volume the Pod does not have.
        let staying = pod
            .init_containers
            .iter()
            .chain(&pod.containers)
            .chain(&pod.ephemeral_containers)
            .filter(|c| !removed.containers.iter().any(|n| n == c.name));
        let mounted: Vec<&str> = staying
            .flat_map(|c| {
                ["volumeMounts", "volumeDevices"]
                    .into_iter()
                    .filter_map(|key| c.spec.get(key).and_then(Value::as_array))
                    .flatten()
                    .filter_map(|m| m.get("name").and_then(Value::as_str))
            })
            .collect();
        for entry in &pod.volumes {
            if writable.volumes.contains(&entry.name)
                && stale.iter().any(|s| s.describes_volume(entry))
                && !mounted.contains(&entry.name)
            {
                removed.volumes.push(entry.name.to_string());
            }
        }
        for (key, value) in &pod.annotations {
            if writable.annotations.contains(key)
                && stale
                    .iter()
                    .any(|s| s.annotations.get(*key).map(String::as_str) == Some(*value))
            {
                removed.annotations.push(key.to_string());
            }
        }
        removed
    }
}

/// A map of strings, or an empty one for anything else.
fn lenient_strings<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    let mut map = BTreeMap::new();
    if let Value::Object(entries) = value {
        for (key, value) in entries {
            if let Value::String(text) = value {
                map.insert(key, text);
            }
        }
    }
    Ok(map)
}

impl Status {
    /// Reads the annotation value; absent means nothing injected yet.
    pub fn read(annotation: Option<&str>) -> Result<Status, String> {
        match annotation {
            None => Ok(Status::default()),
            Some(value) => {
                let mut status: Status = serde_json::from_slice(value.as_bytes()).map_err(|e| {
                    format!(
                        "metadata.annotations[{STATUS:?}] is not a status this policy wrote ({}); remove the annotation from the Pod so that the policy can inject afresh",
                        crate::annotations::clip_at(&e.to_string(), 4 * crate::annotations::ECHOED)
                    )
                })?;
                // A Pod may repeat a set thousands of times: the first
                // entry of each name counts, once.
                let mut seen = std::collections::HashSet::new();
                let first: Vec<bool> = status
                    .sets
                    .iter()
                    .map(|s| seen.insert(s.name.as_str()))
                    .collect();
                let mut first = first.into_iter();
                status.sets.retain(|_| first.next().unwrap_or(true));
                Ok(status)
            }
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

/// A 64-bit digest (FNV-1a) of a value's JSON, as 16 hex digits. serde_json
/// sorts object keys (no preserve_order), so equal values digest equally
/// whatever the key order in the YAML. Serialized into a Vec, the writer the
/// answer uses: a writer of its own would be another copy of the serializer.
pub fn digest(value: &impl Serialize) -> String {
    // A serializer error could only come from a non-string map key, which
    // these types cannot hold.
    let json = serde_json::to_vec(value).unwrap_or_default();
    let hash = json.iter().fold(FNV_OFFSET, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(FNV_PRIME)
    });
    format!("{hash:016x}")
}

/// FNV-1a's offset basis: a start state with its bits spread.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

/// The hash state of a JSON value as serde_json holds it: strings decoded,
/// numbers read, each object key once and in order (serde_json's map is
/// sorted). The same settings hash alike however the host serialized them
/// (key order, whitespace, escapes, duplicate keys): a second evaluation of
/// an injected Pod finds its sets current.
#[inline(never)]
pub fn value_state(state: u64, value: &Value) -> u64 {
    match value {
        Value::Null => mix(state, 1),
        Value::Bool(b) => mix(state, 2 + u64::from(*b)),
        Value::Number(n) => {
            let bits = match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => i as u64,
                (None, Some(u)) => u,
                (None, None) => n.as_f64().unwrap_or_default().to_bits().rotate_left(1),
            };
            mix(mix(state, 4), bits)
        }
        Value::String(text) => mix(mix(state, 5), words(text.as_bytes())),
        Value::Array(items) => items
            .iter()
            .fold(mix(state, 6 ^ (items.len() as u64) << 8), value_state),
        Value::Object(map) => map_state(mix(state, 7), map),
    }
}

/// [`value_state`] of an object.
#[inline(never)]
pub fn map_state(state: u64, map: &serde_json::Map<String, Value>) -> u64 {
    map.iter().fold(
        mix(state, (map.len() as u64) << 8),
        |state, (key, value)| value_state(mix(state, words(key.as_bytes())), value),
    )
}

/// [`map_state`] of `map` without its member `skip`, and that member's
/// value: one walk gives a container's hash with and without its image.
#[inline(never)]
pub fn map_state_without<'m>(
    state: u64,
    map: &'m serde_json::Map<String, Value>,
    skip: &str,
) -> (u64, Option<&'m Value>) {
    let mut skipped = None;
    let mut state = mix(state, (map.len() as u64) << 8);
    for (key, value) in map {
        if key == skip {
            skipped = Some(value);
        } else {
            state = value_state(mix(state, words(key.as_bytes())), value);
        }
    }
    (state, skipped)
}

/// Mixes `word` into a hash state (FxHash's step).
pub fn mix(state: u64, word: u64) -> u64 {
    (state.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95)
}

/// A hash of `bytes`, 8 at a time.
#[inline(never)]
pub fn words(bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(8);
    let mut state = mix(FNV_OFFSET, bytes.len() as u64);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        state = mix(state, u64::from_le_bytes(word));
    }
    let mut word = [0u8; 8];
    for (slot, b) in word.iter_mut().zip(chunks.remainder()) {
        *slot = *b;
    }
    mix(state, u64::from_le_bytes(word))
}

/// The definition hash a status record holds: 16 hex digits of the
/// definition's state and whether its sidecars are native.
pub fn definition_hash(state: u64, native: bool) -> String {
    format!("{:016x}", mix(state, u64::from(native)))
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
            effective_requests: BTreeMap::new(),
        };
        let annotation = status.to_annotation();
        assert_eq!(Status::read(Some(&annotation)).unwrap(), status);
        assert_eq!(
            annotation,
            r#"{"sets":[{"name":"log-shipper","hash":"0123456789abcdef","containers":["fluent-bit"],"volumes":["varlog"]},{"name":"mesh","hash":"fedcba9876543210","initContainers":["mesh-init","envoy"],"imagePullSecrets":["registry-creds"]}],"startOrder":["mesh-init","envoy","app","fluent-bit"]}"#
        );
    }

    #[test]
    fn effective_requests_are_informational_and_read_leniently() {
        let mut status = Status::default();
        status
            .effective_requests
            .insert("cpu".into(), "1200m".into());
        assert_eq!(
            status.to_annotation(),
            r#"{"sets":[],"effectiveRequests":{"cpu":"1200m"}}"#
        );
        // A Pod's own words there, of any shape, count for nothing, and
        // never make the record unreadable.
        let read = Status::read(Some(r#"{"sets":[],"effectiveRequests":7}"#)).unwrap();
        assert!(read.effective_requests.is_empty());
        let read = Status::read(Some(
            r#"{"sets":[],"effectiveRequests":{"cpu":"1","x":[1]}}"#,
        ))
        .unwrap();
        assert_eq!(read.effective_requests.len(), 1);
        // What the policy wrote reads back, so that a rewrite keeps it.
        assert_eq!(Status::read(Some(&status.to_annotation())).unwrap(), status);
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

    #[test]
    fn values_hash_by_kind_and_content() {
        use serde_json::json;
        let h = |v: Value| value_state(0, &v);
        let distinct = [
            json!(null),
            json!(true),
            json!(false),
            json!(1),
            json!(-1),
            json!(1.5),
            json!("1"),
            json!([1, 2]),
            json!([2, 1]),
            json!({"a": 1}),
            json!({"a": "1"}),
            json!({"b": 1}),
            json!([[]]),
            json!([{}]),
            json!("12345678x"),
            json!("12345678y"),
        ];
        for (i, a) in distinct.iter().enumerate() {
            for b in distinct.iter().skip(i + 1) {
                assert_ne!(h(a.clone()), h(b.clone()), "{a} and {b}");
            }
        }
        assert_eq!(h(json!({"a": 1, "b": 2})), h(json!({"b": 2, "a": 1})));
    }
}
