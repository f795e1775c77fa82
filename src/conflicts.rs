//! The conflict rules. A conflict is a rejection that names the set, the item
//! and the Pod field, never a silent overwrite.
//!
//! Every clash rule lives here:
//! - in a Pod, [`PodModel`] holds what the Pod will contain once stale
//!   injections are removed; sets claim their names, ports, hostPorts and
//!   volumes on it one after the other, so a set also conflicts with what an
//!   earlier set added; [`init_port_clashes`] checks the ports of the init
//!   containers against the native sidecars running when they start;
//! - between the sets of the settings (validate_settings), [`SetClaims`]:
//!   any two sets may apply to the same Pod.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Map, Value};

use crate::annotations::{SKIP, STATUS};
use crate::defaults::normalized_volume;
use crate::order::Placement;
use crate::pod::{Entry, PodView};
use crate::provenance::Removed;
use crate::settings::ContainerSpec;

/// Who holds a name, a port or a volume. Borrowed: the messages that name
/// a holder are formatted only when there is a conflict.
#[derive(Debug, Clone, Copy)]
enum Holder<'a> {
    /// An entry of the request's Pod, and the set the status record names
    /// for it (a record the Pod's author may have written).
    Pod {
        entry: &'a Entry<'a>,
        injected_by: Option<&'a str>,
    },
    /// An item added by an earlier set of this evaluation.
    Set { set: &'a str, name: &'a str },
}

impl Holder<'_> {
    /// Who uses a port.
    fn user(&self) -> String {
        match self {
            Holder::Pod {
                entry,
                injected_by: None,
            } => format!("{} ({:?})", entry.path(), entry.name),
            Holder::Pod {
                entry,
                injected_by: Some(set),
            } => format!(
                "{} ({:?}, which the Pod's {STATUS} annotation records as injected by set {set:?})",
                entry.path(),
                entry.name
            ),
            Holder::Set { set, name } => format!("{name:?} of set {set:?}"),
        }
    }

    /// Where a container name is taken.
    fn container_location(&self) -> String {
        match self {
            Holder::Pod {
                entry,
                injected_by: None,
            } => entry.path(),
            Holder::Pod {
                entry,
                injected_by: Some(set),
            } => format!(
                "{} (the Pod's {STATUS} annotation records it as injected by set {set:?}, but the Pod does not hold it as recorded, so it stays the Pod's own)",
                entry.path()
            ),
            Holder::Set { set, .. } => format!("a container of set {set:?}"),
        }
    }

    /// Where a volume name is taken.
    fn volume_location(&self) -> String {
        match self {
            Holder::Pod { entry, .. } => entry.path(),
            Holder::Set { set, name } => format!("volume {name:?} of set {set:?}"),
        }
    }
}

/// The Pod as the sets see it while they are planned.
pub struct PodModel<'a> {
    names: HashMap<&'a str, Holder<'a>>,
    ports: HashMap<(i64, String), Holder<'a>>,
    /// Node ports held for the Pod's whole life (see `runs_alongside`).
    host_ports: Vec<(HostPort, Holder<'a>)>,
    volumes: HashMap<&'a str, (&'a Map<String, Value>, Holder<'a>)>,
    pub pull_secrets: HashSet<&'a str>,
    /// The Pod's annotations, as the sets planned so far leave them.
    pub annotations: BTreeMap<&'a str, Cow<'a, str>>,
}

/// Whether a Pod entry runs alongside the app containers, so that its ports
/// stay bound: app containers and native sidecars do; run-to-completion init
/// containers and ephemeral containers do not.
fn runs_alongside(container: &Entry) -> bool {
    match container.list {
        "containers" => true,
        "initContainers" => container.is_native_sidecar(),
        _ => false,
    }
}

/// What claiming a set's volume found.
#[derive(Debug, PartialEq, Eq)]
pub enum VolumeClaim {
    /// The Pod has no volume of that name: the set adds it.
    Added,
    /// The Pod has an identical volume: it is reused, not added.
    Reused,
    Conflict(String),
}

