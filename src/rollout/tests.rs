//! Tests of `rollout`: compiled only in tests, by `#[cfg(test)] mod tests;` in `rollout.rs`.

use rstest::rstest;
use serde_json::{Value, json};

use super::*;
use crate::settings::Settings;

const OWNER: &str = "c0f5e6a4-1d2b-4b8e-9a7c-5e2f1d3c4b5a";

fn set(extra: Value) -> SidecarSet {
    let mut set = json!({"name": "log-shipper", "selector": {},
        "containers": [{"name": "fluent-bit", "image": "fluent-bit:3.2.4"}],
        "initContainers": [{"name": "log-init", "image": "busybox:1"}],
        "revisions": [{"name": "v3-3", "images": {"fluent-bit": "fluent-bit:3.3.0"}}]});
    if let (Some(map), Value::Object(extra)) = (set.as_object_mut(), extra) {
        map.extend(extra);
    }
    let settings = json!({ "sidecarSets": [set] });
    let mut parsed = Settings::from_slice(settings.to_string().as_bytes()).unwrap();
    parsed.sidecar_sets.remove(0)
}

fn metadata(annotations: Value, owner: bool) -> Value {
    let mut metadata = json!({"generateName": "checkout-7d9f8b6c5d-", "annotations": annotations});
    if owner {
        metadata["ownerReferences"] = json!([
            {"kind": "ReplicaSet", "uid": "not-the-controller", "controller": false},
            {"kind": "ReplicaSet", "uid": OWNER, "controller": true}
        ]);
    }
    metadata
}

// FNV-1a-64 of "<set>/<key>" mod 100, computed independently (Python).
#[rstest]
#[case("log-shipper", OWNER, 25)]
#[case("log-shipper", "shop/checkout-7d9f8b6c5d-", 21)]
#[case("mesh", "web-0", 8)]
#[case("log-shipper", "b", 92)]
fn buckets(#[case] set: &str, #[case] key: &str, #[case] expected: u8) {
    assert_eq!(bucket(set, key), expected);
}

#[rstest]
#[case::owner(CanaryKey::Owner, metadata(json!({}), true), OWNER)]
#[case::owner_without_controller(CanaryKey::Owner, metadata(json!({}), false), "shop/checkout-7d9f8b6c5d-")]
#[case::owner_named_pod(CanaryKey::Owner, json!({"name": "web-0"}), "shop/web-0")]
#[case::pod_named(CanaryKey::Pod, json!({"name": "web-0", "generateName": "web-"}), "web-0")]
#[case::pod_unnamed(CanaryKey::Pod, metadata(json!({}), true), "request-uid")]
fn canary_keys(#[case] by: CanaryKey, #[case] metadata: Value, #[case] expected: &str) {
    assert_eq!(canary_key(by, &metadata, "shop", "request-uid"), expected);
}

fn chosen(set: &SidecarSet, metadata: &Value) -> (String, Why, Vec<String>) {
    let mut warnings = Vec::new();
    let choice = set.choose(
        metadata,
        None,
        set.buckets(metadata, "shop", "uid"),
        &mut warnings,
    );
    (choice.revision.to_string(), choice.why, warnings)
}

#[test]
fn a_canary_takes_the_owners_below_its_percent() {
    let canary = |percent: u32| {
        set(json!({"injectionStrategy": {"canary": {"revision": "v3-3", "percent": percent}}}))
    };
    let pod = metadata(json!({}), true);
    // The owner's bucket is 25.
    assert_eq!(
        chosen(&canary(26), &pod),
        (
            "v3-3".into(),
            Why::Canary {
                bucket: 25,
                percent: 26,
                by: CanaryKey::Owner
            },
            vec![]
        )
    );
    assert_eq!(
        chosen(&canary(25), &pod),
        ("current".into(), Why::Current, vec![])
    );
    assert_eq!(
        chosen(&canary(0), &pod),
        ("current".into(), Why::Current, vec![])
    );
    assert_eq!(chosen(&canary(100), &pod).0, "v3-3");
}

