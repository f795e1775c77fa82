//! The namespace a Pod (or workload) is created in, and the labels of its
//! Namespace object. The labels are read through the host only when a set
//! that would apply has a namespaceSelector, and at most once per request.

use serde_json::{Map, Value, json};

/// `metadata.labels` of a Namespace, as the host returned it.
pub type Labels = Map<String, Value>;

/// Reads the labels of a Namespace: the Kubewarden host in the module
/// (`lib.rs`), a table in tests.
pub type Lookup<'a> = &'a mut dyn FnMut(&str) -> Result<Labels, String>;

pub struct Namespace<'a> {
    pub name: &'a str,
    lookup: Option<Lookup<'a>>,
    read: Option<Result<Labels, String>>,
}

impl<'a> Namespace<'a> {
    /// A namespace whose labels cannot be read (no host to ask).
    pub fn new(name: &'a str) -> Self {
        Namespace::with_lookup(name, None)
    }

    /// A namespace whose labels `lookup` reads (None: they cannot be read).
    pub fn with_lookup(name: &'a str, lookup: Option<Lookup<'a>>) -> Self {
        Namespace {
            name,
            lookup,
            read: None,
        }
    }

    /// Whether there is a host to read the labels from (tests and fuzzing
    /// run without one).
    pub fn has_host(&self) -> bool {
        self.lookup.is_some()
    }

    /// Whether the labels were read, and could be.
    pub fn was_read(&self) -> bool {
        matches!(self.read, Some(Ok(_)))
    }

    /// The Namespace's labels, read on the first call only.
    pub fn labels(&mut self) -> Result<&Labels, &str> {
        let read = self.read.get_or_insert_with(|| match self.lookup.as_mut() {
            None => Err("the policy runs without a host to read it from".to_string()),
            // A host's error is echoed in answers: cut, the cut marked.
            Some(lookup) => lookup(self.name).map_err(|e| {
                crate::annotations::clip_at(&e, crate::annotations::HOST_ECHOED).into_owned()
            }),
        });
        read.as_ref().map_err(String::as_str)
    }
}

/// The `kubernetes/get_resource` request for a Namespace's labels (the host
/// prunes the rest), as the Kubewarden SDK's `GetResourceRequest` serializes
/// it. The SDK's own function sits behind its `cluster-context` feature,
/// which brings k8s-openapi into the module; a `Value` reuses the
/// serializer the module has anyway.
pub fn namespace_request(name: &str) -> Vec<u8> {
    let request = json!({
        "api_version": "v1",
        "kind": "Namespace",
        "name": name,
        "namespace": null,
        "disable_cache": false,
        "field_masks": ["metadata.labels"],
    });
    serde_json::to_vec(&request).unwrap_or_default()
}

/// The labels of the Namespace the host returned, kept as JSON: a typed
/// reading would add a deserializer to the module for two fields.
pub fn labels_of(response: &[u8]) -> Result<Labels, String> {
    let not_a_namespace = |what: &str| format!("the host's answer is not a Namespace: {what}");
    let namespace: Value =
        serde_json::from_slice(response).map_err(|e| not_a_namespace(&e.to_string()))?;
    let Value::Object(mut namespace) = namespace else {
        return Err(not_a_namespace("not an object"));
    };
    let labels = match namespace.remove("metadata") {
        Some(Value::Object(mut metadata)) => metadata.remove("labels"),
        None | Some(Value::Null) => None,
        Some(_) => return Err(not_a_namespace("metadata is not a mapping")),
    };
    match labels {
        None | Some(Value::Null) => Ok(Labels::new()),
        Some(Value::Object(labels)) => Ok(labels),
        Some(_) => Err(not_a_namespace("metadata.labels is not a mapping")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_read_once() {
        let mut calls = 0;
        let mut lookup = |name: &str| {
            calls += 1;
            Ok(Labels::from_iter([("name".to_string(), json!(name))]))
        };
        let mut ns = Namespace::with_lookup("shop", Some(&mut lookup));
        assert_eq!(ns.labels().unwrap()["name"], "shop");
        assert_eq!(ns.labels().unwrap()["name"], "shop");
        drop(ns);
        assert_eq!(calls, 1);
    }

    #[test]
    fn without_a_host_the_labels_cannot_be_read() {
        assert_eq!(
            Namespace::new("shop").labels(),
            Err("the policy runs without a host to read it from")
        );
    }

    #[test]
    fn request_is_the_sdks_wire_format() {
        assert_eq!(
            serde_json::from_slice::<Value>(&namespace_request("shop")).unwrap(),
            json!({"api_version": "v1", "kind": "Namespace", "name": "shop", "namespace": null, "disable_cache": false, "field_masks": ["metadata.labels"]})
        );
    }

    #[test]
    fn response_labels() {
        assert_eq!(
            labels_of(
                br#"{"apiVersion":"v1","kind":"Namespace","metadata":{"labels":{"mesh":"on"}}}"#
            ),
            Ok(Labels::from_iter([("mesh".to_string(), json!("on"))]))
        );
        assert_eq!(labels_of(br#"{"metadata":{}}"#), Ok(Labels::new()));
        assert!(
            labels_of(b"3")
                .unwrap_err()
                .starts_with("the host's answer is not a Namespace")
        );
    }
}
