//! The settings schema: a superset of the OpenKruise SidecarSet spec, with the
//! same field names where the meaning is the same.
//!
//! Parsing happens on every `validate` call (policy-server sends the settings
//! with each request), so it only does what serde does cheaply: structure,
//! enums and unknown keys of this policy's own fields. The expensive checks
//! (type-checking the embedded corev1 specs, names, uniqueness) live in
//! [`Settings::validate`], which runs once in `validate_settings`.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::annotations::POLICY_ANNOTATION_PREFIX;
use crate::defaults::normalized_volume;
use crate::order::{Graph, Node};
use crate::schema::Schema;

/// The policy's settings, as given in the `settings` of a ClusterAdmissionPolicy.
/// `S` is how a set is held: parsed, or (`Settings<&RawValue>`, while
/// [`Settings::parse_selected`] picks the sets to parse) as raw JSON.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings<S = SidecarSet> {
    /// Sidecars become native sidecars (initContainers with
    /// `restartPolicy: Always`) unless a set says otherwise.
    #[serde(default = "default_true")]
    pub native_sidecars: bool,
    #[serde(default = "Vec::new")]
    pub sidecar_sets: Vec<S>,
    /// Inject the sets, or only verify that Pods hold them.
    #[serde(default)]
    pub mode: Mode,
    /// How regular-mode sets treat Pods that run to completion.
    #[serde(default)]
    pub job_pods: JobPods,
    /// Report the resulting start order as an AdmissionResponse warning.
    #[serde(default)]
    pub explain: bool,
    /// Pods (and workloads) in these namespaces are never injected or checked.
    #[serde(default = "default_excluded_namespaces")]
    pub excluded_namespaces: Vec<String>,
    /// Pods with `hostNetwork: true` are left alone unless a set says
    /// `hostNetworkPods: inject`: a proxy there would capture the node's traffic.
    #[serde(default = "default_true")]
    pub skip_host_network_pods: bool,
    /// What a set with a namespaceSelector does when the Namespace cannot be read.
    #[serde(default)]
    pub namespace_lookup_failure: LookupFailure,
}

impl<S> Default for Settings<S> {
    fn default() -> Self {
        Settings {
            native_sidecars: true,
            sidecar_sets: Vec::new(),
            mode: Mode::default(),
            job_pods: JobPods::default(),
            explain: false,
            excluded_namespaces: default_excluded_namespaces(),
            skip_host_network_pods: true,
            namespace_lookup_failure: LookupFailure::default(),
        }
    }
}

impl<S> Settings<S> {
    /// The same settings with other sets.
    fn with_sets<T>(self, sidecar_sets: Vec<T>) -> Settings<T> {
        Settings {
            native_sidecars: self.native_sidecars,
            sidecar_sets,
            mode: self.mode,
            job_pods: self.job_pods,
            explain: self.explain,
            excluded_namespaces: self.excluded_namespaces,
            skip_host_network_pods: self.skip_host_network_pods,
            namespace_lookup_failure: self.namespace_lookup_failure,
        }
    }

    /// Whether Pods and workloads in `namespace` are left alone.
    pub fn excludes(&self, namespace: &str) -> bool {
        self.excluded_namespaces.iter().any(|n| n == namespace)
    }

    /// The platform's scope, before any selector: a set with this
    /// `hostNetworkPods` may apply to a Pod in `namespace` (`host_network`:
    /// one with `hostNetwork: true`).
    pub fn scopes(&self, namespace: &str, host_network: bool, set: HostNetworkPods) -> bool {
        let injects_host_network = match set {
            HostNetworkPods::Inject => true,
            HostNetworkPods::Skip => false,
            HostNetworkPods::Unset => !self.skip_host_network_pods,
        };
        !self.excludes(namespace) && (!host_network || injects_host_network)
    }
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum Mode {
    /// Mutate Pods on CREATE.
    #[default]
    Inject,
    /// Never mutate; reject Pods that lack what their sets would inject.
    Verify,
}

/// For Pods with `restartPolicy` Never or OnFailure (Jobs, CronJobs), which a
/// running regular sidecar would keep from ever completing.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum JobPods {
    /// Inject a regular-mode set's BeforeAppContainer sidecars as native ones.
    #[default]
    Native,
    /// Leave such Pods out of regular-mode sets.
    Skip,
    /// Inject as the set says.
    AsConfigured,
}

fn default_true() -> bool {
    true
}

/// The control-plane namespaces, where a sidecar is never wanted.
pub fn default_excluded_namespaces() -> Vec<String> {
    ["kube-system", "kube-public", "kube-node-lease"]
        .map(String::from)
        .to_vec()
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum LookupFailure {
    /// Reject the Pod, naming the Namespace and why it could not be read.
    #[default]
    Reject,
    /// The sets with a namespaceSelector do not apply; the Pod gets a warning.
    Skip,
}

/// A set's choice for Pods with `hostNetwork: true`.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum HostNetworkPods {
    /// As `skipHostNetworkPods` says: absent, null, or what a form
    /// (Rancher's) writes for a question left empty.
    #[default]
    #[serde(rename = "")]
    Unset,
    Skip,
    Inject,
}

/// One sidecar set: what to inject, and into which Pods.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SidecarSet {
    pub name: String,
    /// Pods cannot opt out of a mandatory set.
    #[serde(default)]
    pub mandatory: bool,
    /// Required; an `Option` only so that a missing selector gets our message.
    #[serde(default)]
    pub selector: Option<LabelSelector>,
    #[serde(default)]
    pub namespace: Option<String>,
    /// A metav1.LabelSelector over the labels of the Pod's Namespace, read
    /// through the host (`kubernetes/get_resource`).
    #[serde(default)]
    pub namespace_selector: Option<LabelSelector>,
    /// Overrides `skipHostNetworkPods` for this set.
    #[serde(default, deserialize_with = "null_as_default")]
    pub host_network_pods: HostNetworkPods,
    #[serde(default)]
    pub native_sidecars: Option<bool>,
    #[serde(default)]
    pub init_containers: Vec<ContainerSpec>,
    #[serde(default)]
    pub containers: Vec<ContainerSpec>,
    #[serde(default)]
    pub volumes: Vec<Map<String, Value>>,
    #[serde(default)]
    pub image_pull_secrets: Vec<LocalObjectReference>,
    #[serde(default)]
    pub injection_strategy: InjectionStrategy,
    #[serde(default)]
    pub patch_pod_metadata: Vec<PatchPodMetadata>,
    // OpenKruise fields that need its controller. They are parsed only so
    // that `validate` can explain why they are refused.
    #[serde(default)]
    pub update_strategy: Option<Value>,
    #[serde(default)]
    pub upgrade_strategy: Option<Value>,
    #[serde(default)]
    pub revision_history_limit: Option<Value>,
}

impl SidecarSet {
    /// Whether this set's `BeforeAppContainer` containers become native sidecars.
    pub fn native(&self, settings_default: bool) -> bool {
        self.native_sidecars.unwrap_or(settings_default)
    }

    /// Every container the set injects, in the set's default order (init
    /// containers, then containers), with where it goes when the set's
    /// BeforeAppContainer containers are native (`native`) or not.
    pub fn items(&self, native: bool) -> impl Iterator<Item = (&ContainerSpec, Placement)> {
        let init = self
            .init_containers
            .iter()
            .map(move |c| (c, c.placement(true, native)));
        let containers = self
            .containers
            .iter()
            .map(move |c| (c, c.placement(false, native)));
        init.chain(containers)
    }

    /// Every item, in [`SidecarSet::items`] order, with the names it starts
    /// after: its `dependsOn`, and for a sidecar of `containers` injected as
    /// a native sidecar, the set's run-to-completion init containers (a proxy
    /// starts after its iptables set-up), except one that itself waits for
    /// that sidecar. Borrowed unless an implicit edge is added.
    pub fn items_with_dependencies(
        &self,
        native: bool,
    ) -> impl Iterator<Item = (&ContainerSpec, Placement, Cow<'_, [String]>)> {
        let init = self.init_containers.iter().map(move |c| {
            let placement = c.placement(true, native);
            (c, placement, Cow::Borrowed(c.depends_on.as_slice()))
        });
        let containers = self.containers.iter().map(move |c| {
            let placement = c.placement(false, native);
            let mut after = Cow::Borrowed(c.depends_on.as_slice());
            if placement == Placement::NativeSidecar {
                for init in &self.init_containers {
                    let name = init.name();
                    if init.placement(true, native) == Placement::Init
                        && !after.iter().any(|d| d == name)
                        && !self.waits_for(init, c.name())
                    {
                        after.to_mut().push(name.to_string());
                    }
                }
            }
            (c, placement, after)
        });
        init.chain(containers)
    }

    /// Whether `from` depends on `name`, directly or through this set's items.
    fn waits_for(&self, from: &ContainerSpec, name: &str) -> bool {
        let mut seen: Vec<&str> = Vec::new();
        let mut todo: Vec<&str> = from.depends_on.iter().map(String::as_str).collect();
        while let Some(dep) = todo.pop() {
            if dep == name {
                return true;
            }
            if seen.contains(&dep) {
                continue;
            }
            seen.push(dep);
            let item = self
                .init_containers
                .iter()
                .chain(&self.containers)
                .find(|c| c.name() == dep);
            todo.extend(
                item.into_iter()
                    .flat_map(|c| c.depends_on.iter().map(String::as_str)),
            );
        }
        false
    }

    /// Whether any BeforeAppContainer container of the set is a regular one.
    pub fn has_regular_sidecars(&self, native: bool) -> bool {
        self.items(native).any(|(_, p)| p == Placement::Leading)
    }

    /// A hash of what the set injects (not of its selection fields: retargeting
    /// a set does not make the Pods it already injected stale).
    pub fn definition_hash(&self, native: bool) -> String {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Hashed<'a> {
            native: bool,
            init_containers: &'a [ContainerSpec],
            containers: &'a [ContainerSpec],
            volumes: &'a [Map<String, Value>],
            image_pull_secrets: &'a [LocalObjectReference],
            patch_pod_metadata: &'a [PatchPodMetadata],
        }
        digest(&Hashed {
            native,
            init_containers: &self.init_containers,
            containers: &self.containers,
            volumes: &self.volumes,
            image_pull_secrets: &self.image_pull_secrets,
            patch_pod_metadata: &self.patch_pod_metadata,
        })
    }
}

