//! Property tests of the rollout rules, on the native library.
//! PROPTEST_CASES raises the number of cases.
//!
//! 1. the canary is deterministic and monotone: the same Pod gets the same
//!    revision every time, and a Pod on the canary at p% stays on it at
//!    every p' > p;
//! 2. an upgrade changes nothing but images of the set's containers, the
//!    status record, the revision label, and the trigger it removes;
//! 3. raising the percent never moves a Pod off the canary it was created
//!    on, when it is upgraded: its bucket is the one of its creation (a
//!    generateName Pod is named only after it; `by: pod` keys on the
//!    request's uid at CREATE).

mod common;

use common::{config, images};
use proptest::prelude::*;
use serde_json::{Value, json};
use sidecarset_policy::admission::{Decision, decide};
use sidecarset_policy::rollout::CURRENT;
use sidecarset_policy::settings::Settings;

const STATUS: &str = "sidecarset.kubewarden.io/status";
const TRIGGER: &str = "sidecarset.kubewarden.io/upgrade";
const LABEL: &str = "sidecarset.kubewarden.io/rev.agents";

fn settings(percent: u32, by: &str) -> Value {
    json!({"sidecarSets": [{"name": "agents", "selector": {},
        "initContainers": [{"name": "agent-init", "image": "init:1"}],
        "containers": [{"name": "agent", "image": "agent:1", "args": ["--x"]}, {"name": "logs", "image": "logs:1"}],
        "revisions": [{"name": "next", "images": {"agent": "agent:2", "agent-init": "init:2"}}],
        "injectionStrategy": {"canary": {"revision": "next", "percent": percent, "by": by}}}]})
}

fn parsed(settings: &Value) -> Settings {
    Settings::from_slice(settings.to_string().as_bytes()).unwrap()
}

prop_compose! {
    /// A Pod: an owner uid or none, a name or a generateName, some app
    /// containers, labels and annotations of its own.
    fn pod()(
        owner in prop::option::of("[a-f0-9]{8}-[a-f0-9]{4}"),
        name in prop::option::of("[a-z]{1,8}-[0-9]{1,2}"),
        apps in 1usize..4,
        labels in prop::collection::btree_map("[a-z]{1,6}", "[a-z0-9]{0,6}", 0..3),
        annotations in prop::collection::btree_map("example.com/[a-z]{1,6}", "[a-z0-9 ]{0,12}", 0..3),
    ) -> Value {
        let mut metadata = json!({"namespace": "shop", "labels": labels, "annotations": annotations});
        match name {
            Some(name) => metadata["name"] = json!(name),
            None => metadata["generateName"] = json!("web-"),
        }
        if let Some(uid) = owner {
            metadata["ownerReferences"] = json!([{"kind": "ReplicaSet", "uid": uid, "controller": true}]);
        }
        let containers: Vec<Value> = (0..apps)
            .map(|i| json!({"name": format!("app-{i}"), "image": format!("app:{i}")}))
            .collect();
        json!({"metadata": metadata, "spec": {"containers": containers}})
    }
}

