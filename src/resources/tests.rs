//! Tests of `resources`: compiled only in tests, by `#[cfg(test)] mod tests;` in `mod.rs`.

use rstest::rstest;
use serde_json::{Value, json};

use std::collections::BTreeMap;

use super::quantity::Amount;
use super::*;
use crate::pod::PodView;
use crate::settings::{ContainerSpec, PodLevelResources, QuantityText};

/// An app container with these resources.
fn app(name: &str, resources: Value) -> Value {
    json!({"name": name, "image": "app:1", "resources": resources})
}

fn pod(containers: Value, init: Value, annotations: Value) -> Value {
    json!({"metadata": {"name": "p", "annotations": annotations},
           "spec": {"initContainers": init, "containers": containers}})
}

fn sidecar(extra: Value) -> ContainerSpec {
    let mut spec = json!({"name": "sidecar1", "image": "centos:6.7"});
    if let (Some(map), Value::Object(extra)) = (spec.as_object_mut(), extra) {
        map.extend(extra);
    }
    serde_json::from_value(spec).unwrap()
}

/// The resources the sidecar gets in `pod`, or the rejection.
fn sized(pod: &Value, container: &ContainerSpec) -> Result<Value, String> {
    let view = PodView::read(pod).unwrap();
    let sizing = Sizing::new(&view, |name| name == "injected-earlier");
    let mut entry = container.to_pod_container(crate::order::Placement::NativeSidecar);
    sizing.size(&mut entry, container, "set1")?;
    Ok(entry.get("resources").cloned().unwrap_or(Value::Null))
}

/// The two containers of OpenKruise's proposal stories 2 and 3.
fn engines() -> Value {
    json!([
        app(
            "large-engine-v4",
            json!({"limits": {"cpu": "200m", "memory": "200Mi"}, "requests": {"cpu": "50m", "memory": "100Mi"}})
        ),
        app(
            "large-engine-v8",
            json!({"limits": {"cpu": "400m", "memory": "400Mi"}, "requests": {"cpu": "100m", "memory": "200Mi"}})
        ),
    ])
}

fn policy(mode: &str, regex: &str) -> Value {
    json!({"resourcesPolicy": {"targetContainersMode": mode, "targetContainersNameRegex": regex,
        "resourcesExpr": {"limits": {"cpu": "max(cpu*50%, 50m)", "memory": "200Mi"},
                          "requests": {"cpu": "max(cpu*50%, 50m)", "memory": "100Mi"}}}})
}

// OpenKruise's proposal, stories 1 to 4, and what the rules add.
#[rstest]
#[case::story_1_by_name(engines(), policy("sum", "^large-engine-v4$"),
    json!({"limits": {"cpu": "100m", "memory": "200Mi"}, "requests": {"cpu": "50m", "memory": "100Mi"}}))]
#[case::story_2_sum(engines(), policy("sum", "large-engine-v.*"),
    json!({"limits": {"cpu": "300m", "memory": "200Mi"}, "requests": {"cpu": "75m", "memory": "100Mi"}}))]
#[case::story_3_max(engines(), policy("max", "large-engine-v.*"),
    json!({"limits": {"cpu": "200m", "memory": "200Mi"}, "requests": {"cpu": "50m", "memory": "100Mi"}}))]
#[case::story_4_unlimited(
    json!([app("large-engine-v4", json!({"requests": {"cpu": "50m"}})), app("large-engine-v8", json!({"limits": {"cpu": "400m"}, "requests": {"cpu": "100m"}}))]),
    policy("sum", "large-engine-v.*"),
    // One target has no cpu limit: no cpu limit for the sidecar. The memory
    // limit is a constant and no target has one: still no memory limit.
    json!({"requests": {"cpu": "75m", "memory": "100Mi"}}))]
#[case::missing_request_counts_as_zero(
    json!([app("a", json!({})), app("b", json!({"requests": {"cpu": "600m"}}))]),
    json!({"resourcesPolicy": {"targetContainersMode": "sum", "resourcesExpr": {"requests": {"cpu": "cpu*50%"}}}}),
    json!({"requests": {"cpu": "300m"}}))]
