//! A sidecar's resources: OpenKruise's resourcesPolicy, computed from the
//! Pod's own containers, then a Pod's override, field by field, within the
//! set's resourceBounds.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::pattern::Pattern;
use super::pod::entry_requests;
use super::quantity::Amount;
use super::{FIELDS, amounts, expr, list, out_of_range, show};
use crate::annotations::{ECHOED, RESOURCES_PREFIX, clip, clip_at};
use crate::pod::{Entry, PodView};
use crate::settings::{ContainerSpec, QuantityText, ResourceBounds, ResourcesPolicy, TargetMode};

/// The Pod's own containers and native sidecars, and its resources
/// annotations: what a set container's resources are computed from.
pub struct Sizing<'p> {
    targets: Vec<&'p Entry<'p>>,
    /// Container name → the annotation's value.
    overrides: BTreeMap<&'p str, &'p str>,
}

impl<'p> Sizing<'p> {
    /// `injected` says which of the Pod's containers are sidecars (never
    /// targets).
    pub fn new(pod: &'p PodView<'p>, injected: impl Fn(&str) -> bool) -> Self {
        let targets = pod
            .init_containers
            .iter()
            .filter(|c| c.is_native_sidecar())
            .chain(&pod.containers)
            .filter(|c| !injected(c.name))
            .collect();
        let mut overrides = BTreeMap::new();
        for (key, value) in &pod.annotations {
            if let Some(name) = key.strip_prefix(RESOURCES_PREFIX) {
                overrides.insert(name, *value);
            }
        }
        Sizing { targets, overrides }
    }

    /// Sets the resources of `entry`, the Pod container made from
    /// `container` of set `set`: the resourcesPolicy's values, then the
    /// Pod's annotation, field by field.
    #[inline(never)]
    pub fn size(
        &self,
        entry: &mut Value,
        container: &ContainerSpec,
        set: &str,
    ) -> Result<(), String> {
        let name = container.name();
        let annotation = self.overrides.get(name);
        if container.resources_policy.is_none() && annotation.is_none() {
            return Ok(());
        }
        let mut resources = match entry.get("resources") {
            Some(Value::Object(map)) => map.clone(),
            _ => Map::new(),
        };
        if let Some(policy) = &container.resources_policy {
            resources = self.policy_resources(policy, set, name)?;
        }
        if let Some(value) = annotation {
            let bounds = container.resource_bounds.as_ref();
            apply_override(&mut resources, bounds, set, name, value)?;
        }
        within_limits(&resources, set, name)?;
        if let Some(map) = entry.as_object_mut() {
            map.insert("resources".into(), Value::Object(resources));
        }
        Ok(())
    }

    /// The annotations naming no container that `injected_now` holds.
    #[inline(never)]
    pub fn unused(&self, injected_now: impl Fn(&str) -> bool) -> Vec<String> {
        self.overrides
            .keys()
            .filter(|name| !injected_now(name))
            .map(|name| {
                format!("annotation {RESOURCES_PREFIX}{name} ignored: no sidecar set injects a container {name:?} into this Pod now")
            })
            .collect()
    }

    #[inline(never)]
    fn policy_resources(
        &self,
        policy: &ResourcesPolicy,
        set: &str,
        name: &str,
    ) -> Result<Map<String, Value>, String> {
        let at = format!("sidecar set {set}: container {name}: resourcesPolicy");
        let regex = &policy.target_containers_name_regex;
        let matcher = Pattern::new(regex)
            .map_err(|e| format!("{at}.targetContainersNameRegex {regex:?}: {e}"))?;
        let targets: Vec<&&Entry> = self
            .targets
            .iter()
            .filter(|t| matcher.matches(t.name))
            .collect();
        if targets.is_empty() {
            let names: Vec<&str> = self.targets.iter().map(|t| t.name).collect();
            return Err(format!(
                "{at}.targetContainersNameRegex {regex:?} matches none of the Pod's own containers and native sidecars ({}); rename a container to match, or change the regex",
                names.join(", ")
            ));
        }
        let mut resources = Map::new();
        for (field, exprs) in FIELDS.into_iter().zip([
            &policy.resources_expr.requests,
            &policy.resources_expr.limits,
        ]) {
            let mut values = Map::new();
            for (resource, text) in exprs {
                let Some(input) =
                    combine(&targets, field, resource, policy.target_containers_mode)?
                else {
                    continue; // a target without a limit: no limit
                };
                let expr_at = format!("{at}.resourcesExpr.{field}.{resource} {text:?}");
                let expr = expr::parse(text, resource).map_err(|e| format!("{expr_at}: {e}"))?;
                let shown = show(input, resource);
                let value = expr.eval(input).map_err(|e| {
                    format!(
                        "{expr_at} {e} for this Pod ({resource} = {shown}); change the expression"
                    )
                })?;
                if value.is_negative() {
                    return Err(format!(
                        "{expr_at} is {} for this Pod ({resource} = {shown}), below zero; change the expression",
                        show(value, resource)
                    ));
                }
                values.insert(resource.clone(), Value::String(show(value, resource)));
            }
            if !values.is_empty() {
                resources.insert(field.into(), Value::Object(values));
            }
        }
        Ok(resources)
    }
}

