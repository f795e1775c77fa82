//! What a Pod runs of each sidecar set, and what the policy would do about
//! it, asked of the policy itself: the Pod's record (the status annotation
//! the policy wrote), the answer to its CREATE now (which sets apply), and,
//! per set it records, the answer to the UPDATE that adds the in-place
//! upgrade trigger (upgradeable, current, or refused and why).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};
use sidecarset_policy::admission::Decision;
use sidecarset_policy::annotations::{STATUS, UPGRADE};
use sidecarset_policy::provenance::Status;

use crate::evaluate::Evaluator;
use crate::objects;

/// Where a Pod stands with one set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum State {
    /// Runs the revision it should run now, as the set defines it.
    Current,
    /// Its revision is behind its tag, pin or canary, or the revision's
    /// images changed: the in-place upgrade moves it (`to`, with `images`).
    Upgradeable {
        to: String,
        images: BTreeMap<String, String>,
    },
    /// The set changed in more than images since injection: only a new
    /// Pod gets it (the policy's message).
    Recreate { reason: String },
    /// The policy refuses its upgrade for another reason (paused, no
    /// longer selected, a look-alike): its message.
    Blocked { reason: String },
    /// The set applies but the Pod has none of it: created while the
    /// policy was not running, or before the set existed.
    Missing,
}

impl State {
    pub fn word(&self) -> &'static str {
        match self {
            State::Current => "current",
            State::Upgradeable { .. } => "upgradeable",
            State::Recreate { .. } => "recreate",
            State::Blocked { .. } => "blocked",
            State::Missing => "missing",
        }
    }
}

/// A Pod's controller (its controller ownerReference), or the Pod itself.
/// Told apart by uid: a Pod naming another owner's kind and name is not
/// one of its Pods.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Owner {
    pub kind: String,
    pub name: String,
    #[serde(skip)]
    pub uid: String,
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, name) = (
            crate::table::printable(&self.kind),
            crate::table::printable(&self.name),
        );
        write!(f, "{kind}/{name}")
    }
}

/// One Pod and one set.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSet {
    pub set: String,
    /// The revision the record names (`current` for a set without
    /// revisions); none where the set is missing.
    pub revision: Option<String>,
    #[serde(flatten)]
    pub state: State,
    /// The set's containers are all ready (the Pod's container statuses).
    pub ready: bool,
}

/// One Pod, and where it stands with each set that applies or that it
/// records.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodReport {
    pub namespace: String,
    pub name: String,
    pub owner: Owner,
    /// The Pod's Ready condition.
    pub ready: bool,
    /// `status.phase`: a Pod that has completed (Succeeded, Failed) runs
    /// nothing to upgrade.
    #[serde(skip)]
    pub phase: String,
    pub sets: Vec<PodSet>,
    /// The policy would refuse this Pod were it created now (its message):
    /// which sets apply is then not known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    #[serde(skip)]
    pub labels: Map<String, Value>,
    #[serde(skip)]
    pub object: Value,
}

impl PodReport {
    pub fn set(&self, name: &str) -> Option<&PodSet> {
        self.sets.iter().find(|s| s.set == name)
    }

    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// Why a Pod runs nothing to upgrade any more: it has completed
/// (Succeeded, Failed), or it is being deleted.
pub fn finished(pod: &PodReport) -> Option<String> {
    if matches!(pod.phase.as_str(), "Succeeded" | "Failed") {
        return Some(format!(
            "the Pod has completed (phase {}): nothing runs to upgrade",
            pod.phase
        ));
    }
    pod.object
        .pointer("/metadata/deletionTimestamp")
        .filter(|t| !t.is_null())
        .map(|_| {
            "the Pod is being deleted: its replacement gets the set when it is created".to_string()
        })
}

pub fn annotation<'v>(object: &'v Value, key: &str) -> Option<&'v str> {
    object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(key))
        .and_then(Value::as_str)
}

/// The object's uid.
pub fn uid(object: &Value) -> Option<&str> {
    object.pointer("/metadata/uid").and_then(Value::as_str)
}

/// The record the policy wrote on the Pod; an unreadable one counts as none.
pub fn record(object: &Value) -> Status {
    Status::read(annotation(object, STATUS)).unwrap_or_default()
}

