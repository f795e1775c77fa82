//! Reading the settings: on `validate_settings`, all of them, with the
//! path of any bad field; on every `validate`, only the sets that may
//! select the Pod in full.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::read;
use super::*;

const NOT_A_MAPPING: &str = "the settings must be a mapping (a JSON object) with sidecarSets, nativeSidecars, mode, jobPods, explain, excludedNamespaces, skipHostNetworkPods, namespaceLookupFailure, podLevelResources, maxAddedRequests, protectInjected and checkPodSecurity";

/// A custom deserialization message that starts with this mark names a field
/// below the path the error is located at; see [`format_path_error`].
pub(super) const FIELD_MARK: &str = "\u{1}";

/// Longest field path a message shows.
const MAX_PATH_LEN: usize = 120;

/// The message of a reading error of the JSON `bytes`, found at `prefix`,
/// with the path of the field it is about.
/// The end of serde's list of a set's fields that are refused (read only to
/// say why: `settings/validate.rs`).
const REFUSED_EXPECTED: &str = ", `upgradeStrategy`";

pub(super) fn format_path_error(prefix: &str, bytes: &[u8], error: serde_json::Error) -> String {
    let path = super::locate::path_of_error(bytes, &error);
    let mut message = error.to_string();
    // Nothing to name (trailing characters after the settings): the
    // position is all there is.
    if path.is_empty() && prefix.is_empty() {
        return message;
    }
    let path = if path.is_empty() {
        ".".to_string()
    } else {
        path
    };
    // serde_json appends " at line L column C": meaningless to a user who
    // wrote YAML in a ClusterAdmissionPolicy.
    if let Some(at) = message.rfind(" at line ") {
        message.truncate(at);
    }
    // OpenKruise's fields a set may not have are read only to be refused
    // with their reason: a typo is never told to expect them.
    if let Some(at) = message.find(REFUSED_EXPECTED) {
        message.replace_range(at..at + REFUSED_EXPECTED.len(), "");
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
/// allocates a string per key); an error is located afterwards (`locate.rs`).
pub fn read_index<'a>(bytes: &'a [u8], path: &str) -> Result<Index<'a>, String> {
    // serde would also read a struct from a sequence; settings are a mapping.
    if !bytes.trim_ascii_start().starts_with(b"{") {
        return Err(if path.is_empty() {
            NOT_A_MAPPING.to_string()
        } else {
            format!("{path}: {NOT_A_MAPPING}")
        });
    }
    serde_json::from_slice(bytes).map_err(|error| format_path_error(path, bytes, error))
}

/// The definition field `key` of a set at `at`, read from its raw JSON
/// into a value (absent: None); the hand readers of `read.rs` take it from
/// there. Only an input too deep to read is an error here.
fn definition(raw: Option<&RawValue>, at: &str, key: &str) -> Result<Option<Value>, String> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let bytes = raw.get().as_bytes();
    serde_json::from_slice(bytes)
        .map(Some)
        .map_err(|error| format_path_error(&field_path(at, key), bytes, error))
}

fn field_path(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_string()
    } else {
        format!("{at}.{key}")
    }
}

/// Where a definition field is: its set's path and its key. Paths are
/// written only for a message: formatting costs on every request.
#[derive(Clone, Copy)]
struct Field<'a> {
    at: &'a str,
    key: &'static str,
}

impl Field<'_> {
    fn path(self) -> String {
        field_path(self.at, self.key)
    }

    fn item(self, j: usize) -> String {
        format!("{}[{j}]", self.path())
    }

    /// The field's items (absent or null: none).
    fn list(self, value: Option<Value>) -> Result<Vec<Value>, String> {
        match value {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items),
            Some(other) => Err(read::invalid_type(&self.path(), &other, "a sequence")),
        }
    }

    /// The field's items, each an object.
    fn maps(self, value: Option<Value>) -> Result<Vec<Map<String, Value>>, String> {
        let mut maps = Vec::new();
        for (j, item) in self.list(value)?.into_iter().enumerate() {
            match item {
                Value::Object(map) => maps.push(map),
                other => return Err(read::invalid_type(&self.item(j), &other, "a map")),
            }
        }
        Ok(maps)
    }

    /// The field's items, each the struct `name` with the `known` fields.
    fn structs(
        self,
        value: Option<Value>,
        name: &str,
        known: &[&str],
    ) -> Result<Vec<Map<String, Value>>, String> {
        let mut maps = Vec::new();
        for (j, item) in self.list(value)?.into_iter().enumerate() {
            maps.push(read::fields(item, &self.item(j), name, known)?);
        }
        Ok(maps)
    }
}

