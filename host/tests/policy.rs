//! wasm-level tests: the built `policy.wasm`, loaded and evaluated the way
//! policy-server does it (fresh instance per request, JSON Patch diff).
//! Build the module first: `make policy.wasm` (POLICY_WASM overrides the path).

use std::path::{Path, PathBuf};

use host::{AdmissionResponse, read_policy_resources, read_request, read_settings};
use serde_json::{Value, json};

mod common;
use common::*;

fn settings() -> Value {
    read_settings(&repo().join("test_data/settings.yaml")).unwrap()
}

fn evaluate(request: &Value) -> AdmissionResponse {
    policy().evaluate(request, &settings()).unwrap()
}

/// The request at `path`, evaluated, with its patch applied.
fn request_path_patched(path: &str) -> Value {
    let request = request(path);
    patched(&request, &evaluate(&request))
}

enum Expect {
    Unchanged,
    Patched(&'static [&'static str]),
    Rejected(&'static str),
}

const FIXTURES: &str = "test_data/requests";

/// A Pod with two volumes and no init container gets the log shipper and the mesh.
const LOG_SHIPPER_AND_MESH: &[&str] = &[
    "add /metadata/annotations/fluentbit.io~1parser",
    "add /metadata/annotations/mesh.example.com~1config",
    "add /metadata/annotations/sidecarset.kubewarden.io~1status",
    "add /spec/imagePullSecrets",
    "add /spec/initContainers",
    "add /spec/volumes/2",
];