#[test]
fn a_pin_wins_where_the_set_allows_it_and_is_ignored_with_a_warning_otherwise() {
    let pinned = |revision: &str| {
        metadata(
            json!({"sidecarset.kubewarden.io/revision.log-shipper": revision}),
            true,
        )
    };
    let allowing = set(json!({"allowRevisionPin": true,
        "injectionStrategy": {"canary": {"revision": "v3-3", "percent": 100}}}));
    assert_eq!(
        chosen(&allowing, &pinned("current")),
        ("current".into(), Why::Pinned, vec![])
    );
    assert_eq!(chosen(&allowing, &pinned("v3-3")).1, Why::Pinned);
    // A retired revision: the Pod still gets one, and is told.
    let (revision, why, warnings) = chosen(&allowing, &pinned("v3-1"));
    assert_eq!(
        (revision.as_str(), why),
        (
            "v3-3",
            Why::Canary {
                bucket: 25,
                percent: 100,
                by: CanaryKey::Owner
            }
        )
    );
    assert_eq!(
        warnings,
        [
            "annotation sidecarset.kubewarden.io/revision.log-shipper ignored: sidecar set log-shipper has no revision or tag \"v3-1\" (it has current, v3-3); the Pod gets the revision it would without a pin"
        ]
    );
    let refusing = set(json!({}));
    assert_eq!(
        chosen(&refusing, &pinned("v3-3")),
        (
            "current".into(),
            Why::Current,
            vec!["annotation sidecarset.kubewarden.io/revision.log-shipper ignored: sidecar set log-shipper does not allow revision pins (allowRevisionPin: false)".to_string()]
        )
    );
}

#[test]
fn revisions_change_images_and_hash_apart() {
    let s = set(json!({}));
    let fluent_bit = &s.containers[0];
    let init = &s.init_containers[0];
    assert_eq!(s.image_in(fluent_bit, "v3-3"), "fluent-bit:3.3.0");
    assert_eq!(s.image_in(fluent_bit, "current"), "fluent-bit:3.2.4");
    assert_eq!(s.image_in(init, "v3-3"), "busybox:1");
    assert_eq!(s.revision_hash(true, "current"), s.definition_hash(true));
    assert_ne!(s.revision_hash(true, "v3-3"), s.definition_hash(true));
    // Adding a revision changes no other revision's hash.
    let more = set(json!({"revisions": [
        {"name": "v3-3", "images": {"fluent-bit": "fluent-bit:3.3.0"}},
        {"name": "v3-4", "images": {"fluent-bit": "fluent-bit:3.4.0"}}]}));
    assert_eq!(
        more.revision_hash(true, "v3-3"),
        s.revision_hash(true, "v3-3")
    );
    assert_eq!(more.definition_hash(true), s.definition_hash(true));
    // Images do not count without them.
    assert_eq!(more.imageless_hash(true), s.imageless_hash(true));
    let other_args = set(
        json!({"containers": [{"name": "fluent-bit", "image": "fluent-bit:3.2.4", "args": ["-v"]}]}),
    );
    assert_ne!(other_args.imageless_hash(true), s.imageless_hash(true));
    let other_image = set(json!({"containers": [{"name": "fluent-bit", "image": "fluent-bit:9"}]}));
    assert_eq!(other_image.imageless_hash(true), s.imageless_hash(true));
    assert_ne!(other_image.definition_hash(true), s.definition_hash(true));
    let allowed = more.allowed_images(&more.containers[0]);
    assert_eq!(
        allowed.into_iter().collect::<Vec<_>>(),
        [
            ("fluent-bit:3.2.4", vec!["current"]),
            ("fluent-bit:3.3.0", vec!["v3-3"]),
            ("fluent-bit:3.4.0", vec!["v3-4"])
        ]
    );
}

#[test]
fn explain_says_why() {
    let choice = Choice {
        revision: "v3-3",
        why: Why::Canary {
            bucket: 7,
            percent: 10,
            by: CanaryKey::Owner,
        },
        tag: None,
    };
    assert_eq!(
        choice.describe("log-shipper"),
        "sidecar set log-shipper: revision v3-3 (canary: bucket 7 < 10%, by owner)"
    );
    let pinned = Choice {
        revision: "current",
        why: Why::Pinned,
        tag: None,
    };
    assert_eq!(
        pinned.describe("mesh"),
        "sidecar set mesh: revision current (pinned by the Pod's sidecarset.kubewarden.io/revision.mesh annotation)"
    );
}

