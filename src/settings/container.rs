//! corev1.Container from the settings, read by hand: the container stays
//! JSON, so that fields this policy does not know reach the Pod unchanged,
//! and this policy's extension keys are taken out with messages that name them.

use serde::Deserialize;
use serde::de::{self, Deserializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::parse::{FIELD_MARK, format_path_error};
use super::read;
use super::*;

/// A corev1.Container from the settings, plus this policy's extension fields.
/// The container is kept as JSON so that fields this policy (or its
/// k8s-openapi version) does not know reach the Pod unchanged.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSpec {
    pub pod_inject_policy: PodInjectPolicy,
    /// Names that must have started (and be ready) before this one starts.
    pub depends_on: Vec<String>,
    /// Containers after this one start only once it is ready.
    pub wait_for_ready: bool,
    /// Budget of the startupProbe derived from the readinessProbe.
    pub ready_timeout_seconds: Option<u32>,
    /// Environment variables copied from the Pod's app containers.
    pub transfer_env: Vec<TransferEnv>,
    /// Also mount every volumeMount of the Pod's app containers.
    pub share_volume_policy: Option<SharePolicy>,
    /// Also attach every volumeDevice of the Pod's app containers.
    pub share_volume_device_policy: Option<SharePolicy>,
    /// OpenKruise's resourcesPolicy: resources computed from the Pod's own
    /// containers when it is created.
    pub resources_policy: Option<ResourcesPolicy>,
    /// What a Pod's resources annotation may set this container's
    /// requests and limits to; without bounds, nothing.
    pub resource_bounds: Option<ResourceBounds>,
    /// `false`: the sidecar's failure must not make the Pod unready (its
    /// readinessProbe is not injected).
    pub critical: bool,
    /// How long a regular (non-native) sidecar keeps running after the Pod
    /// is told to stop (a preStop sleep), for the app's in-flight work.
    pub drain_seconds: Option<u32>,
    /// The corev1.Container, without the extension keys.
    pub spec: Map<String, Value>,
    /// The hash of the container as the settings give it, extension keys
    /// included (see `provenance::value_state`).
    pub hash: u64,
    /// The same without its image: what an in-place upgrade may not change.
    pub base_hash: u64,
}

impl ContainerSpec {
    pub fn name(&self) -> &str {
        self.spec.get("name").and_then(Value::as_str).unwrap_or("")
    }

    pub fn image(&self) -> &str {
        self.spec.get("image").and_then(Value::as_str).unwrap_or("")
    }

    /// The recorded digest of the container without its image (8 hex
    /// digits): names the container that changed when an upgrade is refused.
    pub fn imageless_digest(&self) -> String {
        format!("{:08x}", self.base_hash as u32)
    }

    pub fn restart_policy(&self) -> Option<&str> {
        self.spec.get("restartPolicy").and_then(Value::as_str)
    }

    /// Where the container goes: from the set's `initContainers` (`init`)
    /// or `containers`, when BeforeAppContainer containers are `native`.
    pub fn placement(&self, init: bool, native: bool) -> Placement {
        match (init, self.pod_inject_policy, native) {
            (true, ..) if self.restart_policy() == Some("Always") => Placement::NativeSidecar,
            (true, ..) => Placement::Init,
            (false, PodInjectPolicy::BeforeAppContainer, true) => Placement::NativeSidecar,
            (false, PodInjectPolicy::BeforeAppContainer, false) => Placement::Leading,
            (false, PodInjectPolicy::AfterAppContainer, _) => Placement::Trailing,
        }
    }

    pub(super) fn has(&self, key: &str) -> bool {
        self.spec.get(key).is_some_and(|v| !v.is_null())
    }

    pub(super) fn has_post_start(&self) -> bool {
        self.spec
            .get("lifecycle")
            .and_then(|l| l.get("postStart"))
            .is_some_and(|v| !v.is_null())
    }