/// Every request of test_data, with what the policy
/// must answer under test_data/settings.yaml.
fn table() -> Vec<(String, Expect)> {
    use Expect::*;
    let fixture = |name: &str| format!("{FIXTURES}/{name}");
    let data = |name: &str| format!("test_data/requests/{name}");
    vec![
        (fixture("deployment-create.json"), Unchanged),
        (fixture("ingress-create.json"), Unchanged),
        (fixture("pod-update-labels.json"), Unchanged),
        (
            fixture("pod-replicaset-create.json"),
            Patched(LOG_SHIPPER_AND_MESH),
        ),
        (
            fixture("pod-newer-fields-create.json"),
            Patched(LOG_SHIPPER_AND_MESH),
        ),
        // skipHostNetworkPods (default true): a proxy there would capture
        // the node's traffic.
        (fixture("pod-hostnetwork-create.json"), Unchanged),
        (
            fixture("pod-job-create.json"),
            // A regular sidecar joins spec.containers (after the app):
            // kubectl's default container is named, the Job's own.
            Patched(&[
                "add /metadata/annotations/kubectl.kubernetes.io~1default-container",
                "add /metadata/annotations/mesh.example.com~1config",
                "add /metadata/annotations/sidecarset.kubewarden.io~1status",
                "add /spec/containers/1",
                "add /spec/imagePullSecrets",
                "add /spec/initContainers",
            ]),
        ),
        (
            // The injected entries go first: json-patch's diff then rewrites
            // the shifted entries field by field. What counts is the result,
            // checked by `injected_pods_keep_the_pod_s_own_entries_in_order`.
            fixture("pod-own-init-and-native-sidecar-create.json"),
            Patched(&[
                "add /metadata/annotations/fluentbit.io~1parser",
                "add /metadata/annotations/mesh.example.com~1config",
                "add /metadata/annotations/sidecarset.kubewarden.io~1status",
                "add /spec/imagePullSecrets",
                "replace /spec/initContainers/0/image",
                "replace /spec/initContainers/0/name",
                "add /spec/initContainers/0/volumeMounts",
                "remove /spec/initContainers/0/args",
                "remove /spec/initContainers/0/imagePullPolicy",
                "remove /spec/initContainers/0/ports",
                "remove /spec/initContainers/0/resources",
                "remove /spec/initContainers/0/startupProbe",
                "remove /spec/initContainers/0/terminationMessagePath",
                "remove /spec/initContainers/0/terminationMessagePolicy",
                "replace /spec/initContainers/1/image",
                "replace /spec/initContainers/1/name",
                "add /spec/initContainers/1/securityContext",
                "remove /spec/initContainers/1/command",
                "remove /spec/initContainers/1/imagePullPolicy",
                "remove /spec/initContainers/1/resources",
                "remove /spec/initContainers/1/terminationMessagePath",
                "remove /spec/initContainers/1/terminationMessagePolicy",
                "add /spec/initContainers/2",
                "add /spec/initContainers/3",
                "add /spec/initContainers/4",
                "add /spec/volumes/2",
            ]),
        ),
        (
            data("admission-review-pod.json"),
            Patched(&[
                "add /metadata/annotations",
                "add /spec/imagePullSecrets",
                "add /spec/initContainers",
                "add /spec/volumes/1",
            ]),
        ),
        (
            data("pod-billing-namespace.json"),
            Patched(&[
                "add /metadata/annotations",
                "add /spec/imagePullSecrets",
                "add /spec/initContainers",
            ]),
        ),
        (
            data("pod-skip-log-shipper.json"),
            Patched(&[
                "add /metadata/annotations/mesh.example.com~1config",
                "add /metadata/annotations/sidecarset.kubewarden.io~1status",
                "add /spec/imagePullSecrets",
                "add /spec/initContainers",
            ]),
        ),
        (
            data("pod-stale-copy.json"),
            Patched(&[
                "add /metadata/annotations/fluentbit.io~1parser",
                "add /metadata/annotations/mesh.example.com~1config",
                "replace /metadata/annotations/sidecarset.kubewarden.io~1status",
                "replace /spec/initContainers/0/image",
                "replace /spec/initContainers/0/name",
                "add /spec/initContainers/0/restartPolicy",
                "replace /spec/initContainers/0/volumeMounts/0/mountPath",
                "replace /spec/initContainers/0/volumeMounts/0/name",
                "remove /spec/initContainers/0/imagePullPolicy",
                "remove /spec/initContainers/0/resources",
                "remove /spec/initContainers/0/terminationMessagePath",
                "remove /spec/initContainers/0/terminationMessagePolicy",
                "replace /spec/initContainers/1/image",
                "replace /spec/initContainers/1/name",
                "add /spec/initContainers/1/securityContext",
                "remove /spec/initContainers/1/imagePullPolicy",
                "remove /spec/initContainers/1/resources",
                "remove /spec/initContainers/1/restartPolicy",
                "remove /spec/initContainers/1/terminationMessagePath",
                "remove /spec/initContainers/1/terminationMessagePolicy",
                "remove /spec/initContainers/1/volumeMounts",
                "add /spec/initContainers/2",
                "add /spec/volumes/1",
            ]),
        ),
        (data("pod-opt-out-all.json"), Unchanged),
        (data("pod-no-labels.json"), Unchanged),
        (data("pod-status-subresource.json"), Unchanged),
        (
            data("pod-name-conflict.json"),
            Rejected(
                "sidecar set \"log-shipper\": container \"fluent-bit\" cannot be injected: spec.containers[1] already has that name; rename the container in the Pod or in the set, or opt the Pod out with the annotation sidecarset.kubewarden.io/skip: log-shipper",
            ),
        ),
        (
            data("pod-volume-conflict.json"),
            Rejected(
                "sidecar set \"log-shipper\": volume \"varlog\" cannot be injected: spec.volumes[0] has the same name and a different definition; rename the volume in the set, or make the two definitions identical",
            ),
        ),
        (
            data("pod-port-conflict.json"),
            Rejected(
                "sidecar set \"mesh\": container \"envoy\" cannot be injected: port 15001/TCP is already used by spec.containers[0] (\"app\"), and the containers of a Pod share one network namespace; change the port in the set or in the Pod",
            ),
        ),
        (
            data("pod-dangling-mount.json"),
            Rejected(
                "sidecar set \"cert-reloader\": container \"cert-reloader\" mounts volume \"tls-certs\" (volumeMounts[0]), which neither the set nor the Pod defines in spec.volumes; add the volume to the set's volumes or to the Pod",
            ),
        ),
        (
            data("pod-merge-annotation-not-object.json"),
            Rejected(
                "sidecar set \"mesh\": cannot merge patchPodMetadata[0] into metadata.annotations[\"mesh.example.com/config\"]: the Pod's value is not a JSON object; fix or remove the annotation, or use patchPolicy Overwrite",
            ),
        ),
        // Workloads are checked, never mutated.
        (
            data("cronjob-create.json"),
            Rejected(
                "spec.jobTemplate.spec.template: the Pods of this CronJob would be rejected: sidecar set \"log-shipper\": container \"fluent-bit\" cannot be injected: spec.jobTemplate.spec.template.spec.containers[0] already has that name; rename the container in the Pod or in the set, or opt the Pod out with the annotation sidecarset.kubewarden.io/skip: log-shipper",
            ),
        ),
        // Pod-level resources: settings.yaml's sidecars request nothing,
        // so spec.resources stays (test_data/settings-resources.yaml, in
        // tests/resources.rs, raises it).
        (
            fixture("pod-level-resources-create.json"),
            Patched(LOG_SHIPPER_AND_MESH),
        ),
        // A resources override for a container whose set gives no bounds.
        (
            fixture("pod-resources-override.json"),
            Rejected(
                "annotation sidecarset.kubewarden.io/resources.envoy: sidecar set mesh does not let Pods change the resources of container envoy (it gives no resourceBounds); remove the annotation",
            ),
        ),
        (
            data("pod-object-null.json"),
            Rejected(
                "invalid Pod in the admission request: request.object must be a Pod object, found null; send a valid Pod object",
            ),
        ),
    ]
}

