//! Rollout without a controller: which revision of a set a new Pod gets (a
//! pin, a deterministic canary, or `current`), and what a Pod UPDATE may do
//! to the images of injected containers (tamper protection).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::annotations::{REVISION_PREFIX, clip};
use crate::namespace::{Labels, Namespace};
use crate::provenance::{InjectedSet, mix, words};
use crate::settings::{CanaryKey, ContainerSpec, SidecarSet};

/// The name of a set's own definition as a revision.
pub const CURRENT: &str = "current";

/// Why a Pod gets the revision it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// The Pod's `sidecarset.kubewarden.io/revision.<set>` annotation.
    Pinned,
    /// Its Namespace's `sidecarset.kubewarden.io/revision.<set>` label.
    NamespacePinned,
    /// Its canary bucket is below the canary's percent.
    Canary {
        bucket: u8,
        percent: u32,
        by: CanaryKey,
    },
    /// Neither: the set's own definition.
    Current,
}

/// The revision a Pod gets of a set, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice<'s> {
    pub revision: &'s str,
    pub why: Why,
    /// The tag the pin named, where it named one.
    pub tag: Option<&'s str>,
}

impl Choice<'_> {
    /// "revision v3-3 (canary: bucket 7 < 10%, by owner)", for `explain`.
    pub fn describe(&self, set: &str) -> String {
        let mut why = match self.why {
            Why::Pinned => format!("pinned by the Pod's {REVISION_PREFIX}{set} annotation"),
            Why::NamespacePinned => {
                format!("pinned by the Namespace's {REVISION_PREFIX}{set} label")
            }
            Why::Canary {
                bucket,
                percent,
                by,
            } => {
                let by = match by {
                    CanaryKey::Owner => "owner",
                    CanaryKey::Pod => "pod",
                };
                format!("canary: bucket {bucket} < {percent}%, by {by}")
            }
            Why::Current => "current".to_string(),
        };
        if let Some(tag) = self.tag {
            why.push_str(&format!(", tag {tag}"));
        }
        format!("sidecar set {set}: revision {} ({why})", self.revision)
    }

    /// Where the revision came from and the tag a pin named, as a record
    /// that names the revision keeps them (`revision`: a set without
    /// revisions records neither).
    pub fn marks(&self, revision: &Option<String>) -> (String, String) {
        match revision {
            None => Default::default(),
            Some(_) => (
                self.source().to_string(),
                self.tag.unwrap_or_default().to_string(),
            ),
        }
    }

    /// Where the revision came from, as the record keeps it: `pod`,
    /// `namespace`, `canary` or `current`.
    pub fn source(&self) -> &'static str {
        match self.why {
            Why::Pinned => "pod",
            Why::NamespacePinned => "namespace",
            Why::Canary { .. } => "canary",
            Why::Current => "current",
        }
    }
}

/// The canary bucket of `key` for `set`: FNV-1a-64 of "<set>/<key>", mod 100.
pub fn bucket(set: &str, key: &str) -> u8 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in set.bytes().chain([b'/']).chain(key.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // Below 100: fits.
    (hash % 100) as u8
}

/// What a Pod's canary bucket is computed from. `by: owner`: the uid of its
/// controller ownerReference, else `<namespace>/<name or generateName>`;
/// `by: pod`: its name, else the AdmissionRequest's uid.
pub fn canary_key(by: CanaryKey, metadata: &Value, namespace: &str, request_uid: &str) -> String {
    let text = |key: &str| {
        metadata
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let name = text("name");
    match by {
        CanaryKey::Owner => {
            let controller = metadata
                .get("ownerReferences")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
                .and_then(|r| r.get("uid").and_then(Value::as_str))
                .filter(|uid| !uid.is_empty());
            match controller {
                Some(uid) => uid.to_string(),
                None => format!(
                    "{namespace}/{}",
                    name.or(text("generateName")).unwrap_or_default()
                ),
            }
        }
        CanaryKey::Pod => name.unwrap_or(request_uid).to_string(),
    }
}

/// A Pod's canary buckets of a set, for each key: computed at CREATE and
/// recorded, so that an upgrade uses the bucket the Pod was created with
/// (at CREATE a `generateName` Pod has no name yet).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Buckets {
    pub owner: u8,
    pub pod: u8,
}