pub fn owner(pod: &Value) -> Owner {
    let controller = pod
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .and_then(|refs| {
            refs.iter()
                .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        });
    match controller {
        Some(r) => Owner {
            kind: r.get("kind").and_then(Value::as_str).unwrap_or("").into(),
            name: r.get("name").and_then(Value::as_str).unwrap_or("").into(),
            uid: r.get("uid").and_then(Value::as_str).unwrap_or("").into(),
        },
        None => Owner {
            kind: "Pod".into(),
            name: objects::name(pod).into(),
            uid: uid(pod).unwrap_or("").into(),
        },
    }
}

/// The Pod's Ready condition is True.
pub fn pod_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|conditions| {
            conditions.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some("Ready")
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}

/// A container's status (init containers' and containers').
pub fn container_status<'v>(pod: &'v Value, name: &str) -> Option<&'v Value> {
    ["/status/initContainerStatuses", "/status/containerStatuses"]
        .iter()
        .filter_map(|p| pod.pointer(p).and_then(Value::as_array))
        .flatten()
        .find(|s| s.get("name").and_then(Value::as_str) == Some(name))
}

/// Every named container reports ready.
pub fn containers_ready<'n>(pod: &Value, mut names: impl Iterator<Item = &'n str>) -> bool {
    names.all(|name| {
        container_status(pod, name)
            .and_then(|s| s.get("ready"))
            .and_then(Value::as_bool)
            == Some(true)
    })
}

/// The image of a container or init container of the Pod's spec.
pub fn image<'v>(pod: &'v Value, name: &str) -> Option<&'v str> {
    ["/spec/initContainers", "/spec/containers"]
        .iter()
        .filter_map(|p| pod.pointer(p).and_then(Value::as_array))
        .flatten()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(name))
        .and_then(|c| c.get("image"))
        .and_then(Value::as_str)
}

/// Whether a container keeps running (an app container, or a native
/// sidecar: an init container with `restartPolicy: Always`).
pub fn runs(pod: &Value, name: &str) -> bool {
    let named = |list: &str| {
        pod.pointer(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|c| c.get("name").and_then(Value::as_str) == Some(name))
            .cloned()
    };
    if named("/spec/containers").is_some() {
        return true;
    }
    named("/spec/initContainers")
        .is_some_and(|c| c.get("restartPolicy").and_then(Value::as_str) == Some("Always"))
}

/// The Pod with every set its record names marked stale (a definition
/// hash no set has): the policy's CREATE then takes out what the record
/// says it injected, where the Pod holds it exactly so, and injects the
/// sets that apply now, as into a new Pod.
pub fn as_if_new(pod: &Value) -> Value {
    let mut status = record(pod);
    if status.sets.is_empty() {
        return pod.clone();
    }
    for set in &mut status.sets {
        set.hash = "stale".into();
        set.imageless_hash.clear();
    }
    let mut pod = pod.clone();
    if let Some(annotations) = pod
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        annotations.insert(STATUS.into(), Value::String(status.to_annotation()));
    }
    pod
}

/// The Pod with the in-place upgrade trigger for `set`.
pub fn with_trigger(pod: &Value, set: &str) -> Value {
    let mut new = pod.clone();
    if let Some(metadata) = new.get_mut("metadata").and_then(Value::as_object_mut) {
        let annotations = metadata
            .entry("annotations")
            .or_insert_with(|| Value::Object(Map::new()));
        if !annotations.is_object() {
            *annotations = Value::Object(Map::new());
        }
        if let Some(annotations) = annotations.as_object_mut() {
            annotations.insert(UPGRADE.into(), Value::String(set.into()));
        }
    }
    new
}

