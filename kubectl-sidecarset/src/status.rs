//! `status`: per set, like `kubectl get`, the Pods it applies to, per
//! revision the Pods running it, how many are current, stale (and why),
//! ready and missing; `-o wide` lists the Pods.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::state::{PodReport, State};
use crate::table;

/// One set's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SetStatus {
    pub name: String,
    /// Pods the set applies to, or that record it.
    pub pods: usize,
    /// Pods per recorded revision.
    pub revisions: BTreeMap<String, usize>,
    pub current: usize,
    /// Stale, upgradeable in place (`kubectl sidecarset upgrade`).
    pub upgradeable: usize,
    /// Stale, the set changed in more than images: recreate the Pod.
    pub recreate: usize,
    /// The policy refuses the upgrade (paused, no longer selected, …).
    pub blocked: usize,
    /// Applies, but the Pod has none of the set (escaped injection).
    pub missing: usize,
    /// Pods whose containers of the set are all ready.
    pub ready: usize,
}

/// The counts of each set in `sets` (the settings' order), over `pods`.
pub fn summarize(sets: &[String], pods: &[PodReport]) -> Vec<SetStatus> {
    sets.iter()
        .map(|name| {
            let mut status = SetStatus {
                name: name.clone(),
                ..Default::default()
            };
            for entry in pods.iter().filter_map(|p| p.set(name)) {
                status.pods += 1;
                if let Some(revision) = &entry.revision {
                    *status.revisions.entry(revision.clone()).or_default() += 1;
                }
                match entry.state {
                    State::Current => status.current += 1,
                    State::Upgradeable { .. } => status.upgradeable += 1,
                    State::Recreate { .. } => status.recreate += 1,
                    State::Blocked { .. } => status.blocked += 1,
                    State::Missing => status.missing += 1,
                }
                status.ready += usize::from(entry.ready);
            }
            status
        })
        .collect()
}

fn revisions(counts: &BTreeMap<String, usize>) -> String {
    if counts.is_empty() {
        return "-".into();
    }
    counts
        .iter()
        .map(|(r, n)| format!("{r}:{n}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The table of sets.
pub fn table(statuses: &[SetStatus]) -> String {
    let rows: Vec<Vec<String>> = statuses
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                s.pods.to_string(),
                revisions(&s.revisions),
                s.current.to_string(),
                s.upgradeable.to_string(),
                s.recreate.to_string(),
                s.blocked.to_string(),
                s.missing.to_string(),
                s.ready.to_string(),
            ]
        })
        .collect();
    table::render(
        &[
            "NAME",
            "PODS",
            "REVISIONS",
            "CURRENT",
            "UPGRADEABLE",
            "RECREATE",
            "BLOCKED",
            "MISSING",
            "READY",
        ],
        &rows,
    )
}

/// One line per Pod and set (`-o wide`), with the reason of a stale one.
pub fn pod_table(sets: &[String], pods: &[PodReport]) -> String {
    let mut rows = Vec::new();
    for set in sets {
        for pod in pods {
            let Some(entry) = pod.set(set) else { continue };
            let detail = match &entry.state {
                State::Upgradeable { to, .. } => format!("in place to {to}"),
                State::Recreate { reason } | State::Blocked { reason } => reason.clone(),
                State::Missing => "created without the set: recreate the Pod".into(),
                State::Current => String::new(),
            };
            rows.push(vec![
                set.clone(),
                pod.namespace.clone(),
                pod.name.clone(),
                pod.owner.to_string(),
                entry.revision.clone().unwrap_or_else(|| "-".into()),
                entry.state.word().into(),
                if entry.ready { "true" } else { "false" }.into(),
                detail,
            ]);
        }
    }
    table::render(
        &[
            "SET",
            "NAMESPACE",
            "POD",
            "OWNER",
            "REVISION",
            "STATE",
            "READY",
            "DETAIL",
        ],
        &rows,
    )
}

/// Pods the policy would refuse were they created now (stderr).
pub fn refused(pods: &[PodReport]) -> Vec<String> {
    pods.iter()
        .filter_map(|p| {
            p.refused
                .as_ref()
                .map(|m| format!("{}: the policy would refuse this Pod now: {m}", p.key()))
        })
        .collect()
}
