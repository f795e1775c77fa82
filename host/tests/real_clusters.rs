//! The built module, through host/ as policy-server runs it, on what a real
//! cluster and a hostile Pod author send: a status annotation that is a
//! claim, objects as the API server defaults them, start order and ports of
//! containers that run together, scope before anything, typos in settings.

mod common;

use common::{entry_names, kubernetes_validate, patched, policy, request, status_of};
use host::{AdmissionResponse, read_policy_resources, read_settings};
use serde_json::{Value, json};

const REPLICASET: &str = "test_data/requests/pod-replicaset-create.json";
const OWN_INIT: &str = "test_data/requests/pod-own-init-and-native-sidecar-create.json";
const STATUS: &str = "sidecarset.kubewarden.io/status";

fn settings() -> Value {
    read_settings(&common::repo().join("test_data/settings.yaml")).unwrap()
}

fn evaluate(request: &Value, settings: &Value) -> AdmissionResponse {
    policy().evaluate(request, settings).unwrap()
}

fn with_status(mut request: Value, status: Value) -> Value {
    request["object"]["metadata"]["annotations"][STATUS] = json!(status.to_string());
    request
}

#[test]
fn a_forged_record_neither_skips_a_set_nor_removes_the_pods_container() {
    let settings = settings();
    let clean = request(REPLICASET);
    let injected = patched(&clean, &evaluate(&clean, &settings));
    let hash = status_of(&injected)["sets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "mesh")
        .unwrap()["hash"]
        .clone();
    let forged = with_status(
        clean,
        json!({"sets": [{"name": "mesh", "hash": hash}, {"name": "log-shipper", "hash": "0", "containers": ["checkout"]}]}),
    );
    let response = evaluate(&forged, &settings);
    assert!(response.allowed);
    let pod = patched(&forged, &response);
    assert_eq!(
        entry_names(&pod, "initContainers"),
        ["fluent-bit", "mesh-init", "envoy"]
    );
    assert_eq!(entry_names(&pod, "containers"), ["checkout"]);
    // The rewritten record describes what the Pod now holds.
    let status = status_of(&pod);
    let mesh = status["sets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "mesh")
        .unwrap();
    assert_eq!(mesh["images"]["envoy"], "envoyproxy/envoy:v1.33.0");
    kubernetes_validate(&[("forged".into(), pod)], "1.36.0").unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_volume_as_the_api_server_stores_it_is_the_sets_volume() {
    let example =
        read_policy_resources(&common::repo().join("examples/cluster-admission-policy.yaml"))
            .unwrap()
            .remove(0)
            .settings;
    let mut declared = request("examples/requests/pod-checkout-create.json");
    declared["object"]["spec"]["volumes"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "envoy-config", "configMap": {"name": "envoy-sidecar", "defaultMode": 420}}));
    let response = evaluate(&declared, &example);
    assert!(response.allowed, "{:?}", response.message());
    let pod = patched(&declared, &response);
    let envoy_configs = pod["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["name"] == "envoy-config")
        .count();
    assert_eq!(envoy_configs, 1);
    // Another mode is another definition.
    let last = declared["object"]["spec"]["volumes"]
        .as_array()
        .unwrap()
        .len()
        - 1;
    declared["object"]["spec"]["volumes"][last]["configMap"]["defaultMode"] = json!(256);
    let response = evaluate(&declared, &example);
    assert!(!response.allowed);
    assert!(
        response
            .message()
            .unwrap()
            .contains("volume \"envoy-config\" cannot be injected")
    );
}

#[test]
fn a_sets_init_container_and_a_started_edge() {
    let settings = json!({"explain": true, "sidecarSets": [
        {"name": "mesh", "selector": {}, "initContainers": [{"name": "mesh-init", "image": "i", "dependsOn": ["db-migrate"]}],
         "containers": [{"name": "envoy", "image": "e"}, {"name": "agent", "image": "a", "dependsOn": ["envoy"]}]}]});
    let answer = policy().validate_settings(&settings).unwrap();
    assert!(answer.valid, "{:?}", answer.message);
    let request = request(OWN_INIT);
    let response = evaluate(&request, &settings);
    let pod = patched(&request, &response);
    assert_eq!(
        entry_names(&pod, "initContainers"),
        [
            "cloud-sql-proxy",
            "db-migrate",
            "mesh-init",
            "envoy",
            "agent"
        ]
    );
    assert_eq!(
        response.warnings.unwrap(),
        [
            "sidecar set mesh meets Pod Security baseline on its own (not restricted: allowPrivilegeEscalation != false, runAsNonRoot != true, seccompProfile, unrestricted capabilities)",
            "start order: cloud-sql-proxy (sidecar) → db-migrate → mesh-init → envoy (sidecar) → agent (sidecar) → [orders]; mesh-init after db-migrate has completed; envoy after mesh-init has completed; agent after envoy has started; agent after mesh-init has completed",
            "effective requests (what the scheduler reserves) before → after injection: cpu 300m → 300m, memory 320Mi → 320Mi",
            "stop order: [orders] get SIGTERM together, then the native sidecars in reverse start order: agent → envoy → cloud-sql-proxy; terminationGracePeriodSeconds 30"
        ]
    );
}

#[test]
fn ports_of_containers_that_run_together() {
    let mut request = request(OWN_INIT);
    request["object"]["spec"]["initContainers"][1]["ports"] =
        json!([{"containerPort": 9901, "protocol": "TCP"}]);
    let settings = json!({"sidecarSets": [{"name": "mesh", "selector": {}, "containers": [
        {"name": "envoy", "image": "e", "ports": [{"containerPort": 9901}]}]}]});
    let response = evaluate(&request, &settings);
    assert!(!response.allowed);
    assert!(
        response.message().unwrap().starts_with(
            "sidecar set \"mesh\": container \"envoy\" cannot be injected: port 9901/TCP is also used by the init container spec.initContainers[1] (\"db-migrate\")"
        ),
        "{:?}",
        response.message()
    );
    let hosts = json!({"sidecarSets": [
        {"name": "a", "selector": {}, "containers": [{"name": "a", "image": "a", "ports": [{"containerPort": 1, "hostPort": 9400}]}]},
        {"name": "b", "selector": {}, "containers": [{"name": "b", "image": "b", "ports": [{"containerPort": 2, "hostPort": 9400}]}]}]});
    let answer = policy().validate_settings(&hosts).unwrap();
    assert_eq!(
        answer.message.as_deref(),
        Some(
            "sidecarSets[1].containers[0].ports[0].hostPort: hostPort 9400/TCP is already used by sidecarSets[0].containers[0].ports[0]; a host port is unique per Pod (and node), so give each sidecar its own hostPort"
        )
    );
}

#[test]
fn scope_comes_before_the_status_record() {
    let mut unreadable = request(REPLICASET);
    unreadable["object"]["metadata"]["annotations"][STATUS] = json!("{nope");
    unreadable["object"]["metadata"]["labels"] = json!({"app": "other"});
    // Accepted, the annotation not read: it does not survive CREATE
    // (issue 30), but it is not a reason to refuse the Pod.
    let response = evaluate(&unreadable, &settings());
    assert!(response.allowed);
    assert_eq!(
        common::op_paths(&response),
        ["remove /metadata/annotations/sidecarset.kubewarden.io~1status"]
    );
    unreadable["namespace"] = json!("kube-system");
    unreadable["object"]["metadata"]["labels"] = json!({"tier": "web"});
    let response = evaluate(&unreadable, &settings());
    assert!(response.allowed && response.patch.is_none());
}

#[test]
fn a_near_miss_of_a_known_field_is_a_settings_error() {
    let settings = json!({"sidecarSets": [{"name": "logs", "selector": {}, "containers": [
        {"name": "fluent-bit", "image": "f", "dependson": ["x"], "readinessProbe": {"httpget": {"port": 1}}}]}]});
    let answer = policy().validate_settings(&settings).unwrap();
    assert_eq!(
        answer.message.as_deref(),
        Some(
            "sidecarSets[0].containers[0].readinessProbe.httpget: fluent-bit: unknown field; did you mean `httpGet`? (an unknown field would pass into the Pod unread); \
             sidecarSets[0].containers[0].dependson: fluent-bit: unknown field; did you mean `dependsOn`? (an unknown field would pass into the Pod unread)"
        )
    );
}
