//! The settings schema: a superset of the OpenKruise SidecarSet spec, with the
//! same field names where the meaning is the same.
//!
//! Parsing happens on every `validate` call (policy-server sends the settings
//! with each request), so it only does what serde does cheaply: structure,
//! enums and unknown keys of this policy's own fields. The expensive checks
//! (type-checking the embedded corev1 specs, names, uniqueness) live in
//! [`Settings::validate`], which runs once in `validate_settings`.

mod apiserver;
mod app_containers;
mod container;
/// The settings' JSON Schema (settings.schema.json): native builds only.
#[cfg(not(target_arch = "wasm32"))]
pub mod json_schema;
mod locate;
mod parse;
pub(crate) mod read;
mod shutdown;
#[cfg(test)]
mod tests;
pub mod update_strategy;
mod validate;

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::de::Deserializer;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use app_containers::{AppContainers, LISTS};
pub use container::ContainerSpec;
pub use parse::{Index, Object, SetIndex, read_index};
pub use shutdown::Shutdown;
pub use validate::dns1123_label;

use crate::order::Placement;
pub use crate::pod_security::{OnViolation, SetPodSecurity};

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
    /// For Pods that declare Pod-level resources (`spec.resources`).
    #[serde(default)]
    pub pod_level_resources: PodLevelResources,
    /// The most injection may raise a Pod's effective request, per resource.
    #[serde(default)]
    pub max_added_requests: BTreeMap<String, QuantityText>,
    /// A Pod UPDATE may set an injected container's image only to one of
    /// its set's revisions.
    #[serde(default = "default_true")]
    pub protect_injected: bool,
    /// Judge what the sets add against the Namespace's Pod Security
    /// level (its labels read through the host) before the API server does.
    #[serde(default = "default_true")]
    pub check_pod_security: bool,
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
            pod_level_resources: PodLevelResources::default(),
            max_added_requests: BTreeMap::new(),
            protect_injected: true,
            check_pod_security: true,
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
            pod_level_resources: self.pod_level_resources,
            max_added_requests: self.max_added_requests,
            protect_injected: self.protect_injected,
            check_pod_security: self.check_pod_security,
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

pub(crate) fn default_true() -> bool {
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

/// What injection does to a Pod that declares Pod-level resources
/// (`spec.resources`, KEP-2837), which its containers must fit in.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum PodLevelResources {
    /// Raise the Pod-level values by what the sidecars add (with a warning).
    #[default]
    Add,
    /// Reject a Pod whose containers would no longer fit.
    Reject,
}

/// A quantity as the settings give it: a string (`500m`, `1Gi`) or a
/// number (`1`), as in a Pod. Checked by `validate_settings`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuantityText(pub String);

impl<'de> Deserialize<'de> for QuantityText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A visitor, not a Value read and then checked: a wrong type is
        // refused where it starts, which is where its error is located.
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = QuantityText;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a quantity, such as 500m or 1Gi")
            }
            fn visit_str<E>(self, text: &str) -> Result<QuantityText, E> {
                Ok(QuantityText(text.to_string()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<QuantityText, E> {
                Ok(QuantityText(n.to_string()))
            }
            fn visit_i64<E>(self, n: i64) -> Result<QuantityText, E> {
                Ok(QuantityText(n.to_string()))
            }
            fn visit_f64<E>(self, n: f64) -> Result<QuantityText, E> {
                // serde_json's own spelling of the number.
                Ok(QuantityText(
                    serde_json::Number::from_f64(n)
                        .map(|n| n.to_string())
                        .unwrap_or_default(),
                ))
            }
        }
        deserializer.deserialize_any(Text)
    }
}

/// OpenKruise's resourcesPolicy: a sidecar's resources computed from the
/// Pod's own containers when the Pod is created.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourcesPolicy {
    /// The alias is the spelling of OpenKruise's proposal.
    #[serde(alias = "targetContainerMode")]
    pub target_containers_mode: TargetMode,
    /// Matched against the whole name (as if between `^` and `$`).
    #[serde(default = "match_all")]
    pub target_containers_name_regex: String,
    #[serde(alias = "resourceExpr")]
    pub resources_expr: ResourcesExpr,
}

