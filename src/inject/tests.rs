//! Tests of `inject`: compiled only in tests, by `#[cfg(test)] mod tests;` in `mod.rs`.

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
    let path = format!("{}/test_data/requests/{name}", env!("CARGO_MANIFEST_DIR"));
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
    newer_log_shipper["volumes"] = json!([{"name": "varlog", "emptyDir": {"medium": "Memory"}}]);
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

fn with_status(mut pod: Value, status: Value) -> Value {
    pod["metadata"]["annotations"][STATUS] = json!(status.to_string());
    pod
}

#[test]
fn a_forged_record_of_the_current_hash_does_not_skip_a_mandatory_set() {
    let mut mandatory = mesh();
    mandatory["mandatory"] = json!(true);
    let s = settings(json!({"sidecarSets": [mandatory]}));
    let hash = s.sidecar_sets[0].definition_hash(true);
    let pod = with_status(
        fixture("pod-replicaset-create.json"),
        json!({"sets": [{"name": "mesh", "hash": hash}]}),
    );
    let pod = mutated(inject(pod, &s, "shop"));
    assert_eq!(names(&pod, "initContainers"), ["envoy"]);
    let status = Status::read(pod["metadata"]["annotations"][STATUS].as_str()).unwrap();
    assert_eq!(status.sets[0].init_containers, ["envoy"]);
    assert_eq!(inject(pod, &s, "shop"), Outcome::Unchanged);
}

