//! The built module, through host/, on the Pod UPDATE path (issue 20): what
//! an UPDATE may and may not do to what a set injected, under the example
//! ClusterAdmissionPolicy (its privileged mesh-init included) and the
//! rollout settings. Every mutated Pod goes through kubernetes-validate.

mod common;

use common::{
    as_stored, entry, entry_mut, entry_names, kubernetes_validate, patched, policy, request,
    status_of,
};
use host::{AdmissionResponse, read_settings};
use serde_json::{Value, json};

const CHECKOUT: &str = "examples/requests/pod-checkout-create.json";
const TRIGGER: &str = "sidecarset.kubewarden.io/upgrade";
const STATUS: &str = "sidecarset.kubewarden.io/status";

fn example() -> Value {
    host::read_policy_resources(&common::repo().join("examples/cluster-admission-policy.yaml"))
        .unwrap()
        .remove(0)
        .settings
}

fn rollout() -> Value {
    read_settings(&common::repo().join("test_data/settings-rollout.yaml")).unwrap()
}

fn evaluate(request: &Value, settings: &Value) -> AdmissionResponse {
    policy().evaluate(request, settings).unwrap()
}

/// The checkout Pod as the API server stores it after injection under
/// `settings`: the patch applied, then the defaults the API server adds.
fn injected(settings: &Value) -> (Value, Value) {
    let create = request(CHECKOUT);
    let response = evaluate(&create, settings);
    assert!(response.allowed, "{:?}", response.message());
    let mut pod = patched(&create, &response);
    // A name of its own per call: the tests run in parallel.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    kubernetes_validate(&[(format!("injected-{n}"), pod.clone())], "1.36.0")
        .unwrap_or_else(|e| panic!("{e}"));
    as_stored(&mut pod);
    pod["metadata"]["name"] = json!("checkout-5b8c7d9f4-x2x9q");
    (create, pod)
}

/// An UPDATE (or a `subResource`'s) of `pod` to `edit`ed.
fn update(create: &Value, pod: &Value, edit: impl FnOnce(&mut Value)) -> Value {
    let mut new = pod.clone();
    edit(&mut new);
    let mut request = create.clone();
    request["operation"] = json!("UPDATE");
    request["oldObject"] = pod.clone();
    request["object"] = new;
    request
}

fn refused(request: &Value, settings: &Value) -> String {
    let response = evaluate(request, settings);
    assert!(
        !response.allowed,
        "accepted: {:?}",
        response.patch_operations()
    );
    response.message().unwrap().to_string()
}

/// Accepted without a patch.
fn unchanged(request: &Value, settings: &Value) {
    let response = evaluate(request, settings);
    assert!(response.allowed, "{:?}", response.message());
    assert!(
        response.patch_operations().unwrap().is_empty(),
        "{:?}",
        response.patch_operations()
    );
}

fn verify_mode(settings: &Value) -> Value {
    let mut s = settings.clone();
    s["mode"] = json!("verify");
    s
}

#[test]
fn the_stored_pod_is_what_the_sets_inject() {
    let s = example();
    let (create, pod) = injected(&s);
    // A copy, with the API server's defaults: current, no patch; verify
    // mode takes it.
    let mut copy = create.clone();
    copy["object"] = pod.clone();
    unchanged(&copy, &s);
    unchanged(&copy, &verify_mode(&s));
}

/// Item 1: the privileged mesh-init swapped while the Pod drops the label
/// that selected its set, or after an opt-out: refused in both modes.
#[test]
fn the_privileged_init_container_stays_protected() {
    for s in [example(), verify_mode(&example())] {
        let (create, pod) = injected(&example());
        let swap = |p: &mut Value| p["spec"]["initContainers"][0]["image"] = json!("evil:1");
        assert_eq!(
            entry(&pod, "initContainers", "mesh-init")["name"],
            "mesh-init"
        );
        let dropped = update(&create, &pod, |p| {
            p["metadata"]["labels"]
                .as_object_mut()
                .unwrap()
                .remove("app.kubernetes.io/part-of");
            swap(p);
        });
        assert!(refused(&dropped, &s).contains("evil:1"));
        let opted = update(&create, &pod, |p| {
            p["metadata"]["annotations"]["sidecarset.kubewarden.io/inject"] = json!("false")
        });
        unchanged(&opted, &s);
        let opted = opted["object"].clone();
        let swapped = update(&create, &opted, swap);
        assert!(refused(&swapped, &s).contains("evil:1"));
    }
}

/// Item 2: a trigger on a new Pod never reaches the stored Pod; a leftover
/// one never blocks a finalizer's removal.
#[test]
fn a_trigger_is_removed_on_create_and_a_leftover_one_asks_for_nothing() {
    let s = example();
    let mut create = request(CHECKOUT);
    create["object"]["metadata"]["annotations"][TRIGGER] = json!("*");
    let response = evaluate(&create, &s);
    assert!(response.allowed);
    let pod = patched(&create, &response);
    assert!(pod["metadata"]["annotations"].get(TRIGGER).is_none());
    assert!(
        response
            .warnings
            .unwrap()
            .iter()
            .any(|w| w.starts_with("annotation sidecarset.kubewarden.io/upgrade (*) removed"))
    );
    let (create, mut pod) = injected(&s);
    pod["metadata"]["annotations"][TRIGGER] = json!("log-shipper");
    pod["metadata"]["finalizers"] = json!(["example.com/keep"]);
    let mut changed = s.clone();
    changed["sidecarSets"][0]["containers"][0]["args"] = json!(["--other"]);
    unchanged(
        &update(&create, &pod, |p| p["metadata"]["finalizers"] = json!([])),
        &changed,
    );
}

