//! Injection: the one place that edits the Pod JSON.
//!
//! It first plans, reading the Pod through [`PodView`] and checking every
//! conflict on a [`PodModel`]; only a conflict-free plan is applied, in place,
//! to the request's own JSON, so every field the policy does not touch
//! (including fields newer than its k8s-openapi) survives unchanged. Entries
//! are moved whole when the start order puts them in place.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use crate::annotations::{DEFAULT_CONTAINER, STATUS};
use crate::app::{self, Addition, Apps};
use crate::conflicts::{PodModel, VolumeClaim, init_port_clashes};
use crate::held::{Maker, holds_exactly};
use crate::namespace::Namespace;
use crate::order::Placement;
use crate::order::{
    Item, describe_start_order, dropped_dependencies, entry_name, is_in_start_order,
    put_in_start_order,
};
use crate::pod::PodView;
use crate::pod_security;
use crate::provenance::{InjectedSet, Removed, Status, Writable, volume_digest};
use crate::resources::{self, Amounts, Injected};
use crate::rollout::{self, Buckets, Choice};

mod record;
use crate::selector::{self, Applying};
use crate::settings::{PatchPolicy, Settings, SidecarSet};
use crate::shutdown::Drains;

/// What injection decided for a Pod.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// Nothing applies, or everything that applies is already injected.
    Unchanged,
    /// The mutated Pod.
    Mutated(Value),
    /// The message says what conflicts, where, and what to do.
    Rejected(String),
}

/// Everything one set adds, built from the settings during planning.
#[derive(Default)]
struct SetInjection {
    record: InjectedSet,
    /// Containers and init containers, each with where it goes.
    entries: Vec<(Placement, Value)>,
    volumes: Vec<Value>,
    pull_secrets: Vec<Value>,
    annotations: Vec<(String, String)>,
    /// What the set gives the app containers.
    app: Vec<Addition>,
}

struct Plan<'s> {
    /// What stale injections left that goes before their sets are injected afresh.
    removed: Removed,
    sets: Vec<SetInjection>,
    status: Status,
    /// Every applying set, injected now or before: the start order covers all.
    applying: Vec<Applying<'s>>,
    /// The Pod's effective requests as it was requested.
    before: Amounts,
    /// What stale records gave the app containers that goes.
    app_removed: Vec<(String, String)>,
    /// The regular sidecars' preStop sleeps and the grace period.
    drains: Drains,
    /// The sets injected afresh (their brought records are replaced as
    /// stale, not as forged).
    fresh: Vec<String>,
}

/// Injects the applying sets into `object`, a Pod being created in
/// `namespace`. What the user should know but does not stop the Pod goes
/// into `warnings`.
pub fn inject(
    object: Value,
    settings: &Settings,
    namespace: &mut Namespace,
    warnings: &mut Vec<String>,
) -> Outcome {
    inject_request(object, settings, namespace, "", warnings)
}

/// [`inject`], for the AdmissionRequest `request_uid` (a canary `by: pod`
/// falls back to it for a Pod without a name).
pub fn inject_request(
    mut object: Value,
    settings: &Settings,
    namespace: &mut Namespace,
    request_uid: &str,
    warnings: &mut Vec<String>,
) -> Outcome {
    let result = match plan(&object, settings, namespace, request_uid, warnings) {
        Ok(Planned::Nothing) => return Outcome::Unchanged,
        Ok(Planned::Record(status)) => rewrite(&mut object, status, warnings),
        Ok(Planned::Inject(plan)) => apply(&mut object, *plan, settings, warnings).map(|()| true),
        Err(message) => return Outcome::Rejected(message),
    };
    match result {
        Ok(true) => Outcome::Mutated(object),
        Ok(false) => Outcome::Unchanged,
        Err(message) => Outcome::Rejected(message),
    }
}

/// What planning decided for a Pod being created.
enum Planned<'s> {
    /// No set applies: the Pod is left as it is.
    Nothing,
    /// Every applying set is held: only the record the policy derived (and
    /// the revision labels) may differ from what the Pod brought.
    Record(Status),
    /// Sets to inject.
    Inject(Box<Plan<'s>>),
}