fn match_all() -> String {
    ".*".to_string()
}

/// How the targets' values combine into the expressions' `cpu` and `memory`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetMode {
    Sum,
    Max,
}

/// Expressions by resource (`cpu`, `memory`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourcesExpr {
    #[serde(default)]
    pub requests: BTreeMap<String, String>,
    #[serde(default)]
    pub limits: BTreeMap<String, String>,
}

/// What a Pod's `sidecarset.kubewarden.io/resources.<container>` annotation
/// may set the container's requests and limits to, by resource.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceBounds {
    #[serde(default)]
    pub min: BTreeMap<String, QuantityText>,
    #[serde(default)]
    pub max: BTreeMap<String, QuantityText>,
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
/// Read through its [`SetIndex`] (parse.rs), which has the same fields.
#[derive(Debug, Clone)]
pub struct SidecarSet {
    pub name: String,
    /// Pods cannot opt out of a mandatory set.
    pub mandatory: bool,
    /// Required; an `Option` only so that a missing selector gets our message.
    pub selector: Option<LabelSelector>,
    pub namespace: Option<String>,
    /// A metav1.LabelSelector over the labels of the Pod's Namespace, read
    /// through the host (`kubernetes/get_resource`).
    pub namespace_selector: Option<LabelSelector>,
    /// Overrides `skipHostNetworkPods` for this set.
    pub host_network_pods: HostNetworkPods,
    pub native_sidecars: Option<bool>,
    pub init_containers: Vec<ContainerSpec>,
    pub containers: Vec<ContainerSpec>,
    pub volumes: Vec<Map<String, Value>>,
    pub image_pull_secrets: Vec<LocalObjectReference>,
    pub injection_strategy: InjectionStrategy,
    pub patch_pod_metadata: Vec<PatchPodMetadata>,
    /// Other revisions of the set: image overrides by container name. The
    /// set's own definition is the revision `current`.
    pub revisions: Vec<Revision>,
    /// Whether a Pod may pin its revision with an annotation.
    pub allow_revision_pin: bool,
    /// Whether a Namespace label may pin the revision of its new Pods.
    pub allow_namespace_pin: bool,
    /// Tags: names that follow a revision (tag → revision or `current`), as
    /// given (a tag given twice stays, for validate_settings to name).
    pub tags: Vec<(String, String)>,
    /// The Pod Security level the set declares, what it does in a
    /// Namespace whose level it breaks, the defaults it fills.
    pub pod_security: SetPodSecurity,
    /// What the set gives the Pod's own containers.
    pub app_containers: Option<AppContainers>,
    /// How the set's drains fit a Pod's grace period.
    pub shutdown: Shutdown,
    /// OpenKruise's rollout (`update_strategy::UpdateStrategy`), as the
    /// JSON text the settings give: read only by `validate` (and kubectl
    /// sidecarset upgrade); admission ignores it, so it is not parsed on
    /// every request.
    pub update_strategy: Option<String>,
    // OpenKruise fields that need its controller. They are parsed only so
    // that `validate` can explain why they are refused.
    pub upgrade_strategy: Option<Value>,
    pub revision_history_limit: Option<Value>,
}