impl Buckets {
    /// As the record keeps them: `owner:25,pod:71` (a string: a nested
    /// struct would be serde code of its own in policy.wasm).
    pub fn to_record(self) -> String {
        format!("owner:{},pod:{}", self.owner, self.pod)
    }

    /// What [`Buckets::to_record`] wrote; None for anything else.
    pub fn from_record(text: &str) -> Option<Buckets> {
        let (owner, pod) = text.split_once(",pod:")?;
        Some(Buckets {
            owner: owner.strip_prefix("owner:")?.parse().ok()?,
            pod: pod.parse().ok()?,
        })
    }

    fn by(self, key: CanaryKey) -> u8 {
        match key {
            CanaryKey::Owner => self.owner,
            CanaryKey::Pod => self.pod,
        }
    }
}

impl InjectedSet {
    /// The revision this record says the Pod runs (`current` for a set
    /// without revisions).
    pub fn revision_name(&self) -> &str {
        self.revision.as_deref().unwrap_or(CURRENT)
    }
}

impl SidecarSet {
    /// The Pod's buckets of this set; None for a set without revisions,
    /// which has no canary (and whose record stays as before).
    pub fn buckets(&self, metadata: &Value, namespace: &str, request_uid: &str) -> Option<Buckets> {
        if self.revisions.is_empty() {
            return None;
        }
        let of = |by| {
            bucket(
                &self.name,
                &canary_key(by, metadata, namespace, request_uid),
            )
        };
        Some(Buckets {
            owner: of(CanaryKey::Owner),
            pod: of(CanaryKey::Pod),
        })
    }

    /// The revision whose image `container` has in `image`, `current`
    /// first; None for an image of no revision.
    pub fn revision_running(&self, container: &ContainerSpec, image: &str) -> Option<&str> {
        self.revision_names()
            .find(|r| self.image_in(container, r) == image)
    }