/// The Pod's record and revision labels made the derived ones; whether
/// anything changed.
fn rewrite(object: &mut Value, status: Status, warnings: &mut Vec<String>) -> Result<bool, String> {
    let brought = crate::update::annotation(object, STATUS).map(str::to_string);
    let text = (!status.sets.is_empty()).then(|| status.to_annotation());
    let labels = object
        .get("metadata")
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object);
    let keys = labels
        .into_iter()
        .flat_map(|l| l.keys().map(String::as_str));
    let (write, remove) = record::labels(&status.sets, keys);
    let label = |key: &str| labels.and_then(|l| l.get(key)).and_then(Value::as_str);
    let labels_differ = write.iter().any(|(k, v)| label(k) != Some(v.as_str()))
        || remove
            .iter()
            .any(|k| labels.is_some_and(|l| l.contains_key(k)));
    if brought == text && !labels_differ {
        return Ok(false);
    }
    warnings.extend(record::replaced(brought.as_deref(), &status, &[], true));
    let pod = object
        .as_object_mut()
        .ok_or_else(|| internal("request.object"))?;
    let metadata = object_mut(pod, "metadata")?;
    write_labels(metadata, write, &remove)?;
    let annotations = object_mut(metadata, "annotations")?;
    match text {
        Some(text) => {
            annotations.insert(STATUS.to_string(), Value::String(text));
        }
        None => {
            annotations.remove(STATUS);
        }
    }
    Ok(true)
}

/// Writes the revision labels `write` and removes those in `remove`.
fn write_labels(
    metadata: &mut Map<String, Value>,
    write: std::collections::BTreeMap<String, String>,
    remove: &[String],
) -> Result<(), String> {
    if write.is_empty() && !metadata.get("labels").is_some_and(Value::is_object) {
        return Ok(());
    }
    let labels = object_mut(metadata, "labels")?;
    for key in remove {
        labels.remove(key);
    }
    for (key, value) in write {
        labels.insert(key, Value::String(value));
    }
    Ok(())
}