impl<'a> PodModel<'a> {
    /// The Pod without the parts of the `removed` (stale) injections.
    /// `injected_by` maps a container name to the set the status records for it.
    pub fn new(
        pod: &'a PodView<'a>,
        removed: &Removed,
        injected_by: &HashMap<&'a str, &'a str>,
    ) -> Self {
        let mut names = HashMap::new();
        let mut ports = HashMap::new();
        let mut node_ports = Vec::new();
        let containers = pod
            .init_containers
            .iter()
            .chain(&pod.containers)
            .chain(&pod.ephemeral_containers);
        for container in containers.filter(|c| !removed.containers.iter().any(|r| r == c.name)) {
            let holder = Holder::Pod {
                entry: container,
                injected_by: injected_by.get(container.name).copied(),
            };
            if runs_alongside(container) {
                for (port, protocol, _) in container_ports(container.spec) {
                    ports.entry((port, protocol)).or_insert(holder);
                }
                node_ports.extend(host_ports(container.spec).into_iter().map(|h| (h, holder)));
            }
            names.entry(container.name).or_insert(holder);
        }
        let volumes = pod
            .volumes
            .iter()
            .filter(|v| !removed.volumes.iter().any(|r| r == v.name))
            .map(|v| {
                let holder = Holder::Pod {
                    entry: v,
                    injected_by: None,
                };
                (v.name, (v.spec, holder))
            })
            .collect();
        let pull_secrets = pod.image_pull_secrets.iter().copied().collect();
        let annotations = pod
            .annotations
            .iter()
            .filter(|(k, _)| !removed.annotations.iter().any(|r| r == *k))
            .map(|(k, v)| (*k, Cow::Borrowed(*v)))
            .collect();
        PodModel {
            names,
            ports,
            host_ports: node_ports,
            volumes,
            pull_secrets,
            annotations,
        }
    }

    /// Claims the name and the ports of an injected container.
    /// `kind` is "container" or "init container".
    pub fn claim_container(
        &mut self,
        set: &'a str,
        kind: &str,
        container: &'a ContainerSpec,
        runs_alongside_app: bool,
        problems: &mut Vec<String>,
    ) {
        let name = container.name();
        if let Some(holder) = self.names.get(name) {
            problems.push(format!(
                "sidecar set {set:?}: {kind} {name:?} cannot be injected: {} already has that name; rename the container in the Pod or in the set, or opt the Pod out with the annotation {SKIP}: {set}",
                holder.container_location()
            ));
        } else {
            self.names.insert(name, Holder::Set { set, name });
        }
        if !runs_alongside_app {
            return;
        }
        for (port, protocol, _) in container_ports(&container.spec) {
            let key = (port, protocol);
            if let Some(holder) = self.ports.get(&key) {
                problems.push(format!(
                    "sidecar set {set:?}: {kind} {name:?} cannot be injected: port {port}/{} is already used by {}, and the containers of a Pod share one network namespace; change the port in the set or in the Pod",
                    key.1,
                    holder.user()
                ));
            } else {
                self.ports.insert(key, Holder::Set { set, name });
            }
        }
        for host in host_ports(&container.spec) {
            if let Some((_, holder)) = self.host_ports.iter().find(|(h, _)| h.clashes(&host)) {
                problems.push(format!(
                    "sidecar set {set:?}: {kind} {name:?} cannot be injected: {} is already used by {}, and a host port is unique per Pod; change the hostPort in the set or in the Pod",
                    host.describe(),
                    holder.user()
                ));
            } else {
                self.host_ports.push((host, Holder::Set { set, name }));
            }
        }
    }

    pub fn claim_volume(&mut self, set: &'a str, volume: &'a Map<String, Value>) -> VolumeClaim {
        let name = volume.get("name").and_then(Value::as_str).unwrap_or("");
        match self.volumes.get(name) {
            // As the API server stores them: the Pod's arrives defaulted.
            Some((existing, _))
                if *existing == volume
                    || normalized_volume(existing) == normalized_volume(volume) =>
            {
                VolumeClaim::Reused
            }
            Some((_, holder)) => VolumeClaim::Conflict(format!(
                "sidecar set {set:?}: volume {name:?} cannot be injected: {} has the same name and a different definition; rename the volume in the set, or make the two definitions identical",
                holder.volume_location()
            )),
            None => {
                self.volumes
                    .insert(name, (volume, Holder::Set { set, name }));
                VolumeClaim::Added
            }
        }
    }

