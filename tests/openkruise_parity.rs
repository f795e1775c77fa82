//! OpenKruise SidecarSet behaviour for transferEnv, shareVolumePolicy and
//! shareVolumeDevicePolicy, case by case as OpenKruise's own e2e tests of
//! these fields check it (test/e2e/apps/sidecarset.go: "sidecarSet inject
//! pod sidecar container volumeMounts", "... SubPathExpr with expanded
//! subpath", "... transfer Envs", transferEnv from a container named by a
//! label or annotation), through the whole injection.

use rstest::rstest;
use serde_json::{Value, json};
use sidecarset_policy::inject::{Outcome, inject};
use sidecarset_policy::namespace::Namespace;
use sidecarset_policy::settings::Settings;

/// The Pod of OpenKruise's e2e tests: an app container `main` with env and
/// mounts, and a second app container `worker`.
fn pod(labels: Value, annotations: Value) -> Value {
    json!({
        "metadata": {"name": "test-pod", "namespace": "e2e", "labels": labels, "annotations": annotations},
        "spec": {
            "initContainers": [
                {"name": "init-main", "image": "busybox:1.36", "volumeMounts": [{"name": "init-only", "mountPath": "/init"}]}
            ],
            "containers": [
                {
                    "name": "main",
                    "image": "nginx:1.27",
                    "env": [
                        {"name": "OD_NAME", "value": "od_name"},
                        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                        {"name": "SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}
                    ],
                    "volumeMounts": [
                        {"name": "logs", "mountPath": "/var/log/nginx"},
                        {"name": "data", "mountPath": "/data", "subPathExpr": "foo/$(OD_NAME)/$(POD_NAME)"}
                    ],
                    "volumeDevices": [{"name": "block", "devicePath": "/dev/xvda"}]
                },
                {
                    "name": "worker",
                    "image": "worker:1",
                    "env": [{"name": "WORKER_ONLY", "value": "w"}],
                    "volumeMounts": [
                        {"name": "logs", "mountPath": "/var/log/nginx"},
                        {"name": "cache", "mountPath": "/cache"}
                    ]
                }
            ],
            "volumes": [
                {"name": "init-only", "emptyDir": {}},
                {"name": "logs", "emptyDir": {}},
                {"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
                {"name": "cache", "ephemeral": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}}},
                {"name": "block", "persistentVolumeClaim": {"claimName": "block"}}
            ]
        }
    })
}

/// The injected sidecar `sidecar` of a set selecting every Pod, and the warnings.
fn injected(sidecar: Value, pod: Value) -> (Value, Vec<String>) {
    let settings = json!({"sidecarSets": [{"name": "sidecarset-e2e", "selector": {}, "containers": [sidecar]}]});
    let settings = Settings::from_slice(settings.to_string().as_bytes()).unwrap();
    let mut warnings = Vec::new();
    let Outcome::Mutated(pod) = inject(pod, &settings, &mut Namespace::new("e2e"), &mut warnings)
    else {
        panic!("not injected")
    };
    let sidecar = pod["spec"]["initContainers"][0].clone();
    assert_eq!(sidecar["name"], "nginx-sidecar");
    // OpenKruise fields never reach the Pod.
    for key in [
        "transferEnv",
        "shareVolumePolicy",
        "shareVolumeDevicePolicy",
    ] {
        assert!(sidecar.get(key).is_none(), "{key} reached the Pod");
    }
    (sidecar, warnings)
}

fn nginx_sidecar(extra: Value) -> Value {
    let mut sidecar = json!({"name": "nginx-sidecar", "image": "nginx:1.27-alpine"});
    for (key, value) in extra.as_object().unwrap() {
        sidecar[key] = value.clone();
    }
    sidecar
}

