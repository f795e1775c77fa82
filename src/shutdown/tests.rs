//! Tests of `shutdown`: drains staggered by dependsOn, the grace period,
//! and both through `inject` as a Pod meets them.

use rstest::rstest;
use serde_json::{Value, json};

use super::*;
use crate::inject::Outcome;
use crate::settings::Settings;
use crate::testing::{mutated, run, settings};

/// A mesh of regular sidecars: envoy (drains 5 s), an agent that depends on
/// envoy (drains 10 s), a log shipper after the app (no drain, nothing
/// depends on it), and a native one (never drained).
fn mesh(extra: Value) -> Value {
    let mut set = json!({"name": "mesh", "selector": {}, "nativeSidecars": false, "containers": [
        {"name": "envoy", "image": "envoy:v1.33.0", "drainSeconds": 5},
        {"name": "agent", "image": "agent:1", "drainSeconds": 10, "dependsOn": ["envoy"]},
        {"name": "shipper", "image": "shipper:1", "podInjectPolicy": "AfterAppContainer"}
    ]});
    if let (Value::Object(set), Value::Object(extra)) = (&mut set, extra) {
        set.extend(extra);
    }
    set
}

fn pod(grace: Option<u32>, restart: &str) -> Value {
    let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-0"},
        "spec": {"restartPolicy": restart, "containers": [{"name": "web", "image": "shop/web:1.4"}]}});
    if let Some(grace) = grace {
        pod["spec"]["terminationGracePeriodSeconds"] = json!(grace);
    }
    pod
}

fn drains(settings: &Settings, pod: &Value) -> Drains {
    let view = crate::pod::PodView::read(pod).unwrap();
    let applying: Vec<Applying> = settings
        .sidecar_sets
        .iter()
        .map(|set| Applying {
            set,
            native: set.native(settings.native_sidecars),
        })
        .collect();
    Drains::of(&applying, &view)
}

#[rstest]
// What others depend on stops last: envoy outlives the agent's 10 s.
#[case::staggered(mesh(json!({})), "Always", &[("envoy", 15), ("agent", 10)])]
// Native sidecars stop after the app containers anyway.
#[case::native(mesh(json!({"nativeSidecars": true})), "Always", &[])]
// Nothing may keep a Job's Pod alive.
#[case::job(mesh(json!({})), "Never", &[])]
#[case::on_failure(mesh(json!({})), "OnFailure", &[])]
// A sidecar without a drain still outlives what depends on it.
#[case::no_own_drain(mesh(json!({"containers": [
    {"name": "envoy", "image": "envoy:v1.33.0"},
    {"name": "agent", "image": "agent:1", "drainSeconds": 10, "dependsOn": ["envoy"]},
    {"name": "tail", "image": "tail:1", "drainSeconds": 3, "dependsOn": ["agent"]}]})), "Always",
    &[("envoy", 13), ("agent", 13), ("tail", 3)])]
fn drains_are_staggered_by_dependencies(
    #[case] set: Value,
    #[case] restart: &str,
    #[case] sleeps: &[(&str, u32)],
) {
    let s = settings(json!({"sidecarSets": [set]}));
    let d = drains(&s, &pod(Some(30), restart));
    let got: Vec<(&str, u32)> = d.sleeps.iter().map(|(n, s)| (n.as_str(), *s)).collect();
    assert_eq!(got, sleeps);
}

#[test]
fn the_need_is_the_apps_own_stop_plus_the_longest_drain() {
    let s = settings(json!({"sidecarSets": [mesh(json!({}))]}));
    let mut p = pod(Some(30), "Always");
    p["spec"]["containers"][0]["lifecycle"] = json!({"preStop": {"sleep": {"seconds": 20}}});
    let d = drains(&s, &p);
    assert_eq!((d.app_stop, d.need(), d.grace), (20, 35, 30));
    // Unset: the API server's default.
    assert_eq!(drains(&s, &pod(None, "Always")).grace, 30);
}

fn pre_stop(pod: &Value, name: &str) -> Value {
    let list = pod["spec"]["containers"].as_array().unwrap();
    let c = list.iter().find(|c| c["name"] == name).unwrap();
    c["lifecycle"]["preStop"].clone()
}

