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
use crate::table::printable;

pub struct Options {
    pub timeout: Duration,
    /// --timeout as given, for messages.
    pub timeout_text: String,
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

/// An image reference as runtimes report it: without the registry and
/// namespace Docker Hub implies, with the `latest` tag it implies
/// (`docker.io/library/nginx:latest` is `nginx`).
fn normalized(image: &str) -> String {
    let image = image
        .strip_prefix("docker.io/")
        .or_else(|| image.strip_prefix("index.docker.io/"))
        .unwrap_or(image);
    let image = image.strip_prefix("library/").unwrap_or(image);
    let last = image.rsplit('/').next().unwrap_or(image);
    if last.contains(':') || last.contains('@') {
        image.to_string()
    } else {
        format!("{image}:latest")
    }
}

/// Whether the image a container status reports is the planned one (a
/// digest cannot be compared: a restart after the spec changed runs it).
fn same_image(reported: &str, planned: &str) -> bool {
    reported.contains("@sha256:")
        || reported.starts_with("sha256:")
        || normalized(reported) == normalized(planned)
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
    // Only what changes restarts; the kubelet reports it some time after
    // the spec changed: until then the status is the old container's.
    let mut unready = Vec::new();
    for container in &planned.restarts {
        let image = planned
            .images
            .get(container)
            .map(String::as_str)
            .unwrap_or("");
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
        let (count_before, id_before) = planned
            .before
            .get(container)
            .cloned()
            .unwrap_or((0, String::new()));
        let restarted = count > count_before || (!id.is_empty() && id != id_before);
        if !restarted || !running.is_some_and(|r| same_image(r, image)) {
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
    // The batch's deadline bounds every call: a read or a patch that hangs
    // does not stretch it (no overflow for a huge --timeout: no deadline).
    let deadline = Instant::now().checked_add(options.timeout);
    let left = || deadline.map(|d| d.saturating_duration_since(Instant::now()));
    for m in batch {
        let patch = cluster.trigger_upgrade(
            &m.namespace,
            &m.name,
            m.uid.as_deref(),
            set,
            m.stale_trigger,
        );
        let patched = match left() {
            Some(left) => tokio::time::timeout(left, patch).await.unwrap_or_else(|_| {
                Patched::Unknown("no answer before the batch's --timeout".into())
            }),
            None => patch.await,
        };
        match patched {
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
                let _ = writeln!(
                    out,
                    "  {}: refused, not upgraded: {}",
                    m.key(),
                    printable(&message)
                );
                outcomes.push((m.key(), Outcome::Refused(message)));
            }
            // A server error or a lost connection: the patch may have been
            // applied. Waited for as the others: the batch is done only
            // when the Pod is, and times out otherwise.
            Patched::Unknown(message) => {
                let _ = writeln!(
                    out,
                    "  {}: the API server did not say whether the trigger was set ({message}); waiting for the Pod",
                    m.key()
                );
                waiting.push(m);
            }
        }
    }
    loop {
        let mut reasons: Vec<String> = Vec::new();
        let mut still = Vec::new();
        for m in waiting {
            let get = cluster.get_pod(&m.namespace, &m.name);
            // The last read after the deadline still gets a moment: it
            // says where the Pod stands.
            let read = match left() {
                Some(left) => tokio::time::timeout(left.max(Duration::from_secs(2)), get)
                    .await
                    .unwrap_or_else(|_| Err(format!("reading Pod {}: no answer in time", m.key()))),
                None => get.await,
            };
            let read = match read {
                Ok(read) => read,
                // A failed read is tried again until the deadline.
                Err(message) => {
                    reasons.push(format!("{}: {message}", m.key()));
                    still.push(m);
                    continue;
                }
            };
            match read {
                Some(pod) if m.uid.is_none() || state::uid(&pod) == m.uid.as_deref() => {
                    match pending_reason(&pod, m, set) {
                        None => {
                            let _ = writeln!(
                                out,
                                "  {}: {} -> {}, ready",
                                m.key(),
                                printable(&m.from),
                                m.to
                            );
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
                options.timeout_text,
                reasons.join("; ")
            ));
        }
        // Not past the deadline: it is checked once more after the sleep.
        let pause = match left() {
            Some(left) => options.poll.min(left),
            None => options.poll,
        };
        tokio::time::sleep(pause).await;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::{Value, json};

    use super::{Move, normalized, pending_reason, same_image};

    /// A Pod after the upgrade of `mesh` to v2, which changed only envoy's
    /// image: its record says v2; `envoy` as the kubelet reports it.
    fn pod(envoy: Value) -> Value {
        json!({
            "metadata": {"annotations": {"sidecarset.kubewarden.io/status":
                r#"{"sets":[{"name":"mesh","hash":"h","initContainers":["mesh-init","envoy","agent"],"images":{"mesh-init":"init:1","envoy":"envoy:2","agent":"agent:1"},"revision":"v2"}]}"#}},
            "spec": {"initContainers": [
                {"name": "mesh-init", "image": "init:1"},
                {"name": "envoy", "image": "envoy:2", "restartPolicy": "Always"},
                {"name": "agent", "image": "agent:1", "restartPolicy": "Always"}],
                "containers": [{"name": "app", "image": "app:1"}]},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                "initContainerStatuses": [
                    {"name": "mesh-init", "image": "init:1", "ready": false, "restartCount": 0, "containerID": "c://i"},
                    envoy,
                    {"name": "agent", "image": "agent:1", "ready": true, "restartCount": 0, "containerID": "c://a"}]}
        })
    }

    fn planned() -> Move {
        Move {
            namespace: "shop".into(),
            name: "web-1".into(),
            uid: None,
            from: "current".into(),
            to: "v2".into(),
            images: BTreeMap::from([
                ("mesh-init".into(), "init:1".into()),
                ("envoy".into(), "envoy:2".into()),
                ("agent".into(), "agent:1".into()),
            ]),
            restarts: vec!["envoy".into()],
            before: BTreeMap::from([
                ("mesh-init".into(), (0, "c://i".into())),
                ("envoy".into(), (0, "c://e".into())),
                ("agent".into(), (0, "c://a".into())),
            ]),
            ready: true,
            stale_trigger: false,
        }
    }

    /// Only what changed restarts: the agent that kept its image and the
    /// init container that completed are not waited for (red team 2, 1:
    /// the batch never completed).
    #[test]
    fn only_the_containers_whose_image_changed_are_waited_for() {
        let restarted = json!({"name": "envoy", "image": "docker.io/library/envoy:2", "ready": true, "restartCount": 1, "containerID": "c://e2"});
        assert_eq!(pending_reason(&pod(restarted), &planned(), "mesh"), None);
        let not_yet = json!({"name": "envoy", "image": "envoy:1", "ready": true, "restartCount": 0, "containerID": "c://e"});
        assert_eq!(
            pending_reason(&pod(not_yet), &planned(), "mesh").as_deref(),
            Some("envoy has not restarted with its new image yet")
        );
        let waiting = json!({"name": "envoy", "image": "envoy:2", "ready": false, "restartCount": 1, "containerID": "c://e2", "state": {"waiting": {"reason": "CrashLoopBackOff"}}});
        assert_eq!(
            pending_reason(&pod(waiting), &planned(), "mesh").as_deref(),
            Some("envoy is not ready (CrashLoopBackOff)")
        );
    }

    #[test]
    fn images_as_runtimes_report_them() {
        assert_eq!(normalized("fluent/fluent-bit"), "fluent/fluent-bit:latest");
        assert_eq!(normalized("docker.io/library/nginx:1.27"), "nginx:1.27");
        assert_eq!(
            normalized("registry:5000/team/app"),
            "registry:5000/team/app:latest"
        );
        assert!(same_image(
            "docker.io/fluent/fluent-bit:latest",
            "fluent/fluent-bit"
        ));
        assert!(same_image(
            "docker.io/envoyproxy/envoy@sha256:abc",
            "envoyproxy/envoy:v1.34.0"
        ));
        assert!(!same_image(
            "docker.io/envoyproxy/envoy:v1.33.0",
            "envoyproxy/envoy:v1.34.0"
        ));
    }
}
