//! The Pod's resources: its effective request as the scheduler computes it
//! with native sidecars (KEP-753), the most injection may add to it
//! (`maxAddedRequests`), and Pod-level resources (`spec.resources`).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::quantity::Amount;
use super::{Amounts, FIELDS, amounts, list, out_of_range, quantity, show};
use crate::settings::{PodLevelResources, QuantityText};

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
pub(super) fn entry_requests<'a>(
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

/// An injected container's limits, and whether it runs alongside the app
/// (a container or a native sidecar) rather than to completion.
pub struct Injected {
    pub limits: Amounts,
    pub running: bool,
}

impl Injected {
    /// The init containers and containers of `spec` that `pick` names,
    /// with their names.
    #[inline(never)]
    pub fn in_spec<'s>(
        spec: &'s Map<String, Value>,
        pick: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<(&'s str, Injected)>, String> {
        let mut entries = Vec::new();
        for key in ["initContainers", "containers"] {
            let Some(Value::Array(list)) = spec.get(key) else {
                continue;
            };
            for (index, entry) in list.iter().enumerate() {
                let name = crate::order::entry_name(entry);
                if let Some(map) = entry.as_object()
                    && pick(name)
                {
                    entries.push((name, Injected::read(map, key, index)?));
                }
            }
        }
        Ok(entries)
    }

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
    removed: &[Injected],
    mode: PodLevelResources,
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    let Some(Value::Object(pod_level)) = spec.get_mut("resources") else {
        return Ok(());
    };
    let mut fit = Fit {
        mode,
        raised: Vec::new(),
        problems: Vec::new(),
    };
    let requests = fit.requests(&list_of(pod_level, "requests")?, before, after)?;
    let limits = fit.limits(&list_of(pod_level, "limits")?, injected, removed, warnings)?;
    // The Pod-level request may not exceed the Pod-level limit either.
    for (resource, request) in &requests {
        if let Some(limit) = limits.get(resource)
            && request.compare(*limit).is_gt()
        {
            fit.problems.push(format!(
                "spec.resources: requests.{resource} would be {} after injection, above limits.{resource} {}; raise spec.resources.limits.{resource}, or give the sidecars {resource} limits",
                show(*request, resource),
                show(*limit, resource)
            ));
        }
    }
    if !fit.problems.is_empty() {
        return Err(fit.problems.join("; "));
    }
    if fit.raised.is_empty() {
        return Ok(());
    }
    let mut said = Vec::new();
    let lowered = fit.raised.iter().any(|r| r.4.is_negative());
    for (field, resource, old, new, by) in fit.raised {
        if let Some(Value::Object(map)) = pod_level.get_mut(field) {
            map.insert(resource.clone(), Value::String(show(new, &resource)));
        }
        let sign = if by.is_negative() { "" } else { "+" };
        said.push(format!(
            "{field}.{resource} {} → {} ({sign}{})",
            show(old, &resource),
            show(new, &resource),
            show(by, &resource)
        ));
    }
    // Lowered only where a replaced stale sidecar had a larger limit.
    let how = if lowered { "changed" } else { "raised" };
    warnings.push(format!(
        "spec.resources (Pod-level) {how} for the injected sidecars: {}",
        said.join(", ")
    ));
    Ok(())
}

/// What fitting the Pod-level resources found: the values raised (field,
/// resource, old, new, by how much) and the problems.
struct Fit {
    mode: PodLevelResources,
    raised: Vec<(&'static str, String, Amount, Amount, Amount)>,
    problems: Vec<String>,
}

impl Fit {
    /// The Pod-level requests after injection: the containers' effective
    /// request must fit in them.
    fn requests(
        &mut self,
        declared: &Amounts,
        before: &Amounts,
        after: &Amounts,
    ) -> Result<Amounts, String> {
        let mut result = declared.clone();
        for (resource, declared) in declared {
            let new = after.get(resource).copied().unwrap_or(Amount::ZERO);
            let old = before.get(resource).copied().unwrap_or(Amount::ZERO);
            let added = new
                .checked_sub(old)
                .unwrap_or(Amount::ZERO)
                .max(Amount::ZERO);
            match self.mode {
                PodLevelResources::Add if !added.is_zero() => {
                    let value = declared.checked_add(added).ok_or_else(|| out_of_range(resource))?;
                    self.raised.push(("requests", resource.clone(), *declared, value, added));
                    result.insert(resource.clone(), value);
                }
                PodLevelResources::Reject if new.compare(*declared).is_gt() => self.problems.push(format!(
                    "spec.resources.requests.{resource}: {} is less than the containers' effective request after injection, {} (the sidecars add {}); raise spec.resources.requests.{resource} to at least {}, or set podLevelResources: add",
                    show(*declared, resource),
                    show(new, resource),
                    show(added, resource),
                    show(new, resource)
                )),
                _ => {}
            }
        }
        Ok(result)
    }

