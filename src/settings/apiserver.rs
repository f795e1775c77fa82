//! What the API server refuses in any Pod (`ValidatePodCreate`,
//! pkg/apis/core/validation), found in a set's containers, volumes and
//! `appContainers` when the settings are loaded: a set that would break
//! every Pod it applies to never loads. The rules that depend on the Pod
//! (its OS, grace period, the author's mounts and devices) are checked at
//! admission. The schema check has the types; these are the values.

use serde_json::{Map, Value};

use crate::mount_path::clean;
use crate::resources::quantity::Amount;

/// Problems are pushed as `{path}: {what}; {what to do}`.
type Problems<'e> = &'e mut Vec<String>;

fn text<'v>(map: &'v Map<String, Value>, key: &str) -> Option<&'v str> {
    map.get(key).and_then(Value::as_str)
}

fn entries<'v>(
    map: &'v Map<String, Value>,
    key: &str,
) -> impl Iterator<Item = (usize, &'v Map<String, Value>)> {
    crate::pod::list(map, key)
        .iter()
        .filter_map(Value::as_object)
        .enumerate()
}

/// Whether `item` is not in `seen` yet, which it joins. A container's
/// lists are a handful of entries: a scan is smaller than a set.
fn first<T: PartialEq>(seen: &mut Vec<T>, item: T) -> bool {
    let new = !seen.contains(&item);
    if new {
        seen.push(item);
    }
    new
}

/// The keys of `map` that are set (not null) among `one_of`.
fn set_among<'k>(map: &Map<String, Value>, one_of: &[&'k str]) -> Vec<&'k str> {
    one_of
        .iter()
        .copied()
        .filter(|k| map.get(*k).is_some_and(|v| !v.is_null()))
        .collect()
}

/// Exactly one of `one_of` (`validateHandler`, `validateVolumeSource`,
/// `validateEnvVarValueFrom`).
fn exactly_one(map: &Map<String, Value>, one_of: &[&str], at: &str, errors: Problems) {
    let set = set_among(map, one_of);
    if set.len() != 1 {
        errors.push(format!(
            "{at}: {} set; the API server takes exactly one of {}",
            if set.is_empty() {
                "none".to_string()
            } else {
                set.join(", ")
            },
            one_of.join(", ")
        ));
    }
}

/// Kubernetes' environment variable name rule before
/// RelaxedEnvironmentVariableValidation (`validateEnvVarName`): the one
/// every supported version accepts.
fn env_name_problem(name: &str) -> bool {
    let mut bytes = name.bytes();
    let first = bytes.next();
    !first.is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b'-' || b == b'.')
        || !bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

const NAME_RULE: &str = "letters, digits, '_', '-' and '.', not starting with a digit (the rule of API servers before v1.32)";

/// `env` (`ValidateEnv`) and `envFrom` (`ValidateEnvFrom`) entries.
pub fn env_problems(container: &Map<String, Value>, at: &str, errors: Problems) {
    for (i, var) in entries(container, "env") {
        let at = format!("{at}.env[{i}]");
        let name = text(var, "name").unwrap_or_default();
        if env_name_problem(name) {
            errors.push(format!(
                "{at}.name: {name:?} is not a variable name; use {NAME_RULE}"
            ));
        }
        let Some(Value::Object(from)) = var.get("valueFrom") else {
            continue;
        };
        if text(var, "value").is_some_and(|v| !v.is_empty()) {
            errors.push(format!("{at}: value and valueFrom are both set; give one"));
        }
        let sources = [
            "fieldRef",
            "resourceFieldRef",
            "configMapKeyRef",
            "secretKeyRef",
        ];
        exactly_one(from, &sources, &format!("{at}.valueFrom"), errors);
    }
    for (i, source) in entries(container, "envFrom") {
        let at = format!("{at}.envFrom[{i}]");
        exactly_one(source, &["configMapRef", "secretRef"], &at, errors);
        if let Some(prefix) =
            text(source, "prefix").filter(|p| !p.is_empty() && env_name_problem(p))
        {
            errors.push(format!(
                "{at}.prefix: {prefix:?} cannot begin a variable name; use {NAME_RULE}"
            ));
        }
    }
}