fn plan<'s>(
    object: &Value,
    settings: &'s Settings,
    namespace: &mut Namespace,
    request_uid: &str,
    warnings: &mut Vec<String>,
) -> Result<Planned<'s>, String> {
    let pod = PodView::read(object)?;
    // Scope first: the status record is read only for Pods a set applies to.
    let mut applying = selector::applying_sets(settings, &pod, namespace, warnings)?;
    if applying.is_empty() {
        // A record or revision label a Pod brings for sets that do not
        // apply to it never survives CREATE: an UPDATE that later makes a
        // set apply would read it.
        // (Out of scope, in an excluded Namespace say, the Pod is left as
        // it is: no set can ever apply to it.)
        let (_, labels) = record::labels(&[], pod.labels.keys().copied());
        let brought = pod.annotations.contains_key(STATUS) || !labels.is_empty();
        let brought = brought && !settings.excludes(namespace.name);
        return Ok(if brought {
            Planned::Record(Status::default())
        } else {
            Planned::Nothing
        });
    }
    let status = Status::read(pod.annotations.get(STATUS).copied())?;
    let injected_names: HashSet<&str> = applying
        .iter()
        .flat_map(|a| a.items().map(|(c, _)| c.name()))
        .collect();
    // Sidecars are not sources: the applying sets' items, and what a record
    // describes exactly (an earlier set's, say).
    let sidecars: HashSet<&str> = pod
        .init_containers
        .iter()
        .chain(&pod.containers)
        .filter(|c| {
            injected_names.contains(c.name) || status.sets.iter().any(|s| s.describes_container(c))
        })
        .map(|c| c.name)
        .collect();
    let mut maker = Maker::new(&pod, |name| sidecars.contains(name), &applying);
    let mut notes = Vec::new();
    maker.drains = drains(&applying, &pod, &mut notes)?;
    // The revision the policy would choose for each set (a pin: the Pod's,
    // then its Namespace's; the canary; current), and the Pod's buckets.
    let metadata = object.get("metadata").unwrap_or(&Value::Null);
    let pins = rollout::namespace_pins(applying.iter().map(|a| a.set), namespace, warnings);
    // Chosen once per set; what choosing said (an ignored pin) is kept for
    // the sets injected now.
    let mut said: Vec<Vec<String>> = Vec::with_capacity(applying.len());
    let choices: Vec<(Choice, Option<Buckets>)> = applying
        .iter()
        .map(|a| {
            let buckets = a.set.buckets(metadata, namespace.name, request_uid);
            let mut notes = Vec::new();
            let choice = a.set.choose(metadata, pins.as_ref(), buckets, &mut notes);
            said.push(notes);
            (choice, buckets)
        })
        .collect();
    // By the settings' names: `applying` loses the sets Pod Security skips.
    let names: Vec<&'s str> = applying.iter().map(|a| a.set.name.as_str()).collect();
    let position = |name: &str| names.iter().position(|n| *n == name);
    let choice_of = |name: &str| position(name).and_then(|i| choices.get(i)).copied();
    let (mut to_inject, stale, held) =
        current_or_stale(&applying, &choices, &status, &pod, &injected_names, &maker);
    // A Pod that holds a set's sidecar already (a copy) is created with it
    // too: the Pod's profile annotation must not name it either.
    for (a, _) in &held {
        for (container, _) in a.items() {
            if let Some(problem) = crate::pod_rules::profile_annotation(&pod, container.name()) {
                return Err(crate::pod_rules::blame(
                    &a.set.name,
                    container.name(),
                    &problem,
                ));
            }
        }
    }
    // What the Pod holds is recorded as the policy derives it, never as
    // the Pod's record says.
    let held_records: Vec<InjectedSet> = held
        .iter()
        .filter_map(|(a, revision)| {
            let (choice, buckets) = choice_of(&a.set.name)?;
            let claimed = status.get(&a.set.name);
            Some(record::derive(
                a,
                revision,
                (&choice, buckets),
                claimed,
                &pod,
                &maker,
            ))
        })
        .collect();
    let held_records = record::in_brought_order(held_records, &status);
    // What the sets add, against the Namespace's Pod Security level.
    let skipped = pod_security::admit(&to_inject, &pod, settings, namespace, warnings)?;
    if !skipped.is_empty() {
        let kept = |a: &Applying| !skipped.contains(&a.set.name);
        to_inject.retain(kept);
        applying.retain(kept);
        notes.clear();
        maker.drains = drains(&applying, &pod, &mut notes)?;
    }
    if to_inject.is_empty() {
        let spec = object.get("spec").and_then(Value::as_object);
        let requests = spec.map(resources::effective_requests);
        let status = Status {
            sets: held_records,
            start_order: spec.map(start_order).unwrap_or_default(),
            // A Pod whose quantities do not parse is the API server's to
            // refuse: the record then holds none.
            effective_requests: requests
                .and_then(Result::ok)
                .map(|r| resources::canonical(&r))
                .unwrap_or_default(),
        };
        return Ok(Planned::Record(status));
    }
    warnings.append(&mut notes);
    // The revision each set injects, with what choosing it said.
    let mut chosen: Vec<(Applying, Choice, Option<Buckets>)> = Vec::new();
    for a in to_inject {
        let Some(i) = position(&a.set.name) else {
            continue;
        };
        let (Some((choice, buckets)), Some(notes)) = (choices.get(i), said.get_mut(i)) else {
            continue;
        };
        warnings.append(notes);
        if settings.explain && !a.set.revisions.is_empty() {
            warnings.push(choice.describe(&a.set.name));
        }
        chosen.push((a, *choice, *buckets));
    }
    let to_inject = chosen;

    // Only what the Pod holds exactly as recorded goes; what else a record
    // names stays the Pod's, and a clash with it names the record.
    let writable = writable(&applying);
    let removed = Removed::of(&stale, &pod, &writable);
    let recorded_by: HashMap<&str, &str> = status
        .sets
        .iter()
        .flat_map(|s| s.container_names().map(move |c| (c, s.name.as_str())))
        .collect();
    let mut model = PodModel::new(&pod, &removed, &recorded_by);
    let mut apps = Apps::new(
        maker.sources.apps.clone(),
        app::removed(&stale, &maker.sources.apps, &|list, id| {
            gives(&applying, list, id)
        }),
    );
    let spec = object.get("spec").and_then(Value::as_object);
    let before = resources::effective_requests(spec.unwrap_or(&Map::new()))?;

    let mut problems = Vec::new();
    let mut sets: Vec<SetInjection> = to_inject
        .into_iter()
        .map(|(a, choice, buckets)| {
            plan_set(
                a,
                (choice, buckets),
                &mut model,
                &mut apps,
                &maker,
                &mut problems,
                warnings,
            )
        })
        .collect();
    default_container(&mut sets, &model, &maker);
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    warnings.extend(maker.sizing.unused(|name| {
        sets.iter()
            .any(|s| s.record.container_names().any(|c| c == name))
    }));

    // The level each set meets on its own, where Pod Security was checked
    // (the Namespace read): it costs an evaluation of every control.
    if settings.explain && settings.check_pod_security && namespace.was_read() {
        for a in &applying {
            if sets.iter().any(|s| s.record.name == a.set.name) {
                warnings.push(pod_security::describe(a.set, a.native));
            }
        }
    }
    let fresh: Vec<String> = sets.iter().map(|s| s.record.name.clone()).collect();
    let new_status = Status {
        sets: held_records,
        ..Default::default()
    };
    Ok(Planned::Inject(Box::new(Plan {
        removed,
        sets,
        status: new_status,
        fresh,
        applying,
        before,
        app_removed: apps.removed,
        drains: std::mem::take(&mut maker.drains),
    })))
}

