//! The nine findings of issue 32, one test each, through the policy's
//! public API only (so that each can be run against the code before its
//! fix, where it fails): answers the API server refused, and Pod Security
//! read otherwise than the admission controller reads it.

mod common;
use common::settings_problems;
use serde_json::{Map, Value, json};
use sidecarset_policy::inject::{self, Outcome};
use sidecarset_policy::namespace::Namespace;
use sidecarset_policy::settings::Settings;

fn settings(value: Value) -> Settings {
    Settings::from_slice(value.to_string().as_bytes()).expect("settings parse")
}

fn pod(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"generateName": "web-", "namespace": "shop", "labels": {"app": "web"}},
        "spec": spec})
}

fn web() -> Value {
    json!({"name": "web", "image": "shop/web:1"})
}

/// The answer for `pod` in a Namespace labelled `labels`, with its warnings.
fn run(pod: Value, settings: &Settings, labels: Value) -> (Outcome, Vec<String>) {
    let labels: Map<String, Value> = labels.as_object().cloned().unwrap_or_default();
    let mut lookup = |_: &str| Ok(labels.clone());
    let mut namespace = Namespace::with_lookup("shop", Some(&mut lookup));
    let mut warnings = Vec::new();
    let outcome = inject::inject(pod, settings, &mut namespace, &mut warnings);
    (outcome, warnings)
}

fn mutated(outcome: Outcome) -> Value {
    match outcome {
        Outcome::Mutated(pod) => pod,
        other => panic!("expected a mutated Pod, got {other:?}"),
    }
}

fn named<'p>(pod: &'p Value, list: &str, name: &str) -> &'p Value {
    pod["spec"][list]
        .as_array()
        .and_then(|items| items.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no {list} entry {name} in {pod}"))
}

/// 1. `podSecurity.defaults: restricted` leaves the fields the API server
///    forbids in a Windows Pod unset, and keeps `runAsNonRoot`.
#[test]
fn finding_1_windows_pods_get_no_linux_only_defaults() {
    let s = settings(json!({"sidecarSets": [{"name": "logs", "selector": {},
        "podSecurity": {"defaults": "restricted"},
        "containers": [{"name": "shipper", "image": "shipper:1"}]}]}));
    let answer = mutated(
        run(
            pod(json!({"os": {"name": "windows"}, "containers": [web()]})),
            &s,
            json!({}),
        )
        .0,
    );
    let sc = &named(&answer, "initContainers", "shipper")["securityContext"];
    assert_eq!(sc, &json!({"runAsNonRoot": true}));
}

/// 2. A grace period of 0 gets no zero-second preStop sleep (refused
///    before v1.33), and a warning says so.
#[test]
fn finding_2_no_zero_second_pre_stop_sleep() {
    let s = settings(
        json!({"sidecarSets": [{"name": "mesh", "selector": {}, "nativeSidecars": false,
        "containers": [{"name": "envoy", "image": "envoy:1", "drainSeconds": 15}]}]}),
    );
    let (outcome, warnings) = run(
        pod(json!({"terminationGracePeriodSeconds": 0, "containers": [web()]})),
        &s,
        json!({}),
    );
    let answer = mutated(outcome);
    assert_eq!(
        named(&answer, "containers", "envoy").get("lifecycle"),
        None,
        "{answer}"
    );
    assert!(
        warnings.iter().any(|w| w.contains(
            "no preStop sleep is added (the API server refuses a sleep of 0 s before v1.33)"
        )),
        "{warnings:?}"
    );
}

fn otel() -> Value {
    json!({"name": "otel", "selector": {},
        "containers": [{"name": "collector", "image": "otel:1",
            "volumeMounts": [{"name": "otel-socket", "mountPath": "/var/run/otel"}]}],
        "volumes": [{"name": "otel-socket", "emptyDir": {}}],
        "appContainers": {"volumeMounts": [{"name": "otel-socket", "mountPath": "/var/run/otel"}]}})
}

/// 3. A mount the set gives at a path the app container uses for a block
///    device is a rejection naming both.
#[test]
fn finding_3_a_mount_at_a_device_path_is_refused() {
    let s = settings(json!({"sidecarSets": [otel()]}));
    let mut app = web();
    app["volumeDevices"] = json!([{"name": "disk", "devicePath": "/var/run/otel"}]);
    let (outcome, _) = run(
        pod(
            json!({"containers": [app], "volumes": [{"name": "disk", "persistentVolumeClaim": {"claimName": "disk"}}]}),
        ),
        &s,
        json!({}),
    );
    assert_eq!(
        outcome,
        Outcome::Rejected("sidecar set \"otel\": appContainers.volumeMounts cannot mount volume \"otel-socket\" at \"/var/run/otel\" in container \"web\": spec.containers[0].volumeDevices already uses that path for volume \"disk\"; change the mountPath in the set or the devicePath in the Pod".into())
    );
}

