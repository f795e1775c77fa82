//! Tests of `update`: compiled only in tests, by `#[cfg(test)] mod tests;` in `update.rs`.
//! UPDATEs through `admission::decide`, as policy-server sends them.

use serde_json::{Value, json};

use crate::admission::{Decision, decide};

const TRIGGER: &str = "sidecarset.kubewarden.io/upgrade";
const STATUS: &str = "sidecarset.kubewarden.io/status";
const LABEL: &str = "sidecarset.kubewarden.io/rev.log-shipper";

fn settings(percent: u32) -> Value {
    json!({"sidecarSets": [{"name": "log-shipper", "selector": {"matchLabels": {"tier": "web"}},
        "containers": [{"name": "fluent-bit", "image": "fluent-bit:3.2.4", "args": ["-c", "/etc/fb.yaml"]}],
        "revisions": [{"name": "v3-3", "images": {"fluent-bit": "fluent-bit:3.3.0"}}],
        "injectionStrategy": {"canary": {"revision": "v3-3", "percent": percent}}}]})
}

fn pod() -> Value {
    json!({"metadata": {"name": "web-0", "namespace": "shop", "labels": {"tier": "web"},
            "ownerReferences": [{"kind": "StatefulSet", "uid": "c0f5e6a4-1d2b-4b8e-9a7c-5e2f1d3c4b5a", "controller": true}]},
           "spec": {"containers": [{"name": "app", "image": "app:1", "resources": {"requests": {"cpu": "100m"}}}]}})
}

fn request(operation: &str, object: &Value, old: &Value) -> Value {
    json!({"uid": "u", "kind": {"group": "", "version": "v1", "kind": "Pod"}, "namespace": "shop",
        "operation": operation, "object": object, "oldObject": old})
}

fn decide_on(request: Value, settings: &Value) -> (Decision, Vec<String>) {
    let payload = json!({"request": request, "settings": settings});
    let answer = decide(payload.to_string().as_bytes());
    (answer.decision, answer.warnings)
}

/// The Pod injected on CREATE under `settings`.
fn injected(settings: &Value) -> Value {
    match decide_on(request("CREATE", &pod(), &Value::Null), settings).0 {
        Decision::Mutate(pod) => pod,
        other => panic!("not injected: {other:?}"),
    }
}

fn image(pod: &Value) -> &str {
    pod["spec"]["initContainers"][0]["image"].as_str().unwrap()
}

fn status(pod: &Value) -> Value {
    serde_json::from_str(pod["metadata"]["annotations"][STATUS].as_str().unwrap()).unwrap()
}

/// An UPDATE of `pod` that adds the trigger.
fn triggered(pod: &Value, trigger: &str) -> Value {
    let mut new = pod.clone();
    new["metadata"]["annotations"][TRIGGER] = json!(trigger);
    request("UPDATE", &new, pod)
}

#[test]
fn an_upgrade_moves_the_images_and_nothing_else() {
    // Injected at 0%: current. The canary then goes to 100%.
    let before = injected(&settings(0));
    assert_eq!(image(&before), "fluent-bit:3.2.4");
    assert_eq!(before["metadata"]["labels"][LABEL], "current");
    let (decision, warnings) = decide_on(triggered(&before, "log-shipper"), &settings(100));
    let Decision::Mutate(after) = decision else {
        panic!("{decision:?}")
    };
    assert_eq!(image(&after), "fluent-bit:3.3.0");
    assert_eq!(after["metadata"]["labels"][LABEL], "v3-3");
    assert!(after["metadata"]["annotations"].get(TRIGGER).is_none());
    assert_eq!(status(&after)["sets"][0]["revision"], "v3-3");
    // The rest of the record stays: the effective request, the start order.
    assert_eq!(status(&before)["effectiveRequests"], json!({"cpu": "100m"}));
    assert_eq!(
        status(&after)["effectiveRequests"],
        status(&before)["effectiveRequests"]
    );
    assert_eq!(status(&after)["startOrder"], status(&before)["startOrder"]);
    assert_eq!(
        status(&after)["sets"][0]["images"]["fluent-bit"],
        "fluent-bit:3.3.0"
    );
    assert_eq!(
        warnings,
        [
            "sidecar set log-shipper: revision v3-3 (canary: bucket 25 < 100%, by owner) upgraded in place: fluent-bit → fluent-bit:3.3.0"
        ]
    );
    // Nothing else changed.
    let mut rest = after.clone();
    let mut was = before.clone();
    for p in [&mut rest, &mut was] {
        p["spec"]["initContainers"][0]["image"] = Value::Null;
        p["metadata"]["labels"][LABEL] = Value::Null;
        p["metadata"]["annotations"][STATUS] = Value::Null;
    }
    assert_eq!(rest, was);
    // The upgraded Pod is current: an UPDATE or a copy of it changes nothing.
    let (decision, _) = decide_on(request("UPDATE", &after, &after), &settings(100));
    assert_eq!(decision, Decision::Accept);
    let mut copy = after.clone();
    copy["metadata"]["annotations"][TRIGGER] = Value::Null;
    let (decision, _) = decide_on(request("CREATE", &after, &Value::Null), &settings(0));
    assert_eq!(decision, Decision::Accept);
    // "*" upgrades every recorded set; back to current at 0%.
    let (decision, _) = decide_on(triggered(&after, "*"), &settings(0));
    let Decision::Mutate(back) = decision else {
        panic!("{decision:?}")
    };
    assert_eq!(image(&back), "fluent-bit:3.2.4");
    assert_eq!(back["metadata"]["labels"][LABEL], "current");
}

