//! What a sidecar takes from the Pod's app containers, with OpenKruise's
//! meaning: environment variables (`transferEnv`), volume mounts
//! (`shareVolumePolicy`) and volume devices (`shareVolumeDevicePolicy`).
//! Everything is copied verbatim; on a clash the sidecar's own entry wins.

use serde_json::{Map, Value};

use crate::pod::{ContainerView, PodView, list};
use crate::settings::{AppContainers, ContainerSpec, SharePolicy, SourceContainer, TransferEnv};

/// The string `key` of a list item.
fn field<'v>(item: &'v Value, key: &str) -> Option<&'v str> {
    item.get(key).and_then(Value::as_str)
}

/// Whether an item of `items` (or of `added`) has `value` at `key`. The
/// lists are a handful of entries: a scan is smaller than a set.
fn taken(items: &[Value], added: &[Value], key: &str, value: &str) -> bool {
    let path = key != "name";
    items
        .iter()
        .chain(added)
        .any(|item| match field(item, key) {
            Some(held) if path => crate::mount_path::same(held, value),
            held => held == Some(value),
        })
}

/// The variable `name` of a container's env, unless a set gave it.
fn env_var<'a>(sources: &Sources, container: &ContainerView<'a>, name: &str) -> Option<&'a Value> {
    list(container.spec, "env")
        .iter()
        .find(|v| field(v, "name") == Some(name))
        .filter(|v| !sources.is_given("env", v))
}

/// `$(VAR)` references in a subPathExpr, as the kubelet expands them.
fn references(expr: &str) -> impl Iterator<Item = &str> {
    expr.split("$(")
        .skip(1)
        .filter_map(|rest| rest.split_once(')').map(|(name, _)| name))
        .filter(|name| !name.is_empty())
}

/// What sidecars take from: the Pod, and its own app containers (its
/// `spec.containers` that no set injected; not its init containers).
#[derive(Clone)]
pub struct Sources<'p> {
    pod: &'p PodView<'p>,
    /// The Pod's own app containers (also what appContainers gives to).
    pub apps: Vec<&'p ContainerView<'p>>,
    /// Where a source named by a label or annotation is taken to resolve
    /// to (an app container, or none), instead of the Pod's labels and
    /// annotations now: on an UPDATE, what they named at CREATE.
    pub resolved_as: Option<Option<&'p str>>,
    /// What the applying sets give the app containers (appContainers), as
    /// (list, digest): not a source, so that a sidecar is completed alike
    /// before and after the Pod holds it.
    given: Vec<(&'static str, String)>,
}

impl<'p> Sources<'p> {
    /// `injected(name)`: whether the Pod's status records a container as injected.
    pub fn new(pod: &'p PodView<'p>, injected: impl Fn(&str) -> bool) -> Self {
        let apps = pod
            .containers
            .iter()
            .filter(|c| !injected(c.name))
            .collect();
        Sources {
            pod,
            apps,
            resolved_as: None,
            given: Vec::new(),
        }
    }

    /// Takes what `blocks` give the app containers out of the sources.
    pub fn leave_out<'b>(&mut self, blocks: impl Iterator<Item = &'b AppContainers>) {
        for (list, entry) in blocks.flat_map(AppContainers::entries) {
            if list != "envFrom" {
                self.given
                    .push((list, crate::app::entry_digest(list, entry)));
            }
        }
    }

    fn is_given(&self, list: &str, entry: &Value) -> bool {
        !self.given.is_empty() && {
            let digest = crate::app::entry_digest(list, entry);
            self.given.iter().any(|(l, d)| *l == list && *d == digest)
        }
    }
}

/// The app container a transferEnv entry names, or why there is none.
fn source<'p>(
    transfer: &TransferEnv,
    Sources {
        pod,
        apps,
        resolved_as,
        ..
    }: &Sources<'p>,
) -> Result<&'p ContainerView<'p>, String> {
    let name =
        match transfer.source() {
            Some(SourceContainer::Label(_) | SourceContainer::Annotation(_))
                if resolved_as.is_some() =>
            {
                resolved_as
                    .flatten()
                    .ok_or("the label or annotation named no app container")?
            }
            Some(SourceContainer::Named(name)) => name,
            Some(SourceContainer::Label(key)) => pod.labels.get(key).copied().ok_or_else(|| {
                format!("the Pod has no label {key:?} to name the source container")
            })?,
            Some(SourceContainer::Annotation(key)) => {
                pod.annotations.get(key).copied().ok_or_else(|| {
                    format!("the Pod has no annotation {key:?} to name the source container")
                })?
            }
            // Refused by validate_settings.
            None => return Err("it names no source container".to_string()),
        };
    apps.iter()
        .find(|c| c.name == name)
        .copied()
        .ok_or_else(|| format!("the Pod has no app container named {name:?}"))
}

