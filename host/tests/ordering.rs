//! wasm-level tests of start ordering, startup gating, Job Pods, mandatory
//! sets and verify mode, under test_data/settings-ordering.yaml.

mod common;

use common::*;
use host::{AdmissionResponse, read_settings};
use serde_json::{Value, json};

fn settings() -> Value {
    read_settings(&repo().join("test_data/settings-ordering.yaml")).unwrap()
}

fn with(mut settings: Value, key: &str, value: Value) -> Value {
    settings[key] = value;
    settings
}

fn evaluate_with(request: &Value, settings: &Value) -> AdmissionResponse {
    policy().evaluate(request, settings).unwrap()
}

fn warnings(response: &AdmissionResponse) -> Vec<String> {
    response.warnings.clone().unwrap_or_default()
}

/// Evaluates `path` under `settings`; the mutated Pod and the warnings.
fn injected(path: &str, settings: &Value) -> (Value, Vec<String>) {
    let request = request(path);
    let response = evaluate_with(&request, settings);
    assert!(response.allowed, "{path}: {response:?}");
    (patched(&request, &response), warnings(&response))
}

const REPLICASET: &str = "test_data/requests/pod-replicaset-create.json";
const OWN_INIT: &str = "test_data/requests/pod-own-init-and-native-sidecar-create.json";
const JOB: &str = "test_data/requests/pod-job-create.json";

#[test]
fn the_ordering_settings_are_valid_and_a_cycle_is_not() {
    let answer = policy().validate_settings(&settings()).unwrap();
    assert!(answer.valid, "{:?}", answer.message);
    let mut cyclic = settings();
    cyclic["sidecarSets"][0]["containers"][0]["dependsOn"] = json!(["schema-check"]);
    let answer = policy().validate_settings(&cyclic).unwrap();
    assert_eq!(
        answer.message.as_deref(),
        Some(
            "sidecarSets[0].containers[0].dependsOn: dependsOn cycle: envoy → schema-check → envoy; remove one of these dependencies"
        )
    );
}

#[test]
fn a_proxy_then_its_client_then_the_app() {
    let (pod, warnings) = injected(REPLICASET, &settings());
    assert_eq!(
        entry_names(&pod, "initContainers"),
        ["envoy", "schema-check", "fluent-bit"]
    );
    assert_eq!(entry_names(&pod, "containers"), ["checkout"]);
    assert_eq!(
        warnings,
        [
            "sidecar set mesh meets Pod Security baseline on its own (not restricted: allowPrivilegeEscalation != false, runAsNonRoot != true, seccompProfile, unrestricted capabilities)",
            "sidecar set db-client meets Pod Security baseline on its own (not restricted: allowPrivilegeEscalation != false, runAsNonRoot != true, seccompProfile, unrestricted capabilities)",
            "dependency dropped: fluent-bit (sidecar set db-client) depends on db-migrate, which is not an init container or earlier sidecar of this Pod",
            "start order: envoy (sidecar) → schema-check → fluent-bit (sidecar) → [checkout]; schema-check after envoy is ready; fluent-bit after envoy is ready; fluent-bit after schema-check has completed",
            "effective requests (what the scheduler reserves) before → after injection: cpu 250m → 250m, memory 256Mi → 256Mi",
            "stop order: [checkout] get SIGTERM together, then the native sidecars in reverse start order: fluent-bit → envoy; terminationGracePeriodSeconds 30"
        ]
    );
    // waitForReady: the startupProbe is derived from the readinessProbe.
    assert_eq!(
        entry(&pod, "initContainers", "envoy")["startupProbe"],
        json!({"httpGet": {"path": "/ready", "port": 9901}, "periodSeconds": 1, "failureThreshold": 60})
    );
    assert_eq!(
        status_of(&pod)["startOrder"],
        json!(["envoy", "schema-check", "fluent-bit", "checkout"])
    );
}