/// Item 3: out of scope, trigger or not: accepted unchanged.
#[test]
fn an_excluded_namespace_is_left_alone_on_update() {
    let s = example();
    let mut create = request("examples/requests/pod-admin-no-set-create.json");
    create["namespace"] = json!("kube-system");
    create["object"]["metadata"]["namespace"] = json!("kube-system");
    let pod = create["object"].clone();
    for trigger in ["*", "mesh"] {
        unchanged(
            &update(&create, &pod, |p| {
                p["metadata"]["annotations"][TRIGGER] = json!(trigger)
            }),
            &s,
        );
    }
}

/// Items 5 and 6: the Pod's own look-alike container is the author's; a
/// copied record with a look-alike is injected afresh, and verify mode
/// names the field.
#[test]
fn look_alikes_and_own_containers() {
    let s = example();
    let (create, pod) = injected(&s);
    let mut fake = pod.clone();
    entry_mut(&mut fake, "initContainers", "envoy")["args"] = json!(["-c", "/dev/null"]);
    let mut copy = create.clone();
    copy["object"] = fake.clone();
    let response = evaluate(&copy, &s);
    assert!(response.allowed, "{:?}", response.message());
    let fixed = patched(&copy, &response);
    assert_eq!(
        entry(&fixed, "initContainers", "envoy")["args"],
        json!(["-c", "/etc/envoy/envoy.yaml"])
    );
    kubernetes_validate(&[("re-injected".into(), fixed)], "1.36.0")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        refused(&copy, &verify_mode(&s)),
        "the Pod does not hold what its sidecar sets inject: mesh/envoy differs from what the set injects, in args[1]; recreate the Pod so that the injecting policy adds the sidecars, or fix its manifest"
    );
    // The app's own image is the author's.
    unchanged(
        &update(&create, &pod, |p| {
            p["spec"]["containers"][0]["image"] = json!("checkout:2")
        }),
        &s,
    );
}

/// Item 7: a resize of an injected container within its bounds only.
#[test]
fn a_resize_stays_within_the_sets_bounds() {
    let mut s = example();
    s["sidecarSets"][0]["containers"][0]["resourceBounds"] =
        json!({"max": {"cpu": "200m", "memory": "128Mi"}});
    let (create, pod) = injected(&s);
    // A native sidecar: an init container.
    let index = entry_names(&pod, "initContainers")
        .iter()
        .position(|n| n == "fluent-bit")
        .unwrap();
    let resize = |cpu: &str| {
        let mut r = update(&create, &pod, |p| {
            p["spec"]["initContainers"][index]["resources"]["requests"]["cpu"] = json!(cpu)
        });
        r["subResource"] = json!("resize");
        r
    };
    unchanged(&resize("150m"), &s);
    assert_eq!(
        refused(&resize("500m"), &s),
        format!(
            "spec.initContainers[{index}] (fluent-bit): resources.requests.cpu 500m is above resourceBounds.max.cpu 200m of sidecar set log-shipper; choose a value from 0 to 200m"
        )
    );
}

/// Item 8: bounded output for a trigger naming a set thousands of times.
#[test]
fn a_trigger_repeating_a_set_gives_one_warning() {
    let s = rollout();
    let mut create = request("test_data/requests/pod-replicaset-create.json");
    create["object"]["metadata"]["labels"]["tier"] = json!("web");
    let response = evaluate(&create, &s);
    let pod = patched(&create, &response);
    let many = vec!["log-shipper"; 5_000].join(",");
    let response = evaluate(
        &update(&create, &pod, |p| {
            p["metadata"]["annotations"][TRIGGER] = json!(many)
        }),
        &s,
    );
    assert!(response.allowed, "{:?}", response.message());
    assert_eq!(response.warnings.unwrap().len(), 1);
    let long = "x".repeat(50_000);
    let message = refused(
        &update(&create, &pod, |p| {
            p["metadata"]["annotations"][TRIGGER] = json!(long)
        }),
        &s,
    );
    assert!(message.len() < 400, "{message}");
}

