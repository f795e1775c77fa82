//! The policy whose decisions are shown: a Kubewarden ClusterAdmissionPolicy
//! (or AdmissionPolicy), from a file or from the cluster. Its settings are
//! checked by the policy's own `validate_settings` before any use.

use serde_json::{Map, Value};
use sidecarset_policy::settings::LabelSelector;
use sidecarset_policy::settings::update_strategy::UpdateStrategy;

/// A policy's name, its settings, and the selectors of its webhook.
#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
    /// `AdmissionPolicy`: the one namespace it judges.
    pub namespace: Option<String>,
    pub settings: Value,
    namespace_selector: Option<LabelSelector>,
    object_selector: Option<LabelSelector>,
}

impl Policy {
    /// From a ClusterAdmissionPolicy or AdmissionPolicy object; `source`
    /// names where it came from, for messages.
    pub fn from_object(object: &Value, source: &str) -> Result<Policy, String> {
        let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
        if !matches!(kind, "ClusterAdmissionPolicy" | "AdmissionPolicy") {
            return Err(format!(
                "{source}: a {} is not a ClusterAdmissionPolicy or AdmissionPolicy; give the policy that runs sidecarset-policy (e.g. examples/cluster-admission-policy.yaml)",
                if kind.is_empty() {
                    "document without kind"
                } else {
                    kind
                }
            ));
        }
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let settings = match object.pointer("/spec/settings") {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(settings) => settings.clone(),
        };
        let bytes = serde_json::to_vec(&settings).unwrap_or_default();
        let checked = sidecarset_policy::check_settings(&bytes);
        if !checked.valid {
            return Err(format!(
                "{source}: the policy's settings are not valid: {}",
                checked.message.unwrap_or_default()
            ));
        }
        let selector = |pointer: &str| -> Result<Option<LabelSelector>, String> {
            match object.pointer(pointer) {
                None | Some(Value::Null) => Ok(None),
                Some(value) => serde_json::from_value(value.clone())
                    .map(Some)
                    .map_err(|e| format!("{source}: {}: {e}", &pointer[1..].replace('/', "."))),
            }
        };
        Ok(Policy {
            name,
            namespace: (kind == "AdmissionPolicy")
                .then(|| {
                    object
                        .pointer("/metadata/namespace")
                        .and_then(Value::as_str)
                })
                .flatten()
                .map(String::from),
            settings,
            namespace_selector: selector("/spec/namespaceSelector")?,
            object_selector: selector("/spec/objectSelector")?,
        })
    }

    /// From the documents of a file: the first policy among them.
    pub fn from_documents(documents: &[Value], source: &str) -> Result<Policy, String> {
        let policy = documents.iter().find(|d| {
            matches!(
                d.get("kind").and_then(Value::as_str),
                Some("ClusterAdmissionPolicy" | "AdmissionPolicy")
            )
        });
        match (policy, documents.first()) {
            (Some(policy), _) => Policy::from_object(policy, source),
            (None, Some(first)) => Policy::from_object(first, source),
            (None, None) => Err(format!("{source}: no document in it")),
        }
    }

    /// The names of the sidecar sets, in the settings' order.
    pub fn set_names(&self) -> Vec<String> {
        self.sets()
            .iter()
            .filter_map(|s| s.get("name").and_then(Value::as_str).map(String::from))
            .collect()
    }

    fn sets(&self) -> &[Value] {
        self.settings
            .get("sidecarSets")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// A set's definition as the settings give it.
    pub fn set(&self, name: &str) -> Option<&Value> {
        self.sets()
            .iter()
            .find(|s| s.get("name").and_then(Value::as_str) == Some(name))
    }

    /// A set's OpenKruise `updateStrategy` (checked with the settings).
    pub fn update_strategy(&self, name: &str) -> UpdateStrategy {
        let value = self.set(name).and_then(|s| s.get("updateStrategy"));
        UpdateStrategy::read(value, name).unwrap_or_default()
    }

    /// Whether the policy's webhook sees objects in this namespace, with
    /// these Namespace and object labels (its namespaceSelector and
    /// objectSelector, and an AdmissionPolicy's own namespace).
    pub fn sees(
        &self,
        namespace: &str,
        namespace_labels: &Map<String, Value>,
        labels: &Map<String, Value>,
    ) -> bool {
        if self.namespace.as_deref().is_some_and(|n| n != namespace) {
            return false;
        }
        let matches = |selector: &Option<LabelSelector>, labels: &Map<String, Value>| {
            selector.as_ref().is_none_or(|s| {
                sidecarset_policy::selector::matches_with(s, |key| {
                    labels.get(key).and_then(Value::as_str)
                })
            })
        };
        matches(&self.namespace_selector, namespace_labels)
            && matches(&self.object_selector, labels)
    }
}