    /// The container as it goes into the Pod, placed so.
    pub fn to_pod_container(&self, placement: Placement) -> Value {
        let mut spec = self.spec.clone();
        if placement == Placement::NativeSidecar {
            spec.insert("restartPolicy".into(), Value::String("Always".into()));
            if self.wait_for_ready
                && !self.has("startupProbe")
                && let Some(probe) = self.derived_startup_probe()
            {
                spec.insert("startupProbe".into(), probe);
            }
        }
        // After the startupProbe is derived from it: a non-critical
        // sidecar's readiness must not count toward the Pod's.
        if !self.critical {
            spec.remove("readinessProbe");
        }
        Value::Object(spec)
    }

    /// The readinessProbe's handler, polled every second for the
    /// readyTimeoutSeconds budget: the kubelet starts the next init
    /// container only once it succeeds.
    fn derived_startup_probe(&self) -> Option<Value> {
        let Some(Value::Object(readiness)) = self.spec.get("readinessProbe") else {
            return None;
        };
        let mut probe = Map::new();
        for key in ["exec", "httpGet", "tcpSocket", "grpc", "timeoutSeconds"] {
            if let Some(value) = readiness.get(key) {
                probe.insert(key.into(), value.clone());
            }
        }
        probe.insert("periodSeconds".into(), Value::from(1));
        probe.insert(
            "failureThreshold".into(),
            Value::from(
                self.ready_timeout_seconds
                    .unwrap_or(DEFAULT_READY_TIMEOUT_SECONDS),
            ),
        );
        Some(Value::Object(probe))
    }
}

// The extension fields' readers: each message starts with the path below
// the field (`[0].envName: …`, or `: …` for the field itself).

/// A message at `rel`, a path below the field.
fn at(rel: &str, message: String) -> String {
    format!("{rel}: {message}")
}

/// An optional string field.
fn opt_string(
    fields: &mut Map<String, Value>,
    key: &str,
    rel: &str,
) -> Result<Option<String>, String> {
    match fields.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => read::string(value, &format!("{rel}.{key}")).map(Some),
    }
}

/// transferEnv: OpenKruise's TransferEnvVar entries.
fn transfer_env(value: Value) -> Result<Vec<TransferEnv>, String> {
    let mut entries = Vec::new();
    for (i, item) in read::list(Some(value), "")?.into_iter().enumerate() {
        let rel = format!("[{i}]");
        let known = [
            "sourceContainerName",
            "sourceContainerNameFrom",
            "envName",
            "envNames",
        ];
        let mut fields = read::fields(item, &rel, "TransferEnvVar", &known)?;
        let from = match fields.remove("sourceContainerNameFrom") {
            None | Some(Value::Null) => None,
            Some(from) => {
                let rel = format!("{rel}.sourceContainerNameFrom");
                let mut from = read::fields(from, &rel, "SourceContainerNameFrom", &["fieldRef"])?;
                let field_ref = match from.remove("fieldRef") {
                    None | Some(Value::Null) => None,
                    Some(field_ref) => {
                        let rel = format!("{rel}.fieldRef");
                        let known = ["apiVersion", "fieldPath"];
                        let mut field_ref =
                            read::fields(field_ref, &rel, "ObjectFieldSelector", &known)?;
                        let Some(field_path) = opt_string(&mut field_ref, "fieldPath", &rel)?
                        else {
                            return Err(at(&rel, "missing field `fieldPath`".into()));
                        };
                        Some(ObjectFieldSelector {
                            api_version: opt_string(&mut field_ref, "apiVersion", &rel)?,
                            field_path,
                        })
                    }
                };
                Some(SourceContainerNameFrom { field_ref })
            }
        };
        let mut env_names = Vec::new();
        for (j, name) in read::list(fields.remove("envNames"), &format!("{rel}.envNames"))?
            .into_iter()
            .enumerate()
        {
            env_names.push(read::string(name, &format!("{rel}.envNames[{j}]"))?);
        }
        entries.push(TransferEnv {
            source_container_name: opt_string(&mut fields, "sourceContainerName", &rel)?,
            source_container_name_from: from,
            env_name: opt_string(&mut fields, "envName", &rel)?,
            env_names,
        });
    }
    Ok(entries)
}