    /// Every volumeMount of an injected container must name a volume of the
    /// Pod or of the sets (claim the set's volumes first).
    pub fn check_mounts(
        &self,
        set: &str,
        kind: &str,
        container: &ContainerSpec,
        problems: &mut Vec<String>,
    ) {
        let Some(Value::Array(mounts)) = container.spec.get("volumeMounts") else {
            return;
        };
        for (k, mount) in mounts.iter().enumerate() {
            let Some(volume) = mount.get("name").and_then(Value::as_str) else {
                continue;
            };
            if !self.volumes.contains_key(volume) {
                problems.push(format!(
                    "sidecar set {set:?}: {kind} {:?} mounts volume {volume:?} (volumeMounts[{k}]), which neither the set nor the Pod defines in spec.volumes; add the volume to the set's volumes or to the Pod",
                    container.name()
                ));
            }
        }
    }

    /// The RFC 7386 merge of `patch` into the annotation's current JSON object.
    pub fn merged_annotation(
        &self,
        set: &str,
        index: usize,
        key: &str,
        patch: &str,
    ) -> Result<String, String> {
        let patch: Value = serde_json::from_slice(patch.as_bytes()).map_err(|e| {
            format!("sidecar set {set:?}: patchPodMetadata[{index}].annotations[{key:?}] is not JSON ({e}); fix the settings")
        })?;
        let Some(current) = self.annotations.get(key).map(|v| v.as_ref()) else {
            // Nothing to merge into: the patch itself, with its nulls removed.
            let mut value = Value::Object(Map::new());
            json_patch::merge(&mut value, &patch);
            return Ok(compact(&value));
        };
        match serde_json::from_slice::<Value>(current.as_bytes()) {
            Ok(mut value @ Value::Object(_)) => {
                json_patch::merge(&mut value, &patch);
                Ok(compact(&value))
            }
            _ => Err(format!(
                "sidecar set {set:?}: cannot merge patchPodMetadata[{index}] into metadata.annotations[{key:?}]: the Pod's value is not a JSON object; fix or remove the annotation, or use patchPolicy Overwrite"
            )),
        }
    }
}

/// Compact JSON, through the one serializer the policy uses for its answer.
fn compact(value: &Value) -> String {
    serde_json::to_vec(value)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_default()
}

/// A port (or hostPort) two containers that run at once cannot share.
fn port_clash(a: &Map<String, Value>, b: &Map<String, Value>) -> Option<String> {
    let b_ports = container_ports(b);
    for (port, protocol, _) in container_ports(a) {
        if b_ports.iter().any(|(p, q, _)| *p == port && *q == protocol) {
            return Some(format!("port {port}/{protocol}"));
        }
    }
    let b_hosts = host_ports(b);
    host_ports(a)
        .into_iter()
        .find(|h| b_hosts.iter().any(|o| o.clashes(h)))
        .map(|h| h.describe())
}

/// Port clashes that only the final start order shows: an init container
/// that runs to completion runs while every native sidecar before it in
/// `init` runs (they share the network namespace and the node's ports).
/// Only clashes with an item injected now are reported: `set_of` names its
/// set; `own` are the names of the Pod's init containers, in the request's
/// order (for their paths).
pub fn init_port_clashes<'s>(
    init: &[Value],
    set_of: impl Fn(&str) -> Option<&'s str>,
    own: &[&str],
) -> Vec<String> {
    fn name_of(e: &Map<String, Value>) -> &str {
        e.get("name").and_then(Value::as_str).unwrap_or("")
    }
    let describe = |name: &str| match own.iter().position(|n| *n == name) {
        Some(i) => format!("spec.initContainers[{i}] ({name:?})"),
        None => format!("{name:?}"),
    };
    let mut problems = Vec::new();
    let mut running: Vec<&Map<String, Value>> = Vec::new();
    for entry in init.iter().filter_map(Value::as_object) {
        if entry.get("restartPolicy").and_then(Value::as_str) == Some("Always") {
            running.push(entry);
            continue;
        }
        let name = name_of(entry);
        for native in &running {
            let native_name = name_of(native);
            let sets = (set_of(native_name), set_of(name));
            // The Pod's own entries are its author's to arrange.
            if sets == (None, None) {
                continue;
            }
            let Some(what) = port_clash(entry, native) else {
                continue;
            };
            problems.push(match sets {
                (Some(set), _) => format!(
                    "sidecar set {set:?}: container {native_name:?} cannot be injected: {what} is also used by the init container {}, which runs while {native_name} (a native sidecar started before it) is running; change the port in the set or in the Pod, or make {native_name} start after it (dependsOn: [{name}])",
                    describe(name)
                ),
                (None, Some(set)) => format!(
                    "sidecar set {set:?}: init container {name:?} cannot be injected: {what} is already used by the native sidecar {}, which runs while it does; change the port in the set or in the Pod",
                    describe(native_name)
                ),
                (None, None) => continue,
            });
        }
    }
    problems
}

