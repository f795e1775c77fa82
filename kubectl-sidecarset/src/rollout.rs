//! `upgrade`'s run: each batch's Pods get the in-place upgrade trigger (the
//! policy's webhook then moves their images), and the next batch starts
//! once this one's Pods run the planned images and are Ready. The first
//! batch that does not become ready in time stops the run, naming its
//! Pods and why; run again to go on (upgraded Pods are current).

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cluster::Cluster;
use crate::plan::{Move, Plan};
use crate::state;

pub struct Options {
    pub timeout: Duration,
    pub poll: Duration,
}

/// Why a Pod of a batch is not done yet, or None when it is.
pub fn pending_reason(pod: &Value, planned: &Move) -> Option<String> {
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
    if !wrong.is_empty() {
        return Some(format!(
            "{} (the upgrade did not reach the Pod: is the policy registered for Pod UPDATE?)",
            wrong.join(", ")
        ));
    }
    let mut unready = Vec::new();
    for container in planned.images.keys() {
        let status = state::container_status(pod, container);
        if status.and_then(|s| s.get("ready")).and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let running = status.and_then(|s| s.get("image")).and_then(Value::as_str);
        let waiting = status
            .and_then(|s| s.pointer("/state/waiting/reason"))
            .and_then(Value::as_str);
        let mut why = format!("{container} is not ready");
        if let Some(reason) = waiting {
            why.push_str(&format!(" ({reason})"));
        } else if running
            .is_some_and(|r| Some(r) != planned.images.get(container).map(String::as_str))
        {
            why.push_str(" (the kubelet has not restarted it with its new image yet)");
        }
        unready.push(why);
    }
    if !unready.is_empty() {
        return Some(unready.join(", "));
    }
    if !state::pod_ready(pod) {
        return Some("the Pod is not Ready".into());
    }
    None
}

fn seconds(d: Duration) -> String {
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

/// Runs `plan` against the cluster, reporting on `out`. Err: why it
/// stopped (the Pods and their reasons).
pub async fn run(
    cluster: &Cluster,
    plan: &Plan,
    options: &Options,
    out: &mut dyn Write,
) -> Result<(), String> {
    let total = plan.batches.len();
    let mut upgraded = 0usize;
    let mut gone = 0usize;
    for (i, batch) in plan.batches.iter().enumerate() {
        let names: Vec<&str> = batch.pods.iter().map(|m| m.name.as_str()).collect();
        let _ = writeln!(
            out,
            "batch {}/{total} ({} {}): {}",
            i + 1,
            batch.namespace,
            batch.owner,
            names.join(", ")
        );
        let mut waiting: BTreeMap<String, &Move> = BTreeMap::new();
        for m in &batch.pods {
            match cluster
                .trigger_upgrade(&m.namespace, &m.name, &plan.set)
                .await
            {
                Ok(Some(_)) => {
                    waiting.insert(m.key(), m);
                }
                Ok(None) => {
                    gone += 1;
                    let _ = writeln!(
                        out,
                        "  {}: deleted before its upgrade; its replacement gets the set when it is created",
                        m.key()
                    );
                }
                Err(message) => {
                    return Err(format!(
                        "batch {}/{total}: the upgrade of {} was refused: {message}",
                        i + 1,
                        m.key()
                    ));
                }
            }
        }
        let deadline = Instant::now() + options.timeout;
        loop {
            let mut reasons: Vec<String> = Vec::new();
            let keys: Vec<String> = waiting.keys().cloned().collect();
            for key in keys {
                let Some(m) = waiting.get(&key).copied() else {
                    continue;
                };
                match cluster.get_pod(&m.namespace, &m.name).await? {
                    None => {
                        waiting.remove(&key);
                        gone += 1;
                        let _ = writeln!(
                            out,
                            "  {key}: deleted during its upgrade; its replacement gets the set when it is created"
                        );
                    }
                    Some(pod) => match pending_reason(&pod, m) {
                        None => {
                            waiting.remove(&key);
                            upgraded += 1;
                            let _ = writeln!(out, "  {key}: {} -> {}, ready", m.from, m.to);
                        }
                        Some(reason) => reasons.push(format!("{key}: {reason}")),
                    },
                }
            }
            if waiting.is_empty() {
                break;
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "batch {}/{total} did not become ready within {}: {}; the next batches were not started. Fix what holds it and run the command again: upgraded Pods are current and are skipped",
                    i + 1,
                    seconds(options.timeout),
                    reasons.join("; ")
                ));
            }
            tokio::time::sleep(options.poll).await;
        }
    }
    let _ = writeln!(
        out,
        "sidecar set {}: {upgraded} Pod{} upgraded in place{}",
        plan.set,
        if upgraded == 1 { "" } else { "s" },
        if gone > 0 {
            format!(", {gone} deleted meanwhile")
        } else {
            String::new()
        }
    );
    Ok(())
}
