//! Property tests of issue 30, on the native library: the record is the
//! policy's own. Sequences start from a forged CREATE (a real answer's
//! record mutated field by field, hand-written, truncated, naming unknown
//! sets, revision labels the Pod wrote), then random UPDATEs (triggers,
//! image swaps, labels, ownerReferences, record edits, finalizers,
//! Namespace pins and failing lookups, a canary that moves, revisions that
//! appear). PROPTEST_CASES raises the number of cases (`make fuzz` runs
//! more).
//!
//! After every admitted step:
//! 1. no injected slot runs an image that no revision of its set has, and a
//!    mandatory set's sidecars stay (never removed, never the author's);
//! 2. the record is what the policy writes for that Pod: after CREATE the
//!    same sets, lists, images, revision and buckets as the policy writes
//!    for the clean Pod, and a fixed point (evaluated again, nothing
//!    changes); after an UPDATE, it describes what runs, its buckets those
//!    of the Pod's creation (or, first written at an upgrade, of the Pod
//!    before that UPDATE);
//! 3. a benign UPDATE (labels, ownerReferences, finalizers, anything that
//!    changes no image, adds no trigger and leaves the record) is accepted,
//!    whatever the lookup answers, in inject and verify mode;
//! 4. the answer is bounded (32 warnings of 1 KB, a message of 4 KB).

mod common;

use common::{config, images};
use proptest::prelude::*;
use serde_json::{Value, json};
use sidecarset_policy::admission::{Answer, Decision, decide_with};
use sidecarset_policy::namespace::Labels;
use sidecarset_policy::rollout::bucket;

const STATUS: &str = "sidecarset.kubewarden.io/status";
const TRIGGER: &str = "sidecarset.kubewarden.io/upgrade";
const LABEL: &str = "sidecarset.kubewarden.io/rev.agents";
const PIN: &str = "sidecarset.kubewarden.io/revision.agents";

fn settings(mode: &str, percent: u32, mandatory: bool, revisions: bool) -> Value {
    let mut agents = json!({"name": "agents", "selector": {"matchLabels": {"app": "web"}}, "mandatory": mandatory,
        "initContainers": [{"name": "agent-init", "image": "init:1"}],
        "containers": [{"name": "agent", "image": "agent:1", "volumeMounts": [{"name": "agent-data", "mountPath": "/data"}]},
            {"name": "logs", "image": "logs:1"}],
        "volumes": [{"name": "agent-data", "emptyDir": {}}],
        "imagePullSecrets": [{"name": "agents-registry"}],
        "patchPodMetadata": [{"annotations": {"agents.example.com/on": "yes"}, "patchPolicy": "Overwrite"}]});
    if revisions {
        agents["revisions"] =
            json!([{"name": "next", "images": {"agent": "agent:2", "agent-init": "init:2"}}]);
        agents["tags"] = json!({"stable": "current", "edge": "next"});
        agents["injectionStrategy"] =
            json!({"canary": {"revision": "next", "percent": percent, "by": "owner"}});
    }
    json!({"mode": mode, "sidecarSets": [agents,
        {"name": "tracer", "selector": {}, "initContainers": [{"name": "tracer", "image": "tracer:1", "restartPolicy": "Always"}]}]})
}

/// The images each injected container may run: its revisions'.
fn allowed(name: &str) -> &'static [&'static str] {
    match name {
        "agent-init" => &["init:1", "init:2"],
        "agent" => &["agent:1", "agent:2"],
        "logs" => &["logs:1"],
        "tracer" => &["tracer:1"],
        _ => &[],
    }
}

