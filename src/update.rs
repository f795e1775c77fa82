//! A Pod UPDATE in inject mode. A Pod's spec is immutable but for images
//! (and resources, through `resize`: `resize.rs`), so an UPDATE can do
//! three things here:
//! - ask for an in-place upgrade by adding or changing the
//!   `sidecarset.kubewarden.io/upgrade` annotation (a trigger the Pod
//!   already had asks for nothing);
//! - set the image of an injected container: with `protectInjected`, only
//!   to the images of the revision the Pod should run, which then counts as
//!   an upgrade (record and label follow);
//! - anything else (labels, finalizers, owner adoption), accepted
//!   unchanged before the sets are read.
//!
//! What is injected is what the Pod's record says and the Pod holds as
//! recorded before the update, whatever its labels and opt-outs say now;
//! so the record itself may not change.

use serde_json::{Map, Value};

use crate::annotations::{STATUS, UPGRADE, clip};
use crate::held::Maker;
use crate::inject::object_mut;
use crate::namespace::Namespace;
use crate::pod::PodView;
use crate::provenance::{InjectedSet, Status};
use crate::rollout::{Buckets, Choice};
use crate::selector::{self, Applying};
use crate::settings::{Settings, SidecarSet};

/// Whether a Pod UPDATE needs the sets at all: it asks for an upgrade,
/// changes the record, or (with `protect`) changes an image.
pub fn may_act(object: &Value, old: &Value, protect: bool) -> bool {
    asked(object, old).is_some()
        || annotation(object, STATUS) != annotation(old, STATUS)
        || revision_labels(object).ne(revision_labels(old))
        || (protect && !changed_images(object, old).is_empty())
}

/// The Pod's revision labels (`sidecarset.kubewarden.io/rev.<set>`), in
/// key order.
fn revision_labels(object: &Value) -> impl Iterator<Item = (&String, &Value)> {
    object
        .get("metadata")
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(key, _)| key.starts_with(REVISION_LABEL_PREFIX))
}

/// The key of a set's revision label, without the set's name.
const REVISION_LABEL_PREFIX: &str = "sidecarset.kubewarden.io/rev.";

/// Whether a Pod UPDATE changes an image of a container or init
/// container, or the policy's record: what a failed lookup may not let
/// through unjudged (anything else never makes a Pod worse).
pub fn changes_images_or_record(object: &Value, old: &Value) -> bool {
    annotation(object, STATUS) != annotation(old, STATUS) || !changed_images(object, old).is_empty()
}

pub(crate) fn annotation<'v>(object: &'v Value, key: &str) -> Option<&'v str> {
    object
        .get("metadata")?
        .get("annotations")?
        .get(key)?
        .as_str()
}

/// The trigger, where this update adds or changes it: one the Pod already
/// had (left over) asks for nothing.
fn asked<'o>(object: &'o Value, old: &Value) -> Option<&'o str> {
    let now = annotation(object, UPGRADE)?;
    (annotation(old, UPGRADE) != Some(now)).then_some(now)
}

/// The containers and init containers whose image the update changes:
/// (list, index, name, new image).
fn changed_images<'o>(
    object: &'o Value,
    old: &Value,
) -> Vec<(&'static str, usize, &'o str, &'o str)> {
    let mut changed = Vec::new();
    for list in ["initContainers", "containers"] {
        // Borrowed: this runs on every Pod UPDATE.
        let before: &[Value] = old
            .get("spec")
            .and_then(|s| s.get(list))
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice);
        let Some(Value::Array(after)) = object.get("spec").and_then(|s| s.get(list)) else {
            continue;
        };
        for (index, entry) in after.iter().enumerate() {
            let text = |e: &'o Value, key: &str| e.get(key).and_then(Value::as_str);
            let (Some(name), Some(image)) = (text(entry, "name"), text(entry, "image")) else {
                continue;
            };
            let was = before
                .iter()
                .find(|e| e.get("name").and_then(Value::as_str) == Some(name))
                .and_then(|e| e.get("image").and_then(Value::as_str));
            if was.is_some_and(|was| was != image) {
                changed.push((list, index, name, image));
            }
        }
    }
    changed
}