/// What the applying sets write now: all a stale record may take out.
fn writable<'s>(applying: &[Applying<'s>]) -> Writable<'s> {
    let mut writable = Writable::default();
    for a in applying {
        writable.containers.extend(a.items().map(|(c, _)| c.name()));
        writable.volumes.extend(
            a.set
                .volumes
                .iter()
                .filter_map(|v| v.get("name").and_then(Value::as_str)),
        );
        for patch in &a.set.patch_pod_metadata {
            if patch.patch_policy != PatchPolicy::MergePatchJson {
                writable
                    .annotations
                    .extend(patch.annotations.keys().map(String::as_str));
            }
        }
    }
    writable
}

/// Whether an applying set gives the app containers the entry `id` of `list`.
fn gives(applying: &[Applying], list: &str, id: &str) -> bool {
    applying.iter().any(|a| {
        a.set.app_containers.as_ref().is_some_and(|block| {
            block
                .entries()
                .any(|(l, entry)| l == list && app::identity(l, entry) == id)
        })
    })
}

/// The drains of the applying sets' regular sidecars, fitted into the
/// Pod's grace period (raised, or a warning into `notes`).
fn drains(applying: &[Applying], pod: &PodView, notes: &mut Vec<String>) -> Result<Drains, String> {
    let mut drains = Drains::of(applying, pod);
    drains.fit(applying, notes)?;
    Ok(drains)
}

/// Where `kubectl logs` and `kubectl exec` land without `-c`: the Pod's
/// first app container, when a set puts a sidecar among the Pod's
/// containers and the Pod (or a set's patchPodMetadata) names none. Written
/// by, and recorded for, the first such set.
fn default_container(sets: &mut [SetInjection], model: &PodModel, maker: &Maker) {
    let regular = |s: &&mut SetInjection| {
        s.entries
            .iter()
            .any(|(p, _)| matches!(p, Placement::Leading | Placement::Trailing))
    };
    if model.annotations.contains_key(DEFAULT_CONTAINER) {
        return;
    }
    if let (Some(app), Some(set)) = (maker.sources.apps.first(), sets.iter_mut().find(regular)) {
        let pair = (DEFAULT_CONTAINER.to_string(), app.name.to_string());
        set.record
            .annotations
            .insert(pair.0.clone(), pair.1.clone());
        set.annotations.push(pair);
    }
}

