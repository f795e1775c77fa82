//! A Pod UPDATE in inject mode. The Pod's own spec is immutable but for
//! images, so two things can happen: an in-place upgrade the Pod asks for
//! with the `sidecarset.kubewarden.io/upgrade` annotation, and (with
//! `protectInjected`) an image of an injected container set to one that no
//! revision of its set has, which is refused. Every other UPDATE (labels,
//! finalizers, owner adoption) is accepted unchanged, before the sets are
//! read.

use serde_json::{Map, Value};

use crate::annotations::{STATUS, UPGRADE};
use crate::inject::object_mut;
use crate::namespace::Namespace;
use crate::pod::PodView;
use crate::provenance::{InjectedSet, Status};
use crate::selector::{self, Applying};
use crate::settings::Settings;

/// Whether a Pod UPDATE needs the sets at all: it asks for an upgrade, or
/// (with `protect`) changes an image.
pub fn may_act(object: &Value, old: &Value, protect: bool) -> bool {
    upgrade_trigger(object).is_some() || (protect && !changed_images(object, old).is_empty())
}

fn upgrade_trigger(object: &Value) -> Option<&str> {
    object
        .get("metadata")?
        .get("annotations")?
        .get(UPGRADE)?
        .as_str()
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

/// Decides a Pod UPDATE in inject mode: Ok(Some(pod)) for an upgrade.
pub fn on_update(
    object: Value,
    old: &Value,
    settings: &Settings,
    namespace: &mut Namespace,
    request_uid: &str,
    warnings: &mut Vec<String>,
) -> Result<Option<Value>, String> {
    // Pausing halts injection and upgrades (checked by name when planning
    // an upgrade), not the protection of what a set injected: its Pods
    // still run it. So paused sets count here.
    if settings.protect_injected {
        protect(&object, old, settings, namespace)?;
    }
    match upgrade_trigger(&object).map(str::to_string) {
        None => Ok(None),
        Some(trigger) => {
            upgrade(object, &trigger, settings, namespace, request_uid, warnings).map(Some)
        }
    }
}

/// Refuses an image of an injected container that no revision of its set
/// has. The sets that applied to the Pod before the update count: an
/// opt-out annotation added in the same update does not lift the check.
fn protect(
    object: &Value,
    old: &Value,
    settings: &Settings,
    namespace: &mut Namespace,
) -> Result<(), String> {
    let changed = changed_images(object, old);
    if changed.is_empty() {
        return Ok(());
    }
    let before = PodView::read(old)?;
    let applying =
        selector::applying_sets_even_paused(settings, &before, namespace, &mut Vec::new(), true)?;
    let mut problems = Vec::new();
    for (list, index, name, image) in changed {
        let Some((set, container)) = applying.iter().find_map(|a| {
            a.items()
                .find(|(c, _)| c.name() == name)
                .map(|(c, _)| (a.set, c))
        }) else {
            continue; // the Pod's own container: not the policy's business
        };
        let allowed = set.allowed_images(container);
        if !allowed.contains_key(image) {
            let each: Vec<String> = allowed
                .iter()
                .map(|(image, revisions)| format!("{image} ({})", revisions.join(", ")))
                .collect();
            problems.push(format!(
                "spec.{list}[{index}] ({name}): image {image} is not an image of sidecar set {}; allowed: {}; set one of them, or add a revision to the set (protectInjected: true)",
                set.name,
                each.join(", ")
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// What upgrading one set changes: images by container name, the record,
/// and the revision label.
struct SetUpgrade {
    images: Vec<(String, String)>,
    record: InjectedSet,
    label: Option<(String, String)>,
    said: String,
}

/// Moves the sets the trigger names (`*`: every set the Pod records that
/// applies and is not paused) to the revision the Pod should run now,
/// changing only images, the record and the revision label, and removes
/// the trigger.
fn upgrade(
    mut object: Value,
    trigger: &str,
    settings: &Settings,
    namespace: &mut Namespace,
    request_uid: &str,
    warnings: &mut Vec<String>,
) -> Result<Value, String> {
    let (upgrades, mut status) = {
        let pod = PodView::read(&object)?;
        let applying =
            selector::applying_sets_even_paused(settings, &pod, namespace, &mut Vec::new(), true)?;
        let status = Status::read(pod.annotations.get(STATUS).copied())?;
        // "*": every set the Pod records that applies and is not paused
        // (named sets are refused with the reason instead).
        let names: Vec<&str> = if trigger.trim() == "*" {
            status
                .sets
                .iter()
                .filter(|s| {
                    applying
                        .iter()
                        .any(|a| a.set.name == s.name && !a.set.injection_strategy.paused)
                })
                .map(|s| s.name.as_str())
                .collect()
        } else {
            trigger
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .collect()
        };
        let own = pod.app_containers(|name| {
            applying
                .iter()
                .any(|a| a.items().any(|(c, _)| c.name() == name))
        });
        let context = Context {
            applying: &applying,
            status: &status,
            pod: &pod,
            own: &own,
            metadata: object.get("metadata").unwrap_or(&Value::Null),
            namespace: namespace.name,
            request_uid,
        };
        let mut upgrades = Vec::new();
        let mut problems = Vec::new();
        for name in names {
            match context.plan(name, warnings) {
                Ok(upgrade) => upgrades.push(upgrade),
                Err(problem) => problems.push(problem),
            }
        }
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        (upgrades, status)
    };
    write(&mut object, upgrades, &mut status, warnings)?;
    Ok(object)
}

/// Writes the upgrades into the Pod: images, labels, the record; removes
/// the trigger.
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
    annotations.insert(STATUS.to_string(), Value::String(status.to_annotation()));
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

/// What an upgrade reads of the Pod and the request.
struct Context<'c> {
    applying: &'c [Applying<'c>],
    status: &'c Status,
    pod: &'c PodView<'c>,
    /// Indices of the app containers in `spec.containers`.
    own: &'c [usize],
    metadata: &'c Value,
    namespace: &'c str,
    request_uid: &'c str,
}

impl Context<'_> {
    /// One set's upgrade, or why it is refused.
    fn plan(&self, name: &str, warnings: &mut Vec<String>) -> Result<SetUpgrade, String> {
        let at = format!("upgrade of sidecar set {name}");
        let (a, record) = self.recorded(name, &at)?;
        unchanged_but_images(a, record, &at)?;
        self.held_as_recorded(a, record, &at)?;
        Ok(self.upgraded(a, record, warnings))
    }

    /// The set `name` and its record in the Pod: it applies (paused sets
    /// count here, to say why they are refused) and is not paused.
    fn recorded(&self, name: &str, at: &str) -> Result<(&Applying<'_>, &InjectedSet), String> {
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

    /// The Pod holds each of the set's containers as recorded: name, image
    /// and placement.
    fn held_as_recorded(&self, a: &Applying, record: &InjectedSet, at: &str) -> Result<(), String> {
        for (container, placement) in a.items() {
            let recorded = record.images.get(container.name());
            let held = self.pod.container(container.name()).is_some_and(|entry| {
                recorded.is_some_and(|r| r == entry.image()) && entry.is_placed(placement, self.own)
            });
            if !held {
                return Err(format!(
                    "{at}: the Pod does not hold {} as recorded (image {}, {}); recreate the Pod",
                    container.name(),
                    recorded.map_or("unknown", String::as_str),
                    placement.describe()
                ));
            }
        }
        Ok(())
    }

    /// The revision the Pod should run now, applied to the record: images,
    /// hash, revision, label.
    fn upgraded(
        &self,
        a: &Applying,
        record: &InjectedSet,
        warnings: &mut Vec<String>,
    ) -> SetUpgrade {
        let set = a.set;
        let choice = set.choose(self.metadata, self.namespace, self.request_uid, warnings);
        let mut next = record.clone();
        let mut images = Vec::new();
        for (container, _) in a.items() {
            let image = set.image_in(container, choice.revision).to_string();
            next.images
                .insert(container.name().to_string(), image.clone());
            images.push((container.name().to_string(), image));
        }
        next.hash = set.revision_hash(a.native, choice.revision);
        let (revision, label) = set.revision_marks(choice.revision).unzip();
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