#[test]
fn a_drain_becomes_a_pre_stop_sleep_unless_the_set_has_one() {
    let s = settings(json!({"explain": true, "sidecarSets": [mesh(json!({}))]}));
    let (outcome, warnings) = run(pod(Some(30), "Always"), &s);
    let injected = mutated(outcome);
    assert_eq!(
        pre_stop(&injected, "envoy"),
        json!({"sleep": {"seconds": 15}})
    );
    assert_eq!(
        pre_stop(&injected, "agent"),
        json!({"sleep": {"seconds": 10}})
    );
    assert_eq!(pre_stop(&injected, "shipper"), Value::Null);
    assert_eq!(
        warnings.last().unwrap(),
        "stop order: [envoy (preStop sleep 15 s), agent (preStop sleep 10 s), web, shipper] get SIGTERM together; terminationGracePeriodSeconds 30 (the drains need 15)"
    );
    assert_eq!(run(injected, &s).0, Outcome::Unchanged);
    // The set's own preStop wins.
    let own = mesh(
        json!({"containers": [{"name": "envoy", "image": "envoy:v1.33.0", "drainSeconds": 5,
        "lifecycle": {"preStop": {"exec": {"command": ["/drain"]}}}}]}),
    );
    let s = settings(json!({"sidecarSets": [own]}));
    let injected = mutated(run(pod(Some(30), "Always"), &s).0);
    assert_eq!(
        pre_stop(&injected, "envoy"),
        json!({"exec": {"command": ["/drain"]}})
    );
    // A Job's Pod gets none.
    let s = settings(json!({"jobPods": "asConfigured", "sidecarSets": [mesh(json!({}))]}));
    let injected = mutated(run(pod(Some(30), "Never"), &s).0);
    assert_eq!(pre_stop(&injected, "envoy"), Value::Null);
}

#[test]
fn a_grace_period_too_short_is_named_and_the_sleeps_capped() {
    let s = settings(json!({"sidecarSets": [mesh(json!({}))]}));
    let (outcome, warnings) = run(pod(Some(12), "Always"), &s);
    let injected = mutated(outcome);
    assert_eq!(
        warnings,
        [
            "terminationGracePeriodSeconds 12 does not cover the sidecars' drains: the app's own stop (0 s, the longest preStop sleep of its containers) plus the longest drain (envoy: 15 s) needs 15 s; the preStop sleeps are capped at 12 s; raise the Pod's terminationGracePeriodSeconds, or set shutdown.extendGracePeriod: true in sidecar set mesh"
        ]
    );
    // The API server refuses a sleep longer than the grace period.
    assert_eq!(
        pre_stop(&injected, "envoy"),
        json!({"sleep": {"seconds": 12}})
    );
    assert_eq!(injected["spec"]["terminationGracePeriodSeconds"], 12);
    assert_eq!(run(injected, &s).0, Outcome::Unchanged);
}

#[test]
fn a_zero_grace_period_gets_no_zero_second_sleep() {
    // The API server refuses `sleep.seconds: 0` before v1.33.
    let s = settings(json!({"sidecarSets": [mesh(json!({}))]}));
    let (outcome, warnings) = run(pod(Some(0), "Always"), &s);
    let injected = mutated(outcome);
    assert_eq!(pre_stop(&injected, "envoy"), Value::Null);
    assert_eq!(
        warnings,
        [
            "terminationGracePeriodSeconds 0 does not cover the sidecars' drains: the app's own stop (0 s, the longest preStop sleep of its containers) plus the longest drain (envoy: 15 s) needs 15 s; no preStop sleep is added (the API server refuses a sleep of 0 s before v1.33); raise the Pod's terminationGracePeriodSeconds, or set shutdown.extendGracePeriod: true in sidecar set mesh"
        ]
    );
    assert_eq!(run(injected, &s).0, Outcome::Unchanged);
}