/// A set the Pod's record names and the settings have, with its record,
/// where the Pod holds at least one recorded container as recorded (in the
/// recorded list, with the recorded image).
pub struct Held<'s, 'r> {
    pub set: &'s SidecarSet,
    pub record: &'r InjectedSet,
}

impl Held<'_, '_> {
    /// Whether the Pod holds its container `name` as this record says.
    pub fn holds(&self, pod: &PodView, name: &str) -> bool {
        pod.container(name)
            .is_some_and(|entry| self.record.describes_container(entry))
    }
}

/// The sets held by `pod` (before the update) according to `recorded`. A
/// record of a set the settings no longer have under its name (a renamed
/// set) is held by the set that now has its containers and no record of
/// its own: renaming a set never unprotects what runs.
pub fn held<'s, 'r>(
    settings: &'s Settings,
    pod: &PodView,
    recorded: &'r Status,
) -> Vec<Held<'s, 'r>> {
    let renamed = |record: &InjectedSet| {
        settings.sidecar_sets.iter().find(|s| {
            recorded.get(&s.name).is_none()
                && record.container_names().any(|n| s.container(n).is_some())
        })
    };
    recorded
        .sets
        .iter()
        .filter_map(|record| {
            let set = settings
                .sidecar_sets
                .iter()
                .find(|s| s.name == record.name)
                .or_else(|| renamed(record))?;
            let held = Held { set, record };
            record
                .container_names()
                .any(|name| held.holds(pod, name))
                .then_some(held)
        })
        .collect()
}

