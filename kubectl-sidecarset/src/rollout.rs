//! `upgrade`'s run, one batch at a time: each Pod of the batch gets the
//! in-place upgrade trigger (the policy's webhook then moves its images,
//! record and revision label), and the run waits until each has restarted
//! the set's containers with the new images and is Ready. The caller plans
//! again before every batch (`run::upgrade_command`), so that what changed
//! meanwhile (Pods deleted, relabelled, not ready, refused) counts.

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cluster::{Cluster, Patched};
use crate::plan::Move;
use crate::state;

pub struct Options {
    pub timeout: Duration,
    pub poll: Duration,
}

/// What became of a Pod of the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Upgraded,
    /// Deleted (or replaced by another Pod of the same name) before or
    /// during its upgrade.
    Gone(String),
    /// The API server (the policy's webhook) refused the trigger.
    Refused(String),
}

/// An image reference as runtimes report it, without the registry and
/// namespace Docker Hub implies (`docker.io/library/nginx:1` is `nginx:1`).
fn normalized(image: &str) -> &str {
    let image = image
        .strip_prefix("docker.io/")
        .or_else(|| image.strip_prefix("index.docker.io/"))
        .unwrap_or(image);
    image.strip_prefix("library/").unwrap_or(image)
}

/// Why a Pod of a batch is not done yet, or None when it is.
pub fn pending_reason(pod: &Value, planned: &Move, set: &str) -> Option<String> {
    let mut wrong: Vec<String> = Vec::new();
    for (container, image) in &planned.images {
        let now = state::image(pod, container);
        if now != Some(image.as_str()) {
            wrong.push(format!(
                "{container} runs {}, not {image}",
                now.unwrap_or("nothing")
            ));
        }
    }
    let record = state::record(pod);
    let revision = record
        .get(set)
        .map(|s| s.revision.clone().unwrap_or_else(|| "current".into()));
    if !wrong.is_empty() || revision.as_deref() != Some(planned.to.as_str()) {
        if wrong.is_empty() {
            wrong.push(format!(
                "its record says revision {}",
                revision.as_deref().unwrap_or("none")
            ));
        }
        return Some(format!(
            "{} (the upgrade did not reach the Pod: is the policy registered for Pod UPDATE?)",
            wrong.join(", ")
        ));
    }
    let mut unready = Vec::new();
    for (container, image) in &planned.images {
        let status = state::container_status(pod, container);
        let count = status
            .and_then(|s| s.get("restartCount"))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let id = status
            .and_then(|s| s.get("containerID"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let running = status.and_then(|s| s.get("image")).and_then(Value::as_str);
        // The kubelet reports the restart some time after the spec
        // changed: until then the status is the old container's, ready.
        let (count_before, id_before) = planned
            .before
            .get(container)
            .cloned()
            .unwrap_or((0, String::new()));
        let restarted = count > count_before || (!id.is_empty() && id != id_before);
        let new_image =
            running.is_some_and(|r| normalized(r) == normalized(image) || r.starts_with("sha256:"));
        if planned.restarts && (!restarted || !new_image) {
            unready.push(format!(
                "{container} has not restarted with its new image yet"
            ));
            continue;
        }
        if status.and_then(|s| s.get("ready")).and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let waiting = status
            .and_then(|s| s.pointer("/state/waiting/reason"))
            .and_then(Value::as_str);
        match waiting {
            Some(reason) => unready.push(format!("{container} is not ready ({reason})")),
            None => unready.push(format!("{container} is not ready")),
        }
    }
    if !unready.is_empty() {
        return Some(unready.join(", "));
    }
    if !state::pod_ready(pod) {
        return Some("the Pod is not Ready".into());
    }
    None
}

pub fn duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        return format!("{}ms", d.as_millis());
    }
    let s = d.as_secs();
    match (s / 60, s % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m{s}s"),
    }
}

/// Puts the trigger on each Pod of the batch; then waits until every Pod
/// it reached is done, or gone. Each Pod's outcome is printed on `out`;
/// Err: the batch did not become ready in time (its Pods and why).
pub async fn run_batch(
    cluster: &Cluster,
    set: &str,
    batch: &[Move],
    options: &Options,
    out: &mut dyn Write,
) -> Result<Vec<(String, Outcome)>, String> {
    let mut outcomes = Vec::new();
    let mut waiting: Vec<&Move> = Vec::new();
    for m in batch {
        match cluster
            .trigger_upgrade(
                &m.namespace,
                &m.name,
                m.uid.as_deref(),
                set,
                m.stale_trigger,
            )
            .await
        {
            Patched::Done => waiting.push(m),
            Patched::Gone(why) => {
                let _ = writeln!(
                    out,
                    "  {}: {why}; its replacement gets the set when it is created",
                    m.key()
                );
                outcomes.push((m.key(), Outcome::Gone(why)));
            }
            Patched::Refused(message) => {
                let _ = writeln!(out, "  {}: refused, not upgraded: {message}", m.key());
                outcomes.push((m.key(), Outcome::Refused(message)));
            }
        }
    }
    // No overflow for a huge --timeout: no deadline then.
    let deadline = Instant::now().checked_add(options.timeout);
    loop {
        let mut reasons: Vec<String> = Vec::new();
        let mut still = Vec::new();
        for m in waiting {
            match cluster.get_pod(&m.namespace, &m.name).await? {
                Some(pod) if m.uid.is_none() || state::annotation_uid(&pod) == m.uid.as_deref() => {
                    match pending_reason(&pod, m, set) {
                        None => {
                            let _ = writeln!(out, "  {}: {} -> {}, ready", m.key(), m.from, m.to);
                            outcomes.push((m.key(), Outcome::Upgraded));
                        }
                        Some(reason) => {
                            reasons.push(format!("{}: {reason}", m.key()));
                            still.push(m);
                        }
                    }
                }
                _ => {
                    let why = "deleted during its upgrade".to_string();
                    let _ = writeln!(
                        out,
                        "  {}: {why}; its replacement gets the set when it is created",
                        m.key()
                    );
                    outcomes.push((m.key(), Outcome::Gone(why)));
                }
            }
        }
        waiting = still;
        if waiting.is_empty() {
            return Ok(outcomes);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(format!(
                "did not become ready within {}: {}; the next batches were not started. Fix what holds it and run the command again: upgraded Pods are current and are skipped",
                duration(options.timeout),
                reasons.join("; ")
            ));
        }
        tokio::time::sleep(options.poll).await;
    }
}
