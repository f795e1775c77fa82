//! upgrade's planning, as a pure function: batches per owner, partition,
//! maxUnavailable (numbers and percentages, Pods already unavailable),
//! the set's updateStrategy, what is reported instead of upgraded, and
//! resumption (a second plan over the result of the first).

use std::collections::BTreeMap;

use kubectl_sidecarset::plan::{Knobs, Plan, plan};
use kubectl_sidecarset::state::{Owner, PodReport, PodSet, State};
use rstest::rstest;
use serde_json::{Map, Value, json};
use sidecarset_policy::settings::update_strategy::{IntOrPercent, UpdateStrategy};

fn upgradeable() -> State {
    State::Upgradeable {
        to: "v2".into(),
        images: BTreeMap::from([("proxy".into(), "proxy:2".into())]),
    }
}

/// `spec`: "owner/name:state[:unready|:done]", state u (upgradeable), c
/// (current), r (recreate), b (blocked), m (missing); `done`: the Pod has
/// completed (phase Succeeded). An owner "web~2" is another owner named
/// web (another uid).
fn pods(specs: &[&str]) -> Vec<PodReport> {
    specs
        .iter()
        .map(|spec| {
            let mut parts = spec.split(':');
            let (owner, name) = parts.next().unwrap().split_once('/').unwrap();
            let state = match parts.next().unwrap() {
                "u" => upgradeable(),
                "c" => State::Current,
                "r" => State::Recreate {
                    reason: "recreate the Pod".into(),
                },
                "b" => State::Blocked {
                    reason: "the set is paused".into(),
                },
                "m" => State::Missing,
                other => panic!("{other}"),
            };
            let flag = parts.next();
            let ready = flag.is_none();
            let phase = if flag == Some("done") {
                "Succeeded"
            } else {
                "Running"
            };
            let (owner, uid) = owner.split_once('~').unwrap_or((owner, "1"));
            let revision = match &state {
                State::Missing => None,
                State::Current => Some("v2".to_string()),
                _ => Some("current".to_string()),
            };
            let labels: Map<String, Value> =
                json!({"track": if name.ends_with('1') { "canary" } else { "stable" }})
                    .as_object()
                    .unwrap()
                    .clone();
            PodReport {
                namespace: "shop".into(),
                name: name.into(),
                owner: Owner {
                    kind: "ReplicaSet".into(),
                    name: owner.into(),
                    uid: uid.into(),
                },
                ready,
                phase: phase.into(),
                sets: vec![PodSet {
                    set: "mesh".into(),
                    revision,
                    state,
                    ready,
                }],
                refused: None,
                labels,
                object: Value::Null,
            }
        })
        .collect()
}

fn knobs(max_unavailable: IntOrPercent, partition: IntOrPercent) -> Knobs {
    Knobs {
        max_unavailable,
        partition,
        strategy: UpdateStrategy::default(),
        selector: None,
    }
}

