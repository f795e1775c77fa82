use rstest::rstest;
use serde_json::json;

use super::*;
use crate::inject::{Outcome, inject};
use crate::namespace::Lookup;

fn labels(value: Value) -> Labels {
    value.as_object().unwrap().clone()
}

#[rstest]
#[case::unlabelled(json!({}), None)]
#[case::privileged(json!({"pod-security.kubernetes.io/enforce": "privileged"}), None)]
#[case::restricted(json!({"pod-security.kubernetes.io/enforce": "restricted"}), Some((Level::Restricted, LATEST, "restricted:latest")))]
#[case::pinned(json!({"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/enforce-version": "v1.30"}), Some((Level::Baseline, 30, "baseline:v1.30")))]
#[case::future(json!({"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/enforce-version": "v1.99"}), Some((Level::Baseline, LATEST, "baseline:v1.99")))]
#[case::unknown_level(json!({"pod-security.kubernetes.io/enforce": "strict"}), Some((Level::Restricted, LATEST, "restricted:latest")))]
#[case::unknown_version(json!({"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/enforce-version": "1.30"}), Some((Level::Baseline, LATEST, "baseline:latest")))]
// Pod Security parses `^v1\.(0|[1-9][0-9]*)$`: anything else is latest.
#[case::leading_zero(json!({"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/enforce-version": "v1.025"}), Some((Level::Baseline, LATEST, "baseline:latest")))]
#[case::plus_sign(json!({"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/enforce-version": "v1.+25"}), Some((Level::Baseline, LATEST, "baseline:latest")))]
#[case::zero_padded_current(json!({"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/enforce-version": "v1.033"}), Some((Level::Baseline, LATEST, "baseline:latest")))]
fn namespace_labels_set_the_policy(
    #[case] value: Value,
    #[case] expected: Option<(Level, Version, &str)>,
) {
    let mut notes = Vec::new();
    let policy = namespace_policy(&labels(value), "enforce", "shop", &mut notes);
    let expected = expected.map(|(level, version, label)| Policy {
        level,
        version,
        label: label.to_string(),
    });
    assert_eq!(policy, expected);
    assert_eq!(notes, Vec::<String>::new());
}

#[test]
fn an_older_version_than_modelled_is_judged_as_latest_with_a_note() {
    let mut notes = Vec::new();
    let value = json!({"pod-security.kubernetes.io/warn": "restricted", "pod-security.kubernetes.io/warn-version": "v1.22"});
    let policy = namespace_policy(&labels(value), "warn", "shop", &mut notes).unwrap();
    assert_eq!(
        (policy.version, policy.label.as_str()),
        (LATEST, "restricted:v1.22")
    );
    assert_eq!(
        notes,
        [
            "Namespace \"shop\" sets pod-security.kubernetes.io/warn-version v1.22: this policy models Pod Security from v1.25 on and judges the sidecars by latest, which the API server's v1.22 may judge differently"
        ]
    );
}

fn filled(container: Value, pod_root: bool) -> Value {
    filled_in(
        container,
        PodContext {
            runs_as_root: pod_root,
            windows: false,
        },
    )
}

fn filled_in(container: Value, pod: PodContext) -> Value {
    let mut map = container.as_object().unwrap().clone();
    fill_restricted(&mut map, pod);
    Value::Object(map)
}

