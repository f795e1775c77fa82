//! What the red-team pass of issue 32 reproduced through kwctl, one test
//! each, through the policy's public API only. Each admission case shows
//! the rule with the oracle (the Pod the policy answers where the Pod's
//! condition does not hold passes; the same answer with the condition is
//! refused), then that the policy rejects a Pod with the condition, saying
//! why, instead of answering with a Pod the API server refuses.

mod common;
use common::settings_problems;
use kubewarden_policy_sdk::settings::Validatable;
use pod_validation_oracle::{Version, assert_accepted, validate_pod_create};
use serde_json::{Value, json};
use sidecarset_policy::inject::{self, Outcome};
use sidecarset_policy::namespace::Namespace;
use sidecarset_policy::settings::Settings;

const LATEST: Version = Version(36);

fn settings(value: Value) -> Settings {
    let s = Settings::from_slice(value.to_string().as_bytes()).expect("settings parse");
    s.validate().expect("settings load");
    s
}

fn pod(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-0", "namespace": "shop", "labels": {"app": "web"}},
        "spec": spec})
}

fn web() -> Value {
    json!({"name": "web", "image": "shop/web:1"})
}

fn run(pod: Value, settings: &Settings) -> Outcome {
    let mut namespace = Namespace::with_lookup("shop", None);
    inject::inject(pod, settings, &mut namespace, &mut Vec::new())
}

/// The rule and the rejection: `ok` is injected into a Pod the API server
/// accepts; `condition` on that answer makes the API server refuse it by
/// `rule` (the Go function the oracle names); `condition` on `ok` itself is
/// rejected by the policy with `rejection`.
fn refused_rather_than_answered(
    set: Value,
    ok: Value,
    condition: impl Fn(&mut Value),
    rule: &str,
    rejection: &str,
) {
    let s = settings(json!({"sidecarSets": [set]}));
    let Outcome::Mutated(mut answer) = run(ok.clone(), &s) else {
        panic!("the Pod without the condition is injected");
    };
    assert_accepted(&answer, LATEST);
    condition(&mut answer);
    let errors = validate_pod_create(&answer, LATEST);
    assert!(
        errors.iter().any(|e| e.rule == rule),
        "the oracle refuses the answer with the condition: {errors:?}"
    );
    let mut bad = ok;
    condition(&mut bad);
    assert_eq!(run(bad, &s), Outcome::Rejected(rejection.into()));
}

/// 1. A sidecar among spec.containers with a hostPort other than its
///    containerPort, in a Pod on the host's network (`validateHostNetwork`).
#[test]
fn host_port_unequal_to_container_port_in_a_host_network_pod() {
    refused_rather_than_answered(
        json!({"name": "agent", "selector": {}, "hostNetworkPods": "inject", "nativeSidecars": false,
            "containers": [{"name": "node-agent", "image": "agent:1",
                "ports": [{"containerPort": 9100, "hostPort": 19100}]}]}),
        pod(json!({"containers": [web()]})),
        |p| p["spec"]["hostNetwork"] = json!(true),
        "validatePodHostNetworkDeps",
        "sidecar set \"agent\": container \"node-agent\" has ports[0].hostPort 19100 and containerPort 9100, which the API server refuses in a Pod with spec.hostNetwork: true (they must be equal); set hostPort to containerPort or remove it in the set, or keep the set out of host-network Pods (hostNetworkPods)",
    );
}

/// 2. resourceBounds for a resource whose request must equal its limit, or
///    come in pages: a Pod's override within the bounds is refused.
#[test]
fn resource_bounds_only_for_cpu_memory_and_ephemeral_storage() {
    assert_eq!(
        settings_problems(json!({"sidecarSets": [{"name": "gpu", "selector": {},
            "containers": [{"name": "probe", "image": "probe:1",
                "resourceBounds": {"max": {"nvidia.com/gpu": "1", "memory": "1Gi"}}}]}]})),
        "sidecarSets[0].containers[0].resourceBounds.max.nvidia.com/gpu: probe: only cpu, memory and ephemeral-storage can be bounded (a Pod's override sets requests and limits apart, which the API server refuses for nvidia.com/gpu); remove nvidia.com/gpu, or give it in the container's resources"
    );
}