/// A set with two revisions, tags on both and on `current`, a canary.
fn tagged(extra: Value) -> SidecarSet {
    let mut base = json!({
        "revisions": [
            {"name": "v3-3", "images": {"fluent-bit": "fluent-bit:3.3.0"}},
            {"name": "v3-4", "images": {"fluent-bit": "fluent-bit:3.4.0"}}
        ],
        "tags": {"stable": "v3-3", "canary": "v3-4", "old": "current"},
        "allowRevisionPin": true,
        "injectionStrategy": {"canary": {"revision": "v3-4", "percent": 26}}
    });
    if let (Value::Object(base), Value::Object(extra)) = (&mut base, extra) {
        base.extend(extra);
    }
    set(base)
}

fn ns(pin: Option<&str>) -> crate::namespace::Labels {
    let mut labels = crate::namespace::Labels::new();
    if let Some(pin) = pin {
        labels.insert(
            "sidecarset.kubewarden.io/revision.log-shipper".into(),
            json!(pin),
        );
    }
    labels
}

const PIN: &str = "sidecarset.kubewarden.io/revision.log-shipper";

// Precedence: the Pod's pin (allowRevisionPin), the Namespace's pin
// (allowNamespacePin, default true), the canary (the owner's bucket 25 <
// 26), current. A pin may name a tag; one that names nothing is passed over.
#[rstest]
#[case::pod_pin_tag(Some("stable"), Some("canary"), json!({}), "v3-3", "pod", Some("stable"))]
#[case::pod_pin_revision(Some("v3-4"), Some("stable"), json!({}), "v3-4", "pod", None)]
#[case::namespace_pin_tag(None, Some("stable"), json!({}), "v3-3", "namespace", Some("stable"))]
#[case::namespace_pin_current_tag(None, Some("old"), json!({}), "current", "namespace", Some("old"))]
#[case::namespace_pin_revision(None, Some("v3-3"), json!({}), "v3-3", "namespace", None)]
#[case::unknown_pod_pin_then_namespace(Some("v9"), Some("stable"), json!({}), "v3-3", "namespace", Some("stable"))]
#[case::unknown_namespace_pin_then_canary(None, Some("v9"), json!({}), "v3-4", "canary", None)]
#[case::pod_pins_not_allowed(Some("stable"), Some("old"), json!({"allowRevisionPin": false}), "current", "namespace", Some("old"))]
#[case::namespace_pins_not_allowed(None, Some("stable"), json!({"allowNamespacePin": false}), "v3-4", "canary", None)]
#[case::neither(None, None, json!({"injectionStrategy": {}}), "current", "current", None)]
fn pins_and_tags_choose_in_order(
    #[case] pod_pin: Option<&str>,
    #[case] namespace_pin: Option<&str>,
    #[case] extra: Value,
    #[case] revision: &str,
    #[case] source: &str,
    #[case] tag: Option<&str>,
) {
    let set = tagged(extra);
    let annotations = pod_pin.map_or(json!({}), |p| json!({PIN: p}));
    let pod = metadata(annotations, true);
    let labels = ns(namespace_pin);
    let mut warnings = Vec::new();
    let choice = set.choose(
        &pod,
        Some(&labels),
        set.buckets(&pod, "shop", "uid"),
        &mut warnings,
    );
    assert_eq!(
        (choice.revision, choice.source(), choice.tag),
        (revision, source, tag)
    );
}