/// The containers (or init containers) of `field`.
fn containers(value: Option<Value>, field: Field) -> Result<Vec<ContainerSpec>, String> {
    let mut read = Vec::new();
    for (j, map) in field.maps(value)?.into_iter().enumerate() {
        // A message "FIELD_MARK field: text" names a field of the container.
        let container =
            ContainerSpec::from_map(map).map_err(|e| match e.strip_prefix(FIELD_MARK) {
                Some(rest) => format!("{}.{rest}", field.item(j)),
                None => format!("{}: {e}", field.item(j)),
            })?;
        read.push(container);
    }
    Ok(read)
}

/// A required string member `key` of the struct at `at`.
fn required(
    fields: &mut Map<String, Value>,
    key: &str,
    at: &dyn Fn() -> String,
) -> Result<String, String> {
    match fields.remove(key) {
        Some(value) => read::string(value, &format!("{}.{key}", at())),
        None => Err(format!("{}: missing field `{key}`", at())),
    }
}

/// The imagePullSecrets of `field`.
fn pull_secrets(value: Option<Value>, field: Field) -> Result<Vec<LocalObjectReference>, String> {
    let mut read = Vec::new();
    for (j, mut fields) in field
        .structs(value, "LocalObjectReference", &["name"])?
        .into_iter()
        .enumerate()
    {
        let name = required(&mut fields, "name", &|| field.item(j))?;
        read.push(LocalObjectReference { name });
    }
    Ok(read)
}

/// The patchPodMetadata of `field`.
fn patches(value: Option<Value>, field: Field) -> Result<Vec<PatchPodMetadata>, String> {
    let mut read = Vec::new();
    let known = ["annotations", "patchPolicy"];
    for (j, mut fields) in field
        .structs(value, "PatchPodMetadata", &known)?
        .into_iter()
        .enumerate()
    {
        let at = || field.item(j);
        let annotations = match fields.remove("annotations") {
            None => BTreeMap::new(),
            some => read::strings(some, &format!("{}.annotations", at()))?,
        };
        let patch_policy = match fields.remove("patchPolicy") {
            None | Some(Value::Null) => PatchPolicy::default(),
            Some(policy) => match policy.as_str() {
                Some("Retain") => PatchPolicy::Retain,
                Some("Overwrite") => PatchPolicy::Overwrite,
                Some("MergePatchJson") => PatchPolicy::MergePatchJson,
                _ => {
                    return Err(read::unknown_variant(
                        &format!("{}.patchPolicy", at()),
                        &policy,
                        &["Retain", "Overwrite", "MergePatchJson"],
                    ));
                }
            },
        };
        read.push(PatchPodMetadata {
            annotations,
            patch_policy,
        });
    }
    Ok(read)
}

/// A set's tags, in the order given, a tag given twice included: a map's
/// members read one by one (a map type would keep one of the two).
fn tags(raw: Option<&RawValue>, at: &str) -> Result<Vec<(String, String)>, String> {
    struct Pairs(Vec<(String, Value)>);
    impl<'de> Deserialize<'de> for Pairs {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Members;
            impl<'de> serde::de::Visitor<'de> for Members {
                type Value = Pairs;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a map of tag names to revision names")
                }
                fn visit_unit<E>(self) -> Result<Pairs, E> {
                    Ok(Pairs(Vec::new()))
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Pairs, A::Error> {
                    let mut pairs = Vec::new();
                    while let Some(pair) = map.next_entry()? {
                        pairs.push(pair);
                    }
                    Ok(Pairs(pairs))
                }
            }
            d.deserialize_any(Members)
        }
    }
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    let path = || field_path(at, "tags");
    let bytes = raw.get().as_bytes();
    let Pairs(pairs) =
        serde_json::from_slice(bytes).map_err(|e| format_path_error(&path(), bytes, e))?;
    let mut tags = Vec::new();
    for (tag, revision) in pairs {
        let revision = read::string(revision, &format!("{}.{tag}", path()))?;
        tags.push((tag, revision));
    }
    Ok(tags)
}