#[test]
fn a_dependency_on_the_pods_own_init_container() {
    let (pod, warnings) = injected(OWN_INIT, &settings());
    // fluent-bit waits for db-migrate, the Pod's own; the Pod's own keep their order.
    assert_eq!(
        entry_names(&pod, "initContainers"),
        [
            "envoy",
            "schema-check",
            "cloud-sql-proxy",
            "db-migrate",
            "fluent-bit"
        ]
    );
    assert_eq!(
        warnings,
        [
            "sidecar set mesh meets Pod Security baseline on its own (not restricted: allowPrivilegeEscalation != false, runAsNonRoot != true, seccompProfile, unrestricted capabilities)",
            "sidecar set db-client meets Pod Security baseline on its own (not restricted: allowPrivilegeEscalation != false, runAsNonRoot != true, seccompProfile, unrestricted capabilities)",
            "start order: envoy (sidecar) → schema-check → cloud-sql-proxy (sidecar) → db-migrate → fluent-bit (sidecar) → [orders]; schema-check after envoy is ready; fluent-bit after envoy is ready; fluent-bit after db-migrate has completed; fluent-bit after schema-check has completed",
            "effective requests (what the scheduler reserves) before → after injection: cpu 300m → 300m, memory 320Mi → 320Mi",
            "stop order: [orders] get SIGTERM together, then the native sidecars in reverse start order: fluent-bit → cloud-sql-proxy → envoy; terminationGracePeriodSeconds 30"
        ]
    );
}

#[test]
fn job_pods_under_each_setting() {
    let (pod, warnings) = injected(JOB, &settings());
    assert_eq!(entry_names(&pod, "initContainers"), ["envoy", "statsd"]);
    assert_eq!(
        entry(&pod, "initContainers", "statsd")["restartPolicy"],
        "Always"
    );
    assert_eq!(
        entry_names(&pod, "containers"),
        ["report", "metrics-pusher"]
    );
    assert_eq!(
        warnings[0],
        "metrics-pusher (sidecar set batch-metrics) runs after the app containers as a regular container: it can keep this Pod (restartPolicy: Never) from completing"
    );

    let (pod, warnings) = injected(JOB, &with(settings(), "jobPods", json!("skip")));
    assert_eq!(entry_names(&pod, "initContainers"), ["envoy"]);
    assert_eq!(entry_names(&pod, "containers"), ["report"]);
    assert_eq!(
        warnings[0],
        "sidecar set batch-metrics not injected: its regular sidecars would keep this Pod (restartPolicy: Never) from completing (jobPods: skip)"
    );

    let (pod, warnings) = injected(JOB, &with(settings(), "jobPods", json!("asConfigured")));
    assert_eq!(entry_names(&pod, "initContainers"), ["envoy"]);
    assert_eq!(
        entry_names(&pod, "containers"),
        ["statsd", "report", "metrics-pusher"]
    );
    assert_eq!(
        warnings[0],
        "sidecar set batch-metrics injects regular sidecars, which can keep this Pod (restartPolicy: Never) from completing (jobPods: asConfigured)"
    );
}

#[test]
fn a_mandatory_set_ignores_the_opt_out_and_says_so() {
    let mut request = request(REPLICASET);
    request["object"]["metadata"]["annotations"]["sidecarset.kubewarden.io/inject"] =
        json!("false");
    let response = evaluate_with(&request, &settings());
    let pod = patched(&request, &response);
    assert_eq!(entry_names(&pod, "initContainers"), ["envoy"]);
    assert_eq!(
        warnings(&response)[0],
        "sidecar set mesh is mandatory: the Pod's sidecarset.kubewarden.io/inject annotation does not apply to it"
    );
    let mut optional = settings();
    optional["sidecarSets"][0]["mandatory"] = json!(false);
    let response = evaluate_with(&request, &optional);
    assert!(response.allowed && response.patch.is_none(), "{response:?}");
}