#[test]
fn an_ignored_pin_says_why() {
    let set = tagged(json!({"allowNamespacePin": false}));
    let pod = metadata(json!({PIN: "v9"}), true);
    let labels = ns(Some("stable"));
    let mut warnings = Vec::new();
    set.choose(&pod, Some(&labels), None, &mut warnings);
    assert_eq!(
        warnings,
        [
            "annotation sidecarset.kubewarden.io/revision.log-shipper ignored: sidecar set log-shipper has no revision or tag \"v9\" (it has current, v3-3, v3-4, canary, old, stable); the Pod gets the revision it would without a pin",
            "Namespace label sidecarset.kubewarden.io/revision.log-shipper ignored: sidecar set log-shipper does not allow namespace pins (allowNamespacePin: false)",
        ]
    );
    let choice = Choice {
        revision: "v3-3",
        why: Why::NamespacePinned,
        tag: Some("stable"),
    };
    assert_eq!(
        choice.describe("log-shipper"),
        "sidecar set log-shipper: revision v3-3 (pinned by the Namespace's sidecarset.kubewarden.io/revision.log-shipper label, tag stable)"
    );
}

#[rstest]
#[case::unknown_revision(json!({"stable": "v9"}),
    "sidecarSets[0].tags.stable: \"v9\" is not a revision of this set (it has current, v3-3, v3-4); name one of them")]
#[case::revision_name(json!({"v3-3": "v3-4"}),
    "sidecarSets[0].tags.v3-3: \"v3-3\" is the name of a revision; a tag needs a name of its own (a Pod or Namespace naming it would be ambiguous)")]
#[case::current(json!({"current": "v3-4"}),
    "sidecarSets[0].tags.current: \"current\" is the name of a revision; a tag needs a name of its own (a Pod or Namespace naming it would be ambiguous)")]
#[case::bad_name(json!({"Stable": "v3-4"}),
    "sidecarSets[0].tags.Stable: the tag \"Stable\" is not a DNS-1123 label: use lower case letters, digits and '-', starting and ending with a letter or digit")]
#[case::not_a_string(json!({"stable": 3}),
    "sidecarSets[0].tags.stable: invalid type: integer `3`, expected a string")]
fn tag_settings_errors_name_the_field(#[case] tags: Value, #[case] expected: &str) {
    use kubewarden_policy_sdk::settings::Validatable;
    let mut value = json!({"name": "log-shipper", "selector": {},
        "containers": [{"name": "fluent-bit", "image": "fluent-bit:3.2.4"}],
        "revisions": [{"name": "v3-3", "images": {"fluent-bit": "a"}}, {"name": "v3-4", "images": {"fluent-bit": "b"}}]});
    value["tags"] = tags;
    let settings = json!({"sidecarSets": [value]}).to_string();
    let error = match Settings::from_slice(settings.as_bytes()) {
        Err(e) => e,
        Ok(s) => s.validate().unwrap_err(),
    };
    assert_eq!(error, expected);
}

#[test]
fn a_tag_given_twice_is_a_settings_error() {
    use kubewarden_policy_sdk::settings::Validatable;
    // JSON keeps both members where a map type would keep one.
    let settings = r#"{"sidecarSets":[{"name":"log-shipper","selector":{},
        "containers":[{"name":"fluent-bit","image":"fluent-bit:3.2.4"}],
        "revisions":[{"name":"v3-3","images":{"fluent-bit":"a"}}],
        "tags":{"stable":"v3-3","stable":"current"}}]}"#;
    let parsed = Settings::from_slice(settings.as_bytes()).unwrap();
    assert_eq!(
        parsed.validate().unwrap_err(),
        "sidecarSets[0].tags.stable: the tag is given twice; give it once"
    );
}