#[case::exact_decimal_rounded_up(
    json!([app("a", json!({"requests": {"cpu": "333m", "memory": "1Gi"}}))]),
    json!({"resourcesPolicy": {"targetContainersMode": "sum", "resourcesExpr": {"requests": {"cpu": "cpu*50%", "memory": "memory*20% + 64Mi"}}}}),
    json!({"requests": {"cpu": "167m", "memory": "281857229"}}))]
#[case::regex_is_a_full_match(
    json!([app("web", json!({"requests": {"cpu": "1"}})), app("web-metrics", json!({"requests": {"cpu": "4"}}))]),
    json!({"resourcesPolicy": {"targetContainersMode": "sum", "targetContainersNameRegex": "web", "resourcesExpr": {"requests": {"cpu": "cpu"}}}}),
    json!({"requests": {"cpu": "1"}}))]
#[case::injected_containers_are_never_targets(
    json!([app("web", json!({"requests": {"cpu": "1"}})), app("injected-earlier", json!({"requests": {"cpu": "4"}}))]),
    json!({"resourcesPolicy": {"targetContainersMode": "max", "resourcesExpr": {"requests": {"cpu": "cpu"}}}}),
    json!({"requests": {"cpu": "1"}}))]
fn resources_policy(#[case] containers: Value, #[case] extra: Value, #[case] expected: Value) {
    let pod = pod(containers, json!([]), json!({}));
    assert_eq!(sized(&pod, &sidecar(extra)).unwrap(), expected);
}

#[test]
fn the_pods_own_native_sidecars_are_targets() {
    let init = json!([
        {"name": "setup", "image": "s", "resources": {"requests": {"cpu": "8"}}},
        {"name": "proxy", "image": "p", "restartPolicy": "Always", "resources": {"requests": {"cpu": "200m"}}},
    ]);
    let pod = pod(
        json!([app("web", json!({"requests": {"cpu": "1"}}))]),
        init,
        json!({}),
    );
    let set = sidecar(
        json!({"resourcesPolicy": {"targetContainersMode": "sum", "resourcesExpr": {"requests": {"cpu": "cpu"}}}}),
    );
    // proxy (a native sidecar) counts; setup (runs to completion) does not.
    assert_eq!(
        sized(&pod, &set).unwrap(),
        json!({"requests": {"cpu": "1200m"}})
    );
}

#[rstest]
#[case::no_target(json!({"resourcesPolicy": {"targetContainersMode": "sum", "targetContainersNameRegex": "db-.*", "resourcesExpr": {"requests": {"cpu": "cpu"}}}}),
    "sidecar set set1: container sidecar1: resourcesPolicy.targetContainersNameRegex \"db-.*\" matches none of the Pod's own containers and native sidecars (web); rename a container to match, or change the regex")]
#[case::below_zero(json!({"resourcesPolicy": {"targetContainersMode": "sum", "resourcesExpr": {"requests": {"cpu": "cpu - 2"}}}}),
    "sidecar set set1: container sidecar1: resourcesPolicy.resourcesExpr.requests.cpu \"cpu - 2\" is -1 for this Pod (cpu = 1), below zero; change the expression")]
#[case::division_by_zero(json!({"resourcesPolicy": {"targetContainersMode": "sum", "resourcesExpr": {"requests": {"memory": "1Gi / memory"}}}}),
    "sidecar set set1: container sidecar1: resourcesPolicy.resourcesExpr.requests.memory \"1Gi / memory\" divides by zero for this Pod (memory = 0); change the expression")]
#[case::request_above_limit(json!({"resourcesPolicy": {"targetContainersMode": "sum", "resourcesExpr": {"requests": {"cpu": "cpu"}, "limits": {"cpu": "cpu*50%"}}}}),
    "sidecar set set1: container sidecar1: requests.cpu 1 is above limits.cpu 500m; a request may not exceed its limit: change the resources annotation or the set's resourcesPolicy")]
fn resources_policy_rejections(#[case] extra: Value, #[case] message: &str) {
    let pod = pod(
        json!([app(
            "web",
            json!({"requests": {"cpu": "1"}, "limits": {"cpu": "1"}})
        )]),
        json!([]),
        json!({}),
    );
    assert_eq!(sized(&pod, &sidecar(extra)).unwrap_err(), message);
}