fn names(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .map(|l| {
            l.iter()
                .map(|e| e[key].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[rstest]
#[case::share_disabled_by_default(json!({}), &[], &[])]
#[case::share_disabled(json!({"shareVolumePolicy": {"type": "disabled"}}), &[], &[])]
// Every mount of every app container, once per mountPath, not init containers'.
#[case::share_enabled(json!({"shareVolumePolicy": {"type": "enabled"}}),
    &["/var/log/nginx", "/data", "/cache"], &["OD_NAME", "POD_NAME"])]
// The sidecar's own mount at a path wins over the app's.
#[case::own_mount_wins(json!({"shareVolumePolicy": {"type": "enabled"}, "volumeMounts": [{"name": "cache", "mountPath": "/var/log/nginx"}]}),
    &["/var/log/nginx", "/data", "/cache"], &["OD_NAME", "POD_NAME"])]
// A subPathExpr's variables come along, unless the sidecar has its own.
#[case::sub_path_expr_own_env_wins(json!({"shareVolumePolicy": {"type": "enabled"}, "env": [{"name": "OD_NAME", "value": "mine"}]}),
    &["/var/log/nginx", "/data", "/cache"], &["OD_NAME", "POD_NAME"])]
fn share_volume_policy(
    #[case] extra: Value,
    #[case] mount_paths: &[&str],
    #[case] env_names: &[&str],
) {
    let (sidecar, warnings) = injected(nginx_sidecar(extra.clone()), pod(json!({}), json!({})));
    assert_eq!(names(&sidecar["volumeMounts"], "mountPath"), mount_paths);
    assert_eq!(names(&sidecar["env"], "name"), env_names);
    assert!(warnings.is_empty(), "{warnings:?}");
    if let Some(own) = extra.get("volumeMounts") {
        assert_eq!(
            sidecar["volumeMounts"][0], own[0],
            "the sidecar's own mount is first and kept"
        );
    }
    if let Some(own) = extra.get("env") {
        assert_eq!(
            sidecar["env"][0], own[0],
            "the sidecar's own variable is kept"
        );
    }
    if env_names.contains(&"POD_NAME") {
        // Copied verbatim, valueFrom included, so the path expands the same.
        assert_eq!(
            sidecar["env"][1],
            json!({"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}})
        );
        assert_eq!(
            sidecar["volumeMounts"][1]["subPathExpr"],
            "foo/$(OD_NAME)/$(POD_NAME)"
        );
    }
}

#[test]
fn share_volume_device_policy() {
    let (sidecar, _) = injected(
        nginx_sidecar(json!({"shareVolumeDevicePolicy": {"type": "enabled"}})),
        pod(json!({}), json!({})),
    );
    assert_eq!(
        sidecar["volumeDevices"],
        json!([{"name": "block", "devicePath": "/dev/xvda"}])
    );
    assert!(sidecar.get("volumeMounts").is_none());
    // A device path the sidecar already uses is its own.
    let (own, _) = injected(
        nginx_sidecar(
            json!({"shareVolumeDevicePolicy": {"type": "enabled"}, "volumeDevices": [{"name": "block", "devicePath": "/dev/xvda"}]}),
        ),
        pod(json!({}), json!({})),
    );
    assert_eq!(own["volumeDevices"].as_array().unwrap().len(), 1);
}

#[rstest]
// From a named container.
#[case::named(json!([{"sourceContainerName": "main", "envName": "OD_NAME"}]), json!({}), json!({}),
    json!([{"name": "OD_NAME", "value": "od_name"}]), &[])]
// envName and envNames together; valueFrom of any kind, verbatim.
#[case::names(json!([{"sourceContainerName": "main", "envName": "OD_NAME", "envNames": ["POD_NAME", "SECRET"]}]), json!({}), json!({}),
    json!([{"name": "OD_NAME", "value": "od_name"}, {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}, {"name": "SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]), &[])]
// From the container a label names.
#[case::label(json!([{"sourceContainerNameFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels['app-container']"}}, "envName": "WORKER_ONLY"}]),
    json!({"app-container": "worker"}), json!({}), json!([{"name": "WORKER_ONLY", "value": "w"}]), &[])]
// From the container an annotation names.
#[case::annotation(json!([{"sourceContainerNameFrom": {"fieldRef": {"fieldPath": "metadata.annotations['app-container']"}}, "envName": "OD_NAME"}]),
    json!({}), json!({"app-container": "main"}), json!([{"name": "OD_NAME", "value": "od_name"}]), &[])]