#[test]
fn a_record_is_current_only_where_the_pod_holds_the_sets_image_and_placement() {
    let s = settings(json!({"sidecarSets": [mesh()]}));
    let injected = mutated(inject(fixture("pod-replicaset-create.json"), &s, "shop"));
    // The sidecar moved into spec.containers: not where the set puts it.
    let mut moved = injected.clone();
    let envoy = moved["spec"]["initContainers"][0].take();
    moved["spec"]["initContainers"] = json!([]);
    moved["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .push(envoy);
    assert!(
        matches!(inject(moved, &s, "shop"), Outcome::Rejected(m) if m.contains("spec.containers[1] (the Pod's sidecarset.kubewarden.io/status annotation records it as injected by set \"mesh\", but the Pod does not hold it as recorded, so it stays the Pod's own)"))
    );
    // The API server's defaults on the injected entry change nothing.
    let mut defaulted = injected;
    defaulted["spec"]["initContainers"][0]["imagePullPolicy"] = json!("IfNotPresent");
    defaulted["spec"]["initContainers"][0]["terminationMessagePath"] =
        json!("/dev/termination-log");
    defaulted["spec"]["initContainers"][0]["ports"][0]["protocol"] = json!("TCP");
    assert_eq!(inject(defaulted, &s, "shop"), Outcome::Unchanged);
}

#[test]
fn a_record_never_removes_what_the_pods_author_wrote() {
    let s = settings(json!({"sidecarSets": [mesh()]}));
    // Names the app container, with no image: not held as recorded.
    let forged = json!({"sets": [{"name": "mesh", "hash": "0", "containers": ["checkout"]}]});
    let pod = mutated(inject(
        with_status(fixture("pod-replicaset-create.json"), forged),
        &s,
        "shop",
    ));
    assert_eq!(names(&pod, "containers"), ["checkout"]);
    assert_eq!(names(&pod, "initContainers"), ["envoy"]);
    // A record with the image of the Pod's own container and the name of
    // a sidecar: the Pod's container stays, and the clash names the record.
    let mut pod = fixture("pod-replicaset-create.json");
    pod["spec"]["initContainers"] = json!([{"name": "envoy", "image": "my-envoy:1"}]);
    let forged = json!({"sets": [{"name": "mesh", "hash": "0", "initContainers": ["envoy"], "images": {"envoy": "envoy:v1.33.0"}}]});
    assert_eq!(
            inject(with_status(pod, forged), &s, "shop"),
            Outcome::Rejected("sidecar set \"mesh\": container \"envoy\" cannot be injected: spec.initContainers[0] (the Pod's sidecarset.kubewarden.io/status annotation records it as injected by set \"mesh\", but the Pod does not hold it as recorded, so it stays the Pod's own) already has that name; rename the container in the Pod or in the set, or opt the Pod out with the annotation sidecarset.kubewarden.io/skip: mesh".into())
        );
}

#[test]
fn a_stale_record_removes_volumes_only_as_recorded() {
    let s = settings(json!({"sidecarSets": [log_shipper()]}));
    let pod = mutated(inject(fixture("pod-replicaset-create.json"), &s, "shop"));
    let status = Status::read(pod["metadata"]["annotations"][STATUS].as_str()).unwrap();
    assert_eq!(status.sets[0].images["fluent-bit"], "fluent-bit:3.2.4");
    assert_eq!(
        status.sets[0].volume_digests.keys().collect::<Vec<_>>(),
        ["varlog"]
    );
    let mut newer = log_shipper();
    newer["containers"][0]["image"] = json!("fluent-bit:3.3.0");
    let new = settings(json!({"sidecarSets": [newer]}));
    // The copy's varlog was edited: it stays, and clashes with the set's.
    let mut edited = pod.clone();
    edited["spec"]["volumes"][2] =
        json!({"name": "varlog", "hostPath": {"path": "/var/log", "type": ""}});
    assert!(
        matches!(inject(edited, &new, "shop"), Outcome::Rejected(m) if m.starts_with("sidecar set \"log-shipper\": volume \"varlog\" cannot be injected: spec.volumes[2] has the same name"))
    );
    // Held as recorded: removed and injected again.
    let pod = mutated(inject(pod, &new, "shop"));
    assert_eq!(
        names(&pod, "volumes"),
        ["config", "kube-api-access-7x2qz", "varlog"]
    );
    assert_eq!(
        pod["spec"]["initContainers"][1]["image"],
        "fluent-bit:3.3.0"
    );
}

#[test]
fn reinjection_replaces_the_annotations_the_old_definition_wrote() {
    let s = settings(json!({"sidecarSets": [log_shipper()]}));
    let pod = mutated(inject(fixture("pod-replicaset-create.json"), &s, "shop"));
    assert_eq!(
        pod["metadata"]["annotations"]["fluentbit.io/parser"],
        "json"
    );
    let mut newer = log_shipper();
    newer["patchPodMetadata"] = json!([{"annotations": {"fluentbit.io/parser": "logfmt"}}]);
    let new = settings(json!({"sidecarSets": [newer]}));
    let mut edited = pod.clone();
    let pod = mutated(inject(pod, &new, "shop"));
    assert_eq!(
        pod["metadata"]["annotations"]["fluentbit.io/parser"],
        "logfmt"
    );
    // A value the Pod's author changed is theirs: Retain keeps it.
    edited["metadata"]["annotations"]["fluentbit.io/parser"] = json!("regex");
    let edited = mutated(inject(edited, &new, "shop"));
    assert_eq!(
        edited["metadata"]["annotations"]["fluentbit.io/parser"],
        "regex"
    );
}

#[test]
fn a_record_of_a_newer_policy_version_is_read_and_written_as_this_one_writes_it() {
    let s = settings(json!({"sidecarSets": [mesh()]}));
    let pod = mutated(inject(fixture("pod-replicaset-create.json"), &s, "shop"));
    let ours = pod["metadata"]["annotations"][STATUS].clone();
    let mut status: Value = serde_json::from_str(ours.as_str().unwrap()).unwrap();
    status["revision"] = json!("v2");
    status["sets"][0]["revision"] = json!("current");
    let mut warnings = Vec::new();
    let Outcome::Mutated(again) = inject_request(
        with_status(pod.clone(), status),
        &s,
        &mut Namespace::new("shop"),
        "",
        &mut warnings,
    ) else {
        panic!("not rewritten")
    };
    assert_eq!(again["metadata"]["annotations"][STATUS], ours);
    assert_eq!(again["spec"], pod["spec"]);
    assert_eq!(
        warnings,
        [
            "metadata.annotations[\"sidecarset.kubewarden.io/status\"]: the record the Pod brought is replaced by what the policy verified the Pod holds (replaced: mesh.revision); the record is the policy's own output"
        ]
    );
}

#[test]
fn an_unreadable_record_is_not_read_out_of_scope() {
    let s = settings(
        json!({"sidecarSets": [{"name": "mesh", "selector": {"matchLabels": {"mesh": "on"}}, "containers": [{"name": "envoy", "image": "e"}]}]}),
    );
    let mut pod = fixture("pod-replicaset-create.json");
    pod["metadata"]["annotations"][STATUS] = json!("{nope");
    // No set selects the Pod: what it brought goes, unread, not refused.
    let Outcome::Mutated(cleared) = inject(pod.clone(), &s, "shop") else {
        panic!("the record the Pod brought is kept")
    };
    assert!(cleared["metadata"]["annotations"].get(STATUS).is_none());
    assert_eq!(
        inject(
            pod.clone(),
            &settings(json!({"sidecarSets": [mesh()]})),
            "kube-system"
        ),
        Outcome::Unchanged
    );
    assert!(matches!(
        inject(pod, &settings(json!({"sidecarSets": [mesh()]})), "shop"),
        Outcome::Rejected(_)
    ));
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
fn a_set_that_no_longer_applies_leaves_its_containers_as_the_pods_own() {
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
    assert_eq!(recorded, ["mesh", "other"]);
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
            "start order: log-init → fluent-bit (sidecar) → envoy (sidecar) → cloud-sql-proxy (sidecar) → db-migrate → [orders, log-flusher]; fluent-bit after log-init has completed",
            "effective requests (what the scheduler reserves) before → after injection: cpu 300m → 300m, memory 320Mi → 320Mi",
            "stop order: [orders, log-flusher] get SIGTERM together, then the native sidecars in reverse start order: cloud-sql-proxy → envoy → fluent-bit; terminationGracePeriodSeconds 30"
        ]
    );
}