/// Batches as "owner: a b | owner: c".
fn batches(plan: &Plan) -> String {
    plan.batches
        .iter()
        .map(|b| {
            let names: Vec<&str> = b.pods.iter().map(|m| m.name.as_str()).collect();
            format!("{}: {}", b.owner.name, names.join(" "))
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

fn left(plan: &Plan) -> Vec<String> {
    plan.left
        .iter()
        .map(|l| format!("{}: {}", l.pod, l.reason))
        .collect()
}

use IntOrPercent::{Int, Percent};

#[rstest]
#[case::one_at_a_time(&["web/w1:u", "web/w2:u", "web/w3:u"], Int(1), Int(0), "web: w1 | web: w2 | web: w3")]
#[case::two_at_a_time(&["web/w1:u", "web/w2:u", "web/w3:u"], Int(2), Int(0), "web: w1 w2 | web: w3")]
#[case::percent_rounds_down(&["web/w1:u", "web/w2:u", "web/w3:u"], Percent(50), Int(0), "web: w1 | web: w2 | web: w3")]
#[case::percent_at_least_one(&["web/w1:u", "web/w2:u"], Percent(10), Int(0), "web: w1 | web: w2")]
#[case::all_at_once(&["web/w1:u", "web/w2:u", "web/w3:u"], Percent(100), Int(0), "web: w1 w2 w3")]
#[case::one_owner_at_a_time(&["web/w2:u", "api/a1:u", "web/w1:u"], Int(5), Int(0), "api: a1 | web: w1 w2")]
#[case::partition_keeps_the_last(&["web/w1:u", "web/w2:u", "web/w3:u"], Int(5), Int(1), "web: w1 w2")]
#[case::partition_percent_rounds_up(&["web/w1:u", "web/w2:u", "web/w3:u"], Int(5), Percent(50), "web: w1")]
#[case::partition_counts_every_old_pod(&["web/w1:u", "web/w2:r", "web/w3:u"], Int(5), Int(1), "web: w1 w3")]
#[case::current_pods_are_not_moved(&["web/w1:c", "web/w2:u", "web/w3:m"], Int(1), Int(0), "web: w2")]
#[case::unready_pods_count_against_max(&["web/w1:u", "web/w2:u", "web/w3:c:unready"], Int(2), Int(0), "web: w1 | web: w2")]
#[case::the_unready_movers_go_first(&["web/w1:u", "web/w2:u:unready", "web/w3:u"], Int(1), Int(0), "web: w2 | web: w1 | web: w3")]
#[case::with_room_for_one_more(&["web/w1:u", "web/w2:u:unready", "web/w3:u"], Int(2), Int(0), "web: w2 w1 | web: w3")]
#[case::a_completed_pod_is_neither_moved_nor_unavailable(&["web/w1:u", "web/w2:u:done", "web/w3:u"], Int(1), Int(0), "web: w1 | web: w3")]
#[case::owners_are_told_apart_by_uid(&["web/w1:u", "web~2/x1:u", "web~2/x2:u"], Percent(50), Int(0), "web: w1 | web: x1 | web: x2")]
#[case::a_partition_keeps_ready_pods_not_the_unready_one(&["web/w1:u", "web/w2:u:unready", "web/w3:u"], Int(1), Int(2), "web: w2")]
#[case::an_unready_pod_being_moved_takes_nothing_more(&["web/w1:u:unready", "web/w2:u"], Int(1), Int(0), "web: w1 | web: w2")]
fn batches_by_owner(
    #[case] specs: &[&str],
    #[case] max_unavailable: IntOrPercent,
    #[case] partition: IntOrPercent,
    #[case] expected: &str,
) {
    let plan = plan("mesh", &pods(specs), &knobs(max_unavailable, partition));
    assert_eq!(batches(&plan), expected);
}

#[test]
fn what_is_not_upgraded_is_reported_with_its_reason() {
    let plan = plan(
        "mesh",
        &pods(&[
            "web/w1:u",
            "web/w2:r",
            "web/w3:b",
            "web/w4:u",
            "other/o1:c:unready",
            "api/a1:u",
            "api/a2:c:unready",
        ]),
        &knobs(Int(1), Int(1)),
    );
    // Four old Pods of web, one kept: w1 and w4 move, w2 and w3 stay old.
    assert_eq!(batches(&plan), "web: w1 | web: w4");
    assert_eq!(
        left(&plan),
        [
            "shop/a1: partition: 1 of the 2 Pods of ReplicaSet/api stay on their revision",
            "shop/w2: recreate the Pod",
            "shop/w3: the set is paused",
        ]
    );
}

#[test]
fn pods_already_unavailable_hold_the_owner_back() {
    let plan = plan(
        "mesh",
        &pods(&["web/w1:u", "web/w2:c:unready"]),
        &knobs(Int(1), Int(0)),
    );
    assert!(plan.batches.is_empty());
    assert_eq!(
        left(&plan),
        [
            "shop/w1: 1 of the 2 Pods of ReplicaSet/web are not ready and maxUnavailable is 1: run again once they are ready"
        ]
    );
}

#[rstest]
#[case::paused(json!({"paused": true}), "the set's updateStrategy.paused is true: unpause it in the settings to upgrade")]
#[case::not_update(json!({"type": "NotUpdate"}), "the set's updateStrategy.type is NotUpdate: its Pods are not upgraded")]
fn a_halted_strategy_upgrades_nothing(#[case] strategy: Value, #[case] reason: &str) {
    let strategy = UpdateStrategy::read(Some(&strategy), "updateStrategy").unwrap();
    let knobs = Knobs {
        max_unavailable: Int(1),
        partition: Int(0),
        strategy,
        selector: None,
    };
    let plan = plan("mesh", &pods(&["web/w1:u"]), &knobs);
    assert!(plan.batches.is_empty());
    assert_eq!(left(&plan), [format!("shop/w1: {reason}")]);
}

#[test]
fn the_strategy_selector_narrows_the_pods() {
    let strategy = UpdateStrategy::read(
        Some(&json!({"selector": {"matchLabels": {"track": "canary"}}})),
        "u",
    )
    .unwrap();
    let knobs = Knobs {
        max_unavailable: Int(5),
        partition: Int(0),
        strategy,
        selector: None,
    };
    let plan = plan("mesh", &pods(&["web/w1:u", "web/w2:u"]), &knobs);
    assert_eq!(batches(&plan), "web: w1");
    assert_eq!(
        left(&plan),
        ["shop/w2: not selected by the set's updateStrategy.selector"]
    );
}

/// A run stopped after its first batch, planned again: only the rest,
/// and the partition still leaves the same number of Pods behind.
#[test]
fn a_second_plan_resumes_where_the_first_stopped() {
    let knobs = knobs(Int(1), Int(1));
    let first = plan(
        "mesh",
        &pods(&["web/w1:u", "web/w2:u", "web/w3:u", "web/w4:u"]),
        &knobs,
    );
    assert_eq!(batches(&first), "web: w1 | web: w2 | web: w3");
    // w1 was upgraded, then the run stopped.
    let second = plan(
        "mesh",
        &pods(&["web/w1:c", "web/w2:u", "web/w3:u", "web/w4:u"]),
        &knobs,
    );
    assert_eq!(batches(&second), "web: w2 | web: w3");
    let done = plan(
        "mesh",
        &pods(&["web/w1:c", "web/w2:c", "web/w3:c", "web/w4:u"]),
        &knobs,
    );
    assert!(done.batches.is_empty());
}

/// -l narrows what moves, not what counts: the owner's Pod that is not
/// ready, outside the selector, still holds the others back (red team 2,
/// 3: with -l a ready Pod was taken down beside it).
#[test]
fn the_label_selector_narrows_what_moves_not_what_counts() {
    let mut pods = pods(&["web/w1:u", "web/w2:c:unready", "web/w3:u"]);
    pods[0].labels.insert("pick".into(), json!("yes"));
    let mut knobs = knobs(Int(1), Int(0));
    knobs.selector = Some(kubectl_sidecarset::labels::Selector::parse("pick=yes").unwrap());
    let plan = plan("mesh", &pods, &knobs);
    assert!(plan.batches.is_empty(), "{}", batches(&plan));
    assert_eq!(
        left(&plan),
        [
            "shop/w1: 1 of the 3 Pods of ReplicaSet/web are not ready and maxUnavailable is 1: run again once they are ready"
        ]
    );
    knobs.max_unavailable = Int(2);
    assert_eq!(
        batches(&plan_of(&pods, &knobs)),
        "web: w1",
        "w3 is not selected"
    );
}

fn plan_of(pods: &[PodReport], knobs: &Knobs) -> Plan {
    plan("mesh", pods, knobs)
}
#[test]
fn a_completed_pod_is_reported() {
    let plan = plan("mesh", &pods(&["web/w1:u:done"]), &knobs(Int(1), Int(0)));
    assert_eq!(
        left(&plan),
        ["shop/w1: the Pod has completed (phase Succeeded): nothing runs to upgrade"]
    );
}
