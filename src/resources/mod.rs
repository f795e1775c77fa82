//! Sidecar resources: a resourcesPolicy's computed values, a Pod's bounded
//! overrides, the Pod's effective request as the scheduler computes it, and
//! Pod-level resources (`spec.resources`), which the containers must fit in.

pub mod expr;
pub mod pattern;
pub mod quantity;

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::annotations::RESOURCES_PREFIX;
use crate::pod::{Entry, PodView};
use crate::settings::{
    ContainerSpec, PodLevelResources, QuantityText, ResourceBounds, ResourcesPolicy, TargetMode,
};
use pattern::Pattern;
use quantity::Amount;

/// Amounts by resource name.
pub type Amounts = BTreeMap<String, Amount>;

const FIELDS: [&str; 2] = ["requests", "limits"];

/// Reads a quantity of the Pod (a string, or a number as YAML gives it).
#[inline(never)]
fn quantity(value: &Value, path: &dyn Fn() -> String) -> Result<Amount, String> {
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
fn amounts(
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
fn list(
    entry: &Map<String, Value>,
    field: &str,
    at: &dyn Fn() -> String,
) -> Result<Amounts, String> {
    let resources = entry.get("resources").and_then(Value::as_object);
    amounts(resources, field, &|| format!("{}.resources", at()))
}

/// A container's requests as the API server defaults them: a resource with
/// a limit and no request requests its limit.
#[inline(never)]
fn requests(entry: &Map<String, Value>, at: &dyn Fn() -> String) -> Result<Amounts, String> {
    let mut amounts = list(entry, "limits", at)?;
    amounts.extend(list(entry, "requests", at)?);
    Ok(amounts)
}

#[inline(never)]
fn out_of_range(resource: &str) -> String {
    format!("the Pod's {resource} adds up to more than this policy can count; check its resources")
}

/// An amount as Kubernetes writes it ("?" if it cannot be written).
#[inline(never)]
pub fn show(amount: Amount, resource: &str) -> String {
    amount.canonical(resource).unwrap_or_else(|| "?".into())
}

/// Amounts by resource borrowed from the Pod: a few entries, searched in
/// place (no key is copied while the Pod is summed up).
type Tally<'a> = Vec<(&'a str, Amount)>;

fn tally_add<'a>(tally: &mut Tally<'a>, name: &'a str, amount: Amount) -> Result<(), String> {
    match tally.iter_mut().find(|(n, _)| *n == name) {
        Some((_, sum)) => *sum = sum.checked_add(amount).ok_or_else(|| out_of_range(name))?,
        None => tally.push((name, amount)),
    }
    Ok(())
}

fn tally_max<'a>(tally: &mut Tally<'a>, name: &'a str, amount: Amount) {
    match tally.iter_mut().find(|(n, _)| *n == name) {
        Some((_, peak)) => *peak = peak.max(amount),
        None => tally.push((name, amount)),
    }
}

/// A container's requests as the API server defaults them (a limit stands
/// in for a missing request); `at` is the entry's path, for messages.
fn entry_requests<'a>(
    entry: &'a Map<String, Value>,
    at: &dyn Fn() -> String,
) -> Result<Tally<'a>, String> {
    let resources = entry.get("resources").and_then(Value::as_object);
    let mut tally = Tally::new();
    for field in FIELDS {
        let Some(Value::Object(map)) = resources.and_then(|r| r.get(field)) else {
            continue;
        };
        for (name, value) in map {
            if field == "limits" && tally.iter().any(|(n, _)| n == name) {
                continue;
            }
            let path = || format!("{}.resources.{field}.{name}", at());
            tally.push((name, quantity(value, &path)?));
        }
    }
    Ok(tally)
}