#[test]
fn a_sets_init_containers_run_before_its_own_sidecars() {
    let s = settings(
        json!({"explain": true, "sidecarSets": [{"name": "mesh", "selector": {},
            "initContainers": [{"name": "mesh-init", "image": "i", "dependsOn": ["db-migrate"]}],
            "containers": [{"name": "envoy", "image": "e"}]}]}),
    );
    let (outcome, warnings) =
        with_warnings(fixture("pod-own-init-and-native-sidecar-create.json"), &s);
    let pod = mutated(outcome);
    assert_eq!(
        names(&pod, "initContainers"),
        ["cloud-sql-proxy", "db-migrate", "mesh-init", "envoy"]
    );
    assert_eq!(
        warnings,
        [
            "start order: cloud-sql-proxy (sidecar) → db-migrate → mesh-init → envoy (sidecar) → [orders]; mesh-init after db-migrate has completed; envoy after mesh-init has completed",
            "effective requests (what the scheduler reserves) before → after injection: cpu 300m → 300m, memory 320Mi → 320Mi",
            "stop order: [orders] get SIGTERM together, then the native sidecars in reverse start order: envoy → cloud-sql-proxy; terminationGracePeriodSeconds 30"
        ]
    );
    // An init container that waits for the set's sidecar comes after it.
    let s = settings(json!({"sidecarSets": [{"name": "mesh", "selector": {},
            "initContainers": [{"name": "mesh-check", "image": "i", "dependsOn": ["envoy"]}],
            "containers": [{"name": "envoy", "image": "e"}]}]}));
    let pod = mutated(inject(fixture("pod-replicaset-create.json"), &s, "shop"));
    assert_eq!(names(&pod, "initContainers"), ["envoy", "mesh-check"]);
}

#[test]
fn dependencies_wait_for_started_or_ready() {
    let s = settings(json!({"explain": true, "sidecarSets": [
            {"name": "agents", "selector": {}, "containers": [{"name": "a-agent", "image": "a"}, {"name": "b-agent", "image": "b", "dependsOn": ["a-agent", "envoy"]}]},
            proxy_set()]}));
    let (outcome, warnings) = with_warnings(fixture("pod-replicaset-create.json"), &s);
    assert_eq!(
        names(&mutated(outcome), "initContainers"),
        ["a-agent", "envoy", "b-agent"]
    );
    assert_eq!(
        warnings,
        [
            "start order: a-agent (sidecar) → envoy (sidecar) → b-agent (sidecar) → [checkout]; b-agent after a-agent has started; b-agent after envoy is ready",
            "effective requests (what the scheduler reserves) before → after injection: cpu 250m → 250m, memory 256Mi → 256Mi",
            "stop order: [checkout] get SIGTERM together, then the native sidecars in reverse start order: b-agent → envoy → a-agent; terminationGracePeriodSeconds 30"
        ]
    );
}

