//! The built module, through host/, on rollout (test_data/settings-rollout.yaml):
//! the revision a new Pod gets, an in-place upgrade on a Pod UPDATE, tamper
//! protection, and every other Pod UPDATE accepted unchanged.

mod common;

use common::{entry, kubernetes_validate, patched, policy, request, status_of};
use host::{AdmissionResponse, read_settings};
use serde_json::{Value, json};

const REPLICASET: &str = "test_data/requests/pod-replicaset-create.json";
const TRIGGER: &str = "sidecarset.kubewarden.io/upgrade";
const PIN: &str = "sidecarset.kubewarden.io/revision.log-shipper";
const LABEL: &str = "sidecarset.kubewarden.io/rev.log-shipper";

fn settings() -> Value {
    read_settings(&common::repo().join("test_data/settings-rollout.yaml")).unwrap()
}

fn evaluate(request: &Value) -> AdmissionResponse {
    policy().evaluate(request, &settings()).unwrap()
}

/// The replica set's Pod, injected: its owner's bucket (25) is below the
/// canary's 30%, so it gets v3-3.
fn injected() -> (Value, Value) {
    let request = request(REPLICASET);
    let response = evaluate(&request);
    assert!(response.allowed, "{:?}", response.message());
    let pod = patched(&request, &response);
    (request, pod)
}

/// An UPDATE request of `pod` to `new`.
fn update(create: &Value, pod: &Value, new: Value) -> Value {
    let mut request = create.clone();
    request["operation"] = json!("UPDATE");
    request["oldObject"] = pod.clone();
    request["object"] = new;
    request
}

#[test]
fn a_new_pod_gets_the_canary_revision_its_label_and_record() {
    let (_, pod) = injected();
    assert_eq!(
        entry(&pod, "initContainers", "fluent-bit")["image"],
        "cr.fluentbit.io/fluent/fluent-bit:3.3.0"
    );
    assert_eq!(pod["metadata"]["labels"][LABEL], "v3-3");
    let record = &status_of(&pod)["sets"][0];
    assert_eq!(record["revision"], "v3-3");
    assert_eq!(
        record["images"]["fluent-bit"],
        "cr.fluentbit.io/fluent/fluent-bit:3.3.0"
    );
    // The mesh has no revisions: no label, no revision recorded.
    assert!(
        pod["metadata"]["labels"]
            .get("sidecarset.kubewarden.io/rev.mesh")
            .is_none()
    );
    kubernetes_validate(&[("rollout".into(), pod)], "1.36.0").unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_pod_update_upgrades_in_place_to_its_pinned_revision() {
    let (create, pod) = injected();
    let mut asked = pod.clone();
    asked["metadata"]["annotations"][PIN] = json!("current");
    asked["metadata"]["annotations"][TRIGGER] = json!("log-shipper");
    let request = update(&create, &pod, asked);
    let response = evaluate(&request);
    assert!(response.allowed, "{:?}", response.message());
    let upgraded = patched(&request, &response);
    assert_eq!(
        entry(&upgraded, "initContainers", "fluent-bit")["image"],
        "cr.fluentbit.io/fluent/fluent-bit:3.2.4"
    );
    assert_eq!(upgraded["metadata"]["labels"][LABEL], "current");
    assert!(upgraded["metadata"]["annotations"].get(TRIGGER).is_none());
    assert_eq!(
        response.warnings.unwrap_or_default(),
        [
            "sidecar set log-shipper: revision current (pinned by the Pod's sidecarset.kubewarden.io/revision.log-shipper annotation) upgraded in place: fluent-bit → cr.fluentbit.io/fluent/fluent-bit:3.2.4"
        ]
    );
    kubernetes_validate(&[("upgraded".into(), upgraded)], "1.36.0")
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn an_injected_image_is_protected_and_other_updates_pass() {
    let (create, pod) = injected();
    let mut swapped = pod.clone();
    swapped["spec"]["initContainers"][0]["image"] = json!("evil.example.com/fluent-bit:1");
    let response = evaluate(&update(&create, &pod, swapped));
    assert!(!response.allowed);
    assert_eq!(
        response.message().unwrap(),
        "spec.initContainers[0] (fluent-bit): image evil.example.com/fluent-bit:1 is not the image of revision v3-3 of sidecar set log-shipper that this Pod runs (cr.fluentbit.io/fluent/fluent-bit:3.3.0); set it back, or annotate the Pod with sidecarset.kubewarden.io/upgrade: log-shipper to move it to the revision it should run (protectInjected: true)"
    );
    let mut labelled = pod.clone();
    labelled["metadata"]["labels"]["team"] = json!("shop");
    let response = evaluate(&update(&create, &pod, labelled));
    assert!(response.allowed && response.patch.is_none(), "{response:?}");
}
