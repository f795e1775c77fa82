//! `upgrade`'s plan: which of a set's Pods are upgraded in place, in which
//! batches. One owner at a time, in order of owner (namespace, kind, name),
//! its Pods by name; at most `maxUnavailable` of an owner's Pods at once,
//! fewer by as many of its Pods as are not ready already; `partition` of
//! each owner's Pods stay on their revision (OpenKruise's meaning). A
//! second run plans what is left: upgraded Pods are current.

use std::collections::BTreeMap;

use serde::Serialize;
use sidecarset_policy::settings::update_strategy::{IntOrPercent, UpdateStrategy};

use crate::state::{Owner, PodReport, State};

/// A Pod to upgrade: the revision and images it moves to, and what its
/// set's containers were when planned (to see them restart).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Move {
    pub namespace: String,
    pub name: String,
    /// The Pod's uid: the patch is refused if the name is another Pod's by
    /// then (a StatefulSet's Pod recreated).
    #[serde(skip)]
    pub uid: Option<String>,
    pub from: String,
    pub to: String,
    pub images: BTreeMap<String, String>,
    /// The containers the kubelet restarts: those whose image changes and
    /// that run (an app container or a native sidecar; an init container
    /// that completed is not run again). None: only the record and the
    /// revision label move.
    #[serde(skip)]
    pub restarts: Vec<String>,
    /// Each container's restart count and container ID when planned.
    #[serde(skip)]
    pub before: BTreeMap<String, (u64, String)>,
    /// The Pod's Ready condition when planned.
    #[serde(skip)]
    pub ready: bool,
    /// The Pod carries a trigger its webhook did not act on: it is taken
    /// off before the new one goes on (the same value again asks nothing).
    #[serde(skip)]
    pub stale_trigger: bool,
}

impl Move {
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// Pods of one owner upgraded together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Batch {
    pub namespace: String,
    pub owner: Owner,
    pub pods: Vec<Move>,
}

/// A Pod of the set that is not upgraded, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Left {
    pub pod: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub set: String,
    pub batches: Vec<Batch>,
    /// Stale Pods not upgraded: partition, selector, or what the policy
    /// refuses (recreate, paused…): reported, never forced.
    pub left: Vec<Left>,
}

/// The knobs, from the flags or else the set's `updateStrategy`.
#[derive(Debug, Clone, PartialEq)]
pub struct Knobs {
    pub max_unavailable: IntOrPercent,
    pub partition: IntOrPercent,
    pub strategy: UpdateStrategy,
    /// `-l`: only the Pods it selects are moved; an owner's other Pods
    /// still count (unavailable ones against maxUnavailable, all for
    /// percentages and the partition).
    pub selector: Option<crate::labels::Selector>,
}

/// The plan for `set` over `pods` (the namespaces in scope, every Pod).
pub fn plan(set: &str, pods: &[PodReport], knobs: &Knobs) -> Plan {
    let mut plan = Plan {
        set: set.to_string(),
        ..Default::default()
    };
    let mut owners: BTreeMap<(String, Owner), Vec<&PodReport>> = BTreeMap::new();
    for pod in pods.iter().filter(|p| p.set(set).is_some()) {
        // A Pod that has completed, or is being deleted, runs nothing to
        // upgrade, and is no unavailable replica (its replacement is).
        if let Some(reason) = crate::state::finished(pod) {
            if pod.set(set).is_some_and(|e| {
                matches!(e.state, State::Upgradeable { .. } | State::Blocked { .. })
            }) {
                plan.left.push(Left {
                    pod: pod.key(),
                    reason,
                });
            }
            continue;
        }
        owners
            .entry((pod.namespace.clone(), pod.owner.clone()))
            .or_default()
            .push(pod);
    }
    let halted = if knobs.strategy.not_update {
        Some("the set's updateStrategy.type is NotUpdate: its Pods are not upgraded")
    } else if knobs.strategy.paused {
        Some("the set's updateStrategy.paused is true: unpause it in the settings to upgrade")
    } else {
        None
    };
    for ((namespace, owner), mut members) in owners {
        // Unready Pods first: they move first (taking nothing more down),
        // and a partition keeps ready ones (OpenKruise's order; an unready
        // Pod kept back would hold the owner for good).
        members.sort_by(|a, b| (a.ready, &a.name).cmp(&(b.ready, &b.name)));
        let total = members.len();
        let stale = members
            .iter()
            .filter(|p| {
                p.set(set)
                    .is_some_and(|e| !matches!(e.state, State::Current | State::Missing))
            })
            .count();
        let keep = knobs.partition.scaled(total, true);
        let mut budget = stale.saturating_sub(keep);
        let mut moves = Vec::new();
        for pod in &members {
            let Some(entry) = pod.set(set) else { continue };
            // Not selected by -l: counted above, neither moved nor listed.
            if knobs
                .selector
                .as_ref()
                .is_some_and(|s| !s.matches(&pod.labels))
            {
                continue;
            }
            let reason = match &entry.state {
                State::Current | State::Missing => continue,
                State::Recreate { reason } | State::Blocked { reason } => reason.clone(),
                State::Upgradeable { .. } if halted.is_some() => halted.unwrap_or_default().into(),
                State::Upgradeable { .. }
                    if knobs.strategy.selector.as_ref().is_some_and(|s| {
                        !sidecarset_policy::selector::matches_with(s, |k| {
                            pod.labels.get(k).and_then(serde_json::Value::as_str)
                        })
                    }) =>
                {
                    "not selected by the set's updateStrategy.selector".into()
                }
                State::Upgradeable { .. } if budget == 0 => format!(
                    "partition: {keep} of the {total} Pods of {owner} stay on their revision"
                ),
                State::Upgradeable { to, images } => {
                    budget -= 1;
                    moves.push(planned_move(pod, entry.revision.clone(), to, images));
                    continue;
                }
            };
            plan.left.push(Left {
                pod: pod.key(),
                reason,
            });
        }
        if moves.is_empty() {
            continue;
        }
        // Pods already unavailable count against maxUnavailable. The
        // movers that are not ready go first, together: they take nothing
        // more down; then as many ready ones as maxUnavailable leaves.
        let moving: Vec<&str> = moves.iter().map(|m| m.name.as_str()).collect();
        let unavailable = members
            .iter()
            .filter(|p| !p.ready && !moving.contains(&p.name.as_str()))
            .count();
        let most = knobs.max_unavailable.scaled(total, false).max(1);
        let allowance = most.saturating_sub(unavailable);
        let (down, up): (Vec<Move>, Vec<Move>) = moves.into_iter().partition(|m| !m.ready);
        let first = allowance.saturating_sub(down.len()).min(up.len());
        let mut up = up.into_iter();
        let mut batch: Vec<Move> = down;
        batch.extend(up.by_ref().take(first));
        let rest: Vec<Move> = up.collect();
        if !batch.is_empty() {
            plan.batches.push(Batch {
                namespace: namespace.clone(),
                owner: owner.clone(),
                pods: batch,
            });
        }
        if allowance == 0 {
            for m in rest {
                plan.left.push(Left {
                    pod: m.key(),
                    reason: format!(
                        "{unavailable} of the {total} Pods of {owner} are not ready and maxUnavailable is {most}: run again once they are ready"
                    ),
                });
            }
            continue;
        }
        for chunk in rest.chunks(allowance) {
            plan.batches.push(Batch {
                namespace: namespace.clone(),
                owner: owner.clone(),
                pods: chunk.to_vec(),
            });
        }
    }
    plan
}

