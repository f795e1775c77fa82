//! The record is the policy's own output. On CREATE the status record a Pod
//! brings is a claim, never stored: for every set the Pod holds exactly (its
//! containers in place with one revision's images, its volumes, pull
//! secrets and annotations as the set defines them), the record is derived
//! here from that set's definition and what the policy computes itself
//! (revision, where it came from, canary buckets). What the brought record
//! claims only ever narrows what is recorded as added by the set (volumes,
//! pull secrets, annotations, app entries the Pod holds exactly as the set
//! defines them): those parts are the set's to remove later, and claiming
//! them gives a Pod nothing it could not write itself.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::annotations::{DEFAULT_CONTAINER, clip};
use crate::app;
use crate::held::Maker;
use crate::order::Placement;
use crate::pod::PodView;
use crate::provenance::{InjectedSet, Status, volume_digest};
use crate::rollout::{Buckets, Choice};
use crate::selector::Applying;
use crate::settings::PatchPolicy;

/// `from` of a record whose revision the Pod came holding, where the policy
/// would have chosen another (a copy, or a manifest with the sidecars in).
pub const HELD: &str = "held";

/// The record of `a`'s set, held by `pod` in `revision`; `choice` is the
/// revision the policy would choose for the Pod, `buckets` its canary
/// buckets, `claimed` the record the Pod brought for the set.
pub fn derive(
    a: &Applying,
    revision: &str,
    (choice, buckets): (&Choice, Option<Buckets>),
    claimed: Option<&InjectedSet>,
    pod: &PodView,
    maker: &Maker,
) -> InjectedSet {
    let set = a.set;
    let (revision_name, _) = set.revision_marks(revision).unzip();
    let (revision_from, tag) = if choice.revision == revision {
        choice.marks(&revision_name)
    } else if revision_name.is_some() {
        (HELD.to_string(), String::new())
    } else {
        Default::default()
    };
    let mut record = InjectedSet {
        name: set.name.clone(),
        hash: set.revision_hash(a.native, revision),
        revision_from,
        tag,
        revision: revision_name,
        imageless_hash: set.imageless_hash(a.native),
        buckets: buckets.map(Buckets::to_record).unwrap_or_default(),
        ..Default::default()
    };
    for (container, placement) in a.items() {
        let name = container.name().to_string();
        if placement.in_init_containers() {
            record.init_containers.push(name.clone());
        } else {
            record.containers.push(name.clone());
        }
        record
            .images
            .insert(name.clone(), set.image_in(container, revision).to_string());
        record.imageless.insert(name, container.imageless_digest());
    }
    let claims = |list: &[String], name: &str| list.iter().any(|n| n == name);
    let none = InjectedSet::default();
    let claimed = claimed.unwrap_or(&none);
    // Held exactly as the set defines them (the caller checked): a claim
    // that the set added them is kept, with the digest of the definition.
    for volume in &set.volumes {
        let name = volume
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if claims(&claimed.volumes, name) {
            record.volumes.push(name.to_string());
            record
                .volume_digests
                .insert(name.to_string(), volume_digest(volume));
        }
    }
    for secret in &set.image_pull_secrets {
        if claims(&claimed.image_pull_secrets, &secret.name) {
            record.image_pull_secrets.push(secret.name.clone());
        }
    }
    for patch in &set.patch_pod_metadata {
        if patch.patch_policy == PatchPolicy::MergePatchJson {
            continue;
        }
        for (key, value) in &patch.annotations {
            if claimed.annotations.get(key) == Some(value)
                && pod.annotations.get(key.as_str()) == Some(&value.as_str())
            {
                record.annotations.insert(key.clone(), value.clone());
            }
        }
    }
    // kubectl's default container, where this set wrote it: the Pod's
    // first app container, for a set with regular sidecars.
    let regular = a
        .items()
        .any(|(_, p)| matches!(p, Placement::Leading | Placement::Trailing));
    if let (true, Some(first), Some(claim)) = (
        regular,
        maker.sources.apps.first(),
        claimed.annotations.get(DEFAULT_CONTAINER),
    ) && claim == first.name
        && pod.annotations.get(DEFAULT_CONTAINER) == Some(&first.name)
    {
        record
            .annotations
            .insert(DEFAULT_CONTAINER.to_string(), claim.clone());
    }
    if let Some(block) = &set.app_containers {
        for container in maker.sources.apps.iter().filter(|c| block.selects(c.name)) {
            for (list, entry) in block.entries() {
                let key = format!("{}/{list}/{}", container.name, app::identity(list, entry));
                let digest = app::entry_digest(list, entry);
                let held = app::find(container, list, &app::identity(list, entry))
                    .is_some_and(|e| app::entry_digest(list, e) == digest);
                if held && claimed.app.get(&key) == Some(&digest) {
                    record.app.insert(key, digest);
                }
            }
        }
    }
    record
}