// Missing sources are skipped with a warning; the rest is copied.
#[case::missing_label(json!([{"sourceContainerNameFrom": {"fieldRef": {"fieldPath": "metadata.labels['app-container']"}}, "envName": "OD_NAME"}, {"sourceContainerName": "main", "envName": "OD_NAME"}]),
    json!({}), json!({}), json!([{"name": "OD_NAME", "value": "od_name"}]),
    &["nginx-sidecar (sidecar set sidecarset-e2e): transferEnv[0] skipped: the Pod has no label \"app-container\" to name the source container"])]
#[case::missing_container(json!([{"sourceContainerName": "sidecar-of-nothing", "envName": "OD_NAME"}]), json!({}), json!({}), Value::Null,
    &["nginx-sidecar (sidecar set sidecarset-e2e): transferEnv[0] skipped: the Pod has no app container named \"sidecar-of-nothing\""])]
// An init container is not an app container.
#[case::init_container_is_no_source(json!([{"sourceContainerName": "init-main", "envName": "OD_NAME"}]), json!({}), json!({}), Value::Null,
    &["nginx-sidecar (sidecar set sidecarset-e2e): transferEnv[0] skipped: the Pod has no app container named \"init-main\""])]
#[case::missing_variable(json!([{"sourceContainerName": "main", "envNames": ["NOPE", "OD_NAME"]}]), json!({}), json!({}),
    json!([{"name": "OD_NAME", "value": "od_name"}]),
    &["nginx-sidecar (sidecar set sidecarset-e2e): transferEnv[0]: app container \"main\" has no variable NOPE; not copied"])]
fn transfer_env(
    #[case] transfer: Value,
    #[case] labels: Value,
    #[case] annotations: Value,
    #[case] env: Value,
    #[case] expected_warnings: &[&str],
) {
    let (sidecar, warnings) = injected(
        nginx_sidecar(json!({"transferEnv": transfer})),
        pod(labels, annotations),
    );
    assert_eq!(sidecar.get("env").cloned().unwrap_or(Value::Null), env);
    assert_eq!(warnings, expected_warnings);
}

#[test]
fn the_sidecars_own_env_wins_and_comes_first() {
    let (sidecar, _) = injected(
        nginx_sidecar(json!({
            "env": [{"name": "OD_NAME", "value": "mine"}, {"name": "OTHER", "value": "x"}],
            "transferEnv": [{"sourceContainerName": "main", "envNames": ["OD_NAME", "POD_NAME"]}]
        })),
        pod(json!({}), json!({})),
    );
    assert_eq!(
        names(&sidecar["env"], "name"),
        ["OD_NAME", "OTHER", "POD_NAME"]
    );
    assert_eq!(sidecar["env"][0]["value"], "mine");
}

#[test]
fn a_changed_transfer_env_makes_the_set_stale() {
    let parse = |sidecar: Value| {
        let settings =
            json!({"sidecarSets": [{"name": "s", "selector": {}, "containers": [sidecar]}]});
        Settings::from_slice(settings.to_string().as_bytes()).unwrap()
    };
    let without = parse(json!({"name": "a", "image": "a:1"}));
    let with = parse(
        json!({"name": "a", "image": "a:1", "transferEnv": [{"sourceContainerName": "main", "envName": "A"}]}),
    );
    let shared =
        parse(json!({"name": "a", "image": "a:1", "shareVolumePolicy": {"type": "enabled"}}));
    let hash = |s: &Settings| s.sidecar_sets[0].definition_hash(true);
    assert_ne!(hash(&without), hash(&with));
    assert_ne!(hash(&without), hash(&shared));
}
