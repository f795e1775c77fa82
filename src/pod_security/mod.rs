//! Pod Security admission, judged before the API server judges it: the
//! levels a Namespace's `pod-security.kubernetes.io/*` labels set, what
//! each sidecar set adds to a Pod judged against them, the restricted
//! defaults a set may ask for, and the level a set meets on its own.
//!
//! The Pod's own violations are its author's: the API server reports them.
//! Only what a set adds (its containers, volumes, annotations) is judged
//! here, in the Pod's context (see [`standard`]).

pub mod standard;

use serde_json::{Map, Value};

pub use standard::{LATEST, Level, OLDEST_MODELLED, Subject, Version, Violation};

use crate::namespace::{Labels, Namespace};
use crate::order::Placement;
use crate::pod::PodView;
use crate::selector::Applying;
use crate::settings::{ContainerSpec, PatchPolicy, Settings, SidecarSet};

/// A set's `podSecurity`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SetPodSecurity {
    /// The level the set declares it meets on its own: checked by
    /// `validate_settings`.
    pub level: Option<Level>,
    pub on_violation: OnViolation,
    /// Fill what the set's containers leave unset with the restricted
    /// profile's values.
    pub defaults: bool,
}

/// What happens to a set that would make a Pod fail its Namespace's
/// enforced level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnViolation {
    /// Reject the Pod, naming the set, its container and the control.
    #[default]
    Reject,
    /// Inject nothing of the set, with a warning (never a mandatory set).
    Skip,
}

impl SetPodSecurity {
    /// Reads a set's `podSecurity` (at `at`), by hand: derived enums would
    /// add their deserializers to the module twice.
    pub fn read(value: Option<Value>, at: &str) -> Result<SetPodSecurity, String> {
        let mut read = SetPodSecurity::default();
        let give = "level, onViolation or defaults";
        let Some((fields, path)) = crate::settings::read::block(value, at, "podSecurity", give)?
        else {
            return Ok(read);
        };
        for (key, value) in &fields {
            let known = ["level", "onViolation", "defaults"];
            crate::settings::read::known(key, &path, "podSecurity", &known)?;
            let bad = |expected: &str| format!("{path}.{key}: {value} is not {expected}");
            match (key.as_str(), value.as_str()) {
                // Null, or what a form (Rancher's) writes for a question
                // left empty: unset.
                (_, None) if value.is_null() => {}
                (_, Some("")) => {}
                ("level", Some("privileged")) => read.level = Some(Level::Privileged),
                ("level", Some("baseline")) => read.level = Some(Level::Baseline),
                ("level", Some("restricted")) => read.level = Some(Level::Restricted),
                ("level", _) => return Err(bad("privileged, baseline or restricted")),
                ("onViolation", Some("reject")) => read.on_violation = OnViolation::Reject,
                ("onViolation", Some("skip")) => read.on_violation = OnViolation::Skip,
                ("onViolation", _) => return Err(bad("reject or skip")),
                ("defaults", Some("restricted")) => read.defaults = true,
                _ => return Err(bad("restricted (the one profile with defaults)")),
            }
        }
        Ok(read)
    }
}

const LABEL_PREFIX: &str = "pod-security.kubernetes.io/";

/// A Namespace's Pod Security level for one mode (`enforce`, `warn`).
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub level: Level,
    pub version: Version,
    /// As the API server names it: `restricted:latest`, `baseline:v1.30`.
    pub label: String,
}

/// The policy a Namespace's labels set for `mode`, as the API server reads
/// them: no label (or `privileged`) checks nothing, an unknown level is
/// `restricted` and an unknown version `latest`. A version older than
/// those modelled is judged as `latest`, with a note in `notes`.
pub fn namespace_policy(
    labels: &Labels,
    mode: &str,
    namespace: &str,
    notes: &mut Vec<String>,
) -> Option<Policy> {
    let label = |suffix: &str| {
        labels
            .get(&format!("{LABEL_PREFIX}{mode}{suffix}"))
            .and_then(Value::as_str)
    };
    let level = match label("")? {
        "privileged" => return None,
        "baseline" => Level::Baseline,
        _ => Level::Restricted,
    };
    let text = label("-version").unwrap_or("latest");
    let minor = minor_version(text);
    let version = match minor {
        Some(m) if m < OLDEST_MODELLED => {
            notes.push(format!(
                "Namespace {namespace:?} sets {LABEL_PREFIX}{mode}-version {text}: this policy models Pod Security from v1.{OLDEST_MODELLED} on and judges the sidecars by latest, which the API server's {text} may judge differently"
            ));
            LATEST
        }
        Some(m) => m.min(LATEST),
        None => LATEST,
    };
    let shown = if minor.is_some() { text } else { "latest" };
    Some(Policy {
        level,
        version,
        label: format!("{}:{shown}", level.name()),
    })
}

