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
    let (decision, _) = decide_on(request("CREATE", &after, &Value::Null), &settings(100));
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
        "spec.initContainers[0] (fluent-bit): image evil:1 is not the image of revision current of sidecar set log-shipper that this Pod runs (fluent-bit:3.2.4); set it back, or annotate the Pod with sidecarset.kubewarden.io/upgrade: log-shipper to move it to the revision it should run (protectInjected: true)"
    );
    // Item 10: a listed revision's image the Pod should not run (canary at
    // 0%, no pin) is refused, pointing to the trigger…
    assert_eq!(
        refused(
            swap(&before, "initContainers", "fluent-bit:3.3.0"),
            &settings(0)
        ),
        "spec.initContainers[0] (fluent-bit): image fluent-bit:3.3.0 is not the image of revision current of sidecar set log-shipper that this Pod runs (fluent-bit:3.2.4); set it back, or annotate the Pod with sidecarset.kubewarden.io/upgrade: log-shipper to move it to the revision it should run (protectInjected: true)"
    );
    // …and the revision it should run (canary at 100%) is an upgrade: the
    // record and the label follow.
    let (decision, warnings) = decide_on(
        swap(&before, "initContainers", "fluent-bit:3.3.0"),
        &settings(100),
    );
    let Decision::Mutate(moved) = decision else {
        panic!("{decision:?}")
    };
    assert_eq!(image(&moved), "fluent-bit:3.3.0");
    assert_eq!(moved["metadata"]["labels"][LABEL], "v3-3");
    assert_eq!(status(&moved)["sets"][0]["revision"], "v3-3");
    assert_eq!(
        status(&moved)["sets"][0]["images"]["fluent-bit"],
        "fluent-bit:3.3.0"
    );
    assert_eq!(
        warnings,
        [
            "sidecar set log-shipper: revision v3-3 (canary: bucket 25 < 100%, by owner) upgraded in place: fluent-bit → fluent-bit:3.3.0 (the image change)"
        ]
    );
    // The app's own image is the author's.
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

/// An UPDATE of `pod` by `edit`.
fn edited(pod: &Value, edit: impl FnOnce(&mut Value)) -> Value {
    let mut new = pod.clone();
    edit(&mut new);
    request("UPDATE", &new, pod)
}

/// The Pod the API server stores after an accepted UPDATE `request`.
fn stored(request: &Value, settings: &Value) -> Value {
    match decide_on(request.clone(), settings).0 {
        Decision::Accept => request["object"].clone(),
        Decision::Mutate(pod) => pod,
        Decision::Reject(message) => panic!("rejected: {message}"),
    }
}

fn mandatory(percent: u32) -> Value {
    let mut s = settings(percent);
    s["sidecarSets"][0]["mandatory"] = json!(true);
    s
}

// Item 1: protection is judged by what was injected, whatever the labels
// and opt-outs say now, over any number of UPDATEs.
#[test]
fn labels_and_opt_outs_never_unprotect_what_runs() {
    for s in [settings(0), mandatory(0)] {
        let before = injected(&s);
        // The selected label dropped in the same request as the swap.
        let dropped = edited(&before, |p| {
            // Every label but the policy's own revision label, which an
            // UPDATE may not change either.
            p["metadata"]["labels"]
                .as_object_mut()
                .unwrap()
                .retain(|k, _| k.starts_with("sidecarset.kubewarden.io/rev."));
            p["spec"]["initContainers"][0]["image"] = json!("evil:1");
        });
        assert!(refused(dropped, &s).contains("image evil:1 is not the image"));
        // An opt-out first (accepted: it changes nothing that runs), then
        // the swap in a second UPDATE.
        for (key, value) in [
            ("sidecarset.kubewarden.io/inject", "false"),
            ("sidecarset.kubewarden.io/skip", "log-shipper"),
        ] {
            let opt_out = edited(&before, |p| {
                p["metadata"]["annotations"][key] = json!(value)
            });
            assert_eq!(decide_on(opt_out.clone(), &s).0, Decision::Accept);
            let opted = stored(&opt_out, &s);
            let relabelled = edited(&opted, |p| p["metadata"]["labels"]["tier"] = json!("batch"));
            let relabelled = stored(&relabelled, &s);
            let message = refused(swap(&relabelled, "initContainers", "evil:1"), &s);
            assert!(
                message.starts_with("spec.initContainers[0] (fluent-bit): image evil:1"),
                "{message}"
            );
        }
    }
}

