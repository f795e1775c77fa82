//! The built module, through host/, on sidecar resources: a resourcesPolicy,
//! bounded per-Pod overrides, Pod-level resources, the effective request
//! and maxAddedRequests, and non-critical sidecars
//! (test_data/settings-resources.yaml).

mod common;

use common::{entry, kubernetes_validate, patched, policy, request, status_of};
use host::{AdmissionResponse, read_settings};
use serde_json::{Value, json};

const REPLICASET: &str = "test_data/requests/pod-replicaset-create.json";
const OVERRIDE: &str = "test_data/requests/pod-resources-override.json";
const POD_LEVEL: &str = "test_data/requests/pod-level-resources-create.json";

fn settings() -> Value {
    read_settings(&common::repo().join("test_data/settings-resources.yaml")).unwrap()
}

fn evaluate(request: &Value, settings: &Value) -> AdmissionResponse {
    policy().evaluate(request, settings).unwrap()
}

fn warnings(response: &AdmissionResponse) -> Vec<String> {
    response.warnings.clone().unwrap_or_default()
}

fn injected(request: &Value, settings: &Value) -> (Value, Vec<String>) {
    let response = evaluate(request, settings);
    assert!(response.allowed, "{:?}", response.message());
    (patched(request, &response), warnings(&response))
}

fn rejected(request: &Value, settings: &Value) -> String {
    let response = evaluate(request, settings);
    assert!(!response.allowed, "accepted: {response:?}");
    response.message().unwrap_or_default().to_string()
}

