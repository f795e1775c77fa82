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

use crate::annotations::STATUS;
use crate::conflicts::{PodModel, VolumeClaim};
use crate::namespace::Namespace;
use crate::order::{Graph, Node};
use crate::pod::PodView;
use crate::provenance::{InjectedSet, Removed, Status};
use crate::selector::{self, Applying};
use crate::settings::{PatchPolicy, Placement, Settings};
use crate::share;

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
}

struct Plan<'s> {
    /// Stale injections to take out before injecting their sets afresh.
    stale: Vec<InjectedSet>,
    sets: Vec<SetInjection>,
    status: Status,
    /// Every applying set, injected now or before: the start order covers all.
    applying: Vec<Applying<'s>>,
}

/// Injects the applying sets into `object`, a Pod being created in
/// `namespace`. What the user should know but does not stop the Pod goes
/// into `warnings`.
pub fn inject(
    mut object: Value,
    settings: &Settings,
    namespace: &mut Namespace,
    warnings: &mut Vec<String>,
) -> Outcome {
    let plan = match plan(&object, settings, namespace, warnings) {
        Ok(Some(plan)) => plan,
        Ok(None) => return Outcome::Unchanged,
        Err(message) => return Outcome::Rejected(message),
    };
    match apply(&mut object, plan, settings.explain, warnings) {
        Ok(()) => Outcome::Mutated(object),
        Err(message) => Outcome::Rejected(message),
    }
}

fn plan<'s>(
    object: &Value,
    settings: &'s Settings,
    namespace: &mut Namespace,
    warnings: &mut Vec<String>,
) -> Result<Option<Plan<'s>>, String> {
    let pod = PodView::read(object)?;
    let status = Status::read(pod.annotations.get(STATUS).copied())?;
    let applying = selector::applying_sets(settings, &pod, namespace, warnings)?;

    let mut to_inject: Vec<(Applying, String)> = Vec::new();
    let mut stale = Vec::new();
    let in_pod: HashSet<&str> = pod
        .init_containers
        .iter()
        .chain(&pod.containers)
        .map(|c| c.name)
        .collect();
    for a in &applying {
        let hash = a.set.definition_hash(a.native);
        match status.get(&a.set.name) {
            // Current only if what it recorded is still there: a copy whose
            // containers were edited out is injected afresh.
            Some(recorded)
                if recorded.hash == hash
                    && recorded.container_names().all(|c| in_pod.contains(c)) =>
            {
                continue;
            }
            Some(recorded) => stale.push(recorded.clone()),
            None => {}
        }
        to_inject.push((*a, hash));
    }
    if to_inject.is_empty() {
        return Ok(None);
    }
    // A recorded injection of a set that no longer applies under that name
    // (a renamed set, say) whose containers a set now injects is ours:
    // it is superseded and replaced, not a conflict with the Pod.
    let applying_names: HashSet<&str> = applying.iter().map(|a| a.set.name.as_str()).collect();
    let injecting: HashSet<&str> = to_inject
        .iter()
        .flat_map(|(a, _)| a.items().map(|(c, _)| c.name()))
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

    let injected_by: HashMap<&str, &str> = status
        .sets
        .iter()
        .flat_map(|s| s.container_names().map(move |c| (c, s.name.as_str())))
        .collect();
    let mut model = PodModel::new(&pod, &Removed::of(&stale), &injected_by);
    let sources = share::Sources::new(&pod, |name| injected_by.contains_key(name));

    let mut problems = Vec::new();
    let sets = to_inject
        .into_iter()
        .map(|(a, hash)| plan_set(a, hash, &mut model, &sources, &mut problems, warnings))
        .collect();
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }

    let mut new_status = status;
    new_status
        .sets
        .retain(|s| !stale.iter().any(|old| old.name == s.name));
    Ok(Some(Plan {
        stale,
        sets,
        status: new_status,
        applying,
    }))
}

fn plan_set<'a>(
    applying: Applying<'a>,
    hash: String,
    model: &mut PodModel<'a>,
    sources: &share::Sources,
    problems: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> SetInjection {
    let set = applying.set;
    let mut injection = SetInjection {
        record: InjectedSet {
            name: set.name.clone(),
            hash,
            ..Default::default()
        },
        ..Default::default()
    };
    // Volumes first: the set's own mounts may name them.
    for volume in &set.volumes {
        match model.claim_volume(&set.name, volume) {
            VolumeClaim::Added => {
                let name = volume
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                injection.record.volumes.push(name.to_string());
                injection.volumes.push(Value::Object(volume.clone()));
            }
            VolumeClaim::Reused => {}
            VolumeClaim::Conflict(message) => problems.push(message),
        }
    }
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
        let mut entry = container.to_pod_container(placement);
        share::complete(&mut entry, container, sources, &set.name, warnings);
        injection.entries.push((placement, entry));
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
            injection.annotations.push((key.clone(), new_value));
        }
    }
    injection
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

