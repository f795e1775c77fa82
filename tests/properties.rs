//! Property tests of the policy's guarantees, on the native library: random
//! realistic Pods (labels, own init containers and native sidecars, ports,
//! mounts, volumes, unknown fields at every level) and random valid settings
//! (sets with random acyclic dependsOn graphs across sets and the Pod's own
//! init containers). PROPTEST_CASES raises the number of cases.
//!
//! 1. the start order satisfies every dependency and keeps the Pod's own init
//!    containers in their relative order;
//! 2. nothing is lost: the answer is the request object plus the injected
//!    entries and the policy's annotations, the original entries in order;
//! 3. idempotent: a second evaluation changes nothing, verify mode accepts;
//! 4. valid output: names unique; an injected sidecar's port is not used by
//!    another running container;
//! 5. deterministic: the same payload gives byte-identical answers.

mod common;

use std::collections::{BTreeMap, HashSet};

use common::config;
use kubewarden_policy_sdk::settings::Validatable;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use sidecarset_policy::admission;
use sidecarset_policy::inject::{self, Outcome};
use sidecarset_policy::namespace::Namespace;
use sidecarset_policy::order::Placement;
use sidecarset_policy::provenance::Status;
use sidecarset_policy::settings::Settings;
use sidecarset_policy::verify;

const STATUS: &str = "sidecarset.kubewarden.io/status";
const OWN_INIT: [&str; 3] = ["own-init-0", "own-init-1", "own-init-2"];

/// Sometimes a field no Kubernetes version has: it must reach the output.
fn unknown_field() -> impl Strategy<Value = Option<u8>> {
    prop::option::weighted(0.3, any::<u8>())
}

fn with_unknown(mut object: Value, unknown: Option<u8>) -> Value {
    if let (Some(n), Some(map)) = (unknown, object.as_object_mut()) {
        map.insert("x-future-field".into(), json!({"n": n, "list": [n, "x"]}));
    }
    object
}

#[derive(Debug, Clone)]
struct PodRaw {
    labels: BTreeMap<&'static str, &'static str>,
    restart_policy: Option<&'static str>,
    /// (native sidecar?, unknown field)
    own_init: Vec<(bool, Option<u8>)>,
    /// (has a port?, mounts the first volume?, unknown field)
    containers: Vec<(bool, bool, Option<u8>)>,
    volumes: usize,
    opt_out: Option<(&'static str, &'static str)>,
    host_network: bool,
    unknown: [Option<u8>; 3],
}

prop_compose! {
    fn pod_raw()(
        labels in prop::collection::btree_map(
            prop::sample::select(vec!["tier", "app.kubernetes.io/name", "mesh", "team"]),
            prop::sample::select(vec!["web", "batch", "on", "disabled", "a"]),
            0..4,
        ),
        restart_policy in prop::sample::select(vec![None, Some("Always"), Some("Never"), Some("OnFailure")]),
        own_init in prop::collection::vec((any::<bool>(), unknown_field()), 0..=3),
        containers in prop::collection::vec((any::<bool>(), any::<bool>(), unknown_field()), 1..=3),
        volumes in 0usize..=2,
        opt_out in prop::sample::select(vec![
            None,
            Some(("sidecarset.kubewarden.io/inject", "false")),
            Some(("sidecarset.kubewarden.io/skip", "s0,s2")),
        ]),
        host_network in prop::bool::weighted(0.2),
        unknown in [unknown_field(), unknown_field(), unknown_field()],
    ) -> PodRaw {
        PodRaw { labels, restart_policy, own_init, containers, volumes, opt_out, host_network, unknown }
    }
}

