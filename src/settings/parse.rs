//! Reading the settings: on `validate_settings`, all of them, with the
//! path of any bad field; on every `validate`, only the sets that may
//! select the Pod in full.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::*;

const NOT_A_MAPPING: &str = "the settings must be a mapping (a JSON object) with sidecarSets, nativeSidecars, mode, jobPods, explain, excludedNamespaces, skipHostNetworkPods, namespaceLookupFailure, podLevelResources, maxAddedRequests, protectInjected and checkPodSecurity";

/// A custom deserialization message that starts with this mark names a field
/// below the path serde_path_to_error reports; see [`format_path_error`].
pub(super) const FIELD_MARK: &str = "\u{1}";

/// Longest field path a message shows.
const MAX_PATH_LEN: usize = 120;

pub(super) fn format_path_error(
    prefix: &str,
    error: serde_path_to_error::Error<serde_json::Error>,
) -> String {
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
    // A message "FIELD_MARK field: text" names a field below the path.
    if let Some((field, text)) = message
        .strip_prefix(FIELD_MARK)
        .and_then(|rest| rest.split_once(": "))
    {
        if !full_path.is_empty() {
            full_path.push('.');
        }
        full_path.push_str(field);
        message = text.to_string();
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
    if full_path.is_empty() {
        message
    } else {
        format!("{full_path}: {message}")
    }
}

/// Reads `T` from `bytes` through serde_path_to_error, so that an error
/// names its path. Every tracked read goes through this one deserializer
/// type, so that the field deserializers are instantiated once: a second
/// instantiation of them would add tens of KB to the module.
pub(super) fn tracked<'de, T: Deserialize<'de>>(
    bytes: &'de [u8],
) -> Result<T, serde_path_to_error::Error<serde_json::Error>> {
    serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(bytes))
}

/// The settings with each set as the first pass reads it: read with the
/// request, in the same pass over the payload (`admission.rs`).
pub type Index<'a> = Settings<SetIndex<'a>>;

/// A value that must be a JSON object: serde reads a struct from an array
/// too (its fields in order), and settings are a mapping.
pub struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Fields<T> {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        deserializer
            .deserialize_map(Fields(std::marker::PhantomData))
            .map(Object)
    }
}

/// Reads the settings' index in one pass, without path tracking (it
/// allocates a string per key); an error is read again, tracked, for its path.
pub fn read_index<'a>(bytes: &'a [u8], path: &str) -> Result<Index<'a>, String> {
    // serde would also read a struct from a sequence; settings are a mapping.
    if !bytes.trim_ascii_start().starts_with(b"{") {
        return Err(if path.is_empty() {
            NOT_A_MAPPING.to_string()
        } else {
            format!("{path}: {NOT_A_MAPPING}")
        });
    }
    serde_json::from_slice(bytes).map_err(|error| {
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        match serde_path_to_error::deserialize::<_, Index>(&mut deserializer) {
            Err(e) => format_path_error(path, e),
            Ok(_) => match deserializer.end() {
                Err(e) => e.to_string(),
                Ok(()) => error.to_string(),
            },
        }
    })
}

/// Reads the definition field `key` of a set at `at` from its raw JSON;
/// absent is the default.
fn definition<T: for<'de> Deserialize<'de> + Default>(
    raw: Option<&RawValue>,
    at: &str,
    key: &str,
) -> Result<T, String> {
    match raw {
        None => Ok(T::default()),
        Some(raw) => tracked(raw.get().as_bytes()).map_err(|e| {
            let path = if at.is_empty() {
                key.to_string()
            } else {
                format!("{at}.{key}")
            };
            format_path_error(&path, e)
        }),
    }
}

impl SidecarSet {
    /// The set the index `set` describes, at path `at`: its definition
    /// fields read in full from their raw JSON.
    fn from_index(set: SetIndex, at: &str) -> Result<SidecarSet, String> {
        Ok(SidecarSet {
            init_containers: definition(set.init_containers, at, "initContainers")?,
            containers: definition(set.containers, at, "containers")?,
            volumes: definition(set.volumes, at, "volumes")?,
            image_pull_secrets: definition(set.image_pull_secrets, at, "imagePullSecrets")?,
            patch_pod_metadata: definition(set.patch_pod_metadata, at, "patchPodMetadata")?,
            revisions: definition(set.revisions, at, "revisions")?,
            allow_revision_pin: set.allow_revision_pin,
            pod_security: SetPodSecurity::read(
                definition(set.pod_security, at, "podSecurity")?,
                at,
            )?,
            update_strategy: definition(set.update_strategy, at, "updateStrategy")?,
            upgrade_strategy: definition(set.upgrade_strategy, at, "upgradeStrategy")?,
            revision_history_limit: definition(
                set.revision_history_limit,
                at,
                "revisionHistoryLimit",
            )?,
            name: set.name.into_owned(),
            mandatory: set.mandatory,
            selector: set.selector,
            namespace: set.namespace.map(Cow::into_owned),
            namespace_selector: set.namespace_selector,
            host_network_pods: set.host_network_pods,
            native_sidecars: set.native_sidecars,
            injection_strategy: set.injection_strategy,
        })
    }
}