fn object_mut<'m>(
    map: &'m mut Map<String, Value>,
    key: &str,
) -> Result<&'m mut Map<String, Value>, String> {
    let slot = map.entry(key).or_insert(Value::Null);
    if slot.is_null() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut().ok_or_else(|| internal(key))
}

fn entry_name(entry: &Value) -> &str {
    entry
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// An injected item of an applying set, as the start order sees it.
struct Item<'s> {
    name: &'s str,
    set: &'s str,
    depends_on: &'s [String],
    placement: Placement,
}

/// Takes the entries of `items` out of `list`, in the order of `items`;
/// what stays in `list` (the Pod's own entries) keeps its order.
fn extract<'i, 's>(list: &mut Vec<Value>, items: &[&'i Item<'s>]) -> Vec<(Value, &'i Item<'s>)> {
    let position: HashMap<&str, usize> = list
        .iter()
        .enumerate()
        .map(|(i, e)| (entry_name(e), i))
        .rev() // the first entry of a name wins
        .collect();
    let wanted: Vec<(usize, &Item)> = items
        .iter()
        .filter_map(|item| position.get(item.name).map(|&i| (i, *item)))
        .collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    let mut slots: Vec<Option<Value>> = std::mem::take(list).into_iter().map(Some).collect();
    let taken = wanted
        .into_iter()
        .filter_map(|(i, item)| Some((slots.get_mut(i)?.take()?, item)))
        .collect();
    list.extend(slots.into_iter().flatten());
    taken
}

/// Sorts `entries` (in their default order) so that each comes after the
/// entries it depends on; `fixed` ones (the Pod's own) keep their relative
/// order. A dependency on a name that is not among them is ignored here.
fn sort(entries: Vec<(Value, &[String], bool)>) -> Result<Vec<Value>, String> {
    let names: Vec<&str> = entries.iter().map(|(e, ..)| entry_name(e)).collect();
    let nodes: Vec<Node> = entries
        .iter()
        .zip(&names)
        .map(|((_, depends_on, fixed), name)| Node {
            name,
            depends_on,
            fixed: *fixed,
        })
        .collect();
    let graph = Graph::new(&nodes);
    let order = graph.order().map_err(|cycle| {
        format!(
            "dependsOn cycle: {}; fix the policy's settings (validate_settings refuses them)",
            graph.describe(&cycle)
        )
    })?;
    drop(nodes);
    let mut slots: Vec<Option<Value>> = entries.into_iter().map(|(e, ..)| Some(e)).collect();
    Ok(order
        .into_iter()
        .filter_map(|i| slots.get_mut(i).and_then(Option::take))
        .collect())
}

fn as_entries<'s>(taken: Vec<(Value, &Item<'s>)>) -> Vec<(Value, &'s [String], bool)> {
    taken
        .into_iter()
        .map(|(e, item)| (e, item.depends_on, false))
        .collect()
}

/// Puts spec.initContainers and spec.containers in start order: the
/// applying sets' items by their dependencies (ties: settings order), then
/// the Pod's own init containers in their order, an item that depends on
/// one of those after it; leading sidecars before the Pod's own containers
/// and trailing ones after them.
fn put_in_start_order(spec: &mut Map<String, Value>, items: &[Item]) -> Result<(), String> {
    let in_phase = |phase: u8| -> Vec<&Item> {
        items
            .iter()
            .filter(|i| i.placement.phase() == phase)
            .collect()
    };
    if let Some(Value::Array(init)) = spec.get_mut("initContainers") {
        let mut entries = as_entries(extract(init, &in_phase(0)));
        entries.extend(std::mem::take(init).into_iter().map(|e| (e, &[][..], true)));
        *init = sort(entries)?;
    }
    if let Some(Value::Array(containers)) = spec.get_mut("containers") {
        let leading = extract(containers, &in_phase(1));
        let trailing = extract(containers, &in_phase(2));
        let own = std::mem::take(containers);
        containers.extend(sort(as_entries(leading))?);
        containers.extend(own);
        containers.extend(sort(as_entries(trailing))?);
    }
    Ok(())
}