#[test]
fn a_sets_own_sleep_above_the_grace_period_is_named() {
    // validateSleepAction: a hook's sleep within the grace period.
    let set = json!({"name": "logs", "selector": {}, "containers": [{"name": "shipper", "image": "s:1",
        "lifecycle": {"preStop": {"sleep": {"seconds": 20}}}}]});
    let s = settings(json!({"sidecarSets": [set]}));
    assert_eq!(
        run(pod(Some(10), "Always"), &s).0,
        Outcome::Rejected("sidecar set \"logs\": container \"shipper\" has lifecycle.preStop.sleep.seconds 20, above the Pod's terminationGracePeriodSeconds 10, which the API server refuses; raise the Pod's grace period, or shorten the sleep in the set".into())
    );
    assert!(matches!(
        run(pod(None, "Always"), &s).0,
        Outcome::Mutated(_)
    ));
}

#[test]
fn extend_grace_period_raises_it_never_lowers_it_and_keeps_to_its_bound() {
    let extend = |bound: Value| {
        settings(
            json!({"sidecarSets": [mesh(json!({"shutdown": {"extendGracePeriod": true, "maxGracePeriodSeconds": bound}}))]}),
        )
    };
    let s = extend(json!(60));
    let (outcome, warnings) = run(pod(Some(12), "Always"), &s);
    let injected = mutated(outcome);
    assert_eq!(injected["spec"]["terminationGracePeriodSeconds"], 15);
    assert_eq!(
        pre_stop(&injected, "envoy"),
        json!({"sleep": {"seconds": 15}})
    );
    assert_eq!(
        warnings,
        [
            "sidecar set mesh: terminationGracePeriodSeconds raised from 12 to 15 (shutdown.extendGracePeriod): the app's own stop (0 s, the longest preStop sleep of its containers) plus the longest drain (envoy: 15 s) needs 15 s"
        ]
    );
    assert_eq!(run(injected, &s).0, Outcome::Unchanged);
    // Longer than needed: the Pod's.
    let injected = mutated(run(pod(Some(90), "Always"), &s).0);
    assert_eq!(injected["spec"]["terminationGracePeriodSeconds"], 90);
    // Above the bound: rejected.
    let mut long = pod(Some(12), "Always");
    long["spec"]["containers"][0]["lifecycle"] = json!({"preStop": {"sleep": {"seconds": 50}}});
    assert_eq!(
        run(long, &s).0,
        Outcome::Rejected("sidecar set \"mesh\": the Pod's terminationGracePeriodSeconds would have to be raised from 12 to 65 (the app's own stop (50 s, the longest preStop sleep of its containers) plus the longest drain (envoy: 15 s) needs 65 s), above the set's shutdown.maxGracePeriodSeconds 60; shorten the drains (drainSeconds) or the Pod's preStop sleep, or raise the bound".into())
    );
}

#[test]
fn native_sidecars_stop_in_reverse_start_order() {
    let set = json!({"name": "mesh", "selector": {}, "containers": [
        {"name": "envoy", "image": "envoy:v1.33.0"},
        {"name": "agent", "image": "agent:1", "dependsOn": ["envoy"]}]});
    let s = settings(json!({"explain": true, "sidecarSets": [set]}));
    let (outcome, warnings) = run(pod(None, "Always"), &s);
    mutated(outcome);
    assert_eq!(
        warnings[0],
        "start order: envoy (sidecar) → agent (sidecar) → [web]; agent after envoy has started"
    );
    assert_eq!(
        warnings.last().unwrap(),
        "stop order: [web] get SIGTERM together, then the native sidecars in reverse start order: agent → envoy; terminationGracePeriodSeconds 30"
    );
}

#[test]
fn what_a_form_writes_for_an_empty_number_is_none() {
    let set = mesh(
        json!({"containers": [{"name": "envoy", "image": "envoy:v1.33.0", "drainSeconds": 0}],
        "shutdown": {"extendGracePeriod": false, "maxGracePeriodSeconds": 0}}),
    );
    let s = settings(json!({"sidecarSets": [set]}));
    let set = &s.sidecar_sets[0];
    assert_eq!(set.containers[0].drain_seconds, None);
    assert_eq!(set.shutdown, Shutdown::default());
    // The key is the policy's: it never reaches the Pod.
    assert!(!set.containers[0].spec.contains_key("drainSeconds"));
}