const KEY: &str = "sidecarset.kubewarden.io/resources.sidecar1";

fn bounded() -> ContainerSpec {
    sidecar(json!({
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "128Mi"}},
        "resourceBounds": {"min": {"cpu": "10m", "memory": "32Mi"}, "max": {"cpu": "1", "memory": "1Gi"}}
    }))
}

/// The sidecar's resources with the override annotation `value`.
fn overridden(container: &ContainerSpec, value: &str) -> Result<Value, String> {
    let pod = pod(
        json!([app("web", json!({}))]),
        json!([]),
        json!({ KEY: value }),
    );
    sized(&pod, container)
}

#[rstest]
#[case::one_field(r#"{"requests": {"cpu": "200m"}}"#,
    json!({"requests": {"cpu": "200m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "128Mi"}}))]
#[case::both_fields(r#"{"requests": {"memory": "256Mi"}, "limits": {"memory": "512Mi"}}"#,
    json!({"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}))]
#[case::at_the_bounds(r#"{"requests": {"cpu": "10m"}, "limits": {"cpu": 1}}"#,
    json!({"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "128Mi"}}))]
#[case::empty(r#"{}"#,
    json!({"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "128Mi"}}))]
fn overrides_change_only_what_they_name(#[case] value: &str, #[case] expected: Value) {
    assert_eq!(overridden(&bounded(), value).unwrap(), expected);
}

#[rstest]
#[case::above_max(
    r#"{"limits": {"cpu": "2"}}"#,
    "annotation sidecarset.kubewarden.io/resources.sidecar1: limits.cpu \"2\" is above resourceBounds.max.cpu 1 of sidecar set set1; choose a value from 10m to 1"
)]
#[case::below_min(
    r#"{"requests": {"memory": "1Mi"}}"#,
    "annotation sidecarset.kubewarden.io/resources.sidecar1: requests.memory \"1Mi\" is below resourceBounds.min.memory 32Mi of sidecar set set1; choose a value from 32Mi to 1Gi"
)]
#[case::unbounded_resource(
    r#"{"requests": {"ephemeral-storage": "1Gi"}}"#,
    "annotation sidecarset.kubewarden.io/resources.sidecar1: requests.ephemeral-storage \"1Gi\" is not allowed: the resourceBounds of sidecar set set1 name only cpu, memory; remove ephemeral-storage from the annotation, or bound it in the settings"
)]
#[case::not_a_quantity(
    r#"{"requests": {"cpu": "lots"}}"#,
    "annotation sidecarset.kubewarden.io/resources.sidecar1: requests.cpu: \"lots\" is not a quantity: a number was expected"
)]
#[case::not_json(
    "cpu=200m",
    "annotation sidecarset.kubewarden.io/resources.sidecar1: \"cpu=200m\" is not a resources override (expected value at line 1 column 1); write it as {\"requests\": {\"cpu\": \"200m\"}, \"limits\": {\"memory\": \"256Mi\"}}"
)]
#[case::unknown_field(
    r#"{"request": {"cpu": "200m"}}"#,
    "annotation sidecarset.kubewarden.io/resources.sidecar1: \"{\\\"request\\\": {\\\"cpu\\\": \\\"200m\\\"}}\" is not a resources override (unknown field `request`, expected `requests` or `limits`); write it as {\"requests\": {\"cpu\": \"200m\"}, \"limits\": {\"memory\": \"256Mi\"}}"
)]
#[case::request_above_resulting_limit(
    r#"{"requests": {"cpu": "800m"}}"#,
    "sidecar set set1: container sidecar1: requests.cpu 800m is above limits.cpu 500m; a request may not exceed its limit: change the resources annotation or the set's resourcesPolicy"
)]
fn override_rejections(#[case] value: &str, #[case] message: &str) {
    assert_eq!(overridden(&bounded(), value).unwrap_err(), message);
}

