//! Properties of the Pod Security check, on the native library, with random
//! Pods and random sets in a Namespace that enforces a level:
//!
//! 1. a set that meets restricted on its own never makes a restricted-clean
//!    Pod fail restricted: the whole injected Pod passes;
//! 2. the Pod's own violations (any of them, at the Pod's level or in its
//!    containers and volumes) never cause a rejection that names a set, nor
//!    a skip: a set that meets the level on its own is always injected;
//! 3. a set that breaks the enforced level never reaches the Pod: it is
//!    rejected, or skipped and absent.

mod common;

use common::config;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use sidecarset_policy::inject::{Outcome, inject};
use sidecarset_policy::namespace::{Labels, Lookup, Namespace};
use sidecarset_policy::pod_security::standard::{LATEST, Level, Subject, evaluate};
use sidecarset_policy::settings::Settings;

/// The restricted securityContext, with some fields left to the Pod.
fn restricted_context(leave_to_pod: bool) -> Value {
    let mut sc = json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}});
    if !leave_to_pod {
        sc["runAsNonRoot"] = json!(true);
        sc["seccompProfile"] = json!({"type": "RuntimeDefault"});
    }
    sc
}

/// One way a Pod's author breaks a level.
fn own_violation() -> impl Strategy<Value = (&'static str, Value)> {
    prop_oneof![
        Just(("/spec/hostNetwork", json!(true))),
        Just(("/spec/hostPID", json!(true))),
        Just(("/spec/securityContext/runAsUser", json!(0))),
        Just(("/spec/securityContext/runAsNonRoot", json!(false))),
        Just((
            "/spec/securityContext/seccompProfile",
            json!({"type": "Unconfined"})
        )),
        Just((
            "/spec/securityContext/sysctls",
            json!([{"name": "kernel.msgmax", "value": "1"}])
        )),
        Just(("/spec/containers/0/securityContext/privileged", json!(true))),
        Just((
            "/spec/containers/0/securityContext/capabilities/add",
            json!(["NET_ADMIN"])
        )),
        Just((
            "/spec/containers/0/securityContext/allowPrivilegeEscalation",
            json!(true)
        )),
        Just((
            "/spec/containers/0/ports",
            json!([{"containerPort": 80, "hostPort": 80}])
        )),
        Just((
            "/spec/volumes",
            json!([{"name": "host", "hostPath": {"path": "/"}}])
        )),
        Just((
            "/metadata/annotations",
            json!({"container.apparmor.security.beta.kubernetes.io/app-0": "unconfined"})
        )),
    ]
}

fn set_pointer(value: &mut Value, pointer: &str, new: Value) {
    let mut at = value;
    for key in pointer.trim_start_matches('/').split('/') {
        at = match key.parse::<usize>() {
            Ok(i) => &mut at[i],
            Err(_) => {
                if at.is_null() {
                    *at = Value::Object(Map::new());
                }
                at.as_object_mut()
                    .unwrap()
                    .entry(key)
                    .or_insert(Value::Null)
            }
        };
    }
    *at = new;
}