/// The targets' `field` of `resource`, summed or the largest. A missing
/// request counts as 0; a missing limit makes the result None (unlimited).
#[inline(never)]
fn combine(
    targets: &[&&Entry],
    field: &str,
    resource: &str,
    mode: TargetMode,
) -> Result<Option<Amount>, String> {
    let mut result: Option<Amount> = None;
    for target in targets {
        let at = || format!("{} ({})", target.path(), target.name);
        let value = if field == "requests" {
            entry_requests(target.spec, &at)?
                .iter()
                .find(|(name, _)| *name == resource)
                .map_or(Amount::ZERO, |(_, amount)| *amount)
        } else {
            match list(target.spec, "limits", &at)?.get(resource) {
                Some(limit) => *limit,
                None => return Ok(None),
            }
        };
        result = Some(match (result, mode) {
            (None, _) => value,
            (Some(r), TargetMode::Sum) => {
                r.checked_add(value).ok_or_else(|| out_of_range(resource))?
            }
            (Some(r), TargetMode::Max) => r.max(value),
        });
    }
    Ok(result)
}

/// The value of a `sidecarset.kubewarden.io/resources.<container>` annotation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Override {
    #[serde(default)]
    requests: BTreeMap<String, QuantityText>,
    #[serde(default)]
    limits: BTreeMap<String, QuantityText>,
}

/// Applies a Pod's override to `resources`: what it names replaces the
/// set's value, within the container's bounds; the rest is kept.
#[inline(never)]
fn apply_override(
    resources: &mut Map<String, Value>,
    bounds: Option<&ResourceBounds>,
    set: &str,
    name: &str,
    value: &str,
) -> Result<(), String> {
    let at = format!("annotation {RESOURCES_PREFIX}{name}");
    let Some(bounds) = bounds else {
        return Err(format!(
            "{at}: sidecar set {set} does not let Pods change the resources of container {name} (it gives no resourceBounds); remove the annotation"
        ));
    };
    // Read as a Value first: the struct is then read by the &Value
    // deserializer the settings already use, not by a reader of its own.
    let given = serde_json::from_slice::<Value>(value.as_bytes())
        .and_then(|v| Override::deserialize(&v))
        .map_err(|e| {
            format!("{at}: {:?} is not a resources override ({}); write it as {{\"requests\": {{\"cpu\": \"200m\"}}, \"limits\": {{\"memory\": \"256Mi\"}}}}", clip(value), clip_at(&e.to_string(), 4 * ECHOED))
        })?;
    for (field, values) in FIELDS.into_iter().zip([given.requests, given.limits]) {
        for (resource, text) in values {
            let amount =
                Amount::parse(&text.0).map_err(|e| format!("{at}: {field}.{resource}: {e}"))?;
            within_bounds(amount, bounds, &resource, set)
                .map_err(|e| format!("{at}: {field}.{resource} {:?} {e}", text.0))?;
            let slot = resources
                .entry(field)
                .or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            if let Some(map) = slot.as_object_mut() {
                map.insert(resource, Value::String(text.0));
            }
        }
    }
    Ok(())
}