/// The revisions of `field`.
fn revisions(value: Option<Value>, field: Field) -> Result<Vec<Revision>, String> {
    let mut read = Vec::new();
    for (j, mut fields) in field
        .structs(value, "Revision", &["name", "images"])?
        .into_iter()
        .enumerate()
    {
        let at = || field.item(j);
        let name = required(&mut fields, "name", &at)?;
        let images = match fields.remove("images") {
            None => BTreeMap::new(),
            some => read::strings(some, &format!("{}.images", at()))?,
        };
        read.push(Revision { name, images });
    }
    Ok(read)
}

impl SidecarSet {
    /// The set the index `set` describes, at path `at`: its definition
    /// fields read in full from their raw JSON.
    fn from_index(set: SetIndex, at: &str) -> Result<SidecarSet, String> {
        // A field's value, and where it is.
        let field = |raw, key| Ok::<_, String>((definition(raw, at, key)?, Field { at, key }));
        let (value, f) = field(set.init_containers, "initContainers")?;
        let init_containers = containers(value, f)?;
        let (value, f) = field(set.containers, "containers")?;
        let containers = containers(value, f)?;
        let (value, f) = field(set.volumes, "volumes")?;
        let volumes = f.maps(value)?;
        let (value, f) = field(set.image_pull_secrets, "imagePullSecrets")?;
        let image_pull_secrets = pull_secrets(value, f)?;
        let (value, f) = field(set.patch_pod_metadata, "patchPodMetadata")?;
        let patch_pod_metadata = patches(value, f)?;
        let (value, f) = field(set.revisions, "revisions")?;
        let revisions = revisions(value, f)?;
        // Kept only for the message that refuses them (null: absent).
        let kept = |raw, key| Ok::<_, String>(field(raw, key)?.0.filter(|v| !v.is_null()));
        Ok(SidecarSet {
            init_containers,
            containers,
            volumes,
            image_pull_secrets,
            patch_pod_metadata,
            revisions,
            allow_revision_pin: set.allow_revision_pin,
            allow_namespace_pin: set.allow_namespace_pin,
            tags: tags(set.tags, at)?,
            pod_security: SetPodSecurity::read(field(set.pod_security, "podSecurity")?.0, at)?,
            app_containers: AppContainers::read(field(set.app_containers, "appContainers")?.0, at)?,
            shutdown: Shutdown::read(field(set.shutdown, "shutdown")?.0, at)?,
            update_strategy: set
                .update_strategy
                .map(|raw| raw.get())
                .filter(|text| *text != "null")
                .map(String::from),
            upgrade_strategy: kept(set.upgrade_strategy, "upgradeStrategy")?,
            revision_history_limit: kept(set.revision_history_limit, "revisionHistoryLimit")?,
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
        let set: SetIndex = serde_json::from_slice(&bytes)
            .map_err(|e| D::Error::custom(format_path_error("", &bytes, e)))?;
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
        #[serde(default, deserialize_with = "crate::settings::optional_mapping")]
        pub selector: Option<LabelSelector>,
        #[serde(default, borrow)]
        pub namespace: Option<Cow<'a, str>>,
        #[serde(default, deserialize_with = "crate::settings::optional_mapping")]
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
        #[serde(default, deserialize_with = "crate::settings::mapping")]
        pub injection_strategy: InjectionStrategy,
        #[serde(default, borrow, deserialize_with = "super::raw")]
        pub(super) patch_pod_metadata: Option<&'a RawValue>,
        #[serde(default, borrow, deserialize_with = "super::raw")]
        pub(super) revisions: Option<&'a RawValue>,
        #[serde(default)]
        pub allow_revision_pin: bool,
        #[serde(default = "crate::settings::default_true")]
        pub allow_namespace_pin: bool,
        #[serde(default, borrow, deserialize_with = "super::raw")]
        pub(super) tags: Option<&'a RawValue>,
        #[serde(default, borrow, deserialize_with = "super::raw")]
        pub(super) pod_security: Option<&'a RawValue>,
        #[serde(default, borrow, deserialize_with = "super::raw")]
        pub(super) app_containers: Option<&'a RawValue>,
        #[serde(default, borrow, deserialize_with = "super::raw")]
        pub(super) shutdown: Option<&'a RawValue>,
        #[serde(default, borrow, deserialize_with = "super::raw")]
        pub(super) update_strategy: Option<&'a RawValue>,
        #[serde(default, borrow, deserialize_with = "super::raw")]
        pub(super) upgrade_strategy: Option<&'a RawValue>,
        #[serde(default, borrow, deserialize_with = "super::raw")]
        pub(super) revision_history_limit: Option<&'a RawValue>,
    }
}

pub use index::SidecarSet as SetIndex;