/// A Pod of the fixture's shape through `admission::decide`.
fn decided(operation: &str, pod: &Value, settings: &Value) -> crate::admission::Decision {
    let request = json!({"uid": "u", "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "namespace": "shop", "operation": operation, "object": pod});
    let payload = json!({"request": request, "settings": settings});
    crate::admission::decide(payload.to_string().as_bytes()).decision
}

fn rollout_settings(mode: &str, percent: u32) -> Value {
    json!({"mode": mode, "sidecarSets": [{"name": "log-shipper", "selector": {},
        "containers": [{"name": "fluent-bit", "image": "fluent-bit:3.2.4"}],
        "revisions": [{"name": "v3-3", "images": {"fluent-bit": "fluent-bit:3.3.0"}}],
        "injectionStrategy": {"canary": {"revision": "v3-3", "percent": percent}}}]})
}

fn app_pod() -> Value {
    json!({"metadata": {"generateName": "checkout-7d9f8b6c5d-", "namespace": "shop",
            "ownerReferences": [{"kind": "ReplicaSet", "uid": OWNER, "controller": true}]},
        "spec": {"containers": [{"name": "app", "image": "app:1"}]}})
}

#[test]
fn a_new_pod_gets_its_revision_its_label_and_its_record() {
    use crate::admission::Decision;
    let Decision::Mutate(pod) = decided("CREATE", &app_pod(), &rollout_settings("inject", 30))
    else {
        panic!("not injected")
    };
    assert_eq!(
        pod["spec"]["initContainers"][0]["image"],
        "fluent-bit:3.3.0"
    );
    assert_eq!(
        pod["metadata"]["labels"]["sidecarset.kubewarden.io/rev.log-shipper"],
        "v3-3"
    );
    let status: Value = serde_json::from_str(
        pod["metadata"]["annotations"]["sidecarset.kubewarden.io/status"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(status["sets"][0]["revision"], "v3-3");
    assert_eq!(
        status["sets"][0]["images"]["fluent-bit"],
        "fluent-bit:3.3.0"
    );
    // Idempotent: evaluated again, nothing changes.
    assert_eq!(
        decided("CREATE", &pod, &rollout_settings("inject", 30)),
        Decision::Accept
    );
    // Whatever the canary says now, the revision the Pod holds holds; the
    // record says the policy did not choose it (`from: held`).
    let Decision::Mutate(copy) = decided("CREATE", &pod, &rollout_settings("inject", 0)) else {
        panic!("the record is not rewritten")
    };
    assert_eq!(copy["spec"], pod["spec"]);
    let recorded: Value = serde_json::from_str(
        copy["metadata"]["annotations"]["sidecarset.kubewarden.io/status"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(recorded["sets"][0]["revision"], "v3-3");
    assert_eq!(recorded["sets"][0]["from"], "held");
    // Verify mode: any revision holds the set; another image names them.
    assert_eq!(
        decided("CREATE", &pod, &rollout_settings("verify", 0)),
        Decision::Accept
    );
    let mut other = pod.clone();
    other["spec"]["initContainers"][0]["image"] = json!("fluent-bit:2");
    let Decision::Reject(message) = decided("CREATE", &other, &rollout_settings("verify", 0))
    else {
        panic!("accepted")
    };
    assert!(
        message.contains("log-shipper/fluent-bit runs fluent-bit:2, the set wants one of its revisions' images: fluent-bit:3.2.4 (current), fluent-bit:3.3.0 (v3-3)"),
        "{message}"
    );
    // Below the owner's bucket (25): current.
    let Decision::Mutate(pod) = decided("CREATE", &app_pod(), &rollout_settings("inject", 25))
    else {
        panic!("not injected")
    };
    assert_eq!(
        pod["spec"]["initContainers"][0]["image"],
        "fluent-bit:3.2.4"
    );
}

/// A Namespace that cannot be read leaves its pin out, with one warning
/// that says how to grant the lookup; the canary or current chooses.
#[test]
fn a_namespace_that_cannot_be_read_never_rejects_for_a_pin() {
    let set = tagged(json!({}));
    let mut lookup =
        |_: &str| -> Result<crate::namespace::Labels, String> { Err("forbidden".into()) };
    let mut namespace = Namespace::with_lookup("shop", Some(&mut lookup));
    let mut warnings = Vec::new();
    let pins = namespace_pins(std::iter::once(&set), &mut namespace, &mut warnings);
    assert_eq!(pins, None);
    assert_eq!(
        warnings,
        [
            "namespace pins not read: Namespace \"shop\" could not be read (forbidden); the Pod's sets choose their revisions without them (canary, then current). To use the label sidecarset.kubewarden.io/revision.log-shipper, grant the policy v1/Namespace (contextAwareResources); or set allowNamespacePin: false on the set"
        ]
    );
}
