//! The requests and settings the benchmarks measure (`make bench`): the
//! criterion time table (`benches/evaluation.rs`) and the instruction counts
//! (`benches/instructions.rs`) evaluate the same cases.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::{ClusterContext, read_policy_resources, read_request};

/// The repository (the host crate's parent).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The settings of examples/cluster-admission-policy.yaml: a log shipper and
/// a proxy with an init container.
pub fn example_settings() -> Value {
    read_policy_resources(&repo().join("examples/cluster-admission-policy.yaml"))
        .and_then(|mut policies| {
            anyhow::ensure!(!policies.is_empty(), "no policy in the example");
            Ok(policies.remove(0).settings)
        })
        .unwrap_or_else(|e| panic!("examples/cluster-admission-policy.yaml: {e}"))
}

pub fn replicaset_pod() -> Value {
    read_request(&repo().join("test_data/requests/pod-replicaset-create.json"))
        .unwrap_or_else(|e| panic!("test_data/requests/pod-replicaset-create.json: {e}"))
}

/// The ReplicaSet Pod relabelled so that no example set selects it.
pub fn no_set_applies() -> Value {
    let mut request = replicaset_pod();
    request["object"]["metadata"]["labels"] = json!({"app.kubernetes.io/name": "checkout"});
    request
}

/// A Pod UPDATE that is not an upgrade (a label added, as controllers and
/// kubectl do all the time), of the ReplicaSet Pod.
pub fn pod_update_labels() -> Value {
    let mut request = replicaset_pod();
    request["operation"] = json!("UPDATE");
    request["oldObject"] = request["object"].clone();
    request["object"]["metadata"]["labels"]["team"] = json!("shop");
    request
}

/// The example settings with the log shipper sized from the Pod by a
/// resourcesPolicy (OpenKruise's proposal's expressions) instead of fixed
/// resources, and bounds for overrides.
pub fn resources_policy_settings() -> Value {
    let mut settings = example_settings();
    let sets = settings["sidecarSets"].as_array_mut();
    let fluent_bit = sets
        .into_iter()
        .flatten()
        .flat_map(|set| set["containers"].as_array_mut().into_iter().flatten())
        .find(|c| c["name"] == "fluent-bit")
        .unwrap_or_else(|| panic!("the example has no fluent-bit container"));
    if let Some(container) = fluent_bit.as_object_mut() {
        container.remove("resources");
        container.insert(
            "resourcesPolicy".into(),
            json!({"targetContainersMode": "sum", "targetContainersNameRegex": ".*",
                "resourcesExpr": {"requests": {"cpu": "max(cpu*10%, 20m)", "memory": "32Mi"},
                                  "limits": {"memory": "memory*25% + 64Mi"}}}),
        );
        container.insert(
            "resourceBounds".into(),
            json!({"min": {"cpu": "10m"}, "max": {"cpu": "1", "memory": "1Gi"}}),
        );
    }
    settings
}