    /// The revision `name` stands for: a revision (or `current`) itself, or
    /// the one a tag of that name follows (with the tag); None for neither.
    pub fn resolve<'s>(&'s self, name: &str) -> Option<(&'s str, Option<&'s str>)> {
        if let Some(revision) = self.revision_names().find(|r| *r == name) {
            return Some((revision, None));
        }
        let (tag, revision) = self.tags.iter().find(|(t, _)| t == name)?;
        let revision = self.revision_names().find(|r| r == revision)?;
        Some((revision, Some(tag.as_str())))
    }

    /// Whether `name` is `current` or one of the set's revisions.
    pub fn has_revision(&self, name: &str) -> bool {
        name == CURRENT || self.revisions.iter().any(|r| r.name == name)
    }

    /// The image `container` runs in `revision` (the set's own where the
    /// revision does not override it, or the revision is unknown).
    pub fn image_in<'s>(&'s self, container: &'s ContainerSpec, revision: &str) -> &'s str {
        self.revisions
            .iter()
            .find(|r| r.name == revision)
            .and_then(|r| r.images.get(container.name()))
            .map_or(container.image(), String::as_str)
    }

    /// Every revision's name, `current` first.
    pub fn revision_names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(CURRENT).chain(self.revisions.iter().map(|r| r.name.as_str()))
    }

    /// The images `container` may run: each revision's, deduplicated, with
    /// the revisions that use it.
    pub fn allowed_images<'s>(
        &'s self,
        container: &'s ContainerSpec,
    ) -> BTreeMap<&'s str, Vec<&'s str>> {
        let mut allowed: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for revision in self.revision_names() {
            allowed
                .entry(self.image_in(container, revision))
                .or_default()
                .push(revision);
        }
        allowed
    }

    /// The definition hash of `revision`: the set's own for `current`;
    /// otherwise each overridden container's hash mixed with its image, so
    /// that every revision hashes apart and adding a revision changes no
    /// other's hash.
    pub fn revision_hash(&self, native: bool, revision: &str) -> String {
        let Some(found) = self.revisions.iter().find(|r| r.name == revision) else {
            return self.definition_hash(native);
        };
        let state =
            self.definition_state_with(&|c: &ContainerSpec| match found.images.get(c.name()) {
                Some(image) => mix(c.hash, words(image.as_bytes())),
                None => c.hash,
            });
        crate::provenance::definition_hash(state, native)
    }

    /// The revision a Pod gets: its pin where the set allows one and has
    /// the revision (or a tag of that name), else its Namespace's pin
    /// (`namespace`: the Namespace's labels, where read) on the same terms,
    /// else the canary's where the Pod's bucket (`buckets`) is below the
    /// percent, else `current`. A pin that is ignored says so in `warnings`.
    pub fn choose(
        &self,
        metadata: &Value,
        namespace: Option<&Labels>,
        buckets: Option<Buckets>,
        warnings: &mut Vec<String>,
    ) -> Choice<'_> {
        let key = format!("{REVISION_PREFIX}{}", self.name);
        let pod_pin = metadata
            .get("annotations")
            .and_then(|a| a.get(&key))
            .and_then(Value::as_str);
        let namespace_pin = namespace
            .and_then(|labels| labels.get(&key))
            .and_then(Value::as_str);
        // The pin, whether the set allows it, why it chooses, and what a
        // warning calls it: (whose, the pins, the setting's middle word).
        for (pin, allowed, why, (whose, pins, setting)) in [
            (
                pod_pin,
                self.allow_revision_pin,
                Why::Pinned,
                ("annotation", "revision pins", "Revision"),
            ),
            (
                namespace_pin,
                self.allow_namespace_pin,
                Why::NamespacePinned,
                ("Namespace label", "namespace pins", "Namespace"),
            ),
        ] {
            let Some(pin) = pin else { continue };
            match (allowed, self.resolve(pin)) {
                (true, Some((revision, tag))) => return Choice { revision, why, tag },
                (false, _) => warnings.push(format!(
                    "{whose} {key} ignored: sidecar set {} does not allow {pins} (allow{setting}Pin: false)",
                    self.name,
                )),
                (true, None) => warnings.push(format!(
                    "{whose} {key} ignored: sidecar set {} has no revision or tag {:?} (it has {}); the Pod gets the revision it would without a pin",
                    self.name,
                    clip(pin),
                    self.revision_names()
                        .chain(self.tags.iter().map(|(t, _)| t.as_str()))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        }
        if let Some(canary) = &self.injection_strategy.canary
            && let Some(revision) = self.revision_names().find(|r| *r == canary.revision)
            && let Some(bucket) = buckets.map(|b| b.by(canary.by))
            && u32::from(bucket) < canary.percent
        {
            return Choice {
                revision,
                why: Why::Canary {
                    bucket,
                    percent: canary.percent,
                    by: canary.by,
                },
                tag: None,
            };
        }
        Choice {
            revision: CURRENT,
            why: Why::Current,
            tag: None,
        }
    }
}

/// The labels of the Pod's Namespace, for namespace pins: read (through
/// the lookup the policy makes anyway, once per request) only where one of
/// `sets` has revisions and allows the pins. Without a host (tests,
/// fuzzing): none. A pin is a rollout preference, not a boundary: a
/// Namespace that cannot be read never rejects a Pod (CREATE or UPDATE);
/// the pins are left out with one warning, and the canary or `current`
/// applies (`namespaceLookupFailure` governs namespaceSelector only).
pub fn namespace_pins<'s>(
    mut sets: impl Iterator<Item = &'s SidecarSet>,
    namespace: &mut Namespace,
    warnings: &mut Vec<String>,
) -> Option<Labels> {
    let set = sets.find(|s| !s.revisions.is_empty() && s.allow_namespace_pin)?;
    if !namespace.has_host() {
        return None;
    }
    let name = namespace.name;
    match namespace.labels() {
        Ok(labels) => Some(labels.clone()),
        Err(reason) => {
            warnings.push(format!(
                "namespace pins not read: Namespace {name:?} could not be read ({reason}); the Pod's sets choose their revisions without them (canary, then current). To use the label {REVISION_PREFIX}{}, grant the policy v1/Namespace (contextAwareResources); or set allowNamespacePin: false on the set",
                set.name
            ));
            None
        }
    }
}

impl SidecarSet {
    /// What a Pod's record and labels say of `revision`, for a set that has
    /// revisions (one without keeps its record and labels as before): the
    /// record's `revision`, and the label
    /// `sidecarset.kubewarden.io/rev.<set>: <revision>`.
    pub fn revision_marks(&self, revision: &str) -> Option<(String, (String, String))> {
        let label = self.revision_label()?;
        Some((revision.to_string(), (label, revision.to_string())))
    }

    /// The key of the revision label, for a set that has revisions.
    pub fn revision_label(&self) -> Option<String> {
        (!self.revisions.is_empty()).then(|| format!("sidecarset.kubewarden.io/rev.{}", self.name))
    }
}

#[cfg(test)]
mod tests;
