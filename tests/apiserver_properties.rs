//! Every Pod the policy answers with passes the API server: random sets
//! (security contexts, Pod Security defaults, drains, appContainers mounts
//! and propagation, shared volumes and devices, resources, hooks) × random
//! Pods (Windows, a zero grace period, block devices, the author's mounts
//! spelled otherwise, the Pod's own security context) × Namespaces, judged
//! by the oracle of `ValidatePodCreate` (pod-validation-oracle) in every
//! Kubernetes version from 1.29 to 1.36.
//!
//! For a Pod the API server accepts as its author wrote it, and settings
//! `validate_settings` accepts: the mutated Pod is accepted too, its second
//! evaluation changes nothing, and verify mode accepts it. PROPTEST_CASES
//! raises the number of cases.

mod common;

use common::{api_server_refuses, config};
use kubewarden_policy_sdk::settings::Validatable;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use sidecarset_policy::inject::{self, Outcome};
use sidecarset_policy::namespace::{Labels, Namespace};
use sidecarset_policy::settings::Settings;

const MOUNT_PATHS: [&str; 5] = [
    "/data",
    "/var/run/otel",
    "/var/run/otel/",
    "/var/./run/otel",
    "/dev/xvda",
];

#[derive(Debug, Clone)]
struct AppCase {
    mount: Option<&'static str>,
    device: Option<&'static str>,
    privileged: bool,
    probe: bool,
}

#[derive(Debug, Clone)]
struct PodCase {
    os: Option<&'static str>,
    grace: Option<u32>,
    security: u8,
    restart: &'static str,
    apps: Vec<AppCase>,
}

fn app_case() -> impl Strategy<Value = AppCase> {
    (
        prop::option::of(prop::sample::select(MOUNT_PATHS.to_vec())),
        prop::option::weighted(
            0.3,
            prop::sample::select(vec!["/dev/xvda", "/var/run/otel"]),
        ),
        prop::bool::weighted(0.2),
        any::<bool>(),
    )
        .prop_map(|(mount, device, privileged, probe)| AppCase {
            mount,
            device,
            privileged,
            probe,
        })
}

fn pod_case() -> impl Strategy<Value = PodCase> {
    (
        prop::sample::select(vec![None, Some("linux"), Some("windows")]),
        prop::sample::select(vec![None, Some(0), Some(5), Some(30)]),
        0u8..5,
        prop::sample::select(vec!["Always", "Never"]),
        prop::collection::vec(app_case(), 1..=2),
    )
        .prop_map(|(os, grace, security, restart, apps)| PodCase {
            os,
            grace,
            security,
            restart,
            apps,
        })
}

fn pod(case: &PodCase) -> Value {
    let containers: Vec<Value> = case
        .apps
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let mut c = json!({"name": format!("app-{i}"), "image": "shop/web:1", "env": [{"name": "A", "value": "1"}],
                "ports": [{"containerPort": 8080 + i, "protocol": "TCP"}]});
            if let Some(path) = a.mount {
                c["volumeMounts"] = json!([{"name": "data", "mountPath": path}]);
            }
            if let Some(path) = a.device {
                c["volumeDevices"] = json!([{"name": "disk", "devicePath": path}]);
            }
            if a.privileged {
                c["securityContext"] = json!({"privileged": true});
                // What only a privileged container may have.
                if let Some(mount) = c["volumeMounts"].get_mut(0) {
                    mount["mountPropagation"] = json!("Bidirectional");
                }
            }
            if a.probe {
                c["readinessProbe"] = json!({"httpGet": {"path": "/", "port": 8080 + i}});
            }
            c
        })
        .collect();
    let mut spec = json!({"containers": containers, "restartPolicy": case.restart,
        "volumes": [{"name": "data", "emptyDir": {}}, {"name": "disk", "persistentVolumeClaim": {"claimName": "disk"}}]});
    if let Some(os) = case.os {
        spec["os"] = json!({"name": os});
    }
    if let Some(grace) = case.grace {
        spec["terminationGracePeriodSeconds"] = json!(grace);
    }
    spec["securityContext"] = match case.security {
        0 => json!({}),
        1 => json!({"runAsNonRoot": false}),
        2 => json!({"seccompProfile": {"type": "Unconfined"}}),
        3 => json!({"runAsUser": 0}),
        _ => json!({"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}),
    };
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"generateName": "web-", "namespace": "shop", "labels": {"app": "web"}},
        "spec": spec})
}

