//! Objects from files: `kubectl get … -o json|yaml` output (a List, or one
//! object), multi-document YAML, or `-` for standard input.

use std::io::Read;

use serde_json::Value;

/// The text of a file, or of standard input for `-`.
pub fn read_text(path: &str) -> Result<String, String> {
    if path == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("standard input: {e}"))?;
        return Ok(text);
    }
    std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))
}

/// YAML as kubectl (sigs.k8s.io/yaml, YAML 1.1) reads it: `0644` is the
/// octal number 420, `yes`/`on`/`off` are booleans, `<<` merges.
pub fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! { legacy_octal_numbers: true }
}

/// The documents of a YAML text, as `T`; empty documents are left out.
pub fn documents_as<T: serde::de::DeserializeOwned>(
    text: &str,
    source: &str,
) -> Result<Vec<T>, String> {
    serde_saphyr::from_multiple_with_options::<Option<T>>(text, yaml_options())
        .map(|documents| documents.into_iter().flatten().collect())
        .map_err(|e| format!("{source}: {e}"))
}

/// The documents of a YAML (or JSON: YAML reads it) text, as JSON values;
/// empty documents are left out.
pub fn documents(text: &str, source: &str) -> Result<Vec<Value>, String> {
    Ok(documents_as::<Value>(text, source)?
        .into_iter()
        .filter(|v| !v.is_null())
        .collect())
}

/// YAML that kubectl reads back as it was meant: strings YAML 1.1 would
/// take for something else (`yes`, `0644`, `1:20`) are quoted.
pub fn to_yaml<T: serde::Serialize>(documents: &[T]) -> Result<String, String> {
    serde_saphyr::to_string_multiple(documents).map_err(|e| e.to_string())
}

/// Objects with the items of Lists (`kind: List`, `PodList`, …) in their
/// place, in order.
pub fn flatten(documents: Vec<Value>) -> Vec<Value> {
    let mut out = Vec::new();
    for document in documents {
        let is_list = document
            .get("kind")
            .and_then(Value::as_str)
            .is_some_and(|k| k.ends_with("List"))
            && document.get("items").is_some_and(Value::is_array);
        match (is_list, document) {
            (true, Value::Object(mut map)) => {
                if let Some(Value::Array(items)) = map.remove("items") {
                    out.extend(flatten(items));
                }
            }
            (_, document) => out.push(document),
        }
    }
    out
}

/// Every object of the files given.
pub fn read_objects(paths: &[String]) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for path in paths {
        let text = read_text(path)?;
        out.extend(flatten(documents(&text, path)?));
    }
    Ok(out)
}

pub fn kind(object: &Value) -> &str {
    object.get("kind").and_then(Value::as_str).unwrap_or("")
}

pub fn name(object: &Value) -> &str {
    object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// `metadata.labels` (none: empty).
pub fn labels(object: &Value) -> serde_json::Map<String, Value> {
    object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// The name, or for an object the API server has not named yet its
/// `generateName`.
pub fn shown_name(object: &Value) -> &str {
    match name(object) {
        "" => object
            .pointer("/metadata/generateName")
            .and_then(Value::as_str)
            .unwrap_or(""),
        named => named,
    }
}

pub fn namespace(object: &Value) -> Option<&str> {
    object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
}

/// Pods: objects of kind Pod, and those without a kind that have a spec
/// with containers (`kubectl get pod -o json` items always have one).
pub fn is_pod(object: &Value) -> bool {
    match kind(object) {
        "Pod" => true,
        "" => object.pointer("/spec/containers").is_some(),
        _ => false,
    }
}
