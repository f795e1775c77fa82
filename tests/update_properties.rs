//! Property tests of the Pod UPDATE path, on the native library, as a
//! hostile Pod author and a busy controller would send UPDATEs.
//! PROPTEST_CASES raises the number of cases.
//!
//! Over any sequence of UPDATEs (labels, opt-outs, image swaps, triggers,
//! finalizers, a tampered record), each answered as the API server would
//! store it:
//! 1. an injected container never runs an image that none of its set's
//!    revisions has;
//! 2. an UPDATE that changes no image, adds or changes no trigger and
//!    leaves the record as it is is accepted unchanged;
//! 3. the record and the revision label describe what the Pod runs.

mod common;

use common::{config, images};
use proptest::prelude::*;
use serde_json::{Value, json};
use sidecarset_policy::admission::{Decision, decide};

const STATUS: &str = "sidecarset.kubewarden.io/status";
const TRIGGER: &str = "sidecarset.kubewarden.io/upgrade";
const LABEL: &str = "sidecarset.kubewarden.io/rev.agents";

fn settings(percent: u32, mandatory: bool, args: &str) -> Value {
    json!({"sidecarSets": [{"name": "agents", "selector": {"matchLabels": {"app": "web"}}, "mandatory": mandatory,
        "initContainers": [{"name": "agent-init", "image": "init:1"}],
        "containers": [{"name": "agent", "image": "agent:1", "args": [args]}, {"name": "logs", "image": "logs:1"}],
        "revisions": [{"name": "next", "images": {"agent": "agent:2", "agent-init": "init:2"}}],
        "injectionStrategy": {"canary": {"revision": "next", "percent": percent}}}]})
}

/// The images each injected container may run: its revisions'.
fn allowed(name: &str) -> &'static [&'static str] {
    match name {
        "agent-init" => &["init:1", "init:2"],
        "agent" => &["agent:1", "agent:2"],
        "logs" => &["logs:1"],
        _ => &[],
    }
}