    /// The Pod-level limits after injection: each container's limit must
    /// fit; `add` changes them by the running sidecars' sum less that of
    /// the running containers a stale injection left and this one removed
    /// (a copy's limits were raised for those already).
    fn limits(
        &mut self,
        declared: &Amounts,
        injected: &[Injected],
        removed: &[Injected],
        warnings: &mut Vec<String>,
    ) -> Result<Amounts, String> {
        let mut result = declared.clone();
        for (resource, declared) in declared {
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
            let mut freed = Amount::ZERO;
            for entry in removed.iter().filter(|e| e.running) {
                if let Some(l) = entry.limits.get(resource) {
                    freed = freed
                        .checked_add(*l)
                        .ok_or_else(|| out_of_range(resource))?;
                }
            }
            let sum = sum
                .map(|sum| sum.checked_sub(freed).ok_or_else(|| out_of_range(resource)))
                .transpose()?;
            let mut value = *declared;
            match (self.mode, sum) {
                (PodLevelResources::Add, Some(sum)) if !sum.is_zero() => {
                    value = declared.checked_add(sum).ok_or_else(|| out_of_range(resource))?;
                    self.raised.push(("limits", resource.clone(), *declared, value, sum));
                    result.insert(resource.clone(), value);
                }
                (PodLevelResources::Add, None) => warnings.push(format!(
                    "spec.resources.limits.{resource} {} left as it is: an injected sidecar has no {resource} limit and shares the Pod's",
                    show(*declared, resource)
                )),
                _ => {}
            }
            if largest.compare(value).is_gt() {
                self.problems.push(format!(
                    "spec.resources.limits.{resource}: {} is less than an injected container's {resource} limit, {}; raise spec.resources.limits.{resource}{}",
                    show(value, resource),
                    show(largest, resource),
                    if self.mode == PodLevelResources::Reject { ", or set podLevelResources: add" } else { "" }
                ));
            }
        }
        Ok(result)
    }
}

/// `spec.resources.<field>` of the Pod, by resource.
fn list_of(pod_level: &Map<String, Value>, field: &str) -> Result<Amounts, String> {
    amounts(Some(pod_level), field, &|| "spec.resources".to_string())
}

/// What of the Pod does not fit in its Pod-level resources
/// (`spec.resources`): the effective request above a Pod-level request, an
/// `injected` container's limit above a Pod-level limit. Each as (what,
/// message), `what` naming the field, resource and container, so that a
/// resize is refused only for what it makes newly wrong.
#[inline(never)]
pub fn pod_level_overrun(
    spec: &Map<String, Value>,
    effective: &Amounts,
    injected: &[&str],
) -> Result<Vec<(String, String)>, String> {
    let Some(Value::Object(pod_level)) = spec.get("resources") else {
        return Ok(Vec::new());
    };
    let mut overrun = Vec::new();
    for (resource, declared) in &list_of(pod_level, "requests")? {
        if let Some(request) = effective.get(resource)
            && request.compare(*declared).is_gt()
        {
            overrun.push((
                format!("requests.{resource}"),
                format!(
                    "spec.resources.requests.{resource} {} is less than the containers' effective request, {}; resize within it",
                    show(*declared, resource),
                    show(*request, resource)
                ),
            ));
        }
    }
    let limits = list_of(pod_level, "limits")?;
    for (name, own) in Injected::in_spec(spec, &|name| injected.contains(&name))? {
        for (resource, declared) in &limits {
            if let Some(limit) = own.limits.get(resource)
                && limit.compare(*declared).is_gt()
            {
                overrun.push((
                    format!("limits.{resource}/{name}"),
                    format!(
                        "spec.resources.limits.{resource} {} is less than the {resource} limit of {name}, {}; resize within it",
                        show(*declared, resource),
                        show(*limit, resource)
                    ),
                ));
            }
        }
    }
    Ok(overrun)
}