#[test]
fn restricted_defaults_fill_only_what_is_unset() {
    assert_eq!(
        filled(json!({"name": "a"}), false)["securityContext"],
        json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}})
    );
    // What the set wrote stays.
    let written = json!({"name": "a", "securityContext": {"allowPrivilegeEscalation": true,
        "capabilities": {"add": ["NET_BIND_SERVICE"]}, "runAsNonRoot": false, "seccompProfile": {"type": "Localhost", "localhostProfile": "p"}}});
    assert_eq!(
        filled(written, false)["securityContext"],
        json!({"allowPrivilegeEscalation": true, "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
            "runAsNonRoot": false, "seccompProfile": {"type": "Localhost", "localhostProfile": "p"}})
    );
    // Nothing a container could not honour.
    let root = json!({"name": "a", "securityContext": {"runAsUser": 0}});
    assert_eq!(
        filled(root.clone(), false)["securityContext"].get("runAsNonRoot"),
        None
    );
    let inherits_root = json!({"name": "a"});
    assert_eq!(
        filled(inherits_root, true)["securityContext"].get("runAsNonRoot"),
        None
    );
    let sys_admin =
        json!({"name": "a", "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}});
    assert_eq!(
        filled(sys_admin, false)["securityContext"].get("allowPrivilegeEscalation"),
        None
    );
    let privileged = json!({"name": "a", "securityContext": {"privileged": true}});
    assert_eq!(filled(privileged.clone(), false), privileged);
}

#[test]
fn nested_nulls_are_unset() {
    // What an empty Helm value renders.
    let sc = filled(json!({"name": "a", "securityContext": {"capabilities": {"drop": null}, "seccompProfile": {"type": null}}}), false)["securityContext"].clone();
    assert_eq!(sc["capabilities"], json!({"drop": ["ALL"]}));
    assert_eq!(sc["seccompProfile"], json!({"type": "RuntimeDefault"}));
}

#[test]
fn in_a_windows_pod_the_defaults_set_only_run_as_non_root() {
    // validateWindows refuses the other three; Pod Security exempts
    // Windows Pods from the controls they serve (v1.25 on).
    let windows = PodContext {
        runs_as_root: false,
        windows: true,
    };
    assert_eq!(
        filled_in(json!({"name": "a"}), windows)["securityContext"],
        json!({"runAsNonRoot": true})
    );
}

#[test]
fn a_windows_pod_gets_restricted_defaults_it_can_run_and_no_linux_only_field() {
    let sets = json!([{"name": "log-shipper", "selector": {}, "podSecurity": {"defaults": "restricted"},
        "containers": [{"name": "fluent-bit", "image": "f"}]},
        {"name": "mesh", "selector": {"matchLabels": {"mesh": "on"}},
        "containers": [{"name": "envoy", "image": "e", "securityContext": {"capabilities": {"drop": ["ALL"]}}}]}]);
    let mut pod = app_pod(json!({}));
    pod["spec"]["os"] = json!({"name": "windows"});
    let (outcome, warnings) = injected(pod.clone(), &settings(sets.clone()), restricted_ns());
    let Outcome::Mutated(out) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(warnings, Vec::<String>::new());
    assert_eq!(
        out["spec"]["initContainers"][0]["securityContext"],
        json!({"runAsNonRoot": true})
    );
    // A set that writes a field the API server refuses on Windows.
    pod["metadata"]["labels"] = json!({"mesh": "on"});
    let (outcome, _) = injected(pod, &settings(sets), Ok(json!({})));
    assert_eq!(
        outcome,
        Outcome::Rejected("sidecar set \"mesh\": container \"envoy\" sets securityContext.capabilities, which the API server refuses in a Pod with spec.os.name: windows; remove it from the set's container, or keep the set out of such Pods (its selector)".into())
    );
}

#[test]
fn the_pods_own_bad_value_is_named_not_the_set_that_inherits_it() {
    // runAsNonRoot_1_0 and seccompProfileRestricted_1_19 name the Pod (or
    // the containers that set a bad value), not those that inherit.
    let sets = json!([{"name": "log-shipper", "selector": {}, "podSecurity": {"onViolation": "skip"},
        "containers": [{"name": "fluent-bit", "image": "f",
        "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]}]);
    for pod_sc in [
        json!({"runAsNonRoot": false, "seccompProfile": {"type": "RuntimeDefault"}}),
        json!({"runAsNonRoot": true, "seccompProfile": {"type": "Unconfined"}}),
    ] {
        let mut pod =
            app_pod(json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}));
        pod["spec"]["securityContext"] = pod_sc.clone();
        for level in ["restricted", "baseline"] {
            let (outcome, warnings) = injected(
                pod.clone(),
                &settings(sets.clone()),
                Ok(
                    json!({"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": level}),
                ),
            );
            assert!(
                matches!(outcome, Outcome::Mutated(_)),
                "{pod_sc}: {outcome:?}"
            );
            assert_eq!(warnings, Vec::<String>::new(), "{pod_sc}");
        }
    }
    // The same holds where one of the Pod's own containers sets the bad value.
    let mut pod = app_pod(
        json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": false,
        "seccompProfile": {"type": "Unconfined"}}),
    );
    pod["spec"]["securityContext"] = json!({});
    let (outcome, warnings) = injected(pod, &settings(sets), restricted_ns());
    assert!(matches!(outcome, Outcome::Mutated(_)), "{outcome:?}");
    assert_eq!(warnings, Vec::<String>::new());
}

#[rstest]
#[case::not_a_mapping(json!("restricted"), "sidecarSets[0].podSecurity: \"restricted\" is not a mapping; give level, onViolation or defaults")]
#[case::level(json!({"level": "strict"}), "sidecarSets[0].podSecurity.level: \"strict\" is not privileged, baseline or restricted")]
#[case::on_violation(json!({"onViolation": "warn"}), "sidecarSets[0].podSecurity.onViolation: \"warn\" is not reject or skip")]
#[case::defaults(json!({"defaults": "baseline"}), "sidecarSets[0].podSecurity.defaults: \"baseline\" is not restricted (the one profile with defaults)")]
#[case::unknown(json!({"enforce": "restricted"}), "sidecarSets[0].podSecurity.enforce: unknown field; podSecurity has level, onViolation and defaults")]
fn set_settings_errors_name_the_field(#[case] value: Value, #[case] message: &str) {
    assert_eq!(
        SetPodSecurity::read(Some(value), "sidecarSets[0]"),
        Err(message.to_string())
    );
}

fn settings(sets: Value) -> Settings {
    Settings::from_slice(json!({"sidecarSets": sets}).to_string().as_bytes()).unwrap()
}

const RESTRICTED_SC: &str = r#"{"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}"#;

fn restricted_sc() -> Value {
    serde_json::from_str(RESTRICTED_SC).unwrap()
}

/// The example's two sets: a log shipper that meets restricted, and a mesh
/// whose init container needs NET_ADMIN as root.
fn example_sets(mesh_extra: Value) -> Value {
    let mut mesh = json!({"name": "mesh", "selector": {},
        "initContainers": [{"name": "mesh-init", "image": "mesh-init:1",
            "securityContext": {"runAsUser": 0, "runAsNonRoot": false, "capabilities": {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]}}}],
        "containers": [{"name": "envoy", "image": "envoy:1", "securityContext": restricted_sc()}]});
    for (k, v) in mesh_extra.as_object().unwrap() {
        mesh[k] = v.clone();
    }
    json!([
        {"name": "log-shipper", "selector": {}, "containers": [{"name": "fluent-bit", "image": "fluent-bit:3", "securityContext": restricted_sc()}]},
        mesh
    ])
}

fn app_pod(sc: Value) -> Value {
    json!({"metadata": {"name": "web", "namespace": "shop"}, "spec": {"containers": [
        {"name": "web", "image": "web:1", "securityContext": sc}]}})
}

/// Injects into `pod` in Namespace "shop" with `namespace_labels` (Err:
/// the lookup fails).
fn injected(
    pod: Value,
    settings: &Settings,
    namespace_labels: Result<Value, &str>,
) -> (Outcome, Vec<String>) {
    let mut lookup = |_: &str| namespace_labels.clone().map(labels).map_err(String::from);
    let mut namespace = Namespace::with_lookup("shop", Some(&mut lookup as Lookup));
    let mut warnings = Vec::new();
    let outcome = inject(pod, settings, &mut namespace, &mut warnings);
    (outcome, warnings)
}

fn restricted_ns() -> Result<Value, &'static str> {
    Ok(json!({"pod-security.kubernetes.io/enforce": "restricted"}))
}