#[test]
fn sidecars_get_their_resources_and_the_record_the_effective_request() {
    let request = request(REPLICASET);
    let (pod, warnings) = injected(&request, &settings());
    assert!(warnings.is_empty(), "{warnings:?}");
    // checkout requests 250m and 256Mi, and has a 512Mi memory limit only.
    assert_eq!(
        entry(&pod, "initContainers", "fluent-bit")["resources"],
        json!({"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "192Mi"}})
    );
    assert_eq!(
        entry(&pod, "initContainers", "envoy")["resources"],
        json!({"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}})
    );
    assert_eq!(
        status_of(&pod)["effectiveRequests"],
        json!({"cpu": "400m", "memory": "448Mi"})
    );
    // critical: false: no readinessProbe; the livenessProbe stays.
    let fluent_bit = entry(&pod, "initContainers", "fluent-bit");
    assert!(fluent_bit.get("readinessProbe").is_none());
    assert_eq!(fluent_bit["livenessProbe"]["httpGet"]["port"], 2020);
    // The app container is untouched.
    assert_eq!(
        entry(&pod, "containers", "checkout"),
        &request["object"]["spec"]["containers"][0]
    );
    kubernetes_validate(&[("resources".into(), pod.clone())], "1.36.0")
        .unwrap_or_else(|e| panic!("{e}"));
    // A second evaluation changes nothing.
    let mut again = request.clone();
    again["object"] = pod;
    let response = evaluate(&again, &settings());
    assert!(response.allowed && response.patch.is_none(), "{response:?}");
}

#[test]
fn an_override_replaces_only_what_it_names_within_the_bounds() {
    let (pod, _) = injected(&request(OVERRIDE), &settings());
    assert_eq!(
        entry(&pod, "initContainers", "envoy")["resources"],
        json!({"requests": {"cpu": "200m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}})
    );
    assert_eq!(
        status_of(&pod)["effectiveRequests"],
        json!({"cpu": "500m", "memory": "448Mi"})
    );
    kubernetes_validate(&[("override".into(), pod)], "1.36.0").unwrap_or_else(|e| panic!("{e}"));

    let mut above = request(OVERRIDE);
    above["object"]["metadata"]["annotations"]["sidecarset.kubewarden.io/resources.envoy"] =
        json!(r#"{"limits": {"memory": "2Gi"}}"#);
    assert_eq!(
        rejected(&above, &settings()),
        "annotation sidecarset.kubewarden.io/resources.envoy: limits.memory \"2Gi\" is above resourceBounds.max.memory 512Mi of sidecar set mesh; choose a value from 0 to 512Mi"
    );
    let mut unknown = request(OVERRIDE);
    unknown["object"]["metadata"]["annotations"]["sidecarset.kubewarden.io/resources.istio-proxy"] =
        json!("{}");
    let (_, warnings) = injected(&unknown, &settings());
    assert_eq!(
        warnings,
        [
            "annotation sidecarset.kubewarden.io/resources.istio-proxy ignored: no sidecar set injects a container \"istio-proxy\" into this Pod now"
        ]
    );
}

#[test]
fn pod_level_resources_are_raised_or_the_pod_rejected() {
    let (pod, warnings) = injected(&request(POD_LEVEL), &settings());
    assert_eq!(
        pod["spec"]["resources"],
        json!({"requests": {"cpu": "450m", "memory": "492Mi"}, "limits": {"cpu": "2", "memory": "1472Mi"}})
    );
    assert_eq!(
        warnings,
        [
            "spec.resources.limits.cpu 2 left as it is: an injected sidecar has no cpu limit and shares the Pod's",
            "spec.resources (Pod-level) raised for the injected sidecars: requests.cpu 300m → 450m (+150m), requests.memory 300Mi → 492Mi (+192Mi), limits.memory 1Gi → 1472Mi (+448Mi)"
        ]
    );
    kubernetes_validate(&[("pod-level".into(), pod)], "1.36.0").unwrap_or_else(|e| panic!("{e}"));

    let mut reject = settings();
    reject["podLevelResources"] = json!("reject");
    assert_eq!(
        rejected(&request(POD_LEVEL), &reject),
        "spec.resources.requests.cpu: 300m is less than the containers' effective request after injection, 400m (the sidecars add 150m); raise spec.resources.requests.cpu to at least 400m, or set podLevelResources: add; spec.resources.requests.memory: 300Mi is less than the containers' effective request after injection, 448Mi (the sidecars add 192Mi); raise spec.resources.requests.memory to at least 448Mi, or set podLevelResources: add"
    );
    // Room enough: accepted, and spec.resources left as it is.
    let mut roomy = request(POD_LEVEL);
    roomy["object"]["spec"]["resources"]["requests"] = json!({"cpu": "1", "memory": "1Gi"});
    let (pod, _) = injected(&roomy, &reject);
    assert_eq!(
        pod["spec"]["resources"],
        roomy["object"]["spec"]["resources"]
    );
}

#[test]
fn max_added_requests_bounds_what_injection_adds() {
    let mut tight = settings();
    tight["maxAddedRequests"] = json!({"cpu": "100m"});
    assert_eq!(
        rejected(&request(REPLICASET), &tight),
        "injecting sidecar sets log-shipper, mesh raises the Pod's effective cpu request by 150m (from 250m to 400m), more than maxAddedRequests.cpu 100m; lower the sidecars' cpu requests, or raise maxAddedRequests.cpu"
    );
}

#[test]
fn a_policy_without_a_target_rejects_the_pod() {
    let mut settings = settings();
    settings["sidecarSets"][0]["containers"][0]["resourcesPolicy"]["targetContainersNameRegex"] =
        json!("web-.*");
    assert_eq!(
        rejected(&request(REPLICASET), &settings),
        "sidecar set log-shipper: container fluent-bit: resourcesPolicy.targetContainersNameRegex \"web-.*\" matches none of the Pod's own containers and native sidecars (checkout); rename a container to match, or change the regex"
    );
}

#[test]
fn explain_prints_the_effective_request_before_and_after() {
    let mut settings = settings();
    settings["explain"] = json!(true);
    let (_, warnings) = injected(&request(REPLICASET), &settings);
    assert_eq!(
        warnings.iter().rev().nth(1).unwrap(),
        "effective requests (what the scheduler reserves) before → after injection: cpu 250m → 400m, memory 256Mi → 448Mi"
    );
}

#[test]
fn resource_settings_errors_name_the_field() {
    let mut settings = settings();
    settings["sidecarSets"][1]["containers"][0]["resourcesPolicy"] =
        json!({"targetContainersMode": "sum", "resourcesExpr": {"requests": {"cpu": "cpu*"}}});
    let answer = policy().validate_settings(&settings).unwrap();
    assert!(!answer.valid);
    assert_eq!(
        answer.message.unwrap(),
        "sidecarSets[1].containers[0].resourcesPolicy: envoy: the container also sets resources; use resources (fixed values) or resourcesPolicy (computed from the Pod), not both; sidecarSets[1].containers[0].resourcesPolicy.resourcesExpr.requests.cpu: envoy: \"cpu*\" at character 5: a number, a quantity, cpu, max( or min( expected, found the end"
    );
}