#[derive(Debug, Clone)]
enum Step {
    Label(&'static str, Option<&'static str>),
    OptOut(&'static str, Option<&'static str>),
    Swap(usize, &'static str),
    Trigger(Option<&'static str>),
    Finalizer(bool),
    Record(Option<&'static str>),
    Percent(u32),
    /// A trigger left by an UPDATE the policy did not see (registered
    /// later, or `failurePolicy: Ignore`).
    Unseen(&'static str),
    /// The set's definition changes in more than images.
    Args(bool),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (
            prop::sample::select(vec!["app", "team"]),
            prop::option::of(prop::sample::select(vec!["web", "batch"]))
        )
            .prop_map(|(k, v)| Step::Label(k, v)),
        (
            prop::sample::select(vec![
                "sidecarset.kubewarden.io/inject",
                "sidecarset.kubewarden.io/skip"
            ]),
            prop::option::of(prop::sample::select(vec![
                "false",
                "agents",
                "agents,other"
            ]))
        )
            .prop_map(|(k, v)| Step::OptOut(k, v)),
        (
            0usize..6,
            prop::sample::select(vec![
                "agent:1", "agent:2", "init:1", "init:2", "logs:1", "evil:1", "app:2"
            ])
        )
            .prop_map(|(i, image)| Step::Swap(i, image)),
        prop::option::of(prop::sample::select(vec![
            "agents",
            "*",
            "other",
            "agents,agents",
            ""
        ]))
        .prop_map(Step::Trigger),
        any::<bool>().prop_map(Step::Finalizer),
        prop::option::of(prop::sample::select(vec![r#"{"sets":[]}"#, "nope"]))
            .prop_map(Step::Record),
        (0u32..=100).prop_map(Step::Percent),
        prop::sample::select(vec!["agents", "*"]).prop_map(Step::Unseen),
        any::<bool>().prop_map(Step::Args),
    ]
}

fn decided(operation: &str, object: &Value, old: &Value, settings: &Value) -> Decision {
    let request = json!({"uid": "4f1c0b6e", "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "namespace": "shop", "operation": operation, "object": object, "oldObject": old});
    decide(
        json!({"request": request, "settings": settings})
            .to_string()
            .as_bytes(),
    )
    .decision
}

fn set_or_remove(map: &mut Value, key: &str, value: Option<&str>) {
    if !map.is_object() {
        *map = json!({});
    }
    let map = map.as_object_mut().unwrap();
    match value {
        Some(v) => map.insert(key.to_string(), json!(v)),
        None => map.remove(key),
    };
}

/// `pod` with `step` applied; the steps that change the settings change
/// `percent` and `args`.
fn apply(pod: &Value, step: &Step, percent: &mut u32, args: &mut &'static str) -> Value {
    let mut new = pod.clone();
    match *step {
        Step::Label(k, v) => set_or_remove(&mut new["metadata"]["labels"], k, v),
        Step::OptOut(k, v) => set_or_remove(&mut new["metadata"]["annotations"], k, v),
        Step::Swap(i, image) => {
            let init = new["spec"]["initContainers"].as_array().map_or(0, Vec::len);
            let all = init + new["spec"]["containers"].as_array().map_or(0, Vec::len);
            let i = i % all;
            let (list, index) = if i < init {
                ("initContainers", i)
            } else {
                ("containers", i - init)
            };
            new["spec"][list][index]["image"] = json!(image);
        }
        Step::Trigger(v) => set_or_remove(&mut new["metadata"]["annotations"], TRIGGER, v),
        Step::Finalizer(add) => {
            new["metadata"]["finalizers"] = if add {
                json!(["example.com/keep"])
            } else {
                json!([])
            }
        }
        Step::Record(v) => set_or_remove(&mut new["metadata"]["annotations"], STATUS, v),
        Step::Percent(p) => *percent = p,
        Step::Unseen(_) => {}
        Step::Args(changed) => *args = if changed { "--y" } else { "--x" },
    }
    new
}

fn annotation<'p>(pod: &'p Value, key: &str) -> Option<&'p str> {
    pod["metadata"]["annotations"]
        .get(key)
        .and_then(Value::as_str)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn no_sequence_of_updates_runs_a_foreign_image(
        percent in 0u32..=100,
        mandatory in any::<bool>(),
        steps in prop::collection::vec(step(), 1..10),
    ) {
        let mut percent = percent;
        let mut args = "--x";
        let pod = json!({"metadata": {"name": "web-0", "namespace": "shop", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": "app:1"}]}});
        let Decision::Mutate(mut stored) = decided("CREATE", &pod, &Value::Null, &settings(percent, mandatory, args)) else {
            panic!("not injected");
        };
        if let Some(refused) = common::api_server_refuses(&pod, &stored) {
            return Err(TestCaseError::fail(refused));
        }
        for step in &steps {
            if let Step::Unseen(trigger) = step {
                stored["metadata"]["annotations"][TRIGGER] = json!(trigger);
                continue;
            }
            let new = apply(&stored, step, &mut percent, &mut args);
            let s = settings(percent, mandatory, args);
            let decision = decided("UPDATE", &new, &stored, &s);
            let quiet = images(&new) == images(&stored)
                && (annotation(&new, TRIGGER).is_none() || annotation(&new, TRIGGER) == annotation(&stored, TRIGGER))
                && annotation(&new, STATUS) == annotation(&stored, STATUS);
            if quiet {
                prop_assert_eq!(&decision, &Decision::Accept, "{:?} changed nothing that runs", step);
            }
            match decision {
                Decision::Accept => stored = new,
                Decision::Mutate(pod) => {
                    if let Some(refused) = common::api_server_refuses(&new, &pod) {
                        return Err(TestCaseError::fail(refused));
                    }
                    stored = pod
                }
                Decision::Reject(_) => {}
            }
            let record: Value = serde_json::from_str(annotation(&stored, STATUS).unwrap()).unwrap();
            let recorded = &record["sets"][0];
            for (name, image) in images(&stored) {
                if name == "app" {
                    continue;
                }
                prop_assert!(allowed(&name).contains(&image.as_str()), "{} runs {} after {:?}", name, image, steps);
                prop_assert_eq!(recorded["images"][&name].as_str(), Some(image.as_str()), "the record describes {}", name);
            }
            prop_assert_eq!(&stored["metadata"]["labels"][LABEL], &recorded["revision"]);
        }
    }
}