#[test]
fn the_record_cannot_be_changed_by_an_update() {
    let s = settings(0);
    let before = injected(&s);
    let expected = "metadata.annotations[\"sidecarset.kubewarden.io/status\"]: this policy's record of what it injected into the Pod cannot be changed or removed by an UPDATE; leave it as it is (recreate the Pod to have it injected afresh)";
    let removed = edited(&before, |p| {
        p["metadata"]["annotations"]
            .as_object_mut()
            .unwrap()
            .remove(STATUS);
    });
    assert_eq!(refused(removed, &s), expected);
    let forged = edited(&before, |p| {
        p["metadata"]["annotations"][STATUS] = json!(r#"{"sets":[]}"#)
    });
    assert_eq!(refused(forged, &s), expected);
    // A record naming no set of the settings is not this policy's.
    let mut other = before.clone();
    other["metadata"]["annotations"][STATUS] = json!(r#"{"sets":[{"name":"gone","hash":"0"}]}"#);
    let changed = edited(&other, |p| {
        p["metadata"]["annotations"][STATUS] = json!(r#"{"sets":[]}"#)
    });
    assert_eq!(decide_on(changed, &s).0, Decision::Accept);
}

/// The revision label is the policy's output too: an UPDATE may not
/// change or remove it (an upgrade moves it); other labels are the
/// author's.
#[test]
fn the_revision_label_cannot_be_changed_by_an_update() {
    let s = settings(0);
    let before = injected(&s);
    let expected = "metadata.labels[\"sidecarset.kubewarden.io/rev.log-shipper\"]: this policy's label of the revision the Pod runs cannot be changed or removed by an UPDATE; leave it as it is (annotate the Pod with sidecarset.kubewarden.io/upgrade to move it to the revision it should run)";
    let changed = edited(&before, |p| p["metadata"]["labels"][LABEL] = json!("v3-3"));
    assert_eq!(refused(changed, &s), expected);
    let removed = edited(&before, |p| {
        p["metadata"]["labels"]
            .as_object_mut()
            .unwrap()
            .remove(LABEL);
    });
    assert_eq!(refused(removed, &s), expected);
    let relabelled = edited(&before, |p| p["metadata"]["labels"]["team"] = json!("shop"));
    assert_eq!(decide_on(relabelled, &s).0, Decision::Accept);
}

// Item 2: a leftover trigger never blocks anything.
#[test]
fn a_trigger_on_a_new_pod_is_removed() {
    let s = settings(0);
    let mut pod = pod();
    pod["metadata"]["annotations"] = json!({TRIGGER: "log-shipper"});
    let (decision, warnings) = decide_on(request("CREATE", &pod, &Value::Null), &s);
    let Decision::Mutate(created) = decision else {
        panic!("{decision:?}")
    };
    assert!(created["metadata"]["annotations"].get(TRIGGER).is_none());
    assert!(warnings.contains(&"annotation sidecarset.kubewarden.io/upgrade (log-shipper) removed: it asks for an in-place upgrade of a running Pod, and this Pod is being created".to_string()));
    // Also where no set applies (the Pod is still in the policy's scope).
    pod["metadata"]["labels"] = json!({});
    let (decision, _) = decide_on(request("CREATE", &pod, &Value::Null), &s);
    let Decision::Mutate(created) = decision else {
        panic!("{decision:?}")
    };
    assert_eq!(created["metadata"]["annotations"], json!({}));
    // Not in an excluded namespace: scope first.
    let mut excluded = s.clone();
    excluded["excludedNamespaces"] = json!(["shop"]);
    let (decision, _) = decide_on(request("CREATE", &pod, &Value::Null), &excluded);
    assert_eq!(decision, Decision::Accept);
}

#[test]
fn a_leftover_trigger_asks_for_nothing() {
    let s = settings(0);
    let injected = injected(&s);
    // A trigger left on the Pod (an UPDATE the policy did not see).
    let mut left = injected.clone();
    left["metadata"]["annotations"][TRIGGER] = json!("log-shipper");
    // The set then changes in more than images, and the canary moves.
    let mut changed = settings(100);
    changed["sidecarSets"][0]["containers"][0]["args"] = json!(["-c", "/etc/other.yaml"]);
    let finalizer = edited(&left, |p| {
        p["metadata"]["finalizers"] = json!(["example.com/keep"])
    });
    assert_eq!(decide_on(finalizer.clone(), &changed).0, Decision::Accept);
    let stored_pod = stored(&finalizer, &changed);
    let released = edited(&stored_pod, |p| p["metadata"]["finalizers"] = json!([]));
    assert_eq!(decide_on(released, &changed).0, Decision::Accept);
    // A controller's label update restarts nothing.
    let labelled = edited(&left, |p| {
        p["metadata"]["labels"]["pod-template-hash"] = json!("7d9")
    });
    assert_eq!(decide_on(labelled, &settings(100)).0, Decision::Accept);
    // Changing the trigger is a request.
    let again = edited(&left, |p| {
        p["metadata"]["annotations"][TRIGGER] = json!("*")
    });
    let Decision::Mutate(upgraded) = decide_on(again, &settings(100)).0 else {
        panic!("not upgraded")
    };
    assert_eq!(image(&upgraded), "fluent-bit:3.3.0");
}

// Item 3: scope first, on UPDATE too.
#[test]
fn pods_out_of_scope_are_accepted_unchanged_trigger_or_not() {
    let s = settings(0);
    let before = injected(&s);
    let mut excluded = s.clone();
    excluded["excludedNamespaces"] = json!(["shop"]);
    for trigger in ["*", "log-shipper", "mesh"] {
        assert_eq!(
            decide_on(triggered(&before, trigger), &excluded),
            (Decision::Accept, vec![])
        );
    }
    // A Pod no set selects and that holds nothing.
    let mut plain = pod();
    plain["metadata"]["labels"] = json!({"tier": "batch"});
    for trigger in ["*", "log-shipper", "mesh"] {
        assert_eq!(
            decide_on(triggered(&plain, trigger), &s),
            (Decision::Accept, vec![])
        );
    }
}

// Item 4: the canary a Pod was created on is the one it keeps.
#[test]
fn an_upgrade_keeps_the_bucket_of_the_pods_creation() {
    let mut s = settings(0);
    s["sidecarSets"][0]["injectionStrategy"]["canary"]["by"] = json!("pod");
    // A generateName Pod: no name at CREATE; the key is the request's uid.
    let mut new = pod();
    new["metadata"].as_object_mut().unwrap().remove("name");
    new["metadata"]["generateName"] = json!("web-");
    let Decision::Mutate(created) = decide_on(request("CREATE", &new, &Value::Null), &s).0 else {
        panic!("not injected")
    };
    let recorded = status(&created)["sets"][0]["buckets"]
        .as_str()
        .unwrap()
        .to_string();
    let bucket = crate::rollout::bucket("log-shipper", "u");
    let owner = crate::rollout::bucket("log-shipper", "c0f5e6a4-1d2b-4b8e-9a7c-5e2f1d3c4b5a");
    assert_eq!(recorded, format!("owner:{owner},pod:{bucket}"));
    // The API server names it; the percent is raised to just above the
    // bucket of the creation: the upgrade moves it to the canary, whatever
    // its name's bucket is.
    let mut named = created.clone();
    named["metadata"]["name"] = json!("web-m2r8d");
    let percent = u32::from(bucket) + 1;
    // Its name's bucket is not below that percent: keyed by the name, the
    // upgrade would move it off the canary.
    assert!(u32::from(crate::rollout::bucket("log-shipper", "web-m2r8d")) >= percent);
    let mut raised = settings(percent);
    raised["sidecarSets"][0]["injectionStrategy"]["canary"]["by"] = json!("pod");
    let Decision::Mutate(upgraded) = decide_on(triggered(&named, "log-shipper"), &raised).0 else {
        panic!("not upgraded")
    };
    assert_eq!(image(&upgraded), "fluent-bit:3.3.0");
    // At the bucket itself it is not on the canary.
    let mut at = settings(u32::from(bucket));
    at["sidecarSets"][0]["injectionStrategy"]["canary"]["by"] = json!("pod");
    let Decision::Mutate(kept) = decide_on(triggered(&named, "log-shipper"), &at).0 else {
        panic!("not answered")
    };
    assert_eq!(image(&kept), "fluent-bit:3.2.4");
}

// Item 5: the Pod's own containers are the author's.
#[test]
fn the_pods_own_containers_are_the_authors() {
    // A set with a namespaceSelector: no Namespace can be read here, and
    // the image change of the Pod's own container does not need one.
    let mut s = settings(0);
    s["sidecarSets"][0]["namespaceSelector"] = json!({"matchLabels": {"mesh": "on"}});
    let mut own = pod();
    own["spec"]["containers"] =
        json!([{"name": "app", "image": "app:1"}, {"name": "fluent-bit", "image": "fluent-bit:1"}]);
    let swapped = edited(&own, |p| {
        p["spec"]["containers"][1]["image"] = json!("fluent-bit:2")
    });
    assert_eq!(decide_on(swapped, &s).0, Decision::Accept);
    // A record that names it, while the Pod holds another image: still the author's.
    let mut claimed = own.clone();
    claimed["metadata"]["annotations"] = json!({STATUS: r#"{"sets":[{"name":"log-shipper","hash":"0","containers":["fluent-bit"],"images":{"fluent-bit":"fluent-bit:3.2.4"}}]}"#});
    let swapped = edited(&claimed, |p| {
        p["spec"]["containers"][1]["image"] = json!("fluent-bit:2")
    });
    assert_eq!(decide_on(swapped, &settings(0)).0, Decision::Accept);
}

// Item 6: no look-alike satisfies a set.
#[test]
fn a_look_alike_is_not_held() {
    let s = settings(0);
    let real = injected(&s);
    let mut fake = real.clone();
    fake["spec"]["initContainers"][0]["args"] = json!(["--drop-everything"]);
    // On CREATE (a copy with the real record): injected afresh, the
    // look-alike replaced by what the set injects.
    let Decision::Mutate(fixed) = decide_on(request("CREATE", &fake, &Value::Null), &s).0 else {
        panic!("a look-alike was taken for the set")
    };
    assert_eq!(
        fixed["spec"]["initContainers"][0]["args"],
        json!(["-c", "/etc/fb.yaml"])
    );
    assert_eq!(fixed["spec"]["initContainers"].as_array().unwrap().len(), 1);
    // An upgrade of a look-alike is refused, naming the field.
    assert_eq!(
        refused(triggered(&fake, "log-shipper"), &settings(100)),
        "upgrade of sidecar set log-shipper: log-shipper/fluent-bit differs from what the set injects, in args[0]; recreate the Pod"
    );
    // Defaults the API server adds are no difference.
    let mut defaulted = real.clone();
    let entry = &mut defaulted["spec"]["initContainers"][0];
    entry["imagePullPolicy"] = json!("IfNotPresent");
    entry["terminationMessagePath"] = json!("/dev/termination-log");
    entry["terminationMessagePolicy"] = json!("File");
    entry["resources"] = json!({});
    assert_eq!(
        decide_on(request("CREATE", &defaulted, &Value::Null), &s).0,
        Decision::Accept
    );
}

// Item 8: bounded work and output.
#[test]
fn work_and_output_are_bounded() {
    let s = settings(0);
    let before = injected(&s);
    let many = vec!["log-shipper"; 10_000].join(",");
    let (decision, warnings) = decide_on(triggered(&before, &many), &settings(100));
    assert!(matches!(decision, Decision::Mutate(_)));
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let unknown: Vec<String> = (0..10_000).map(|i| format!("set-{i}")).collect();
    let message = refused(triggered(&before, &unknown.join(",")), &s);
    assert_eq!(
        message,
        "upgrade of sidecar set set-0, set-1, set-2 (and 9997 more): no such set applies to this Pod; remove them from the sidecarset.kubewarden.io/upgrade annotation"
    );
    let long = "x".repeat(100_000);
    let message = refused(triggered(&before, &long), &s);
    assert!(message.len() < 400, "{}", message.len());
    assert!(message.contains(&format!("{}…", "x".repeat(64))));
    // A record repeating a set thousands of times counts it once.
    let mut repeated = status(&before);
    let entry = repeated["sets"][0].clone();
    repeated["sets"] = Value::Array(vec![entry; 5_000]);
    let mut copy = before.clone();
    copy["metadata"]["annotations"][STATUS] = json!(repeated.to_string());
    let (decision, warnings) = decide_on(triggered(&copy, "*"), &settings(100));
    let Decision::Mutate(upgraded) = decision else {
        panic!("{decision:?}")
    };
    assert_eq!(warnings.len(), 1);
    assert_eq!(status(&upgraded)["sets"].as_array().unwrap().len(), 1);
}

fn verify_mode(settings: &Value) -> Value {
    let mut s = settings.clone();
    s["mode"] = json!("verify");
    s
}

// Items 1 and 6 in verify mode: the same updates are refused, and a
// look-alike does not pass.
#[test]
fn verify_mode_refuses_the_same_updates_and_look_alikes() {
    let s = settings(0);
    let audit = verify_mode(&s);
    let before = injected(&s);
    let dropped = edited(&before, |p| {
        p["metadata"]["labels"] = json!({});
        p["spec"]["initContainers"][0]["image"] = json!("evil:1");
    });
    assert_eq!(
        refused(dropped, &audit),
        "this update adds differences from what the Pod's sidecar sets inject: log-shipper/fluent-bit runs evil:1, the set wants one of its revisions' images: fluent-bit:3.2.4 (current), fluent-bit:3.3.0 (v3-3); leave the injected sidecars as the sets define them"
    );
    let opt_out = edited(&before, |p| {
        p["metadata"]["annotations"]["sidecarset.kubewarden.io/inject"] = json!("false")
    });
    let opted = stored(&opt_out, &audit);
    assert!(refused(swap(&opted, "initContainers", "evil:1"), &audit).contains("runs evil:1"));
    // A look-alike (another args) is told apart, with the field.
    let mut fake = before.clone();
    fake["spec"]["initContainers"][0]["args"] = json!(["--drop-everything"]);
    assert_eq!(
        refused(request("CREATE", &fake, &Value::Null), &audit),
        "the Pod does not hold what its sidecar sets inject: log-shipper/fluent-bit differs from what the set injects, in args[0]; recreate the Pod so that the injecting policy adds the sidecars, or fix its manifest"
    );
    // The real thing, as the API server stores it, passes.
    let mut defaulted = before.clone();
    defaulted["spec"]["initContainers"][0]["imagePullPolicy"] = json!("IfNotPresent");
    defaulted["spec"]["initContainers"][0]["terminationMessagePolicy"] = json!("File");
    assert_eq!(
        decide_on(request("CREATE", &defaulted, &Value::Null), &audit).0,
        Decision::Accept
    );
}

fn bounded(percent: u32) -> Value {
    let mut s = settings(percent);
    s["maxAddedRequests"] = json!({"cpu": "500m"});
    let c = &mut s["sidecarSets"][0]["containers"][0];
    c["resources"] =
        json!({"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}});
    c["resourceBounds"] = json!({"min": {"cpu": "50m"}, "max": {"cpu": "400m", "memory": "256Mi"}});
    s
}

fn resize(pod: &Value, edit: impl FnOnce(&mut Value)) -> Value {
    let mut r = edited(pod, edit);
    r["subResource"] = json!("resize");
    r
}

// Item 7: resources stay within their bounds after creation.
#[test]
fn a_resize_of_an_injected_container_stays_within_its_bounds() {
    let s = bounded(0);
    let before = injected(&s);
    let sidecar = |p: &mut Value, cpu: &str| {
        p["spec"]["initContainers"][0]["resources"]["requests"]["cpu"] = json!(cpu)
    };
    assert_eq!(
        decide_on(resize(&before, |p| sidecar(p, "300m")), &s).0,
        Decision::Accept
    );
    assert_eq!(
        refused(resize(&before, |p| sidecar(p, "1")), &s),
        "spec.initContainers[0] (fluent-bit): resources.requests.cpu 1 is above resourceBounds.max.cpu 400m of sidecar set log-shipper; choose a value from 50m to 400m"
    );
    assert_eq!(
        refused(resize(&before, |p| sidecar(p, "10m")), &s),
        "spec.initContainers[0] (fluent-bit): resources.requests.cpu 10m is below resourceBounds.min.cpu 50m of sidecar set log-shipper; choose a value from 50m to 400m"
    );
    // A resource the bounds do not name.
    let mut unbounded = s.clone();
    unbounded["sidecarSets"][0]["containers"][0]["resourceBounds"] =
        json!({"max": {"memory": "256Mi"}});
    assert_eq!(
        refused(resize(&before, |p| sidecar(p, "200m")), &unbounded),
        "spec.initContainers[0] (fluent-bit): resources.requests.cpu 200m: sidecar set log-shipper gives container fluent-bit no resourceBounds for cpu, so a resize may not change it; resize the Pod's own containers, or bound it in the settings"
    );
    // maxAddedRequests: the injection's share of the effective request.
    let mut tight = s.clone();
    tight["maxAddedRequests"] = json!({"cpu": "250m"});
    assert_eq!(
        refused(resize(&before, |p| sidecar(p, "300m")), &tight),
        "after this resize, injecting sidecar set log-shipper raises the Pod's effective cpu request by 300m (from 100m to 400m), more than maxAddedRequests.cpu 250m; lower the sidecars' cpu requests, or raise maxAddedRequests.cpu"
    );
    // The Pod's own containers are the author's; other subresources pass.
    let own = resize(&before, |p| {
        p["spec"]["containers"][0]["resources"]["requests"]["cpu"] = json!("8")
    });
    assert_eq!(decide_on(own, &tight).0, Decision::Accept);
    let mut status = resize(&before, |p| sidecar(p, "1"));
    status["subResource"] = json!("status");
    assert_eq!(decide_on(status, &s).0, Decision::Accept);
}

#[test]
fn a_resize_may_not_break_the_pod_level_resources() {
    let s = bounded(0);
    let mut pod_level = pod();
    pod_level["spec"]["resources"] =
        json!({"requests": {"cpu": "300m"}, "limits": {"memory": "1Gi"}});
    let Decision::Mutate(before) = decide_on(request("CREATE", &pod_level, &Value::Null), &s).0
    else {
        panic!("not injected")
    };
    assert_eq!(before["spec"]["resources"]["requests"]["cpu"], "400m");
    let grown = resize(&before, |p| {
        p["spec"]["initContainers"][0]["resources"]["requests"]["cpu"] = json!("350m")
    });
    assert_eq!(
        refused(grown, &s),
        "after this resize, spec.resources.requests.cpu 400m is less than the containers' effective request, 450m; resize within it"
    );
}

// Item 9: re-injecting a stale copy raises Pod-level limits by the
// difference, not again by the whole sidecar.
#[test]
fn pod_level_limits_are_raised_once() {
    let mut s = bounded(0);
    s["sidecarSets"][0]["containers"][0]["resources"]["limits"] =
        json!({"cpu": "200m", "memory": "128Mi"});
    let mut with_limits = pod();
    with_limits["spec"]["resources"] = json!({"limits": {"cpu": "1", "memory": "1Gi"}});
    let Decision::Mutate(first) = decide_on(request("CREATE", &with_limits, &Value::Null), &s).0
    else {
        panic!("not injected")
    };
    assert_eq!(
        first["spec"]["resources"]["limits"],
        json!({"cpu": "1200m", "memory": "1152Mi"})
    );
    // The set is replaced (another args); a copy of the Pod is created.
    let mut replaced = s.clone();
    replaced["sidecarSets"][0]["containers"][0]["args"] = json!(["-c", "/etc/v2.yaml"]);
    let (decision, warnings) = decide_on(request("CREATE", &first, &Value::Null), &replaced);
    let Decision::Mutate(copy) = decision else {
        panic!("{decision:?}")
    };
    assert_eq!(
        copy["spec"]["initContainers"][0]["args"],
        json!(["-c", "/etc/v2.yaml"])
    );
    assert_eq!(
        copy["spec"]["resources"]["limits"],
        first["spec"]["resources"]["limits"]
    );
    assert!(
        !warnings.iter().any(|w| w.contains("raised")),
        "{warnings:?}"
    );
    // A bigger replacement raises them by the difference only.
    replaced["sidecarSets"][0]["containers"][0]["resources"]["limits"]["cpu"] = json!("300m");
    let Decision::Mutate(bigger) = decide_on(request("CREATE", &first, &Value::Null), &replaced).0
    else {
        panic!("not injected")
    };
    assert_eq!(bigger["spec"]["resources"]["limits"]["cpu"], "1300m");
}

#[test]
fn an_unreadable_namespace_fails_an_upgrade_with_its_reason() {
    let s = settings(0);
    let before = injected(&s);
    let mut selective = settings(100);
    selective["sidecarSets"][0]["namespaceSelector"] = json!({"matchLabels": {"logs": "on"}});
    // No host here: the Namespace cannot be read.
    let message = refused(triggered(&before, "log-shipper"), &selective);
    assert!(
        message.starts_with("sidecar set log-shipper: cannot read Namespace \"shop\""),
        "{message}"
    );
    // A direct image change is still refused, and an image change of the
    // Pod's own container still needs no Namespace.
    assert!(
        refused(
            swap(&before, "initContainers", "fluent-bit:3.3.0"),
            &selective
        )
        .contains("that this Pod runs")
    );
    assert_eq!(
        decide_on(swap(&before, "containers", "app:2"), &selective).0,
        Decision::Accept
    );
}

#[test]
fn a_trigger_on_a_pod_no_set_may_touch_is_left_alone() {
    // A hostNetwork Pod, with skipHostNetworkPods on (the default).
    let mut host = pod();
    host["spec"]["hostNetwork"] = json!(true);
    host["metadata"]["annotations"] = json!({TRIGGER: "*"});
    assert_eq!(
        decide_on(request("CREATE", &host, &Value::Null), &settings(0)),
        (Decision::Accept, vec![])
    );
}

#[test]
fn a_template_with_a_trigger_is_told() {
    let deployment = json!({"metadata": {"name": "web", "namespace": "shop"},
        "spec": {"template": {"metadata": {"labels": {"tier": "web"}, "annotations": {TRIGGER: "log-shipper"}},
            "spec": {"containers": [{"name": "app", "image": "app:1"}]}}}});
    let request = json!({"uid": "u", "kind": {"group": "apps", "version": "v1", "kind": "Deployment"}, "namespace": "shop",
        "operation": "CREATE", "object": deployment});
    let (decision, warnings) = decide_on(request, &settings(0));
    assert_eq!(decision, Decision::Accept);
    assert_eq!(
        warnings[0],
        "spec.template: annotation sidecarset.kubewarden.io/upgrade asks for an in-place upgrade of a running Pod: it is removed from every Pod created from this template; remove it from the template"
    );
}

#[test]
fn verify_mode_protects_baked_sidecars_over_two_updates() {
    let s = settings(0);
    let audit = verify_mode(&s);
    // Sidecars written into the manifest: no record.
    let mut baked = injected(&s);
    baked["metadata"]["annotations"]
        .as_object_mut()
        .unwrap()
        .remove(STATUS);
    let relabelled = edited(&baked, |p| {
        p["metadata"]["labels"] = json!({"tier": "batch"})
    });
    assert_eq!(decide_on(relabelled.clone(), &audit).0, Decision::Accept);
    let stored = stored(&relabelled, &audit);
    assert!(refused(swap(&stored, "initContainers", "evil:1"), &audit).contains("runs evil:1"));
    // An image of one of the set's revisions is no difference there.
    assert_eq!(
        decide_on(swap(&stored, "initContainers", "fluent-bit:3.3.0"), &audit).0,
        Decision::Accept
    );
}