fn with_db_migrate_port(port: Value) -> Value {
    let mut pod = fixture("pod-own-init-and-native-sidecar-create.json");
    pod["spec"]["initContainers"][1]["ports"] = json!([port]);
    pod
}

#[test]
fn ports_of_init_containers_clash_with_the_native_sidecars_running_before_them() {
    let envoy = |depends_on: Value| {
        settings(
            json!({"sidecarSets": [{"name": "mesh", "selector": {}, "containers": [
                {"name": "envoy", "image": "e", "ports": [{"containerPort": 9901}], "dependsOn": depends_on}]}]}),
        )
    };
    let pod = with_db_migrate_port(json!({"containerPort": 9901, "protocol": "TCP"}));
    assert_eq!(
            inject(pod.clone(), &envoy(json!([])), "shop"),
            Outcome::Rejected("sidecar set \"mesh\": container \"envoy\" cannot be injected: port 9901/TCP is also used by the init container spec.initContainers[1] (\"db-migrate\"), which runs while envoy (a native sidecar started before it) is running; change the port in the set or in the Pod, or make envoy start after it (dependsOn: [db-migrate])".into())
        );
    // After db-migrate, envoy no longer runs alongside it.
    let pod = mutated(inject(pod, &envoy(json!(["db-migrate"])), "shop"));
    assert_eq!(
        names(&pod, "initContainers"),
        ["cloud-sql-proxy", "db-migrate", "envoy"]
    );
    // An injected init container after the Pod's own native sidecar.
    let s = settings(
        json!({"sidecarSets": [{"name": "db", "selector": {}, "initContainers": [
            {"name": "schema-check", "image": "s", "ports": [{"containerPort": 5432}], "dependsOn": ["cloud-sql-proxy"]}]}]}),
    );
    let mut pod = fixture("pod-own-init-and-native-sidecar-create.json");
    pod["spec"]["initContainers"][0]["ports"] = json!([{"containerPort": 5432, "protocol": "TCP"}]);
    assert_eq!(
            inject(pod, &s, "shop"),
            Outcome::Rejected("sidecar set \"db\": init container \"schema-check\" cannot be injected: port 5432/TCP is already used by the native sidecar spec.initContainers[0] (\"cloud-sql-proxy\"), which runs while it does; change the port in the set or in the Pod".into())
        );
}

#[test]
fn host_ports_are_unique_per_pod_whatever_the_container_port() {
    let s = settings(
        json!({"sidecarSets": [{"name": "metrics", "selector": {}, "containers": [
            {"name": "exporter", "image": "e", "ports": [{"containerPort": 9100, "hostPort": 9400}]}]}]}),
    );
    let mut pod = fixture("pod-replicaset-create.json");
    pod["spec"]["containers"][0]["ports"] =
        json!([{"containerPort": 8080, "hostPort": 9400, "protocol": "TCP"}]);
    assert_eq!(
            inject(pod.clone(), &s, "shop"),
            Outcome::Rejected("sidecar set \"metrics\": container \"exporter\" cannot be injected: hostPort 9400/TCP is already used by spec.containers[0] (\"checkout\"), and a host port is unique per Pod; change the hostPort in the set or in the Pod".into())
        );
    // Another address of the node, or another protocol, is free.
    pod["spec"]["containers"][0]["ports"][0]["hostIP"] = json!("10.0.0.1");
    let s2 = settings(
        json!({"sidecarSets": [{"name": "metrics", "selector": {}, "containers": [
            {"name": "exporter", "image": "e", "ports": [{"containerPort": 9100, "hostPort": 9400, "hostIP": "10.0.0.2"}]}]}]}),
    );
    assert!(matches!(
        inject(pod.clone(), &s2, "shop"),
        Outcome::Mutated(_)
    ));
    assert!(
        matches!(inject(pod, &s, "shop"), Outcome::Rejected(_)),
        "0.0.0.0 takes every address"
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