/// The minor of a `-version` label as Pod Security parses it
/// (`^v1\.(0|[1-9][0-9]*)$`): `v1.025` or `v1.+25` is no version, which the
/// API server evaluates as `latest`.
fn minor_version(text: &str) -> Option<Version> {
    let digits = text.strip_prefix("v1.")?;
    let canonical = digits == "0"
        || (!digits.starts_with('0')
            && !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit()));
    canonical.then(|| digits.parse().ok()).flatten()
}

/// What a Pod's spec says that changes which securityContext fields a
/// sidecar may carry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PodContext {
    /// `runAsUser: 0` at the Pod's level.
    pub runs_as_root: bool,
    /// `spec.os.name: windows`.
    pub windows: bool,
}

impl PodContext {
    pub fn of(spec: &Map<String, Value>) -> PodContext {
        PodContext {
            runs_as_root: runs_as_root(spec),
            windows: spec
                .get("os")
                .and_then(|os| os.get("name"))
                .and_then(Value::as_str)
                == Some("windows"),
        }
    }
}

/// Whether `container` is privileged (`securityContext.privileged: true`),
/// as mount propagation and the restricted defaults read it.
pub fn is_privileged(container: &Map<String, Value>) -> bool {
    container
        .get("securityContext")
        .and_then(|sc| sc.get("privileged"))
        == Some(&Value::Bool(true))
}

/// Fills what a container leaves unset with the restricted profile's
/// values. What the container sets stays, and nothing is claimed that it
/// could not honour: a privileged container gets nothing,
/// `allowPrivilegeEscalation` stays unset beside `SYS_ADMIN` (the API
/// server refuses `false` there), and `runAsNonRoot` beside a root user
/// (the container's, or the Pod's, `pod_root`) where the kubelet would
/// refuse to start it. In a Windows Pod only `runAsNonRoot`: the API server
/// refuses the others there, and Pod Security does not ask for them.
/// A null, at any depth, is unset (what an empty Helm value renders).
pub fn fill_restricted(container: &mut Map<String, Value>, pod: PodContext) {
    let slot = container.entry("securityContext").or_insert(Value::Null);
    if slot.is_null() {
        *slot = Value::Object(Map::new());
    }
    let Some(sc) = slot.as_object_mut() else {
        return;
    };
    if sc.get("privileged") == Some(&Value::Bool(true)) {
        return;
    }
    let add = sc.get("capabilities").and_then(|c| c.get("add"));
    let adds_sys_admin = add.and_then(Value::as_array).is_some_and(|add| {
        add.iter()
            .any(|c| matches!(c.as_str(), Some("SYS_ADMIN" | "CAP_SYS_ADMIN")))
    });
    let root = match sc.get("runAsUser").and_then(Value::as_i64) {
        Some(user) => user == 0,
        None => pod.runs_as_root,
    };
    let linux = !pod.windows;
    let one = |key: &str, value: Value| {
        let mut map = Map::new();
        map.insert(key.into(), value);
        Value::Object(map)
    };
    let defaults = [
        (
            "allowPrivilegeEscalation",
            (linux && !adds_sys_admin).then_some(Value::Bool(false)),
        ),
        (
            "capabilities",
            linux.then(|| one("drop", Value::Array(vec!["ALL".into()]))),
        ),
        ("runAsNonRoot", (!root).then_some(Value::Bool(true))),
        (
            "seccompProfile",
            linux.then(|| one("type", "RuntimeDefault".into())),
        ),
    ];
    for (key, value) in defaults {
        let Some(value) = value else {
            continue;
        };
        match sc.get_mut(key) {
            None | Some(Value::Null) => {
                sc.insert(key.into(), value);
            }
            // capabilities with add only: drop ALL beside it.
            Some(Value::Object(set)) => {
                if let Value::Object(value) = value {
                    for (k, v) in value {
                        let slot = set.entry(k).or_insert(Value::Null);
                        if slot.is_null() {
                            *slot = v;
                        }
                    }
                }
            }
            Some(_) => {}
        }
    }
}