/// The derived records in the order the brought record has them (then the
/// others, in settings order): a second evaluation writes the same text.
pub fn in_brought_order(mut derived: Vec<InjectedSet>, brought: &Status) -> Vec<InjectedSet> {
    let mut ordered = Vec::with_capacity(derived.len());
    for set in &brought.sets {
        if let Some(i) = derived.iter().position(|r| r.name == set.name) {
            ordered.push(derived.remove(i));
        }
    }
    ordered.extend(derived);
    ordered
}

/// The fields of two records of a set that differ, by the record's names
/// (in their alphabetical order).
fn differing(a: &InjectedSet, b: &InjectedSet) -> impl Iterator<Item = &'static str> {
    [
        ("annotations", a.annotations != b.annotations),
        ("app", a.app != b.app),
        ("buckets", a.buckets != b.buckets),
        ("containers", a.containers != b.containers),
        ("from", a.revision_from != b.revision_from),
        ("hash", a.hash != b.hash),
        (
            "imagePullSecrets",
            a.image_pull_secrets != b.image_pull_secrets,
        ),
        ("imageless", a.imageless != b.imageless),
        ("imagelessHash", a.imageless_hash != b.imageless_hash),
        ("images", a.images != b.images),
        ("initContainers", a.init_containers != b.init_containers),
        ("revision", a.revision != b.revision),
        ("tag", a.tag != b.tag),
        ("volumeDigests", a.volume_digests != b.volume_digests),
        ("volumes", a.volumes != b.volumes),
    ]
    .into_iter()
    .filter_map(|(name, differs)| differs.then_some(name))
}

/// At most this many replaced fields are named in the warning.
const NAMED: usize = 16;

/// The warning for a brought record that the derived one replaces, naming
/// the fields that differ (`set.field`, or a set's name where the whole
/// entry goes); None where nothing was brought or nothing differs. The
/// sets injected now (`fresh`) have entries the Pod did not bring; `whole`:
/// the record's own fields count too (they are recomputed with every
/// injection).
pub fn replaced(
    brought: Option<&str>,
    derived: &Status,
    fresh: &[String],
    whole: bool,
) -> Option<String> {
    let brought_text = brought?;
    if brought_text == derived.to_annotation() {
        return None;
    }
    let Ok(brought) = Status::read(Some(brought_text)) else {
        return Some(format!(
            "metadata.annotations[{:?}]: the record the Pod brought is replaced by what the policy verified the Pod holds (replaced: the whole annotation, which is not a record this policy wrote); the record is the policy's own output",
            crate::annotations::STATUS
        ));
    };
    let mut fields: Vec<String> = Vec::new();
    for set in &brought.sets {
        let name = clip(&set.name);
        match derived.get(&set.name) {
            None => fields.push(format!("{name} (not held)")),
            Some(ours) => fields.extend(differing(set, ours).map(|key| format!("{name}.{key}"))),
        }
    }
    for set in &derived.sets {
        if brought.get(&set.name).is_none() && !fresh.contains(&set.name) {
            fields.push(format!("{} (held, not recorded)", set.name));
        }
    }
    for (key, differs) in [
        ("startOrder", brought.start_order != derived.start_order),
        (
            "effectiveRequests",
            brought.effective_requests != derived.effective_requests,
        ),
    ] {
        if differs && whole {
            fields.push(key.to_string());
        }
    }
    if fields.is_empty() && !whole {
        return None;
    }
    if fields.is_empty() {
        // Same content, other text (key order, spacing, unknown fields).
        fields.push("its form".to_string());
    }
    let more = fields.len().saturating_sub(NAMED);
    fields.truncate(NAMED);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    Some(format!(
        "metadata.annotations[{:?}]: the record the Pod brought is replaced by what the policy verified the Pod holds (replaced: {}{more}); the record is the policy's own output",
        crate::annotations::STATUS,
        fields.join(", ")
    ))
}

/// The revision labels to write: the revision of each recorded set that has
/// revisions; and the Pod's other labels of that form to remove (a label
/// the Pod brought for a set it does not hold).
pub fn labels<'l>(
    records: &[InjectedSet],
    pod_labels: impl Iterator<Item = &'l str>,
) -> (BTreeMap<String, String>, Vec<String>) {
    // Inserted one by one: collecting into a map sorts, and the sort is
    // code of its own in policy.wasm.
    let mut write = BTreeMap::new();
    for record in records {
        if let Some(revision) = &record.revision {
            write.insert(format!("{REVISION_LABEL}{}", record.name), revision.clone());
        }
    }
    let remove = pod_labels
        .filter(|key| key.starts_with(REVISION_LABEL) && !write.contains_key(*key))
        .map(str::to_string)
        .collect();
    (write, remove)
}

/// The key of a set's revision label, less the set's name.
const REVISION_LABEL: &str = "sidecarset.kubewarden.io/rev.";