/// `volumeMounts` (`ValidateVolumeMounts`, `validateMountPropagation`,
/// `validateLocalDescendingPath`) and `volumeDevices`
/// (`ValidateVolumeDevices`); paths compared cleaned. `privileged`: None
/// for the app containers, whose privilege is the Pod's (checked at
/// admission).
pub fn mount_problems(
    container: &Map<String, Value>,
    at: &str,
    privileged: Option<bool>,
    errors: Problems,
) {
    let mut devices = Vec::new();
    for (i, device) in entries(container, "volumeDevices") {
        let path = clean(text(device, "devicePath").unwrap_or_default());
        if !first(&mut devices, path) {
            errors.push(format!(
                "{at}.volumeDevices[{i}].devicePath: used twice; give each device its own path"
            ));
        }
    }
    let mut paths = Vec::new();
    for (i, mount) in entries(container, "volumeMounts") {
        let at = format!("{at}.volumeMounts[{i}]");
        let raw = text(mount, "mountPath").unwrap_or_default();
        let path = clean(raw);
        if raw.is_empty() {
            errors.push(format!(
                "{at}.mountPath: required; give the directory to mount at"
            ));
        } else if devices.contains(&path) {
            errors.push(format!("{at}.mountPath: {raw:?} is also a volumeDevices path; the API server refuses a mount there"));
        } else if !first(&mut paths, path) {
            errors.push(format!("{at}.mountPath: {raw:?} names a directory mounted already (paths are compared as the kernel resolves them); mount each directory once"));
        }
        let sub = ["subPath", "subPathExpr"];
        if sub
            .iter()
            .all(|k| text(mount, k).is_some_and(|v| !v.is_empty()))
        {
            errors.push(format!(
                "{at}: subPath and subPathExpr are both set; give one"
            ));
        }
        for key in sub {
            let Some(sub_path) = text(mount, key).filter(|p| !p.is_empty()) else {
                continue;
            };
            if sub_path.starts_with('/') || sub_path.split(['/', '\\']).any(|part| part == "..") {
                errors.push(format!(
                    "{at}.{key}: {sub_path:?} must be a relative path without '..'"
                ));
            }
        }
        let propagation = text(mount, "mountPropagation");
        match propagation {
            None | Some("None" | "HostToContainer") => {}
            Some("Bidirectional") => {
                if privileged == Some(false) {
                    errors.push(format!("{at}.mountPropagation: Bidirectional is allowed only in a privileged container (securityContext.privileged: true); use HostToContainer, or make the container privileged"));
                }
            }
            Some(other) => errors.push(format!(
                "{at}.mountPropagation: {other:?} is not None, HostToContainer or Bidirectional"
            )),
        }
        match text(mount, "recursiveReadOnly") {
            None | Some("Disabled") => {}
            Some(value @ ("Enabled" | "IfPossible")) => {
                if mount.get("readOnly") != Some(&Value::Bool(true)) {
                    errors.push(format!("{at}.recursiveReadOnly: {value} needs readOnly: true; add it, or remove recursiveReadOnly"));
                }
                if propagation.is_some_and(|p| p != "None") {
                    errors.push(format!(
                        "{at}.recursiveReadOnly: {value} needs mountPropagation None or unset"
                    ));
                }
            }
            Some(other) => errors.push(format!(
                "{at}.recursiveReadOnly: {other:?} is not Disabled, Enabled or IfPossible"
            )),
        }
    }
}

/// A quantity the API server can parse, 0 or more.
fn quantity(value: &Value, at: &str, errors: Problems) -> Option<Amount> {
    let parsed = match value {
        Value::String(s) => Amount::parse(s),
        Value::Number(n) => Amount::parse(&n.to_string()),
        _ => return None,
    };
    match parsed {
        Ok(amount) if amount.is_negative() => {
            errors.push(format!("{at}: {value} is below zero; give 0 or more"));
            None
        }
        Ok(amount) => Some(amount),
        Err(e) => {
            errors.push(format!(
                "{at}: {e}; write a quantity such as 100m, 0.5 or 64Mi"
            ));
            None
        }
    }
}