/// Decides a Pod UPDATE in inject mode: Ok(Some(pod)) for an upgrade.
pub fn on_update(
    object: Value,
    old: &Value,
    settings: &Settings,
    namespace: &mut Namespace,
    request_uid: &str,
    warnings: &mut Vec<String>,
) -> Result<Option<Value>, String> {
    let before = PodView::read(old)?;
    // A record the Pod wrote itself that does not read protects nothing.
    let recorded = Status::read(before.annotations.get(STATUS).copied()).unwrap_or_default();
    let held = held(settings, &before, &recorded);
    // Changed, removed, or added where there was none: a record naming a
    // set of the settings is the policy's alone to write.
    let ours = |status: &Status| {
        status
            .sets
            .iter()
            .any(|r| settings.sidecar_sets.iter().any(|s| s.name == r.name))
    };
    let now = annotation(&object, STATUS);
    if now != before.annotations.get(STATUS).copied()
        && (ours(&recorded) || Status::read(now).is_ok_and(|status| ours(&status)))
    {
        return Err(format!(
            "metadata.annotations[{STATUS:?}]: this policy's record of what it injected into the Pod cannot be changed or removed by an UPDATE; leave it as it is (recreate the Pod to have it injected afresh)"
        ));
    }
    // The revision labels are the policy's output as the record is: an
    // upgrade moves them, nothing else.
    let ours = |key: &str| {
        key.strip_prefix(REVISION_LABEL_PREFIX).is_some_and(|set| {
            settings
                .sidecar_sets
                .iter()
                .any(|s| s.name == set && !s.revisions.is_empty())
        })
    };
    let label = |o: &Value, key: &str| {
        o.get("metadata")
            .and_then(|m| m.get("labels"))
            .and_then(|l| l.get(key))
            .cloned()
    };
    if let Some((key, _)) = revision_labels(&object)
        .chain(revision_labels(old))
        .find(|(key, _)| ours(key) && label(&object, key) != label(old, key))
    {
        return Err(format!(
            "metadata.labels[{key:?}]: this policy's label of the revision the Pod runs cannot be changed or removed by an UPDATE; leave it as it is (annotate the Pod with {UPGRADE} to move it to the revision it should run)"
        ));
    }
    let trigger = asked(&object, old);
    let changed = if settings.protect_injected {
        changed_images(&object, old)
    } else {
        Vec::new()
    };
    // Image changes of containers the Pod holds as recorded: the Pod's own
    // are not the policy's business.
    let swapped: Vec<&Held> = held
        .iter()
        .filter(|h| changed.iter().any(|c| h.holds(&before, c.2)))
        .collect();
    if trigger.is_none() && swapped.is_empty() {
        return Ok(None);
    }
    let plans = {
        let pod = PodView::read(&object)?;
        // A Namespace that cannot be read (namespaceLookupFailure: reject)
        // leaves out the sets whose namespaceSelector needs it: an upgrade
        // of one of those fails with the reason; what applies regardless
        // (and a direct image change of what the Pod holds) is judged.
        let (applying, lookup) = match selector::applying_sets_even_paused(
            settings,
            &pod,
            namespace,
            &mut Vec::new(),
            true,
        ) {
            Ok(applying) => (applying, None),
            Err(problem) => {
                let applying = selector::applying_sets_despite_lookup(
                    settings,
                    &pod,
                    namespace,
                    &mut Vec::new(),
                );
                (applying, Some(problem))
            }
        };
        // Scope first: a Pod no set selects or holds asks for nothing.
        if applying.is_empty() && held.is_empty() {
            return Ok(None);
        }
        let injected = |name: &str| {
            applying
                .iter()
                .any(|a| a.items().any(|(c, _)| c.name() == name))
        };
        let mut maker = Maker::new(&before, injected, &applying);
        // The preStop sleeps as at CREATE (the grace period stays).
        maker.drains = crate::shutdown::Drains::of(&applying, &before);
        // A Pod that follows its Namespace's pin upgrades to where the pin
        // (or its tag) points now; a Namespace that cannot be read never
        // blocks an UPDATE: the pins are left out, with a warning.
        let sets = applying.iter().map(|a| a.set);
        let pins = crate::rollout::namespace_pins(sets, namespace, warnings);
        let context = Context {
            applying: &applying,
            status: &recorded,
            before: &before,
            pod: &pod,
            own: &before.app_containers(injected),
            maker: &maker,
            metadata: object.get("metadata").unwrap_or(&Value::Null),
            old_metadata: old.get("metadata").unwrap_or(&Value::Null),
            namespace: namespace.name,
            pins: pins.as_ref(),
            request_uid,
        };
        let names = trigger.map(|t| context.named(t));
        let mut problems = Vec::new();
        let mut plans = Vec::new();
        for h in swapped {
            let upgraded = names
                .as_ref()
                .is_some_and(|(n, _)| n.contains(&h.set.name.as_str()));
            if !upgraded {
                match context.direct(h, &changed, warnings) {
                    Ok(plan) => plans.extend(plan),
                    Err(problem) => problems.push(problem),
                }
            }
        }
        // The trigger names a set that does not apply now: the lookup may
        // be why.
        if let (Some(problem), Some((_, Some(_)))) = (&lookup, &names) {
            return Err(problem.clone());
        }
        if let Some((names, unknown)) = names {
            problems.extend(unknown);
            if names.is_empty() && problems.is_empty() {
                warnings.push(format!(
                    "annotation {UPGRADE} removed: no set recorded in this Pod applies to it and can be upgraded"
                ));
            }
            for name in names {
                match context.plan(name, None, warnings) {
                    Ok(upgrade) => plans.push(upgrade),
                    Err(problem) => problems.push(problem),
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        plans
    };
    let mut object = object;
    let mut status = recorded;
    write(&mut object, plans, &mut status, warnings)?;
    Ok(Some(object))
}

/// What upgrading one set changes: images by container name, the record,
/// and the revision label.
struct SetUpgrade {
    images: Vec<(String, String)>,
    record: InjectedSet,
    label: Option<(String, String)>,
    said: String,
}

/// Writes the upgrades into the Pod: images, labels, the record; removes
/// the trigger. The record is written only where a set moved.
fn write(
    object: &mut Value,
    upgrades: Vec<SetUpgrade>,
    status: &mut Status,
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    let pod = object.as_object_mut().ok_or("invalid Pod in the admission request: request.object must be a Pod object; send a valid Pod object")?;
    if let Some(Value::Object(spec)) = pod.get_mut("spec") {
        for upgrade in &upgrades {
            set_images(spec, &upgrade.images);
        }
    }
    let metadata = object_mut(pod, "metadata")?;
    let moved = !upgrades.is_empty();
    for upgrade in upgrades {
        if let Some((key, value)) = upgrade.label {
            object_mut(metadata, "labels")?.insert(key, Value::String(value));
        }
        if let Some(slot) = status
            .sets
            .iter_mut()
            .find(|s| s.name == upgrade.record.name)
        {
            *slot = upgrade.record;
        }
        warnings.push(upgrade.said);
    }
    let annotations = object_mut(metadata, "annotations")?;
    annotations.remove(UPGRADE);
    if moved {
        annotations.insert(STATUS.to_string(), Value::String(status.to_annotation()));
    }
    Ok(())
}

/// Sets the image of each named container or init container.
fn set_images(spec: &mut Map<String, Value>, images: &[(String, String)]) {
    for list in ["initContainers", "containers"] {
        let Some(Value::Array(entries)) = spec.get_mut(list) else {
            continue;
        };
        for entry in entries.iter_mut() {
            let name = entry
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if let Some((_, image)) = images.iter().find(|(n, _)| n == name)
                && let Some(map) = entry.as_object_mut()
            {
                map.insert("image".into(), Value::String(image.clone()));
            }
        }
    }
}

/// At most this many set names a trigger names that no set has are listed.
const UNKNOWN_LISTED: usize = 3;

/// What an upgrade reads of the Pod and the request.
struct Context<'c> {
    applying: &'c [Applying<'c>],
    /// The Pod's record before the update.
    status: &'c Status,
    /// The Pod before the update: what runs.
    before: &'c PodView<'c>,
    /// The Pod as the update has it.
    pod: &'c PodView<'c>,
    /// Indices of the app containers in `spec.containers`.
    own: &'c [usize],
    maker: &'c Maker<'c>,
    /// The Pod's metadata as the update has it (its pins).
    metadata: &'c Value,
    /// As it was before the update: what the canary bucket of a Pod
    /// without recorded buckets is computed from (the update's author
    /// cannot change it).
    old_metadata: &'c Value,
    namespace: &'c str,
    /// The Namespace's labels for namespace pins, where read.
    pins: Option<&'c crate::namespace::Labels>,
    request_uid: &'c str,
}

impl<'c> Context<'c> {
    /// The sets a trigger names (`*`: every set the Pod records that
    /// applies and is not paused), each once; and a problem naming those
    /// the settings do not have, a few of them.
    fn named<'t>(&self, trigger: &'t str) -> (Vec<&'t str>, Option<String>)
    where
        'c: 't,
    {
        if trigger.trim() == "*" {
            let names = self
                .status
                .sets
                .iter()
                .filter(|s| {
                    self.applying
                        .iter()
                        .any(|a| a.set.name == s.name && !a.set.injection_strategy.paused)
                })
                .map(|s| s.name.as_str())
                .collect();
            return (names, None);
        }
        let mut names: Vec<&str> = Vec::new();
        let mut unknown: Vec<&str> = Vec::new();
        for name in trigger.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let known = self.applying.iter().any(|a| a.set.name == name);
            let list = if known { &mut names } else { &mut unknown };
            if !list.contains(&name) {
                list.push(name);
            }
        }
        let problem = (!unknown.is_empty()).then(|| {
            let shown: Vec<String> = unknown
                .iter()
                .take(UNKNOWN_LISTED)
                .map(|n| clip(n).into_owned())
                .collect();
            let more = unknown.len().saturating_sub(UNKNOWN_LISTED);
            let more = if more > 0 {
                format!(" (and {more} more)")
            } else {
                String::new()
            };
            format!(
                "upgrade of sidecar set {}{more}: no such set applies to this Pod; remove {} from the {UPGRADE} annotation",
                shown.join(", "),
                if unknown.len() == 1 { shown.join("") } else { "them".to_string() }
            )
        });
        (names, problem)
    }

    /// One set's upgrade to the revision the Pod should run now (or
    /// `to`), or why it is refused.
    fn plan(
        &self,
        name: &str,
        to: Option<Choice>,
        warnings: &mut Vec<String>,
    ) -> Result<SetUpgrade, String> {
        let at = format!("upgrade of sidecar set {name}");
        let (a, record) = self.recorded(name, &at)?;
        unchanged_but_images(a, record, &at)?;
        self.held_as_recorded(a, record, &at)?;
        let choice = to.unwrap_or_else(|| self.choice(a, record, warnings));
        Ok(self.upgraded(a, record, choice))
    }

    /// The revision the Pod should run now: its pin, then the canary with
    /// the buckets recorded when it was created, then `current`.
    fn choice(
        &self,
        a: &Applying<'c>,
        record: &InjectedSet,
        warnings: &mut Vec<String>,
    ) -> Choice<'c> {
        a.set
            .choose(self.metadata, self.pins, self.buckets(a, record), warnings)
    }

    /// The Pod's canary buckets of `a`'s set: those recorded at CREATE, or
    /// for a Pod created before the set had revisions, those of the Pod
    /// before the update (its controller reference and name, which the
    /// update cannot rewrite to choose its canary).
    fn buckets(&self, a: &Applying, record: &InjectedSet) -> Option<Buckets> {
        Buckets::from_record(&record.buckets).or_else(|| {
            a.set
                .buckets(self.old_metadata, self.namespace, self.request_uid)
        })
    }

    /// An update that sets images of `held` itself: accepted as an upgrade
    /// when every one of the set's containers then runs the image of the
    /// revision the Pod should run (and the upgrade is possible); otherwise
    /// refused, pointing to the trigger.
    fn direct(
        &self,
        held: &Held,
        changed: &[(&str, usize, &str, &str)],
        warnings: &mut Vec<String>,
    ) -> Result<Option<SetUpgrade>, String> {
        let set = held.set;
        let runs = held.record.revision_name();
        let applying = self.applying.iter().find(|a| a.set.name == set.name);
        let target = applying.map(|a| self.choice(a, held.record, &mut Vec::new()));
        let moves_to = target.filter(|t| {
            t.revision != runs
                && set.items(false).all(|(c, _)| {
                    self.pod.container(c.name()).map(|e| e.image())
                        == Some(set.image_in(c, t.revision))
                })
        });
        if let Some(choice) = moves_to {
            let mut upgrade = self.plan(&set.name, Some(choice), warnings)?;
            upgrade.said = format!("{} (the image change)", upgrade.said);
            return Ok(Some(upgrade));
        }
        let mut problems = Vec::new();
        for &(list, index, name, image) in changed {
            let Some(container) = set.container(name) else {
                continue;
            };
            if !held.holds(self.before, name) {
                continue;
            }
            let should = match target {
                Some(t) if t.revision != runs => format!(
                    ", nor the image of revision {} it should run now ({}) with the set's other containers",
                    t.revision,
                    set.image_in(container, t.revision)
                ),
                _ => String::new(),
            };
            problems.push(format!(
                "spec.{list}[{index}] ({name}): image {} is not the image of revision {runs} of sidecar set {} that this Pod runs ({}){should}; set it back, or annotate the Pod with {UPGRADE}: {} to move it to the revision it should run (protectInjected: true)",
                clip(image),
                set.name,
                set.image_in(container, runs),
                set.name
            ));
        }
        // A recorded container the set no longer has is not protected.
        if problems.is_empty() {
            Ok(None)
        } else {
            Err(problems.join("; "))
        }
    }

    /// The set `name` and its record in the Pod: it applies (paused sets
    /// count here, to say why they are refused) and is not paused.
    fn recorded(&self, name: &str, at: &str) -> Result<(&Applying<'c>, &InjectedSet), String> {
        let Some(a) = self.applying.iter().find(|a| a.set.name == name) else {
            return Err(format!(
                "{at}: no such set applies to this Pod; remove {name} from the {UPGRADE} annotation"
            ));
        };
        if a.set.injection_strategy.paused {
            return Err(format!(
                "{at}: the set is paused (injectionStrategy.paused), which halts injection and upgrades; unpause it, or remove {name} from the {UPGRADE} annotation"
            ));
        }
        match self.status.get(name) {
            Some(record) => Ok((a, record)),
            None => Err(format!(
                "{at}: this Pod has no record of the set's injection; recreate the Pod"
            )),
        }
    }

    /// The Pod held, before the update, each of the set's containers as
    /// recorded (name, image, placement) and as the set injects it (no
    /// look-alike; resources aside, which a resize may change).
    fn held_as_recorded(&self, a: &Applying, record: &InjectedSet, at: &str) -> Result<(), String> {
        let revision = record.revision_name();
        for (container, placement) in a.items() {
            let recorded = record.images.get(container.name());
            let entry = self.before.container(container.name()).filter(|entry| {
                recorded.is_some_and(|r| r == entry.image()) && entry.is_placed(placement, self.own)
            });
            let Some(entry) = entry else {
                return Err(format!(
                    "{at}: the Pod does not hold {} as recorded (image {}, {}); recreate the Pod",
                    container.name(),
                    recorded.map_or_else(|| "unknown".into(), |r| clip(r)),
                    placement.describe()
                ));
            };
            if let Some(field) = self
                .maker
                .difference(a.set, container, placement, revision, entry, false)
            {
                return Err(format!(
                    "{at}: {}; recreate the Pod",
                    crate::held::look_alike(&a.set.name, container.name(), &field)
                ));
            }
        }
        Ok(())
    }

    /// The Pod moved to `choice`, applied to the record: images, hash,
    /// revision, label.
    fn upgraded(&self, a: &Applying, record: &InjectedSet, choice: Choice) -> SetUpgrade {
        let set = a.set;
        let mut next = record.clone();
        // Fixed from this upgrade on: the next one reads the record.
        if next.buckets.is_empty() {
            next.buckets = self
                .buckets(a, record)
                .map(Buckets::to_record)
                .unwrap_or_default();
        }
        let mut images = Vec::new();
        for (container, _) in a.items() {
            let image = set.image_in(container, choice.revision).to_string();
            next.images
                .insert(container.name().to_string(), image.clone());
            images.push((container.name().to_string(), image));
        }
        next.hash = set.revision_hash(a.native, choice.revision);
        let (revision, label) = set.revision_marks(choice.revision).unzip();
        (next.revision_from, next.tag) = choice.marks(&revision);
        next.revision = revision;
        let shown: Vec<String> = images.iter().map(|(c, i)| format!("{c} → {i}")).collect();
        SetUpgrade {
            images,
            record: next,
            label,
            said: format!(
                "{} upgraded in place: {}",
                choice.describe(&set.name),
                shown.join(", ")
            ),
        }
    }
}

/// The set changed in nothing but images since the Pod was injected (the
/// record's hash of the definition without images); else the container
/// that changed, where one did.
fn unchanged_but_images(a: &Applying, record: &InjectedSet, at: &str) -> Result<(), String> {
    if record.imageless_hash == a.set.imageless_hash(a.native) {
        return Ok(());
    }
    let changed = a
        .items()
        .find(|(c, _)| record.imageless.get(c.name()) != Some(&c.imageless_digest()));
    Err(match changed {
        Some((c, _)) => format!(
            "{at}: {} changed in more than its image since this Pod was injected (only images change in a running Pod): recreate the Pod",
            c.name()
        ),
        None => format!(
            "{at}: the set changed in more than images since this Pod was injected (its containers, volumes, pull secrets, annotations or nativeSidecars): recreate the Pod"
        ),
    })
}
#[cfg(test)]
mod tests;