/// Dependencies that no entry of this Pod satisfies: each is dropped, with a
/// warning naming it. A dependency is satisfied by an applying set's item in
/// the same or an earlier phase, or by one of the Pod's init containers.
fn dropped_dependencies(spec: &Map<String, Value>, items: &[Item]) -> Vec<String> {
    let init_names: HashSet<&str> = match spec.get("initContainers") {
        Some(Value::Array(list)) => list.iter().map(entry_name).collect(),
        _ => HashSet::new(),
    };
    let phase_of: HashMap<&str, u8> = items
        .iter()
        .map(|i| (i.name, i.placement.phase()))
        .collect();
    let mut warnings = Vec::new();
    for item in items {
        for dep in item.depends_on {
            let satisfied = match phase_of.get(dep.as_str()) {
                Some(&phase) => phase <= item.placement.phase(),
                None => init_names.contains(dep.as_str()),
            };
            if !satisfied {
                warnings.push(format!(
                    "dependency dropped: {} (sidecar set {}) depends on {dep}, which is not an init container or earlier sidecar of this Pod",
                    item.name, item.set
                ));
            }
        }
    }
    warnings
}

/// One line: init containers in order, then the containers the kubelet
/// starts together in list order.
fn describe_start_order(spec: &Map<String, Value>) -> String {
    let list = |key: &str| match spec.get(key) {
        Some(Value::Array(list)) => list.as_slice(),
        _ => &[],
    };
    let init: Vec<String> = list("initContainers")
        .iter()
        .map(|e| {
            let native = e.get("restartPolicy").and_then(Value::as_str) == Some("Always");
            if native {
                format!("{} (sidecar)", entry_name(e))
            } else {
                entry_name(e).to_string()
            }
        })
        .collect();
    let containers: Vec<&str> = list("containers").iter().map(entry_name).collect();
    let mut line = String::from("start order: ");
    for name in &init {
        line.push_str(name);
        line.push_str(" → ");
    }
    line.push('[');
    line.push_str(&containers.join(", "));
    line.push(']');
    line
}