#[derive(Debug, Clone)]
struct SetCase {
    native: bool,
    defaults: bool,
    security: u8,
    drain: Option<u32>,
    sleep: Option<u32>,
    app_mount: Option<(&'static str, u8)>,
    share: bool,
    share_devices: bool,
    probe: u8,
    resources: u8,
}

fn set_case() -> impl Strategy<Value = SetCase> {
    (
        any::<bool>(),
        any::<bool>(),
        0u8..6,
        prop::option::weighted(0.4, 0u32..40),
        prop::option::weighted(0.2, 0u32..40),
        prop::option::weighted(0.5, (prop::sample::select(MOUNT_PATHS.to_vec()), 0u8..6)),
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.3),
        0u8..4,
        0u8..5,
    )
        .prop_map(
            |(
                native,
                defaults,
                security,
                drain,
                sleep,
                app_mount,
                share,
                share_devices,
                probe,
                resources,
            )| SetCase {
                native,
                defaults,
                security,
                drain,
                sleep,
                app_mount,
                share,
                share_devices,
                probe,
                resources,
            },
        )
}

fn set(i: usize, case: &SetCase) -> Value {
    let name = format!("s{i}");
    let mut c = json!({"name": format!("{name}-agent"), "image": format!("agent:{i}"),
        "volumeMounts": [{"name": format!("{name}-socket"), "mountPath": "/var/run/agent"}]});
    c["securityContext"] = match case.security {
        0 => Value::Null,
        1 => json!({"capabilities": {"drop": null}}),
        2 => json!({"runAsNonRoot": true}),
        3 => {
            json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}})
        }
        4 => json!({"privileged": true}),
        _ => json!({"readOnlyRootFilesystem": true}),
    };
    if let Some(drain) = case.drain.filter(|_| !case.native) {
        c["drainSeconds"] = json!(drain);
    }
    if let Some(seconds) = case.sleep {
        c["lifecycle"] = json!({"preStop": {"sleep": {"seconds": seconds}}});
    }
    if case.share {
        c["shareVolumePolicy"] = json!({"type": "enabled"});
    }
    if case.share_devices {
        c["shareVolumeDevicePolicy"] = json!({"type": "enabled"});
    }
    match case.probe {
        1 => c["readinessProbe"] = json!({"tcpSocket": {"port": 15000 + i}}),
        2 => {
            c["readinessProbe"] = json!({"tcpSocket": {"port": 15000 + i}});
            c["waitForReady"] = json!(true);
        }
        3 => c["startupProbe"] = json!({"exec": {"command": ["ready"]}, "successThreshold": 1}),
        _ => {}
    }
    c["resources"] = match case.resources {
        1 => json!({"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}}),
        2 => json!({"requests": {"cpu": "20 m"}}),
        3 => json!({"requests": {"memory": "128Mi"}, "limits": {"memory": "64Mi"}}),
        _ => Value::Null,
    };
    let mut set = json!({"name": name, "selector": {}, "nativeSidecars": case.native, "containers": [c],
        "volumes": [{"name": format!("{name}-socket"), "emptyDir": {}}]});
    if case.defaults {
        set["podSecurity"] = json!({"defaults": "restricted"});
    }
    if let Some((path, how)) = case.app_mount {
        let mut mount = json!({"name": format!("{name}-socket"), "mountPath": path});
        match how {
            1 => mount["mountPropagation"] = json!("HostToContainer"),
            2 => mount["mountPropagation"] = json!("Bidirectional"),
            3 => mount["recursiveReadOnly"] = json!("Enabled"),
            4 => {
                mount["recursiveReadOnly"] = json!("Enabled");
                mount["readOnly"] = json!(true);
            }
            _ => {}
        }
        set["appContainers"] = json!({"volumeMounts": [mount]});
    }
    set
}

fn without_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(without_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(without_nulls),
        _ => {}
    }
}