/// 3. A RestartContainer resize policy in a Pod that never restarts.
#[test]
fn restart_container_resize_policy_in_a_never_restarting_pod() {
    refused_rather_than_answered(
        json!({"name": "logs", "selector": {}, "nativeSidecars": false,
            "containers": [{"name": "shipper", "image": "shipper:1",
                "resizePolicy": [{"resourceName": "memory", "restartPolicy": "RestartContainer"}]}]}),
        pod(json!({"containers": [web()], "restartPolicy": "Always"})),
        |p| p["spec"]["restartPolicy"] = json!("Never"),
        "validateResizePolicy",
        "sidecar set \"logs\": container \"shipper\" has resizePolicy[0].restartPolicy \"RestartContainer\", which the API server refuses in a Pod with spec.restartPolicy: Never (only NotRequired); use NotRequired in the set, or keep the set out of such Pods (its selector)",
    );
}

/// 4. Annotations a set writes on every Pod that the API server checks.
#[test]
fn pod_metadata_annotations_the_api_server_checks() {
    let set = |key: &str, value: &str| {
        json!({"sidecarSets": [{"name": "logs", "selector": {},
            "containers": [{"name": "shipper", "image": "shipper:1"}],
            "patchPodMetadata": [{"annotations": {key: value}}]}]})
    };
    assert_eq!(
        settings_problems(set("controller.kubernetes.io/pod-deletion-cost", "high")),
        "sidecarSets[0].patchPodMetadata[0].annotations[\"controller.kubernetes.io/pod-deletion-cost\"]: the API server takes only a 32-bit integer, such as \"100\" or \"-5\"; write one"
    );
    assert_eq!(
        settings_problems(set("controller.kubernetes.io/pod-deletion-cost", "-5")),
        ""
    );
    for key in [
        "seccomp.security.alpha.kubernetes.io/pod",
        "container.seccomp.security.alpha.kubernetes.io/shipper",
        "container.apparmor.security.beta.kubernetes.io/shipper",
    ] {
        assert_eq!(
            settings_problems(set(key, "unconfined")),
            format!(
                "sidecarSets[0].patchPodMetadata[0].annotations[{key:?}]: a deprecated security profile annotation, which the API server checks against the containers' securityContext (and refuses on a mismatch); set securityContext.seccompProfile or appArmorProfile in the set's containers instead"
            )
        );
    }
}

/// 5. A plain sidecar in a Windows HostProcess Pod: all or none.
#[test]
fn plain_sidecar_in_a_host_process_pod() {
    refused_rather_than_answered(
        json!({"name": "logs", "selector": {}, "hostNetworkPods": "inject",
            "containers": [{"name": "shipper", "image": "shipper:1"}]}),
        pod(json!({"os": {"name": "windows"}, "hostNetwork": true, "containers": [web()]})),
        |p| {
            p["spec"]["containers"][0]["securityContext"] =
                json!({"windowsOptions": {"hostProcess": true}});
        },
        "validateWindowsHostProcessPod",
        "sidecar set \"logs\": container \"shipper\" is not a HostProcess container and the Pod's containers are, which the API server refuses (a Pod's containers are all HostProcess containers or none: securityContext.windowsOptions.hostProcess); keep the set out of HostProcess Pods (its selector)",
    );
}