/// The applying sets to inject, the records made stale, and the sets the
/// Pod holds, each with the revision it holds. A set is held when the Pod
/// holds everything it injects ([`holds_exactly`]: containers in place,
/// one revision's images, volumes, pull secrets, annotations; what it
/// gives the app containers; its start order), in the revision the policy
/// would choose or else another of the set's. The Pod's record is a claim:
/// it can only make a set stale (a hash of none of the set's revisions: a
/// copy of a Pod injected from an older definition, whose parts that
/// definition added are taken out and the set injected afresh), never
/// held. A record of a
/// set that no longer applies under that name (a renamed set, say) whose
/// containers a set now injects is superseded too, not a conflict.
type Sorted<'s> = (
    Vec<Applying<'s>>,
    Vec<InjectedSet>,
    Vec<(Applying<'s>, &'s str)>,
);

fn current_or_stale<'s>(
    applying: &[Applying<'s>],
    choices: &[(Choice<'s>, Option<Buckets>)],
    status: &Status,
    pod: &PodView,
    injected_names: &HashSet<&str>,
    maker: &Maker,
) -> Sorted<'s> {
    let own = pod.app_containers(|name| injected_names.contains(name));
    let mut to_inject: Vec<Applying> = Vec::new();
    let mut stale = Vec::new();
    let mut held = Vec::new();
    for (a, (choice, _)) in applying.iter().zip(choices) {
        let recorded = status.get(&a.set.name);
        let chosen = std::iter::once(choice.revision);
        let others = a.set.revision_names().filter(|r| *r != choice.revision);
        // A record from another definition of the set: stale, whatever the
        // Pod holds (the hash of any of its revisions is this definition's).
        let current = recorded.is_none_or(|rec| {
            a.set
                .revision_names()
                .any(|r| rec.hash == a.set.revision_hash(a.native, r))
        });
        let revision = (current && app::given(a.set, &maker.sources.apps))
            .then(|| {
                chosen
                    .chain(others)
                    .find(|r| holds_exactly(maker, a.set, a.native, pod, &own, r))
            })
            .flatten();
        match revision {
            Some(revision) => held.push((*a, revision)),
            None => {
                stale.extend(recorded.cloned());
                to_inject.push(*a);
            }
        }
    }
    // Held sets out of the start order injection puts them in (an own init
    // container before a set's, say) are not held: injected afresh.
    if !held.is_empty() && !is_in_start_order(pod.spec, &items(applying)) {
        let moved: Vec<Applying> = held.drain(..).map(|(a, _)| a).collect();
        stale.extend(
            moved
                .iter()
                .filter_map(|a| status.get(&a.set.name))
                .cloned(),
        );
        // In settings order, as injection writes the records.
        let injecting = |a: &&Applying| {
            to_inject
                .iter()
                .chain(&moved)
                .any(|b| b.set.name == a.set.name)
        };
        to_inject = applying.iter().filter(injecting).copied().collect();
    }
    let applying_names: HashSet<&str> = applying.iter().map(|a| a.set.name.as_str()).collect();
    let injecting: HashSet<&str> = to_inject
        .iter()
        .flat_map(|a| a.items().map(|(c, _)| c.name()))
        .collect();
    for recorded in &status.sets {
        if !applying_names.contains(recorded.name.as_str())
            && recorded
                .container_names()
                .any(|name| injecting.contains(name))
        {
            stale.push(recorded.clone());
        }
    }
    (to_inject, stale, held)
}

fn plan_set<'a>(
    applying: Applying<'a>,
    (choice, buckets): (Choice, Option<Buckets>),
    model: &mut PodModel<'a>,
    apps: &mut Apps,
    maker: &Maker,
    problems: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> SetInjection {
    let set = applying.set;
    let (revision, _) = set.revision_marks(choice.revision).unzip();
    let (revision_from, tag) = choice.marks(&revision);
    let mut injection = SetInjection {
        record: InjectedSet {
            name: set.name.clone(),
            hash: set.revision_hash(applying.native, choice.revision),
            revision_from,
            tag,
            revision,
            imageless_hash: set.imageless_hash(applying.native),
            buckets: buckets.map(Buckets::to_record).unwrap_or_default(),
            ..Default::default()
        },
        ..Default::default()
    };
    // Volumes first: the set's own mounts may name them.
    add_volumes(&mut injection, set, model, problems);
    for (container, placement) in applying.items() {
        let kind = if placement == Placement::Init {
            "init container"
        } else {
            "container"
        };
        let binds_ports = placement != Placement::Init;
        model.claim_container(&set.name, kind, container, binds_ports, problems);
        model.check_mounts(&set.name, kind, container, problems);
        let recorded = if placement.in_init_containers() {
            &mut injection.record.init_containers
        } else {
            &mut injection.record.containers
        };
        recorded.push(container.name().to_string());
        let image = set.image_in(container, choice.revision);
        injection
            .record
            .images
            .insert(container.name().to_string(), image.to_string());
        injection
            .record
            .imageless
            .insert(container.name().to_string(), container.imageless_digest());
        match maker.entry(set, container, placement, choice.revision, warnings) {
            Ok(entry) => injection.entries.push((placement, entry)),
            Err(problem) => problems.push(problem),
        }
    }
    for secret in &set.image_pull_secrets {
        if model.pull_secrets.insert(secret.name.as_str()) {
            injection
                .record
                .image_pull_secrets
                .push(secret.name.clone());
            let mut entry = Map::new();
            entry.insert("name".into(), Value::String(secret.name.clone()));
            injection.pull_secrets.push(Value::Object(entry));
        }
    }
    if let Some(block) = &set.app_containers {
        let record = &mut injection.record.app;
        apps.give(
            &set.name,
            block,
            record,
            &mut injection.app,
            problems,
            warnings,
        );
    }
    add_annotations(&mut injection, set, model, problems);
    injection
}

/// The set's volumes the Pod does not hold yet (an identical one is reused).
fn add_volumes<'a>(
    injection: &mut SetInjection,
    set: &'a SidecarSet,
    model: &mut PodModel<'a>,
    problems: &mut Vec<String>,
) {
    for volume in &set.volumes {
        match model.claim_volume(&set.name, volume) {
            VolumeClaim::Added => {
                let name = volume
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                injection.record.volumes.push(name.to_string());
                injection
                    .record
                    .volume_digests
                    .insert(name.to_string(), volume_digest(volume));
                injection.volumes.push(Value::Object(volume.clone()));
            }
            VolumeClaim::Reused => {}
            VolumeClaim::Conflict(message) => problems.push(message),
        }
    }
}