/// The module runs on every Pod creation and is pulled by every
/// policy-server: its size is a feature. Built by `make policy.wasm`
/// (wasm-opt -Oz); a plain cargo build is larger. Raised from 580,000 for
/// the real-cluster rules (an untrusted status record checked against the
/// Pod, defaulted volumes, ports of containers that run together, verify on
/// UPDATE, typo detection): 603,214 bytes. After the lean request path
/// 609,475 bytes (its target, 550,000, is not met: docs/performance.md says
/// what was tried and what would get there). Raised for sidecar resources
/// (resourcesPolicy with exact quantities and its expression language, a
/// regex matcher of its own instead of regex-lite's 52 KB, bounded
/// overrides, Pod-level resources, the effective request): 726,547 bytes.
/// Raised for rollout (revisions, the canary, pins, in-place upgrades and
/// image protection on Pod UPDATE; most of it serde's code for the new
/// setting types, read by each of the settings' readers): 795,008 bytes.
const SIZE_BUDGET_BYTES: u64 = 850_000;

#[test]
fn policy_wasm_stays_within_its_size_budget() {
    let path = std::env::var_os("POLICY_WASM")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("policy.wasm"));
    let size = std::fs::metadata(&path).unwrap().len();
    println!(
        "{}: {size} bytes (budget {SIZE_BUDGET_BYTES})",
        path.display()
    );
    assert!(
        size <= SIZE_BUDGET_BYTES,
        "{} is {size} bytes, over the {SIZE_BUDGET_BYTES}-byte budget: check what the change added (and that wasm-opt ran)",
        path.display()
    );
}

#[test]
fn requests_are_read_as_kwctl_reads_them() {
    let mut incomplete = request("test_data/requests/pod-no-labels.json");
    incomplete.as_object_mut().unwrap().remove("resource");
    let file = std::env::temp_dir().join(format!("no-resource-{}.json", std::process::id()));
    std::fs::write(&file, incomplete.to_string()).unwrap();
    let error = read_request(&file).unwrap_err().to_string();
    let _ = std::fs::remove_file(&file);
    assert_eq!(
        error,
        "cannot build AdmissionRequest object from given input: missing field `resource`"
    );
    // Optional members that are null are not sent on, as policy-evaluator does.
    let normalized = request("test_data/requests/pod-object-null.json");
    assert!(normalized.get("object").is_none() && normalized.get("oldObject").is_none());
}

#[test]
fn protocol_version_is_v1() {
    assert_eq!(
        policy().instance().unwrap().protocol_version().unwrap(),
        "v1"
    );
}

#[test]
fn the_table_covers_every_request_file() {
    let mut covered: Vec<String> = table().into_iter().map(|(path, _)| path).collect();
    covered.sort();
    assert_eq!(
        covered,
        all_request_files(),
        "add the new request files to table()"
    );
}