const MESH_FINDINGS: &str = "sidecar set mesh would make the Pod violate PodSecurity \"restricted:latest\" of Namespace \"shop\": allowPrivilegeEscalation != false (container \"mesh-init\" must set securityContext.allowPrivilegeEscalation=false), runAsNonRoot != true (container \"mesh-init\" must not set securityContext.runAsNonRoot=false), runAsUser=0 (container \"mesh-init\" must not set runAsUser=0), seccompProfile (pod or container \"mesh-init\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"), unrestricted capabilities (container \"mesh-init\" must not include \"NET_ADMIN\", \"NET_RAW\" in securityContext.capabilities.add)";

#[test]
fn a_set_that_breaks_the_enforced_level_rejects_the_pod() {
    let (outcome, _) = injected(
        app_pod(restricted_sc()),
        &settings(example_sets(json!({}))),
        restricted_ns(),
    );
    assert_eq!(
        outcome,
        Outcome::Rejected(format!(
            "{MESH_FINDINGS}; change the set's containers and volumes as the details say (podSecurity.defaults: restricted fills what they leave unset), or set its podSecurity.onViolation: skip to leave it out of such Pods"
        ))
    );
    // A baseline Namespace refuses the capabilities only.
    let (outcome, _) = injected(
        app_pod(restricted_sc()),
        &settings(example_sets(json!({}))),
        Ok(json!({"pod-security.kubernetes.io/enforce": "baseline"})),
    );
    let Outcome::Rejected(message) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(message.starts_with("sidecar set mesh would make the Pod violate PodSecurity \"baseline:latest\" of Namespace \"shop\": non-default capabilities (container \"mesh-init\" must not include \"NET_ADMIN\", \"NET_RAW\" in securityContext.capabilities.add); "), "{message}");
    // A privileged (or unlabelled) one injects both.
    for ns in [
        json!({}),
        json!({"pod-security.kubernetes.io/enforce": "privileged"}),
    ] {
        let (outcome, warnings) = injected(
            app_pod(restricted_sc()),
            &settings(example_sets(json!({}))),
            Ok(ns),
        );
        assert!(matches!(outcome, Outcome::Mutated(_)));
        assert_eq!(warnings, Vec::<String>::new());
    }
}

#[test]
fn skip_leaves_the_set_out_with_a_warning() {
    let sets = example_sets(json!({"podSecurity": {"onViolation": "skip"}}));
    let (outcome, warnings) = injected(app_pod(restricted_sc()), &settings(sets), restricted_ns());
    let Outcome::Mutated(pod) = outcome else {
        panic!("{outcome:?}")
    };
    let names: Vec<&str> = ["initContainers", "containers"]
        .iter()
        .flat_map(|k| pod["spec"][k].as_array().into_iter().flatten())
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["fluent-bit", "web"]);
    assert_eq!(
        warnings,
        [format!(
            "{MESH_FINDINGS}; not injected (podSecurity.onViolation: skip)"
        )]
    );
    let status = pod["metadata"]["annotations"]["sidecarset.kubewarden.io/status"]
        .as_str()
        .unwrap();
    assert!(!status.contains("mesh"), "{status}");
}