/// 6. A volume given as a mount to a container that attaches it as a
///    block device (`validateVolumeDevices`).
#[test]
fn a_volume_mounted_and_attached_in_one_container() {
    refused_rather_than_answered(
        json!({"name": "cache", "selector": {},
            "containers": [{"name": "warmer", "image": "warmer:1"}],
            "volumes": [{"name": "cache", "persistentVolumeClaim": {"claimName": "cache"}}],
            "appContainers": {"volumeMounts": [{"name": "cache", "mountPath": "/cache"}]}}),
        pod(json!({"containers": [web()],
            "volumes": [{"name": "cache", "persistentVolumeClaim": {"claimName": "cache"}}]})),
        |p| {
            let web = &mut p["spec"]["containers"][0];
            web["volumeDevices"] = json!([{"name": "cache", "devicePath": "/dev/cache"}]);
            if let Some(mounts) = web.get_mut("volumeMounts").and_then(Value::as_array_mut) {
                // The answer: the given mount stays, beside the device.
                assert!(mounts.iter().any(|m| m["name"] == "cache"));
            }
        },
        "ValidateVolumeDevices",
        "sidecar set \"cache\": appContainers.volumeMounts cannot mount volume \"cache\" in container \"web\": spec.containers[0].volumeDevices attaches that volume as a block device at \"/dev/cache\", and the API server refuses a volume both mounted and attached in one container; leave the container out (appContainers.names) or give the set another volume",
    );
}

/// 7. An unmasked /proc outside a user namespace.
#[test]
fn unmasked_proc_without_a_user_namespace() {
    refused_rather_than_answered(
        json!({"name": "debug", "selector": {},
            "containers": [{"name": "inspector", "image": "inspector:1",
                "securityContext": {"procMount": "Unmasked"}}]}),
        pod(json!({"containers": [web()], "hostUsers": false})),
        |p| {
            if let Some(spec) = p["spec"].as_object_mut() {
                spec.remove("hostUsers");
            }
        },
        "ValidateSecurityContext",
        "sidecar set \"debug\": container \"inspector\" sets securityContext.procMount: Unmasked, which the API server accepts only in a Pod with spec.hostUsers: false; remove it from the set's container, or keep the set out of such Pods (its selector)",
    );
}

/// 8. The policy's record pushing the Pod's annotations past 256 KiB.
#[test]
fn the_record_past_the_annotation_limit() {
    use sidecarset_policy::admission::{Decision, decide};
    let big = "x".repeat(262_144 - 64);
    let request = |annotations: Value| {
        json!({"request": {"uid": "1", "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "operation": "CREATE", "namespace": "shop",
            "object": {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "web-0", "namespace": "shop", "annotations": annotations},
                "spec": {"containers": [web()]}}},
        "settings": {"sidecarSets": [{"name": "logs", "selector": {},
            "containers": [{"name": "shipper", "image": "shipper:1"}]}]}})
        .to_string()
    };
    // Below the limit with the record: injected, and the API server takes it.
    let Decision::Mutate(answer) =
        decide(request(json!({"note": "x".repeat(1000)})).as_bytes()).decision
    else {
        panic!("injected");
    };
    assert_accepted(&answer, LATEST);
    // The same answer with the large annotation is refused...
    let mut over = answer.clone();
    over["metadata"]["annotations"]["note"] = json!(big);
    assert!(
        validate_pod_create(&over, LATEST)
            .iter()
            .any(|e| e.rule == "ValidateAnnotations")
    );
    // ...so the Pod that brings it is rejected with the cause.
    let Decision::Reject(message) = decide(request(json!({"note": big})).as_bytes()).decision
    else {
        panic!("rejected");
    };
    assert!(message.starts_with("metadata.annotations: with what the policy writes (its record sidecarset.kubewarden.io/status, the sets' patchPodMetadata) the Pod's annotations total "));
    // The record is the same whatever the Pod's other annotations.
    let record = answer["metadata"]["annotations"]["sidecarset.kubewarden.io/status"]
        .as_str()
        .unwrap();
    let total = 262_084 + "sidecarset.kubewarden.io/status".len() + record.len();
    assert_eq!(
        message,
        format!(
            "metadata.annotations: with what the policy writes (its record sidecarset.kubewarden.io/status, the sets' patchPodMetadata) the Pod's annotations total {total} bytes, above the 262144 the API server allows (keys and values); shorten the Pod's annotations"
        )
    );
    // A Pod already past the limit is the API server's to refuse: not
    // blamed on the policy.
    let past = "x".repeat(262_144);
    assert!(matches!(
        decide(request(json!({"note": past})).as_bytes()).decision,
        Decision::Mutate(_)
    ));
}

