//! What the API server refuses of a sidecar in the Pod it joins: its Pod
//! validation rules (`pkg/apis/core/validation`) that depend on the Pod, so
//! that the settings cannot decide them when they load. One check per rule;
//! each answers with the problem, which the caller prefixes with the set and
//! container, or nothing. Injection rejects rather than answer with a Pod
//! the API server would refuse for fields its author never wrote.

use serde_json::{Map, Value};

use crate::annotations::clip;
use crate::order::Placement;
use crate::pod::PodView;

/// The deprecated annotations the API server applies to, and checks
/// against, the container they name.
const PROFILE_ANNOTATIONS: [&str; 2] = [
    "container.seccomp.security.alpha.kubernetes.io/",
    "container.apparmor.security.beta.kubernetes.io/",
];

/// The message of a rule broken by container `container` of set `set`.
pub fn blame(set: &str, container: &str, problem: &str) -> String {
    format!("sidecar set {set:?}: container {container:?} {problem}")
}

/// What of the Pod the rules read that takes a search, gathered once per Pod.
#[derive(Debug, Default, Clone, Copy)]
pub struct PodSide {
    /// `spec.securityContext.windowsOptions.hostProcess`.
    pod_host_process: Option<bool>,
    /// Whether the Pod's containers are HostProcess containers (the first
    /// one's answer; the API server requires them all alike).
    host_process: Option<bool>,
    /// Whether the Pod has a profile annotation at all (most have none:
    /// then no sidecar is looked up in them).
    profile_annotations: bool,
}

/// `securityContext.windowsOptions.hostProcess` of a Pod or container.
fn host_process_of(holder: &Map<String, Value>) -> Option<bool> {
    host_process_in(holder.get("securityContext")?.as_object())
}

/// `windowsOptions.hostProcess` of a securityContext.
fn host_process_in(context: Option<&Map<String, Value>>) -> Option<bool> {
    context?
        .get("windowsOptions")?
        .get("hostProcess")?
        .as_bool()
}

impl PodSide {
    pub fn of(pod: &PodView) -> Self {
        let pod_host_process = host_process_of(pod.spec);
        PodSide {
            pod_host_process,
            host_process: pod
                .init_containers
                .iter()
                .chain(&pod.containers)
                .next()
                .map(|c| {
                    host_process_of(c.spec)
                        .or(pod_host_process)
                        .unwrap_or(false)
                }),
            profile_annotations: pod
                .annotations
                .keys()
                .any(|key| PROFILE_ANNOTATIONS.iter().any(|p| key.starts_with(p))),
        }
    }
}

/// The first rule of the API server `entry` breaks in the Pod, as the
/// problem after "container X": what it sets, the rule, and what to do.
pub fn refused(
    entry: &Map<String, Value>,
    placement: Placement,
    side: PodSide,
    pod: &PodView,
    name: &str,
) -> Option<String> {
    let context = entry.get("securityContext").and_then(Value::as_object);
    host_network_ports(entry, placement, pod)
        .or_else(|| resize_policy(entry, pod))
        .or_else(|| proc_mount(context, pod))
        .or_else(|| host_process(context, side))
        .or_else(|| {
            side.profile_annotations
                .then(|| profile_annotation(pod, name))
                .flatten()
        })
}

/// `validateHostNetwork`: in a Pod on the host's network, a port of
/// `spec.containers` has its hostPort equal to its containerPort (the API
/// server defaults an unset hostPort so).
fn host_network_ports(
    entry: &Map<String, Value>,
    placement: Placement,
    pod: &PodView,
) -> Option<String> {
    if !pod.host_network || !matches!(placement, Placement::Leading | Placement::Trailing) {
        return None;
    }
    let ports = entry.get("ports").and_then(Value::as_array)?;
    ports.iter().enumerate().find_map(|(i, port)| {
        let host = port.get("hostPort").and_then(Value::as_i64).unwrap_or(0);
        let container = port.get("containerPort").and_then(Value::as_i64)?;
        (host != 0 && host != container).then(|| {
            format!(
                "has ports[{i}].hostPort {host} and containerPort {container}, which the API server refuses in a Pod with spec.hostNetwork: true (they must be equal); set hostPort to containerPort or remove it in the set, or keep the set out of host-network Pods (hostNetworkPods)"
            )
        })
    })
}

/// `validateResizePolicy`: a Pod that never restarts its containers takes
/// only `NotRequired` resize policies.
fn resize_policy(entry: &Map<String, Value>, pod: &PodView) -> Option<String> {
    if pod.restart_policy != Some("Never") {
        return None;
    }
    let policies = entry.get("resizePolicy").and_then(Value::as_array)?;
    policies.iter().enumerate().find_map(|(i, policy)| {
        let restart = policy.get("restartPolicy").and_then(Value::as_str)?;
        (restart != "NotRequired").then(|| {
            format!(
                "has resizePolicy[{i}].restartPolicy {:?}, which the API server refuses in a Pod with spec.restartPolicy: Never (only NotRequired); use NotRequired in the set, or keep the set out of such Pods (its selector)",
                clip(restart)
            )
        })
    })
}