fn build_pod(raw: &PodRaw) -> Value {
    let volumes: Vec<Value> = (0..raw.volumes)
        .map(|i| json!({"name": format!("vol-{i}"), "emptyDir": {}}))
        .collect();
    let init: Vec<Value> = raw
        .own_init
        .iter()
        .enumerate()
        .map(|(i, (native, unknown))| {
            let mut c = json!({"name": OWN_INIT[i], "image": format!("own-init:{i}")});
            if *native {
                c["restartPolicy"] = json!("Always");
                c["ports"] = json!([{"containerPort": 7000 + i}]);
            }
            with_unknown(c, *unknown)
        })
        .collect();
    let containers: Vec<Value> = raw
        .containers
        .iter()
        .enumerate()
        .map(|(i, (port, mount, unknown))| {
            let mut c = json!({"name": format!("app-{i}"), "image": "app:1", "resources": {},
                "env": [{"name": "A", "value": format!("{i}")}, {"name": "REF", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]});
            if *port {
                c["ports"] = json!([{"containerPort": 8000 + i, "protocol": "TCP"}]);
            }
            if *mount && raw.volumes > 0 {
                c["volumeMounts"] = json!([{"name": "vol-0", "mountPath": "/data"}]);
            }
            with_unknown(c, *unknown)
        })
        .collect();
    let mut annotations = Map::new();
    annotations.insert("team.example.com/owner".into(), json!("shop"));
    if let Some((key, value)) = raw.opt_out {
        annotations.insert(key.into(), json!(value));
    }
    let mut spec = json!({"containers": containers, "volumes": volumes});
    if !init.is_empty() {
        spec["initContainers"] = json!(init);
    }
    if let Some(policy) = raw.restart_policy {
        spec["restartPolicy"] = json!(policy);
    }
    if raw.host_network {
        spec["hostNetwork"] = json!(true);
    }
    let metadata = json!({"generateName": "p-", "namespace": "shop", "labels": raw.labels, "annotations": annotations});
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": with_unknown(metadata, raw.unknown[0]),
        "spec": with_unknown(spec, raw.unknown[1]),
        "status": {},
    })
    .as_object()
    .cloned()
    .map(|o| with_unknown(Value::Object(o), raw.unknown[2]))
    .unwrap_or_default()
}

#[derive(Debug, Clone)]
struct ItemRaw {
    after_app: bool,
    wait: bool,
    deps: Vec<u8>,
    /// shareVolumePolicy enabled, transferEnv from app-0.
    share: bool,
    transfer: bool,
}

#[derive(Debug, Clone)]
struct SetRaw {
    native: bool,
    selector: u8,
    mandatory: bool,
    volume: bool,
    host_network: bool,
    init: Vec<ItemRaw>,
    containers: Vec<ItemRaw>,
}

prop_compose! {
    fn item_raw()(
        after_app in prop::bool::weighted(0.2),
        wait in any::<bool>(),
        deps in prop::collection::vec(any::<u8>(), 0..=2),
        share in prop::bool::weighted(0.3),
        transfer in prop::bool::weighted(0.3),
    ) -> ItemRaw {
        ItemRaw { after_app, wait, deps, share, transfer }
    }
}

prop_compose! {
    fn set_raw()(
        native in prop::bool::weighted(0.75),
        selector in 0u8..4,
        mandatory in prop::bool::weighted(0.2),
        volume in any::<bool>(),
        host_network in prop::bool::weighted(0.3),
        init in prop::collection::vec(item_raw(), 0..=2),
        containers in prop::collection::vec(item_raw(), 0..=3),
    ) -> SetRaw {
        SetRaw { native, selector, mandatory, volume, host_network, init, containers }
    }
}

