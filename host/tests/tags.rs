//! The built module, through host/, on revision tags and namespace pins
//! (test_data/settings-tags.yaml): the Namespace "shop" follows a tag
//! (test_data/replay/namespace-shop-pinned-*.yml, answered as kwctl replays
//! them), a Pod's own pin wins, moving a tag moves the Pods that follow it on
//! their next in-place upgrade, and verify mode accepts a tag's revision.

mod common;

use common::{entry, in_namespace, kubernetes_validate, patched, repo, request, status_of};
use host::{AdmissionResponse, Policy, read_settings};
use serde_json::{Value, json};

const REPLICASET: &str = "test_data/requests/pod-replicaset-create.json";
const PIN: &str = "sidecarset.kubewarden.io/revision.log-shipper";
const LABEL: &str = "sidecarset.kubewarden.io/rev.log-shipper";
const TRIGGER: &str = "sidecarset.kubewarden.io/upgrade";

fn settings() -> Value {
    read_settings(&repo().join("test_data/settings-tags.yaml")).unwrap()
}

fn image(pod: &Value) -> &str {
    entry(pod, "initContainers", "fluent-bit")["image"]
        .as_str()
        .unwrap()
}

fn injected(policy: &Policy, request: &Value, settings: &Value) -> (Value, AdmissionResponse) {
    let response = policy.evaluate(request, settings).unwrap();
    assert!(response.allowed, "{:?}", response.message());
    (patched(request, &response), response)
}

#[test]
fn a_namespace_that_follows_a_tag_gives_its_pods_the_tags_revision() {
    let ns = in_namespace("namespace-shop-pinned-stable.yml");
    let (pod, response) = injected(&ns, &request(REPLICASET), &settings());
    assert_eq!(image(&pod), "cr.fluentbit.io/fluent/fluent-bit:3.3.0");
    // The label is the revision (kubectl get pods -L shows where the fleet
    // stands); the record says where it came from.
    assert_eq!(pod["metadata"]["labels"][LABEL], "v3-3");
    let record = &status_of(&pod)["sets"][0];
    assert_eq!(
        (&record["revision"], &record["from"], &record["tag"]),
        (&json!("v3-3"), &json!("namespace"), &json!("stable"))
    );
    assert_eq!(
        response.warnings.unwrap_or_default()[0],
        "sidecar set log-shipper: revision v3-3 (pinned by the Namespace's sidecarset.kubewarden.io/revision.log-shipper label, tag stable)"
    );
    kubernetes_validate(&[("tags".into(), pod)], "1.36.0").unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_pods_own_pin_wins_over_its_namespaces() {
    let ns = in_namespace("namespace-shop-pinned-stable.yml");
    let mut request = request(REPLICASET);
    request["object"]["metadata"]["annotations"][PIN] = json!("canary");
    let (pod, _) = injected(&ns, &request, &settings());
    assert_eq!(image(&pod), "cr.fluentbit.io/fluent/fluent-bit:3.4.0");
    let record = &status_of(&pod)["sets"][0];
    assert_eq!(
        (&record["from"], &record["tag"]),
        (&json!("pod"), &json!("canary"))
    );
}

#[test]
fn moving_a_tag_moves_the_pods_that_follow_it_on_their_next_upgrade() {
    let ns = in_namespace("namespace-shop-pinned-stable.yml");
    let create = request(REPLICASET);
    let (pod, _) = injected(&ns, &create, &settings());
    assert_eq!(image(&pod), "cr.fluentbit.io/fluent/fluent-bit:3.3.0");
    // The platform moves stable to v3-4; the Pod asks for an upgrade.
    let mut moved = settings();
    moved["sidecarSets"][0]["tags"]["stable"] = json!("v3-4");
    let mut asked = pod.clone();
    asked["metadata"]["annotations"][TRIGGER] = json!("log-shipper");
    let mut update = create.clone();
    update["operation"] = json!("UPDATE");
    update["oldObject"] = pod;
    update["object"] = asked;
    let response = ns.evaluate(&update, &moved).unwrap();
    assert!(response.allowed, "{:?}", response.message());
    let upgraded = patched(&update, &response);
    assert_eq!(image(&upgraded), "cr.fluentbit.io/fluent/fluent-bit:3.4.0");
    assert_eq!(upgraded["metadata"]["labels"][LABEL], "v3-4");
    assert_eq!(status_of(&upgraded)["sets"][0]["tag"], "stable");
    // A new Pod in the Namespace gets the moved tag's revision too.
    let (fresh, _) = injected(&ns, &create, &moved);
    assert_eq!(image(&fresh), "cr.fluentbit.io/fluent/fluent-bit:3.4.0");
}

#[test]
fn verify_mode_accepts_a_tags_revision() {
    let ns = in_namespace("namespace-shop-pinned-canary.yml");
    let create = request(REPLICASET);
    let (pod, _) = injected(&ns, &create, &settings());
    assert_eq!(image(&pod), "cr.fluentbit.io/fluent/fluent-bit:3.4.0");
    let mut verify = settings();
    verify["mode"] = json!("verify");
    let mut check = create.clone();
    check["object"] = pod;
    assert!(ns.evaluate(&check, &verify).unwrap().allowed);
}