fn refused(request: Value, settings: &Value) -> String {
    match decide_on(request, settings).0 {
        Decision::Reject(message) => message,
        other => panic!("not refused: {other:?}"),
    }
}

#[test]
fn an_upgrade_is_refused_with_what_to_do() {
    let before = injected(&settings(0));
    let mut paused = settings(100);
    paused["sidecarSets"][0]["injectionStrategy"]["paused"] = json!(true);
    assert_eq!(
        refused(triggered(&before, "log-shipper"), &paused),
        "upgrade of sidecar set log-shipper: the set is paused (injectionStrategy.paused), which halts injection and upgrades; unpause it, or remove log-shipper from the sidecarset.kubewarden.io/upgrade annotation"
    );
    let mut changed = settings(100);
    changed["sidecarSets"][0]["containers"][0]["args"] = json!(["-c", "/etc/other.yaml"]);
    assert_eq!(
        refused(triggered(&before, "log-shipper"), &changed),
        "upgrade of sidecar set log-shipper: fluent-bit changed in more than its image since this Pod was injected (only images change in a running Pod): recreate the Pod"
    );
    let mut volumes = settings(100);
    volumes["sidecarSets"][0]["volumes"] = json!([{"name": "v", "emptyDir": {}}]);
    assert_eq!(
        refused(triggered(&before, "log-shipper"), &volumes),
        "upgrade of sidecar set log-shipper: the set changed in more than images since this Pod was injected (its containers, volumes, pull secrets, annotations or nativeSidecars): recreate the Pod"
    );
    // "*" leaves a paused set alone: nothing to upgrade, only the trigger goes.
    let Decision::Mutate(untouched) = decide_on(triggered(&before, "*"), &paused).0 else {
        panic!("not answered with a patch")
    };
    assert_eq!(image(&untouched), "fluent-bit:3.2.4");
    assert!(untouched["metadata"]["annotations"].get(TRIGGER).is_none());
    assert_eq!(
        refused(triggered(&before, "mesh"), &settings(100)),
        "upgrade of sidecar set mesh: no such set applies to this Pod; remove mesh from the sidecarset.kubewarden.io/upgrade annotation"
    );
    // The Pod's author swapped the image out from under the record
    // (protectInjected: false lets the swap through).
    let mut unprotected = settings(100);
    unprotected["protectInjected"] = json!(false);
    let mut swapped = before.clone();
    swapped["spec"]["initContainers"][0]["image"] = json!("fluent-bit:9");
    assert_eq!(
        refused(triggered(&swapped, "log-shipper"), &unprotected),
        "upgrade of sidecar set log-shipper: the Pod does not hold fluent-bit as recorded (image fluent-bit:3.2.4, a native sidecar (an init container with restartPolicy: Always)); recreate the Pod"
    );
    let mut unrecorded = before.clone();
    unrecorded["metadata"]["annotations"][STATUS] = json!(r#"{"sets":[]}"#);
    assert_eq!(
        refused(triggered(&unrecorded, "log-shipper"), &settings(100)),
        "upgrade of sidecar set log-shipper: this Pod has no record of the set's injection; recreate the Pod"
    );
}

fn swap(pod: &Value, list: &str, image: &str) -> Value {
    let mut new = pod.clone();
    new["spec"][list][0]["image"] = json!(image);
    request("UPDATE", &new, pod)
}

#[test]
fn injected_images_are_protected() {
    let before = injected(&settings(0));
    assert_eq!(
        refused(swap(&before, "initContainers", "evil:1"), &settings(0)),
        "spec.initContainers[0] (fluent-bit): image evil:1 is not an image of sidecar set log-shipper; allowed: fluent-bit:3.2.4 (current), fluent-bit:3.3.0 (v3-3); set one of them, or add a revision to the set (protectInjected: true)"
    );
    // A revision's image is allowed; so is the app's own image.
    assert_eq!(
        decide_on(
            swap(&before, "initContainers", "fluent-bit:3.3.0"),
            &settings(0)
        )
        .0,
        Decision::Accept
    );
    assert_eq!(
        decide_on(swap(&before, "containers", "app:2"), &settings(0)).0,
        Decision::Accept
    );
    // An opt-out added in the same update does not lift the check.
    let mut new = before.clone();
    new["spec"]["initContainers"][0]["image"] = json!("evil:1");
    new["metadata"]["annotations"]["sidecarset.kubewarden.io/skip"] = json!("log-shipper");
    assert!(matches!(
        decide_on(request("UPDATE", &new, &before), &settings(0)).0,
        Decision::Reject(_)
    ));
    // A paused set's containers stay protected.
    let mut paused = settings(0);
    paused["sidecarSets"][0]["injectionStrategy"]["paused"] = json!(true);
    assert!(matches!(
        decide_on(swap(&before, "initContainers", "evil:1"), &paused).0,
        Decision::Reject(_)
    ));
    let mut off = settings(0);
    off["protectInjected"] = json!(false);
    assert_eq!(
        decide_on(swap(&before, "initContainers", "evil:1"), &off).0,
        Decision::Accept
    );
}

#[test]
fn other_updates_are_accepted_unchanged() {
    let before = injected(&settings(0));
    let mut labelled = before.clone();
    labelled["metadata"]["labels"]["team"] = json!("shop");
    labelled["metadata"]["finalizers"] = json!(["example.com/keep"]);
    assert_eq!(
        decide_on(request("UPDATE", &labelled, &before), &settings(100)),
        (Decision::Accept, vec![])
    );
}