/// Valid settings: dependencies only on earlier items that start no later
/// (so no cycle and no impossible edge), on the Pod's possible own init
/// containers, or on names nothing defines; every sidecar gated.
fn build_settings(sets: &[SetRaw], job_pods: &str) -> Value {
    // (name, phase) of every item so far
    let mut items: Vec<(String, u8)> = Vec::new();
    let mut out = Vec::new();
    for (s, raw) in sets.iter().enumerate() {
        let selector = match raw.selector {
            0 => json!({}),
            1 => json!({"matchLabels": {"tier": "web"}}),
            2 => {
                json!({"matchExpressions": [{"key": "mesh", "operator": "NotIn", "values": ["disabled"]}]})
            }
            _ => json!({"matchExpressions": [{"key": "team", "operator": "Exists"}]}),
        };
        let deps_for = |phase: u8, choices: &[u8], items: &[(String, u8)]| -> Vec<String> {
            let mut candidates: Vec<String> = items
                .iter()
                .filter(|(_, p)| *p <= phase)
                .map(|(n, _)| n.clone())
                .collect();
            candidates.extend(OWN_INIT.iter().take(2).map(|n| n.to_string()));
            candidates.push("not-defined-anywhere".into());
            let mut deps: Vec<String> = choices
                .iter()
                .map(|c| candidates[*c as usize % candidates.len()].clone())
                .collect();
            deps.dedup();
            deps
        };
        let mut init = Vec::new();
        for (j, item) in raw.init.iter().enumerate() {
            let name = format!("s{s}-init-{j}");
            let deps = deps_for(0, &item.deps, &items);
            let mut c = json!({"name": name, "image": format!("init:{s}.{j}"), "dependsOn": deps});
            if raw.volume {
                c["volumeMounts"] = json!([{"name": format!("sv-{s}"), "mountPath": "/sv"}]);
            }
            take_from_apps(&mut c, item);
            init.push(c);
            items.push((name, 0));
        }
        let mut containers = Vec::new();
        for (j, item) in raw.containers.iter().enumerate() {
            let name = format!("s{s}-c-{j}");
            let phase = match (item.after_app, raw.native) {
                (true, _) => 2,
                (false, true) => 0,
                (false, false) => 1,
            };
            let deps = deps_for(phase, &item.deps, &items);
            let port = 15000 + items.len();
            let mut c = json!({
                "name": name, "image": format!("sidecar:{s}.{j}"), "dependsOn": deps,
                "ports": [{"containerPort": port}],
                // A blocking postStart hook gates every placement.
                "lifecycle": {"postStart": {"exec": {"command": ["wait-ready"]}}},
            });
            if item.after_app {
                c["podInjectPolicy"] = json!("AfterAppContainer");
            } else if item.wait {
                c["waitForReady"] = json!(true);
                c["readinessProbe"] = json!({"tcpSocket": {"port": port}});
            } else {
                c["startupProbe"] = json!({"tcpSocket": {"port": port}});
            }
            take_from_apps(&mut c, item);
            containers.push(c);
            items.push((name, phase));
        }
        let mut set = json!({
            "name": format!("s{s}"), "selector": selector, "mandatory": raw.mandatory,
            "nativeSidecars": raw.native, "initContainers": init, "containers": containers,
        });
        if raw.volume {
            set["volumes"] = json!([{"name": format!("sv-{s}"), "emptyDir": {}}]);
        }
        if raw.host_network {
            set["hostNetworkPods"] = json!("inject");
        }
        out.push(set);
    }
    json!({"jobPods": job_pods, "sidecarSets": out})
}

/// OpenKruise's transferEnv and shareVolumePolicy, on some items.
fn take_from_apps(container: &mut Value, item: &ItemRaw) {
    if item.share {
        container["shareVolumePolicy"] = json!({"type": "enabled"});
    }
    if item.transfer {
        container["transferEnv"] =
            json!([{"sourceContainerName": "app-0", "envNames": ["A", "REF", "MISSING"]}]);
    }
}

fn settings_strategy() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(set_raw(), 0..=4),
        prop::sample::select(vec!["native", "skip", "asConfigured"]),
    )
        .prop_map(|(sets, job_pods)| build_settings(&sets, job_pods))
}

fn parse(settings: &Value) -> Settings {
    Settings::from_slice(settings.to_string().as_bytes()).expect("generated settings parse")
}

