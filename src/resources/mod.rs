//! Sidecar resources: a resourcesPolicy's computed values and a Pod's
//! bounded overrides (`sidecar.rs`); the Pod's effective request as the
//! scheduler computes it, `maxAddedRequests` and Pod-level resources
//! (`spec.resources`), which the containers must fit in (`pod.rs`).

pub mod expr;
pub mod pattern;
mod pod;
pub mod quantity;
mod sidecar;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

pub use pod::{
    Injected, check_added, describe, effective_requests, fit_pod_level, pod_level_overrun,
};
use quantity::Amount;
pub use sidecar::{Sizing, check_resize};

/// Amounts by resource name.
pub type Amounts = BTreeMap<String, Amount>;

pub(crate) const FIELDS: [&str; 2] = ["requests", "limits"];

/// Reads a quantity of the Pod (a string, or a number as YAML gives it).
#[inline(never)]
pub(crate) fn quantity(value: &Value, path: &dyn Fn() -> String) -> Result<Amount, String> {
    let parsed = match value {
        Value::String(s) => Amount::parse(s),
        Value::Number(n) => Amount::parse(&n.to_string()),
        _ => Err(format!("{value} is not a quantity")),
    };
    parsed.map_err(|e| {
        format!(
            "invalid Pod in the admission request: {}: {e}; send a valid Pod object",
            path()
        )
    })
}

/// `<resources>.<field>` by resource; `at` is the path of `resources`,
/// for messages.
#[inline(never)]
pub(crate) fn amounts(
    resources: Option<&Map<String, Value>>,
    field: &str,
    at: &dyn Fn() -> String,
) -> Result<Amounts, String> {
    let mut amounts = Amounts::new();
    if let Some(Value::Object(map)) = resources.and_then(|r| r.get(field)) {
        for (name, value) in map {
            let path = || format!("{}.{field}.{name}", at());
            amounts.insert(name.clone(), quantity(value, &path)?);
        }
    }
    Ok(amounts)
}

/// `resources.<field>` of a container entry; `at` is the entry's path.
#[inline(never)]
pub(crate) fn list(
    entry: &Map<String, Value>,
    field: &str,
    at: &dyn Fn() -> String,
) -> Result<Amounts, String> {
    let resources = entry.get("resources").and_then(Value::as_object);
    amounts(resources, field, &|| format!("{}.resources", at()))
}

#[inline(never)]
pub(crate) fn out_of_range(resource: &str) -> String {
    format!("the Pod's {resource} adds up to more than this policy can count; check its resources")
}

/// An amount as Kubernetes writes it ("?" if it cannot be written).
#[inline(never)]
pub fn show(amount: Amount, resource: &str) -> String {
    amount.canonical(resource).unwrap_or_else(|| "?".into())
}

/// Amounts written in canonical form, for the status record.
#[inline(never)]
pub fn canonical(amounts: &Amounts) -> BTreeMap<String, String> {
    // Inserted one by one: collecting into a map sorts, and the sort would
    // be code of its own in policy.wasm.
    let mut shown = BTreeMap::new();
    for (name, amount) in amounts {
        shown.insert(name.clone(), show(*amount, name));
    }
    shown
}

#[cfg(test)]
mod tests;
