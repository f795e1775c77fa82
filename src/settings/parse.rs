//! Reading the settings: on `validate_settings`, all of them, with the
//! path of any bad field; on every `validate`, only the sets that may
//! select the Pod in full.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::*;

const NOT_A_MAPPING: &str = "the settings must be a mapping (a JSON object) with sidecarSets, nativeSidecars, mode, jobPods, explain, excludedNamespaces, skipHostNetworkPods and namespaceLookupFailure";

/// A custom deserialization message that starts with this mark names a field
/// below the path serde_path_to_error reports; see [`format_path_error`].
pub(super) const FIELD_MARK: &str = "\u{1}";

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