/// Where `pod` stands with every set of the settings, in the settings'
/// order (`sets`): the policy's answers to its CREATE and to an upgrade
/// UPDATE per set it records.
pub fn classify(
    pod: &Value,
    default_namespace: &str,
    sets: &[String],
    evaluator: &Evaluator,
) -> PodReport {
    let namespace = objects::namespace(pod)
        .unwrap_or(default_namespace)
        .to_string();
    let recorded = record(pod);
    let created = evaluator.create(pod, &namespace);
    let (applies, refused): (Status, Option<String>) = match created.decision {
        Decision::Mutate(object) => (record(&object), None),
        Decision::Accept => (recorded.clone(), None),
        Decision::Reject(message) => (Status::default(), Some(message)),
    };
    let mut report = PodReport {
        namespace: namespace.clone(),
        name: objects::name(pod).into(),
        owner: owner(pod),
        ready: pod_ready(pod),
        phase: pod
            .pointer("/status/phase")
            .and_then(Value::as_str)
            .unwrap_or("")
            .into(),
        sets: Vec::new(),
        refused,
        labels: objects::labels(pod),
        object: pod.clone(),
    };
    for set in sets {
        let entry = match recorded.get(set) {
            // A record naming containers the Pod does not hold (forged, or
            // left by a copy): the Pod runs none of the set.
            Some(injected)
                if injected.container_names().next().is_some()
                    && injected.container_names().all(|c| image(pod, c).is_none()) =>
            {
                if applies.get(set).is_none() {
                    continue;
                }
                PodSet {
                    set: set.clone(),
                    revision: None,
                    state: State::Missing,
                    ready: false,
                }
            }
            Some(injected) => {
                let ready = containers_ready(pod, injected.container_names());
                let state = upgrade_state(pod, set, &namespace, evaluator);
                PodSet {
                    set: set.clone(),
                    revision: Some(
                        injected
                            .revision
                            .clone()
                            .unwrap_or_else(|| "current".into()),
                    ),
                    state,
                    ready,
                }
            }
            None if applies.get(set).is_some() => PodSet {
                set: set.clone(),
                revision: None,
                state: State::Missing,
                ready: false,
            },
            None => continue,
        };
        report.sets.push(entry);
    }
    if let Some(reason) = finished(&report) {
        for entry in &mut report.sets {
            if matches!(entry.state, State::Upgradeable { .. }) {
                entry.state = State::Blocked {
                    reason: reason.clone(),
                };
            }
        }
    }
    report
}

/// The Pod without the in-place upgrade trigger: a trigger the Pod still
/// carries (its webhook did not act on it) asks for nothing when it is
/// set again to the same value.
pub fn without_trigger(pod: &Value) -> Value {
    let mut old = pod.clone();
    if let Some(annotations) = old
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        annotations.remove(UPGRADE);
    }
    old
}

/// The message of the policy's refusal to upgrade a paused set.
const PAUSED: &str = "the set is paused (injectionStrategy.paused)";

/// What the policy answers to the UPDATE that adds the trigger for `set`'s
/// in-place upgrade. A paused set is refused whatever the Pod runs: the
/// answer of the set unpaused tells a current Pod from a stale one.
fn upgrade_state(pod: &Value, set: &str, namespace: &str, evaluator: &Evaluator) -> State {
    let old = without_trigger(pod);
    let answer = evaluator.update(&old, &with_trigger(pod, set), namespace);
    match answer.decision {
        Decision::Reject(reason) if reason.contains(PAUSED) => {
            match upgrade_state(pod, set, namespace, &evaluator.unpaused(set)) {
                State::Current => State::Current,
                _ => State::Blocked { reason },
            }
        }
        decision => state_of(decision, pod, set),
    }
}

fn state_of(decision: Decision, pod: &Value, set: &str) -> State {
    match decision {
        Decision::Mutate(upgraded) => {
            let before = record(pod);
            let after = record(&upgraded);
            let Some(injected) = after.get(set) else {
                return State::Current;
            };
            let images: BTreeMap<String, String> = injected
                .container_names()
                .filter_map(|c| image(&upgraded, c).map(|i| (c.to_string(), i.to_string())))
                .collect();
            let changed = images
                .iter()
                .any(|(c, i)| image(pod, c) != Some(i.as_str()));
            // A revision with the same images as the one the Pod runs
            // moves the record and the revision label only.
            let moved = before.get(set).map(|b| &b.revision) != Some(&injected.revision);
            if changed || moved {
                State::Upgradeable {
                    to: injected
                        .revision
                        .clone()
                        .unwrap_or_else(|| "current".into()),
                    images,
                }
            } else {
                State::Current
            }
        }
        // An upgrade the policy lets pass unchanged: it does not act on the
        // Pod (an excluded namespace, a hostNetwork Pod the settings skip).
        Decision::Accept => State::Blocked {
            reason: "the policy does not act on this Pod's UPDATEs (an excluded namespace, or a hostNetwork Pod the settings skip): its sidecars stay as they are".into(),
        },
        // Only a definition changed in more than images needs a new Pod;
        // a look-alike or a set that no longer applies is refused as is.
        Decision::Reject(reason) if reason.contains("changed in more than") => {
            State::Recreate { reason }
        }
        Decision::Reject(reason) => State::Blocked { reason },
    }
}