/// The Pod's effective requests as the scheduler computes them with native
/// sidecars (KEP-753): per resource, the larger of the peak during the init
/// phase (each init container plus the native sidecars started before it)
/// and the running phase (every native sidecar and container), plus
/// `spec.overhead`.
#[inline(never)]
pub fn effective_requests(spec: &Map<String, Value>) -> Result<Amounts, String> {
    let entries = |key: &'static str| {
        spec.get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
            .filter_map(move |(i, e)| Some((key, i, e.as_object()?)))
    };
    let mut sidecars = Tally::new();
    let mut init_peak = Tally::new();
    for (key, i, entry) in entries("initContainers") {
        let own = entry_requests(entry, &|| format!("spec.{key}[{i}]"))?;
        if entry.get("restartPolicy").and_then(Value::as_str) == Some("Always") {
            for (name, amount) in own {
                tally_add(&mut sidecars, name, amount)?;
            }
            for &(name, amount) in &sidecars {
                tally_max(&mut init_peak, name, amount);
            }
        } else {
            let mut starting = own;
            for &(name, amount) in &sidecars {
                tally_add(&mut starting, name, amount)?;
            }
            for (name, amount) in starting {
                tally_max(&mut init_peak, name, amount);
            }
        }
    }
    let mut running = sidecars;
    for (key, i, entry) in entries("containers") {
        for (name, amount) in entry_requests(entry, &|| format!("spec.{key}[{i}]"))? {
            tally_add(&mut running, name, amount)?;
        }
    }
    for (name, amount) in init_peak {
        tally_max(&mut running, name, amount);
    }
    if let Some(Value::Object(overhead)) = spec.get("overhead") {
        for (name, value) in overhead {
            let path = || format!("spec.overhead.{name}");
            tally_add(&mut running, name, quantity(value, &path)?)?;
        }
    }
    let mut amounts = Amounts::new();
    for (name, amount) in running {
        amounts.insert(name.to_string(), amount);
    }
    Ok(amounts)
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

/// "cpu 500m → 700m, memory 256Mi → 320Mi": the effective requests before
/// and after injection.
#[inline(never)]
pub fn describe(before: &Amounts, after: &Amounts) -> String {
    let shown: Vec<String> = after
        .iter()
        .map(|(name, amount)| {
            let old = before.get(name).copied().unwrap_or(Amount::ZERO);
            format!("{name} {} → {}", show(old, name), show(*amount, name))
        })
        .collect();
    if shown.is_empty() {
        "effective requests: none, before or after injection".to_string()
    } else {
        format!(
            "effective requests (what the scheduler reserves) before → after injection: {}",
            shown.join(", ")
        )
    }
}