/// What the sets of the settings claim together, for the clash rules
/// between sets that validate_settings applies: any two sets may apply to
/// the same Pod.
#[derive(Default)]
pub struct SetClaims<'s> {
    /// Container name → where it is first defined.
    names: HashMap<&'s str, String>,
    /// (port, protocol) → where it is first bound, for containers that run
    /// alongside the app.
    ports: HashMap<(i64, String), String>,
    /// Every hostPort, and where it is first bound.
    host_ports: Vec<(HostPort, String)>,
    /// Volume name → its first definition, and where.
    volumes: HashMap<&'s str, (&'s Map<String, Value>, String)>,
}

impl<'s> SetClaims<'s> {
    /// The container of a set at `at`: unique names across sets, unique
    /// ports among the containers that run together, unique hostPorts.
    pub fn claim_container(
        &mut self,
        container: &'s ContainerSpec,
        placement: Placement,
        at: &str,
        errors: &mut Vec<String>,
    ) {
        let name = container.name();
        if !name.is_empty() {
            if let Some(first) = self.names.get(name) {
                errors.push(format!(
                    "{at}.name: {name:?} is already used by {first}; container names must be unique across all sets"
                ));
            } else {
                self.names.insert(name, at.to_string());
            }
        }
        // Everything but a run-to-completion init container runs alongside
        // the app and keeps its ports bound.
        if placement != Placement::Init {
            for (port, protocol, k) in container_ports(&container.spec) {
                if let Some(first) = self
                    .ports
                    .insert((port, protocol.clone()), format!("{at}.ports[{k}]"))
                {
                    errors.push(format!(
                        "{at}.ports[{k}]: port {port}/{protocol} is already used by {first}; containers of a Pod share one network namespace, so give each sidecar its own port"
                    ));
                }
            }
        }
        // A node port is taken for the whole Pod's life.
        for host in host_ports(&container.spec) {
            if let Some((_, first)) = self.host_ports.iter().find(|(h, _)| h.clashes(&host)) {
                errors.push(format!(
                    "{at}.ports[{}].hostPort: {} is already used by {first}; a host port is unique per Pod (and node), so give each sidecar its own hostPort",
                    host.index,
                    host.describe()
                ));
            } else {
                let first = format!("{at}.ports[{}]", host.index);
                self.host_ports.push((host, first));
            }
        }
    }

    /// The volume `name` a set defines at `at`: a volume of the same name in
    /// another set must be the same volume, as the API server would store it.
    pub fn claim_volume(
        &mut self,
        name: &'s str,
        volume: &'s Map<String, Value>,
        at: String,
        errors: &mut Vec<String>,
    ) {
        if let Some((first, first_at)) = self.volumes.get(name) {
            if *first != volume && normalized_volume(first) != normalized_volume(volume) {
                errors.push(format!(
                    "{at}: volume {name:?} differs from the one of the same name in {first_at}; sets that may apply to the same Pod must define a shared volume identically (or name them differently)"
                ));
            }
        } else {
            self.volumes.insert(name, (volume, at));
        }
    }
}