/// 4. Mounts the API server refuses in every Pod are settings errors.
#[test]
fn finding_4_bidirectional_and_recursive_read_only_are_settings_errors() {
    let mut set = otel();
    set["containers"][0]["volumeMounts"][0]["mountPropagation"] = json!("Bidirectional");
    assert_eq!(
        settings_problems(json!({"sidecarSets": [set]})),
        "sidecarSets[0].containers[0].volumeMounts[0].mountPropagation: collector: Bidirectional is allowed only in a privileged container (securityContext.privileged: true); use HostToContainer, or make the container privileged"
    );
    let mut set = otel();
    set["appContainers"]["volumeMounts"][0]["recursiveReadOnly"] = json!("Enabled");
    assert_eq!(
        settings_problems(json!({"sidecarSets": [set]})),
        "sidecarSets[0].appContainers.volumeMounts[0].recursiveReadOnly: Enabled needs readOnly: true; add it, or remove recursiveReadOnly"
    );
}

/// 5. The same directory spelled otherwise is the same directory.
#[test]
fn finding_5_mount_paths_compare_cleaned() {
    let s = settings(json!({"sidecarSets": [otel()]}));
    for spelled in [
        "/var/run/otel/",
        "//var/run/otel",
        "/var/./run/otel",
        "/var/x/../run/otel",
    ] {
        let mut app = web();
        app["volumeMounts"] = json!([{"name": "data", "mountPath": spelled}]);
        let (outcome, _) = run(
            pod(json!({"containers": [app], "volumes": [{"name": "data", "emptyDir": {}}]})),
            &s,
            json!({}),
        );
        assert!(
            matches!(&outcome, Outcome::Rejected(m) if m.contains("the same directory")),
            "{spelled}: {outcome:?}"
        );
    }
}

/// 6. A violation the Pod itself makes (its own `runAsNonRoot: false`,
///    `seccompProfile: Unconfined`) is the Pod's: Pod Security names only
///    the Pod, and the policy neither rejects nor skips the set for it.
#[test]
fn finding_6_the_pods_own_violations_do_not_blame_the_set() {
    let s = settings(json!({"sidecarSets": [{"name": "logs", "selector": {},
        "podSecurity": {"onViolation": "skip"},
        "containers": [{"name": "shipper", "image": "shipper:1", "securityContext": {
            "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]}]}));
    let restricted = json!({"pod-security.kubernetes.io/enforce": "restricted"});
    for pod_context in [
        json!({"runAsNonRoot": false, "seccompProfile": {"type": "RuntimeDefault"}}),
        json!({"runAsNonRoot": true, "seccompProfile": {"type": "Unconfined"}}),
    ] {
        let mut app = web();
        app["securityContext"] =
            json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}});
        let (outcome, warnings) = run(
            pod(json!({"securityContext": pod_context, "containers": [app]})),
            &s,
            restricted.clone(),
        );
        let answer = mutated(outcome);
        named(&answer, "initContainers", "shipper");
        assert!(
            !warnings
                .iter()
                .any(|w| w.contains("sidecar set logs would make the Pod violate")),
            "{pod_context}: {warnings:?}"
        );
    }
}

/// 7. A nested null (an empty Helm value) is unset: the restricted
///    defaults fill it.
#[test]
fn finding_7_a_nested_null_is_unset() {
    let s = settings(json!({"sidecarSets": [{"name": "logs", "selector": {},
        "podSecurity": {"defaults": "restricted"},
        "containers": [{"name": "shipper", "image": "shipper:1",
            "securityContext": {"capabilities": {"drop": null}, "runAsUser": 65534}}]}]}));
    let restricted = json!({"pod-security.kubernetes.io/enforce": "restricted"});
    let answer = mutated(run(pod(json!({"containers": [web()]})), &s, restricted).0);
    assert_eq!(
        named(&answer, "initContainers", "shipper")["securityContext"]["capabilities"],
        json!({"drop": ["ALL"]})
    );
}

/// 8. A quantity the API server cannot parse is the settings' error, with
///    its path, not every Pod's.
#[test]
fn finding_8_an_unparsable_quantity_is_a_settings_error() {
    assert_eq!(
        settings_problems(json!({"sidecarSets": [{"name": "logs", "selector": {},
            "containers": [{"name": "shipper", "image": "shipper:1", "resources": {"requests": {"cpu": "20 m"}}}]}]})),
        "sidecarSets[0].containers[0].resources.requests.cpu: shipper: \"20 m\" is not a quantity: unknown suffix \" m\" (use m, k, M, G, Ki, Mi, Gi, …); write a quantity such as 100m, 0.5 or 64Mi"
    );
}

/// 9. A version label Pod Security does not parse (`^v1\.(0|[1-9][0-9]*)$`)
///    is evaluated as latest.
#[test]
fn finding_9_version_labels_parse_as_pod_security_parses_them() {
    let s = settings(json!({"sidecarSets": [{"name": "mesh", "selector": {},
        "containers": [{"name": "envoy", "image": "envoy:1", "securityContext": {"privileged": true}}]}]}));
    for version in ["v1.025", "v1.+25", "v1.033"] {
        let labels = json!({"pod-security.kubernetes.io/enforce": "baseline",
            "pod-security.kubernetes.io/enforce-version": version});
        let (outcome, _) = run(pod(json!({"containers": [web()]})), &s, labels);
        assert!(
            matches!(&outcome, Outcome::Rejected(m) if m.contains("PodSecurity \"baseline:latest\"")),
            "{version}: {outcome:?}"
        );
    }
}