fn planned_move(
    pod: &PodReport,
    from: Option<String>,
    to: &str,
    images: &BTreeMap<String, String>,
) -> Move {
    let before = images
        .keys()
        .map(|c| {
            let status = crate::state::container_status(&pod.object, c);
            let count = status
                .and_then(|s| s.get("restartCount"))
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0);
            let id = status
                .and_then(|s| s.get("containerID"))
                .and_then(serde_json::Value::as_str)
                .unwrap_or("");
            (c.clone(), (count, id.to_string()))
        })
        .collect();
    Move {
        namespace: pod.namespace.clone(),
        name: pod.name.clone(),
        uid: crate::state::uid(&pod.object).map(String::from),
        from: from.unwrap_or_default(),
        to: to.to_string(),
        restarts: images
            .iter()
            .filter(|(c, i)| crate::state::image(&pod.object, c) != Some(i.as_str()))
            .filter(|(c, _)| crate::state::runs(&pod.object, c))
            .map(|(c, _)| c.clone())
            .collect(),
        images: images.clone(),
        before,
        ready: pod.ready,
        stale_trigger: crate::state::annotation(
            &pod.object,
            sidecarset_policy::annotations::UPGRADE,
        )
        .is_some(),
    }
}

fn show(value: IntOrPercent) -> String {
    match value {
        IntOrPercent::Int(n) => n.to_string(),
        IntOrPercent::Percent(p) => format!("{p}%"),
    }
}

/// The plan, as `--dry-run` prints it.
pub fn describe(plan: &Plan, knobs: &Knobs) -> String {
    let pods: usize = plan.batches.iter().map(|b| b.pods.len()).sum();
    let mut out = format!(
        "sidecar set {}: {pods} Pod{} to upgrade in place in {} batch{} (maxUnavailable {}, partition {})\n",
        plan.set,
        if pods == 1 { "" } else { "s" },
        plan.batches.len(),
        if plan.batches.len() == 1 { "" } else { "es" },
        show(knobs.max_unavailable),
        show(knobs.partition),
    );
    for (i, batch) in plan.batches.iter().enumerate() {
        out.push_str(&format!(
            "batch {} ({} {}):\n",
            i + 1,
            batch.namespace,
            batch.owner
        ));
        for m in &batch.pods {
            out.push_str(&format!(
                "  {}: {} -> {} (",
                m.key(),
                crate::table::printable(&m.from),
                m.to
            ));
            let images: Vec<String> = m.images.iter().map(|(c, i)| format!("{c}={i}")).collect();
            out.push_str(&images.join(", "));
            out.push_str(")\n");
        }
    }
    if !plan.left.is_empty() {
        out.push_str("not upgraded:\n");
        for left in &plan.left {
            out.push_str(&format!(
                "  {}: {}\n",
                left.pod,
                crate::table::printable(&left.reason)
            ));
        }
    }
    out
}