/// The set's patchPodMetadata annotations, as each patchPolicy says; the
/// record keeps what Retain and Overwrite wrote.
fn add_annotations<'a>(
    injection: &mut SetInjection,
    set: &'a SidecarSet,
    model: &mut PodModel<'a>,
    problems: &mut Vec<String>,
) {
    for (index, patch) in set.patch_pod_metadata.iter().enumerate() {
        for (key, value) in &patch.annotations {
            let new_value = match patch.patch_policy {
                PatchPolicy::Retain if model.annotations.contains_key(key.as_str()) => continue,
                PatchPolicy::Retain | PatchPolicy::Overwrite => value.clone(),
                PatchPolicy::MergePatchJson => {
                    match model.merged_annotation(&set.name, index, key, value) {
                        Ok(merged) => merged,
                        Err(message) => {
                            problems.push(message);
                            continue;
                        }
                    }
                }
            };
            model.annotations.insert(key, Cow::Owned(new_value.clone()));
            // A merged value holds the Pod's part too: never removed.
            if patch.patch_policy != PatchPolicy::MergePatchJson {
                injection
                    .record
                    .annotations
                    .insert(key.clone(), new_value.clone());
            }
            injection.annotations.push((key.clone(), new_value));
        }
    }
}

fn internal(what: &str) -> String {
    format!(
        "internal error: {what} changed shape while the policy injected; please report this with the Pod"
    )
}