/// `ValidateSecurityContext`: an unmasked /proc only in a user namespace
/// (`spec.hostUsers: false`).
fn proc_mount(context: Option<&Map<String, Value>>, pod: &PodView) -> Option<String> {
    let unmasked = context
        .and_then(|sc| sc.get("procMount"))
        .and_then(Value::as_str)
        == Some("Unmasked");
    let user_namespace = || pod.spec.get("hostUsers") == Some(&Value::Bool(false));
    (unmasked && !user_namespace()).then(|| {
        "sets securityContext.procMount: Unmasked, which the API server accepts only in a Pod with spec.hostUsers: false; remove it from the set's container, or keep the set out of such Pods (its selector)".to_string()
    })
}

/// `validateWindowsHostProcessPod`: a Pod's containers are all HostProcess
/// containers or none, and a container's hostProcess agrees with the Pod's.
fn host_process(context: Option<&Map<String, Value>>, side: PodSide) -> Option<String> {
    let own = host_process_in(context);
    if let (Some(pod), Some(own)) = (side.pod_host_process, own)
        && pod != own
    {
        return Some(format!(
            "sets securityContext.windowsOptions.hostProcess: {own} and the Pod's spec.securityContext.windowsOptions.hostProcess is {pod}, which the API server refuses (they must agree); remove it from the set's container, or keep the set out of such Pods (its selector)"
        ));
    }
    let effective = own.or(side.pod_host_process).unwrap_or(false);
    let others = side.host_process?;
    (effective != others).then(|| {
        format!(
            "{} a HostProcess container and the Pod's containers {}, which the API server refuses (a Pod's containers are all HostProcess containers or none: securityContext.windowsOptions.hostProcess); keep the set out of {} Pods (its selector)",
            if effective { "is" } else { "is not" },
            if others { "are" } else { "are not" },
            if others { "HostProcess" } else { "such" },
        )
    })
}

/// The container securityContext fields the API server refuses in a
/// Windows Pod (`validateWindows`): Pod Security exempts Windows Pods from
/// the controls they serve (v1.25 on).
const WINDOWS_FORBIDDEN: [&str; 10] = [
    "appArmorProfile",
    "seLinuxOptions",
    "seccompProfile",
    "capabilities",
    "readOnlyRootFilesystem",
    "privileged",
    "allowPrivilegeEscalation",
    "procMount",
    "runAsUser",
    "runAsGroup",
];

/// `validateWindows`, `validateLinux`: the securityContext fields of
/// `entry` the API server refuses in a Pod of that OS (`spec.os.name`):
/// Windows, the Linux-only ones; Linux, `windowsOptions`. Nothing for a Pod
/// that names no OS.
pub fn os_fields(entry: &Map<String, Value>, os: Option<&str>) -> Option<String> {
    let Some(Value::Object(sc)) = entry.get("securityContext") else {
        return None;
    };
    let refused = |key: &str| match os {
        Some("windows") => WINDOWS_FORBIDDEN.contains(&key),
        Some("linux") => key == "windowsOptions",
        _ => false,
    };
    let fields: Vec<&str> = sc
        .iter()
        .filter(|(key, value)| !value.is_null() && refused(key))
        .map(|(key, _)| key.as_str())
        .collect();
    (!fields.is_empty()).then(|| {
        format!(
            "sets securityContext.{}, which the API server refuses in a Pod with spec.os.name: {}; remove it from the set's container, or keep the set out of such Pods (its selector)",
            fields.join(", securityContext."),
            os.unwrap_or_default()
        )
    })
}

/// `validateSleepAction`: a hook's sleep within the Pod's grace period
/// (`grace`, after any raise).
pub fn hook_sleeps(entry: &Map<String, Value>, grace: u32) -> Option<String> {
    // Most containers have no lifecycle: looked up by key, no pointer to
    // format and parse.
    let lifecycle = entry.get("lifecycle").and_then(Value::as_object)?;
    lifecycle.iter().find_map(|(hook, handler)| {
        let seconds = handler
            .get("sleep")
            .and_then(|sleep| sleep.get("seconds"))
            .and_then(Value::as_u64)
            .filter(|s| *s > u64::from(grace))?;
        Some(format!(
            "has lifecycle.{hook}.sleep.seconds {seconds}, above the Pod's terminationGracePeriodSeconds {grace}, which the API server refuses; raise the Pod's grace period, or shorten the sleep in the set"
        ))
    })
}

/// `validateSeccompAnnotationsAndFieldsMatch`,
/// `validateAppArmorAnnotationsAndFieldsMatchOnCreate`: a Pod's deprecated
/// per-container profile annotation is applied to, and checked against,
/// the container it names. A sidecar's profile is its set's to decide.
pub fn profile_annotation(pod: &PodView, name: &str) -> Option<String> {
    PROFILE_ANNOTATIONS.iter().find_map(|prefix| {
        pod.annotations
            .keys()
            .find(|key| key.strip_prefix(prefix) == Some(name))
            .map(|key| {
                format!(
                    "is named by the Pod's annotation {key}, which the API server applies to that container and checks against its securityContext, and a sidecar's security profile is its set's to decide; remove the annotation from the Pod (its securityContext fields set the app containers' profiles)"
                )
            })
    })
}

#[cfg(test)]
mod tests;