/// Completes `entry`, the sidecar as it goes into the Pod, from the Pod's
/// app containers. A source that is not there is skipped with a warning.
pub fn complete(
    entry: &mut Value,
    container: &ContainerSpec,
    sources: &Sources,
    set: &str,
    warnings: &mut Vec<String>,
) {
    let enabled = |policy: Option<SharePolicy>| policy.is_some_and(|p| p.enabled());
    let shares_volumes = enabled(container.share_volume_policy);
    let shares_devices = enabled(container.share_volume_device_policy);
    if container.transfer_env.is_empty() && !shares_volumes && !shares_devices {
        return;
    }
    let Value::Object(entry) = entry else {
        return;
    };
    // OpenKruise's order: the sidecar's env, then transferred variables,
    // then those the shared subPathExprs reference.
    let mut added = Added::default();
    transfer_env(entry, container, sources, set, &mut added, warnings);
    for app in &sources.apps {
        if shares_volumes {
            share_mounts(entry, app, sources, &mut added);
        }
        if shares_devices {
            share_devices(entry, app, &mut added);
        }
    }
    for (key, added) in [
        ("env", added.env),
        ("volumeMounts", added.mounts),
        ("volumeDevices", added.devices),
    ] {
        if added.is_empty() {
            continue;
        }
        let slot = entry.entry(key).or_insert(Value::Null);
        if !slot.is_array() {
            *slot = Value::Array(Vec::new());
        }
        if let Value::Array(items) = slot {
            items.extend(added);
        }
    }
}

/// What the sidecar gets from the app containers, in order.
#[derive(Default)]
struct Added {
    env: Vec<Value>,
    mounts: Vec<Value>,
    devices: Vec<Value>,
}

impl Added {
    /// Adds `var` unless the sidecar (`entry`) or an earlier source has a
    /// variable of that name.
    fn env(&mut self, entry: &Map<String, Value>, var: &Value) {
        if let Some(var_name) = field(var, "name")
            && !taken(list(entry, "env"), &self.env, "name", var_name)
        {
            self.env.push(var.clone());
        }
    }
}

/// The variables transferEnv names, copied verbatim from their sources.
fn transfer_env(
    entry: &Map<String, Value>,
    container: &ContainerSpec,
    sources: &Sources,
    set: &str,
    added: &mut Added,
    warnings: &mut Vec<String>,
) {
    let name = container.name();
    for (k, transfer) in container.transfer_env.iter().enumerate() {
        let app = match source(transfer, sources) {
            Ok(app) => app,
            Err(why) => {
                warnings.push(format!(
                    "{name} (sidecar set {set}): transferEnv[{k}] skipped: {why}"
                ));
                continue;
            }
        };
        for var_name in transfer.names() {
            match env_var(sources, app, var_name) {
                Some(var) => added.env(entry, var),
                None => warnings.push(format!(
                    "{name} (sidecar set {set}): transferEnv[{k}]: app container {:?} has no variable {var_name}; not copied",
                    app.name
                )),
            }
        }
    }
}

/// The app's volumeMounts on paths the sidecar does not use yet, with the
/// variables their subPathExpr references (the path must expand alike).
fn share_mounts(
    entry: &Map<String, Value>,
    app: &ContainerView,
    sources: &Sources,
    added: &mut Added,
) {
    for mount in list(app.spec, "volumeMounts") {
        if sources.is_given("volumeMounts", mount) {
            continue;
        }
        match (field(mount, "mountPath"), field(mount, "name")) {
            // A path the sidecar mounts, or uses for a block device; a
            // volume it attaches as a device (`validateVolumeDevices`: a
            // volume is mounted or attached in one container, not both).
            (Some(path), Some(volume))
                if !taken(
                    list(entry, "volumeMounts"),
                    &added.mounts,
                    "mountPath",
                    path,
                ) && !taken(
                    list(entry, "volumeDevices"),
                    &added.devices,
                    "devicePath",
                    path,
                ) && !taken(list(entry, "volumeDevices"), &added.devices, "name", volume) => {}
            _ => continue,
        }
        let mut shared = mount.clone();
        // Bidirectional is allowed only in a privileged container
        // (`validateMountPropagation`): an unprivileged sidecar receives
        // the app's mounts as HostToContainer, and propagates none back.
        if field(mount, "mountPropagation") == Some("Bidirectional")
            && !crate::pod_security::is_privileged(entry)
            && let Some(map) = shared.as_object_mut()
        {
            map.insert("mountPropagation".into(), "HostToContainer".into());
        }
        added.mounts.push(shared);
        let expr = field(mount, "subPathExpr").unwrap_or_default();
        for var_name in references(expr) {
            if let Some(var) = env_var(sources, app, var_name) {
                added.env(entry, var);
            }
        }
    }
}

