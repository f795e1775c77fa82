//! `explain`: what the policy does to one Pod and why, in words: its
//! decision, the lines `explain: true` adds to the answer (the revision
//! each set got and the rule that chose it, the start and stop order, the
//! Pod Security verdict), the containers it ends with, in start order, and
//! for a running Pod where it stands with each set it records.

use serde_json::Value;
use sidecarset_policy::admission::{Answer, Decision};
use sidecarset_policy::annotations::STATUS;

use crate::state::{self, PodReport, State};
use crate::table::printable;

/// What is explained: a Pod (or a workload's template, as its Pod), or an
/// AdmissionRequest as given.
pub struct Subject<'a> {
    pub what: String,
    pub operation: &'a str,
    pub object: Option<&'a Value>,
}

fn containers(pod: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for list in ["initContainers", "containers"] {
        for c in pod
            .pointer(&format!("/spec/{list}"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = c.get("name").and_then(Value::as_str).unwrap_or("?");
            let image = c.get("image").and_then(Value::as_str).unwrap_or("?");
            let role = match (list, c.get("restartPolicy").and_then(Value::as_str)) {
                ("initContainers", Some("Always")) => "native sidecar",
                ("initContainers", _) => "init container",
                _ => "container",
            };
            out.push(format!("{name} ({role}, {image})"));
        }
    }
    out
}

/// The explanation of `answer` to `subject`; `report`, where the Pod runs
/// already, says where it stands with each set.
pub fn explain(subject: &Subject, answer: &Answer, report: Option<&PodReport>) -> String {
    let mut out = match report {
        Some(_) => format!("{} (running; as if created now):\n", subject.what),
        None => format!("{} ({}):\n", subject.what, subject.operation),
    };
    let decision = match &answer.decision {
        Decision::Accept => "accepted unchanged".to_string(),
        Decision::Reject(message) => format!("rejected: {message}"),
        Decision::Mutate(object) => {
            // An UPDATE: the sets whose record it changes (an upgrade).
            let before = match subject.operation {
                "UPDATE" => subject.object.map(state::record).unwrap_or_default(),
                _ => Default::default(),
            };
            let sets: Vec<String> = state::record(object)
                .sets
                .iter()
                .filter(|s| before.get(&s.name) != Some(*s))
                .map(|s| match &s.revision {
                    Some(revision) => format!("{} (revision {revision})", s.name),
                    None => s.name.clone(),
                })
                .collect();
            let verb = if subject.operation == "UPDATE" {
                "upgrades"
            } else {
                "injects"
            };
            if sets.is_empty() {
                "accepted with changes".to_string()
            } else {
                format!("{verb} {}", sets.join(", "))
            }
        }
    };
    out.push_str(&format!("  decision: {}\n", printable(&decision)));
    // Marking a running Pod's record stale (`state::as_if_new`) makes the
    // policy say it replaced the record: that is this view's, not news.
    let replaced =
        format!("metadata.annotations[{STATUS:?}]: the record the Pod brought is replaced");
    let warnings: Vec<&String> = answer
        .warnings
        .iter()
        .filter(|w| report.is_none() || !w.starts_with(&replaced))
        .collect();
    if !warnings.is_empty() {
        out.push_str("  the policy says:\n");
        for warning in warnings {
            out.push_str(&format!("    - {}\n", printable(warning)));
        }
    }
    if let Decision::Mutate(object) = &answer.decision {
        out.push_str("  containers, in start order:\n");
        for (i, line) in containers(object).iter().enumerate() {
            out.push_str(&format!("    {}. {line}\n", i + 1));
        }
    }
    if let Some(report) = report.filter(|r| !r.sets.is_empty()) {
        out.push_str("  running, by set:\n");
        for entry in &report.sets {
            let revision = entry.revision.as_deref().unwrap_or("-");
            let ready = if entry.ready { "ready" } else { "not ready" };
            let line = match &entry.state {
                State::Current => format!("revision {revision}, up to date, {ready}"),
                State::Upgradeable { to, .. } => {
                    format!(
                        "revision {revision}, {ready}; upgradeable in place to {to} (kubectl sidecarset upgrade {})",
                        entry.set
                    )
                }
                State::Recreate { reason } => {
                    format!("revision {revision}, {ready}; stale: {reason}")
                }
                State::Blocked { reason } => format!("revision {revision}, {ready}; {reason}"),
                State::Missing => {
                    "missing: the Pod was created without it; recreate the Pod".to_string()
                }
            };
            out.push_str(&format!("    {}: {line}\n", entry.set));
        }
    }
    out
}