/// A Pod with `containers` app containers, restricted-clean: each sets the
/// restricted context, or leaves runAsNonRoot and seccomp to the Pod.
fn clean_pod(containers: usize, pod_level: bool) -> Value {
    let list: Vec<Value> = (0..containers)
        .map(|i| json!({"name": format!("app-{i}"), "image": "app:1", "securityContext": restricted_context(pod_level)}))
        .collect();
    let mut pod = json!({"metadata": {"name": "web", "namespace": "shop", "labels": {"tier": "web"}},
        "spec": {"containers": list, "volumes": [{"name": "data", "emptyDir": {}}]}});
    if pod_level {
        pod["spec"]["securityContext"] =
            json!({"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}});
    }
    pod
}

/// A set of `containers` sidecars that meets restricted on its own: each
/// sets the restricted context, or lets the defaults fill it.
fn fitting_set(index: usize, containers: usize, defaults: bool, placement: u8) -> Value {
    let list: Vec<Value> = (0..containers)
        .map(|i| {
            let mut c = json!({"name": format!("s{index}-c{i}"), "image": "side:1"});
            if !defaults {
                c["securityContext"] = restricted_context(false);
            }
            if placement == 1 {
                c["podInjectPolicy"] = json!("AfterAppContainer");
            }
            c
        })
        .collect();
    let mut set = json!({"name": format!("set-{index}"), "selector": {}, "containers": list,
        "volumes": [{"name": format!("s{index}-scratch"), "emptyDir": {}}]});
    if defaults {
        set["podSecurity"] = json!({"defaults": "restricted", "level": "restricted"});
    }
    if placement == 2 {
        let list = set.as_object_mut().unwrap().remove("containers").unwrap();
        set["initContainers"] = list;
    }
    set
}

fn settings(sets: Vec<Value>) -> Settings {
    let settings = Settings::from_slice(
        json!({"skipHostNetworkPods": false, "sidecarSets": sets})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    use kubewarden_policy_sdk::settings::Validatable;
    settings.validate().unwrap();
    settings
}

fn inject_in(pod: Value, settings: &Settings, level: &str) -> (Outcome, Vec<String>) {
    let labels: Labels = json!({"pod-security.kubernetes.io/enforce": level})
        .as_object()
        .unwrap()
        .clone();
    let mut lookup = |_: &str| Ok(labels.clone());
    let mut namespace = Namespace::with_lookup("shop", Some(&mut lookup as Lookup));
    let mut warnings = Vec::new();
    let outcome = inject(pod, settings, &mut namespace, &mut warnings);
    (outcome, warnings)
}

/// The whole Pod judged at `level`, as the API server judges it.
fn whole_pod(pod: &Value, level: Level) -> Vec<String> {
    let subject = Subject::whole_pod(pod).unwrap();
    evaluate(&subject, level, LATEST)
        .into_iter()
        .map(|v| v.to_string())
        .collect()
}

fn injected_names(pod: &Value) -> Vec<String> {
    ["initContainers", "containers"]
        .iter()
        .flat_map(|k| pod["spec"][k].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c["name"].as_str().map(String::from))
        .collect()
}

fn sets_strategy() -> impl Strategy<Value = Vec<(usize, bool, u8)>> {
    prop::collection::vec((1usize..3, any::<bool>(), 0u8..3), 1..4)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_fitting_set_keeps_a_clean_pod_restricted(
        containers in 1usize..3,
        pod_level in any::<bool>(),
        sets in sets_strategy(),
    ) {
        let pod = clean_pod(containers, pod_level);
        prop_assert_eq!(whole_pod(&pod, Level::Restricted), Vec::<String>::new());
        let sets: Vec<Value> = sets.iter().enumerate()
            .map(|(i, (n, defaults, placement))| fitting_set(i, *n, *defaults, *placement))
            .collect();
        let (outcome, warnings) = inject_in(pod.clone(), &settings(sets), "restricted");
        let Outcome::Mutated(injected) = outcome else {
            return Err(TestCaseError::fail(format!("{outcome:?} {warnings:?}")));
        };
        if let Some(refused) = common::api_server_refuses(&pod, &injected) {
            return Err(TestCaseError::fail(refused));
        }
        prop_assert_eq!(whole_pod(&injected, Level::Restricted), Vec::<String>::new());
    }

    #[test]
    fn the_pods_own_violations_never_name_a_set(
        violations in prop::collection::vec(own_violation(), 1..4),
        pod_level in any::<bool>(),
        sets in sets_strategy(),
        level in prop_oneof![Just("baseline"), Just("restricted")],
    ) {
        let mut pod = clean_pod(1, pod_level);
        for (pointer, value) in violations {
            set_pointer(&mut pod, pointer, value);
        }
        let sets: Vec<Value> = sets.iter().enumerate()
            .map(|(i, (n, defaults, placement))| fitting_set(i, *n, *defaults, *placement))
            .collect();
        let count: usize = sets.iter().map(|s| {
            s["containers"].as_array().map_or(0, Vec::len) + s["initContainers"].as_array().map_or(0, Vec::len)
        }).sum();
        let (outcome, warnings) = inject_in(pod.clone(), &settings(sets), level);
        let Outcome::Mutated(injected) = outcome else {
            return Err(TestCaseError::fail(format!("{outcome:?}")));
        };
        if let Some(refused) = common::api_server_refuses(&pod, &injected) {
            return Err(TestCaseError::fail(refused));
        }
        prop_assert!(warnings.iter().all(|w| !w.contains("PodSecurity")), "{:?}", warnings);
        prop_assert_eq!(injected_names(&injected).len(), count + 1);
    }

    #[test]
    fn a_set_that_breaks_the_level_never_reaches_the_pod(
        breach in prop_oneof![
            Just(json!({"privileged": true})),
            Just(json!({"capabilities": {"add": ["SYS_TIME"]}})),
            Just(json!({"runAsUser": 0})),
            Just(json!({"seccompProfile": {"type": "Unconfined"}})),
        ],
        skip in any::<bool>(),
        level in prop_oneof![Just("baseline"), Just("restricted")],
    ) {
        let mut set = fitting_set(0, 1, true, 0);
        set["containers"][0]["securityContext"] = breach.clone();
        if skip {
            set["podSecurity"] = json!({"defaults": "restricted", "onViolation": "skip"});
        } else {
            set["podSecurity"] = json!({"defaults": "restricted"});
        }
        let s = settings(vec![set, fitting_set(1, 1, false, 0)]);
        let (outcome, warnings) = inject_in(clean_pod(1, false), &s, level);
        // runAsUser 0 is allowed by baseline: the set goes in there.
        let breaks = level == "restricted" || breach.get("runAsUser").is_none();
        match outcome {
            Outcome::Rejected(message) => {
                prop_assert!(breaks && !skip, "{}", message);
                prop_assert!(message.starts_with("sidecar set set-0 would make the Pod violate PodSecurity"), "{}", message);
            }
            Outcome::Mutated(pod) => {
                let names = injected_names(&pod);
                prop_assert_eq!(names.contains(&"s0-c0".to_string()), !breaks, "{:?}", warnings);
                prop_assert!(names.contains(&"s1-c0".to_string()));
                if breaks {
                    prop_assert!(skip);
                }
            }
            Outcome::Unchanged => prop_assert!(false, "nothing injected"),
        }
    }
}