/// The app's volumeDevices whose path and volume the sidecar does not use
/// yet: a volume is either mounted or attached as a device in one container.
fn share_devices(entry: &Map<String, Value>, app: &ContainerView, added: &mut Added) {
    for device in list(app.spec, "volumeDevices") {
        let (Some(path), Some(volume)) = (field(device, "devicePath"), field(device, "name"))
        else {
            continue;
        };
        let own = list(entry, "volumeDevices");
        if taken(own, &added.devices, "devicePath", path)
            || taken(
                list(entry, "volumeMounts"),
                &added.mounts,
                "mountPath",
                path,
            )
            || taken(own, &added.devices, "name", volume)
            || taken(list(entry, "volumeMounts"), &added.mounts, "name", volume)
        {
            continue;
        }
        added.devices.push(device.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(value: Value) -> ContainerSpec {
        serde_json::from_value(value).unwrap()
    }

    /// Completes `sidecar` from the app containers of `pod`.
    fn completed(sidecar: Value, pod: &Value) -> (Value, Vec<String>) {
        let view = PodView::read(pod).unwrap();
        let container = spec(sidecar);
        let mut entry = Value::Object(container.spec.clone());
        let mut warnings = Vec::new();
        let sources = Sources::new(&view, |_| false);
        complete(&mut entry, &container, &sources, "logs", &mut warnings);
        (entry, warnings)
    }

    #[test]
    fn references_in_a_sub_path_expr() {
        assert_eq!(
            references("foo/$(ODD_NAME)/$(POD_NAME)/$()x").collect::<Vec<_>>(),
            ["ODD_NAME", "POD_NAME"]
        );
        assert_eq!(references("plain").count(), 0);
    }

    #[test]
    fn shared_paths_compare_cleaned_and_bidirectional_needs_privilege() {
        let pod = json!({"spec": {"containers": [{"name": "app",
            "volumeMounts": [{"name": "a", "mountPath": "/data/"}, {"name": "b", "mountPath": "/x", "mountPropagation": "Bidirectional"},
                {"name": "c", "mountPath": "/dev/xvda"}],
            "volumeDevices": [{"name": "d", "devicePath": "/blk"}]}]}});
        let sidecar = json!({"name": "s", "image": "s:1", "shareVolumePolicy": {"type": "enabled"},
            "shareVolumeDevicePolicy": {"type": "enabled"},
            "volumeMounts": [{"name": "own", "mountPath": "/data"}, {"name": "e", "mountPath": "/blk/"}],
            "volumeDevices": [{"name": "f", "devicePath": "/dev/./xvda"}]});
        let (entry, _) = completed(sidecar, &pod);
        // /data/ is the sidecar's /data; /dev/xvda is its device's path; the
        // app's /blk device sits where the sidecar mounts /blk/.
        assert_eq!(
            entry["volumeMounts"],
            json!([{"name": "own", "mountPath": "/data"}, {"name": "e", "mountPath": "/blk/"},
                {"name": "b", "mountPath": "/x", "mountPropagation": "HostToContainer"}])
        );
        assert_eq!(
            entry["volumeDevices"],
            json!([{"name": "f", "devicePath": "/dev/./xvda"}])
        );
    }

    #[test]
    fn a_volume_the_sidecar_attaches_as_a_device_is_not_shared_as_a_mount() {
        // `validateVolumeDevices`: one volume is mounted or attached in a
        // container, not both.
        let pod = json!({"spec": {"containers": [{"name": "app",
            "volumeMounts": [{"name": "blk", "mountPath": "/data"}, {"name": "logs", "mountPath": "/logs"}]}]}});
        let sidecar = json!({"name": "s", "image": "s:1", "shareVolumePolicy": {"type": "enabled"},
            "volumeDevices": [{"name": "blk", "devicePath": "/dev/xvdb"}]});
        let (entry, _) = completed(sidecar, &pod);
        assert_eq!(
            entry["volumeMounts"],
            json!([{"name": "logs", "mountPath": "/logs"}])
        );
    }

    #[test]
    fn a_sidecar_without_the_fields_is_untouched() {
        let pod = json!({"spec": {"containers": [{"name": "app", "env": [{"name": "A", "value": "1"}]}]}});
        let (entry, warnings) = completed(json!({"name": "s", "image": "s:1"}), &pod);
        assert_eq!(entry, json!({"name": "s", "image": "s:1"}));
        assert!(warnings.is_empty());
    }
}