/// Every request file, under both settings files: the injected Pod.
fn injected_pods() -> Vec<(String, Value, Value)> {
    let mut out = Vec::new();
    let base = read_settings(&repo().join("test_data/settings.yaml")).unwrap();
    for (label, settings) in [("ordering", settings()), ("base", base)] {
        for path in all_request_files() {
            let request = request(&path);
            let response = evaluate_with(&request, &settings);
            if response.allowed && response.patch.is_some() {
                let name = format!(
                    "{label}-{}",
                    path.rsplit('/').next().unwrap().trim_end_matches(".json")
                );
                out.push((name, patched(&request, &response), settings.clone()));
            }
        }
    }
    out
}

#[test]
fn a_second_evaluation_changes_nothing() {
    for (name, pod, settings) in injected_pods() {
        // Again in the Pod's own Namespace: a set that does not apply there
        // leaves the record.
        let mut request = request(REPLICASET);
        request["namespace"] = pod["metadata"]["namespace"].clone();
        request["object"] = pod;
        let second = evaluate_with(&request, &settings);
        assert!(
            second.allowed && second.patch.is_none(),
            "{name}: {second:?}"
        );
    }
}

#[test]
fn verify_mode_accepts_every_pod_inject_mode_produced() {
    let pods = injected_pods();
    assert!(pods.len() >= 15, "only {} injected Pods", pods.len());
    for (name, pod, settings) in pods {
        for operation in ["CREATE", "UPDATE"] {
            let mut request = request(REPLICASET);
            request["operation"] = json!(operation);
            request["namespace"] = pod["metadata"]["namespace"].clone();
            request["object"] = pod.clone();
            let response =
                evaluate_with(&request, &with(settings.clone(), "mode", json!("verify")));
            assert!(
                response.allowed && response.patch.is_none(),
                "{name} {operation}: {:?}",
                response.message()
            );
        }
    }
}

fn verify(pod: Value) -> AdmissionResponse {
    let mut request = request(REPLICASET);
    request["object"] = pod;
    evaluate_with(&request, &with(settings(), "mode", json!("verify")))
}