#[test]
fn a_mandatory_set_is_never_skipped() {
    let sets = example_sets(json!({"mandatory": true}));
    let (outcome, _) = injected(app_pod(restricted_sc()), &settings(sets), restricted_ns());
    let Outcome::Rejected(message) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(message.ends_with("(podSecurity.defaults: restricted fills what they leave unset); a mandatory set is never skipped"), "{message}");
    // Nor may settings ask for it.
    let invalid = json!({"sidecarSets": example_sets(json!({"mandatory": true, "podSecurity": {"onViolation": "skip"}}))});
    let error = Settings::from_slice(invalid.to_string().as_bytes()).unwrap();
    use kubewarden_policy_sdk::settings::Validatable;
    assert_eq!(
        error.validate(),
        Err("sidecarSets[1].podSecurity.onViolation: skip is not allowed on a mandatory set (Pods cannot go without it); remove it, or make the set not mandatory".to_string())
    );
}

#[test]
fn the_warn_level_adds_a_warning() {
    let sets = json!([{"name": "log-shipper", "selector": {}, "containers": [{"name": "fluent-bit", "image": "fluent-bit:3"}]}]);
    let ns = json!({"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted"});
    let (outcome, warnings) = injected(app_pod(restricted_sc()), &settings(sets), Ok(ns));
    assert!(matches!(outcome, Outcome::Mutated(_)));
    assert_eq!(
        warnings,
        [
            "sidecar set log-shipper makes the Pod violate PodSecurity \"restricted:latest\", which Namespace \"shop\" warns about: allowPrivilegeEscalation != false (container \"fluent-bit\" must set securityContext.allowPrivilegeEscalation=false), runAsNonRoot != true (pod or container \"fluent-bit\" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container \"fluent-bit\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"), unrestricted capabilities (container \"fluent-bit\" must set securityContext.capabilities.drop=[\"ALL\"])"
        ]
    );
}