fn names(pod: &Value, list: &str) -> Vec<String> {
    pod["spec"][list]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|c| c["name"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn status(pod: &Value) -> Status {
    Status::read(pod["metadata"]["annotations"][STATUS].as_str())
        .expect("a status the policy wrote")
}

/// `pod` without what `status` records as injected, and without the
/// policy's annotations and those `settings` may write.
fn without_injection(pod: &Value, original: &Value, status: &Status) -> Value {
    let mut pod = pod.clone();
    let injected: HashSet<&str> = status
        .sets
        .iter()
        .flat_map(|s| {
            s.container_names()
                .chain(s.volumes.iter().map(String::as_str))
                .chain(s.image_pull_secrets.iter().map(String::as_str))
        })
        .collect();
    for list in [
        "initContainers",
        "containers",
        "volumes",
        "imagePullSecrets",
    ] {
        let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
            continue;
        };
        if let Some(entries) = spec.get_mut(list).and_then(Value::as_array_mut) {
            entries.retain(|e| !e["name"].as_str().is_some_and(|n| injected.contains(n)));
            if entries.is_empty() && original["spec"].get(list).is_none() {
                spec.remove(list);
            }
        }
    }
    pod["metadata"]["annotations"] = original["metadata"]["annotations"].clone();
    pod
}

fn running_ports(pod: &Value, except: &str) -> Vec<i64> {
    let mut ports = Vec::new();
    for list in ["initContainers", "containers"] {
        for c in pod["spec"][list].as_array().into_iter().flatten() {
            let runs = list == "containers" || c["restartPolicy"] == "Always";
            if runs && c["name"] != except {
                for p in c["ports"].as_array().into_iter().flatten() {
                    ports.extend(p["containerPort"].as_i64());
                }
            }
        }
    }
    ports
}

// PROPTEST_CASES cases (512 by default, `common::config`); counterexamples
// are printed shrunk, and a found one becomes a unit test.
proptest! {
    #![proptest_config(config())]

    #[test]
    fn injection_keeps_every_guarantee(raw in pod_raw(), settings_json in settings_strategy()) {
        let settings = parse(&settings_json);
        prop_assert_eq!(settings.validate(), Ok(()), "the generator makes valid settings");
        let original = build_pod(&raw);
        let outcome = inject::inject(original.clone(), &settings, &mut Namespace::new("shop"), &mut Vec::new());
        let pod = match outcome {
            Outcome::Unchanged => return Ok(()),
            Outcome::Rejected(message) => {
                // Only a conflict may stop a valid Pod, and the message says which.
                prop_assert!(message.starts_with("sidecar set "), "{}", message);
                return Ok(());
            }
            Outcome::Mutated(pod) => pod,
        };
        // 0. The API server accepts it.
        if let Some(refused) = common::api_server_refuses(&original, &pod) {
            return Err(TestCaseError::fail(refused));
        }
        let status = status(&pod);

        // 1. Start order: every dependency present in the same list comes first…
        let init = names(&pod, "initContainers");
        let containers = names(&pod, "containers");
        let position = |name: &str| {
            init.iter().position(|n| n == name).map(|i| (0, i))
                .or_else(|| containers.iter().position(|n| n == name).map(|i| (1, i)))
        };
        for set in &settings.sidecar_sets {
            for container in set.init_containers.iter().chain(&set.containers) {
                let Some(at) = position(container.name()) else { continue };
                for dep in &container.depends_on {
                    if let Some(dep_at) = position(dep) {
                        prop_assert!(dep_at < at, "{} starts before its dependency {} in {:?} / {:?}", container.name(), dep, init, containers);
                    }
                }
            }
        }
        // …a set's run-to-completion init containers come before its own
        // native sidecars (no generated init container waits for one)…
        for set in &settings.sidecar_sets {
            let native = set.native(settings.native_sidecars);
            for init_container in &set.init_containers {
                if init_container.placement(true, native) != Placement::Init {
                    continue;
                }
                let Some(init_at) = position(init_container.name()) else { continue };
                for sidecar in &set.containers {
                    if sidecar.placement(false, native) != Placement::NativeSidecar {
                        continue;
                    }
                    if let Some(at) = position(sidecar.name()) {
                        prop_assert!(init_at < at, "{} starts before its set's init container {} in {:?}", sidecar.name(), init_container.name(), init);
                    }
                }
            }
        }
        // …and the Pod's own init containers keep their relative order.
        let own: Vec<&String> = init.iter().filter(|n| n.starts_with("own-init-")).collect();
        let mut sorted = own.clone();
        sorted.sort();
        prop_assert_eq!(own, sorted);

        // 2. Nothing lost.
        prop_assert_eq!(without_injection(&pod, &original, &status), original.clone());

        // 3. Idempotent, and verify mode accepts what inject mode produced.
        prop_assert_eq!(
            inject::inject(pod.clone(), &settings, &mut Namespace::new("shop"), &mut Vec::new()),
            Outcome::Unchanged
        );
        prop_assert_eq!(verify::verify(&pod, &settings, &mut Namespace::new("shop"), &mut Vec::new()), Ok(()));

        // 4. Names unique; injected sidecars' ports free.
        let mut all: Vec<String> = init.iter().chain(&containers).cloned().collect();
        let count = all.len();
        all.sort();
        all.dedup();
        prop_assert_eq!(all.len(), count, "container names unique");
        let volumes = names(&pod, "volumes");
        prop_assert_eq!(volumes.iter().collect::<HashSet<_>>().len(), volumes.len(), "volume names unique");
        for set in &status.sets {
            for name in set.container_names() {
                let spec = pod["spec"]["initContainers"].as_array().into_iter().flatten()
                    .chain(pod["spec"]["containers"].as_array().into_iter().flatten())
                    .find(|c| c["name"] == name);
                for port in spec.and_then(|c| c["ports"].as_array()).into_iter().flatten() {
                    let port = port["containerPort"].as_i64().unwrap_or_default();
                    prop_assert!(!running_ports(&pod, name).contains(&port), "port {} of {} clashes", port, name);
                }
            }
        }
    }

    #[test]
    fn answers_are_deterministic(raw in pod_raw(), settings_json in settings_strategy()) {
        let payload = json!({
            "request": {"uid": "u", "kind": {"group": "", "version": "v1", "kind": "Pod"}, "operation": "CREATE", "namespace": "shop", "object": build_pod(&raw)},
            "settings": settings_json,
        })
        .to_string();
        let answer = |payload: &str| serde_json::to_vec(&admission::decide(payload.as_bytes()).into_response()).unwrap_or_default();
        prop_assert_eq!(answer(&payload), answer(&payload));
    }
}

/// Any JSON value: nested objects and arrays of strings (escapes included),
/// numbers and literals.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        "[a-z\"\\\\ ,:{}\\[\\]é]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// `value` as JSON text with every object's keys in reverse order and
/// whitespace around every token: what another serializer could send.
fn reordered(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let members: Vec<String> = map
                .iter()
                .rev()
                .map(|(k, v)| format!(" {} : {} ", Value::from(k.as_str()), reordered(v)))
                .collect();
            format!("{{ {} }}", members.join(" , "))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(reordered).collect();
            format!("[\n{}\n]", items.join(",\t"))
        }
        other => other.to_string(),
    }
}

proptest! {
    #![proptest_config(config())]

    /// The definition hash depends on the set's value, not on how the host
    /// serialized it (key order, whitespace), and tells values apart.
    #[test]
    fn the_definition_hash_follows_the_value_not_its_serialization(a in json_value(), b in json_value()) {
        let settings = |extra: &Value| json!({"sidecarSets": [{"name": "s", "selector": {},
            "containers": [{"name": "c", "image": "i", "x-extra": extra}]}]});
        let hash = |text: &str| Settings::from_slice(text.as_bytes()).unwrap().sidecar_sets[0].definition_hash(true);
        let plain = hash(&settings(&a).to_string());
        prop_assert_eq!(&plain, &hash(&reordered(&settings(&a))));
        prop_assert_eq!(&plain, &hash(&serde_json::to_string_pretty(&settings(&a)).unwrap()));
        if a != b {
            prop_assert_ne!(&plain, &hash(&settings(&b).to_string()), "{} and {}", a, b);
        }
    }
}
