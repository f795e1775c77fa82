//! What a set gives the Pod's own containers (`appContainers`), so that the
//! app finds its sidecar: environment variables, `envFrom` sources and
//! mounts of the set's volumes. The author's own variables win (with a
//! warning); a `mountPath` a container already uses is a conflict. What a
//! set adds is recorded per container, with a digest of each entry as the
//! API server stores it, so that a stale set's additions go only where the
//! container holds them exactly as recorded.

use serde_json::{Map, Value};

use crate::defaults::normalized_container;
use crate::pod::ContainerView;
use crate::provenance::{InjectedSet, digest};

use crate::settings::{AppContainers, LISTS, SidecarSet};
use std::collections::{BTreeMap, HashMap};

/// What identifies an entry of `list` in a container: a variable's name, a
/// mount's path, an envFrom source's digest.
pub fn identity(list: &str, entry: &Value) -> String {
    let field = |key: &str| entry.get(key).and_then(Value::as_str).unwrap_or_default();
    match list {
        "env" => field("name").to_string(),
        "volumeMounts" => field("mountPath").to_string(),
        _ => entry_digest(list, entry),
    }
}

/// The record key of an entry: `env/NAME`, `volumeMounts//run/x`,
/// `envFrom/DIGEST`.
pub fn record_key(list: &str, entry: &Value) -> String {
    format!("{list}/{}", identity(list, entry))
}

/// The digest of an entry of `list` as the API server stores it (a
/// fieldRef's apiVersion filled in, a divisor exact).
pub fn entry_digest(list: &str, entry: &Value) -> String {
    let mut container = Map::new();
    container.insert(list.into(), Value::Array(vec![entry.clone()]));
    digest(&normalized_container(&container, false))
}

/// The container's entry of `list` that `identity` names.
pub fn find<'c>(container: &ContainerView<'c>, list: &str, identity: &str) -> Option<&'c Value> {
    match container.spec.get(list) {
        Some(Value::Array(items)) => items
            .iter()
            .find(|item| self::identity(list, item) == identity),
        _ => None,
    }
}

/// Whether `container` holds `entry` of `list`: a variable defined (the
/// author's value counts), an envFrom source or a mount as given.
fn has(container: &ContainerView, list: &str, entry: &Value) -> bool {
    find(container, list, &identity(list, entry))
        .is_some_and(|held| list == "env" || entry_digest(list, held) == entry_digest(list, entry))
}

/// The container's list `key`.
fn list_of<'c>(container: &ContainerView<'c>, key: &str) -> &'c [Value] {
    crate::pod::list(container.spec, key)
}

/// What the API server refuses of the set's mount `entry` at `id` in
/// `container`: Bidirectional in an unprivileged container
/// (`validateMountPropagation`); a path the container uses for a block
/// device, or a volume it attaches as one (`validateVolumeDevices`).
fn mount_refused<'c>(
    set: &str,
    container: &ContainerView<'c>,
    entry: &Value,
    id: &str,
) -> Option<String> {
    let name = container.name;
    let volume = entry
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if entry.get("mountPropagation").and_then(Value::as_str) == Some("Bidirectional")
        && !crate::pod_security::is_privileged(container.spec)
    {
        return Some(format!(
            "sidecar set {set:?}: appContainers.volumeMounts mounts volume {volume:?} at {id:?} with mountPropagation: Bidirectional, which the API server allows only in a privileged container, and container {name:?} is not (securityContext.privileged); use HostToContainer in the set, or leave the container out (appContainers.names)"
        ));
    }
    let devices = list_of(container, "volumeDevices");
    let path_of = |d: &'c Value| d.get("devicePath").and_then(Value::as_str);
    if let Some(device) = devices
        .iter()
        .find(|d| path_of(d).is_some_and(|p| crate::mount_path::same(p, id)))
    {
        return Some(format!(
            "sidecar set {set:?}: appContainers.volumeMounts cannot mount volume {volume:?} at {id:?} in container {name:?}: {}.volumeDevices already uses that path for volume {:?}; change the mountPath in the set or the devicePath in the Pod",
            container.path(),
            device
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        ));
    }
    let attached = devices
        .iter()
        .find(|d| d.get("name").and_then(Value::as_str) == Some(volume))?;
    Some(format!(
        "sidecar set {set:?}: appContainers.volumeMounts cannot mount volume {volume:?} in container {name:?}: {}.volumeDevices attaches that volume as a block device at {:?}, and the API server refuses a volume both mounted and attached in one container; leave the container out (appContainers.names) or give the set another volume",
        container.path(),
        path_of(attached).unwrap_or_default(),
    ))
}