#[test]
fn every_request_gets_its_decision_and_exact_patch() {
    for (path, expect) in table() {
        let response = evaluate(&request(&path));
        match expect {
            Expect::Unchanged => {
                assert!(response.allowed, "{path}: {response:?}");
                assert!(
                    response.patch.is_none(),
                    "{path}: unexpected patch {:?}",
                    op_paths(&response)
                );
                assert!(response.status.is_none(), "{path}");
            }
            Expect::Patched(ops) => {
                assert!(response.allowed, "{path}: {response:?}");
                assert_eq!(response.patch_type.as_deref(), Some("JSONPatch"), "{path}");
                assert_eq!(op_paths(&response), ops, "{path}");
            }
            Expect::Rejected(message) => {
                assert!(!response.allowed, "{path}");
                assert_eq!(response.message(), Some(message), "{path}");
                assert!(response.patch.is_none(), "{path}");
            }
        }
    }
}

#[test]
fn a_second_evaluation_of_an_injected_pod_changes_nothing() {
    for (path, expect) in table() {
        if !matches!(expect, Expect::Patched(_)) {
            continue;
        }
        let mut request = request(&path);
        let first = evaluate(&request);
        request["object"] = patched(&request, &first);
        let second = evaluate(&request);
        assert!(second.allowed, "{path}");
        assert!(
            second.patch.is_none(),
            "{path}: second pass patched {:?}",
            op_paths(&second)
        );
    }
}

#[test]
fn the_uid_is_copied_into_the_response() {
    let request = request("test_data/requests/pod-replicaset-create.json");
    assert_eq!(
        evaluate(&request).uid,
        "a1f3c2e4-0b6d-4c7e-8f9a-1b2c3d4e5f60"
    );
}