fn apply(
    object: &mut Value,
    plan: Plan,
    explain: bool,
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    let pod = object
        .as_object_mut()
        .ok_or_else(|| internal("request.object"))?;

    let mut status = plan.status;
    let spec = object_mut(pod, "spec")?;
    if !plan.stale.is_empty() {
        let removed = Removed::of(&plan.stale);
        for (key, names) in [
            ("initContainers", &removed.containers),
            ("containers", &removed.containers),
            ("volumes", &removed.volumes),
            ("imagePullSecrets", &removed.pull_secrets),
        ] {
            if let Some(Value::Array(list)) = spec.get_mut(key) {
                list.retain(|entry| !names.contains(entry_name(entry)));
            }
        }
    }

    let mut annotations = Vec::new();
    let (mut init, mut containers, mut volumes, mut secrets) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for set in plan.sets {
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

    let items: Vec<Item> = plan
        .applying
        .iter()
        .flat_map(|a| {
            a.items().map(|(c, placement)| Item {
                name: c.name(),
                set: &a.set.name,
                depends_on: &c.depends_on,
                placement,
            })
        })
        .collect();
    warnings.extend(dropped_dependencies(spec, &items));
    put_in_start_order(spec, &items)?;
    status.start_order = ["initContainers", "containers"]
        .iter()
        .filter_map(|key| spec.get(*key).and_then(Value::as_array))
        .flatten()
        .map(|e| entry_name(e).to_string())
        .collect();
    if explain {
        warnings.push(describe_start_order(spec));
    }

    let pod_annotations = object_mut(object_mut(pod, "metadata")?, "annotations")?;
    for (key, value) in annotations {
        pod_annotations.insert(key, Value::String(value));
    }
    pod_annotations.insert(STATUS.to_string(), Value::String(status.to_annotation()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::annotations::{INJECT, SKIP};
    use serde_json::json;

    /// Injection, warnings discarded (tests of warnings call super::inject).
    fn inject(pod: Value, settings: &Settings, namespace: &str) -> Outcome {
        super::inject(
            pod,
            settings,
            &mut Namespace::new(namespace),
            &mut Vec::new(),
        )
    }

    fn settings(value: Value) -> Settings {
        Settings::from_slice(value.to_string().as_bytes()).unwrap()
    }

    fn fixture(name: &str) -> Value {
        let path = format!(
            "{}/../shared/fixtures/requests/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let request: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        request["object"].clone()
    }

    fn names(pod: &Value, list: &str) -> Vec<String> {
        pod["spec"][list]
            .as_array()
            .map(|l| {
                l.iter()
                    .map(|c| c["name"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn mutated(outcome: Outcome) -> Value {
        match outcome {
            Outcome::Mutated(pod) => pod,
            other => panic!("expected a mutation, got {other:?}"),
        }
    }

    fn log_shipper() -> Value {
        json!({
            "name": "log-shipper",
            "selector": {"matchLabels": {"tier": "web"}},
            "initContainers": [{"name": "log-init", "image": "busybox:1.36", "volumeMounts": [{"name": "varlog", "mountPath": "/var/log/app"}]}],
            "containers": [
                {"name": "fluent-bit", "image": "fluent-bit:3.2.4", "volumeMounts": [{"name": "varlog", "mountPath": "/var/log/app"}]},
                {"name": "log-flusher", "image": "flusher:1", "podInjectPolicy": "AfterAppContainer"}
            ],
            "volumes": [{"name": "varlog", "emptyDir": {}}],
            "imagePullSecrets": [{"name": "registry-creds"}],
            "patchPodMetadata": [{"annotations": {"fluentbit.io/parser": "json"}}]
        })
    }

    fn mesh() -> Value {
        json!({"name": "mesh", "selector": {}, "containers": [{"name": "envoy", "image": "envoy:v1.33.0", "ports": [{"containerPort": 15001}]}]})
    }

    #[test]
    fn native_placement_puts_sets_in_order_before_own_init_containers() {
        let s = settings(json!({"sidecarSets": [log_shipper(), mesh()]}));
        let pod = mutated(inject(
            fixture("pod-own-init-and-native-sidecar-create.json"),
            &s,
            "shop",
        ));
        assert_eq!(
            names(&pod, "initContainers"),
            [
                "log-init",
                "fluent-bit",
                "envoy",
                "cloud-sql-proxy",
                "db-migrate"
            ]
        );
        assert_eq!(names(&pod, "containers"), ["orders", "log-flusher"]);
        let init = &pod["spec"]["initContainers"];
        assert_eq!(init[1]["restartPolicy"], "Always");
        assert_eq!(init[2]["restartPolicy"], "Always");
        assert!(
            init[0].get("restartPolicy").is_none(),
            "a set's plain init container runs to completion"
        );
        assert!(pod["spec"]["containers"][1].get("restartPolicy").is_none());
        assert!(
            pod["spec"]["containers"][1]
                .get("podInjectPolicy")
                .is_none()
        );
    }

    #[test]
    fn regular_placement_puts_sidecars_first_in_containers() {
        let mut set = log_shipper();
        set["nativeSidecars"] = json!(false);
        let s = settings(json!({"sidecarSets": [set, mesh()], "nativeSidecars": true}));
        let pod = mutated(inject(fixture("pod-replicaset-create.json"), &s, "shop"));
        assert_eq!(names(&pod, "initContainers"), ["log-init", "envoy"]);
        assert_eq!(
            names(&pod, "containers"),
            ["fluent-bit", "checkout", "log-flusher"]
        );
        assert!(pod["spec"]["containers"][0].get("restartPolicy").is_none());
        let s = settings(json!({"sidecarSets": [mesh()], "nativeSidecars": false}));
        let pod = mutated(inject(fixture("pod-replicaset-create.json"), &s, "shop"));
        assert_eq!(names(&pod, "containers"), ["envoy", "checkout"]);
        assert!(pod["spec"].get("initContainers").is_none());
    }

    #[test]
    fn volumes_secrets_and_annotations_are_added() {
        let s = settings(json!({"sidecarSets": [log_shipper()]}));
        let pod = mutated(inject(fixture("pod-replicaset-create.json"), &s, "shop"));
        assert_eq!(
            names(&pod, "volumes"),
            ["config", "kube-api-access-7x2qz", "varlog"]
        );
        assert_eq!(
            pod["spec"]["imagePullSecrets"],
            json!([{"name": "registry-creds"}])
        );
        let annotations = &pod["metadata"]["annotations"];
        assert_eq!(annotations["fluentbit.io/parser"], "json");
        let status = Status::read(annotations[STATUS].as_str()).unwrap();
        assert_eq!(status.sets.len(), 1);
        let record = &status.sets[0];
        assert_eq!(record.init_containers, ["log-init", "fluent-bit"]);
        assert_eq!(record.containers, ["log-flusher"]);
        assert_eq!(record.volumes, ["varlog"]);
        assert_eq!(record.image_pull_secrets, ["registry-creds"]);
        assert_eq!(record.hash, s.sidecar_sets[0].definition_hash(true));
    }

    #[test]
    fn second_evaluation_changes_nothing() {
        let s = settings(json!({"sidecarSets": [log_shipper(), mesh()]}));
        let pod = mutated(inject(fixture("pod-replicaset-create.json"), &s, "shop"));
        assert_eq!(inject(pod, &s, "shop"), Outcome::Unchanged);
    }

    #[test]
    fn nothing_applies() {
        let s = settings(json!({"sidecarSets": [log_shipper()]}));
        assert_eq!(
            inject(fixture("pod-job-create.json"), &s, "shop"),
            Outcome::Unchanged
        );
        assert_eq!(
            inject(
                fixture("pod-replicaset-create.json"),
                &Settings::default(),
                "shop"
            ),
            Outcome::Unchanged
        );
    }

    #[test]
    fn opt_out_annotations() {
        let s = settings(json!({"sidecarSets": [log_shipper(), mesh()]}));
        let mut pod = fixture("pod-replicaset-create.json");
        pod["metadata"]["annotations"][INJECT] = json!("false");
        assert_eq!(inject(pod.clone(), &s, "shop"), Outcome::Unchanged);
        pod["metadata"]["annotations"]
            .as_object_mut()
            .unwrap()
            .remove(INJECT);
        pod["metadata"]["annotations"][SKIP] = json!("log-shipper");
        let pod = mutated(inject(pod, &s, "shop"));
        assert_eq!(names(&pod, "initContainers"), ["envoy"]);
    }

    #[test]
    fn stale_copy_is_reinjected() {
        let old = settings(json!({"sidecarSets": [log_shipper(), mesh()]}));
        let pod = mutated(inject(
            fixture("pod-own-init-and-native-sidecar-create.json"),
            &old,
            "shop",
        ));
        let mut newer_log_shipper = log_shipper();
        newer_log_shipper["containers"][0]["image"] = json!("fluent-bit:3.3.0");
        newer_log_shipper["volumes"] =
            json!([{"name": "varlog", "emptyDir": {"medium": "Memory"}}]);
        let new = settings(json!({"sidecarSets": [newer_log_shipper, mesh()]}));
        let pod = mutated(inject(pod, &new, "shop"));
        // Settings order again: the start order covers every applying set.
        assert_eq!(
            names(&pod, "initContainers"),
            [
                "log-init",
                "fluent-bit",
                "envoy",
                "cloud-sql-proxy",
                "db-migrate"
            ]
        );
        assert_eq!(
            pod["spec"]["initContainers"][1]["image"],
            "fluent-bit:3.3.0"
        );
        assert_eq!(names(&pod, "containers"), ["orders", "log-flusher"]);
        assert_eq!(
            names(&pod, "volumes"),
            ["config", "kube-api-access-7x2qz", "varlog"]
        );
        assert_eq!(pod["spec"]["volumes"][2]["emptyDir"]["medium"], "Memory");
        let status = Status::read(pod["metadata"]["annotations"][STATUS].as_str()).unwrap();
        let names: Vec<&str> = status.sets.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["mesh", "log-shipper"]);
        assert_eq!(
            status.get("log-shipper").unwrap().hash,
            new.sidecar_sets[0].definition_hash(true)
        );
        assert_eq!(inject(pod, &new, "shop"), Outcome::Unchanged);
    }

    #[test]
    fn a_renamed_set_supersedes_what_its_old_name_injected() {
        let old = settings(json!({"sidecarSets": [log_shipper(), mesh()]}));
        let pod = mutated(inject(fixture("pod-replicaset-create.json"), &old, "shop"));
        let mut renamed = log_shipper();
        renamed["name"] = json!("logging");
        let new = settings(json!({"sidecarSets": [renamed, mesh()]}));
        let pod = mutated(inject(pod, &new, "shop"));
        assert_eq!(
            names(&pod, "initContainers"),
            ["log-init", "fluent-bit", "envoy"]
        );
        assert_eq!(names(&pod, "containers"), ["checkout", "log-flusher"]);
        assert_eq!(
            names(&pod, "volumes"),
            ["config", "kube-api-access-7x2qz", "varlog"]
        );
        let status = Status::read(pod["metadata"]["annotations"][STATUS].as_str()).unwrap();
        let recorded: Vec<&str> = status.sets.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(recorded, ["mesh", "logging"]);
        assert_eq!(inject(pod, &new, "shop"), Outcome::Unchanged);
    }

    #[test]
    fn a_set_that_no_longer_applies_keeps_its_record() {
        let old = settings(json!({"sidecarSets": [log_shipper(), mesh()]}));
        let pod = mutated(inject(fixture("pod-replicaset-create.json"), &old, "shop"));
        let new = settings(
            json!({"sidecarSets": [mesh(), {"name": "other", "selector": {}, "containers": [{"name": "x", "image": "x"}]}]}),
        );
        let pod = mutated(inject(pod, &new, "shop"));
        // What a set that no longer applies injected is left in place,
        // and counts as the Pod's own.
        assert_eq!(
            names(&pod, "initContainers"),
            ["envoy", "x", "log-init", "fluent-bit"]
        );
        let status = Status::read(pod["metadata"]["annotations"][STATUS].as_str()).unwrap();
        let recorded: Vec<&str> = status.sets.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(recorded, ["log-shipper", "mesh", "other"]);
    }

    #[test]
    fn conflicts_are_all_reported() {
        let mut pod = fixture("pod-replicaset-create.json");
        pod["spec"]["containers"][0]["name"] = json!("fluent-bit");
        pod["spec"]["volumes"][0] = json!({"name": "varlog", "hostPath": {"path": "/var/log"}});
        let s = settings(json!({"sidecarSets": [log_shipper()]}));
        let Outcome::Rejected(message) = inject(pod, &s, "shop") else {
            panic!("expected a rejection")
        };
        assert_eq!(
            message,
            "sidecar set \"log-shipper\": volume \"varlog\" cannot be injected: spec.volumes[0] has the same name and a different definition; rename the volume in the set, or make the two definitions identical; \
             sidecar set \"log-shipper\": container \"fluent-bit\" cannot be injected: spec.containers[0] already has that name; rename the container in the Pod or in the set, or opt the Pod out with the annotation sidecarset.kubewarden.io/skip: log-shipper"
        );
    }

    #[test]
    fn identical_volume_is_reused_not_added() {
        let mut pod = fixture("pod-replicaset-create.json");
        pod["spec"]["volumes"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "varlog", "emptyDir": {}}));
        let s = settings(json!({"sidecarSets": [log_shipper()]}));
        let pod = mutated(inject(pod, &s, "shop"));
        assert_eq!(
            names(&pod, "volumes"),
            ["config", "kube-api-access-7x2qz", "varlog"]
        );
        let status = Status::read(pod["metadata"]["annotations"][STATUS].as_str()).unwrap();
        assert!(
            status.sets[0].volumes.is_empty(),
            "a reused volume stays the Pod's"
        );
    }

    #[test]
    fn pull_secrets_the_pod_has_are_not_added_twice() {
        let mut pod = fixture("pod-replicaset-create.json");
        pod["spec"]["imagePullSecrets"] = json!([{"name": "registry-creds"}, {"name": "other"}]);
        let s = settings(json!({"sidecarSets": [log_shipper()]}));
        let out = mutated(inject(pod, &s, "shop"));
        assert_eq!(
            out["spec"]["imagePullSecrets"],
            json!([{"name": "registry-creds"}, {"name": "other"}])
        );
        let status = Status::read(out["metadata"]["annotations"][STATUS].as_str()).unwrap();
        assert!(
            status.sets[0].image_pull_secrets.is_empty(),
            "the Pod's own secret stays the Pod's"
        );
    }

    #[test]
    fn merge_patch_json_annotation() {
        let mut set = mesh();
        set["patchPodMetadata"] = json!([{"annotations": {"cfg": "{\"mesh\":true}"}, "patchPolicy": "MergePatchJson"},
                                         {"annotations": {"prometheus.io/port": "15020"}, "patchPolicy": "Overwrite"},
                                         {"annotations": {"prometheus.io/scrape": "false"}}]);
        let s = settings(json!({"sidecarSets": [set]}));
        let mut pod = fixture("pod-replicaset-create.json");
        pod["metadata"]["annotations"]["cfg"] = json!("{\"app\":1}");
        let out = mutated(inject(pod.clone(), &s, "shop"));
        let annotations = &out["metadata"]["annotations"];
        assert_eq!(annotations["cfg"], "{\"app\":1,\"mesh\":true}");
        assert_eq!(
            annotations["prometheus.io/port"], "15020",
            "Overwrite replaces"
        );
        assert_eq!(
            annotations["prometheus.io/scrape"], "true",
            "Retain keeps the Pod's value"
        );
        pod["metadata"]["annotations"]["cfg"] = json!("not json");
        assert_eq!(
            inject(pod, &s, "shop"),
            Outcome::Rejected("sidecar set \"mesh\": cannot merge patchPodMetadata[0] into metadata.annotations[\"cfg\"]: the Pod's value is not a JSON object; fix or remove the annotation, or use patchPolicy Overwrite".into())
        );
    }

    #[test]
    fn pod_without_metadata_or_lists_gets_them_created() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "app", "image": "app"}]}});
        let s = settings(json!({"sidecarSets": [mesh()]}));
        let out = mutated(inject(pod, &s, ""));
        assert_eq!(names(&out, "initContainers"), ["envoy"]);
        assert!(out["metadata"]["annotations"][STATUS].is_string());
    }

    fn with_warnings(pod: Value, s: &Settings) -> (Outcome, Vec<String>) {
        let mut warnings = Vec::new();
        let outcome = super::inject(pod, s, &mut Namespace::new("shop"), &mut warnings);
        (outcome, warnings)
    }

    fn proxy_set() -> Value {
        json!({"name": "mesh", "selector": {}, "containers": [{"name": "envoy", "image": "envoy:v1.33.0", "waitForReady": true,
            "readinessProbe": {"httpGet": {"path": "/ready", "port": 9901}}}]})
    }

    #[test]
    fn the_classic_case_proxy_then_client_then_app() {
        // The client set comes first in the settings; its dependency wins.
        let s = settings(json!({"sidecarSets": [
            {"name": "db-client", "selector": {}, "initContainers": [{"name": "mysql-client", "image": "mysql:8", "dependsOn": ["envoy"]}]},
            proxy_set()]}));
        let pod = mutated(inject(fixture("pod-replicaset-create.json"), &s, "shop"));
        assert_eq!(names(&pod, "initContainers"), ["envoy", "mysql-client"]);
        assert_eq!(names(&pod, "containers"), ["checkout"]);
        let envoy = &pod["spec"]["initContainers"][0];
        assert_eq!(
            envoy["startupProbe"]["periodSeconds"], 1,
            "derived from the readinessProbe"
        );
        assert_eq!(envoy["startupProbe"]["httpGet"]["port"], 9901);
        assert!(
            envoy.get("waitForReady").is_none(),
            "extension keys stay out of the Pod"
        );
        let status = Status::read(pod["metadata"]["annotations"][STATUS].as_str()).unwrap();
        assert_eq!(status.start_order, ["envoy", "mysql-client", "checkout"]);
        assert_eq!(inject(pod, &s, "shop"), Outcome::Unchanged);
    }

    #[test]
    fn a_diamond() {
        let s = settings(
            json!({"sidecarSets": [{"name": "d", "selector": {}, "initContainers": [
            {"name": "report", "image": "r", "dependsOn": ["left", "right"]},
            {"name": "right", "image": "r", "dependsOn": ["base"]},
            {"name": "left", "image": "l", "dependsOn": ["base"]},
            {"name": "base", "image": "b"}]}]}),
        );
        let pod = mutated(inject(fixture("pod-replicaset-create.json"), &s, "shop"));
        assert_eq!(
            names(&pod, "initContainers"),
            ["base", "right", "left", "report"]
        );
    }

    #[test]
    fn after_the_pods_own_init_container() {
        let s = settings(json!({"sidecarSets": [
            {"name": "logs", "selector": {}, "containers": [{"name": "fluent-bit", "image": "f", "dependsOn": ["db-migrate"]}],
             "initContainers": [{"name": "log-init", "image": "b"}]},
            {"name": "audit", "selector": {}, "initContainers": [{"name": "audit-init", "image": "a", "dependsOn": ["fluent-bit"]}]},
            proxy_set()]}));
        let pod = mutated(inject(
            fixture("pod-own-init-and-native-sidecar-create.json"),
            &s,
            "shop",
        ));
        // The Pod's own keep their order; fluent-bit and what depends on it follow db-migrate.
        assert_eq!(
            names(&pod, "initContainers"),
            [
                "log-init",
                "envoy",
                "cloud-sql-proxy",
                "db-migrate",
                "fluent-bit",
                "audit-init"
            ]
        );
        assert_eq!(inject(pod, &s, "shop"), Outcome::Unchanged);
    }

    #[test]
    fn a_dangling_dependency_is_dropped_with_a_warning() {
        let s = settings(json!({"sidecarSets": [
            {"name": "logs", "selector": {}, "containers": [{"name": "fluent-bit", "image": "f", "dependsOn": ["db-migrate", "envoy"]}]},
            {"name": "mesh", "selector": {"matchLabels": {"mesh": "on"}}, "containers": [{"name": "envoy", "image": "e", "startupProbe": {"tcpSocket": {"port": 1}}}]}]}));
        let (outcome, warnings) = with_warnings(fixture("pod-replicaset-create.json"), &s);
        assert_eq!(names(&mutated(outcome), "initContainers"), ["fluent-bit"]);
        assert_eq!(
            warnings,
            [
                "dependency dropped: fluent-bit (sidecar set logs) depends on db-migrate, which is not an init container or earlier sidecar of this Pod",
                "dependency dropped: fluent-bit (sidecar set logs) depends on envoy, which is not an init container or earlier sidecar of this Pod"
            ]
        );
    }

    #[test]
    fn regular_mode_orders_the_leading_sidecars() {
        let post_start = json!({"postStart": {"exec": {"command": ["pilot-agent", "wait"]}}});
        let s = settings(json!({"nativeSidecars": false, "sidecarSets": [
            {"name": "logs", "selector": {}, "containers": [{"name": "fluent-bit", "image": "f", "dependsOn": ["envoy"]}]},
            {"name": "mesh", "selector": {}, "containers": [{"name": "envoy", "image": "e", "waitForReady": true, "lifecycle": post_start}]}]}));
        let pod = mutated(inject(fixture("pod-replicaset-create.json"), &s, "shop"));
        assert_eq!(
            names(&pod, "containers"),
            ["envoy", "fluent-bit", "checkout"]
        );
        assert!(pod["spec"]["containers"][0].get("startupProbe").is_none());
        assert_eq!(
            pod["spec"]["containers"][0]["lifecycle"]["postStart"]["exec"]["command"][1],
            "wait"
        );
    }

    fn regular_job_settings(job_pods: &str) -> Settings {
        settings(
            json!({"jobPods": job_pods, "sidecarSets": [{"name": "metrics", "nativeSidecars": false, "selector": {"matchLabels": {"tier": "batch"}},
            "containers": [{"name": "statsd", "image": "s"}, {"name": "pusher", "image": "p", "podInjectPolicy": "AfterAppContainer"}]}]}),
        )
    }

    #[test]
    fn job_pods_native_makes_regular_sidecars_native() {
        let s = regular_job_settings("native");
        let (outcome, warnings) = with_warnings(fixture("pod-job-create.json"), &s);
        let pod = mutated(outcome);
        assert_eq!(names(&pod, "initContainers"), ["statsd"]);
        assert_eq!(pod["spec"]["initContainers"][0]["restartPolicy"], "Always");
        assert_eq!(names(&pod, "containers"), ["report", "pusher"]);
        assert_eq!(
            warnings,
            [
                "pusher (sidecar set metrics) runs after the app containers as a regular container: it can keep this Pod (restartPolicy: Never) from completing"
            ]
        );
        let status = Status::read(pod["metadata"]["annotations"][STATUS].as_str()).unwrap();
        assert_eq!(status.sets[0].hash, s.sidecar_sets[0].definition_hash(true));
        assert_eq!(inject(pod, &s, "shop"), Outcome::Unchanged);
    }

    #[test]
    fn job_pods_skip_leaves_them_out() {
        let (outcome, warnings) = with_warnings(
            fixture("pod-job-create.json"),
            &regular_job_settings("skip"),
        );
        assert_eq!(outcome, Outcome::Unchanged);
        assert_eq!(
            warnings,
            [
                "sidecar set metrics not injected: its regular sidecars would keep this Pod (restartPolicy: Never) from completing (jobPods: skip)"
            ]
        );
    }

    #[test]
    fn job_pods_as_configured_injects_regular_sidecars() {
        let (outcome, warnings) = with_warnings(
            fixture("pod-job-create.json"),
            &regular_job_settings("asConfigured"),
        );
        let pod = mutated(outcome);
        assert!(pod["spec"].get("initContainers").is_none());
        assert_eq!(names(&pod, "containers"), ["statsd", "report", "pusher"]);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].starts_with("sidecar set metrics injects regular sidecars"));
    }

    #[test]
    fn job_pods_do_not_change_pods_that_keep_running() {
        let mut pod = fixture("pod-job-create.json");
        pod["spec"]["restartPolicy"] = json!("Always");
        let (outcome, warnings) = with_warnings(pod, &regular_job_settings("skip"));
        assert_eq!(
            names(&mutated(outcome), "containers"),
            ["statsd", "report", "pusher"]
        );
        assert!(warnings.is_empty());
    }

    #[test]
    fn mandatory_sets_ignore_the_opt_out() {
        let mut mandatory = proxy_set();
        mandatory["mandatory"] = json!(true);
        let s = settings(json!({"sidecarSets": [log_shipper(), mandatory]}));
        let mut pod = fixture("pod-replicaset-create.json");
        pod["metadata"]["annotations"][INJECT] = json!("false");
        let (outcome, warnings) = with_warnings(pod.clone(), &s);
        assert_eq!(names(&mutated(outcome), "initContainers"), ["envoy"]);
        assert_eq!(
            warnings,
            [
                "sidecar set mesh is mandatory: the Pod's sidecarset.kubewarden.io/inject annotation does not apply to it"
            ]
        );
        let s = settings(json!({"sidecarSets": [log_shipper(), proxy_set()]}));
        assert_eq!(with_warnings(pod, &s), (Outcome::Unchanged, vec![]));
    }

    #[test]
    fn explain_reports_the_start_order() {
        let s = settings(json!({"explain": true, "sidecarSets": [log_shipper(), proxy_set()]}));
        let (outcome, warnings) =
            with_warnings(fixture("pod-own-init-and-native-sidecar-create.json"), &s);
        mutated(outcome);
        assert_eq!(
            warnings,
            [
                "start order: log-init → fluent-bit (sidecar) → envoy (sidecar) → cloud-sql-proxy (sidecar) → db-migrate → [orders, log-flusher]"
            ]
        );
    }

    #[test]
    fn a_recorded_set_whose_containers_are_gone_is_injected_again() {
        let s = settings(json!({"sidecarSets": [log_shipper(), mesh()]}));
        let mut pod = mutated(inject(fixture("pod-replicaset-create.json"), &s, "shop"));
        pod["spec"]["initContainers"]
            .as_array_mut()
            .unwrap()
            .retain(|c| c["name"] != "envoy");
        let pod = mutated(inject(pod, &s, "shop"));
        assert_eq!(
            names(&pod, "initContainers"),
            ["log-init", "fluent-bit", "envoy"]
        );
        assert_eq!(inject(pod, &s, "shop"), Outcome::Unchanged);
    }
}
