//! Property tests of revision tags and namespace pins, on the native
//! library's `SidecarSet::choose`: random Pods (a pin naming a tag, a
//! revision, `current` or nothing the set has), random Namespaces (the same),
//! random allowRevisionPin / allowNamespacePin, random canary percents and
//! owners.
//!
//! 1. moving a tag in the settings moves exactly the Pods that follow it:
//!    those whose revision came through that tag get its new revision, every
//!    other Pod gets what it got;
//! 2. a namespace pin never overrides a Pod pin the set allows and has.

mod common;

use common::config;
use proptest::prelude::*;
use serde_json::{Value, json};
use sidecarset_policy::namespace::Labels;
use sidecarset_policy::settings::Settings;

const PIN: &str = "sidecarset.kubewarden.io/revision.log-shipper";
const NAMES: [&str; 7] = ["stable", "canary", "v1", "v2", "current", "v9", "edge"];

fn settings(stable: &str, pod_pins: bool, namespace_pins: bool, percent: u32) -> Settings {
    let value = json!({"sidecarSets": [{"name": "log-shipper", "selector": {},
        "containers": [{"name": "fluent-bit", "image": "fluent-bit:3.2"}],
        "revisions": [
            {"name": "v1", "images": {"fluent-bit": "fluent-bit:3.3"}},
            {"name": "v2", "images": {"fluent-bit": "fluent-bit:3.4"}}
        ],
        "tags": {"stable": stable, "canary": "v2", "edge": "current"},
        "allowRevisionPin": pod_pins,
        "allowNamespacePin": namespace_pins,
        "injectionStrategy": {"canary": {"revision": "v1", "percent": percent}}}]});
    Settings::from_slice(value.to_string().as_bytes()).unwrap()
}

/// (revision, source, tag) of the Pod under `settings`.
fn chosen(
    settings: &Settings,
    pod_pin: Option<&str>,
    namespace_pin: Option<&str>,
    owner: &str,
) -> (String, &'static str, Option<String>) {
    let set = &settings.sidecar_sets[0];
    let mut metadata = json!({"generateName": "web-", "ownerReferences": [
        {"kind": "ReplicaSet", "uid": owner, "controller": true}]});
    if let Some(pin) = pod_pin {
        metadata["annotations"] = json!({PIN: pin});
    }
    let mut labels = Labels::new();
    if let Some(pin) = namespace_pin {
        labels.insert(PIN.into(), Value::from(pin));
    }
    let buckets = set.buckets(&metadata, "shop", "uid");
    let choice = set.choose(&metadata, Some(&labels), buckets, &mut Vec::new());
    (
        choice.revision.to_string(),
        choice.source(),
        choice.tag.map(String::from),
    )
}

fn name() -> impl Strategy<Value = Option<&'static str>> {
    prop::option::of(prop::sample::select(NAMES.to_vec()))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn moving_a_tag_moves_exactly_the_pods_that_follow_it(
        pod_pin in name(),
        namespace_pin in name(),
        pod_pins in any::<bool>(),
        namespace_pins in any::<bool>(),
        percent in 0u32..=100,
        owner in "[a-f0-9]{8}",
        from in prop::sample::select(vec!["v1", "v2", "current"]),
        to in prop::sample::select(vec!["v1", "v2", "current"]),
    ) {
        let before = chosen(&settings(from, pod_pins, namespace_pins, percent), pod_pin, namespace_pin, &owner);
        let after = chosen(&settings(to, pod_pins, namespace_pins, percent), pod_pin, namespace_pin, &owner);
        // Who follows the tag: a Pod pinned to it (where allowed), or one
        // without a usable pin of its own in a Namespace pinned to it.
        let own_pin_used = pod_pins && pod_pin.is_some_and(|p| p != "v9");
        let follows = (pod_pins && pod_pin == Some("stable"))
            || (!own_pin_used && namespace_pins && namespace_pin == Some("stable"));
        prop_assert_eq!(before.2.as_deref() == Some("stable"), follows);
        if follows {
            prop_assert_eq!(&before.0, from);
            prop_assert_eq!(after, (to.to_string(), before.1, Some("stable".to_string())));
        } else {
            prop_assert_eq!(after, before);
        }
    }

    #[test]
    fn a_namespace_pin_never_overrides_a_pod_pin(
        pod_pin in prop::sample::select(vec!["stable", "canary", "edge", "v1", "v2", "current"]),
        namespace_pin in name(),
        namespace_pins in any::<bool>(),
        percent in 0u32..=100,
        owner in "[a-f0-9]{8}",
    ) {
        let s = settings("v1", true, namespace_pins, percent);
        let (revision, source, tag) = chosen(&s, Some(pod_pin), namespace_pin, &owner);
        prop_assert_eq!(source, "pod");
        let alone = chosen(&s, Some(pod_pin), None, &owner);
        prop_assert_eq!((revision, source, tag), alone);
    }
}
