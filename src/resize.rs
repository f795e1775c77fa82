//! A resize (the `pods/resize` subresource, Kubernetes 1.33+): the one way a
//! running Pod's resources change. A container the Pod holds as its record
//! says a set injected may be resized within the set's `resourceBounds`,
//! and the injection's share of the Pod's effective request stays within
//! `maxAddedRequests`, the containers within the Pod-level resources. A
//! resize of the Pod's own containers is the author's.

use serde_json::{Map, Value};

use crate::annotations::STATUS;
use crate::pod::PodView;
use crate::provenance::Status;
use crate::resources::{self, Amounts};
use crate::settings::Settings;
use crate::update;

/// Ok, or why the resize is refused.
pub fn on_resize(object: &Value, old: &Value, settings: &Settings) -> Result<(), String> {
    let before = PodView::read(old)?;
    let after = PodView::read(object)?;
    let recorded = Status::read(before.annotations.get(STATUS).copied()).unwrap_or_default();
    let held = update::held(settings, &before, &recorded);
    let mut problems = Vec::new();
    let mut injected: Vec<&str> = Vec::new();
    let mut resized: Vec<&str> = Vec::new();
    for h in &held {
        for name in h.record.container_names() {
            if !h.holds(&before, name) {
                continue;
            }
            injected.push(name);
            let (Some(was), Some(now)) = (before.container(name), after.container(name)) else {
                continue;
            };
            let Some(container) = h.set.container(name) else {
                continue;
            };
            let at = format!("{} ({name})", now.path());
            match resources::check_resize(now.spec, was.spec, &at, container, &h.set.name) {
                Ok(false) => {}
                Ok(true) => resized.push(h.set.name.as_str()),
                Err(problem) => problems.push(problem),
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    if resized.is_empty() {
        return Ok(());
    }
    resized.dedup();
    let sets = format!("sidecar set {}", resized.join(", "));
    let empty = Map::new();
    // The effective request with and without the injected containers, after
    // the resize and before it: a resize that does not make it worse is
    // never refused.
    let added = |spec: &Map<String, Value>| -> Result<(Amounts, Amounts), String> {
        let with = resources::effective_requests(spec)?;
        let without = resources::effective_requests(&without(spec, &injected))?;
        Ok((without, with))
    };
    let (new, old) = [object, old]
        .map(|pod| pod.get("spec").and_then(Value::as_object).unwrap_or(&empty))
        .into();
    let ((without, with), (was_without, was_with)) = (added(new)?, added(old)?);
    let allowed = &settings.max_added_requests;
    if let Err(problem) = resources::check_added(&without, &with, allowed, &sets)
        && resources::check_added(&was_without, &was_with, allowed, &sets).is_ok()
    {
        return Err(format!("after this resize, {problem}"));
    }
    let overrun = resources::pod_level_overrun(new, &with, &injected)?;
    let was = resources::pod_level_overrun(old, &was_with, &injected)?;
    let worse: Vec<String> = overrun
        .into_iter()
        .filter(|(what, _)| !was.iter().any(|(w, _)| w == what))
        .map(|(_, message)| message)
        .collect();
    if worse.is_empty() {
        Ok(())
    } else {
        Err(format!("after this resize, {}", worse.join("; ")))
    }
}

/// The Pod's spec without the containers named `names`.
fn without(spec: &Map<String, Value>, names: &[&str]) -> Map<String, Value> {
    let mut spec = spec.clone();
    for key in ["initContainers", "containers"] {
        if let Some(Value::Array(list)) = spec.get_mut(key) {
            list.retain(|e| !names.contains(&crate::order::entry_name(e)));
        }
    }
    spec
}
