//! SidecarSet parity and scoping, on policy.wasm through the host as
//! policy-server runs it: transferEnv and shared volumes, namespaceSelector
//! through `kubernetes/get_resource`, excluded namespaces, hostNetwork Pods,
//! and workload templates checked without a mutation.

mod common;

use common::{entry, kubernetes_validate, patched, policy, repo, request};
use host::{AdmissionResponse, ClusterContext, Exchange, Policy, read_settings};
use serde_json::{Value, json};

fn settings() -> Value {
    read_settings(&repo().join("test_data/settings-parity.yaml")).unwrap()
}

fn replay(name: &str) -> Vec<Exchange> {
    ClusterContext::read_replay(&repo().join("test_data/replay").join(name)).unwrap()
}

/// The policy granted what metadata.yml asks for, answering from `exchanges`.
fn granted(exchanges: Vec<Exchange>) -> Policy {
    let metadata = ClusterContext::granted_by(&repo().join("metadata.yml")).unwrap();
    policy().clone().with_context(ClusterContext {
        exchanges,
        ..metadata
    })
}

fn fixture(name: &str) -> Value {
    request(&format!("test_data/requests/{name}"))
}

fn warnings(response: &AdmissionResponse) -> Vec<String> {
    response.warnings.clone().unwrap_or_default()
}

#[test]
fn the_replay_file_is_read_as_kwctl_writes_it() {
    let exchanges = replay("namespace-shop.yml");
    assert_eq!(exchanges.len(), 1);
    assert_eq!(exchanges[0].kind, "KubernetesGetResource");
    assert_eq!(
        exchanges[0].request,
        json!({"api_version": "v1", "kind": "Namespace", "name": "shop", "namespace": null, "disable_cache": false, "field_masks": ["metadata.labels"]})
    );
    assert!(exchanges[0].response.is_ok());
}

