//! The built module, through host/, on what a set gives the app containers
//! (appContainers), kubectl's default container, and a clean shutdown
//! (drainSeconds, shutdown.extendGracePeriod): test_data/settings-app-shutdown.yaml.

mod common;

use common::{entry, kubernetes_validate, patched, policy, request, status_of};
use host::{AdmissionResponse, read_settings};
use serde_json::{Value, json};

const REPLICASET: &str = "test_data/requests/pod-replicaset-create.json";

fn settings() -> Value {
    read_settings(&common::repo().join("test_data/settings-app-shutdown.yaml")).unwrap()
}

fn evaluate(request: &Value, settings: &Value) -> AdmissionResponse {
    policy().evaluate(request, settings).unwrap()
}

fn injected() -> (Value, Value, Vec<String>) {
    let request = request(REPLICASET);
    let response = evaluate(&request, &settings());
    assert!(response.allowed, "{:?}", response.message());
    let pod = patched(&request, &response);
    (request, pod, response.warnings.unwrap_or_default())
}

#[test]
fn the_app_finds_its_collector_and_the_mesh_outlives_the_app() {
    let (_, pod, warnings) = injected();
    let app = entry(&pod, "containers", "checkout");
    let names: Vec<&str> = app["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    // The author's variables first, untouched; then the set's.
    assert_eq!(
        names,
        [
            "DB_HOST",
            "POD_NAME",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_RESOURCE_ATTRIBUTES_POD_NAME"
        ]
    );
    assert_eq!(
        app["envFrom"],
        json!([{"configMapRef": {"name": "otel-app"}}])
    );
    assert_eq!(
        app["volumeMounts"].as_array().unwrap().last().unwrap(),
        &json!({"name": "otel-socket", "mountPath": "/var/run/otel"})
    );
    // envoy outlives the agent that depends on it: 20 s + the agent's 15.
    for (name, seconds) in [("envoy", 35), ("mesh-agent", 15)] {
        assert_eq!(
            entry(&pod, "containers", name)["lifecycle"]["preStop"],
            json!({"sleep": {"seconds": seconds}}),
            "{name}"
        );
    }
    assert_eq!(pod["spec"]["terminationGracePeriodSeconds"], 35);
    // The regular sidecars go first among the containers: kubectl lands in
    // the app.
    assert_eq!(pod["spec"]["containers"][0]["name"], "envoy");
    assert_eq!(
        pod["metadata"]["annotations"]["kubectl.kubernetes.io/default-container"],
        "checkout"
    );
    let record = status_of(&pod);
    assert!(record["sets"][0]["app"]["checkout/env/OTEL_EXPORTER_OTLP_ENDPOINT"].is_string());
    assert!(warnings.iter().any(|w| w == "sidecar set mesh: terminationGracePeriodSeconds raised from 30 to 35 (shutdown.extendGracePeriod): the app's own stop (0 s, the longest preStop sleep of its containers) plus the longest drain (envoy: 35 s) needs 35 s"), "{warnings:?}");
    assert_eq!(
        warnings.last().unwrap(),
        "stop order: [envoy (preStop sleep 35 s), mesh-agent (preStop sleep 15 s), checkout] get SIGTERM together, then the native sidecars in reverse start order: otel-collector; terminationGracePeriodSeconds 35 (the drains need 35)"
    );
    // As the API server validates it (a preStop sleep within the grace
    // period), for the oldest and the newest release the tests cover.
    for version in ["1.33.0", "1.36.0"] {
        kubernetes_validate(&[("app-shutdown".into(), pod.clone())], version)
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn a_second_evaluation_changes_nothing() {
    let (mut request, pod, _) = injected();
    request["object"] = pod;
    let response = evaluate(&request, &settings());
    assert!(response.allowed);
    assert_eq!(response.patch, None);
}

#[test]
fn verify_mode_checks_what_the_app_containers_get() {
    let (mut request, pod, _) = injected();
    let mut verify = settings();
    verify["mode"] = json!("verify");
    request["object"] = pod.clone();
    assert!(evaluate(&request, &verify).allowed);
    let mut lacking = pod;
    let app = lacking["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["name"] == "checkout")
        .unwrap();
    app.as_object_mut().unwrap().remove("envFrom");
    request["object"] = lacking;
    let response = evaluate(&request, &verify);
    assert!(!response.allowed);
    assert_eq!(
        response.message(),
        Some(
            "the Pod does not hold what its sidecar sets inject: container checkout lacks the envFrom source {\"configMapRef\":{\"name\":\"otel-app\"}}, which sidecar set otel gives its app containers; recreate the Pod so that the injecting policy adds the sidecars, or fix its manifest"
        )
    );
}

#[test]
fn a_job_pod_gets_no_drain_and_keeps_its_grace_period() {
    let mut request = request(REPLICASET);
    request["object"]["spec"]["restartPolicy"] = json!("Never");
    let mut settings = settings();
    settings["jobPods"] = json!("asConfigured");
    let response = evaluate(&request, &settings);
    let pod = patched(&request, &response);
    assert_eq!(entry(&pod, "containers", "envoy").get("lifecycle"), None);
    assert_eq!(pod["spec"]["terminationGracePeriodSeconds"], 30);
}

#[test]
fn a_template_whose_pods_would_clash_is_rejected_never_mutated() {
    let mut request = request("test_data/requests/deployment-create.json");
    let template = &mut request["object"]["spec"]["template"];
    template["metadata"]["labels"]["tier"] = json!("web");
    template["spec"]["containers"][0]["name"] = json!("app");
    template["spec"]["containers"][0]["volumeMounts"] =
        json!([{"name": "data", "mountPath": "/var/run/otel"}]);
    template["spec"]["volumes"] = json!([{"name": "data", "emptyDir": {}}]);
    let response = evaluate(&request, &settings());
    assert!(!response.allowed);
    assert_eq!(response.patch, None);
    assert_eq!(
        response.message(),
        Some(
            "spec.template: the Pods of this Deployment would be rejected: sidecar set \"otel\": appContainers.volumeMounts cannot mount volume \"otel-socket\" at \"/var/run/otel\" in container \"app\": spec.template.spec.containers[0].volumeMounts already mounts volume \"data\" there; change the mountPath in the set or in the Pod"
        )
    );
}