/// 12. The Pod's deprecated seccomp annotation naming a sidecar whose
///     profile the set sets (`validateSeccompAnnotationsAndFieldsMatch`).
#[test]
fn a_profile_annotation_naming_a_sidecar() {
    refused_rather_than_answered(
        json!({"name": "logs", "selector": {},
            "containers": [{"name": "shipper", "image": "shipper:1",
                "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}}]}),
        pod(json!({"containers": [web()]})),
        |p| {
            p["metadata"]["annotations"] =
                json!({"container.seccomp.security.alpha.kubernetes.io/shipper": "unconfined"});
        },
        "validateSeccompAnnotationsAndFieldsMatch",
        "sidecar set \"logs\": container \"shipper\" is named by the Pod's annotation container.seccomp.security.alpha.kubernetes.io/shipper, which the API server applies to that container and checks against its securityContext, and a sidecar's security profile is its set's to decide; remove the annotation from the Pod (its securityContext fields set the app containers' profiles)",
    );
}

// The second red-team pass, on the fixes above.

/// 4b. A deletion cost with a leading zero (`validFirstDigit`), and the
///     tolerations annotation the API server parses.
#[test]
fn pod_metadata_annotations_the_api_server_parses() {
    let set = |key: &str, value: &str| {
        json!({"sidecarSets": [{"name": "logs", "selector": {},
            "containers": [{"name": "shipper", "image": "shipper:1"}],
            "patchPodMetadata": [{"annotations": {key: value}}]}]})
    };
    for cost in ["007", "00"] {
        assert_eq!(
            settings_problems(set("controller.kubernetes.io/pod-deletion-cost", cost)),
            "sidecarSets[0].patchPodMetadata[0].annotations[\"controller.kubernetes.io/pod-deletion-cost\"]: the API server takes only a 32-bit integer, such as \"100\" or \"-5\"; write one"
        );
    }
    for cost in ["0", "-007"] {
        assert_eq!(
            settings_problems(set("controller.kubernetes.io/pod-deletion-cost", cost)),
            ""
        );
    }
    assert_eq!(
        settings_problems(set("scheduler.alpha.kubernetes.io/tolerations", "nope")),
        "sidecarSets[0].patchPodMetadata[0].annotations[\"scheduler.alpha.kubernetes.io/tolerations\"]: a deprecated annotation the API server reads as the Pod's tolerations (and refuses when they do not parse); the policy does not set tolerations: remove it"
    );
}

/// 3b. A negative grace period (accepted, read as 1 s by the kubelet) gets
///     no preStop sleep: none is within it.
#[test]
fn a_negative_grace_period_gets_no_sleep() {
    let s = settings(
        json!({"sidecarSets": [{"name": "mesh", "selector": {}, "nativeSidecars": false,
        "containers": [{"name": "envoy", "image": "envoy:1", "drainSeconds": 10}]}]}),
    );
    let p = pod(json!({"terminationGracePeriodSeconds": -1, "containers": [web()]}));
    for version in Version::all() {
        assert_accepted(&p, version);
    }
    let Outcome::Mutated(answer) = run(p, &s) else {
        panic!("injected");
    };
    for version in Version::all() {
        assert_accepted(&answer, version);
    }
    assert!(
        answer["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c.get("lifecycle").is_none()),
        "{answer}"
    );
}

/// 12b. A copy that holds the sidecar already is created with it: the
///      Pod's profile annotation naming it is refused there too.
#[test]
fn a_profile_annotation_naming_a_held_sidecar() {
    let s = settings(json!({"sidecarSets": [{"name": "logs", "selector": {},
        "containers": [{"name": "shipper", "image": "shipper:1",
            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}}]}]}));
    let Outcome::Mutated(mut copy) = run(pod(json!({"containers": [web()]})), &s) else {
        panic!("injected");
    };
    assert_eq!(run(copy.clone(), &s), Outcome::Unchanged);
    copy["metadata"]["annotations"]["container.seccomp.security.alpha.kubernetes.io/shipper"] =
        json!("unconfined");
    assert!(
        validate_pod_create(&copy, LATEST)
            .iter()
            .any(|e| e.rule == "validateSeccompAnnotationsAndFieldsMatch")
    );
    assert_eq!(
        run(copy, &s),
        Outcome::Rejected("sidecar set \"logs\": container \"shipper\" is named by the Pod's annotation container.seccomp.security.alpha.kubernetes.io/shipper, which the API server applies to that container and checks against its securityContext, and a sidecar's security profile is its set's to decide; remove the annotation from the Pod (its securityContext fields set the app containers' profiles)".into())
    );
}

// The third red-team pass, on the fixes of the second.

/// 4c. An annotation key the API server refuses (`ValidateAnnotations`:
///     a qualified name) is the settings' error, not every Pod's.
#[test]
fn pod_metadata_annotation_keys_are_qualified_names() {
    let set = |key: &str| {
        json!({"sidecarSets": [{"name": "logs", "selector": {},
            "containers": [{"name": "shipper", "image": "shipper:1"}],
            "patchPodMetadata": [{"annotations": {key: "x"}}]}]})
    };
    let long = "n".repeat(64);
    for key in [
        "example.com/team owner",
        "a/b/c",
        long.as_str(),
        "",
        "-x",
        "/x",
        "Ex_ample.com/k",
    ] {
        assert_eq!(
            settings_problems(set(key)),
            format!(
                "sidecarSets[0].patchPodMetadata[0].annotations[{key:?}]: not a key the API server takes: an optional DNS subdomain prefix and '/', then a name of at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit; fix the key"
            ),
            "{key}"
        );
        let mut pod = pod(json!({"containers": [web()]}));
        pod["metadata"]["annotations"] = json!({key: "x"});
        assert!(!validate_pod_create(&pod, LATEST).is_empty(), "{key}");
    }
    for key in ["Example.COM/Key", "team_owner.v1", "a.b-c/D_e.f"] {
        assert_eq!(settings_problems(set(key)), "", "{key}");
        let mut pod = pod(json!({"containers": [web()]}));
        pod["metadata"]["annotations"] = json!({key: "x"});
        assert_accepted(&pod, LATEST);
    }
}

/// 3c. The app's own stop is not capped at 86400 s when the grace period
///     is sized for the drains: a longer one needs more, not nothing.
#[test]
fn a_long_app_stop_still_needs_the_drains_on_top() {
    let s = settings(
        json!({"sidecarSets": [{"name": "mesh", "selector": {}, "nativeSidecars": false,
        "containers": [{"name": "envoy", "image": "envoy:1", "drainSeconds": 20},
            {"name": "agent", "image": "agent:1", "drainSeconds": 15, "dependsOn": ["envoy"]}],
        "shutdown": {"extendGracePeriod": true, "maxGracePeriodSeconds": 60}}]}),
    );
    let mut app = web();
    app["lifecycle"] = json!({"preStop": {"sleep": {"seconds": 95000}}});
    let p = pod(json!({"terminationGracePeriodSeconds": 95010, "containers": [app]}));
    let Outcome::Rejected(message) = run(p, &s) else {
        panic!("the drains need 95035 s, above the bound");
    };
    assert!(
        message.starts_with("sidecar set \"mesh\": the Pod's terminationGracePeriodSeconds would have to be raised from 95010 to 95035 (the app's own stop (95000 s,"),
        "{message}"
    );
}