impl<'de> Deserialize<'de> for SidecarSet {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(deserializer)?;
        let bytes = serde_json::to_vec(&value).map_err(D::Error::custom)?;
        let set: SetIndex =
            tracked(&bytes).map_err(|e| D::Error::custom(format_path_error("", e)))?;
        SidecarSet::from_index(set, "").map_err(D::Error::custom)
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
        Settings::parse_selected(bytes, path, &|_, _| true)
    }

    /// Parses the settings, but only the sets `may_apply` keeps (given
    /// each set's selection fields) in full; see [`Index::select`].
    pub fn parse_selected(
        bytes: &[u8],
        path: &str,
        may_apply: &dyn Fn(&Index, &SetIndex) -> bool,
    ) -> Result<Settings, String> {
        read_index(bytes, path)?.select(path, may_apply)
    }
}

impl Index<'_> {
    /// The settings with the sets `may_apply` keeps read in full: they come
    /// with every request, and most sets select no given Pod. validate_settings
    /// checked every set when the policy was loaded; an error names its path
    /// below `path`.
    pub fn select(
        mut self,
        path: &str,
        may_apply: &dyn Fn(&Index, &SetIndex) -> bool,
    ) -> Result<Settings, String> {
        let mut sidecar_sets = Vec::new();
        for (i, set) in std::mem::take(&mut self.sidecar_sets)
            .into_iter()
            .enumerate()
        {
            if may_apply(&self, &set) {
                let at = format!("{path}.sidecarSets[{i}]");
                sidecar_sets.push(SidecarSet::from_index(set, at.trim_start_matches('.'))?);
            }
        }
        Ok(self.with_sets(sidecar_sets))
    }
}

/// Captures a field's JSON as given, `null` included (absent is None).
fn raw<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// The index of a set lives in its own module to be named `SidecarSet`,
/// as serde's messages name it ("expected struct SidecarSet").
mod index {
    use std::borrow::Cow;

    use serde::Deserialize;
    use serde_json::value::RawValue;

    use crate::settings::{HostNetworkPods, InjectionStrategy, LabelSelector, null_as_default};

    /// A set as every request's first pass reads it: what selection needs is
    /// parsed; the definition is kept as raw JSON slices of the payload, read in
    /// full only for the sets that select the Pod ([`SidecarSet::from_index`]).
    /// The fields are [`crate::settings::SidecarSet`]'s.
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct SidecarSet<'a> {
        #[serde(borrow)]
        pub name: Cow<'a, str>,
        #[serde(default)]
        pub mandatory: bool,
        #[serde(default)]
        pub selector: Option<LabelSelector>,
        #[serde(default, borrow)]
        pub namespace: Option<Cow<'a, str>>,
        #[serde(default)]
        pub namespace_selector: Option<LabelSelector>,
        #[serde(default, deserialize_with = "null_as_default")]
        pub host_network_pods: HostNetworkPods,
        #[serde(default)]
        pub native_sidecars: Option<bool>,
        #[serde(default, borrow, deserialize_with = "super::raw")]
        pub(super) init_containers: Option<&'a RawValue>,
        #[serde(default, borrow, deserialize_with = "super::raw")]
        pub(super) containers: Option<&'a RawValue>,
        #[serde(default, borrow, deserialize_with = "super::raw")]
        pub(super) volumes: Option<&'a RawValue>,
        #[serde(default, borrow, deserialize_with = "super::raw")]
        pub(super) image_pull_secrets: Option<&'a RawValue>,
        #[serde(default)]
        pub injection_strategy: InjectionStrategy,
        #[serde(default, borrow, deserialize_with = "super::raw")]
        pub(super) patch_pod_metadata: Option<&'a RawValue>,
        #[serde(default, borrow, deserialize_with = "super::raw")]
        pub(super) revisions: Option<&'a RawValue>,
        #[serde(default)]
        pub allow_revision_pin: bool,
        #[serde(default, borrow, deserialize_with = "super::raw")]
        pub(super) pod_security: Option<&'a RawValue>,
        #[serde(default, borrow, deserialize_with = "super::raw")]
        pub(super) update_strategy: Option<&'a RawValue>,
        #[serde(default, borrow, deserialize_with = "super::raw")]
        pub(super) upgrade_strategy: Option<&'a RawValue>,
        #[serde(default, borrow, deserialize_with = "super::raw")]
        pub(super) revision_history_limit: Option<&'a RawValue>,
    }
}

pub use index::SidecarSet as SetIndex;