/// shareVolumePolicy, shareVolumeDevicePolicy: `{type: enabled}` or
/// `{type: disabled}`.
fn share(spec: &mut Map<String, Value>, key: &str) -> Result<Option<SharePolicy>, String> {
    let value = match spec.remove(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(value) => value,
    };
    let kind = match &value {
        Value::Object(map) if map.keys().all(|k| k == "type") => match map.get("type") {
            None | Some(Value::Null) => Some(ShareType::Disabled),
            Some(kind) => match kind.as_str() {
                Some("enabled") => Some(ShareType::Enabled),
                Some("disabled") => Some(ShareType::Disabled),
                _ => None,
            },
        },
        _ => None,
    };
    match kind {
        Some(kind) => Ok(Some(SharePolicy { kind })),
        None => Err(format!(
            "{FIELD_MARK}{key}: {value} is not {{type: enabled}} or {{type: disabled}}"
        )),
    }
}

/// resourcesPolicy, with the spellings of OpenKruise's proposal as aliases.
/// OpenKruise's per-container `upgradeStrategy`, as a SidecarSet copied
/// from a cluster carries it defaulted: `ColdUpgrade` is what this
/// policy's in-place upgrade does (the container restarts with its new
/// image), so it is accepted and taken out; `HotUpgrade` needs OpenKruise's
/// controller and an empty hot-upgrade image.
fn upgrade_strategy(value: Option<Value>) -> Result<(), String> {
    let unset = |v: Option<&Value>| v.is_none_or(|v| v.is_null() || v.as_str() == Some(""));
    match value {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Object(map)) => {
            if let Some(key) = map
                .keys()
                .find(|k| !matches!(k.as_str(), "upgradeType" | "hotUpgradeEmptyImage"))
            {
                return Err(format!(
                    "{FIELD_MARK}upgradeStrategy.{key}: unknown field; upgradeStrategy has upgradeType (ColdUpgrade) and hotUpgradeEmptyImage"
                ));
            }
            let kind = map.get("upgradeType");
            if !(unset(kind) || kind.and_then(Value::as_str) == Some("ColdUpgrade")) {
                let shown = kind.map(Value::to_string).unwrap_or_default();
                return Err(format!(
                    "{FIELD_MARK}upgradeStrategy.upgradeType: {shown} is not supported: only ColdUpgrade, what this policy's in-place upgrade does (the sidecar restarts with its new image); HotUpgrade needs OpenKruise's controller and an empty hot-upgrade image. Use ColdUpgrade or remove the field"
                ));
            }
            if !unset(map.get("hotUpgradeEmptyImage")) {
                return Err(format!(
                    "{FIELD_MARK}upgradeStrategy.hotUpgradeEmptyImage: goes with HotUpgrade, which this policy does not do; remove it"
                ));
            }
            Ok(())
        }
        Some(other) => Err(format!(
            "{FIELD_MARK}upgradeStrategy: {other} is not a mapping; use {{upgradeType: ColdUpgrade}} or remove it"
        )),
    }
}