/// Whether a Pod spec's own `securityContext.runAsUser` is 0.
pub fn runs_as_root(spec: &Map<String, Value>) -> bool {
    spec.get("securityContext")
        .and_then(|sc| sc.get("runAsUser"))
        .and_then(Value::as_i64)
        == Some(0)
}

impl SidecarSet {
    /// `container` as it goes into a Pod, placed so, with the set's
    /// Pod Security defaults for a Pod such as `pod`.
    pub fn pod_container(
        &self,
        container: &ContainerSpec,
        placement: Placement,
        pod: PodContext,
    ) -> Value {
        let mut entry = container.to_pod_container(placement);
        if self.pod_security.defaults
            && let Some(map) = entry.as_object_mut()
        {
            fill_restricted(map, pod);
        }
        entry
    }
}

/// What `set` adds to a Pod, judged by `judge`: its entries, the volumes
/// the Pod does not have yet, and the annotations it would write; in the
/// context of the Pod's spec (none: on its own).
fn judge_set(
    set: &SidecarSet,
    native: bool,
    pod: Option<&PodView>,
    judge: &mut dyn FnMut(&Subject),
) {
    // The set's containers as they go in, where that changes them (the
    // defaults; a non-critical one loses its readinessProbe); else as
    // written, without a copy. Judged as if the Pod did not run as root: a
    // runAsNonRoot the defaults leave out for a root Pod is the Pod's
    // violation (the API server names the Pod's runAsUser), not the set's.
    let context = PodContext {
        runs_as_root: false,
        windows: pod.is_some_and(|p| PodContext::of(p.spec).windows),
    };
    let made: Vec<Option<Value>> = set
        .items(native)
        .map(|(c, placement)| {
            (set.pod_security.defaults || !c.critical)
                .then(|| set.pod_container(c, placement, context))
        })
        .collect();
    let mut subject = Subject {
        pod: pod.map(|p| p.spec),
        ..Subject::default()
    };
    for ((c, _), made) in set.items(native).zip(&made) {
        subject.containers.extend(match made {
            Some(entry) => entry.as_object(),
            None => Some(&c.spec),
        });
    }
    for volume in &set.volumes {
        let name = volume.get("name").and_then(Value::as_str);
        if !pod.is_some_and(|p| p.volumes.iter().any(|v| Some(v.name) == name)) {
            subject.volumes.push(volume);
        }
    }
    for patch in &set.patch_pod_metadata {
        for (key, value) in &patch.annotations {
            let written = patch.patch_policy == PatchPolicy::Overwrite
                || !pod.is_some_and(|p| p.annotations.contains_key(key.as_str()));
            if written {
                subject.annotations.push((key, value));
            }
        }
    }
    judge(&subject);
}

/// What `set` adds to a Pod (see [`judge_set`]) against `level` at
/// `version`.
pub fn set_violations(
    set: &SidecarSet,
    native: bool,
    pod: Option<&PodView>,
    level: Level,
    version: Version,
) -> Vec<Violation> {
    let mut violations = Vec::new();
    judge_set(set, native, pod, &mut |s| {
        violations = standard::evaluate(s, level, version);
    });
    violations
}

/// The violations as the API server lists them: `reason (detail), …`.
pub fn listed(violations: &[Violation]) -> String {
    let mut out = String::new();
    for (i, v) in violations.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&v.to_string());
    }
    out
}