#[test]
fn a_namespace_that_cannot_be_read_steps_the_check_aside() {
    let (outcome, warnings) = injected(
        app_pod(restricted_sc()),
        &settings(example_sets(json!({}))),
        Err("Policy has not been granted access to Kubernetes v1/Namespace resources"),
    );
    assert!(matches!(outcome, Outcome::Mutated(_)), "never a rejection");
    assert_eq!(
        warnings,
        [
            "Pod Security not checked before the API server: Namespace \"shop\" could not be read (Policy has not been granted access to Kubernetes v1/Namespace resources); the API server still enforces its level. Grant the policy v1/Namespace (contextAwareResources) or set checkPodSecurity: false"
        ]
    );
}

#[test]
fn the_check_turned_off_reads_nothing() {
    let mut s = settings(example_sets(json!({})));
    s.check_pod_security = false;
    let mut calls = 0;
    let mut lookup = |_: &str| {
        calls += 1;
        Ok(Labels::new())
    };
    let mut namespace = Namespace::with_lookup("shop", Some(&mut lookup as Lookup));
    let outcome = inject(
        app_pod(restricted_sc()),
        &s,
        &mut namespace,
        &mut Vec::new(),
    );
    drop(namespace);
    assert!(matches!(outcome, Outcome::Mutated(_)));
    assert_eq!(calls, 0);
}