/// The first thing `block` gives `container` that the container lacks
/// (for verify mode's message); None: it holds all of it.
pub fn missing(block: &AppContainers, container: &ContainerView) -> Option<String> {
    let (list, entry) = block
        .entries()
        .find(|(list, entry)| !has(container, list, entry))?;
    let what = match list {
        "env" => format!("env {}", identity(list, entry)),
        "volumeMounts" => format!(
            "the mount of volume {} at {}",
            entry
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            identity(list, entry)
        ),
        _ => format!("the envFrom source {entry}"),
    };
    Some(crate::annotations::clip(&what).into_owned())
}

/// Whether every app container the set's block selects holds what it
/// gives (a set without one: yes).
pub fn given(set: &SidecarSet, apps: &[&ContainerView]) -> bool {
    set.app_containers.as_ref().is_none_or(|block| {
        apps.iter()
            .filter(|c| block.selects(c.name))
            .all(|c| missing(block, c).is_none())
    })
}

/// What stale records gave app containers that the containers still hold
/// exactly as recorded, of what an applying set gives now (`gives(list,
/// identity)`): (container, record key), taken out before the sets are
/// injected afresh.
pub fn removed(
    stale: &[InjectedSet],
    apps: &[&ContainerView],
    gives: &dyn Fn(&str, &str) -> bool,
) -> Vec<(String, String)> {
    let mut removed = Vec::new();
    for (key, recorded) in stale.iter().flat_map(|r| &r.app) {
        // container/list/identity (a container name has no '/').
        let mut parts = key.splitn(3, '/');
        let (Some(name), Some(list), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        // Only what an applying set gives now (a record is a claim).
        if !gives(list, id) {
            continue;
        }
        let held = apps
            .iter()
            .find(|c| c.name == name)
            .and_then(|c| find(c, list, id));
        if held.is_some_and(|e| entry_digest(list, e) == *recorded) {
            removed.push((name.to_string(), format!("{list}/{id}")));
        }
    }
    removed
}

/// An entry a set adds to an app container: the container, the list, the entry.
pub type Addition = (String, &'static str, Value);

/// The Pod's app containers as the sets planned so far leave them.
pub struct Apps<'p> {
    pub containers: Vec<&'p ContainerView<'p>>,
    /// What stale records gave that goes: (container, key).
    pub removed: Vec<(String, String)>,
    /// What the sets planned so far give: (container, key) → set. A map: a
    /// Pod may have thousands of containers.
    given: HashMap<(String, String), String>,
}

impl<'p> Apps<'p> {
    pub fn new(containers: Vec<&'p ContainerView<'p>>, removed: Vec<(String, String)>) -> Self {
        Apps {
            containers,
            removed,
            given: HashMap::new(),
        }
    }

    /// What `block` of set `set` adds to the app containers: into
    /// `additions`, and into `record` by container. A variable a container
    /// defines stays its own (a warning when the values differ); a
    /// mountPath it uses for another mount, or a variable or path another
    /// set gives it, is a problem.
    pub fn give(
        &mut self,
        set: &str,
        block: &AppContainers,
        record: &mut BTreeMap<String, String>,
        additions: &mut Vec<Addition>,
        problems: &mut Vec<String>,
        warnings: &mut Vec<String>,
    ) {
        // Each entry's identity, record key, key among what is given (a
        // mount's path cleaned) and digest, once: they do not depend on the
        // container.
        let entries: Vec<(&str, &Value, String, String, String, String)> = block
            .entries()
            .map(|(list, entry)| {
                let id = identity(list, entry);
                let key = format!("{list}/{id}");
                let given_key = match list {
                    "volumeMounts" => format!("{list}/{}", crate::mount_path::clean(&id)),
                    _ => key.clone(),
                };
                (list, entry, id, key, given_key, entry_digest(list, entry))
            })
            .collect();
        let mut selected = 0;
        for container in self.containers.iter().filter(|c| block.selects(c.name)) {
            selected += 1;
            let name = container.name;
            for (list, entry, id, key, given_key, digest) in &entries {
                let (list, id) = (*list, id.as_str());
                let goes = |key: &str| self.removed.iter().any(|(c, k)| c == name && k == key);
                let held = if list == "volumeMounts" {
                    // The same directory, however spelled.
                    list_of(container, list).iter().find(|m| {
                        crate::mount_path::same(&identity(list, m), id)
                            && !goes(&record_key(list, m))
                    })
                } else {
                    find(container, list, id).filter(|_| !goes(key))
                };
                let other = self
                    .given
                    .get(&(name.to_string(), given_key.clone()))
                    .map(String::as_str);
                if list == "volumeMounts"
                    && let Some(problem) = mount_refused(set, container, entry, id)
                {
                    problems.push(problem);
                    continue;
                }
                match (held, other) {
                    // The same source twice does no harm.
                    (_, Some(_)) if list == "envFrom" => {}
                    (_, Some(other)) => problems.push(format!(
                        "sidecar sets {other:?} and {set:?} both give container {name:?} {} {id:?} (appContainers.{list}); give it in one set only",
                        if list == "env" { "the variable" } else { "a mount at" }
                    )),
                    (Some(held), None) if entry_digest(list, held) == *digest => {}
                    (Some(_), None) if list == "env" => warnings.push(format!(
                        "sidecar set {set}: container {name} already defines {id}; its own value is kept, not the set's (appContainers.env)"
                    )),
                    (Some(held), None) if list == "volumeMounts" => problems.push(format!(
                        "sidecar set {set:?}: appContainers.volumeMounts cannot mount volume {:?} at {id:?} in container {name:?}: {}.volumeMounts already mounts volume {:?} {}; change the mountPath in the set or in the Pod",
                        entry.get("name").and_then(Value::as_str).unwrap_or_default(),
                        container.path(),
                        held.get("name").and_then(Value::as_str).unwrap_or_default(),
                        match identity(list, held) {
                            path if path == id => "there".to_string(),
                            path => format!("at {path:?}, the same directory"),
                        }
                    )),
                    _ => {
                        record.insert(format!("{name}/{key}"), digest.clone());
                        self.given
                            .insert((name.to_string(), given_key.clone()), set.to_string());
                        additions.push((name.to_string(), list, (*entry).clone()));
                    }
                }
            }
        }
        if selected == 0 {
            let names: Vec<&str> = self.containers.iter().map(|c| c.name).collect();
            warnings.push(format!(
                "sidecar set {set}: appContainers selects none of the Pod's app containers ({}); nothing is given to them",
                names.join(", ")
            ));
        }
    }
}

/// Applies what stale records gave and the sets give now to the Pod's
/// `spec.containers`: the removed entries out, the additions appended.
pub fn apply(containers: &mut [Value], removed: &[(String, String)], additions: Vec<Addition>) {
    for container in containers.iter_mut() {
        let Some(map) = container.as_object_mut() else {
            continue;
        };
        let name = map
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        for list in LISTS.iter().filter(|_| !removed.is_empty()) {
            if let Some(Value::Array(items)) = map.get_mut(*list) {
                items.retain(|item| {
                    let key = record_key(list, item);
                    !removed.iter().any(|(c, k)| *c == name && *k == key)
                });
            }
        }
        for (_, list, entry) in additions.iter().filter(|(c, ..)| *c == name) {
            let slot = map.entry(*list).or_insert(Value::Null);
            if !slot.is_array() {
                *slot = Value::Array(Vec::new());
            }
            if let Value::Array(items) = slot {
                items.push(entry.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests;