/// Rejects a Pod whose effective request injection raises by more than
/// `maxAddedRequests` allows; `sets` names the sets injected.
#[inline(never)]
pub fn check_added(
    before: &Amounts,
    after: &Amounts,
    allowed: &BTreeMap<String, QuantityText>,
    sets: &str,
) -> Result<(), String> {
    let mut problems = Vec::new();
    for (name, text) in allowed {
        let Ok(limit) = Amount::parse(&text.0) else {
            continue; // refused by validate_settings
        };
        let old = before.get(name).copied().unwrap_or(Amount::ZERO);
        let new = after.get(name).copied().unwrap_or(Amount::ZERO);
        let Some(added) = new.checked_sub(old) else {
            continue;
        };
        if added.compare(limit).is_gt() {
            problems.push(format!(
                "injecting {sets} raises the Pod's effective {name} request by {} (from {} to {}), more than maxAddedRequests.{name} {}; lower the sidecars' {name} requests, or raise maxAddedRequests.{name}",
                show(added, name),
                show(old, name),
                show(new, name),
                text.0
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

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
            requests(target.spec, &at)?
                .get(resource)
                .copied()
                .unwrap_or(Amount::ZERO)
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
            format!("{at}: {value:?} is not a resources override ({e}); write it as {{\"requests\": {{\"cpu\": \"200m\"}}, \"limits\": {{\"memory\": \"256Mi\"}}}}")
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

/// An injected container's limits, and whether it runs alongside the app
/// (a container or a native sidecar) rather than to completion.
pub struct Injected {
    pub limits: Amounts,
    pub running: bool,
}

impl Injected {
    /// The entry at `spec.<key>[index]`.
    #[inline(never)]
    pub fn read(entry: &Map<String, Value>, key: &str, index: usize) -> Result<Injected, String> {
        Ok(Injected {
            limits: list(entry, "limits", &|| format!("spec.{key}[{index}]"))?,
            running: key == "containers"
                || entry.get("restartPolicy").and_then(Value::as_str) == Some("Always"),
        })
    }
}

/// Pod-level resources (`spec.resources`): with `add`, raised by what the
/// injection adds (the effective request's increase; the injected running
/// containers' limits); with `reject`, a Pod whose containers no longer fit
/// is rejected. A Pod-level limit is never removed: where a sidecar has no
/// limit, it shares the Pod's.
#[inline(never)]
pub fn fit_pod_level(
    spec: &mut Map<String, Value>,
    before: &Amounts,
    after: &Amounts,
    injected: &[Injected],
    mode: PodLevelResources,
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    let Some(Value::Object(pod_level)) = spec.get_mut("resources") else {
        return Ok(());
    };
    let mut raised = Vec::new();
    let mut problems = Vec::new();
    // Requests: the containers' effective request must fit.
    let declared = list_of(pod_level, "requests")?;
    for (resource, declared) in &declared {
        let new = after.get(resource).copied().unwrap_or(Amount::ZERO);
        let old = before.get(resource).copied().unwrap_or(Amount::ZERO);
        let added = new
            .checked_sub(old)
            .unwrap_or(Amount::ZERO)
            .max(Amount::ZERO);
        match mode {
            PodLevelResources::Add if !added.is_zero() => {
                let value = declared.checked_add(added).ok_or_else(|| out_of_range(resource))?;
                raised.push(("requests", resource.clone(), *declared, value, added));
            }
            PodLevelResources::Reject if new.compare(*declared).is_gt() => problems.push(format!(
                "spec.resources.requests.{resource}: {} is less than the containers' effective request after injection, {} (the sidecars add {}); raise spec.resources.requests.{resource} to at least {}, or set podLevelResources: add",
                show(*declared, resource),
                show(new, resource),
                show(added, resource),
                show(new, resource)
            )),
            _ => {}
        }
    }
    // Limits: each container's must fit; `add` raises by the sidecars' sum.
    for (resource, declared) in &list_of(pod_level, "limits")? {
        let mut sum = Some(Amount::ZERO);
        let mut largest = Amount::ZERO;
        for entry in injected {
            match (entry.limits.get(resource), entry.running) {
                (Some(l), true) => {
                    sum = sum.and_then(|s| s.checked_add(*l));
                    largest = largest.max(*l);
                }
                (Some(l), false) => largest = largest.max(*l),
                (None, true) => sum = None,
                (None, false) => {}
            }
        }
        let mut value = *declared;
        match (mode, sum) {
            (PodLevelResources::Add, Some(sum)) if !sum.is_zero() => {
                value = declared.checked_add(sum).ok_or_else(|| out_of_range(resource))?;
                raised.push(("limits", resource.clone(), *declared, value, sum));
            }
            (PodLevelResources::Add, None) => warnings.push(format!(
                "spec.resources.limits.{resource} {} left as it is: an injected sidecar has no {resource} limit and shares the Pod's",
                show(*declared, resource)
            )),
            _ => {}
        }
        if largest.compare(value).is_gt() {
            problems.push(format!(
                "spec.resources.limits.{resource}: {} is less than an injected container's {resource} limit, {}; raise spec.resources.limits.{resource}{}",
                show(value, resource),
                show(largest, resource),
                if mode == PodLevelResources::Reject { ", or set podLevelResources: add" } else { "" }
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    if raised.is_empty() {
        return Ok(());
    }
    let mut said = Vec::new();
    for (field, resource, old, new, by) in raised {
        if let Some(Value::Object(map)) = pod_level.get_mut(field) {
            map.insert(resource.clone(), Value::String(show(new, &resource)));
        }
        said.push(format!(
            "{field}.{resource} {} → {} (+{})",
            show(old, &resource),
            show(new, &resource),
            show(by, &resource)
        ));
    }
    warnings.push(format!(
        "spec.resources (Pod-level) raised for the injected sidecars: {}",
        said.join(", ")
    ));
    Ok(())
}

/// `spec.resources.<field>` of the Pod, by resource.
fn list_of(pod_level: &Map<String, Value>, field: &str) -> Result<Amounts, String> {
    amounts(Some(pod_level), field, &|| "spec.resources".to_string())
}

#[cfg(test)]
mod tests;