fn resources_policy(value: Value) -> Result<ResourcesPolicy, String> {
    let mut value = value;
    if let Value::Object(map) = &mut value {
        for (alias, name) in [
            ("targetContainerMode", "targetContainersMode"),
            ("resourceExpr", "resourcesExpr"),
        ] {
            if let Some(v) = map.remove(alias) {
                map.insert(name.into(), v);
            }
        }
    }
    let known = [
        "targetContainersMode",
        "targetContainersNameRegex",
        "resourcesExpr",
    ];
    let mut fields = read::fields(value, "", "ResourcesPolicy", &known)?;
    let target_containers_mode = match fields.remove("targetContainersMode") {
        None => return Err(at("", "missing field `targetContainersMode`".into())),
        Some(mode) => match mode.as_str() {
            Some("sum") => TargetMode::Sum,
            Some("max") => TargetMode::Max,
            _ => {
                return Err(read::unknown_variant(
                    ".targetContainersMode",
                    &mode,
                    &["sum", "max"],
                ));
            }
        },
    };
    let target_containers_name_regex =
        opt_string(&mut fields, "targetContainersNameRegex", "")?.unwrap_or_else(match_all);
    let Some(expr) = fields.remove("resourcesExpr") else {
        return Err(at("", "missing field `resourcesExpr`".into()));
    };
    let mut expr = read::fields(
        expr,
        ".resourcesExpr",
        "ResourcesExpr",
        &["requests", "limits"],
    )?;
    Ok(ResourcesPolicy {
        target_containers_mode,
        target_containers_name_regex,
        resources_expr: ResourcesExpr {
            requests: read::strings(expr.remove("requests"), ".resourcesExpr.requests")?,
            limits: read::strings(expr.remove("limits"), ".resourcesExpr.limits")?,
        },
    })
}

/// resourceBounds: quantities by resource, as strings or numbers.
fn resource_bounds(value: Value) -> Result<ResourceBounds, String> {
    let mut fields = read::fields(value, "", "ResourceBounds", &["min", "max"])?;
    let mut side = |key: &str| -> Result<BTreeMap<String, QuantityText>, String> {
        let mut map = BTreeMap::new();
        let rel = format!(".{key}");
        match fields.remove(key) {
            None | Some(Value::Null) => {}
            Some(Value::Object(entries)) => {
                for (resource, quantity) in entries {
                    let text = match quantity {
                        Value::String(s) => s,
                        Value::Number(n) => n.to_string(),
                        other => {
                            return Err(at(
                                &format!("{rel}.{resource}"),
                                format!("{other} is not a quantity; write one such as 500m or 1Gi"),
                            ));
                        }
                    };
                    map.insert(resource, QuantityText(text));
                }
            }
            Some(other) => return Err(read::invalid_type(&rel, &other, "a map")),
        }
        Ok(map)
    };
    Ok(ResourceBounds {
        min: side("min")?,
        max: side("max")?,
    })
}

/// Takes the extension key `key`, a number of seconds, out of a container
/// spec; absent or null is None.
fn seconds(spec: &mut Map<String, Value>, key: &str) -> Result<Option<u32>, String> {
    match spec.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => match value.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) if (1..=MAX_SECONDS).contains(&n) => Ok(Some(n)),
            _ => Err(format!(
                "{FIELD_MARK}{key}: {value} is not a whole number of seconds from 1 to {MAX_SECONDS}"
            )),
        },
    }
}

impl<'de> Deserialize<'de> for ContainerSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // The container's JSON as given, read into a map by the payload's
        // own reader: path tracking would allocate a string for every key of
        // the spec, and a message about its corev1 fields comes from
        // validate, with the path, not from here.
        // Owned, so that any serde_json reader can give it (from_value too).
        let raw = <Box<RawValue>>::deserialize(deserializer)?;
        let bytes = raw.get().as_bytes();
        let spec =
            serde_json::from_slice(bytes).map_err(|e| de::Error::custom(inner_error(bytes, e)))?;
        ContainerSpec::from_map(spec).map_err(de::Error::custom)
    }
}

/// The message of an error inside a container spec, with its path below
/// the container (located by `locate.rs`): `args[0][0]…: recursion limit
/// exceeded`.
fn inner_error(bytes: &[u8], error: serde_json::Error) -> String {
    if super::locate::path_of_error(bytes, &error).is_empty() {
        error.to_string()
    } else {
        format!("{FIELD_MARK}{}", format_path_error("", bytes, error))
    }
}