fn decided(
    operation: &str,
    object: &Value,
    old: &Value,
    settings: &Value,
) -> (Decision, Vec<String>) {
    let request = json!({"uid": "4f1c0b6e", "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "namespace": "shop", "operation": operation, "object": object, "oldObject": old});
    let answer = decide(
        json!({"request": request, "settings": settings})
            .to_string()
            .as_bytes(),
    );
    (answer.decision, answer.warnings)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_canary_is_deterministic_and_monotone(
        pod in pod(),
        p in 0u32..=100,
        q in 0u32..=100,
        by in prop::sample::select(vec!["owner", "pod"]),
    ) {
        let (low, high) = (p.min(q), p.max(q));
        let metadata = &pod["metadata"];
        let choose = |percent| {
            let settings = parsed(&settings(percent, by));
            let set = &settings.sidecar_sets[0];
            set.choose(metadata, None, set.buckets(metadata, "shop", "4f1c0b6e"), &mut Vec::new()).revision.to_string()
        };
        let at_low = choose(low);
        prop_assert_eq!(&at_low, &choose(low), "deterministic");
        if at_low == "next" {
            prop_assert_eq!(choose(high), "next", "monotone: on the canary at {}% and not at {}%", low, high);
        }
        prop_assert_eq!(choose(0), CURRENT);
        prop_assert_eq!(choose(100), "next");
    }

    #[test]
    fn an_upgrade_changes_only_images_the_record_and_the_label(
        pod in pod(),
        first in 0u32..=100,
        then in 0u32..=100,
        star in any::<bool>(),
    ) {
        let (decision, _) = decided("CREATE", &pod, &Value::Null, &settings(first, "owner"));
        let Decision::Mutate(before) = decision else { panic!("{decision:?}") };
        let mut asked = before.clone();
        asked["metadata"]["annotations"][TRIGGER] = json!(if star { "*" } else { "agents" });
        let (decision, _) = decided("UPDATE", &asked, &before, &settings(then, "owner"));
        let Decision::Mutate(after) = decision else { panic!("{decision:?}") };
        for (asked, answer) in [(&pod, &before), (&asked, &after)] {
            if let Some(refused) = common::api_server_refuses(asked, answer) {
                return Err(TestCaseError::fail(refused));
            }
        }
        // What may differ: images, the record, the label; the trigger is gone.
        prop_assert!(after["metadata"]["annotations"].get(TRIGGER).is_none());
        let revision = after["metadata"]["labels"][LABEL].as_str().unwrap_or("").to_string();
        prop_assert!(revision == "current" || revision == "next");
        let strip = |p: &Value| {
            let mut p = p.clone();
            for list in ["initContainers", "containers"] {
                for c in p["spec"][list].as_array_mut().into_iter().flatten() {
                    c["image"] = Value::Null;
                }
            }
            p["metadata"]["annotations"][STATUS] = Value::Null;
            p["metadata"]["labels"][LABEL] = Value::Null;
            p
        };
        prop_assert_eq!(strip(&after), strip(&before));
        // The images are the chosen revision's; the app's are untouched.
        for (name, image) in images(&after) {
            let expected = match (name.as_str(), revision.as_str()) {
                ("agent", "next") => "agent:2".to_string(),
                ("agent-init", "next") => "init:2".to_string(),
                ("agent", _) => "agent:1".to_string(),
                ("agent-init", _) => "init:1".to_string(),
                ("logs", _) => "logs:1".to_string(),
                (app, _) => format!("app:{}", app.trim_start_matches("app-")),
            };
            prop_assert_eq!(image, expected);
        }
        // Upgraded, the Pod is current: asking again changes nothing more.
        let mut again = after.clone();
        again["metadata"]["annotations"][TRIGGER] = json!("agents");
        let (decision, _) = decided("UPDATE", &again, &after, &settings(then, "owner"));
        let Decision::Mutate(twice) = decision else { panic!("{decision:?}") };
        prop_assert_eq!(twice, after);
    }

    #[test]
    fn raising_the_percent_never_moves_a_pod_off_its_canary(
        pod in pod(),
        p in 0u32..=100,
        q in 0u32..=100,
        by in prop::sample::select(vec!["owner", "pod"]),
        name in "[a-z0-9]{5}",
    ) {
        let (low, high) = (p.min(q), p.max(q));
        let (decision, _) = decided("CREATE", &pod, &Value::Null, &settings(low, by));
        let Decision::Mutate(created) = decision else { panic!("{decision:?}") };
        // The API server names a generateName Pod after admission; another
        // request (another uid) asks for the upgrade.
        let mut named = created.clone();
        if named["metadata"].get("name").is_none() {
            named["metadata"]["name"] = json!(format!("web-{name}"));
        }
        let mut asked = named.clone();
        asked["metadata"]["annotations"][TRIGGER] = json!("agents");
        let request = json!({"uid": "another-request", "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "namespace": "shop", "operation": "UPDATE", "object": asked, "oldObject": named});
        let answer = decide(json!({"request": request, "settings": settings(high, by)}).to_string().as_bytes());
        let Decision::Mutate(upgraded) = answer.decision else { panic!("{:?}", answer.decision) };
        if let Some(refused) = common::api_server_refuses(&asked, &upgraded) {
            return Err(TestCaseError::fail(refused));
        }
        if created["metadata"]["labels"][LABEL] == "next" {
            prop_assert_eq!(&upgraded["metadata"]["labels"][LABEL], "next", "on the canary at {}%, moved off at {}%", low, high);
        }
        // At the same percent an upgrade moves nothing.
        let request = json!({"uid": "another-request", "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "namespace": "shop", "operation": "UPDATE", "object": asked, "oldObject": named});
        let answer = decide(json!({"request": request, "settings": settings(low, by)}).to_string().as_bytes());
        let Decision::Mutate(same) = answer.decision else { panic!("{:?}", answer.decision) };
        prop_assert_eq!(&same["metadata"]["labels"][LABEL], &created["metadata"]["labels"][LABEL]);
    }
}