/// A set of the example's size and shape that selects Pods labelled
/// `team: t{i}`: even `i` a proxy (an init container with a securityContext,
/// a sidecar with ports, a startupProbe, resources and a mount, a volume, a
/// pull secret), odd `i` a log shipper (args, transferEnv, resources, two
/// mounts, two volumes, an annotation). Names and ports are its own, so that
/// any number of them pass validate_settings together.
pub fn realistic_set(i: usize) -> Value {
    let selector = json!({"matchLabels": {"team": format!("t{i}")}});
    if i.is_multiple_of(2) {
        json!({
            "name": format!("mesh-{i}"),
            "selector": selector,
            "initContainers": [{
                "name": format!("mesh-init-{i}"),
                "image": "registry.example.com/mesh/proxy-init:1.4.0",
                "args": ["--redirect-port=15001", "--exclude-ports=15021"],
                "securityContext": {
                    "capabilities": {"add": ["NET_ADMIN", "NET_RAW"]},
                    "runAsUser": 0,
                    "runAsNonRoot": false,
                },
            }],
            "containers": [{
                "name": format!("envoy-{i}"),
                "image": "envoyproxy/envoy:v1.33.0",
                "args": ["-c", "/etc/envoy/envoy.yaml"],
                "ports": [
                    {"name": "proxy", "containerPort": 20000 + 2 * i},
                    {"name": "health", "containerPort": 20001 + 2 * i},
                ],
                "startupProbe": {
                    "httpGet": {"path": "/ready", "port": 20001 + 2 * i},
                    "periodSeconds": 1,
                    "failureThreshold": 60,
                },
                "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}},
                "volumeMounts": [{"name": format!("envoy-config-{i}"), "mountPath": "/etc/envoy"}],
            }],
            "volumes": [{"name": format!("envoy-config-{i}"), "configMap": {"name": "envoy-sidecar"}}],
            "imagePullSecrets": [{"name": "mesh-registry"}],
        })
    } else {
        json!({
            "name": format!("log-shipper-{i}"),
            "selector": selector,
            "containers": [{
                "name": format!("fluent-bit-{i}"),
                "image": "cr.fluentbit.io/fluent/fluent-bit:3.2.4",
                "args": ["--config=/fluent-bit/etc/fluent-bit.yaml"],
                "transferEnv": [{
                    "sourceContainerNameFrom": {
                        "fieldRef": {"fieldPath": "metadata.labels['app.kubernetes.io/name']"},
                    },
                    "envNames": ["POD_NAME"],
                }],
                "resources": {"requests": {"cpu": "20m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}},
                "volumeMounts": [
                    {"name": format!("varlog-{i}"), "mountPath": "/var/log/app", "readOnly": true},
                    {"name": format!("fluent-bit-config-{i}"), "mountPath": "/fluent-bit/etc"},
                ],
            }],
            "volumes": [
                {"name": format!("varlog-{i}"), "emptyDir": {}},
                {"name": format!("fluent-bit-config-{i}"), "configMap": {"name": "fluent-bit-sidecar"}},
            ],
            "patchPodMetadata": [{"annotations": {"fluentbit.io/parser": "json"}}],
        })
    }
}

/// `total` sets: the two example sets, and realistic sets that select other
/// Pods.
pub fn settings_with_sets(total: usize) -> Value {
    let mut settings = example_settings();
    if let Some(sets) = settings["sidecarSets"].as_array_mut() {
        sets.extend((0..total.saturating_sub(2)).map(realistic_set));
    }
    settings
}

/// The ReplicaSet Pod with `containers` containers and 20 volumes.
pub fn large_pod(containers: usize) -> Value {
    let mut request = replicaset_pod();
    let template = request["object"]["spec"]["containers"][0].clone();
    let spec = &mut request["object"]["spec"];
    if let Some(list) = spec["containers"].as_array_mut() {
        for i in 1..containers {
            let mut c = template.clone();
            c["name"] = json!(format!("worker-{i}"));
            c["ports"] = json!([{"containerPort": 9000 + i, "name": "http", "protocol": "TCP"}]);
            c["env"] = json!(
                (0..8)
                    .map(|k| json!({"name": format!("SETTING_{k}"), "value": format!("value-{i}-{k}")}))
                    .collect::<Vec<_>>()
            );
            list.push(c);
        }
    }
    if let Some(volumes) = spec["volumes"].as_array_mut() {
        for i in volumes.len()..20 {
            volumes.push(json!({"name": format!("config-{i}"), "configMap": {"name": format!("config-{i}"), "defaultMode": 420}}));
        }
    }
    request
}

/// `nodes` injected items in 4 sets, each depending on one or two earlier
/// ones across sets (a DAG).
pub fn graph_settings(nodes: usize) -> Value {
    let per_set = nodes.div_ceil(4);
    let mut sets = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for s in 0..4 {
        let mut containers = Vec::new();
        for j in 0..per_set {
            let n = names.len();
            if n == nodes {
                break;
            }
            let name = format!("sidecar-{n}");
            let deps: Vec<&String> = [n.checked_sub(1), n.checked_sub(per_set + 1)]
                .into_iter()
                .flatten()
                .filter_map(|k| names.get(k))
                .collect();
            containers.push(json!({
                "name": name, "image": format!("registry.example.com/s{s}/c{j}:1"),
                "dependsOn": deps,
                "ports": [{"containerPort": 30000 + n}],
                "startupProbe": {"tcpSocket": {"port": 30000 + n}},
            }));
            names.push(name);
        }
        sets.push(json!({"name": format!("graph-{s}"), "selector": {}, "containers": containers}));
    }
    json!({"sidecarSets": sets})
}

/// The example settings, the mesh set restricted to Namespaces labelled
/// istio-injection=enabled: every evaluation reads the Namespace.
pub fn namespace_selector_settings() -> Value {
    let mut settings = example_settings();
    settings["sidecarSets"][1]["namespaceSelector"] =
        json!({"matchLabels": {"istio-injection": "enabled"}});
    settings
}

/// What the host answers the Namespace lookup with: a recorded answer, as
/// `kwctl run --replay-host-capabilities-interactions`. policy-server's
/// cached API read is not measured here, only the host call's own cost.
pub fn cluster() -> ClusterContext {
    let replay = repo().join("test_data/replay/namespace-shop.yml");
    let exchanges = ClusterContext::read_replay(&replay)
        .unwrap_or_else(|e| panic!("{}: {e}", replay.display()));
    let granted = ClusterContext::granted_by(&repo().join("metadata.yml"))
        .unwrap_or_else(|e| panic!("metadata.yml: {e}"));
    ClusterContext {
        exchanges,
        ..granted
    }
}