impl SidecarSet {
    /// The set's container or init container named `name`.
    pub fn container(&self, name: &str) -> Option<&ContainerSpec> {
        self.init_containers
            .iter()
            .chain(&self.containers)
            .find(|c| c.name() == name)
    }

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
        crate::provenance::definition_hash(self.definition_state(), native)
    }

    /// The definition hash without images: what an in-place upgrade may
    /// not change.
    pub fn imageless_hash(&self, native: bool) -> String {
        let state = self.definition_state_with(&|c: &ContainerSpec| c.base_hash);
        crate::provenance::definition_hash(state, native)
    }

    /// The hash state of what the set injects, from the values read (not
    /// their text): each field in its place, an absent list as an empty one.
    fn definition_state(&self) -> u64 {
        self.definition_state_with(&|c: &ContainerSpec| c.hash)
    }

    /// [`SidecarSet::definition_state`] with each container hashed by
    /// `hash` (a revision mixes in its image).
    pub(crate) fn definition_state_with(&self, hash: &dyn Fn(&ContainerSpec) -> u64) -> u64 {
        use crate::provenance::{map_state, mix, words};
        let containers = |state, list: &[ContainerSpec]| {
            list.iter()
                .fold(mix(state, list.len() as u64), |s, c| mix(s, hash(c)))
        };
        let mut state = containers(1, &self.init_containers);
        state = containers(mix(state, 2), &self.containers);
        state = mix(state, self.volumes.len() as u64);
        for volume in &self.volumes {
            state = map_state(state, volume);
        }
        state = mix(state, self.image_pull_secrets.len() as u64);
        for secret in &self.image_pull_secrets {
            state = mix(state, words(secret.name.as_bytes()));
        }
        // Defaults change what the containers become (mixed in only when
        // on: the hashes of existing sets, in running Pods' records, stay).
        if self.pod_security.defaults {
            state = mix(state, 0x5ec);
        }
        // What the app containers get (mixed in only when given, as above).
        if let Some(app) = &self.app_containers {
            state = mix(state, app.state);
        }
        state = mix(state, self.patch_pod_metadata.len() as u64);
        for patch in &self.patch_pod_metadata {
            state = mix(state, patch.patch_policy as u64);
            for (key, value) in &patch.annotations {
                state = mix(mix(state, words(key.as_bytes())), words(value.as_bytes()));
            }
        }
        state
    }
}

/// A metav1.LabelSelector. Unknown keys are refused: a typo such as
/// `matchLabel` would otherwise select every Pod.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelector {
    #[serde(default, deserialize_with = "null_as_default")]
    pub match_labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "mappings")]
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

/// A struct that must be given as a mapping: serde also reads a struct
/// from a sequence (its fields in order), and `selector: []` would select
/// every Pod.
pub(crate) fn mapping<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    parse::Object::<T>::deserialize(deserializer).map(|parse::Object(t)| t)
}

/// [`mapping`], where null or absent is None.
pub(crate) fn optional_mapping<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<parse::Object<T>>::deserialize(deserializer)?.map(|parse::Object(t)| t))
}

/// A list of mappings (null: none).
fn mappings<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let items = Option::<Vec<parse::Object<T>>>::deserialize(deserializer)?;
    Ok(items
        .unwrap_or_default()
        .into_iter()
        .map(|parse::Object(t)| t)
        .collect())
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
    /// New Pods on another revision, by a deterministic bucket.
    #[serde(default, deserialize_with = "optional_mapping")]
    pub canary: Option<Canary>,
}

/// A canary: Pods whose bucket is below `percent` get `revision`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Canary {
    pub revision: String,
    pub percent: u32,
    #[serde(default)]
    pub by: CanaryKey,
}

/// What a canary's bucket is computed from.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CanaryKey {
    /// The Pod's controller (all Pods of a ReplicaSet get the same revision).
    #[default]
    Owner,
    /// The Pod itself.
    Pod,
}

/// A revision of a set: the set's definition with other images.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Revision {
    pub name: String,
    /// Container (or init container) name → image.
    #[serde(default)]
    pub images: BTreeMap<String, String>,
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
    "resourcesPolicy",
    "resourceBounds",
    "critical",
    "drainSeconds",
    // OpenKruise's, accepted as ColdUpgrade only (settings/container.rs).
    "upgradeStrategy",
];

/// Budget of a startupProbe derived from a readinessProbe, in seconds.
pub const DEFAULT_READY_TIMEOUT_SECONDS: u32 = 120;
/// Upper bound of readyTimeoutSeconds, drainSeconds and
/// maxGracePeriodSeconds: a day.
pub const MAX_SECONDS: u32 = 86_400;

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