/// The array member `key` of `map`, created when absent or null.
fn array_mut<'m>(map: &'m mut Map<String, Value>, key: &str) -> Result<&'m mut Vec<Value>, String> {
    let slot = map.entry(key).or_insert(Value::Null);
    if slot.is_null() {
        *slot = Value::Array(Vec::new());
    }
    slot.as_array_mut().ok_or_else(|| internal(key))
}

pub(crate) fn object_mut<'m>(
    map: &'m mut Map<String, Value>,
    key: &str,
) -> Result<&'m mut Map<String, Value>, String> {
    let slot = map.entry(key).or_insert(Value::Null);
    if slot.is_null() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut().ok_or_else(|| internal(key))
}

fn apply(
    object: &mut Value,
    plan: Plan,
    settings: &Settings,
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    let pod = object
        .as_object_mut()
        .ok_or_else(|| internal("request.object"))?;
    let mut status = plan.status;
    let spec = object_mut(pod, "spec")?;
    // The Pod's own init containers in the request's order, for messages.
    let own_init: Vec<String> = match spec.get("initContainers") {
        Some(Value::Array(list)) => list.iter().map(|e| entry_name(e).to_string()).collect(),
        _ => Vec::new(),
    };
    // The limits of what goes: a copy's Pod-level limits count them.
    let removed: Vec<Injected> = if plan.removed.containers.is_empty() {
        Vec::new()
    } else {
        let goes = |name: &str| plan.removed.containers.iter().any(|n| n == name);
        Injected::in_spec(spec, &goes)?
            .into_iter()
            .map(|(_, entry)| entry)
            .collect()
    };
    remove_stale(spec, &plan.removed);
    // The records of the sets injected now follow those of the others.
    let injected_from = status.sets.len();
    let (annotations, given) = append(spec, plan.sets, &mut status)?;
    if !given.is_empty() || !plan.app_removed.is_empty() {
        app::apply(array_mut(spec, "containers")?, &plan.app_removed, given);
    }
    if let Some(grace) = plan.drains.raise_to {
        spec.insert("terminationGracePeriodSeconds".into(), Value::from(grace));
    }

    let items = items(&plan.applying);
    warnings.extend(dropped_dependencies(spec, &items));
    put_in_start_order(spec, &items)?;
    let injected_now = status.sets.get(injected_from..).unwrap_or_default();
    check_init_ports(spec, injected_now, &own_init)?;
    let after = size_pod(
        spec,
        &plan.before,
        injected_now,
        &removed,
        settings,
        warnings,
    )?;
    status.effective_requests = resources::canonical(&after);
    status.start_order = start_order(spec);
    if settings.explain {
        warnings.push(describe_start_order(spec, &items));
        warnings.push(resources::describe(&plan.before, &after));
        warnings.push(plan.drains.describe(spec));
    }
    let metadata = object_mut(pod, "metadata")?;
    let keys = metadata.get("labels").and_then(Value::as_object);
    let keys = keys.into_iter().flat_map(|l| l.keys().map(String::as_str));
    let (write, remove) = record::labels(&status.sets, keys);
    write_labels(metadata, write, &remove)?;
    let pod_annotations = object_mut(metadata, "annotations")?;
    let brought = pod_annotations.get(STATUS).and_then(Value::as_str);
    warnings.extend(record::replaced(brought, &status, &plan.fresh, false));
    for key in &plan.removed.annotations {
        pod_annotations.remove(key);
    }
    for (key, value) in annotations {
        pod_annotations.insert(key, Value::String(value));
    }
    pod_annotations.insert(STATUS.to_string(), Value::String(status.to_annotation()));
    Ok(())
}

/// The Pod's effective requests after injection, checked against
/// maxAddedRequests and fitted into the Pod-level resources.
#[inline(never)]
fn size_pod(
    spec: &mut Map<String, Value>,
    before: &Amounts,
    injected_now: &[InjectedSet],
    removed: &[Injected],
    settings: &Settings,
    warnings: &mut Vec<String>,
) -> Result<Amounts, String> {
    let after = resources::effective_requests(spec)?;
    let names: Vec<&str> = injected_now.iter().map(|r| r.name.as_str()).collect();
    let sets = match names.as_slice() {
        [one] => format!("sidecar set {one}"),
        many => format!("sidecar sets {}", many.join(", ")),
    };
    resources::check_added(before, &after, &settings.max_added_requests, &sets)?;
    let injected: Vec<Injected> = Injected::in_spec(spec, &|name| {
        injected_now
            .iter()
            .any(|r| r.container_names().any(|c| c == name))
    })?
    .into_iter()
    .map(|(_, entry)| entry)
    .collect();
    resources::fit_pod_level(
        spec,
        before,
        &after,
        &injected,
        removed,
        settings.pod_level_resources,
        warnings,
    )?;
    Ok(after)
}