/// The original entries of a list, in order, with the injected ones taken out.
fn own_entries(list: &Value, injected: &[&str]) -> Vec<Value> {
    list.as_array()
        .map(|l| {
            l.iter()
                .filter(|e| !injected.contains(&e["name"].as_str().unwrap_or("")))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn injected_pods_keep_every_original_field_and_entry() {
    for (path, expect) in table() {
        if !matches!(expect, Expect::Patched(_)) {
            continue;
        }
        let request = request(&path);
        let before = &request["object"];
        let after = patched(&request, &evaluate(&request));
        let status = status_of(&after);
        let added = |field: &str| -> Vec<String> {
            status["sets"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|s| s[field].as_array().cloned().unwrap_or_default())
                .map(|n| n.as_str().unwrap().to_string())
                .collect()
        };
        let containers = [added("initContainers"), added("containers")].concat();
        let volumes = added("volumes");
        for (list, injected) in [
            ("initContainers", &containers),
            ("containers", &containers),
            ("volumes", &volumes),
        ] {
            let injected: Vec<&str> = injected.iter().map(String::as_str).collect();
            assert_eq!(
                own_entries(&after["spec"][list], &injected),
                own_entries(&before["spec"][list], &injected),
                "{path}: spec.{list}"
            );
        }
        for (key, value) in before["spec"].as_object().unwrap() {
            if ![
                "initContainers",
                "containers",
                "volumes",
                "imagePullSecrets",
            ]
            .contains(&key.as_str())
            {
                assert_eq!(&after["spec"][key], value, "{path}: spec.{key}");
            }
        }
        for (key, value) in before.as_object().unwrap() {
            if key != "spec" && key != "metadata" {
                assert_eq!(&after[key], value, "{path}: {key}");
            }
        }
        for (key, value) in before["metadata"].as_object().unwrap() {
            if key != "annotations" {
                assert_eq!(&after["metadata"][key], value, "{path}: metadata.{key}");
            }
        }
        // Existing annotations are kept (Retain / merge only add).
        if let Some(annotations) = before["metadata"]["annotations"].as_object() {
            for (key, value) in annotations {
                if key != "sidecarset.kubewarden.io/status" && key != "mesh.example.com/config" {
                    assert_eq!(
                        &after["metadata"]["annotations"][key], value,
                        "{path}: annotation {key}"
                    );
                }
            }
        }
    }
}

#[test]
fn newer_fields_survive_injection() {
    let request = request("test_data/requests/pod-newer-fields-create.json");
    let after = patched(&request, &evaluate(&request));
    let before = &request["object"];
    for pointer in ["/spec/resources", "/spec/hostnameOverride"] {
        assert!(
            before.pointer(pointer).is_some(),
            "the fixture has {pointer}"
        );
        assert_eq!(after.pointer(pointer), before.pointer(pointer), "{pointer}");
    }
    let search = entry(&after, "containers", "search");
    assert_eq!(search, &before["spec"]["containers"][0]);
    assert!(
        search.get("restartPolicyRules").is_some()
            && search.pointer("/lifecycle/stopSignal").is_some()
    );
}

#[test]
fn injected_pods_follow_the_settings_placement() {
    let request = request("test_data/requests/pod-own-init-and-native-sidecar-create.json");
    let after = patched(&request, &evaluate(&request));
    assert_eq!(
        entry_names(&after, "initContainers"),
        [
            "fluent-bit",
            "mesh-init",
            "envoy",
            "cloud-sql-proxy",
            "db-migrate"
        ]
    );
    assert_eq!(
        after["spec"]["initContainers"][0]["restartPolicy"],
        "Always"
    );
    assert!(
        after["spec"]["initContainers"][1]
            .get("restartPolicy")
            .is_none()
    );
    assert_eq!(
        after["spec"]["initContainers"][2]["restartPolicy"],
        "Always"
    );
    let job = request_path_patched("test_data/requests/pod-job-create.json");
    assert_eq!(
        entry_names(&job, "containers"),
        ["report", "metrics-pusher"]
    );
    assert!(
        job["spec"]["containers"][1]
            .get("podInjectPolicy")
            .is_none()
    );
}

#[test]
fn the_status_annotation_names_what_was_added() {
    let after = request_path_patched("test_data/requests/pod-replicaset-create.json");
    let status = status_of(&after);
    let sets = status["sets"].as_array().unwrap();
    assert_eq!(sets.len(), 2);
    assert_eq!(sets[0]["name"], "log-shipper");
    assert_eq!(sets[0]["initContainers"], json!(["fluent-bit"]));
    assert_eq!(sets[0]["volumes"], json!(["varlog"]));
    assert_eq!(sets[1]["name"], "mesh");
    assert_eq!(sets[1]["initContainers"], json!(["mesh-init", "envoy"]));
    assert_eq!(sets[1]["imagePullSecrets"], json!(["mesh-registry"]));
    assert!(sets.iter().all(|s| s["hash"].as_str().unwrap().len() == 16));
}

#[test]
fn a_changed_set_makes_a_copied_pod_stale_and_it_is_reinjected() {
    let mut request = request("test_data/requests/pod-replicaset-create.json");
    let injected = patched(&request, &evaluate(&request));
    let mut newer = settings();
    newer["sidecarSets"][1]["containers"][0]["image"] = json!("envoyproxy/envoy:v1.34.0");
    request["object"] = injected;
    let response = policy().evaluate(&request, &newer).unwrap();
    let after = patched(&request, &response);
    assert_eq!(
        entry(&after, "initContainers", "envoy")["image"],
        "envoyproxy/envoy:v1.34.0"
    );
    assert_eq!(
        entry_names(&after, "initContainers").len(),
        3,
        "no duplicate container"
    );
    request["object"] = after;
    assert!(policy().evaluate(&request, &newer).unwrap().patch.is_none());
}

#[test]
fn the_response_is_printed_as_kwctl_prints_it() {
    let response = evaluate(&request("test_data/requests/pod-object-null.json"));
    let line = serde_json::to_string(&response).unwrap();
    assert_eq!(
        line,
        r#"{"uid":"t-10","allowed":false,"status":{"message":"invalid Pod in the admission request: request.object must be a Pod object, found null; send a valid Pod object"},"auditAnnotations":null,"warnings":null}"#
    );
}

#[test]
fn settings_are_validated_by_the_module() {
    let valid = policy().validate_settings(&settings()).unwrap();
    assert!(valid.valid, "{:?}", valid.message);
    for example in [
        "examples/cluster-admission-policy.yaml",
        "examples/verify-audit-policy.yaml",
        "examples/verify-baked-sidecars-policy.yaml",
    ] {
        for resource in read_policy_resources(&repo().join(example)).unwrap() {
            let answer = policy().validate_settings(&resource.settings).unwrap();
            assert!(answer.valid, "{example}: {:?}", answer.message);
        }
    }
    for (settings, message) in [
        (
            json!({"sidecarSets": [{"name": "x"}]}),
            "sidecarSets[0].selector: required; use {} to select every Pod, or matchLabels / matchExpressions",
        ),
        (
            json!({"sidecarSets": "x"}),
            "sidecarSets: invalid type: string \"x\", expected a sequence",
        ),
        (
            json!([]),
            "the settings must be a mapping (a JSON object) with sidecarSets, nativeSidecars, mode, jobPods, explain, excludedNamespaces, skipHostNetworkPods, namespaceLookupFailure, podLevelResources, maxAddedRequests, protectInjected and checkPodSecurity",
        ),
        (
            json!({"sidecarSets": [{"name": "a", "selector": {}, "updateStrategy": {"maxUnavailable": 0}}]}),
            "sidecarSets[0].updateStrategy.maxUnavailable: must be at least 1 (or 1%): 0 would never upgrade a Pod; use paused: true to stop a rollout",
        ),
        (
            json!({"sidecarSets": [{"name": "a", "selector": {}, "upgradeStrategy": {}}]}),
            "sidecarSets[0].upgradeStrategy: not supported: it needs OpenKruise's controller; this policy rolls sidecars out with revisions, injectionStrategy.canary and in-place upgrades on Pod UPDATE instead (docs/rollout.md); remove the field. Supported fields: name, mandatory, selector, namespace, namespaceSelector, hostNetworkPods, nativeSidecars, initContainers, containers, volumes, imagePullSecrets, injectionStrategy.paused, injectionStrategy.canary, patchPodMetadata, revisions, allowRevisionPin, allowNamespacePin, tags, podSecurity, appContainers, shutdown, updateStrategy",
        ),
    ] {
        let answer = policy().validate_settings(&settings).unwrap();
        assert!(!answer.valid);
        assert_eq!(answer.message.as_deref(), Some(message));
    }
}

/// At evaluation only the sets that select the Pod are read in full (the
/// settings come with every request); validate_settings has read them all.
#[test]
fn settings_the_module_cannot_read_at_evaluation_are_a_rejection_not_a_trap() {
    let request = request("test_data/requests/pod-replicaset-create.json");
    let broken = json!({"sidecarSets": [
        {"name": "other", "selector": {"matchLabels": {"tier": "db"}}, "containers": 5},
        {"name": 3, "selector": {}}]});
    let response = policy().evaluate(&request, &broken).unwrap();
    assert!(!response.allowed);
    assert_eq!(
        response.message(),
        Some(
            "invalid policy settings: settings.sidecarSets[1].name: invalid type: integer `3`, expected a string; fix the policy's settings"
        )
    );
    // The set that selects no Pod here is not read in full…
    let only_other = json!({"sidecarSets": [broken["sidecarSets"][0]]});
    let response = policy().evaluate(&request, &only_other).unwrap();
    assert!(response.allowed && response.patch.is_none(), "{response:?}");
    // …but validate_settings refuses it.
    assert_eq!(
        policy()
            .validate_settings(&only_other)
            .unwrap()
            .message
            .as_deref(),
        Some("sidecarSets[0].containers: invalid type: integer `5`, expected a sequence")
    );
}

/// Every injected Pod passes Kubernetes' own schemas, strictly (no unknown
/// field), for 1.33 and 1.36. The newer-fields fixture carries fields newer
/// than 1.33, so it is checked against 1.36 only.
#[test]
fn injected_pods_pass_kubernetes_validate_strict() {
    let mut all = Vec::new();
    for (path, expect) in table() {
        if matches!(expect, Expect::Patched(_)) {
            let name = Path::new(&path)
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .to_string();
            all.push((name, request_path_patched(&path)));
        }
    }
    let older: Vec<_> = all
        .iter()
        .filter(|(name, _)| name != "pod-newer-fields-create")
        .cloned()
        .collect();
    for (version, pods) in [("1.33.0", &older), ("1.36.0", &all)] {
        kubernetes_validate(pods, version).unwrap_or_else(|e| panic!("{e}"));
        println!(
            "kubernetes-validate --strict {version}: {} Pods valid",
            pods.len()
        );
    }
    // The check must be able to fail: a Pod with an unknown container field.
    let mut broken = request_path_patched("test_data/requests/pod-replicaset-create.json");
    broken["spec"]["initContainers"][0]["podInjectPolicy"] = json!("BeforeAppContainer");
    assert!(
        kubernetes_validate(&[("broken".into(), broken)], "1.36.0").is_err(),
        "kubernetes-validate --strict accepts an unknown field"
    );
}