#[test]
fn the_pods_own_context_counts_and_its_own_violations_stay_its_own() {
    // A set without runAsNonRoot and seccomp fits a Pod that sets them
    // for every container.
    let sets = json!([{"name": "log-shipper", "selector": {}, "containers": [{"name": "fluent-bit", "image": "f",
        "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]}]);
    let mut pod = app_pod(restricted_sc());
    pod["spec"]["securityContext"] =
        json!({"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}});
    let (outcome, warnings) = injected(pod.clone(), &settings(sets.clone()), restricted_ns());
    assert!(matches!(outcome, Outcome::Mutated(_)), "{outcome:?}");
    assert_eq!(warnings, Vec::<String>::new());
    // The Pod's own privileged container, hostPath volume and root user
    // are the API server's to report: the set is injected.
    let mut bad = pod;
    bad["spec"]["securityContext"]["runAsUser"] = json!(0);
    bad["spec"]["containers"][0]["securityContext"]["privileged"] = json!(true);
    bad["spec"]["volumes"] = json!([{"name": "host", "hostPath": {"path": "/"}}]);
    let (outcome, _) = injected(bad, &settings(sets), restricted_ns());
    assert!(matches!(outcome, Outcome::Mutated(_)), "{outcome:?}");
}

#[test]
fn defaults_make_a_plain_set_fit_restricted() {
    let sets = json!([{"name": "log-shipper", "selector": {}, "podSecurity": {"defaults": "restricted", "level": "restricted"},
        "containers": [{"name": "fluent-bit", "image": "f"}]}]);
    let s = settings(sets);
    use kubewarden_policy_sdk::settings::Validatable;
    assert_eq!(s.validate(), Ok(()));
    let (outcome, warnings) = injected(app_pod(restricted_sc()), &s, restricted_ns());
    let Outcome::Mutated(pod) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(warnings, Vec::<String>::new());
    assert_eq!(
        pod["spec"]["initContainers"][0]["securityContext"],
        restricted_sc()
    );
    // In a Pod that runs as root the sidecar does not claim runAsNonRoot
    // (the kubelet would refuse to start it).
    let mut root = app_pod(json!({}));
    root["spec"]["securityContext"] = json!({"runAsUser": 0});
    let (outcome, _) = injected(root, &s, Ok(json!({})));
    let Outcome::Mutated(pod) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        pod["spec"]["initContainers"][0]["securityContext"].get("runAsNonRoot"),
        None
    );
}

#[test]
fn a_declared_level_is_checked_by_validate_settings() {
    use kubewarden_policy_sdk::settings::Validatable;
    let sets = example_sets(json!({"podSecurity": {"level": "baseline"}}));
    assert_eq!(
        settings(sets).validate(),
        Err("sidecarSets[1].podSecurity.level: sidecar set mesh does not meet baseline on its own: non-default capabilities (container \"mesh-init\" must not include \"NET_ADMIN\", \"NET_RAW\" in securityContext.capabilities.add); change its containers and volumes as the details say, or declare the level it meets".to_string())
    );
    let sets = example_sets(json!({"podSecurity": {"level": "privileged"}}));
    assert_eq!(settings(sets).validate(), Ok(()));
}

#[test]
fn describe_names_the_level_a_set_meets_on_its_own() {
    let s = settings(example_sets(json!({})));
    let [log, mesh] = [&s.sidecar_sets[0], &s.sidecar_sets[1]];
    assert_eq!(
        describe(log, true),
        "sidecar set log-shipper meets Pod Security restricted on its own"
    );
    assert_eq!(
        describe(mesh, true),
        "sidecar set mesh meets Pod Security privileged on its own (not baseline: non-default capabilities)"
    );
}

#[test]
fn explain_shows_the_level_each_set_meets_where_pod_security_was_checked() {
    let mut s = settings(example_sets(
        json!({"podSecurity": {"onViolation": "skip"}}),
    ));
    s.explain = true;
    let (outcome, warnings) = injected(app_pod(restricted_sc()), &s, Ok(json!({})));
    assert!(matches!(outcome, Outcome::Mutated(_)));
    assert_eq!(
        warnings[..2],
        [
            "sidecar set log-shipper meets Pod Security restricted on its own",
            "sidecar set mesh meets Pod Security privileged on its own (not baseline: non-default capabilities)"
        ]
    );
    // Not read (no host, or turned off): not evaluated.
    let mut warnings = Vec::new();
    inject(
        app_pod(restricted_sc()),
        &s,
        &mut Namespace::new("shop"),
        &mut warnings,
    );
    assert!(
        warnings.iter().all(|w| !w.contains("Pod Security")),
        "{warnings:?}"
    );
}

#[test]
fn an_empty_answer_is_unset() {
    assert_eq!(
        SetPodSecurity::read(
            Some(json!({"defaults": "", "level": null, "onViolation": ""})),
            ""
        ),
        Ok(SetPodSecurity::default())
    );
}
