//! Pod Security admission judged before the API server, on policy.wasm
//! through the host as policy-server runs it: the Namespace's labels read
//! through `kubernetes/get_resource` (replayed as kwctl replays them), a
//! set that breaks the enforced level rejected or skipped, the warn level,
//! a Namespace that cannot be read, the check turned off; every mutated Pod
//! checked against Kubernetes' schemas.

mod common;

use common::{entry_names, in_namespace, kubernetes_validate, patched, policy, repo, request};
use host::{AdmissionResponse, ClusterContext, read_settings};
use serde_json::{Value, json};

fn settings() -> Value {
    read_settings(&repo().join("test_data/settings-pod-security.yaml")).unwrap()
}

/// The example ReplicaSet Pod in "shop", with `labels` added.
fn pod(labels: Value) -> Value {
    let mut request = request("test_data/requests/pod-replicaset-create.json");
    for (k, v) in labels.as_object().unwrap() {
        request["object"]["metadata"]["labels"][k] = v.clone();
    }
    request
}

fn warnings(response: &AdmissionResponse) -> Vec<String> {
    response.warnings.clone().unwrap_or_default()
}

const LOG_SHIPPER: &str = "sidecar set log-shipper meets Pod Security restricted on its own";

#[test]
fn a_set_that_fits_is_injected_in_a_restricted_namespace() {
    let request = pod(json!({}));
    let response = in_namespace("namespace-shop-restricted.yml")
        .evaluate(&request, &settings())
        .unwrap();
    assert!(response.allowed, "{response:?}");
    let pod = patched(&request, &response);
    assert_eq!(entry_names(&pod, "initContainers"), ["fluent-bit"]);
    // The restricted defaults filled what the set left unset; runAsUser is
    // the set's.
    assert_eq!(
        pod["spec"]["initContainers"][0]["securityContext"],
        json!({"runAsUser": 65534, "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}})
    );
    // The Pod's own container breaks restricted: the API server's to
    // report, never a rejection naming a set.
    assert_eq!(warnings(&response)[0], LOG_SHIPPER);
    kubernetes_validate(&[("pss-restricted-log-shipper".into(), pod)], "1.33").unwrap();
}

#[test]
fn a_set_that_breaks_the_enforced_level_rejects_the_pod() {
    let request = pod(json!({"mesh": "on"}));
    let response = in_namespace("namespace-shop-restricted.yml")
        .evaluate(&request, &settings())
        .unwrap();
    assert!(!response.allowed);
    assert_eq!(
        response.message(),
        Some(
            "sidecar set mesh would make the Pod violate PodSecurity \"restricted:latest\" of Namespace \"shop\": allowPrivilegeEscalation != false (container \"mesh-init\" must set securityContext.allowPrivilegeEscalation=false), runAsNonRoot != true (container \"mesh-init\" must not set securityContext.runAsNonRoot=false), runAsUser=0 (container \"mesh-init\" must not set runAsUser=0), seccompProfile (pod or container \"mesh-init\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"), unrestricted capabilities (container \"mesh-init\" must set securityContext.capabilities.drop=[\"ALL\"]; container \"mesh-init\" must not include \"NET_ADMIN\", \"NET_RAW\" in securityContext.capabilities.add); change the set's containers and volumes as the details say (podSecurity.defaults: restricted fills what they leave unset), or set its podSecurity.onViolation: skip to leave it out of such Pods"
        )
    );
    // Without the label on the Namespace, the same Pod gets the mesh.
    let response = in_namespace("namespace-shop.yml")
        .evaluate(&request, &settings())
        .unwrap();
    assert!(response.allowed, "{response:?}");
    let pod = patched(&request, &response);
    assert_eq!(
        entry_names(&pod, "initContainers"),
        ["fluent-bit", "mesh-init", "envoy"]
    );
    kubernetes_validate(&[("pss-unlabelled-mesh".into(), pod)], "1.33").unwrap();
}

#[test]
fn a_set_that_may_be_skipped_is_left_out_with_a_warning() {
    let request = pod(json!({"logs": "node"}));
    let response = in_namespace("namespace-shop-baseline-warn-restricted.yml")
        .evaluate(&request, &settings())
        .unwrap();
    assert!(response.allowed, "{response:?}");
    let pod = patched(&request, &response);
    assert_eq!(entry_names(&pod, "initContainers"), ["fluent-bit"]);
    assert!(
        pod["spec"]["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["name"] != "host-logs")
    );
    let warnings = warnings(&response);
    assert_eq!(
        warnings[0],
        "sidecar set node-logs would make the Pod violate PodSecurity \"baseline:v1.33\" of Namespace \"shop\": hostPath volumes (volume \"host-logs\"); not injected (podSecurity.onViolation: skip)"
    );
    assert_eq!(warnings[1], LOG_SHIPPER);
    kubernetes_validate(&[("pss-skipped-node-logs".into(), pod)], "1.33").unwrap();
}

#[test]
fn the_warn_level_adds_a_warning_and_injects() {
    let mut settings = settings();
    settings["sidecarSets"][0]["podSecurity"] = json!(null);
    let request = pod(json!({}));
    let response = in_namespace("namespace-shop-baseline-warn-restricted.yml")
        .evaluate(&request, &settings)
        .unwrap();
    assert!(response.allowed, "{response:?}");
    assert_eq!(
        warnings(&response)[0],
        "sidecar set log-shipper makes the Pod violate PodSecurity \"restricted:latest\", which Namespace \"shop\" warns about: allowPrivilegeEscalation != false (container \"fluent-bit\" must set securityContext.allowPrivilegeEscalation=false), runAsNonRoot != true (pod or container \"fluent-bit\" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container \"fluent-bit\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"), unrestricted capabilities (container \"fluent-bit\" must set securityContext.capabilities.drop=[\"ALL\"])"
    );
    let pod = patched(&request, &response);
    assert_eq!(entry_names(&pod, "initContainers"), ["fluent-bit"]);
}

#[test]
fn a_namespace_that_cannot_be_read_never_rejects() {
    let request = pod(json!({"mesh": "on"}));
    let not_granted = policy().clone().with_context(ClusterContext::default());
    let response = not_granted.evaluate(&request, &settings()).unwrap();
    assert!(response.allowed, "{response:?}");
    assert_eq!(
        warnings(&response)[0],
        "Pod Security not checked before the API server: Namespace \"shop\" could not be read (Policy has not been granted access to Kubernetes v1/Namespace resources. The violation has been reported.); the API server still enforces its level. Grant the policy v1/Namespace (contextAwareResources) or set checkPodSecurity: false"
    );
    // Turned off, the check reads nothing and says nothing.
    let mut off = settings();
    off["checkPodSecurity"] = json!(false);
    off["explain"] = json!(false);
    let response = not_granted.evaluate(&request, &off).unwrap();
    assert!(response.allowed);
    assert_eq!(warnings(&response), Vec::<String>::new());
}

#[test]
fn a_declared_level_the_set_does_not_meet_is_a_settings_error() {
    let mut invalid = settings();
    invalid["sidecarSets"][1]["podSecurity"] = json!({"level": "restricted"});
    let answer = policy().validate_settings(&invalid).unwrap();
    assert!(!answer.valid);
    assert!(
        answer.message.as_deref().unwrap().starts_with(
            "sidecarSets[1].podSecurity.level: sidecar set mesh does not meet restricted on its own: allowPrivilegeEscalation != false (container \"mesh-init\" must set securityContext.allowPrivilegeEscalation=false)"
        ),
        "{answer:?}"
    );
    assert!(policy().validate_settings(&settings()).unwrap().valid);
}

#[test]
fn a_workload_template_is_judged_as_its_pods_will_be_and_never_mutated() {
    let mut request = request("test_data/requests/deployment-create.json");
    request["object"]["spec"]["template"]["metadata"]["labels"]["logs"] = json!("node");
    let mut settings = settings();
    settings["sidecarSets"][2]["podSecurity"] = json!(null);
    let response = in_namespace("namespace-shop-restricted.yml")
        .evaluate(&request, &settings)
        .unwrap();
    assert!(!response.allowed);
    let message = response.message().unwrap();
    assert!(
        message.contains("sidecar set node-logs would make the Pod violate PodSecurity \"restricted:latest\" of Namespace \"shop\""),
        "{message}"
    );
    assert!(message.contains("restricted volume types (volume \"host-logs\" uses restricted volume type \"hostPath\")"), "{message}");
    // Skipped instead: the template is accepted, unchanged, and told.
    let response = in_namespace("namespace-shop-restricted.yml")
        .evaluate(&request, &self::settings())
        .unwrap();
    assert!(response.allowed, "{response:?}");
    assert!(response.patch.is_none());
    assert!(
        warnings(&response).iter().any(|w| w
            .contains("sidecar set node-logs would make the Pod violate")
            && w.contains("not injected (podSecurity.onViolation: skip)")),
        "{:?}",
        warnings(&response)
    );
}