/// Whether `amount` of `resource` lies within `bounds`; the message says
/// which bound it crosses and the range allowed.
#[inline(never)]
fn within_bounds(
    amount: Amount,
    bounds: &ResourceBounds,
    resource: &str,
    set: &str,
) -> Result<(), String> {
    let (min, max) = (bound(&bounds.min, resource), bound(&bounds.max, resource));
    let range = format!(
        "choose a value from {} to {}",
        min.map_or("0", |(_, t)| t),
        max.map_or("any amount", |(_, t)| t)
    );
    if min.is_none() && max.is_none() {
        // Both sides are sorted maps: merged, without a sort.
        let mut bounded: Vec<&str> = bounds.min.keys().map(String::as_str).collect();
        for key in bounds.max.keys() {
            if let Err(at) = bounded.binary_search(&key.as_str()) {
                bounded.insert(at, key);
            }
        }
        return Err(format!(
            "is not allowed: the resourceBounds of sidecar set {set} name only {}; remove {resource} from the annotation, or bound it in the settings",
            if bounded.is_empty() {
                "no resource".to_string()
            } else {
                bounded.join(", ")
            }
        ));
    }
    if amount.is_negative() {
        return Err(format!("is below zero; {range}"));
    }
    if let Some((min, shown)) = min
        && amount.compare(min).is_lt()
    {
        return Err(format!(
            "is below resourceBounds.min.{resource} {shown} of sidecar set {set}; {range}"
        ));
    }
    if let Some((max, shown)) = max
        && amount.compare(max).is_gt()
    {
        return Err(format!(
            "is above resourceBounds.max.{resource} {shown} of sidecar set {set}; {range}"
        ));
    }
    Ok(())
}

/// One side of `resourceBounds` for `resource`, read and as written.
#[inline(never)]
fn bound<'b>(
    side: &'b BTreeMap<String, QuantityText>,
    resource: &str,
) -> Option<(Amount, &'b str)> {
    let text = side.get(resource)?;
    Some((Amount::parse(&text.0).ok()?, text.0.as_str()))
}

/// A request above its limit, which the API server would refuse.
#[inline(never)]
fn within_limits(resources: &Map<String, Value>, set: &str, name: &str) -> Result<(), String> {
    let at = || format!("sidecar set {set}: container {name}: resources");
    let requests = amounts(Some(resources), "requests", &at)?;
    let limits = amounts(Some(resources), "limits", &at)?;
    for (resource, request) in &requests {
        if let Some(limit) = limits.get(resource)
            && request.compare(*limit).is_gt()
        {
            return Err(format!(
                "sidecar set {set}: container {name}: requests.{resource} {} is above limits.{resource} {}; a request may not exceed its limit: change the resources annotation or the set's resourcesPolicy",
                show(*request, resource),
                show(*limit, resource)
            ));
        }
    }
    Ok(())
}

/// A resize of the Pod's entry of `container` (`now`; `was` before), at
/// `at`: Ok(true) when it changes the resources, every changed value within
/// the set's resourceBounds; Ok(false) when they are as they were.
#[inline(never)]
pub fn check_resize(
    now: &Map<String, Value>,
    was: &Map<String, Value>,
    at: &str,
    container: &ContainerSpec,
    set: &str,
) -> Result<bool, String> {
    let path = || at.to_string();
    let mut changed = false;
    for field in FIELDS {
        let (new, old) = (list(now, field, &path)?, list(was, field, &path)?);
        for (resource, amount) in &new {
            if old
                .get(resource)
                .is_some_and(|o| o.compare(*amount).is_eq())
            {
                continue;
            }
            changed = true;
            let bounds = container.resource_bounds.as_ref();
            if bounds.is_none_or(|b| {
                bound(&b.min, resource).is_none() && bound(&b.max, resource).is_none()
            }) {
                return Err(format!(
                    "{at}: resources.{field}.{resource} {}: sidecar set {set} gives container {} no resourceBounds for {resource}, so a resize may not change it; resize the Pod's own containers, or bound it in the settings",
                    show(*amount, resource),
                    container.name()
                ));
            }
            if let Some(bounds) = bounds {
                within_bounds(*amount, bounds, resource, set).map_err(|e| {
                    format!(
                        "{at}: resources.{field}.{resource} {} {e}",
                        show(*amount, resource)
                    )
                })?;
            }
        }
        changed |= old.keys().any(|r| !new.contains_key(r));
    }
    Ok(changed)
}