/// `resources` (`ValidateContainerResourceRequirements`): quantities, and
/// no request above its limit.
fn resources_problems(container: &Map<String, Value>, at: &str, errors: Problems) {
    let Some(Value::Object(resources)) = container.get("resources") else {
        return;
    };
    let read = |field: &str, errors: Problems| -> Vec<(String, Option<Amount>)> {
        let Some(Value::Object(map)) = resources.get(field) else {
            return Vec::new();
        };
        map.iter()
            .map(|(name, value)| {
                (
                    name.clone(),
                    quantity(value, &format!("{at}.resources.{field}.{name}"), errors),
                )
            })
            .collect()
    };
    let limits = read("limits", errors);
    for (name, request) in read("requests", errors) {
        let limit = limits
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, l)| *l);
        if let (Some(request), Some(limit)) = (request, limit)
            && request.compare(limit).is_gt()
        {
            errors.push(format!("{at}.resources.requests.{name}: above its limit; make it at most resources.limits.{name}"));
        }
    }
}

const HANDLERS: [&str; 4] = ["exec", "httpGet", "tcpSocket", "grpc"];
const HOOK_HANDLERS: [&str; 4] = ["exec", "httpGet", "tcpSocket", "sleep"];

/// Probes (`validateProbe`) and hooks (`validateLifecycle`,
/// `validateSleepAction`); an init container that runs to completion takes
/// none (`validateInitContainers`).
fn probe_problems(
    container: &Map<String, Value>,
    at: &str,
    run_to_completion: bool,
    errors: Problems,
) {
    for key in [
        "livenessProbe",
        "readinessProbe",
        "startupProbe",
        "lifecycle",
    ] {
        let Some(Value::Object(value)) = container.get(key) else {
            continue;
        };
        let at = format!("{at}.{key}");
        if run_to_completion {
            errors.push(format!("{at}: an init container that runs to completion takes no {key}; remove it, or make the container a native sidecar (restartPolicy: Always)"));
            continue;
        }
        if key != "lifecycle" {
            exactly_one(value, &HANDLERS, &at, errors);
            let success = value.get("successThreshold").and_then(Value::as_i64);
            if key != "readinessProbe" && success.is_some_and(|s| s != 1) {
                errors.push(format!("{at}.successThreshold: must be 1 for a {key}"));
            }
            continue;
        }
        for hook in ["postStart", "preStop"] {
            let Some(Value::Object(handler)) = value.get(hook) else {
                continue;
            };
            let at = format!("{at}.{hook}");
            exactly_one(handler, &HOOK_HANDLERS, &at, errors);
            let seconds = handler
                .get("sleep")
                .and_then(|s| s.get("seconds"))
                .and_then(Value::as_i64);
            if seconds.is_some_and(|s| s < 1) {
                errors.push(format!(
                    "{at}.sleep.seconds: must be 1 or more (API servers before v1.33 refuse 0)"
                ));
            }
        }
    }
}

/// `validateContainerPorts`: numbers in range, protocol, names unique.
fn port_problems(container: &Map<String, Value>, at: &str, errors: Problems) {
    let mut names = Vec::new();
    for (i, port) in entries(container, "ports") {
        let at = format!("{at}.ports[{i}]");
        let number = |key: &str| port.get(key).and_then(Value::as_i64);
        // Another type, or none, is the schema check's to name.
        if number("containerPort").is_some_and(|p| !(1..=65535).contains(&p)) {
            errors.push(format!(
                "{at}.containerPort: give a port between 1 and 65535"
            ));
        }
        if number("hostPort").is_some_and(|p| !(0..=65535).contains(&p)) {
            errors.push(format!("{at}.hostPort: give a port between 0 and 65535"));
        }
        if text(port, "protocol").is_some_and(|p| !matches!(p, "TCP" | "UDP" | "SCTP")) {
            errors.push(format!("{at}.protocol: give TCP, UDP or SCTP"));
        }
        if let Some(name) = text(port, "name").filter(|n| !n.is_empty()) {
            if !iana_service_name(name) {
                errors.push(format!("{at}.name: {name:?} is not a port name: at most 15 lower case letters, digits and '-', with a letter, no '--', not starting or ending with '-'"));
            } else if !first(&mut names, name) {
                errors.push(format!(
                    "{at}.name: {name:?} is used twice; name each port once"
                ));
            }
        }
    }
}