/// The level `set` meets on its own (no Pod around it), for `explain`:
/// `… meets Pod Security baseline on its own (not restricted:
/// allowPrivilegeEscalation != false, …)`.
pub fn describe(set: &SidecarSet, native: bool) -> String {
    let mut best = (Level::Restricted, Vec::new());
    judge_set(set, native, None, &mut |s| best = standard::best_level(s));
    let (level, missing) = best;
    let mut text = format!(
        "sidecar set {} meets Pod Security {} on its own",
        set.name,
        level.name()
    );
    if let Some(next) = match level {
        Level::Privileged => Some(Level::Baseline),
        Level::Baseline => Some(Level::Restricted),
        Level::Restricted => None,
    } {
        text.push_str(" (not ");
        text.push_str(next.name());
        for (i, v) in missing.iter().enumerate() {
            text.push_str(if i == 0 { ": " } else { ", " });
            text.push_str(&v.reason);
        }
        text.push(')');
    }
    text
}

/// Judges what each set of `to_inject` adds against the Pod's Namespace's
/// Pod Security labels: a set that breaks the enforced level rejects the
/// Pod (or, `onViolation: skip`, is left out: its name is returned); one
/// that breaks the `warn` level adds a warning. A Namespace that cannot be
/// read steps the check aside, with a warning: the API server still
/// enforces.
pub fn admit(
    to_inject: &[Applying],
    pod: &PodView,
    settings: &Settings,
    namespace: &mut Namespace,
    warnings: &mut Vec<String>,
) -> Result<Vec<String>, String> {
    if !settings.check_pod_security || to_inject.is_empty() || !namespace.has_host() {
        return Ok(Vec::new());
    }
    let name = namespace.name;
    let labels = match namespace.labels() {
        Ok(labels) => labels,
        Err(reason) => {
            warnings.push(format!(
                "Pod Security not checked before the API server: Namespace {name:?} could not be read ({reason}); the API server still enforces its level. Grant the policy v1/Namespace (contextAwareResources) or set checkPodSecurity: false"
            ));
            return Ok(Vec::new());
        }
    };
    let enforce = namespace_policy(labels, "enforce", name, warnings);
    let warn = namespace_policy(labels, "warn", name, warnings);
    if enforce.is_none() && warn.is_none() {
        return Ok(Vec::new());
    }
    let mut skipped = Vec::new();
    let mut problems = Vec::new();
    for a in to_inject {
        let set = a.set;
        // Built once, judged at both levels.
        let (mut enforced, mut warned) = (Vec::new(), Vec::new());
        judge_set(set, a.native, Some(pod), &mut |s| {
            let at = |p: &Policy| standard::evaluate(s, p.level, p.version);
            enforced = enforce.as_ref().map(at).unwrap_or_default();
            warned = warn.as_ref().map(at).unwrap_or_default();
        });
        if let Some(policy) = enforce.as_ref().filter(|_| !enforced.is_empty()) {
            let found = format!(
                "sidecar set {} would make the Pod violate PodSecurity {:?} of Namespace {name:?}: {}",
                set.name,
                policy.label,
                listed(&enforced)
            );
            if set.pod_security.on_violation == OnViolation::Skip && !set.mandatory {
                warnings.push(format!(
                    "{found}; not injected (podSecurity.onViolation: skip)"
                ));
                skipped.push(set.name.clone());
            } else {
                problems.push(format!("{found}; {}", fix(set)));
            }
            continue;
        }
        if let Some(policy) = warn.as_ref().filter(|_| !warned.is_empty()) {
            warnings.push(format!(
                "sidecar set {} makes the Pod violate PodSecurity {:?}, which Namespace {name:?} warns about: {}",
                set.name,
                policy.label,
                listed(&warned)
            ));
        }
    }
    if problems.is_empty() {
        Ok(skipped)
    } else {
        Err(problems.join("; "))
    }
}

/// What to change in a set that breaks a Namespace's level.
fn fix(set: &SidecarSet) -> String {
    let defaults = if !set.pod_security.defaults {
        " (podSecurity.defaults: restricted fills what they leave unset)"
    } else {
        ""
    };
    let skip = if set.mandatory {
        "; a mandatory set is never skipped"
    } else {
        ", or set its podSecurity.onViolation: skip to leave it out of such Pods"
    };
    format!("change the set's containers and volumes as the details say{defaults}{skip}")
}

#[cfg(test)]
mod tests;
