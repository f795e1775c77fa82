//! Injection: the one place that edits the Pod JSON.
//!
//! It first plans, reading the Pod through [`PodView`] and checking every
//! conflict on a [`PodModel`]; only a conflict-free plan is applied, in place,
//! to the request's own JSON, so every field the policy does not touch
//! (including fields newer than its k8s-openapi) survives unchanged.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use crate::annotations::{INJECT, OptOut, SKIP, STATUS};
use crate::conflicts::{PodModel, VolumeClaim};
use crate::pod::PodView;
use crate::provenance::{InjectedSet, Removed, Status};
use crate::selector;
use crate::settings::{ContainerSpec, PatchPolicy, PodInjectPolicy, Settings, SidecarSet};

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
    /// Into spec.initContainers, before the Pod's own init containers.
    init_containers: Vec<Value>,
    /// Into spec.containers, before the Pod's own containers (regular mode).
    leading_containers: Vec<Value>,
    /// Appended to spec.containers (AfterAppContainer).
    trailing_containers: Vec<Value>,
    volumes: Vec<Value>,
    pull_secrets: Vec<Value>,
    annotations: Vec<(String, String)>,
}

struct Plan {
    /// Stale injections to take out before injecting their sets afresh.
    stale: Vec<InjectedSet>,
    sets: Vec<SetInjection>,
    status: Status,
}

/// Injects the applying sets into `object`, a Pod being created in `namespace`.
pub fn inject(mut object: Value, settings: &Settings, namespace: &str) -> Outcome {
    let plan = match plan(&object, settings, namespace) {
        Ok(Some(plan)) => plan,
        Ok(None) => return Outcome::Unchanged,
        Err(message) => return Outcome::Rejected(message),
    };
    match apply(&mut object, plan) {
        Ok(()) => Outcome::Mutated(object),
        Err(message) => Outcome::Rejected(message),
    }
}

fn plan(object: &Value, settings: &Settings, namespace: &str) -> Result<Option<Plan>, String> {
    let pod = PodView::read(object)?;
    let status = Status::read(pod.annotations.get(STATUS).copied())?;
    let opt_out = OptOut::read(
        pod.annotations.get(INJECT).copied(),
        pod.annotations.get(SKIP).copied(),
    );

    let mut applying: Vec<(&SidecarSet, bool, String)> = Vec::new();
    let mut stale = Vec::new();
    let mut applying_names = HashSet::new();
    for set in &settings.sidecar_sets {
        if !selector::applies(set, &pod.labels, namespace, &opt_out) {
            continue;
        }
        applying_names.insert(set.name.as_str());
        let native = set.native(settings.native_sidecars);
        let hash = set.definition_hash(native);
        match status.get(&set.name) {
            Some(recorded) if recorded.hash == hash => continue,
            Some(recorded) => stale.push(recorded.clone()),
            None => {}
        }
        applying.push((set, native, hash));
    }
    if applying.is_empty() {
        return Ok(None);
    }
    // A recorded injection of a set that no longer applies under that name
    // (a renamed set, say) whose containers a set now injects is ours:
    // it is superseded and replaced, not a conflict with the Pod.
    let injecting: HashSet<&str> = applying
        .iter()
        .flat_map(|(set, ..)| {
            set.init_containers
                .iter()
                .chain(&set.containers)
                .map(ContainerSpec::name)
        })
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

    let mut problems = Vec::new();
    let sets = applying
        .into_iter()
        .map(|(set, native, hash)| plan_set(set, native, hash, &mut model, &mut problems))
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
    }))
}

fn plan_set<'a>(
    set: &'a SidecarSet,
    native: bool,
    hash: String,
    model: &mut PodModel<'a>,
    problems: &mut Vec<String>,
) -> SetInjection {
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
    for container in &set.init_containers {
        let is_native = container.restart_policy() == Some("Always");
        model.claim_container(&set.name, "init container", container, is_native, problems);
        model.check_mounts(&set.name, "init container", container, problems);
        injection
            .record
            .init_containers
            .push(container.name().to_string());
        injection
            .init_containers
            .push(container.to_pod_container(false));
    }
    for container in &set.containers {
        model.claim_container(&set.name, "container", container, true, problems);
        model.check_mounts(&set.name, "container", container, problems);
        // (where the name is recorded, where the container goes, native?)
        let (recorded, list, native_sidecar) = match (container.pod_inject_policy, native) {
            (PodInjectPolicy::BeforeAppContainer, true) => (
                &mut injection.record.init_containers,
                &mut injection.init_containers,
                true,
            ),
            (PodInjectPolicy::BeforeAppContainer, false) => (
                &mut injection.record.containers,
                &mut injection.leading_containers,
                false,
            ),
            (PodInjectPolicy::AfterAppContainer, _) => (
                &mut injection.record.containers,
                &mut injection.trailing_containers,
                false,
            ),
        };
        recorded.push(container.name().to_string());
        list.push(container.to_pod_container(native_sidecar));
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

fn entry_name(entry: &Value) -> Option<&str> {
    entry.get("name").and_then(Value::as_str)
}

/// Inserts `items` before the first entry no set injected, so the Pod's own
/// entries keep their order and come after every injected one.
fn insert_before_own(list: &mut Vec<Value>, items: Vec<Value>, injected: &HashSet<&str>) {
    if items.is_empty() {
        return;
    }
    let at = list
        .iter()
        .position(|entry| !entry_name(entry).is_some_and(|n| injected.contains(n)))
        .unwrap_or(list.len());
    list.splice(at..at, items);
}

fn apply(object: &mut Value, plan: Plan) -> Result<(), String> {
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
                list.retain(|entry| !entry_name(entry).is_some_and(|n| names.contains(n)));
            }
        }
    }

    let mut annotations = Vec::new();
    let (mut init, mut leading, mut trailing, mut volumes, mut secrets) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for set in plan.sets {
        init.extend(set.init_containers);
        leading.extend(set.leading_containers);
        trailing.extend(set.trailing_containers);
        volumes.extend(set.volumes);
        secrets.extend(set.pull_secrets);
        annotations.extend(set.annotations);
        status.sets.push(set.record);
    }
    // Everything the status now records (current sets and the new ones)
    // counts as injected for placement.
    let injected: HashSet<&str> = status
        .sets
        .iter()
        .flat_map(InjectedSet::container_names)
        .collect();

    if !init.is_empty() {
        insert_before_own(array_mut(spec, "initContainers")?, init, &injected);
    }
    let containers = array_mut(spec, "containers")?;
    insert_before_own(containers, leading, &injected);
    containers.extend(trailing);
    if !volumes.is_empty() {
        array_mut(spec, "volumes")?.extend(volumes);
    }
    if !secrets.is_empty() {
        array_mut(spec, "imagePullSecrets")?.extend(secrets);
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
    use serde_json::json;

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
        assert_eq!(
            names(&pod, "initContainers"),
            [
                "envoy",
                "log-init",
                "fluent-bit",
                "cloud-sql-proxy",
                "db-migrate"
            ]
        );
        assert_eq!(
            pod["spec"]["initContainers"][2]["image"],
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
            ["envoy", "log-init", "fluent-bit"]
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
        assert_eq!(
            names(&pod, "initContainers"),
            ["log-init", "fluent-bit", "envoy", "x"]
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
}
