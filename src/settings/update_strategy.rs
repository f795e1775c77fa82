//! OpenKruise's `updateStrategy` of a SidecarSet. The policy ignores it at
//! admission (it has no controller); it is accepted so that a SidecarSet
//! pasted from a cluster keeps its meaning, and `kubectl sidecarset
//! upgrade` takes its defaults from it (docs/kubectl-plugin.md). Read as
//! OpenKruise defaults and validates it (SetDefaultsSidecarSet,
//! validateSidecarSetUpdateStrategy).

use serde_json::Value;

use super::LabelSelector;

/// A count or a percentage of an owner's Pods (an intstr).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntOrPercent {
    Int(u32),
    Percent(u32),
}

impl IntOrPercent {
    /// Kubernetes' GetScaledValueFromIntOrPercent: a percentage of `total`,
    /// rounded up or down.
    pub fn scaled(self, total: usize, round_up: bool) -> usize {
        match self {
            IntOrPercent::Int(n) => n as usize,
            IntOrPercent::Percent(p) => {
                let product = total.saturating_mul(p as usize);
                if round_up {
                    product.div_ceil(100)
                } else {
                    product / 100
                }
            }
        }
    }

    /// `3` or `"25%"`, as OpenKruise takes them; `at` names the field.
    pub fn read(value: &Value, at: &str) -> Result<IntOrPercent, String> {
        let refused = || {
            format!(
                "{at}: {} is not a whole number from 0 to 2147483647 or a percentage (\"25%\", 0% to 100%); give one",
                crate::annotations::clip_at(&value.to_string(), crate::annotations::ECHOED)
            )
        };
        match value {
            Value::Number(n) => n
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n <= i32::MAX as u32)
                .map(IntOrPercent::Int)
                .ok_or_else(refused),
            Value::String(s) => s
                .strip_suffix('%')
                .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|digits| digits.parse::<u32>().ok())
                .filter(|p| *p <= 100)
                .map(IntOrPercent::Percent)
                .ok_or_else(refused),
            _ => Err(refused()),
        }
    }
}

/// `updateStrategy`, with OpenKruise's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateStrategy {
    /// `NotUpdate`: the set's Pods are never upgraded (OpenKruise's type).
    pub not_update: bool,
    /// How many of an owner's Pods may be upgrading at once (default 1).
    pub max_unavailable: IntOrPercent,
    /// How many of an owner's Pods stay on the old revision (default 0).
    pub partition: IntOrPercent,
    pub paused: bool,
    /// Only the Pods it selects are upgraded (none: every Pod of the set).
    pub selector: Option<LabelSelector>,
}

impl Default for UpdateStrategy {
    fn default() -> Self {
        UpdateStrategy {
            not_update: false,
            max_unavailable: IntOrPercent::Int(1),
            partition: IntOrPercent::Int(0),
            paused: false,
            selector: None,
        }
    }
}

impl UpdateStrategy {
    /// Reads a set's `updateStrategy` (absent or null: the defaults); every
    /// problem, each naming its field under `at`.
    pub fn read(value: Option<&Value>, at: &str) -> Result<UpdateStrategy, Vec<String>> {
        let mut strategy = UpdateStrategy::default();
        let map = match value {
            None | Some(Value::Null) => return Ok(strategy),
            Some(Value::Object(map)) => map,
            Some(_) => {
                return Err(vec![format!(
                    "{at}: must be a mapping with type, maxUnavailable, partition, paused or selector (OpenKruise's fields); fix or remove it"
                )]);
            }
        };
        let mut errors = Vec::new();
        for (key, value) in map {
            let field = format!("{at}.{key}");
            match (key.as_str(), value) {
                (_, Value::Null) => {}
                ("type", Value::String(t)) if t == "RollingUpdate" => {}
                ("type", Value::String(t)) if t == "NotUpdate" => strategy.not_update = true,
                ("type", other) => errors.push(format!(
                    "{field}: {} is not RollingUpdate or NotUpdate; give one of them",
                    crate::annotations::clip_at(&other.to_string(), crate::annotations::ECHOED)
                )),
                ("maxUnavailable", value) => match IntOrPercent::read(value, &field) {
                    Ok(IntOrPercent::Int(0) | IntOrPercent::Percent(0)) => errors.push(format!(
                        "{field}: must be at least 1 (or 1%): 0 would never upgrade a Pod; use paused: true to stop a rollout"
                    )),
                    Ok(n) => strategy.max_unavailable = n,
                    Err(e) => errors.push(e),
                },
                ("partition", value) => match IntOrPercent::read(value, &field) {
                    Ok(n) => strategy.partition = n,
                    Err(e) => errors.push(e),
                },
                ("paused", Value::Bool(b)) => strategy.paused = *b,
                ("paused", _) => errors.push(format!("{field}: must be true or false")),
                ("selector", value) => {
                    // From bytes, as the settings' other selectors are read:
                    // a Value deserializer of its own would add 10 KB to
                    // policy.wasm.
                    let text = value.to_string();
                    let mut reader = serde_json::Deserializer::from_slice(text.as_bytes());
                    match super::optional_mapping::<_, LabelSelector>(&mut reader) {
                        Ok(selector) => strategy.selector = selector,
                        Err(e) => {
                            // The position is in the value re-serialized here,
                            // not the user's file: left out.
                            let e = e.to_string();
                            let e = e.split(" at line ").next().unwrap_or_default();
                            errors.push(format!(
                                "{field}: not a label selector ({e}); give matchLabels and/or matchExpressions"
                            ))
                        }
                    }
                }
                ("scatterStrategy" | "priorityStrategy", _) => errors.push(format!(
                    "{field}: not supported: kubectl sidecarset upgrade orders Pods by owner and name; remove the field"
                )),
                _ => errors.push(format!(
                    "{field}: unknown field; updateStrategy has type, maxUnavailable, partition, paused and selector"
                )),
            }
        }
        if errors.is_empty() {
            Ok(strategy)
        } else {
            Err(errors)
        }
    }
}
