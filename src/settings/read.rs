//! Hand readers of a set's definition fields, from the JSON values read
//! once: a serde derive would add a path-tracked reader per type to the
//! module. The messages keep serde's wording, which the settings' users
//! already know from the other fields.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// What serde_json calls a value it did not expect.
fn unexpected(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean `{b}`"),
        Value::Number(n) if n.is_f64() => format!("floating point `{n}`"),
        Value::Number(n) => format!("integer `{n}`"),
        Value::String(s) => format!("string {s:?}"),
        Value::Array(_) => "sequence".into(),
        Value::Object(_) => "map".into(),
    }
}

/// `{path}: invalid type: …, expected {expected}`.
pub fn invalid_type(path: &str, value: &Value, expected: &str) -> String {
    format!(
        "{path}: invalid type: {}, expected {expected}",
        unexpected(value)
    )
}

/// serde's list of what was expected: `a`, `a` or `b`, one of `a`, `b`, `c`.
fn one_of(expected: &[&str]) -> String {
    match expected {
        [] => "there are none".into(),
        [one] => format!("expected `{one}`"),
        [a, b] => format!("expected `{a}` or `{b}`"),
        many => {
            let quoted: Vec<String> = many.iter().map(|e| format!("`{e}`")).collect();
            format!("expected one of {}", quoted.join(", "))
        }
    }
}

/// `{path}: unknown variant `x`, expected …`.
pub fn unknown_variant(path: &str, value: &Value, expected: &[&str]) -> String {
    match value.as_str() {
        Some(variant) => format!("{path}: unknown variant `{variant}`, {}", one_of(expected)),
        None => invalid_type(path, value, "a string"),
    }
}

/// The items of a list (absent or null: none).
pub fn list(value: Option<Value>, path: &str) -> Result<Vec<Value>, String> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(invalid_type(path, &other, "a sequence")),
    }
}

/// The fields of a struct `name` at `path`, each one of `known`.
pub fn fields(
    value: Value,
    path: &str,
    name: &str,
    known: &[&str],
) -> Result<Map<String, Value>, String> {
    let Value::Object(fields) = value else {
        return Err(invalid_type(path, &value, &format!("struct {name}")));
    };
    if let Some(key) = fields.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(format!(
            "{path}.{key}: unknown field `{key}`, {}",
            one_of(known)
        ));
    }
    Ok(fields)
}

/// A string field.
pub fn string(value: Value, path: &str) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(invalid_type(path, &other, "a string")),
    }
}

/// A map of strings (absent or null: empty).
pub fn strings(value: Option<Value>, path: &str) -> Result<BTreeMap<String, String>, String> {
    let mut map = BTreeMap::new();
    match value {
        None | Some(Value::Null) => {}
        Some(Value::Object(entries)) => {
            for (key, value) in entries {
                let text = string(value, &format!("{path}.{key}"))?;
                map.insert(key, text);
            }
        }
        Some(other) => return Err(invalid_type(path, &other, "a map")),
    }
    Ok(map)
}

/// A block's members, and its path.
pub type Block = (Map<String, Value>, String);

/// The members of the mapping `name` of a set at `at`, and its path, for
/// the blocks read by hand (`podSecurity`, `appContainers`, `shutdown`);
/// absent or null: None. The path is written only for a block that is
/// there. `give` says what the block takes.
pub fn block(
    value: Option<Value>,
    at: &str,
    name: &str,
    give: &str,
) -> Result<Option<Block>, String> {
    let value = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(value) => value,
    };
    let path = format!("{at}.{name}").trim_start_matches('.').to_string();
    match value {
        Value::Object(fields) => Ok(Some((fields, path))),
        other => Err(format!("{path}: {other} is not a mapping; give {give}")),
    }
}

/// A member `key` of the block `name` at `path` must be one of `known`,
/// whatever its value: a typo with an empty or null value is still a typo.
pub fn known(key: &str, path: &str, name: &str, known: &[&str]) -> Result<(), String> {
    if known.contains(&key) {
        return Ok(());
    }
    let list = match known.split_last() {
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    };
    Err(format!("{path}.{key}: unknown field; {name} has {list}"))
}