/// A 64-bit digest of a value's JSON, as 16 hex digits. serde_json sorts
/// object keys (no preserve_order), so equal values digest equally whatever
/// the key order in the YAML.
pub fn digest(value: &impl Serialize) -> String {
    let mut hasher = Fnv1a64::default();
    // Writing into a hasher cannot fail; a serializer error could only come
    // from a non-string map key, which these types cannot hold.
    let _ = serde_json::to_writer(&mut hasher, value);
    format!("{:016x}", hasher.0)
}

/// 64-bit FNV-1a: enough to detect a changed definition, no dependency.
struct Fnv1a64(u64);

impl Default for Fnv1a64 {
    fn default() -> Self {
        Fnv1a64(0xcbf2_9ce4_8422_2325)
    }
}

impl std::io::Write for Fnv1a64 {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for byte in buf {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A metav1.LabelSelector. Unknown keys are refused: a typo such as
/// `matchLabel` would otherwise select every Pod.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelector {
    #[serde(default, deserialize_with = "null_as_default")]
    pub match_labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelectorRequirement {
    pub key: String,
    pub operator: SelectorOperator,
    #[serde(default)]
    pub values: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
pub enum SelectorOperator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LocalObjectReference {
    pub name: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InjectionStrategy {
    #[serde(default)]
    pub paused: bool,
    /// OpenKruise's revision pinning needs its controller: refused by `validate`.
    #[serde(default)]
    pub revision: Option<Value>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchPodMetadata {
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub patch_policy: PatchPolicy,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
pub enum PatchPolicy {
    /// Set the annotation only if the Pod does not have it.
    #[default]
    Retain,
    /// Always set the annotation.
    Overwrite,
    /// RFC 7386 merge of the value into the JSON object the annotation holds.
    MergePatchJson,
}

/// Where an injected container goes in the Pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// `spec.initContainers`, runs to completion.
    Init,
    /// `spec.initContainers` with `restartPolicy: Always`.
    NativeSidecar,
    /// `spec.containers`, before the Pod's own (regular mode).
    Leading,
    /// `spec.containers`, after the Pod's own (AfterAppContainer).
    Trailing,
}

impl Placement {
    /// Start phase: every init container (0) starts before any container
    /// (1, 2), and leading containers come before the app's, trailing after.
    pub fn phase(self) -> u8 {
        match self {
            Placement::Init | Placement::NativeSidecar => 0,
            Placement::Leading => 1,
            Placement::Trailing => 2,
        }
    }

    pub fn in_init_containers(self) -> bool {
        self.phase() == 0
    }

    /// How a message names it.
    pub fn describe(self) -> &'static str {
        match self {
            Placement::Init => "an init container",
            Placement::NativeSidecar => {
                "a native sidecar (an init container with restartPolicy: Always)"
            }
            Placement::Leading => "a regular sidecar in spec.containers (nativeSidecars: false)",
            Placement::Trailing => {
                "a container after the app containers (podInjectPolicy: AfterAppContainer)"
            }
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
pub enum PodInjectPolicy {
    #[default]
    BeforeAppContainer,
    AfterAppContainer,
}

/// The keys this policy adds to corev1.Container. They are removed before the
/// container goes into the Pod.
pub const CONTAINER_EXTENSION_KEYS: &[&str] = &[
    "podInjectPolicy",
    "dependsOn",
    "waitForReady",
    "readyTimeoutSeconds",
    "transferEnv",
    "shareVolumePolicy",
    "shareVolumeDevicePolicy",
];

/// Budget of a startupProbe derived from a readinessProbe, in seconds.
pub const DEFAULT_READY_TIMEOUT_SECONDS: u32 = 120;
/// Upper bound of readyTimeoutSeconds: a day.
const MAX_READY_TIMEOUT_SECONDS: u32 = 86_400;

/// OpenKruise container fields this policy does not implement. Refused rather
/// than passed into the Pod, where Kubernetes would silently drop them.
const UNSUPPORTED_CONTAINER_KEYS: &[&str] = &["upgradeStrategy", "resourcesPolicy"];

/// OpenKruise's TransferEnvVar: environment variables copied, verbatim,
/// from an app container of the Pod into the sidecar.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransferEnv {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_container_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_container_name_from: Option<SourceContainerNameFrom>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env_names: Vec<String>,
}

impl TransferEnv {
    /// envName and envNames together, in that order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.env_name
            .as_deref()
            .into_iter()
            .chain(self.env_names.iter().map(String::as_str))
    }

    /// Where the source container's name comes from.
    pub fn source(&self) -> Option<SourceContainer<'_>> {
        match (
            &self.source_container_name,
            &self.source_container_name_from,
        ) {
            (Some(name), None) => Some(SourceContainer::Named(name)),
            (None, Some(from)) => from
                .field_ref
                .as_ref()
                .and_then(|f| SourceContainer::parse_field_path(&f.field_path)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourceContainerNameFrom {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_ref: Option<ObjectFieldSelector>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectFieldSelector {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    pub field_path: String,
}

/// The app container a transferEnv entry reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceContainer<'a> {
    Named(&'a str),
    /// The value of this Pod label names it.
    Label(&'a str),
    /// The value of this Pod annotation names it.
    Annotation(&'a str),
}

impl<'a> SourceContainer<'a> {
    /// `metadata.labels['k']` or `metadata.annotations['k']`.
    fn parse_field_path(path: &'a str) -> Option<Self> {
        let key = |prefix: &str| {
            path.strip_prefix(prefix)?
                .strip_prefix("['")?
                .strip_suffix("']")
                .filter(|k| !k.is_empty())
        };
        key("metadata.labels")
            .map(SourceContainer::Label)
            .or_else(|| key("metadata.annotations").map(SourceContainer::Annotation))
    }
}

/// OpenKruise's shareVolumePolicy / shareVolumeDevicePolicy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SharePolicy {
    #[serde(rename = "type", default)]
    pub kind: ShareType,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ShareType {
    Enabled,
    #[default]
    Disabled,
}

impl SharePolicy {
    pub fn enabled(&self) -> bool {
        self.kind == ShareType::Enabled
    }
}

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
    /// The corev1.Container, without the extension keys.
    pub spec: Map<String, Value>,
}

impl ContainerSpec {
    pub fn name(&self) -> &str {
        self.spec.get("name").and_then(Value::as_str).unwrap_or("")
    }

    pub fn image(&self) -> &str {
        self.spec.get("image").and_then(Value::as_str).unwrap_or("")
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

    fn has(&self, key: &str) -> bool {
        self.spec.get(key).is_some_and(|v| !v.is_null())
    }

    fn has_post_start(&self) -> bool {
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

/// Takes the extension key `key` out of a container spec and reads it;
/// absent or null is None. `problem` words the error from the value and
/// serde's message, for a message at `key`'s path.
fn take<T: de::DeserializeOwned, E: de::Error>(
    spec: &mut Map<String, Value>,
    key: &str,
    problem: impl Fn(&Value, String) -> String,
) -> Result<Option<T>, E> {
    match spec.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => T::deserialize(&value).map(Some).map_err(|e| {
            E::custom(format!(
                "{FIELD_MARK}{key}: {}",
                problem(&value, e.to_string())
            ))
        }),
    }
}

impl<'de> Deserialize<'de> for ContainerSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut spec = Map::<String, Value>::deserialize(deserializer)?;
        // Checked here, not only in validate: a container without a name
        // would make every Pod it goes into unreadable.
        match spec.get("name") {
            Some(Value::String(_)) => {}
            None | Some(Value::Null) => {
                return Err(de::Error::custom(format!(
                    "{FIELD_MARK}name: required; give the container a name (a DNS-1123 label)"
                )));
            }
            Some(other) => {
                return Err(de::Error::custom(format!(
                    "{FIELD_MARK}name: {other} is not a string; give the container a name (a DNS-1123 label)"
                )));
            }
        }
        let pod_inject_policy = match spec.remove("podInjectPolicy") {
            None => PodInjectPolicy::default(),
            Some(value) => PodInjectPolicy::deserialize(&value).map_err(|_| {
                de::Error::custom(format!(
                    "{FIELD_MARK}podInjectPolicy: {value} is not one of BeforeAppContainer, AfterAppContainer"
                ))
            })?,
        };
        let depends_on = take(&mut spec, "dependsOn", |value, _| {
            format!("{value} is not a list of container names, such as [envoy]")
        })?
        .unwrap_or_default();
        let wait_for_ready = match spec.remove("waitForReady") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => b,
            Some(value) => {
                return Err(de::Error::custom(format!(
                    "{FIELD_MARK}waitForReady: {value} is not a boolean; use true or false"
                )));
            }
        };
        let ready_timeout_seconds = match spec.remove("readyTimeoutSeconds") {
            None | Some(Value::Null) => None,
            Some(value) => match value.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(n) if (1..=MAX_READY_TIMEOUT_SECONDS).contains(&n) => Some(n),
                _ => {
                    return Err(de::Error::custom(format!(
                        "{FIELD_MARK}readyTimeoutSeconds: {value} is not a whole number of seconds from 1 to {MAX_READY_TIMEOUT_SECONDS}"
                    )));
                }
            },
        };
        let transfer_env = take(&mut spec, "transferEnv", |_, e| {
            format!("{e}; each entry takes sourceContainerName (or sourceContainerNameFrom.fieldRef.fieldPath) and envName or envNames")
        })?
        .unwrap_or_default();
        let share =
            |value: &Value, _| format!("{value} is not {{type: enabled}} or {{type: disabled}}");
        let share_volume_policy = take(&mut spec, "shareVolumePolicy", share)?;
        let share_volume_device_policy = take(&mut spec, "shareVolumeDevicePolicy", share)?;
        Ok(ContainerSpec {
            pod_inject_policy,
            depends_on,
            wait_for_ready,
            ready_timeout_seconds,
            transfer_env,
            share_volume_policy,
            share_volume_device_policy,
            spec,
        })
    }
}

impl Serialize for ContainerSpec {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("podInjectPolicy", &self.pod_inject_policy)?;
        // Only when set, so that hashes of sets without them stay as they were.
        if !self.depends_on.is_empty() {
            map.serialize_entry("dependsOn", &self.depends_on)?;
        }
        if self.wait_for_ready {
            map.serialize_entry("waitForReady", &true)?;
        }
        if let Some(seconds) = self.ready_timeout_seconds {
            map.serialize_entry("readyTimeoutSeconds", &seconds)?;
        }
        if !self.transfer_env.is_empty() {
            map.serialize_entry("transferEnv", &self.transfer_env)?;
        }
        if let Some(policy) = &self.share_volume_policy {
            map.serialize_entry("shareVolumePolicy", policy)?;
        }
        if let Some(policy) = &self.share_volume_device_policy {
            map.serialize_entry("shareVolumeDevicePolicy", policy)?;
        }
        for (key, value) in &self.spec {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// A custom deserialization message that starts with this mark names a field
/// below the path serde_path_to_error reports; see [`format_path_error`].
const FIELD_MARK: &str = "\u{1}";

/// Longest field path a message shows.
const MAX_PATH_LEN: usize = 120;

fn format_path_error(prefix: &str, error: serde_path_to_error::Error<serde_json::Error>) -> String {
    let path = error.path().to_string();
    let mut message = error.inner().to_string();
    // serde_json appends " at line L column C": meaningless to a user who
    // wrote YAML in a ClusterAdmissionPolicy.
    if let Some(at) = message.rfind(" at line ") {
        message.truncate(at);
    }
    let mut full_path = String::from(prefix);
    if path != "." {
        if !full_path.is_empty() && !path.starts_with('[') {
            full_path.push('.');
        }
        full_path.push_str(&path);
    }
    // A path into deeply nested input (past the recursion limit) would be
    // hundreds of `[0]`s long: keep its head.
    if full_path.len() > MAX_PATH_LEN {
        // At the last segment start that fits, else the last character that
        // fits: a key may hold multi-byte characters (found by fuzzing).
        let fitting = full_path
            .char_indices()
            .take_while(|(i, c)| i + c.len_utf8() <= MAX_PATH_LEN);
        let mut cut = 0;
        let mut segment = None;
        for (i, c) in fitting {
            cut = i + c.len_utf8();
            if c == '[' || c == '.' {
                segment = Some(i);
            }
        }
        full_path.truncate(segment.filter(|&i| i > 0).unwrap_or(cut));
        full_path.push('…');
    }
    // A key given twice at the top level: name it.
    if full_path.is_empty()
        && let Some(field) = message
            .strip_prefix("duplicate field `")
            .and_then(|rest| rest.split('`').next())
    {
        full_path = field.to_string();
    }
    if let Some(rest) = message.strip_prefix(FIELD_MARK) {
        // rest is "field: message"
        if !full_path.is_empty() {
            full_path.push('.');
        }
        return format!("{full_path}{rest}");
    }
    if full_path.is_empty() {
        message
    } else {
        format!("{full_path}: {message}")
    }
}

impl Settings {
    /// Parses settings JSON; errors name the path of the bad field.
    pub fn from_slice(bytes: &[u8]) -> Result<Settings, String> {
        Settings::parse(bytes, "")
    }

    /// Parses settings JSON found at `path` (e.g. "settings" in a
    /// `validate` payload); errors name the field below it.
    pub fn parse(bytes: &[u8], path: &str) -> Result<Settings, String> {
        // serde would also read a struct from a sequence; settings are a mapping.
        if !bytes.trim_ascii_start().starts_with(b"{") {
            return Err(if path.is_empty() {
                NOT_A_MAPPING.to_string()
            } else {
                format!("{path}: {NOT_A_MAPPING}")
            });
        }
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        let settings: Settings = serde_path_to_error::deserialize(&mut deserializer)
            .map_err(|e| format_path_error(path, e))?;
        deserializer.end().map_err(|e| e.to_string())?;
        Ok(settings)
    }

    /// Parses the settings a `validate` call carries, but only the sets
    /// `may_apply` keeps (given each set's selection fields) in full: the
    /// settings come with every request, and most sets select no given Pod.
    /// validate_settings has checked all of them when the policy was loaded;
    /// an error is reported as [`Settings::parse`] reports it.
    pub fn parse_selected(
        bytes: &[u8],
        path: &str,
        may_apply: impl Fn(&Settings<&RawValue>, &SetSelection) -> bool,
    ) -> Result<Settings, String> {
        // Every parse goes through the same path-tracking JSON deserializer as
        // Settings::parse, so that the field deserializers are shared: a
        // second instantiation of them would add tens of KB to the module.
        fn tracked<'de, T: Deserialize<'de>>(
            bytes: &'de [u8],
        ) -> Result<T, serde_path_to_error::Error<serde_json::Error>> {
            serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(bytes))
        }
        if !bytes.trim_ascii_start().starts_with(b"{") {
            return Settings::parse(bytes, path);
        }
        let Ok(mut index) = tracked::<Settings<&RawValue>>(bytes) else {
            return Settings::parse(bytes, path);
        };
        let mut sidecar_sets = Vec::new();
        for (i, raw) in std::mem::take(&mut index.sidecar_sets)
            .into_iter()
            .enumerate()
        {
            let Ok(selection) = tracked::<SetSelection>(raw.get().as_bytes()) else {
                return Settings::parse(bytes, path);
            };
            if may_apply(&index, &selection) {
                let set: SidecarSet = tracked(raw.get().as_bytes())
                    .map_err(|e| format_path_error(&format!("{path}.sidecarSets[{i}]"), e))?;
                sidecar_sets.push(set);
            }
        }
        Ok(index.with_sets(sidecar_sets))
    }
}

/// The fields of a set that decide whether it selects a Pod; the others are
/// skipped without being read into memory.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetSelection {
    #[serde(default)]
    pub selector: Option<LabelSelector>,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub injection_strategy: InjectionStrategy,
    #[serde(default, deserialize_with = "null_as_default")]
    pub host_network_pods: HostNetworkPods,
}

impl kubewarden_policy_sdk::settings::Validatable for Settings {
    /// Every problem, each with the path of the field, joined by "; ".
    fn validate(&self) -> Result<(), String> {
        let errors = self.problems();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }
}

const NOT_A_MAPPING: &str = "the settings must be a mapping (a JSON object) with sidecarSets, nativeSidecars, mode, jobPods, explain, excludedNamespaces, skipHostNetworkPods and namespaceLookupFailure";

const SUPPORTED_SET_FIELDS: &str = "name, mandatory, selector, namespace, namespaceSelector, hostNetworkPods, nativeSidecars, initContainers, containers, volumes, imagePullSecrets, injectionStrategy.paused, patchPodMetadata";

impl Settings {
    fn problems(&self) -> Vec<String> {
        let schema = Schema::load();
        let mut errors = Vec::new();
        let mut set_names = HashMap::new();
        // container name -> where it was first defined
        let mut container_names: HashMap<&str, String> = HashMap::new();
        // volume name -> (first definition, where)
        let mut volumes: HashMap<&str, (&Map<String, Value>, String)> = HashMap::new();
        // (port, protocol) -> container path, for containers that run together
        let mut ports: HashMap<(i64, String), String> = HashMap::new();
        // every injected container, for the dependsOn graph
        let mut items: Vec<Item> = Vec::new();
        // hostPorts of every set's containers, and where each is first used
        let mut host_port_holders: Vec<(HostPort, String)> = Vec::new();

        for (i, namespace) in self.excluded_namespaces.iter().enumerate() {
            if let Err(e) = dns1123_label(namespace) {
                errors.push(format!("excludedNamespaces[{i}]: {namespace:?} {e}"));
            }
        }
        for (i, set) in self.sidecar_sets.iter().enumerate() {
            let at = format!("sidecarSets[{i}]");
            if let Err(e) = dns1123_label(&set.name) {
                errors.push(format!("{at}.name: {:?} {e}", set.name));
            } else if let Some(first) = set_names.insert(set.name.as_str(), i) {
                errors.push(format!(
                    "{at}.name: {:?} is already the name of sidecarSets[{first}]; set names must be unique",
                    set.name
                ));
            }
            for (field, value) in [
                ("updateStrategy", &set.update_strategy),
                ("upgradeStrategy", &set.upgrade_strategy),
                ("revisionHistoryLimit", &set.revision_history_limit),
                (
                    "injectionStrategy.revision",
                    &set.injection_strategy.revision,
                ),
            ] {
                if value.is_some() {
                    errors.push(format!(
                        "{at}.{field}: not supported: this policy injects sidecars at Pod admission only and never updates running Pods (that needs OpenKruise's controller); remove the field. Supported fields: {SUPPORTED_SET_FIELDS}"
                    ));
                }
            }
            match &set.selector {
                None => errors.push(format!(
                    "{at}.selector: required; use {{}} to select every Pod, or matchLabels / matchExpressions"
                )),
                Some(selector) => selector_problems(selector, &format!("{at}.selector"), &mut errors),
            }
            if let Some(namespace) = set.namespace.as_deref() {
                if let Err(e) = dns1123_label(namespace) {
                    errors.push(format!("{at}.namespace: {namespace:?} {e}"));
                } else if self.excludes(namespace) {
                    errors.push(format!(
                        "{at}.namespace: {namespace:?} is in excludedNamespaces, so this set would never apply; remove it from excludedNamespaces or target another namespace"
                    ));
                }
            }
            if let Some(selector) = &set.namespace_selector {
                selector_problems(selector, &format!("{at}.namespaceSelector"), &mut errors);
            }
            let native = set.native(self.native_sidecars);
            let fields = (0..set.init_containers.len())
                .map(|j| ("initContainers", j))
                .chain((0..set.containers.len()).map(|j| ("containers", j)));
            for ((field, j), (container, placement, after)) in
                fields.zip(set.items_with_dependencies(native))
            {
                let cat = format!("{at}.{field}[{j}]");
                let is_init = field == "initContainers";
                let mut found = Vec::new();
                container_problems(&schema, container, &cat, is_init, placement, &mut found);
                gating_problems(container, placement, &cat, &mut found);
                transfer_env_problems(container, &cat, &mut found);
                errors.extend(found.iter().map(|e| naming(e, container.name())));
                items.push(Item {
                    at: cat.clone(),
                    container,
                    placement,
                    after,
                });
                let name = container.name();
                if !name.is_empty() {
                    if let Some(first) = container_names.get(name) {
                        errors.push(format!(
                                "{cat}.name: {name:?} is already used by {first}; container names must be unique across all sets"
                            ));
                    } else {
                        container_names.insert(name, cat.clone());
                    }
                }
                // Everything but a run-to-completion init container runs
                // alongside the app and keeps its ports bound.
                if placement != Placement::Init {
                    for (port, protocol, k) in container_ports(&container.spec) {
                        if let Some(first) =
                            ports.insert((port, protocol.clone()), format!("{cat}.ports[{k}]"))
                        {
                            errors.push(format!(
                                    "{cat}.ports[{k}]: port {port}/{protocol} is already used by {first}; containers of a Pod share one network namespace, so give each sidecar its own port"
                                ));
                        }
                    }
                }
                // A node port is taken for the whole Pod's life.
                for host in host_ports(&container.spec) {
                    if let Some((_, first)) =
                        host_port_holders.iter().find(|(h, _)| h.clashes(&host))
                    {
                        errors.push(format!(
                                "{cat}.ports[{}].hostPort: {} is already used by {first}; a host port is unique per Pod (and node), so give each sidecar its own hostPort",
                                host.index,
                                host.describe()
                            ));
                    } else {
                        let first = format!("{cat}.ports[{}]", host.index);
                        host_port_holders.push((host, first));
                    }
                }
            }
            let mut set_volumes = BTreeSet::new();
            for (j, volume) in set.volumes.iter().enumerate() {
                let vat = format!("{at}.volumes[{j}]");
                let name = volume.get("name").and_then(Value::as_str).unwrap_or("");
                if let Err(e) = dns1123_label(name) {
                    errors.push(format!("{vat}.name: {name:?} {e}"));
                    continue;
                }
                errors.extend(schema.check(&Value::Object(volume.clone()), "Volume", &vat));
                if !set_volumes.insert(name) {
                    errors.push(format!("{vat}.name: {name:?} is defined twice in this set"));
                } else if let Some((first, first_at)) = volumes.get(name) {
                    // Compared as the API server would store them.
                    if *first != volume && normalized_volume(first) != normalized_volume(volume) {
                        errors.push(format!(
                            "{vat}: volume {name:?} differs from the one of the same name in {first_at}; sets that may apply to the same Pod must define a shared volume identically (or name them differently)"
                        ));
                    }
                } else {
                    volumes.insert(name, (volume, vat.clone()));
                }
            }
            for (j, secret) in set.image_pull_secrets.iter().enumerate() {
                if secret.name.is_empty() {
                    errors.push(format!("{at}.imagePullSecrets[{j}].name: required"));
                }
            }
            for (j, patch) in set.patch_pod_metadata.iter().enumerate() {
                let pat = format!("{at}.patchPodMetadata[{j}]");
                for (key, value) in &patch.annotations {
                    if key.starts_with(POLICY_ANNOTATION_PREFIX) {
                        errors.push(format!(
                            "{pat}.annotations[{key:?}]: the {POLICY_ANNOTATION_PREFIX} annotations belong to this policy; use another key"
                        ));
                    }
                    if patch.patch_policy == PatchPolicy::MergePatchJson
                        && !matches!(
                            serde_json::from_slice::<Value>(value.as_bytes()),
                            Ok(Value::Object(_))
                        )
                    {
                        errors.push(format!(
                            "{pat}.annotations[{key:?}]: with patchPolicy MergePatchJson the value must be a JSON object, such as '{{\"key\":\"value\"}}'"
                        ));
                    }
                }
            }
        }
        dependency_problems(&items, &mut errors);
        errors
    }
}

/// An injected container of the settings, where it is defined and placed.
struct Item<'a> {
    at: String,
    container: &'a ContainerSpec,
    placement: Placement,
    /// What it starts after (see `SidecarSet::items_with_dependencies`).
    after: Cow<'a, [String]>,
}

/// A problem `path: message` about one container, with the container's name
/// after the path: `…containers[0].waitForReady: fluent-bit: …`.
fn naming(problem: &str, name: &str) -> String {
    match problem.split_once(": ") {
        // A problem with the name itself quotes it already.
        Some((path, message)) if !name.is_empty() && !path.ends_with(".name") => {
            format!("{path}: {name}: {message}")
        }
        _ => problem.to_string(),
    }
}

/// Each transferEnv entry names one source container and at least one variable.
fn transfer_env_problems(container: &ContainerSpec, at: &str, errors: &mut Vec<String>) {
    for (k, transfer) in container.transfer_env.iter().enumerate() {
        let tat = format!("{at}.transferEnv[{k}]");
        match (
            &transfer.source_container_name,
            &transfer.source_container_name_from,
        ) {
            (None, None) => errors.push(format!(
                "{tat}: name the app container to copy from, with sourceContainerName or sourceContainerNameFrom.fieldRef.fieldPath"
            )),
            (Some(_), Some(_)) => errors.push(format!(
                "{tat}: sourceContainerName and sourceContainerNameFrom are exclusive; keep one"
            )),
            (Some(name), None) => {
                if let Err(e) = dns1123_label(name) {
                    errors.push(format!("{tat}.sourceContainerName: {name:?} {e}"));
                }
            }
            (None, Some(from)) => match &from.field_ref {
                None => errors.push(format!(
                    "{tat}.sourceContainerNameFrom.fieldRef: required; give fieldPath: metadata.labels['key'] or metadata.annotations['key']"
                )),
                Some(field_ref) if transfer.source().is_none() => errors.push(format!(
                    "{tat}.sourceContainerNameFrom.fieldRef.fieldPath: {:?} is not supported; use metadata.labels['key'] or metadata.annotations['key'], whose value names the app container",
                    field_ref.field_path
                )),
                Some(_) => {}
            },
        }
        if transfer.names().next().is_none() {
            errors.push(format!(
                "{tat}: name the variables to copy with envName or envNames"
            ));
        }
        for name in transfer.names() {
            if name.is_empty() || name.contains('=') {
                errors.push(format!(
                    "{tat}: {name:?} is not an environment variable name; use a non-empty name without '='"
                ));
            }
        }
    }
}

/// waitForReady and readyTimeoutSeconds need something the kubelet can wait on.
fn gating_problems(
    container: &ContainerSpec,
    placement: Placement,
    at: &str,
    errors: &mut Vec<String>,
) {
    if container.ready_timeout_seconds.is_some() {
        if !container.wait_for_ready {
            errors.push(format!(
                "{at}.readyTimeoutSeconds: only used with waitForReady: true; add it or remove readyTimeoutSeconds"
            ));
        } else if placement == Placement::NativeSidecar && container.has("startupProbe") {
            errors.push(format!(
                "{at}.readyTimeoutSeconds: this container has its own startupProbe, which sets the budget; remove readyTimeoutSeconds"
            ));
        }
    }
    if !container.wait_for_ready {
        return;
    }
    match placement {
        Placement::Init => errors.push(format!(
            "{at}.waitForReady: an init container that runs to completion always finishes before the next one starts; remove waitForReady"
        )),
        Placement::Trailing => errors.push(format!(
            "{at}.waitForReady: an AfterAppContainer container starts after the app containers, so nothing waits for it; remove waitForReady"
        )),
        Placement::NativeSidecar => {
            if !container.has("startupProbe") && !container.has("readinessProbe") {
                errors.push(format!(
                    "{at}.waitForReady: waitForReady needs a readinessProbe or startupProbe: the kubelet waits for a native sidecar through its startupProbe, which the policy derives from the readinessProbe; add one, or remove waitForReady"
                ));
            }
        }
        Placement::Leading => {
            if !container.has_post_start() {
                errors.push(format!(
                    "{at}.waitForReady: a regular sidecar (nativeSidecars: false) can only hold the next container through a lifecycle.postStart hook that blocks until it is ready; either make the set native (nativeSidecars: true), where the kubelet waits for the startupProbe, or add such a postStart command (as Istio's holdApplicationUntilProxyStarts does)"
                ));
            }
        }
    }
}

/// dependsOn: names defined in the settings must be reachable in the start
/// order and ready when the dependent starts; no cycles. Other names are
/// taken as the Pod's own init containers, checked at admission.
fn dependency_problems(items: &[Item], errors: &mut Vec<String>) {
    let by_name: HashMap<&str, &Item> = items.iter().map(|i| (i.container.name(), i)).collect();
    for item in items {
        let name = item.container.name();
        for (k, dep) in item.container.depends_on.iter().enumerate() {
            let at = format!("{}.dependsOn[{k}]", item.at);
            if dep == name {
                errors.push(format!(
                    "{at}: {name}: it cannot depend on itself; remove it"
                ));
                continue;
            }
            let Some(target) = by_name.get(dep.as_str()) else {
                if let Err(e) = dns1123_label(dep) {
                    errors.push(format!(
                        "{at}: {name}: {dep:?} {e}; it names no container of the settings, so it must be the name of one of the Pod's own init containers"
                    ));
                }
                continue;
            };
            // A dependency the kubelet does not wait for means "after it
            // has started" (Docker Compose's default); see `Wait`.
            if target.placement.phase() > item.placement.phase() {
                errors.push(format!(
                    "{at}: {name} is {} and cannot wait for {dep}, {}, which starts after it; make {dep} start earlier or remove the dependency",
                    item.placement.describe(),
                    target.placement.describe()
                ));
            }
        }
    }
    let nodes: Vec<Node> = items
        .iter()
        .map(|i| Node {
            name: i.container.name(),
            depends_on: &i.after,
            fixed: false,
        })
        .collect();
    let graph = Graph::new(&nodes);
    for cycle in graph.cycles() {
        let at = cycle
            .first()
            .and_then(|&i| items.get(i))
            .map_or("sidecarSets", |i| i.at.as_str());
        errors.push(format!(
            "{at}.dependsOn: dependsOn cycle: {}; remove one of these dependencies{}",
            graph.describe(&cycle),
            if implicit_edge_in(&cycle, &graph, items) {
                " (a set's init containers run before its sidecars unless they depend on them)"
            } else {
                ""
            }
        ));
    }
}

/// Whether a cycle goes through an edge the settings do not write: a
/// sidecar after its set's init container.
fn implicit_edge_in(cycle: &[usize], graph: &Graph, items: &[Item]) -> bool {
    cycle.windows(2).any(|pair| {
        let (Some(&from), Some(&to)) = (pair.first(), pair.get(1)) else {
            return false;
        };
        items.get(from).is_some_and(|item| {
            let to = graph.name(to);
            !item.container.depends_on.iter().any(|d| d == to)
        })
    })
}

fn selector_problems(selector: &LabelSelector, at: &str, errors: &mut Vec<String>) {
    for (i, requirement) in selector.match_expressions.iter().enumerate() {
        let rat = format!("{at}.matchExpressions[{i}]");
        if requirement.key.is_empty() {
            errors.push(format!("{rat}.key: required"));
        }
        let values = requirement.values.as_deref().unwrap_or(&[]);
        match requirement.operator {
            SelectorOperator::In | SelectorOperator::NotIn if values.is_empty() => {
                errors.push(format!(
                    "{rat}.values: operator {:?} needs at least one value",
                    requirement.operator
                ))
            }
            SelectorOperator::Exists | SelectorOperator::DoesNotExist if !values.is_empty() => {
                errors.push(format!(
                    "{rat}.values: operator {:?} takes no values; remove them",
                    requirement.operator
                ))
            }
            _ => {}
        }
    }
}

fn container_problems(
    schema: &Schema,
    container: &ContainerSpec,
    at: &str,
    is_init: bool,
    placement: Placement,
    errors: &mut Vec<String>,
) {
    let name = container.name();
    if let Err(e) = dns1123_label(name) {
        errors.push(format!("{at}.name: {name:?} {e}"));
    }
    match container.spec.get("image") {
        Some(Value::String(image)) if !image.trim().is_empty() => {}
        _ => errors.push(format!(
            "{at}.image: required; give the sidecar's image reference"
        )),
    }
    for key in UNSUPPORTED_CONTAINER_KEYS {
        if container.spec.contains_key(*key) {
            errors.push(format!(
                "{at}.{key}: OpenKruise's {key} is not supported by this version of the policy; remove it"
            ));
        }
    }
    if is_init && container.pod_inject_policy != PodInjectPolicy::default() {
        errors.push(format!(
            "{at}.podInjectPolicy: applies to containers only; init containers always run before the Pod's own init containers"
        ));
    }
    match container.spec.get("restartPolicy") {
        None => {}
        Some(Value::String(policy)) if policy == "Always" => {
            if matches!(placement, Placement::Leading | Placement::Trailing) {
                errors.push(format!(
                    "{at}.restartPolicy: only native sidecars take restartPolicy; this container is injected as a regular container (nativeSidecars: false or podInjectPolicy: AfterAppContainer), so remove the field"
                ));
            }
        }
        Some(other) => errors.push(format!(
            "{at}.restartPolicy: {other} is not allowed; the only container restartPolicy is Always (a native sidecar), or leave it out"
        )),
    }
    let own_keys: Vec<&str> = CONTAINER_EXTENSION_KEYS
        .iter()
        .chain(UNSUPPORTED_CONTAINER_KEYS)
        .copied()
        .collect();
    errors.extend(schema.check_with(
        &Value::Object(container.spec.clone()),
        "Container",
        at,
        &own_keys,
    ));
}

/// (containerPort, protocol, index in ports) of a container spec.
pub fn container_ports(spec: &Map<String, Value>) -> Vec<(i64, String, usize)> {
    let Some(Value::Array(ports)) = spec.get("ports") else {
        return Vec::new();
    };
    ports
        .iter()
        .enumerate()
        .filter_map(|(k, port)| {
            let number = port.get("containerPort")?.as_i64()?;
            let protocol = port
                .get("protocol")
                .and_then(Value::as_str)
                .unwrap_or("TCP");
            Some((number, protocol.to_string(), k))
        })
        .collect()
}

/// A `hostPort` of a container: a port of the node, bound while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    /// `hostIP`; "" (and 0.0.0.0, ::) for every address of the node.
    pub ip: String,
    pub port: i64,
    pub protocol: String,
    /// Index in the container's `ports`.
    pub index: usize,
}

impl HostPort {
    fn any_address(&self) -> bool {
        matches!(self.ip.as_str(), "" | "0.0.0.0" | "::")
    }

    /// Whether both cannot be bound at once: same port and protocol, and
    /// the same address or one of them on every address.
    pub fn clashes(&self, other: &HostPort) -> bool {
        self.port == other.port
            && self.protocol == other.protocol
            && (self.ip == other.ip || self.any_address() || other.any_address())
    }

    /// `hostPort 9400/TCP` (with `on 10.0.0.1` when it has a hostIP).
    pub fn describe(&self) -> String {
        if self.any_address() {
            format!("hostPort {}/{}", self.port, self.protocol)
        } else {
            format!("hostPort {}/{} on {}", self.port, self.protocol, self.ip)
        }
    }
}

/// The hostPorts of a container spec.
pub fn host_ports(spec: &Map<String, Value>) -> Vec<HostPort> {
    let Some(Value::Array(ports)) = spec.get("ports") else {
        return Vec::new();
    };
    ports
        .iter()
        .enumerate()
        .filter_map(|(index, port)| {
            let number = port.get("hostPort")?.as_i64().filter(|&p| p > 0)?;
            let text = |key: &str, default: &str| {
                port.get(key)
                    .and_then(Value::as_str)
                    .unwrap_or(default)
                    .to_string()
            };
            Some(HostPort {
                ip: text("hostIP", ""),
                port: number,
                protocol: text("protocol", "TCP"),
                index,
            })
        })
        .collect()
}

/// Kubernetes' DNS-1123 label rule, with its own wording.
pub fn dns1123_label(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("is empty; a name is required");
    }
    if name.len() > 63 {
        return Err("is longer than 63 characters");
    }
    let bytes = name.as_bytes();
    let valid_chars = bytes
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
    let alnum = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !valid_chars || !alnum(bytes.first()) || !alnum(bytes.last()) {
        return Err(
            "is not a DNS-1123 label: use lower case letters, digits and '-', starting and ending with a letter or digit",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubewarden_policy_sdk::settings::Validatable;
    use rstest::rstest;
    use serde_json::json;

    fn problems(settings: Value) -> String {
        match Settings::from_slice(settings.to_string().as_bytes()) {
            Err(e) => e,
            Ok(s) => s.validate().err().unwrap_or_default(),
        }
    }

    fn one_set(set: Value) -> Value {
        json!({"sidecarSets": [set]})
    }

    fn base_set() -> Value {
        json!({"name": "log-shipper", "selector": {}, "containers": [{"name": "fluent-bit", "image": "fluent-bit:3"}]})
    }

    fn with(mut value: Value, pointer: &str, new: Value) -> Value {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let target = value.pointer_mut(parent).unwrap();
        match target {
            Value::Object(map) => {
                map.insert(key.to_string(), new);
            }
            Value::Array(list) => list[key.parse::<usize>().unwrap()] = new,
            _ => panic!("bad pointer"),
        }
        value
    }

    #[test]
    fn defaults() {
        let settings = Settings::from_slice(b"{}").unwrap();
        assert!(settings.native_sidecars);
        assert!(settings.sidecar_sets.is_empty());
        assert_eq!(problems(json!({})), "");
        assert_eq!(problems(one_set(base_set())), "");
        for not_a_mapping in [json!([]), json!("x"), json!(3)] {
            assert_eq!(
                problems(not_a_mapping.clone()),
                "the settings must be a mapping (a JSON object) with sidecarSets, nativeSidecars, mode, jobPods, explain, excludedNamespaces, skipHostNetworkPods and namespaceLookupFailure"
            );
            assert!(
                Settings::parse(not_a_mapping.to_string().as_bytes(), "settings")
                    .unwrap_err()
                    .starts_with("settings: the settings must be")
            );
        }
    }

    #[rstest]
    #[case::bad_lookup_failure(json!({"namespaceLookupFailure": "ignore"}),
        "namespaceLookupFailure: unknown variant `ignore`, expected `reject` or `skip`")]
    #[case::bad_excluded_namespace(json!({"excludedNamespaces": ["kube-system", "Team_A"]}),
        "excludedNamespaces[1]: \"Team_A\" is not a DNS-1123 label: use lower case letters, digits and '-', starting and ending with a letter or digit")]
    #[case::skip_host_network_not_bool(json!({"skipHostNetworkPods": "yes"}),
        "skipHostNetworkPods: invalid type: string \"yes\", expected a boolean")]
    #[case::unknown_top_level(json!({"sidecarSet": []}),
        "sidecarSet: unknown field `sidecarSet`, expected one of `nativeSidecars`, `sidecarSets`, `mode`, `jobPods`, `explain`, `excludedNamespaces`, `skipHostNetworkPods`, `namespaceLookupFailure`")]
    #[case::unknown_set_field(one_set(with(base_set(), "/podInjectionPolicy", json!("x"))),
        "sidecarSets[0].podInjectionPolicy: unknown field `podInjectionPolicy`, expected one of `name`, `mandatory`, `selector`, `namespace`, `namespaceSelector`, `hostNetworkPods`, `nativeSidecars`, `initContainers`, `containers`, `volumes`, `imagePullSecrets`, `injectionStrategy`, `patchPodMetadata`, `updateStrategy`, `upgradeStrategy`, `revisionHistoryLimit`")]
    #[case::missing_name(one_set(json!({"selector": {}})),
        "sidecarSets[0]: missing field `name`")]
    #[case::bad_inject_policy(one_set(with(base_set(), "/containers/0/podInjectPolicy", json!("Before"))),
        "sidecarSets[0].containers[0].podInjectPolicy: \"Before\" is not one of BeforeAppContainer, AfterAppContainer")]
    #[case::bad_operator(one_set(with(base_set(), "/selector", json!({"matchExpressions": [{"key": "a", "operator": "Equals"}]}))),
        "sidecarSets[0].selector.matchExpressions[0].operator: unknown variant `Equals`, expected one of `In`, `NotIn`, `Exists`, `DoesNotExist`")]
    #[case::selector_typo(one_set(with(base_set(), "/selector", json!({"matchLabel": {"a": "b"}}))),
        "sidecarSets[0].selector.matchLabel: unknown field `matchLabel`, expected `matchLabels` or `matchExpressions`")]
    #[case::bad_patch_policy(one_set(with(base_set(), "/patchPodMetadata", json!([{"annotations": {"a": "b"}, "patchPolicy": "Merge"}]))),
        "sidecarSets[0].patchPodMetadata[0].patchPolicy: unknown variant `Merge`, expected one of `Retain`, `Overwrite`, `MergePatchJson`")]
    #[case::container_not_object(one_set(with(base_set(), "/containers/0", json!("fluent-bit"))),
        "sidecarSets[0].containers[0]: invalid type: string \"fluent-bit\", expected a map")]
    #[case::container_without_name(one_set(with(base_set(), "/containers/0", json!({"image": "x"}))),
        "sidecarSets[0].containers[0].name: required; give the container a name (a DNS-1123 label)")]
    #[case::container_name_number(one_set(with(base_set(), "/containers/0/name", json!(7))),
        "sidecarSets[0].containers[0].name: 7 is not a string; give the container a name (a DNS-1123 label)")]
    #[case::paused_not_bool(one_set(with(base_set(), "/injectionStrategy", json!({"paused": "yes"}))),
        "sidecarSets[0].injectionStrategy.paused: invalid type: string \"yes\", expected a boolean")]
    fn parse_errors_name_the_field(#[case] settings: Value, #[case] expected: &str) {
        assert_eq!(problems(settings), expected);
    }

    #[rstest]
    #[case::bad_set_name(with(base_set(), "/name", json!("Log_Shipper")),
        "sidecarSets[0].name: \"Log_Shipper\" is not a DNS-1123 label: use lower case letters, digits and '-', starting and ending with a letter or digit")]
    #[case::no_selector(json!({"name": "a", "containers": []}),
        "sidecarSets[0].selector: required; use {} to select every Pod, or matchLabels / matchExpressions")]
    #[case::empty_image(with(base_set(), "/containers/0/image", json!("")),
        "sidecarSets[0].containers[0].image: fluent-bit: required; give the sidecar's image reference")]
    #[case::missing_image(with(base_set(), "/containers/0", json!({"name": "x"})),
        "sidecarSets[0].containers[0].image: x: required; give the sidecar's image reference")]
    #[case::bad_container_name(with(base_set(), "/containers/0/name", json!("Fluent.Bit")),
        "sidecarSets[0].containers[0].name: \"Fluent.Bit\" is not a DNS-1123 label: use lower case letters, digits and '-', starting and ending with a letter or digit")]
    #[case::restart_never(with(base_set(), "/containers/0/restartPolicy", json!("Never")),
        "sidecarSets[0].containers[0].restartPolicy: fluent-bit: \"Never\" is not allowed; the only container restartPolicy is Always (a native sidecar), or leave it out")]
    #[case::restart_on_after_app(with(with(base_set(), "/containers/0/restartPolicy", json!("Always")), "/containers/0/podInjectPolicy", json!("AfterAppContainer")),
        "sidecarSets[0].containers[0].restartPolicy: fluent-bit: only native sidecars take restartPolicy; this container is injected as a regular container (nativeSidecars: false or podInjectPolicy: AfterAppContainer), so remove the field")]
    #[case::restart_on_regular(with(with(base_set(), "/containers/0/restartPolicy", json!("Always")), "/nativeSidecars", json!(false)),
        "sidecarSets[0].containers[0].restartPolicy: fluent-bit: only native sidecars take restartPolicy; this container is injected as a regular container (nativeSidecars: false or podInjectPolicy: AfterAppContainer), so remove the field")]
    #[case::wrong_type_in_container(with(base_set(), "/containers/0/ports", json!([{"containerPort": "http"}])),
        "sidecarSets[0].containers[0].ports[0].containerPort: fluent-bit: expected an integer, found the string \"http\"")]
    #[case::in_without_values(with(base_set(), "/selector", json!({"matchExpressions": [{"key": "a", "operator": "In"}]})),
        "sidecarSets[0].selector.matchExpressions[0].values: operator In needs at least one value")]
    #[case::exists_with_values(with(base_set(), "/selector", json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]})),
        "sidecarSets[0].selector.matchExpressions[0].values: operator Exists takes no values; remove them")]
    #[case::update_strategy(with(base_set(), "/updateStrategy", json!({"type": "RollingUpdate"})),
        "sidecarSets[0].updateStrategy: not supported: this policy injects sidecars at Pod admission only and never updates running Pods (that needs OpenKruise's controller); remove the field. Supported fields: name, mandatory, selector, namespace, namespaceSelector, hostNetworkPods, nativeSidecars, initContainers, containers, volumes, imagePullSecrets, injectionStrategy.paused, patchPodMetadata")]
    #[case::revision(with(base_set(), "/injectionStrategy", json!({"revision": {"customVersion": "v1"}})),
        "sidecarSets[0].injectionStrategy.revision: not supported: this policy injects sidecars at Pod admission only and never updates running Pods (that needs OpenKruise's controller); remove the field. Supported fields: name, mandatory, selector, namespace, namespaceSelector, hostNetworkPods, nativeSidecars, initContainers, containers, volumes, imagePullSecrets, injectionStrategy.paused, patchPodMetadata")]
    #[case::resources_policy(with(base_set(), "/containers/0/resourcesPolicy", json!({"targetContainerMode": "sum"})),
        "sidecarSets[0].containers[0].resourcesPolicy: fluent-bit: OpenKruise's resourcesPolicy is not supported by this version of the policy; remove it")]
    #[case::transfer_env_without_source(with(base_set(), "/containers/0/transferEnv", json!([{"envName": "A"}])),
        "sidecarSets[0].containers[0].transferEnv[0]: fluent-bit: name the app container to copy from, with sourceContainerName or sourceContainerNameFrom.fieldRef.fieldPath")]
    #[case::transfer_env_two_sources(with(base_set(), "/containers/0/transferEnv", json!([{"sourceContainerName": "app", "sourceContainerNameFrom": {"fieldRef": {"fieldPath": "metadata.labels['c']"}}, "envName": "A"}])),
        "sidecarSets[0].containers[0].transferEnv[0]: fluent-bit: sourceContainerName and sourceContainerNameFrom are exclusive; keep one")]
    #[case::transfer_env_bad_field_path(with(base_set(), "/containers/0/transferEnv", json!([{"sourceContainerNameFrom": {"fieldRef": {"fieldPath": "metadata.name"}}, "envName": "A"}])),
        "sidecarSets[0].containers[0].transferEnv[0].sourceContainerNameFrom.fieldRef.fieldPath: fluent-bit: \"metadata.name\" is not supported; use metadata.labels['key'] or metadata.annotations['key'], whose value names the app container")]
    #[case::transfer_env_no_field_ref(with(base_set(), "/containers/0/transferEnv", json!([{"sourceContainerNameFrom": {}, "envName": "A"}])),
        "sidecarSets[0].containers[0].transferEnv[0].sourceContainerNameFrom.fieldRef: fluent-bit: required; give fieldPath: metadata.labels['key'] or metadata.annotations['key']")]
    #[case::transfer_env_no_names(with(base_set(), "/containers/0/transferEnv", json!([{"sourceContainerName": "app"}])),
        "sidecarSets[0].containers[0].transferEnv[0]: fluent-bit: name the variables to copy with envName or envNames")]
    #[case::transfer_env_bad_source(with(base_set(), "/containers/0/transferEnv", json!([{"sourceContainerName": "App", "envNames": ["A", "B=C"]}])),
        "sidecarSets[0].containers[0].transferEnv[0].sourceContainerName: fluent-bit: \"App\" is not a DNS-1123 label: use lower case letters, digits and '-', starting and ending with a letter or digit; sidecarSets[0].containers[0].transferEnv[0]: fluent-bit: \"B=C\" is not an environment variable name; use a non-empty name without '='")]
    #[case::transfer_env_unknown_key(with(base_set(), "/containers/0/transferEnv", json!([{"sourceContainer": "app", "envName": "A"}])),
        "sidecarSets[0].containers[0].transferEnv: unknown field `sourceContainer`, expected one of `sourceContainerName`, `sourceContainerNameFrom`, `envName`, `envNames`; each entry takes sourceContainerName (or sourceContainerNameFrom.fieldRef.fieldPath) and envName or envNames")]
    #[case::share_volume_policy(with(base_set(), "/containers/0/shareVolumePolicy", json!({"type": "Enabled"})),
        "sidecarSets[0].containers[0].shareVolumePolicy: {\"type\":\"Enabled\"} is not {type: enabled} or {type: disabled}")]
    #[case::namespace_selector(with(base_set(), "/namespaceSelector", json!({"matchExpressions": [{"key": "mesh", "operator": "In"}]})),
        "sidecarSets[0].namespaceSelector.matchExpressions[0].values: operator In needs at least one value")]
    #[case::host_network_pods(with(base_set(), "/hostNetworkPods", json!("always")),
        "sidecarSets[0].hostNetworkPods: unknown variant `always`, expected one of ``, `skip`, `inject`")]
    #[case::excluded_namespace(with(base_set(), "/namespace", json!("kube-system")),
        "sidecarSets[0].namespace: \"kube-system\" is in excludedNamespaces, so this set would never apply; remove it from excludedNamespaces or target another namespace")]
    #[case::merge_patch_not_object(with(base_set(), "/patchPodMetadata", json!([{"annotations": {"a": "[1]"}, "patchPolicy": "MergePatchJson"}])),
        "sidecarSets[0].patchPodMetadata[0].annotations[\"a\"]: with patchPolicy MergePatchJson the value must be a JSON object, such as '{\"key\":\"value\"}'")]
    #[case::own_annotation(with(base_set(), "/patchPodMetadata", json!([{"annotations": {"sidecarset.kubewarden.io/inject": "false"}}])),
        "sidecarSets[0].patchPodMetadata[0].annotations[\"sidecarset.kubewarden.io/inject\"]: the sidecarset.kubewarden.io/ annotations belong to this policy; use another key")]
    #[case::bad_volume(with(base_set(), "/volumes", json!([{"name": "v", "emptyDir": {"medium": 5}}])),
        "sidecarSets[0].volumes[0].emptyDir.medium: expected a string, found the number 5")]
    #[case::pod_inject_policy_on_init(with(base_set(), "/initContainers", json!([{"name": "init", "image": "busybox", "podInjectPolicy": "AfterAppContainer"}])),
        "sidecarSets[0].initContainers[0].podInjectPolicy: init: applies to containers only; init containers always run before the Pod's own init containers")]
    fn set_problems(#[case] set: Value, #[case] expected: &str) {
        assert_eq!(problems(one_set(set)), expected);
    }

    fn proxy() -> Value {
        json!({"name": "envoy", "image": "envoy:v1.33.0", "waitForReady": true, "readinessProbe": {"httpGet": {"path": "/ready", "port": 9901}}})
    }

    fn two_sets(mesh_containers: Value, client: Value) -> Value {
        json!({"sidecarSets": [
            {"name": "mesh", "selector": {}, "containers": mesh_containers},
            with(json!({"name": "db-client", "selector": {}}), "/initContainers", client),
        ]})
    }

    #[rstest]
    #[case::classic(two_sets(json!([proxy()]), json!([{"name": "schema-check", "image": "s:1", "dependsOn": ["envoy"]}])), "")]
    #[case::own_init_container(two_sets(json!([proxy()]), json!([{"name": "schema-check", "image": "s:1", "dependsOn": ["db-migrate"]}])), "")]
    #[case::cycle(two_sets(json!([with(proxy(), "/dependsOn", json!(["schema-check"]))]), json!([{"name": "schema-check", "image": "s:1", "dependsOn": ["envoy"]}])),
        "sidecarSets[0].containers[0].dependsOn: dependsOn cycle: envoy → schema-check → envoy; remove one of these dependencies")]
    #[case::itself(two_sets(json!([with(proxy(), "/dependsOn", json!(["envoy"]))]), json!([])),
        "sidecarSets[0].containers[0].dependsOn[0]: envoy: it cannot depend on itself; remove it")]
    #[case::not_a_name(two_sets(json!([with(proxy(), "/dependsOn", json!(["Db_Migrate"]))]), json!([])),
        "sidecarSets[0].containers[0].dependsOn[0]: envoy: \"Db_Migrate\" is not a DNS-1123 label: use lower case letters, digits and '-', starting and ending with a letter or digit; it names no container of the settings, so it must be the name of one of the Pod's own init containers")]
    #[case::not_a_list(two_sets(json!([with(proxy(), "/dependsOn", json!("envoy"))]), json!([])),
        "sidecarSets[0].containers[0].dependsOn: \"envoy\" is not a list of container names, such as [envoy]")]
    #[case::init_after_app_container(two_sets(json!([with(with(proxy(), "/podInjectPolicy", json!("AfterAppContainer")), "/waitForReady", json!(false))]), json!([{"name": "schema-check", "image": "s:1", "dependsOn": ["envoy"]}])),
        "sidecarSets[1].initContainers[0].dependsOn[0]: schema-check is an init container and cannot wait for envoy, a container after the app containers (podInjectPolicy: AfterAppContainer), which starts after it; make envoy start earlier or remove the dependency")]
    #[case::native_after_regular(json!({"sidecarSets": [
            {"name": "mesh", "selector": {}, "nativeSidecars": false, "containers": [{"name": "envoy", "image": "e", "lifecycle": {"postStart": {"exec": {"command": ["wait"]}}}}]},
            {"name": "logs", "selector": {}, "containers": [{"name": "fluent-bit", "image": "f", "dependsOn": ["envoy"]}]}]}),
        "sidecarSets[1].containers[0].dependsOn[0]: fluent-bit is a native sidecar (an init container with restartPolicy: Always) and cannot wait for envoy, a regular sidecar in spec.containers (nativeSidecars: false), which starts after it; make envoy start earlier or remove the dependency")]
    #[case::dependency_not_waited_for(two_sets(json!([{"name": "envoy", "image": "e"}]), json!([{"name": "schema-check", "image": "s:1", "dependsOn": ["envoy"]}])),
        "")]
    #[case::regular_dependency_not_waited_for(json!({"sidecarSets": [{"name": "mesh", "selector": {}, "nativeSidecars": false, "containers": [
            {"name": "envoy", "image": "e"}, {"name": "app-proxy", "image": "p", "dependsOn": ["envoy"]}]}]}),
        "")]
    #[case::own_startup_probe_is_enough(two_sets(json!([{"name": "envoy", "image": "e", "startupProbe": {"tcpSocket": {"port": 15001}}}]), json!([{"name": "schema-check", "image": "s:1", "dependsOn": ["envoy"]}])), "")]
    #[case::wait_without_probe(two_sets(json!([{"name": "envoy", "image": "e", "waitForReady": true}]), json!([])),
        "sidecarSets[0].containers[0].waitForReady: envoy: waitForReady needs a readinessProbe or startupProbe: the kubelet waits for a native sidecar through its startupProbe, which the policy derives from the readinessProbe; add one, or remove waitForReady")]
    #[case::wait_regular_without_post_start(json!({"sidecarSets": [{"name": "mesh", "selector": {}, "nativeSidecars": false, "containers": [proxy()]}]}),
        "sidecarSets[0].containers[0].waitForReady: envoy: a regular sidecar (nativeSidecars: false) can only hold the next container through a lifecycle.postStart hook that blocks until it is ready; either make the set native (nativeSidecars: true), where the kubelet waits for the startupProbe, or add such a postStart command (as Istio's holdApplicationUntilProxyStarts does)")]
    #[case::wait_regular_with_post_start(json!({"sidecarSets": [{"name": "mesh", "selector": {}, "nativeSidecars": false, "containers": [
            with(proxy(), "/lifecycle", json!({"postStart": {"exec": {"command": ["pilot-agent", "wait"]}}}))]}]}), "")]
    #[case::wait_on_init(two_sets(json!([]), json!([{"name": "schema-check", "image": "s:1", "waitForReady": true}])),
        "sidecarSets[1].initContainers[0].waitForReady: schema-check: an init container that runs to completion always finishes before the next one starts; remove waitForReady")]
    #[case::wait_after_app(two_sets(json!([with(proxy(), "/podInjectPolicy", json!("AfterAppContainer"))]), json!([])),
        "sidecarSets[0].containers[0].waitForReady: envoy: an AfterAppContainer container starts after the app containers, so nothing waits for it; remove waitForReady")]
    #[case::timeout_without_wait(two_sets(json!([with(with(proxy(), "/waitForReady", json!(false)), "/readyTimeoutSeconds", json!(30))]), json!([])),
        "sidecarSets[0].containers[0].readyTimeoutSeconds: envoy: only used with waitForReady: true; add it or remove readyTimeoutSeconds")]
    #[case::timeout_with_own_startup_probe(two_sets(json!([with(with(proxy(), "/startupProbe", json!({"tcpSocket": {"port": 1}})), "/readyTimeoutSeconds", json!(30))]), json!([])),
        "sidecarSets[0].containers[0].readyTimeoutSeconds: envoy: this container has its own startupProbe, which sets the budget; remove readyTimeoutSeconds")]
    #[case::timeout_zero(two_sets(json!([with(proxy(), "/readyTimeoutSeconds", json!(0))]), json!([])),
        "sidecarSets[0].containers[0].readyTimeoutSeconds: 0 is not a whole number of seconds from 1 to 86400")]
    #[case::wait_not_bool(two_sets(json!([with(proxy(), "/waitForReady", json!("yes"))]), json!([])),
        "sidecarSets[0].containers[0].waitForReady: \"yes\" is not a boolean; use true or false")]
    #[case::bad_mode(json!({"mode": "audit"}),
        "mode: unknown variant `audit`, expected `inject` or `verify`")]
    #[case::bad_job_pods(json!({"jobPods": "never"}),
        "jobPods: unknown variant `never`, expected one of `native`, `skip`, `asConfigured`")]
    fn ordering_and_gating_problems(#[case] settings: Value, #[case] expected: &str) {
        assert_eq!(problems(settings), expected);
    }

    #[test]
    fn derived_startup_probe() {
        let parsed = Settings::from_slice(
            two_sets(
                json!([with(proxy(), "/readinessProbe/timeoutSeconds", json!(2))]),
                json!([]),
            )
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        let envoy = &parsed.sidecar_sets[0].containers[0];
        let native = envoy.to_pod_container(Placement::NativeSidecar);
        assert_eq!(
            native["startupProbe"],
            json!({"httpGet": {"path": "/ready", "port": 9901}, "timeoutSeconds": 2, "periodSeconds": 1, "failureThreshold": 120})
        );
        assert_eq!(
            native["readinessProbe"]["timeoutSeconds"], 2,
            "the readinessProbe stays"
        );
        assert!(native.get("waitForReady").is_none() && native.get("dependsOn").is_none());
        let mut timed = envoy.clone();
        timed.ready_timeout_seconds = Some(30);
        assert_eq!(
            timed.to_pod_container(Placement::NativeSidecar)["startupProbe"]["failureThreshold"],
            30
        );
        assert!(
            envoy
                .to_pod_container(Placement::Leading)
                .get("startupProbe")
                .is_none(),
            "a regular container is gated by its postStart hook, not a probe"
        );
        let mut own_probe = envoy.clone();
        own_probe
            .spec
            .insert("startupProbe".into(), json!({"tcpSocket": {"port": 1}}));
        assert_eq!(
            own_probe.to_pod_container(Placement::NativeSidecar)["startupProbe"],
            json!({"tcpSocket": {"port": 1}})
        );
    }

    #[test]
    fn ordering_fields_change_the_hash_only_when_set() {
        let plain = Settings::from_slice(one_set(base_set()).to_string().as_bytes()).unwrap();
        let mut container = plain.sidecar_sets[0].containers[0].clone();
        let hash = plain.sidecar_sets[0].definition_hash(true);
        // The value the foundation release computed for this set (checked against its build).
        assert_eq!(
            hash, "5aa395cc8131afea",
            "a set without the new fields keeps its hash"
        );
        container.depends_on = vec!["x".into()];
        let mut changed = plain.sidecar_sets[0].clone();
        changed.containers[0] = container;
        assert_ne!(changed.definition_hash(true), hash);
    }

    #[test]
    fn at_evaluation_only_the_selected_sets_are_read_in_full() {
        let settings = json!({"explain": true, "sidecarSets": [
            {"name": "web", "selector": {"matchLabels": {"tier": "web"}}, "containers": [{"name": "a", "image": "a"}]},
            {"name": "db", "selector": {"matchLabels": {"tier": "db"}}, "containers": "not even a list"},
            {"name": "paused", "selector": {}, "injectionStrategy": {"paused": true}, "containers": [{"name": "b", "image": "b"}]},
        ]});
        let bytes = settings.to_string();
        let keep_web = |_: &Settings<&RawValue>, s: &SetSelection| {
            s.selector
                .as_ref()
                .is_some_and(|sel| sel.match_labels.get("tier").map(String::as_str) == Some("web"))
                && !s.injection_strategy.paused
        };
        let parsed = Settings::parse_selected(bytes.as_bytes(), "settings", keep_web).unwrap();
        let names: Vec<&str> = parsed
            .sidecar_sets
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(names, ["web"]);
        assert!(parsed.explain);
        // A selected set that does not parse is reported with its index.
        let keep_all = |_: &Settings<&RawValue>, _: &SetSelection| true;
        assert_eq!(
            Settings::parse_selected(bytes.as_bytes(), "settings", keep_all).unwrap_err(),
            "settings.sidecarSets[1].containers: invalid type: string \"not even a list\", expected a sequence"
        );
        // Top-level errors read as Settings::parse reports them.
        assert_eq!(
            Settings::parse_selected(br#"{"sidecarSet": []}"#, "settings", keep_all).unwrap_err(),
            "settings.sidecarSet: unknown field `sidecarSet`, expected one of `nativeSidecars`, `sidecarSets`, `mode`, `jobPods`, `explain`, `excludedNamespaces`, `skipHostNetworkPods`, `namespaceLookupFailure`"
        );
    }

    /// Found by fuzzing: a long key with multi-byte characters and no
    /// segment to cut at once panicked the truncation of its path.
    #[test]
    fn long_paths_are_cut_at_a_character_boundary() {
        // 119 one-byte characters, then a two-byte one across the limit.
        let key = format!("{}\u{48b}{}", "n".repeat(119), "n".repeat(40));
        let message = problems(json!({ key.clone(): 1 }));
        assert!(
            message.starts_with(&format!("{}…: unknown field", "n".repeat(119))),
            "{message}"
        );
        let nested = format!("{}é", "a".repeat(119));
        let message = problems(json!({ "sidecarSets": [{ nested: 1 }] }));
        assert!(
            message.starts_with("sidecarSets[0]…: unknown field"),
            "{message}"
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let set =
            json!({"name": "-bad", "selector": {}, "containers": [{"name": "x", "image": ""}]});
        let message = problems(one_set(set));
        assert!(message.contains("sidecarSets[0].name:"), "{message}");
        assert!(
            message.contains("; sidecarSets[0].containers[0].image: x: required"),
            "{message}"
        );
    }

    #[test]
    fn names_are_unique_across_sets() {
        let second = with(base_set(), "/name", json!("other"));
        let message = problems(json!({"sidecarSets": [base_set(), second]}));
        assert_eq!(
            message,
            "sidecarSets[1].containers[0].name: \"fluent-bit\" is already used by sidecarSets[0].containers[0]; container names must be unique across all sets"
        );
        let message = problems(json!({"sidecarSets": [base_set(), base_set()]}));
        assert!(message.starts_with(
            "sidecarSets[1].name: \"log-shipper\" is already the name of sidecarSets[0]; set names must be unique"
        ), "{message}");
    }

    #[test]
    fn shared_volumes_must_be_identical_across_sets() {
        let a = with(
            base_set(),
            "/volumes",
            json!([{"name": "varlog", "emptyDir": {}}]),
        );
        let b = json!({"name": "b", "selector": {}, "volumes": [{"name": "varlog", "hostPath": {"path": "/var/log"}}]});
        assert_eq!(
            problems(json!({"sidecarSets": [a.clone(), b]})),
            "sidecarSets[1].volumes[0]: volume \"varlog\" differs from the one of the same name in sidecarSets[0].volumes[0]; sets that may apply to the same Pod must define a shared volume identically (or name them differently)"
        );
        let same =
            json!({"name": "b", "selector": {}, "volumes": [{"name": "varlog", "emptyDir": {}}]});
        assert_eq!(problems(json!({"sidecarSets": [a, same]})), "");
    }

    #[test]
    fn shared_volumes_are_compared_as_stored() {
        let set = |name: &str, volume: Value| {
            json!({"name": name, "selector": {}, "volumes": [volume],
                   "containers": [{"name": name, "image": "i", "volumeMounts": [{"name": "cfg", "mountPath": "/c"}]}]})
        };
        let written = json!({"name": "cfg", "configMap": {"name": "shared"}});
        let stored = json!({"name": "cfg", "configMap": {"name": "shared", "defaultMode": 420}});
        assert_eq!(
            problems(json!({"sidecarSets": [set("a", written), set("b", stored)]})),
            ""
        );
    }

    #[test]
    fn sidecar_ports_are_unique_across_sets() {
        let a = with(
            base_set(),
            "/containers/0/ports",
            json!([{"containerPort": 2020}]),
        );
        let b = json!({"name": "b", "selector": {}, "containers": [{"name": "y", "image": "y", "ports": [{"containerPort": 2020, "protocol": "TCP"}]}]});
        assert_eq!(
            problems(json!({"sidecarSets": [a, b]})),
            "sidecarSets[1].containers[0].ports[0]: port 2020/TCP is already used by sidecarSets[0].containers[0].ports[0]; containers of a Pod share one network namespace, so give each sidecar its own port"
        );
    }

    #[test]
    fn host_ports_are_unique_across_sets() {
        let exporter = |name: &str, container_port: u16| {
            json!({"name": name, "selector": {}, "containers": [{"name": name, "image": "e",
                "ports": [{"containerPort": container_port, "hostPort": 9400}]}]})
        };
        assert_eq!(
            problems(json!({"sidecarSets": [exporter("a", 9100), exporter("b", 9200)]})),
            "sidecarSets[1].containers[0].ports[0].hostPort: hostPort 9400/TCP is already used by sidecarSets[0].containers[0].ports[0]; a host port is unique per Pod (and node), so give each sidecar its own hostPort"
        );
    }

    #[test]
    fn near_misses_of_known_fields_are_typos() {
        let set = with(
            with(
                base_set(),
                "/containers/0/podInjectionPolicy",
                json!("AfterAppContainer"),
            ),
            "/containers/0/dependson",
            json!(["x"]),
        );
        assert_eq!(
            problems(one_set(set)),
            "sidecarSets[0].containers[0].dependson: fluent-bit: unknown field; did you mean `dependsOn`? (an unknown field would pass into the Pod unread); \
             sidecarSets[0].containers[0].podInjectionPolicy: fluent-bit: unknown field; did you mean `podInjectPolicy`? (an unknown field would pass into the Pod unread)"
        );
    }

    #[test]
    fn unknown_container_fields_pass_through() {
        let set = with(
            base_set(),
            "/containers/0/restartPolicyRules",
            json!([{"action": "Restart"}]),
        );
        assert_eq!(problems(one_set(set.clone())), "");
        let parsed = Settings::from_slice(one_set(set).to_string().as_bytes()).unwrap();
        let container =
            parsed.sidecar_sets[0].containers[0].to_pod_container(Placement::NativeSidecar);
        assert_eq!(
            container["restartPolicyRules"],
            json!([{"action": "Restart"}])
        );
        assert_eq!(container["restartPolicy"], json!("Always"));
        assert!(container.get("podInjectPolicy").is_none());
    }

    #[test]
    fn hash_ignores_key_order_and_selection_but_not_content() {
        let parse = |v: Value| {
            Settings::from_slice(one_set(v).to_string().as_bytes())
                .unwrap()
                .sidecar_sets
                .remove(0)
        };
        let a = parse(
            json!({"name": "a", "selector": {}, "containers": [{"name": "x", "image": "i:1"}]}),
        );
        let reordered = parse(
            json!({"containers": [{"image": "i:1", "name": "x"}], "selector": {"matchLabels": {"t": "w"}}, "name": "a"}),
        );
        let changed = parse(
            json!({"name": "a", "selector": {}, "containers": [{"name": "x", "image": "i:2"}]}),
        );
        assert_eq!(a.definition_hash(true), reordered.definition_hash(true));
        assert_ne!(a.definition_hash(true), changed.definition_hash(true));
        assert_ne!(a.definition_hash(true), a.definition_hash(false));
        assert_eq!(a.definition_hash(true).len(), 16);
    }

    #[rstest]
    #[case("a", true)]
    #[case("log-shipper-2", true)]
    #[case("", false)]
    #[case("-a", false)]
    #[case("a-", false)]
    #[case("A", false)]
    #[case("a.b", false)]
    fn dns_labels(#[case] name: &str, #[case] ok: bool) {
        assert_eq!(dns1123_label(name).is_ok(), ok);
        assert!(dns1123_label(&"a".repeat(64)).is_err());
    }
}