#[test]
fn a_sidecar_takes_env_and_mounts_from_the_app_container() {
    let request = fixture("pod-replicaset-create.json");
    let response = granted(replay("namespace-shop.yml"))
        .evaluate(&request, &settings())
        .unwrap();
    assert!(response.allowed, "{response:?}");
    let pod = patched(&request, &response);
    let app = &request["object"]["spec"]["containers"][0];
    let shipper = entry(&pod, "initContainers", "fluent-bit");
    // transferEnv: verbatim, value and valueFrom alike.
    assert_eq!(shipper["env"], json!([app["env"][0], app["env"][1]]));
    // shareVolumePolicy: the sidecar's own mount, then every app mount.
    let mut mounts = vec![json!({"name": "varlog", "mountPath": "/var/log/app"})];
    mounts.extend(app["volumeMounts"].as_array().unwrap().iter().cloned());
    assert_eq!(shipper["volumeMounts"], Value::Array(mounts));
    assert_eq!(
        warnings(&response),
        [
            "fluent-bit (sidecar set log-shipper): transferEnv[1]: app container \"checkout\" has no variable LOG_LEVEL; not copied"
        ]
    );
    // The Namespace is labelled for the mesh: its set applies.
    assert!(
        pod["spec"]["initContainers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "envoy")
    );
    // The result is a Pod Kubernetes accepts, and a second pass keeps it.
    kubernetes_validate(&[("parity-replicaset".into(), pod.clone())], "1.33").unwrap();
    let mut again = request.clone();
    again["object"] = pod;
    let second = granted(replay("namespace-shop.yml"))
        .evaluate(&again, &settings())
        .unwrap();
    assert!(second.allowed && second.patch.is_none(), "{second:?}");
}

#[test]
fn a_namespace_selector_reads_the_namespace_through_the_host() {
    let request = fixture("pod-replicaset-create.json");
    let names = |response: &AdmissionResponse| -> Vec<String> {
        patched(&request, response)["spec"]["initContainers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    };
    let labelled = granted(replay("namespace-shop.yml"))
        .evaluate(&request, &settings())
        .unwrap();
    assert_eq!(names(&labelled), ["fluent-bit", "envoy"]);
    let unlabelled = granted(replay("namespace-shop-unlabelled.yml"))
        .evaluate(&request, &settings())
        .unwrap();
    assert_eq!(names(&unlabelled), ["fluent-bit"]);
}

#[test]
fn a_namespace_the_policy_may_not_read_rejects_or_skips_as_configured() {
    let request = fixture("pod-replicaset-create.json");
    // Not granted: the host refuses the call as policy-server does.
    let not_granted = policy().clone().with_context(ClusterContext {
        granted: Vec::new(),
        capabilities: None,
        exchanges: replay("namespace-shop.yml"),
        in_order: false,
    });
    let response = not_granted.evaluate(&request, &settings()).unwrap();
    assert!(!response.allowed);
    assert_eq!(
        response.message(),
        Some(
            "sidecar set mesh: cannot read Namespace \"shop\" to match the set's namespaceSelector: Policy has not been granted access to Kubernetes v1/Namespace resources. The violation has been reported.; grant the policy access to v1/Namespace (contextAwareResources) or set namespaceLookupFailure: skip"
        )
    );
    let mut skip = settings();
    skip["namespaceLookupFailure"] = json!("skip");
    let response = not_granted.evaluate(&request, &skip).unwrap();
    assert!(response.allowed);
    assert!(
        warnings(&response).contains(&"sidecar set mesh not injected: Namespace \"shop\" could not be read to match the set's namespaceSelector (Policy has not been granted access to Kubernetes v1/Namespace resources. The violation has been reported.; namespaceLookupFailure: skip)".to_string()),
        "{response:?}"
    );
    assert!(
        patched(&request, &response)["spec"]["initContainers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["name"] != "envoy")
    );
}

#[test]
fn a_policy_without_the_host_capability_is_refused_the_call() {
    let request = fixture("pod-replicaset-create.json");
    let metadata = ClusterContext::granted_by(&repo().join("metadata.yml")).unwrap();
    assert_eq!(
        metadata.capabilities,
        Some(vec!["kubernetes/get_resource".to_string()]),
        "metadata.yml declares the capability"
    );
    let without = policy().clone().with_context(ClusterContext {
        capabilities: Some(Vec::new()),
        exchanges: replay("namespace-shop.yml"),
        ..metadata
    });
    let response = without.evaluate(&request, &settings()).unwrap();
    assert!(!response.allowed);
    assert!(
        response.message().unwrap().contains(
            "Policy has not been granted access to the 'kubernetes/get_resource' host capability. The violation has been reported."
        ),
        "{response:?}"
    );
}

#[test]
fn no_lookup_when_no_set_with_a_namespace_selector_applies() {
    // Without a replay, any host call would fail: the Pod must not need one.
    let no_cluster = policy().clone();
    let mut request = fixture("pod-replicaset-create.json");
    request["object"]["metadata"]["labels"] = json!({"tier": "web"});
    let response = no_cluster.evaluate(&request, &settings()).unwrap();
    assert!(response.allowed && response.patch.is_some(), "{response:?}");
}

#[test]
fn host_network_pods_get_only_the_sets_that_opt_in() {
    let request = fixture("pod-hostnetwork-create.json");
    // mesh would select this Pod (and would need the Namespace); the
    // node agent opts in with hostNetworkPods: inject.
    let response = policy().evaluate(&request, &settings()).unwrap();
    assert!(response.allowed, "{response:?}");
    let pod = patched(&request, &response);
    let injected: Vec<&str> = pod["spec"]["initContainers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(injected, ["node-log-agent"]);
    kubernetes_validate(&[("parity-hostnetwork".into(), pod)], "1.33").unwrap();
    // With skipHostNetworkPods: false every selecting set applies.
    let mut all = settings();
    all["skipHostNetworkPods"] = json!(false);
    all["namespaceLookupFailure"] = json!("skip");
    // Not granted: mesh's namespaceSelector cannot be matched, and says so.
    let not_granted = policy().clone().with_context(ClusterContext::default());
    let response = not_granted.evaluate(&request, &all).unwrap();
    let pod = patched(&request, &response);
    assert_eq!(pod["spec"]["initContainers"].as_array().unwrap().len(), 1);
    assert!(
        warnings(&response)
            .iter()
            .any(|w| w.starts_with("sidecar set mesh not injected: Namespace \"monitoring\"")),
        "mesh was considered: {response:?}"
    );
}

#[test]
fn excluded_namespaces_are_left_alone() {
    let mut request = fixture("pod-replicaset-create.json");
    request["namespace"] = json!("kube-system");
    request["object"]["metadata"]["namespace"] = json!("kube-system");
    let response = policy().evaluate(&request, &settings()).unwrap();
    assert!(response.allowed && response.patch.is_none() && response.warnings.is_none());
    let mut verify = settings();
    verify["mode"] = json!("verify");
    let response = policy().evaluate(&request, &verify).unwrap();
    assert!(response.allowed, "verify mode ignores excluded namespaces");
    let mut none_excluded = settings();
    none_excluded["excludedNamespaces"] = json!([]);
    none_excluded["namespaceLookupFailure"] = json!("skip");
    let response = policy().evaluate(&request, &none_excluded).unwrap();
    assert!(response.patch.is_some());
}

/// The Deployment fixture, its template given `containers`.
fn deployment(containers: Value) -> Value {
    let mut request = fixture("deployment-create.json");
    request["object"]["spec"]["template"]["spec"]["containers"] = containers;
    request
}

#[test]
fn workloads_are_checked_and_never_mutated() {
    let fine = deployment(json!([{"name": "checkout", "image": "checkout:2", "env": [
        {"name": "DB_HOST", "value": "postgres.shop.svc"},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
    ]}]));
    let response = granted(replay("namespace-shop.yml"))
        .evaluate(&fine, &settings())
        .unwrap();
    assert!(response.allowed && response.patch.is_none(), "{response:?}");
    // The same warnings its Pods would get, at the template's paths.
    assert_eq!(
        warnings(&response),
        [
            "spec.template: fluent-bit (sidecar set log-shipper): transferEnv[1]: app container \"checkout\" has no variable LOG_LEVEL; not copied"
        ]
    );

    let conflicting = deployment(json!([
        {"name": "checkout", "image": "checkout:2", "ports": [{"containerPort": 15001}]}
    ]));
    let response = granted(replay("namespace-shop.yml"))
        .evaluate(&conflicting, &settings())
        .unwrap();
    assert!(!response.allowed);
    assert_eq!(
        response.message(),
        Some(
            "spec.template: the Pods of this Deployment would be rejected: sidecar set \"mesh\": container \"envoy\" cannot be injected: port 15001/TCP is already used by spec.template.spec.containers[0] (\"checkout\"), and the containers of a Pod share one network namespace; change the port in the set or in the Pod"
        )
    );

    // An UPDATE that leaves the template alone is not judged again.
    let mut relabel = conflicting.clone();
    relabel["operation"] = json!("UPDATE");
    relabel["oldObject"] = conflicting["object"].clone();
    relabel["object"]["metadata"]["labels"]["team"] = json!("payments");
    let response = policy().evaluate(&relabel, &settings()).unwrap();
    assert!(response.allowed, "{response:?}");
    // One that changes it is.
    relabel["oldObject"] = fine["object"].clone();
    let response = granted(replay("namespace-shop.yml"))
        .evaluate(&relabel, &settings())
        .unwrap();
    assert!(!response.allowed);
}

#[test]
fn in_verify_mode_a_template_must_hold_its_mandatory_sets() {
    let mut verify = settings();
    verify["mode"] = json!("verify");
    // log-shipper is not mandatory: an injecting policy may add it later.
    let bare = deployment(json!([{"name": "checkout", "image": "checkout:2"}]));
    let response = policy().evaluate(&bare, &verify).unwrap();
    assert!(response.allowed, "{response:?}");
    verify["sidecarSets"][0]["mandatory"] = json!(true);
    let response = policy().evaluate(&bare, &verify).unwrap();
    assert!(!response.allowed);
    assert_eq!(
        response.message(),
        Some(
            "spec.template: the Pods of this Deployment would be rejected: the Pod does not hold what its sidecar sets inject: missing sidecar log-shipper/fluent-bit; missing volume log-shipper/varlog; recreate the Pod so that the injecting policy adds the sidecars, or fix its manifest"
        )
    );
}