fn namespace_labels(which: u8) -> Labels {
    let mut labels = Map::new();
    match which {
        1 => {
            labels.insert(
                "pod-security.kubernetes.io/enforce".into(),
                json!("restricted"),
            );
        }
        2 => {
            labels.insert(
                "pod-security.kubernetes.io/enforce".into(),
                json!("baseline"),
            );
            labels.insert(
                "pod-security.kubernetes.io/warn".into(),
                json!("restricted"),
            );
        }
        _ => {}
    }
    labels
}

fn run(pod: &Value, settings: &Settings, labels: &Labels) -> Outcome {
    let mut lookup = |_: &str| Ok(labels.clone());
    let mut namespace = Namespace::with_lookup("shop", Some(&mut lookup));
    inject::inject(pod.clone(), settings, &mut namespace, &mut Vec::new())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_answer_passes_the_api_server(
        pod_case in pod_case(),
        sets in prop::collection::vec(set_case(), 1..=2),
        which in 0u8..3,
    ) {
        let mut settings_json = json!({"sidecarSets": sets.iter().enumerate().map(|(i, s)| set(i, s)).collect::<Vec<_>>()});
        without_nulls(&mut settings_json);
        let Ok(settings) = Settings::from_slice(settings_json.to_string().as_bytes()) else {
            return Ok(());
        };
        if settings.validate().is_err() {
            return Ok(());
        }
        let original = pod(&pod_case);
        let labels = namespace_labels(which);
        let answer = match run(&original, &settings, &labels) {
            Outcome::Mutated(answer) => answer,
            Outcome::Unchanged | Outcome::Rejected(_) => return Ok(()),
        };
        if let Some(refused) = api_server_refuses(&original, &answer) {
            return Err(TestCaseError::fail(format!("{refused}\nsettings: {settings_json}\nanswer: {answer}")));
        }
        prop_assert_eq!(run(&answer, &settings, &labels), Outcome::Unchanged, "a second evaluation changes nothing");
    }
}

/// Found by `every_answer_passes_the_api_server`: a set sharing the app's
/// volumes and giving the app a mount shared that mount on the second
/// evaluation (the app then held it), so the answer was not stable.
#[test]
fn what_a_set_gives_the_app_is_not_shared_back() {
    let set_case = SetCase {
        native: false,
        defaults: false,
        security: 0,
        drain: None,
        sleep: None,
        app_mount: Some(("/data", 4)),
        share: true,
        share_devices: false,
        probe: 0,
        resources: 4,
    };
    let pod_case = PodCase {
        os: None,
        grace: None,
        security: 0,
        restart: "Always",
        apps: vec![AppCase {
            mount: None,
            device: None,
            privileged: false,
            probe: false,
        }],
    };
    let mut settings_json = json!({"sidecarSets": [set(0, &set_case)]});
    without_nulls(&mut settings_json);
    let settings = Settings::from_slice(settings_json.to_string().as_bytes()).expect("settings");
    let labels = namespace_labels(0);
    let Outcome::Mutated(answer) = run(&pod(&pod_case), &settings, &labels) else {
        panic!("the set is injected");
    };
    assert_eq!(
        answer["spec"]["containers"][0]["volumeMounts"],
        json!([{"name": "s0-socket", "mountPath": "/var/run/agent"}])
    );
    assert_eq!(run(&answer, &settings, &labels), Outcome::Unchanged);
}