/// `IsValidPortName`: an IANA service name.
fn iana_service_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    name.len() <= 15
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.iter().any(u8::is_ascii_lowercase)
        && !name.contains("--")
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// `allowPrivilegeEscalation: false` beside `privileged: true` or
/// `CAP_SYS_ADMIN` (`ValidateSecurityContext`).
fn security_problems(container: &Map<String, Value>, at: &str, errors: Problems) {
    let Some(Value::Object(sc)) = container.get("securityContext") else {
        return;
    };
    if sc.get("allowPrivilegeEscalation") != Some(&Value::Bool(false)) {
        return;
    }
    // The exact string, as the API server compares it.
    let sys_admin = sc
        .get("capabilities")
        .and_then(|c| c.get("add"))
        .and_then(Value::as_array)
        .is_some_and(|add| add.iter().any(|c| c.as_str() == Some("CAP_SYS_ADMIN")));
    if sc.get("privileged") == Some(&Value::Bool(true)) || sys_admin {
        errors.push(format!("{at}.securityContext.allowPrivilegeEscalation: false cannot go with privileged: true or CAP_SYS_ADMIN; remove one"));
    }
}

/// What the API server refuses in a set's container, wherever it goes.
pub fn container_problems(
    container: &Map<String, Value>,
    at: &str,
    run_to_completion: bool,
    errors: Problems,
) {
    env_problems(container, at, errors);
    let privileged = crate::pod_security::is_privileged(container);
    mount_problems(container, at, Some(privileged), errors);
    resources_problems(container, at, errors);
    probe_problems(container, at, run_to_completion, errors);
    port_problems(container, at, errors);
    security_problems(container, at, errors);
}

/// `IsQualifiedName` as `ValidateAnnotations` applies it (on the key in
/// lower case): an optional DNS-1123 subdomain prefix and '/', then a name
/// of at most 63 letters, digits, '-', '_' and '.', starting and ending
/// with a letter or digit.
pub fn qualified_name(key: &str) -> bool {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let alnum = |b: Option<&u8>| b.is_some_and(u8::is_ascii_alphanumeric);
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && alnum(name.as_bytes().first())
        && alnum(name.as_bytes().last())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    let subdomain = |p: &str| {
        let p = p.to_ascii_lowercase();
        !p.is_empty()
            && p.len() <= 253
            && p.split('.').all(|label| {
                let bytes = label.as_bytes();
                let lower = |b: Option<&u8>| {
                    b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                };
                lower(bytes.first())
                    && lower(bytes.last())
                    && bytes
                        .iter()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
            })
    };
    name_ok && prefix.is_none_or(subdomain)
}

/// The sources a volume may have (`validateVolumeSource`).
const VOLUME_SOURCES: [&str; 29] = [
    "emptyDir",
    "hostPath",
    "secret",
    "configMap",
    "persistentVolumeClaim",
    "projected",
    "downwardAPI",
    "ephemeral",
    "csi",
    "image",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "gcePersistentDisk",
    "awsElasticBlockStore",
];

/// A set's volume: one source (`validateVolumeSource`), and an emptyDir's
/// sizeLimit a quantity.
pub fn volume_problems(volume: &Map<String, Value>, at: &str, errors: Problems) {
    exactly_one(volume, &VOLUME_SOURCES, at, errors);
    if let Some(limit) = volume.get("emptyDir").and_then(|e| e.get("sizeLimit")) {
        quantity(limit, &format!("{at}.emptyDir.sizeLimit"), errors);
    }
}