/// (containerPort, protocol, index in ports) of a container spec.
pub fn container_ports(spec: &Map<String, Value>) -> Vec<(i64, String, usize)> {
    let Some(Value::Array(ports)) = spec.get("ports") else {
        return Vec::new();
    };
    ports
        .iter()
        .enumerate()
        .filter_map(|(k, port)| {
            let number = port.get("containerPort")?.as_i64()?;
            let protocol = port
                .get("protocol")
                .and_then(Value::as_str)
                .unwrap_or("TCP");
            Some((number, protocol.to_string(), k))
        })
        .collect()
}

/// A `hostPort` of a container: a port of the node, bound while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    /// `hostIP`; "" (and 0.0.0.0, ::) for every address of the node.
    pub ip: String,
    pub port: i64,
    pub protocol: String,
    /// Index in the container's `ports`.
    pub index: usize,
}

impl HostPort {
    fn any_address(&self) -> bool {
        matches!(self.ip.as_str(), "" | "0.0.0.0" | "::")
    }

    /// Whether both cannot be bound at once: same port and protocol, and
    /// the same address or one of them on every address.
    pub fn clashes(&self, other: &HostPort) -> bool {
        self.port == other.port
            && self.protocol == other.protocol
            && (self.ip == other.ip || self.any_address() || other.any_address())
    }

    /// `hostPort 9400/TCP` (with `on 10.0.0.1` when it has a hostIP).
    pub fn describe(&self) -> String {
        if self.any_address() {
            format!("hostPort {}/{}", self.port, self.protocol)
        } else {
            format!("hostPort {}/{} on {}", self.port, self.protocol, self.ip)
        }
    }
}