/// The ports of the init containers against the native sidecars running
/// when they start, in the final order; `injected_now` are the records of
/// the sets injected now, `own_init` the Pod's init containers as requested.
fn check_init_ports(
    spec: &Map<String, Value>,
    injected_now: &[InjectedSet],
    own_init: &[String],
) -> Result<(), String> {
    let Some(Value::Array(init)) = spec.get("initContainers") else {
        return Ok(());
    };
    let set_of = |name: &str| {
        injected_now
            .iter()
            .find(|r| r.container_names().any(|c| c == name))
            .map(|r| r.name.as_str())
    };
    let own: Vec<&str> = own_init.iter().map(String::as_str).collect();
    let clashes = init_port_clashes(init, set_of, &own);
    if clashes.is_empty() {
        Ok(())
    } else {
        Err(clashes.join("; "))
    }
}

/// The start-order items of the applying sets.
fn items<'s>(applying: &[Applying<'s>]) -> Vec<Item<'s>> {
    applying
        .iter()
        .flat_map(|a| {
            a.set
                .items_with_dependencies(a.native)
                .map(|(c, placement, depends_on)| Item {
                    name: c.name(),
                    set: &a.set.name,
                    depends_on,
                    placement,
                })
        })
        .collect()
}

/// The names of the init containers, then the containers, in the order
/// the kubelet starts them.
fn start_order(spec: &Map<String, Value>) -> Vec<String> {
    ["initContainers", "containers"]
        .iter()
        .filter_map(|key| spec.get(*key).and_then(Value::as_array))
        .flatten()
        .map(|e| entry_name(e).to_string())
        .collect()
}

/// Takes out of the Pod's lists what stale injections left.
fn remove_stale(spec: &mut Map<String, Value>, removed: &Removed) {
    for (key, names) in [
        ("initContainers", &removed.containers),
        ("containers", &removed.containers),
        ("volumes", &removed.volumes),
    ] {
        if names.is_empty() {
            continue;
        }
        if let Some(Value::Array(list)) = spec.get_mut(key) {
            list.retain(|entry| !names.iter().any(|n| n == entry_name(entry)));
        }
    }
}

/// What `append` leaves to write: annotations, app additions.
type Appended = (Vec<(String, String)>, Vec<Addition>);

/// Appends what each set adds to the Pod's lists (the start order puts it
/// in place later) and its record to `status`; returns the annotations and
/// labels to write.
fn append(
    spec: &mut Map<String, Value>,
    sets: Vec<SetInjection>,
    status: &mut Status,
) -> Result<Appended, String> {
    let mut given = Vec::new();
    let mut annotations = Vec::new();
    let (mut init, mut containers, mut volumes, mut secrets) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for set in sets {
        for (placement, entry) in set.entries {
            if placement.in_init_containers() {
                init.push(entry);
            } else {
                containers.push(entry);
            }
        }
        volumes.extend(set.volumes);
        secrets.extend(set.pull_secrets);
        annotations.extend(set.annotations);
        given.extend(set.app);
        status.sets.push(set.record);
    }
    if !init.is_empty() {
        array_mut(spec, "initContainers")?.extend(init);
    }
    array_mut(spec, "containers")?.extend(containers);
    if !volumes.is_empty() {
        array_mut(spec, "volumes")?.extend(volumes);
    }
    if !secrets.is_empty() {
        array_mut(spec, "imagePullSecrets")?.extend(secrets);
    }
    Ok((annotations, given))
}

#[cfg(test)]
mod tests;