#[test]
fn no_bounds_no_override() {
    let container = sidecar(json!({"resources": {"requests": {"cpu": "100m"}}}));
    assert_eq!(
        overridden(&container, r#"{"requests": {"cpu": "200m"}}"#).unwrap_err(),
        "annotation sidecarset.kubewarden.io/resources.sidecar1: sidecar set set1 does not let Pods change the resources of container sidecar1 (it gives no resourceBounds); remove the annotation"
    );
}

#[test]
fn an_override_applies_after_the_policy() {
    let mut container = bounded();
    container.spec.remove("resources");
    container.resources_policy = sidecar(
        json!({"resourcesPolicy": {"targetContainersMode": "sum", "resourcesExpr": {"requests": {"cpu": "50m", "memory": "40Mi"}}}}),
    )
    .resources_policy;
    assert_eq!(
        overridden(&container, r#"{"limits": {"memory": "256Mi"}}"#).unwrap(),
        json!({"requests": {"cpu": "50m", "memory": "40Mi"}, "limits": {"memory": "256Mi"}})
    );
}

#[test]
fn unused_overrides_are_reported() {
    let pod = pod(
        json!([app("web", json!({}))]),
        json!([]),
        json!({ "sidecarset.kubewarden.io/resources.envoy": "{}" }),
    );
    let view = PodView::read(&pod).unwrap();
    let sizing = Sizing::new(&view, |_| false);
    assert_eq!(
        sizing.unused(|name| name == "sidecar1"),
        [
            "annotation sidecarset.kubewarden.io/resources.envoy ignored: no sidecar set injects a container \"envoy\" into this Pod now"
        ]
    );
    assert!(sizing.unused(|name| name == "envoy").is_empty());
}

fn requests(cpu: &str) -> Value {
    json!({"requests": {"cpu": cpu}})
}

fn c(name: &str, resources: Value) -> Value {
    json!({"name": name, "resources": resources})
}

fn native(name: &str, resources: Value) -> Value {
    json!({"name": name, "restartPolicy": "Always", "resources": resources})
}

// KEP-753's formula: max over init containers of (request + native
// sidecars before it), against native sidecars + containers; plus overhead.
#[rstest]
#[case::containers_only(json!({"containers": [c("a", requests("100m")), c("b", requests("200m"))]}), "300m")]
#[case::big_init(json!({"initContainers": [c("i", requests("2"))], "containers": [c("a", requests("1"))]}), "2")]
#[case::sidecar_before_big_init(json!({"initContainers": [native("s", requests("500m")), c("i", requests("2"))], "containers": [c("a", requests("1"))]}), "2500m")]
#[case::sidecar_after_big_init(json!({"initContainers": [c("i", requests("2")), native("s", requests("500m"))], "containers": [c("a", requests("1"))]}), "2")]
#[case::sidecars_and_containers(json!({"initContainers": [native("s", requests("500m")), native("t", requests("250m"))], "containers": [c("a", requests("1"))]}), "1750m")]
#[case::limit_defaults_request(json!({"containers": [c("a", json!({"limits": {"cpu": "300m"}}))]}), "300m")]
#[case::overhead(json!({"overhead": {"cpu": "250m"}, "containers": [c("a", requests("1"))]}), "1250m")]
#[case::nothing(json!({"containers": [c("a", json!({}))]}), "")]
fn effective_request(#[case] spec: Value, #[case] cpu: &str) {
    let amounts = effective_requests(spec.as_object().unwrap()).unwrap();
    assert_eq!(
        amounts
            .get("cpu")
            .map(|a| show(*a, "cpu"))
            .unwrap_or_default(),
        cpu
    );
}

#[test]
fn an_unreadable_quantity_of_the_pod_names_its_path() {
    let spec = json!({"containers": [c("a", json!({"requests": {"cpu": "fast"}}))]});
    assert_eq!(
        effective_requests(spec.as_object().unwrap()).unwrap_err(),
        "invalid Pod in the admission request: spec.containers[0].resources.requests.cpu: \"fast\" is not a quantity: a number was expected; send a valid Pod object"
    );
}

fn amounts(pairs: &[(&str, &str)]) -> Amounts {
    pairs
        .iter()
        .map(|(r, q)| (r.to_string(), Amount::parse(q).unwrap()))
        .collect()
}

#[test]
fn max_added_requests() {
    let allowed: BTreeMap<String, QuantityText> =
        [("cpu".to_string(), QuantityText("200m".into()))].into();
    let before = amounts(&[("cpu", "1")]);
    assert_eq!(
        check_added(
            &before,
            &amounts(&[("cpu", "1200m")]),
            &allowed,
            "sidecar set mesh"
        ),
        Ok(())
    );
    assert_eq!(
        check_added(
            &before,
            &amounts(&[("cpu", "1300m")]),
            &allowed,
            "sidecar set mesh"
        )
        .unwrap_err(),
        "injecting sidecar set mesh raises the Pod's effective cpu request by 300m (from 1 to 1300m), more than maxAddedRequests.cpu 200m; lower the sidecars' cpu requests, or raise maxAddedRequests.cpu"
    );
}

fn pod_level(resources: Value) -> Map<String, Value> {
    json!({"resources": resources}).as_object().unwrap().clone()
}

fn injected(limits: &[(&str, &str)], running: bool) -> Injected {
    Injected {
        limits: amounts(limits),
        running,
    }
}

#[test]
fn pod_level_add_raises_by_what_the_sidecars_add() {
    let mut spec = pod_level(
        json!({"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}}),
    );
    let mut warnings = Vec::new();
    let sidecars = [
        injected(&[("cpu", "500m"), ("memory", "256Mi")], true),
        // Runs to completion: its limit is not added, only checked.
        injected(&[("cpu", "1")], false),
    ];
    fit_pod_level(
        &mut spec,
        &amounts(&[("cpu", "1"), ("memory", "512Mi")]),
        &amounts(&[("cpu", "1200m"), ("memory", "768Mi")]),
        &sidecars,
        &[],
        PodLevelResources::Add,
        &mut warnings,
    )
    .unwrap();
    assert_eq!(
        spec["resources"],
        json!({"requests": {"cpu": "1200m", "memory": "1280Mi"}, "limits": {"cpu": "2500m", "memory": "2304Mi"}})
    );
    assert_eq!(
        warnings,
        [
            "spec.resources (Pod-level) raised for the injected sidecars: requests.cpu 1 → 1200m (+200m), requests.memory 1Gi → 1280Mi (+256Mi), limits.cpu 2 → 2500m (+500m), limits.memory 2Gi → 2304Mi (+256Mi)"
        ]
    );
}

#[test]
fn pod_level_limits_are_never_removed() {
    let mut spec = pod_level(json!({"limits": {"memory": "2Gi"}}));
    let mut warnings = Vec::new();
    fit_pod_level(
        &mut spec,
        &Amounts::new(),
        &Amounts::new(),
        &[injected(&[], true)],
        &[],
        PodLevelResources::Add,
        &mut warnings,
    )
    .unwrap();
    assert_eq!(spec["resources"], json!({"limits": {"memory": "2Gi"}}));
    assert_eq!(
        warnings,
        [
            "spec.resources.limits.memory 2Gi left as it is: an injected sidecar has no memory limit and shares the Pod's"
        ]
    );
}

#[test]
fn pod_level_reject_names_the_numbers() {
    let mut spec = pod_level(json!({"requests": {"cpu": "1"}, "limits": {"cpu": "1"}}));
    let before = spec.clone();
    let mut warnings = Vec::new();
    let result = fit_pod_level(
        &mut spec,
        &amounts(&[("cpu", "800m")]),
        &amounts(&[("cpu", "1200m")]),
        &[injected(&[("cpu", "2")], true)],
        &[],
        PodLevelResources::Reject,
        &mut warnings,
    );
    assert_eq!(
        result.unwrap_err(),
        "spec.resources.requests.cpu: 1 is less than the containers' effective request after injection, 1200m (the sidecars add 400m); raise spec.resources.requests.cpu to at least 1200m, or set podLevelResources: add; spec.resources.limits.cpu: 1 is less than an injected container's cpu limit, 2; raise spec.resources.limits.cpu, or set podLevelResources: add"
    );
    assert_eq!(spec, before);
    // Still fits: accepted unchanged, without a warning.
    let fits = fit_pod_level(
        &mut spec,
        &amounts(&[("cpu", "500m")]),
        &amounts(&[("cpu", "900m")]),
        &[injected(&[("cpu", "500m")], true)],
        &[],
        PodLevelResources::Reject,
        &mut warnings,
    );
    assert_eq!(fits, Ok(()));
    assert_eq!(spec, before);
    assert!(warnings.is_empty());
}

#[test]
fn a_pod_level_request_may_not_pass_its_limit() {
    // The sidecar has no cpu limit: the limit stays, the request rises past it.
    let mut spec = pod_level(json!({"requests": {"cpu": "900m"}, "limits": {"cpu": "1"}}));
    let result = fit_pod_level(
        &mut spec,
        &amounts(&[("cpu", "900m")]),
        &amounts(&[("cpu", "1200m")]),
        &[injected(&[], true)],
        &[],
        PodLevelResources::Add,
        &mut Vec::new(),
    );
    assert_eq!(
        result.unwrap_err(),
        "spec.resources: requests.cpu would be 1200m after injection, above limits.cpu 1; raise spec.resources.limits.cpu, or give the sidecars cpu limits"
    );
}

#[test]
fn without_pod_level_resources_nothing_changes() {
    let mut spec = json!({"containers": []}).as_object().unwrap().clone();
    let mut warnings = Vec::new();
    fit_pod_level(
        &mut spec,
        &Amounts::new(),
        &amounts(&[("cpu", "1")]),
        &[injected(&[("cpu", "1")], true)],
        &[],
        PodLevelResources::Reject,
        &mut warnings,
    )
    .unwrap();
    assert_eq!(spec, *json!({"containers": []}).as_object().unwrap());
}

#[test]
fn a_non_critical_sidecar_loses_its_readiness_probe_after_the_startup_probe_is_derived() {
    let container = sidecar(json!({
        "critical": false, "waitForReady": true,
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 2020}},
        "livenessProbe": {"httpGet": {"path": "/live", "port": 2020}}
    }));
    let entry = container.to_pod_container(crate::order::Placement::NativeSidecar);
    assert!(entry.get("readinessProbe").is_none());
    assert_eq!(entry["startupProbe"]["httpGet"]["path"], "/ready");
    assert_eq!(entry["livenessProbe"]["httpGet"]["path"], "/live");
    // Critical (the default): as before.
    let container =
        sidecar(json!({"readinessProbe": {"httpGet": {"path": "/ready", "port": 2020}}}));
    let entry = container.to_pod_container(crate::order::Placement::Trailing);
    assert_eq!(entry["readinessProbe"]["httpGet"]["path"], "/ready");
}

#[rstest]
// The stale sidecar had the same limit: nothing to raise.
#[case::same(&[("cpu", "200m")], &[("cpu", "200m")], "1200m", None)]
// A bigger one: the difference.
#[case::bigger(&[("cpu", "300m")], &[("cpu", "200m")], "1300m", Some("raised for the injected sidecars: limits.cpu 1200m → 1300m (+100m)"))]
// A smaller one: lowered by the difference.
#[case::smaller(&[("cpu", "100m")], &[("cpu", "200m")], "1100m", Some("changed for the injected sidecars: limits.cpu 1200m → 1100m (-100m)"))]
// The stale one had no limit: the Pod-level limit did not count it.
#[case::unlimited_before(&[("cpu", "200m")], &[], "1400m", Some("raised for the injected sidecars: limits.cpu 1200m → 1400m (+200m)"))]
fn pod_level_limits_change_by_what_replaced_sidecars_leave(
    #[case] new: &[(&str, &str)],
    #[case] removed: &[(&str, &str)],
    #[case] cpu: &str,
    #[case] said: Option<&str>,
) {
    let mut spec = pod_level(json!({"limits": {"cpu": "1200m"}}));
    let mut warnings = Vec::new();
    fit_pod_level(
        &mut spec,
        &Amounts::new(),
        &Amounts::new(),
        &[injected(new, true)],
        &[injected(removed, true)],
        PodLevelResources::Add,
        &mut warnings,
    )
    .unwrap();
    assert_eq!(spec["resources"]["limits"]["cpu"], cpu);
    assert_eq!(
        warnings.first().map(String::as_str),
        said.map(|s| format!("spec.resources (Pod-level) {s}"))
            .as_deref()
    );
}