/// The hostPorts of a container spec.
pub fn host_ports(spec: &Map<String, Value>) -> Vec<HostPort> {
    let Some(Value::Array(ports)) = spec.get("ports") else {
        return Vec::new();
    };
    ports
        .iter()
        .enumerate()
        .filter_map(|(index, port)| {
            let number = port.get("hostPort")?.as_i64().filter(|&p| p > 0)?;
            let text = |key: &str, default: &str| {
                port.get(key)
                    .and_then(Value::as_str)
                    .unwrap_or(default)
                    .to_string()
            };
            Some(HostPort {
                ip: text("hostIP", ""),
                port: number,
                protocol: text("protocol", "TCP"),
                index,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Value {
        json!({
            "metadata": {"annotations": {"cfg": "{\"a\":1,\"b\":2}", "plain": "text"}},
            "spec": {
                "initContainers": [
                    {"name": "proxy", "restartPolicy": "Always", "ports": [{"containerPort": 15000}]},
                    {"name": "migrate", "ports": [{"containerPort": 9000}]}
                ],
                "containers": [{"name": "app", "ports": [{"containerPort": 8080}, {"containerPort": 53, "protocol": "UDP"}]}],
                "ephemeralContainers": [{"name": "debugger"}],
                "volumes": [{"name": "data", "emptyDir": {}}]
            }
        })
    }

    fn container(value: Value) -> ContainerSpec {
        serde_json::from_value(value).unwrap()
    }

    fn claim(value: Value, runs_alongside: bool) -> Vec<String> {
        let object = pod();
        let view = PodView::read(&object).unwrap();
        let mut model = PodModel::new(&view, &Removed::default(), &HashMap::new());
        let spec = container(value);
        let mut problems = Vec::new();
        model.claim_container("mesh", "container", &spec, runs_alongside, &mut problems);
        problems
    }

    #[test]
    fn names_clash_with_every_container_list() {
        for (name, path) in [
            ("app", "spec.containers[0]"),
            ("proxy", "spec.initContainers[0]"),
            ("debugger", "spec.ephemeralContainers[0]"),
        ] {
            assert_eq!(
                claim(json!({"name": name}), true),
                [format!(
                    "sidecar set \"mesh\": container {name:?} cannot be injected: {path} already has that name; rename the container in the Pod or in the set, or opt the Pod out with the annotation sidecarset.kubewarden.io/skip: mesh"
                )]
            );
        }
        assert!(claim(json!({"name": "envoy"}), true).is_empty());
    }

    #[test]
    fn ports_clash_with_app_and_native_sidecars_only() {
        assert_eq!(
            claim(
                json!({"name": "envoy", "ports": [{"containerPort": 8080}]}),
                true
            ),
            [
                "sidecar set \"mesh\": container \"envoy\" cannot be injected: port 8080/TCP is already used by spec.containers[0] (\"app\"), and the containers of a Pod share one network namespace; change the port in the set or in the Pod"
            ]
        );
        assert_eq!(
            claim(
                json!({"name": "envoy", "ports": [{"containerPort": 15000, "protocol": "TCP"}]}),
                true
            )
            .len(),
            1
        );
        // Same number, other protocol: no clash.
        assert!(
            claim(
                json!({"name": "envoy", "ports": [{"containerPort": 8080, "protocol": "UDP"}]}),
                true
            )
            .is_empty()
        );
        // A run-to-completion init container's port does not stay bound.
        assert!(
            claim(
                json!({"name": "envoy", "ports": [{"containerPort": 9000}]}),
                true
            )
            .is_empty()
        );
        // An injected run-to-completion init container does not claim ports.
        assert!(
            claim(
                json!({"name": "envoy", "ports": [{"containerPort": 8080}]}),
                false
            )
            .is_empty()
        );
    }

    #[test]
    fn stale_parts_do_not_clash() {
        let object = pod();
        let view = PodView::read(&object).unwrap();
        let removed = Removed {
            containers: vec!["proxy".to_string()],
            ..Default::default()
        };
        let mut model = PodModel::new(&view, &removed, &HashMap::new());
        let spec = container(json!({"name": "proxy", "ports": [{"containerPort": 15000}]}));
        let mut problems = Vec::new();
        model.claim_container("mesh", "init container", &spec, true, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn volumes_reuse_identical_and_refuse_different() {
        let object = pod();
        let view = PodView::read(&object).unwrap();
        let mut model = PodModel::new(&view, &Removed::default(), &HashMap::new());
        let same = json!({"name": "data", "emptyDir": {}});
        let other = json!({"name": "data", "hostPath": {"path": "/data"}});
        let new = json!({"name": "varlog", "emptyDir": {}});
        assert_eq!(
            model.claim_volume("logs", same.as_object().unwrap()),
            VolumeClaim::Reused
        );
        assert_eq!(
            model.claim_volume("logs", other.as_object().unwrap()),
            VolumeClaim::Conflict("sidecar set \"logs\": volume \"data\" cannot be injected: spec.volumes[0] has the same name and a different definition; rename the volume in the set, or make the two definitions identical".into())
        );
        assert_eq!(
            model.claim_volume("logs", new.as_object().unwrap()),
            VolumeClaim::Added
        );
        let mounts = container(json!({"name": "shipper", "volumeMounts": [
            {"name": "data", "mountPath": "/d"}, {"name": "varlog", "mountPath": "/l"}, {"name": "nowhere", "mountPath": "/n"}]}));
        let mut problems = Vec::new();
        model.check_mounts("logs", "container", &mounts, &mut problems);
        assert_eq!(
            problems,
            [
                "sidecar set \"logs\": container \"shipper\" mounts volume \"nowhere\" (volumeMounts[2]), which neither the set nor the Pod defines in spec.volumes; add the volume to the set's volumes or to the Pod"
            ]
        );
    }

    #[test]
    fn merge_patch_json() {
        let object = pod();
        let view = PodView::read(&object).unwrap();
        let model = PodModel::new(&view, &Removed::default(), &HashMap::new());
        assert_eq!(
            model
                .merged_annotation("s", 0, "cfg", r#"{"b":null,"c":3}"#)
                .unwrap(),
            r#"{"a":1,"c":3}"#
        );
        assert_eq!(
            model
                .merged_annotation("s", 0, "absent", r#"{"x":1,"y":null}"#)
                .unwrap(),
            r#"{"x":1}"#
        );
        assert_eq!(
            model
                .merged_annotation("s", 1, "plain", r#"{"x":1}"#)
                .unwrap_err(),
            "sidecar set \"s\": cannot merge patchPodMetadata[1] into metadata.annotations[\"plain\"]: the Pod's value is not a JSON object; fix or remove the annotation, or use patchPolicy Overwrite"
        );
    }
}