/// Items 4 and 10: the record keeps the buckets; a direct swap to a
/// revision the Pod should not run is refused, pointing to the trigger.
#[test]
fn a_direct_swap_follows_the_revision_the_pod_should_run() {
    let mut s = rollout();
    s["sidecarSets"][0]["injectionStrategy"]["canary"]["percent"] = json!(0);
    let mut create = request("test_data/requests/pod-replicaset-create.json");
    create["object"]["metadata"]["labels"]["tier"] = json!("web");
    let response = evaluate(&create, &s);
    let pod = patched(&create, &response);
    assert!(
        status_of(&pod)["sets"][0]["buckets"]
            .as_str()
            .unwrap()
            .starts_with("owner:")
    );
    let swap = |p: &mut Value| {
        entry_mut(p, "initContainers", "fluent-bit")["image"] =
            json!("cr.fluentbit.io/fluent/fluent-bit:3.3.0");
    };
    let message = refused(&update(&create, &pod, swap), &s);
    assert!(message.ends_with("set it back, or annotate the Pod with sidecarset.kubewarden.io/upgrade: log-shipper to move it to the revision it should run (protectInjected: true)"), "{message}");
    // At 100% it is an upgrade: record and label follow.
    s["sidecarSets"][0]["injectionStrategy"]["canary"]["percent"] = json!(100);
    let request = update(&create, &pod, swap);
    let response = evaluate(&request, &s);
    assert!(response.allowed, "{:?}", response.message());
    let moved = patched(&request, &response);
    assert_eq!(
        moved["metadata"]["labels"]["sidecarset.kubewarden.io/rev.log-shipper"],
        "v3-3"
    );
    assert_eq!(status_of(&moved)["sets"][0]["revision"], "v3-3");
    assert!(moved["metadata"]["annotations"].get(STATUS).is_some());
    kubernetes_validate(&[("moved".into(), moved)], "1.36.0").unwrap_or_else(|e| panic!("{e}"));
}

/// Item 4 through the module: a generateName Pod on the canary `by: pod`
/// (keyed at CREATE by the request's uid) stays on it when it is upgraded
/// under its name after the percent was raised.
#[test]
fn an_upgrade_keeps_the_canary_of_the_pods_creation() {
    let mut create = request("test_data/requests/pod-replicaset-create.json");
    create["object"]["metadata"]["labels"]["tier"] = json!("web");
    let uid = create["uid"].as_str().unwrap().to_string();
    let bucket = |key: &str| {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in format!("log-shipper/{key}").bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        hash % 100
    };
    // Just above the creation's bucket; a name whose own bucket is not.
    let percent = bucket(&uid) + 1;
    let name = (0..1000)
        .map(|i| format!("checkout-{i}"))
        .find(|n| bucket(n) >= percent)
        .unwrap();
    let settings = |percent: u64| {
        let mut s = rollout();
        s["sidecarSets"][0]["injectionStrategy"]["canary"] =
            json!({"revision": "v3-3", "percent": percent, "by": "pod"});
        s
    };
    // Created at 0%: current; its record keeps the bucket of its uid.
    let response = evaluate(&create, &settings(0));
    let mut pod = patched(&create, &response);
    assert_eq!(
        pod["metadata"]["labels"]["sidecarset.kubewarden.io/rev.log-shipper"],
        "current"
    );
    assert!(
        status_of(&pod)["sets"][0]["buckets"]
            .as_str()
            .unwrap()
            .ends_with(&format!(",pod:{}", bucket(&uid)))
    );
    pod["metadata"]["name"] = json!(name);
    let mut later = update(&create, &pod, |p| {
        p["metadata"]["annotations"][TRIGGER] = json!("log-shipper")
    });
    later["uid"] = json!("another-request");
    let response = evaluate(&later, &settings(percent));
    assert!(response.allowed, "{:?}", response.message());
    let upgraded = patched(&later, &response);
    assert_eq!(
        upgraded["metadata"]["labels"]["sidecarset.kubewarden.io/rev.log-shipper"],
        "v3-3"
    );
    kubernetes_validate(&[("canary-kept".into(), upgraded)], "1.36.0")
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Item 9 through the module: a stale copy re-injected keeps its Pod-level
/// limits, raised once.
#[test]
fn pod_level_limits_are_raised_once_for_a_stale_copy() {
    let mut s = example();
    s["sidecarSets"][0]["containers"][0]["resources"]["limits"] =
        json!({"cpu": "200m", "memory": "64Mi"});
    let mut create = request(CHECKOUT);
    create["object"]["spec"]["resources"] = json!({"limits": {"cpu": "2", "memory": "1Gi"}});
    let response = evaluate(&create, &s);
    assert!(response.allowed, "{:?}", response.message());
    let first = patched(&create, &response);
    let limits = first["spec"]["resources"]["limits"].clone();
    let mut replaced = s.clone();
    replaced["sidecarSets"][0]["containers"][0]["args"] =
        json!(["--config=/fluent-bit/etc/v2.yaml"]);
    let mut copy = create.clone();
    copy["object"] = first;
    let response = evaluate(&copy, &replaced);
    assert!(response.allowed, "{:?}", response.message());
    let again = patched(&copy, &response);
    assert_eq!(
        entry(&again, "initContainers", "fluent-bit")["args"],
        json!(["--config=/fluent-bit/etc/v2.yaml"])
    );
    assert_eq!(again["spec"]["resources"]["limits"], limits);
    kubernetes_validate(&[("stale-copy".into(), again)], "1.36.0")
        .unwrap_or_else(|e| panic!("{e}"));
}