/// What a Namespace lookup answers: its pin label, or a failure.
#[derive(Debug, Clone, Copy)]
enum Lookup {
    Fails,
    Pin(Option<&'static str>),
}

fn lookup() -> impl Strategy<Value = Lookup> {
    prop_oneof![
        Just(Lookup::Fails),
        prop::option::of(prop::sample::select(vec!["next", "edge", "stable", "nope"]))
            .prop_map(Lookup::Pin),
    ]
}

fn decided(
    operation: &str,
    object: &Value,
    old: &Value,
    settings: &Value,
    namespace: Lookup,
) -> Answer {
    let request = json!({"uid": "4f1c0b6e", "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "namespace": "shop", "operation": operation, "object": object, "oldObject": old});
    let mut read = |_: &str| match namespace {
        Lookup::Fails => Err("namespaces \"shop\" is forbidden: ".repeat(200)),
        Lookup::Pin(pin) => {
            let mut labels = Labels::new();
            if let Some(pin) = pin {
                labels.insert(PIN.into(), json!(pin));
            }
            Ok(labels)
        }
    };
    let answer = decide_with(
        json!({"request": request, "settings": settings})
            .to_string()
            .as_bytes(),
        Some(&mut read),
    );
    bounded(&answer);
    answer
}

fn bounded(answer: &Answer) {
    assert!(
        answer.warnings.len() <= 32,
        "{} warnings",
        answer.warnings.len()
    );
    for warning in &answer.warnings {
        assert!(
            warning.len() <= 1024,
            "a warning of {} bytes",
            warning.len()
        );
    }
    if let Decision::Reject(message) = &answer.decision {
        assert!(
            message.len() <= 4096,
            "a message of {} bytes",
            message.len()
        );
    }
}

/// How the Pod's record is forged at CREATE.
#[derive(Debug, Clone)]
enum Forge {
    Keep,
    Remove,
    /// A field of the agents entry set to a value.
    Field(&'static str, Value),
    Truncate(usize),
    UnknownSet,
    HandWritten,
    /// The Pod writes its own revision label.
    Label(&'static str),
    /// The Pod's init containers in the reverse order.
    Reorder,
}

fn forge() -> impl Strategy<Value = Forge> {
    let field = prop::sample::select(vec![
        (
            "images",
            json!({"agent": "evil:1", "logs": "logs:1", "agent-init": "init:1"}),
        ),
        ("initContainers", json!([])),
        ("containers", json!(["agent-init", "agent", "logs"])),
        ("revision", json!("next")),
        ("revision", json!("gone")),
        ("from", json!("pod")),
        ("tag", json!("edge")),
        ("buckets", json!("owner:0,pod:0")),
        ("buckets", json!("owner:99,pod:99")),
        ("volumes", json!([])),
        ("volumeDigests", json!({"agent-data": "0"})),
        ("imagePullSecrets", json!(["someone-elses"])),
        ("annotations", json!({"agents.example.com/on": "no"})),
        ("app", json!({"app/env/X": "0"})),
        ("hash", json!("0000000000000000")),
        ("imagelessHash", json!("0")),
    ]);
    prop_oneof![
        Just(Forge::Keep),
        Just(Forge::Remove),
        field.prop_map(|(k, v)| Forge::Field(k, v)),
        (1usize..400).prop_map(Forge::Truncate),
        Just(Forge::UnknownSet),
        Just(Forge::HandWritten),
        prop::sample::select(vec!["next", "current", "v9"]).prop_map(Forge::Label),
        Just(Forge::Reorder),
    ]
}

fn forged(pod: &Value, how: &Forge) -> Value {
    let mut pod = pod.clone();
    let text = pod["metadata"]["annotations"][STATUS]
        .as_str()
        .unwrap_or("")
        .to_string();
    let mut record: Value = serde_json::from_str(&text).unwrap_or(json!({"sets": []}));
    let agents = record["sets"]
        .as_array()
        .and_then(|s| s.iter().position(|s| s["name"] == "agents"));
    let annotations = &mut pod["metadata"]["annotations"];
    match how {
        Forge::Keep => {}
        Forge::Remove => {
            annotations.as_object_mut().unwrap().remove(STATUS);
        }
        Forge::Field(key, value) => {
            if let Some(i) = agents {
                record["sets"][i][*key] = value.clone();
            }
            annotations[STATUS] = json!(record.to_string());
        }
        Forge::Truncate(n) => {
            annotations[STATUS] = json!(text.chars().take(*n).collect::<String>());
        }
        Forge::UnknownSet => {
            record["sets"].as_array_mut().unwrap().push(
                json!({"name": "ghost", "hash": "0", "containers": ["app"], "images": {"app": "app:1"}}),
            );
            annotations[STATUS] = json!(record.to_string());
        }
        Forge::HandWritten => {
            annotations[STATUS] = json!(
                r#"{"sets":[{"name":"agents","hash":"1","initContainers":["agent-init"],"images":{"agent-init":"evil:9"}}]}"#
            );
        }
        Forge::Label(revision) => {
            pod["metadata"]["labels"][LABEL] = json!(revision);
        }
        Forge::Reorder => {
            if let Some(init) = pod["spec"]["initContainers"].as_array_mut() {
                init.reverse();
            }
        }
    }
    pod
}

#[derive(Debug, Clone)]
enum Step {
    Label(&'static str, Option<&'static str>),
    Owner(&'static str),
    Swap(usize, &'static str),
    Trigger(Option<&'static str>),
    Finalizer(bool),
    Record(Forge),
    Pin(Option<&'static str>),
    Lookup(Lookup),
    Percent(u32),
    Revisions,
    Resize(&'static str),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (
            prop::sample::select(vec!["app", "team", LABEL, "sidecarset.kubewarden.io/skip"]),
            prop::option::of(prop::sample::select(vec!["web", "next", "agents"]))
        )
            .prop_map(|(k, v)| Step::Label(k, v)),
        prop::sample::select(vec!["rs-1", "rs-2", "rs-3", "attacker"]).prop_map(Step::Owner),
        (
            0usize..8,
            prop::sample::select(vec![
                "agent:1", "agent:2", "init:2", "logs:1", "evil:1", "tracer:2"
            ])
        )
            .prop_map(|(i, image)| Step::Swap(i, image)),
        prop::option::of(prop::sample::select(vec!["agents", "*", "tracer", "ghost"]))
            .prop_map(Step::Trigger),
        any::<bool>().prop_map(Step::Finalizer),
        forge().prop_map(Step::Record),
        prop::option::of(prop::sample::select(vec!["next", "current", "edge", "v9"]))
            .prop_map(Step::Pin),
        lookup().prop_map(Step::Lookup),
        (0u32..=100).prop_map(Step::Percent),
        Just(Step::Revisions),
        prop::sample::select(vec!["100m", "2"]).prop_map(Step::Resize),
    ]
}

fn annotation<'p>(pod: &'p Value, key: &str) -> Option<&'p str> {
    pod["metadata"]["annotations"]
        .get(key)
        .and_then(Value::as_str)
}

fn owner(pod: &Value) -> &str {
    pod["metadata"]["ownerReferences"][0]["uid"]
        .as_str()
        .unwrap_or("")
}

fn record(pod: &Value) -> Value {
    annotation(pod, STATUS)
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(json!({"sets": []}))
}

fn entry<'r>(record: &'r Value, set: &str) -> Option<&'r Value> {
    record["sets"].as_array()?.iter().find(|s| s["name"] == set)
}

/// The fields of a set's entry that the policy computes (not claims).
fn computed(entry: &Value) -> Value {
    let keep = [
        "name",
        "hash",
        "initContainers",
        "containers",
        "images",
        "revision",
        "from",
        "tag",
        "imagelessHash",
        "imageless",
        "buckets",
    ];
    Value::Object(
        entry
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| keep.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

fn check_runs(
    stored: &Value,
    mandatory: bool,
    context: &dyn std::fmt::Debug,
) -> Result<(), TestCaseError> {
    let running = images(stored);
    // What the record says a set injected (the rest is the author's).
    let recorded = record(stored);
    let injected = |name: &str| {
        recorded["sets"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| s["images"].get(name).is_some())
    };
    for (name, image) in &running {
        if name == "app" || !injected(name) {
            continue;
        }
        prop_assert!(
            allowed(name).contains(&image.as_str()),
            "{} runs {} after {:?}",
            name,
            image,
            context
        );
    }
    if mandatory {
        for name in ["agent-init", "agent", "logs"] {
            prop_assert!(
                running.iter().any(|(n, _)| n == name),
                "mandatory {} removed after {:?}",
                name,
                context
            );
        }
    }
    // The record describes what runs, and the label its revision.
    for set in recorded["sets"].as_array().into_iter().flatten() {
        for (name, image) in set["images"].as_object().into_iter().flatten() {
            let runs = running
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, i)| i.as_str());
            prop_assert_eq!(
                runs,
                image.as_str(),
                "the record's {} after {:?}",
                name,
                context
            );
        }
    }
    // A Pod created before its set had revisions has no revision label of
    // the policy's until its first upgrade.
    let revision = entry(&recorded, "agents")
        .map(|e| e["revision"].clone())
        .unwrap_or(Value::Null);
    if !revision.is_null() {
        prop_assert_eq!(
            &stored["metadata"]["labels"][LABEL],
            &revision,
            "the label after {:?}",
            context
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_record_is_the_policys_own_from_a_forged_create_on(
        percent in 0u32..=100,
        mandatory in any::<bool>(),
        revisions in any::<bool>(),
        named in any::<bool>(),
        selected in prop::sample::select(vec![true, true, true, false]),
        first_owner in prop::sample::select(vec!["rs-1", "rs-2", "rs-3"]),
        namespace in lookup(),
        how in forge(),
        steps in prop::collection::vec(step(), 1..8),
    ) {
        let mut percent = percent;
        let mut revisions = revisions;
        let mut namespace = namespace;
        let mut pod = json!({"metadata": {"generateName": "web-", "namespace": "shop", "labels": {"app": "web"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": first_owner, "controller": true}]},
            "spec": {"containers": [{"name": "app", "image": "app:1"}]}});
        if named {
            pod["metadata"]["name"] = json!("web-0");
        }
        let s = settings("inject", percent, mandatory, revisions);
        // What the policy writes for the clean Pod.
        let Decision::Mutate(reference) = decided("CREATE", &pod, &Value::Null, &s, namespace).decision else {
            panic!("the clean Pod is not injected");
        };
        let mut copy = forged(&reference, &how);
        // A copy no set but the tracer selects: what it holds of the agents
        // is the author's, and no record of them survives.
        if !selected {
            copy["metadata"]["labels"]["app"] = json!("other");
        }
        let mandatory = mandatory && selected;
        let answer = decided("CREATE", &copy, &Value::Null, &s, namespace);
        let mut stored = match answer.decision {
            Decision::Mutate(pod) => {
                if let Some(refused) = common::api_server_refuses(&copy, &pod) {
                    return Err(TestCaseError::fail(refused));
                }
                pod
            }
            Decision::Accept => copy.clone(),
            Decision::Reject(message) => {
                // Only a record that does not read, or one that makes the
                // set stale while the Pod keeps what it does not describe
                // (injected afresh, that clashes), is refused.
                prop_assert!(
                    message.contains("is not a status this policy wrote") || message.contains("cannot be injected"),
                    "{} for {:?}", message, how
                );
                return Ok(());
            }
        };
        for set in ["agents", "tracer"] {
            let recorded = record(&reference);
            let expected = entry(&recorded, set).filter(|_| selected || set == "tracer");
            prop_assert_eq!(
                entry(&record(&stored), set).map(computed),
                expected.map(computed),
                "{} after {:?}", set, how
            );
        }
        if !selected {
            prop_assert!(stored["metadata"]["labels"].get(LABEL).is_none(), "a label of the agents after {:?}", how);
        }
        // What the policy admits holds the sets in the order it injects them.
        if selected {
            let names = |pod: &Value| images(pod).into_iter().map(|(n, _)| n).collect::<Vec<_>>();
            prop_assert_eq!(names(&stored), names(&reference), "the start order after {:?}", how);
        }
        prop_assert!(entry(&record(&stored), "ghost").is_none());
        check_runs(&stored, mandatory, &how)?;
        // A fixed point: the answer, evaluated again, changes nothing.
        let again = decided("CREATE", &stored, &Value::Null, &s, namespace);
        prop_assert_eq!(&again.decision, &Decision::Accept, "again after {:?}", how);
        let created_buckets = entry(&record(&stored), "agents").map(|e| e["buckets"].clone());
        if named {
            stored["metadata"]["name"] = json!("web-0");
        } else {
            stored["metadata"]["name"] = json!("web-x7k2p");
        }

        for step in &steps {
            let mut new = stored.clone();
            match step {
                Step::Label(k, v) => {
                    let labels = new["metadata"]["labels"].as_object_mut().unwrap();
                    match v {
                        Some(v) => labels.insert(k.to_string(), json!(v)),
                        None => labels.remove(*k),
                    };
                }
                Step::Owner(uid) => new["metadata"]["ownerReferences"][0]["uid"] = json!(uid),
                Step::Swap(i, image) => {
                    let init = new["spec"]["initContainers"].as_array().map_or(0, Vec::len);
                    let all = init + new["spec"]["containers"].as_array().map_or(0, Vec::len);
                    let i = i % all;
                    let (list, index) = if i < init { ("initContainers", i) } else { ("containers", i - init) };
                    new["spec"][list][index]["image"] = json!(image);
                }
                Step::Trigger(v) => match v {
                    Some(v) => new["metadata"]["annotations"][TRIGGER] = json!(v),
                    None => {
                        new["metadata"]["annotations"].as_object_mut().unwrap().remove(TRIGGER);
                    }
                },
                Step::Finalizer(add) => {
                    new["metadata"]["finalizers"] = if *add { json!(["example.com/keep"]) } else { json!([]) }
                }
                Step::Record(how) => new = forged(&new, how),
                Step::Pin(v) => match v {
                    Some(v) => new["metadata"]["annotations"][PIN] = json!(v),
                    None => {
                        new["metadata"]["annotations"].as_object_mut().unwrap().remove(PIN);
                    }
                },
                Step::Lookup(l) => namespace = *l,
                Step::Percent(p) => percent = *p,
                Step::Revisions => revisions = true,
                Step::Resize(_) => {}
            }
            let s = settings("inject", percent, mandatory, revisions);
            let mut request_old = stored.clone();
            let answer = if let Step::Resize(cpu) = step {
                let mut resized = stored.clone();
                resized["spec"]["containers"][0]["resources"] = json!({"requests": {"cpu": cpu}});
                new = resized;
                let request = json!({"uid": "r", "kind": {"group": "", "version": "v1", "kind": "Pod"}, "subResource": "resize",
                    "namespace": "shop", "operation": "UPDATE", "object": new, "oldObject": stored});
                let answer = decide_with(json!({"request": request, "settings": s}).to_string().as_bytes(), None);
                bounded(&answer);
                answer
            } else {
                decided("UPDATE", &new, &stored, &s, namespace)
            };
            let benign = images(&new) == images(&stored)
                && (!revisions || new["metadata"]["labels"][LABEL] == stored["metadata"]["labels"][LABEL])
                && (annotation(&new, TRIGGER).is_none() || annotation(&new, TRIGGER) == annotation(&stored, TRIGGER))
                && annotation(&new, STATUS) == annotation(&stored, STATUS);
            if benign {
                prop_assert_eq!(&answer.decision, &Decision::Accept, "{:?} is benign", step);
                // Verify mode accepts it too, whatever the lookup answers.
                let v = settings("verify", percent, mandatory, revisions);
                let verified = decided("UPDATE", &new, &stored, &v, namespace);
                prop_assert!(!matches!(verified.decision, Decision::Reject(_)), "verify refused {:?}: {:?}", step, verified.decision);
            }
            std::mem::swap(&mut request_old, &mut stored);
            match answer.decision {
                Decision::Accept => stored = new,
                Decision::Mutate(pod) => {
                    if let Some(refused) = common::api_server_refuses(&new, &pod) {
                        return Err(TestCaseError::fail(refused));
                    }
                    stored = pod
                }
                Decision::Reject(_) => stored = request_old.clone(),
            }
            check_runs(&stored, mandatory, &(step, &steps))?;
            // The buckets are the Pod's creation's, or first written at an
            // upgrade from the Pod before it.
            let now = entry(&record(&stored), "agents").map(|e| e["buckets"].clone());
            match &created_buckets {
                Some(Value::String(b)) => prop_assert_eq!(now, Some(json!(b)), "buckets after {:?}", step),
                _ => {
                    let before = entry(&record(&request_old), "agents").map(|e| e["buckets"].clone());
                    if let (Some(Value::String(b)), Some(Value::Null) | None) = (&now, &before) {
                        let expected = format!("owner:{},pod:{}", bucket("agents", owner(&request_old)), bucket("agents", request_old["metadata"]["name"].as_str().unwrap()));
                        prop_assert_eq!(b, &expected, "buckets written at {:?} come from the Pod before it", step);
                    }
                }
            }
        }
    }
}
