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

/// What stale injections added and the Pod still holds exactly as recorded:
/// taken out of the Pod before their sets are injected afresh. Whatever a
/// record names that the Pod does not hold so stays, as the Pod's own.
#[derive(Debug, Default)]
pub struct Removed {
    pub containers: Vec<String>,
    pub volumes: Vec<String>,
    /// Annotation keys whose values are still the ones a stale set wrote.
    pub annotations: Vec<String>,
}

impl Removed {
    pub fn of(stale: &[InjectedSet], pod: &PodView) -> Removed {
        let mut removed = Removed::default();
        for entry in pod.init_containers.iter().chain(&pod.containers) {
            if stale.iter().any(|s| s.describes_container(entry)) {
                removed.containers.push(entry.name.to_string());
            }
        }
        for entry in &pod.volumes {
            if stale.iter().any(|s| s.describes_volume(entry)) {
                removed.volumes.push(entry.name.to_string());
            }
        }
        for (key, value) in &pod.annotations {
            if stale
                .iter()
                .any(|s| s.annotations.get(*key).map(String::as_str) == Some(*value))
            {
                removed.annotations.push(key.to_string());
            }
        }
        removed
    }
}

impl Status {
    /// Reads the annotation value; absent means nothing injected yet.
    pub fn read(annotation: Option<&str>) -> Result<Status, String> {
        match annotation {
            None => Ok(Status::default()),
            Some(value) => serde_json::from_slice(value.as_bytes()).map_err(|e| {
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
/// Mixes a word into a hash state (FxHash's step).
fn mix(state: u64, word: u64) -> u64 {
    (state.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95)
}

const FNV_PRIME: u64 = 0x0100_0000_01b3;

/// The hash state of a set's definition fields (initContainers, containers,
/// volumes, imagePullSecrets, patchPodMetadata), from their JSON as the
/// settings give it, with [`json_hash`]: nothing parsed. An absent field
/// and `null` hash alike.
pub fn definition_state(fields: &[Option<&serde_json::value::RawValue>]) -> u64 {
    fields.iter().fold(FNV_OFFSET, |state, field| {
        mix(
            state,
            field.map_or(0, |raw| json_hash(raw.get().as_bytes())),
        )
    })
}

/// The definition hash a status record holds: 16 hex digits of the
/// definition's state and whether its sidecars are native.
pub fn definition_hash(state: u64, native: bool) -> String {
    format!("{:016x}", mix(state, u64::from(native)))
}

/// A hash of JSON text that depends neither on whitespace nor on the order
/// of an object's keys, so that the same settings hash alike however the
/// host serialized them (and a second evaluation of a Pod finds its sets
/// current): one pass over the bytes, FNV-1a within each object member, the
/// members of an object summed. Any bytes are hashed, none makes it panic.
pub fn json_hash(text: &[u8]) -> u64 {
    enum Frame {
        Array,
        Object { outer: u64, sum: u64 },
    }
    let step = |h: u64, b: u8| (h ^ u64::from(b)).wrapping_mul(FNV_PRIME);
    let mut frames: Vec<Frame> = Vec::new();
    let mut h = FNV_OFFSET;
    let (mut in_string, mut escaped) = (false, false);
    for &b in text {
        if in_string {
            h = step(h, b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b' ' | b'\n' | b'\r' | b'\t' => {}
            b'"' => {
                in_string = true;
                h = step(h, b);
            }
            b'[' => {
                frames.push(Frame::Array);
                h = step(h, b);
            }
            b'{' => {
                frames.push(Frame::Object { outer: h, sum: 0 });
                h = FNV_OFFSET;
            }
            b',' => match frames.last_mut() {
                Some(Frame::Object { sum, .. }) => {
                    *sum = sum.wrapping_add(mix(h, 0));
                    h = FNV_OFFSET;
                }
                _ => h = step(h, b),
            },
            b'}' => match frames.pop() {
                Some(Frame::Object { outer, mut sum }) => {
                    if h != FNV_OFFSET {
                        sum = sum.wrapping_add(mix(h, 0));
                    }
                    h = mix(step(outer, b'{'), sum);
                }
                other => {
                    frames.extend(other);
                    h = step(h, b);
                }
            },
            b']' => {
                if let Some(Frame::Array) = frames.last() {
                    frames.pop();
                }
                h = step(h, b);
            }
            _ => h = step(h, b),
        }
    }
    h
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

    #[test]
    fn json_hash_ignores_key_order_and_whitespace_only() {
        let h = |t: &str| json_hash(t.as_bytes());
        assert_eq!(
            h(r#"{"a":1,"b":[true,"x",{"c":{},"d":[]}]}"#),
            h(r#"{ "b" : [ true , "x" , { "d" : [ ] , "c" : { } } ] , "a" : 1 }"#)
        );
        assert_ne!(h(r#"{"a":1,"b":2}"#), h(r#"{"a":2,"b":1}"#));
        assert_ne!(h(r#"[1,2]"#), h(r#"[2,1]"#));
        assert_ne!(h(r#"[{"a":1},{"b":2}]"#), h(r#"[{"b":2},{"a":1}]"#));
        assert_ne!(h(r#"{"a":{"b":1}}"#), h(r#"{"a":{"b":1},"c":{}}"#));
        assert_ne!(h(r#"{"a":{"b":1,"c":2}}"#), h(r#"{"a":{"b":1},"c":2}"#));
        assert_ne!(h(r#"{"a":"x,y"}"#), h(r#"{"a":"x","y":null}"#));
        assert_ne!(h(r#""a\"b""#), h(r#""a\"c""#));
        assert_ne!(
            h(r#"{"a": "b c"}"#),
            h(r#"{"a": "bc"}"#),
            "whitespace in strings counts"
        );
    }

    #[test]
    fn json_hash_takes_any_bytes() {
        let text = r#"{"containers":[{"name":"a\"b","ports":[{"containerPort":80}]}],"x":null}"#;
        for end in 0..=text.len() {
            json_hash(&text.as_bytes()[..end]);
        }
        for bytes in [
            &b"\\"[..],
            b"\"\\",
            b"{\"",
            b"[[[",
            b"}}]]",
            b"::,,",
            b"]}{[",
        ] {
            json_hash(bytes);
        }
    }
}