#[test]
fn verify_mode_rejects_a_missing_a_stale_and_a_misordered_pod() {
    let missing = verify(request(REPLICASET)["object"].clone());
    assert!(!missing.allowed && missing.patch.is_none());
    assert_eq!(
        missing.message(),
        Some(
            "the Pod does not hold what its sidecar sets inject: missing sidecar mesh/envoy; missing init container db-client/schema-check; missing sidecar db-client/fluent-bit; recreate the Pod so that the injecting policy adds the sidecars, or fix its manifest"
        )
    );

    let (pod, _) = injected(REPLICASET, &settings());
    let mut newer = with(settings(), "mode", json!("verify"));
    newer["sidecarSets"][0]["containers"][0]["image"] = json!("envoyproxy/envoy:v1.34.0");
    let mut request = request(REPLICASET);
    request["object"] = pod.clone();
    let stale = evaluate_with(&request, &newer);
    let recorded = status_of(&pod)["sets"][0]["hash"]
        .as_str()
        .unwrap()
        .to_string();
    let current = policy()
        .evaluate(&request, &with(newer.clone(), "mode", json!("inject")))
        .unwrap();
    let reinjected = status_of(&patched(&request, &current));
    let current_hash = reinjected["sets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "mesh")
        .unwrap()["hash"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(recorded, current_hash);
    assert_eq!(
        stale.message().map(String::from),
        Some(format!(
            "the Pod does not hold what its sidecar sets inject: sidecar set mesh is stale: the Pod records definition {recorded}, the set's current one is {current_hash}; mesh/envoy runs envoyproxy/envoy:v1.33.0, the set wants envoyproxy/envoy:v1.34.0; recreate the Pod so that the injecting policy adds the sidecars, or fix its manifest"
        ))
    );

    let mut misordered = pod;
    misordered["spec"]["initContainers"]
        .as_array_mut()
        .unwrap()
        .swap(0, 1);
    assert_eq!(
        verify(misordered).message(),
        Some(
            "the Pod does not hold what its sidecar sets inject: schema-check starts before its dependency envoy (a \"ready\" edge: schema-check must start once envoy is ready); recreate the Pod so that the injecting policy adds the sidecars, or fix its manifest"
        )
    );
}

#[test]
fn verify_mode_judges_updates_by_what_they_change_and_never_mutates() {
    let verify = with(settings(), "mode", json!("verify"));
    // A label change on a Pod created before the sets: it adds no difference.
    let update = request("test_data/requests/pod-update-labels.json");
    let response = evaluate_with(&update, &verify);
    assert!(response.allowed && response.patch.is_none());
    let warning = &warnings(&response)[0];
    assert!(
        warning.starts_with(
            "the Pod does not hold what its sidecar sets inject: missing sidecar mesh/envoy;"
        ) && warning.ends_with("the update is accepted because it adds no difference; recreate the Pod so that the injecting policy adds the sidecars"),
        "{warning}"
    );
    // Inject mode lets the same update through: Pods are injected at creation.
    let response = evaluate_with(&update, &settings());
    assert!(response.allowed && response.patch.is_none());
    // An update that swaps an injected sidecar's image adds a difference.
    let (pod, _) = injected(REPLICASET, &settings());
    let mut swapped = request(REPLICASET);
    swapped["operation"] = json!("UPDATE");
    swapped["oldObject"] = pod.clone();
    swapped["object"] = pod;
    swapped["object"]["spec"]["initContainers"][0]["image"] = json!("evil:1");
    let response = evaluate_with(&swapped, &verify);
    assert!(!response.allowed && response.patch.is_none());
    assert_eq!(
        response.message(),
        Some(
            "this update adds differences from what the Pod's sidecar sets inject: mesh/envoy runs evil:1, the set wants envoyproxy/envoy:v1.33.0; leave the injected sidecars as the sets define them"
        )
    );
}

#[test]
fn ordered_pods_pass_kubernetes_validate_strict() {
    let pods: Vec<(String, Value)> = injected_pods()
        .into_iter()
        .filter(|(name, ..)| name.starts_with("ordering-"))
        .map(|(name, pod, _)| (name, pod))
        .collect();
    let older: Vec<_> = pods
        .iter()
        .filter(|(name, _)| !name.ends_with("pod-newer-fields-create"))
        .cloned()
        .collect();
    kubernetes_validate(&older, "1.33.0").unwrap_or_else(|e| panic!("{e}"));
    kubernetes_validate(&pods, "1.36.0").unwrap_or_else(|e| panic!("{e}"));
    println!(
        "kubernetes-validate --strict: {} ordered Pods valid",
        pods.len()
    );
}

#[test]
fn a_diamond_and_regular_mode_gating() {
    let diamond = json!({"sidecarSets": [{"name": "d", "selector": {}, "initContainers": [
        {"name": "report", "image": "r", "dependsOn": ["left", "right"]},
        {"name": "right", "image": "r", "dependsOn": ["base"]},
        {"name": "left", "image": "l", "dependsOn": ["base"]},
        {"name": "base", "image": "b"}]}]});
    let (pod, _) = injected(REPLICASET, &diamond);
    assert_eq!(
        entry_names(&pod, "initContainers"),
        ["base", "right", "left", "report"]
    );

    let regular = |container: Value| json!({"nativeSidecars": false, "sidecarSets": [{"name": "mesh", "selector": {}, "containers": [container]}]});
    let without_hook = regular(json!({"name": "envoy", "image": "e", "waitForReady": true}));
    let answer = policy().validate_settings(&without_hook).unwrap();
    assert!(!answer.valid);
    assert!(
        answer
            .message
            .unwrap()
            .starts_with("sidecarSets[0].containers[0].waitForReady: envoy: a regular sidecar (nativeSidecars: false) can only hold the next container through a lifecycle.postStart hook")
    );
    let with_hook = regular(json!({"name": "envoy", "image": "e", "waitForReady": true,
        "lifecycle": {"postStart": {"exec": {"command": ["pilot-agent", "wait"]}}}}));
    assert!(policy().validate_settings(&with_hook).unwrap().valid);
    let (pod, _) = injected(REPLICASET, &with_hook);
    assert_eq!(entry_names(&pod, "containers"), ["envoy", "checkout"]);
    assert!(
        entry(&pod, "containers", "envoy")
            .get("startupProbe")
            .is_none(),
        "a regular container is held by its postStart hook"
    );
}

/// The example requests under the example policies, as `make run` shows
/// them: each gets its answer, the injected Pods are valid Kubernetes Pods,
/// and the verify examples accept them.
#[test]
fn the_example_requests_under_the_example_policies() {
    let settings_of = |file: &str| {
        host::read_policy_resources(&repo().join(file))
            .unwrap()
            .remove(0)
            .settings
    };
    // Granted and answered as `make run` is: "shop" has no Pod Security
    // label, "payments" enforces restricted.
    let in_namespace = |name: &str| {
        let mut context = host::ClusterContext::granted_by(&repo().join("metadata.yml")).unwrap();
        let replay = repo().join(format!("examples/replay/namespace-{name}.yml"));
        context.exchanges = host::ClusterContext::read_replay(&replay).unwrap();
        policy().clone().with_context(context)
    };
    let (shop, payments) = (in_namespace("shop"), in_namespace("payments"));
    let evaluate_with = |request: &Value, settings: &Value| {
        let policy = match request["namespace"].as_str() {
            Some("payments") => &payments,
            _ => &shop,
        };
        policy.evaluate(request, settings).unwrap()
    };
    let inject = settings_of("examples/cluster-admission-policy.yaml");
    let audit = settings_of("examples/verify-audit-policy.yaml");
    let baked = settings_of("examples/verify-baked-sidecars-policy.yaml");
    let mut injected = Vec::new();
    let no_warning: &[&str] = &[];
    for (file, expected_init, expected_warnings) in [
        ("pod-admin-no-set-create.json", None, no_warning),
        (
            "pod-cart-skip-log-shipper-create.json",
            Some(vec!["mesh-init", "envoy"]),
            &[
                "sidecar set mesh meets Pod Security privileged on its own (not baseline: non-default capabilities)",
                "start order: mesh-init → envoy (sidecar) → [cart]; envoy after mesh-init has completed",
                "effective requests (what the scheduler reserves) before → after injection: cpu 250m → 300m, memory 256Mi → 320Mi",
                "stop order: [cart] get SIGTERM together, then the native sidecars in reverse start order: envoy; terminationGracePeriodSeconds 30",
            ],
        ),
        (
            "pod-checkout-create.json",
            Some(vec!["mesh-init", "envoy", "fluent-bit"]),
            &[
                "sidecar set log-shipper meets Pod Security restricted on its own",
                "sidecar set mesh meets Pod Security privileged on its own (not baseline: non-default capabilities)",
                "start order: mesh-init → envoy (sidecar) → fluent-bit (sidecar) → [checkout]; fluent-bit after envoy is ready; envoy after mesh-init has completed",
                "effective requests (what the scheduler reserves) before → after injection: cpu 250m → 320m, memory 256Mi → 352Mi",
                "stop order: [checkout] get SIGTERM together, then the native sidecars in reverse start order: fluent-bit → envoy; terminationGracePeriodSeconds 30",
            ],
        ),
        (
            "pod-export-job-create.json",
            Some(vec!["fluent-bit"]),
            &[
                "fluent-bit (sidecar set log-shipper): transferEnv[0] skipped: the Pod has no label \"app.kubernetes.io/name\" to name the source container",
                "sidecar set log-shipper meets Pod Security restricted on its own",
                "dependency dropped: fluent-bit (sidecar set log-shipper) depends on envoy, which is not an init container or earlier sidecar of this Pod",
                "start order: fluent-bit (sidecar) → [export]",
                "effective requests (what the scheduler reserves) before → after injection: cpu 250m → 270m, memory 256Mi → 288Mi",
                "stop order: [export] get SIGTERM together, then the native sidecars in reverse start order: fluent-bit; terminationGracePeriodSeconds 30",
            ],
        ),
        // In a Namespace that enforces restricted: the log shipper (with
        // the restricted defaults) goes in; the mesh, whose init container
        // needs NET_ADMIN as root, is skipped, and says why.
        (
            "pod-payments-restricted-create.json",
            Some(vec!["fluent-bit"]),
            &[
                "sidecar set mesh would make the Pod violate PodSecurity \"restricted:latest\" of Namespace \"payments\": allowPrivilegeEscalation != false (containers \"mesh-init\", \"envoy\" must set securityContext.allowPrivilegeEscalation=false), runAsNonRoot != true (container \"mesh-init\" must not set securityContext.runAsNonRoot=false), runAsUser=0 (container \"mesh-init\" must not set runAsUser=0), seccompProfile (pod or containers \"mesh-init\", \"envoy\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"), unrestricted capabilities (containers \"mesh-init\", \"envoy\" must set securityContext.capabilities.drop=[\"ALL\"]; container \"mesh-init\" must not include \"NET_ADMIN\", \"NET_RAW\" in securityContext.capabilities.add); not injected (podSecurity.onViolation: skip)",
                "sidecar set log-shipper meets Pod Security restricted on its own",
                "dependency dropped: fluent-bit (sidecar set log-shipper) depends on envoy, which is not an init container or earlier sidecar of this Pod",
                "start order: fluent-bit (sidecar) → [payments]",
                "effective requests (what the scheduler reserves) before → after injection: cpu 250m → 270m, memory 256Mi → 288Mi",
                "stop order: [payments] get SIGTERM together, then the native sidecars in reverse start order: fluent-bit; terminationGracePeriodSeconds 30",
            ],
        ),
        // The OpenTelemetry collector (nativeSidecars: false, as on a
        // cluster before 1.29): the app gets OTEL_EXPORTER_OTLP_ENDPOINT,
        // the collector drains 10 s after the app's SIGTERM, kubectl lands
        // in the app.
        (
            "pod-orders-otel-create.json",
            Some(vec!["mesh-init", "envoy"]),
            &[
                "sidecar set mesh meets Pod Security privileged on its own (not baseline: non-default capabilities)",
                "sidecar set otel meets Pod Security restricted on its own",
                "start order: mesh-init → envoy (sidecar) → [otel-collector, orders]; envoy after mesh-init has completed",
                "effective requests (what the scheduler reserves) before → after injection: cpu 250m → 350m, memory 256Mi → 384Mi",
                "stop order: [otel-collector (preStop sleep 10 s), orders] get SIGTERM together, then the native sidecars in reverse start order: envoy; terminationGracePeriodSeconds 30 (the drains need 10)",
            ],
        ),
        ("pod-search-conflict-create.json", None, no_warning),
        // A workload is checked, not patched.
        ("deployment-search-create.json", None, no_warning),
    ] {
        let mut request = request(&format!("examples/requests/{file}"));
        let response = evaluate_with(&request, &inject);
        assert_eq!(warnings(&response), expected_warnings, "{file}");
        match expected_init {
            None => assert!(response.patch.is_none(), "{file}"),
            Some(init) => {
                let pod = patched(&request, &response);
                assert_eq!(entry_names(&pod, "initContainers"), init, "{file}");
                request["object"] = pod.clone();
                for verify in [&audit, &baked] {
                    let verdict = evaluate_with(&request, verify);
                    assert!(verdict.allowed, "{file}: {:?}", verdict.message());
                }
                injected.push((file.trim_end_matches(".json").to_string(), pod));
            }
        }
    }
    for version in ["1.33.0", "1.36.0"] {
        kubernetes_validate(&injected, version).unwrap_or_else(|e| panic!("{e}"));
    }
}