impl ContainerSpec {
    /// Takes this policy's extension keys out of a container spec; errors
    /// name the key (after [`FIELD_MARK`]).
    pub(super) fn from_map(mut spec: Map<String, Value>) -> Result<Self, String> {
        // One walk: the hash without the image, then the image mixed in.
        let (base_hash, image) = crate::provenance::map_state_without(0, &spec, "image");
        let hash = crate::provenance::value_state(
            crate::provenance::mix(base_hash, 0x1a6e),
            image.unwrap_or(&Value::Null),
        );
        // Checked here, not only in validate: a container without a name
        // would make every Pod it goes into unreadable.
        match spec.get("name") {
            Some(Value::String(_)) => {}
            None | Some(Value::Null) => {
                return Err(format!(
                    "{FIELD_MARK}name: required; give the container a name (a DNS-1123 label)"
                ));
            }
            Some(other) => {
                return Err(format!(
                    "{FIELD_MARK}name: {other} is not a string; give the container a name (a DNS-1123 label)"
                ));
            }
        }
        let pod_inject_policy = match spec.remove("podInjectPolicy") {
            None => PodInjectPolicy::default(),
            Some(value) => PodInjectPolicy::deserialize(&value).map_err(|_| {
                format!(
                    "{FIELD_MARK}podInjectPolicy: {value} is not one of BeforeAppContainer, AfterAppContainer"
                )
            })?,
        };
        let depends_on = match spec.remove("dependsOn") {
            None | Some(Value::Null) => Vec::new(),
            Some(value) => match &value {
                Value::Array(items) if items.iter().all(Value::is_string) => items
                    .iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect(),
                _ => {
                    return Err(format!(
                        "{FIELD_MARK}dependsOn: {value} is not a list of container names, such as [envoy]"
                    ));
                }
            },
        };
        let wait_for_ready = match spec.remove("waitForReady") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => b,
            Some(value) => {
                return Err(format!(
                    "{FIELD_MARK}waitForReady: {value} is not a boolean; use true or false"
                ));
            }
        };
        let ready_timeout_seconds = seconds(&mut spec, "readyTimeoutSeconds")?;
        // 0 is none: what a form (Rancher's) writes for an empty number.
        let drain_seconds = match spec.get("drainSeconds") {
            Some(Value::Number(n)) if n.as_u64() == Some(0) => {
                spec.remove("drainSeconds");
                None
            }
            _ => seconds(&mut spec, "drainSeconds")?,
        };
        let transfer_env = match spec.remove("transferEnv") {
            None | Some(Value::Null) => Vec::new(),
            Some(value) => transfer_env(value).map_err(|e| {
                format!("{FIELD_MARK}transferEnv{e}; each entry takes sourceContainerName (or sourceContainerNameFrom.fieldRef.fieldPath) and envName or envNames")
            })?,
        };
        let share_volume_policy = share(&mut spec, "shareVolumePolicy")?;
        let share_volume_device_policy = share(&mut spec, "shareVolumeDevicePolicy")?;
        let resources_policy = match spec.remove("resourcesPolicy") {
            None | Some(Value::Null) => None,
            Some(value) => Some(resources_policy(value).map_err(|e| {
                format!("{FIELD_MARK}resourcesPolicy{e}; resourcesPolicy takes targetContainersMode (sum or max), targetContainersNameRegex and resourcesExpr (requests and limits: cpu and memory expressions)")
            })?),
        };
        let resource_bounds = match spec.remove("resourceBounds") {
            None | Some(Value::Null) => None,
            Some(value) => Some(resource_bounds(value).map_err(|e| {
                format!("{FIELD_MARK}resourceBounds{e}; resourceBounds takes min and max, each with quantities by resource, such as {{cpu: 10m, memory: 32Mi}}")
            })?),
        };
        upgrade_strategy(spec.remove("upgradeStrategy"))?;
        let critical = match spec.remove("critical") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => b,
            Some(value) => {
                return Err(format!(
                    "{FIELD_MARK}critical: {value} is not a boolean; use true or false"
                ));
            }
        };
        Ok(ContainerSpec {
            drain_seconds,
            resources_policy,
            resource_bounds,
            critical,
            pod_inject_policy,
            depends_on,
            wait_for_ready,
            ready_timeout_seconds,
            transfer_env,
            share_volume_policy,
            share_volume_device_policy,
            spec,
            hash,
            base_hash,
        })
    }
}
