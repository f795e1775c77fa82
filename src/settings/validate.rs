//! What `validate_settings` checks beyond the schema, once, when the
//! policy is loaded: the embedded corev1 specs, names, uniqueness across
//! sets, start-order edges. Every problem is reported, each with its path.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::update_strategy::UpdateStrategy;
use super::*;
use crate::annotations::POLICY_ANNOTATION_PREFIX;
use crate::conflicts::SetClaims;
use crate::order::{Graph, Node};
use crate::resources::quantity::Amount;
use crate::schema::Schema;

impl kubewarden_policy_sdk::settings::Validatable for Settings {
    /// Every problem, each with the path of the field, joined by "; ".
    fn validate(&self) -> Result<(), String> {
        let errors = self.problems();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }
}

const SUPPORTED_SET_FIELDS: &str = "name, mandatory, selector, namespace, namespaceSelector, hostNetworkPods, nativeSidecars, initContainers, containers, volumes, imagePullSecrets, injectionStrategy.paused, injectionStrategy.canary, patchPodMetadata, revisions, allowRevisionPin, allowNamespacePin, tags, podSecurity, appContainers, shutdown, updateStrategy";

impl Settings {
    fn problems(&self) -> Vec<String> {
        let schema = Schema::load();
        let mut errors = Vec::new();
        for (i, namespace) in self.excluded_namespaces.iter().enumerate() {
            if let Err(e) = dns1123_label(namespace) {
                errors.push(format!("excludedNamespaces[{i}]: {namespace:?} {e}"));
            }
        }
        let mut set_names = HashMap::new();
        // What the sets claim together: names, ports, hostPorts, volumes.
        let mut claims = SetClaims::default();
        // Every injected container, for the dependsOn graph.
        let mut items: Vec<Item> = Vec::new();
        for (i, set) in self.sidecar_sets.iter().enumerate() {
            let at = format!("sidecarSets[{i}]");
            if let Err(e) = dns1123_label(&set.name) {
                errors.push(format!("{at}.name: {:?} {e}", set.name));
            } else if let Some(first) = set_names.insert(set.name.as_str(), i) {
                errors.push(format!(
                    "{at}.name: {:?} is already the name of sidecarSets[{first}]; set names must be unique",
                    set.name
                ));
            }
            self.scope_problems(set, &at, &mut errors);
            let native = set.native(self.native_sidecars);
            let fields = (0..set.init_containers.len())
                .map(|j| ("initContainers", j))
                .chain((0..set.containers.len()).map(|j| ("containers", j)));
            for ((field, j), (container, placement, after)) in
                fields.zip(set.items_with_dependencies(native))
            {
                let at = format!("{at}.{field}[{j}]");
                let is_init = field == "initContainers";
                let mut found = Vec::new();
                container_problems(&schema, container, &at, is_init, placement, &mut found);
                // The values once the fields are right: a misspelled
                // handler is one problem, not also "none set".
                if found.is_empty() {
                    let run_to_completion = placement == Placement::Init;
                    apiserver::container_problems(
                        &container.spec,
                        &at,
                        run_to_completion,
                        &mut found,
                    );
                }
                gating_problems(container, placement, &at, &mut found);
                transfer_env_problems(container, &at, &mut found);
                resources_problems(container, is_init, placement, &at, &mut found);
                if is_init && container.drain_seconds.is_some() {
                    found.push(format!(
                        "{at}.drainSeconds: only a sidecar of containers drains (a regular one, with nativeSidecars: false); an init container has run to completion, and a native sidecar already stops after the app containers; remove it"
                    ));
                }
                errors.extend(found.iter().map(|e| naming(e, container.name())));
                claims.claim_container(container, placement, &at, &mut errors);
                items.push(Item {
                    at,
                    container,
                    placement,
                    after,
                });
            }
            volume_problems(&schema, set, &at, &mut claims, &mut errors);
            revision_problems(set, &at, &mut errors);
            metadata_problems(set, &at, &mut errors);
            pod_security_problems(set, native, &at, &mut errors);
            app_problems(&schema, set, &at, &mut errors);
        }
        dependency_problems(&items, &mut errors);
        for (resource, text) in &self.max_added_requests {
            quantity_problems(text, &format!("maxAddedRequests.{resource}"), &mut errors);
        }
        errors
    }

    /// The set's OpenKruise fields that need its controller, and where it
    /// applies: selector, namespace, namespaceSelector.
    fn scope_problems(&self, set: &SidecarSet, at: &str, errors: &mut Vec<String>) {
        // OpenKruise's rollout fields, for kubectl sidecarset upgrade; the
        // policy ignores them at admission.
        // The text is a JSON value already checked by the first pass.
        let update_strategy: Option<Value> = set
            .update_strategy
            .as_deref()
            .and_then(|text| serde_json::from_slice(text.as_bytes()).ok());
        match UpdateStrategy::read(update_strategy.as_ref(), &format!("{at}.updateStrategy")) {
            Ok(strategy) => {
                if let Some(selector) = &strategy.selector {
                    selector_problems(selector, &format!("{at}.updateStrategy.selector"), errors);
                }
            }
            Err(problems) => errors.extend(problems),
        }
        for (field, value) in [
            ("upgradeStrategy", &set.upgrade_strategy),
            (
                "injectionStrategy.revision",
                &set.injection_strategy.revision,
            ),
        ] {
            if value.is_some() {
                errors.push(format!(
                    "{at}.{field}: not supported: it needs OpenKruise's controller; this policy rolls sidecars out with revisions, injectionStrategy.canary and in-place upgrades on Pod UPDATE instead (docs/rollout.md); remove the field. Supported fields: {SUPPORTED_SET_FIELDS}"
                ));
            }
        }
        // OpenKruise's, defaulted in a SidecarSet copied from a cluster: how
        // many old revisions its controller keeps. Accepted and ignored.
        match &set.revision_history_limit {
            None | Some(Value::Null) => {}
            Some(Value::Number(n)) if n.as_u64().is_some_and(|n| n <= i32::MAX as u64) => {}
            Some(other) => errors.push(format!(
                "{at}.revisionHistoryLimit: {other} is not a whole number from 0; OpenKruise's field is accepted and ignored (this policy keeps its revisions in revisions), so give a number or remove it"
            )),
        }
        match &set.selector {
            None => errors.push(format!(
                "{at}.selector: required; use {{}} to select every Pod, or matchLabels / matchExpressions"
            )),
            Some(selector) => selector_problems(selector, &format!("{at}.selector"), errors),
        }
        if let Some(namespace) = set.namespace.as_deref() {
            if let Err(e) = dns1123_label(namespace) {
                errors.push(format!("{at}.namespace: {namespace:?} {e}"));
            } else if self.excludes(namespace) {
                errors.push(format!(
                    "{at}.namespace: {namespace:?} is in excludedNamespaces, so this set would never apply; remove it from excludedNamespaces or target another namespace"
                ));
            }
        }
        if let Some(selector) = &set.namespace_selector {
            selector_problems(selector, &format!("{at}.namespaceSelector"), errors);
        }
    }
}

/// Each volume of the set: a DNS-1123 name, a corev1.Volume, once per set,
/// and identical to another set's volume of the same name.
fn volume_problems<'s>(
    schema: &Schema,
    set: &'s SidecarSet,
    at: &str,
    claims: &mut SetClaims<'s>,
    errors: &mut Vec<String>,
) {
    let mut set_volumes = BTreeSet::new();
    for (j, volume) in set.volumes.iter().enumerate() {
        let vat = format!("{at}.volumes[{j}]");
        let name = volume.get("name").and_then(Value::as_str).unwrap_or("");
        if let Err(e) = dns1123_label(name) {
            errors.push(format!("{vat}.name: {name:?} {e}"));
            continue;
        }
        let typed = schema.check(&Value::Object(volume.clone()), "Volume", &vat);
        if typed.is_empty() {
            apiserver::volume_problems(volume, &vat, errors);
        }
        errors.extend(typed);
        if !set_volumes.insert(name) {
            errors.push(format!("{vat}.name: {name:?} is defined twice in this set"));
        } else {
            claims.claim_volume(name, volume, vat, errors);
        }
    }
}

/// A set's appContainers: names or a pattern, corev1 entries, each
/// variable and mountPath once, mounts of the set's own volumes.
fn app_problems(schema: &Schema, set: &SidecarSet, at: &str, errors: &mut Vec<String>) {
    let Some(block) = &set.app_containers else {
        return;
    };
    let at = format!("{at}.appContainers");
    if !block.names.is_empty() && block.name_regex.is_some() {
        errors.push(format!(
            "{at}: give names or nameRegex, not both; without either, every app container"
        ));
    }
    let mut container = serde_json::Map::new();
    container.insert("name".into(), Value::from("app"));
    for (list, items) in LISTS
        .iter()
        .zip([&block.env, &block.env_from, &block.volume_mounts])
    {
        container.insert(list.to_string(), Value::Array(items.clone()));
    }
    let typed = schema.check(&Value::Object(container.clone()), "Container", &at);
    if typed.is_empty() {
        // The app container's privilege is the Pod's: Bidirectional is
        // judged at admission.
        apiserver::env_problems(&container, &at, errors);
        apiserver::mount_problems(&container, &at, None, errors);
    }
    errors.extend(typed);
    let mut seen = BTreeSet::new();
    for (k, entry) in block.env.iter().enumerate() {
        let id = entry
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !seen.insert(id) {
            errors.push(format!(
                "{at}.env[{k}]: {id:?} is given twice; give it once"
            ));
        }
    }
    for (k, mount) in block.volume_mounts.iter().enumerate() {
        let name = mount
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let of_set = set
            .volumes
            .iter()
            .any(|v| v.get("name").and_then(Value::as_str) == Some(name));
        if !of_set {
            let names: Vec<&str> = set
                .volumes
                .iter()
                .filter_map(|v| v.get("name").and_then(Value::as_str))
                .collect();
            errors.push(format!(
                "{at}.volumeMounts[{k}].name: {name:?} is not a volume of this set; add it to the set's volumes, or mount one of them ({})",
                if names.is_empty() { "it has none".to_string() } else { names.join(", ") }
            ));
        }
    }
}

/// Pull secrets name a secret; patchPodMetadata leaves the policy's own
/// annotations alone and merges only JSON objects.
fn metadata_problems(set: &SidecarSet, at: &str, errors: &mut Vec<String>) {
    for (j, secret) in set.image_pull_secrets.iter().enumerate() {
        if secret.name.is_empty() {
            errors.push(format!("{at}.imagePullSecrets[{j}].name: required"));
        }
    }
    for (j, patch) in set.patch_pod_metadata.iter().enumerate() {
        let pat = format!("{at}.patchPodMetadata[{j}]");
        for (key, value) in &patch.annotations {
            if key.starts_with(POLICY_ANNOTATION_PREFIX) {
                errors.push(format!(
                    "{pat}.annotations[{key:?}]: the {POLICY_ANNOTATION_PREFIX} annotations belong to this policy; use another key"
                ));
            }
            if let Some(problem) = api_server_annotation(key, value) {
                errors.push(format!("{pat}.annotations[{key:?}]: {problem}"));
            }
            if patch.patch_policy == PatchPolicy::MergePatchJson
                && !matches!(
                    serde_json::from_slice::<Value>(value.as_bytes()),
                    Ok(Value::Object(_))
                )
            {
                errors.push(format!(
                    "{pat}.annotations[{key:?}]: with patchPolicy MergePatchJson the value must be a JSON object, such as '{{\"key\":\"value\"}}'"
                ));
            }
        }
    }
}

/// What the API server refuses of an annotation a set writes on every Pod
/// (`ValidatePodSpecificAnnotations`, and the profile annotations it
/// checks against the containers' securityContext).
fn api_server_annotation(key: &str, value: &str) -> Option<&'static str> {
    if !apiserver::qualified_name(key) {
        return Some(
            "not a key the API server takes: an optional DNS subdomain prefix and '/', then a name of at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit; fix the key",
        );
    }
    const PROFILES: [&str; 3] = [
        "seccomp.security.alpha.kubernetes.io/pod",
        "container.seccomp.security.alpha.kubernetes.io/",
        "container.apparmor.security.beta.kubernetes.io/",
    ];
    if PROFILES.iter().any(|p| key.starts_with(p)) {
        return Some(
            "a deprecated security profile annotation, which the API server checks against the containers' securityContext (and refuses on a mismatch); set securityContext.seccompProfile or appArmorProfile in the set's containers instead",
        );
    }
    if key == "kubernetes.io/config.mirror" {
        return Some("marks a static Pod's mirror, which only the kubelet writes; remove it");
    }
    if key == "scheduler.alpha.kubernetes.io/tolerations" {
        return Some(
            "a deprecated annotation the API server reads as the Pod's tolerations (and refuses when they do not parse); the policy does not set tolerations: remove it",
        );
    }
    if key == "controller.kubernetes.io/pod-deletion-cost" {
        // `validFirstDigit`: a sign or a digit, no leading zero but "0".
        let first =
            value.starts_with(|c: char| c == '-' || ('1'..='9').contains(&c)) || value == "0";
        if !first || value.parse::<i32>().is_err() {
            return Some(
                "the API server takes only a 32-bit integer, such as \"100\" or \"-5\"; write one",
            );
        }
    }
    None
}

/// An injected container of the settings, where it is defined and placed.
struct Item<'a> {
    at: String,
    container: &'a ContainerSpec,
    placement: Placement,
    /// What it starts after (see `SidecarSet::items_with_dependencies`).
    after: Cow<'a, [String]>,
}

/// A problem `path: message` about one container, with the container's name
/// after the path: `…containers[0].waitForReady: fluent-bit: …`.
fn naming(problem: &str, name: &str) -> String {
    match problem.split_once(": ") {
        // A problem with the name itself quotes it already.
        Some((path, message)) if !name.is_empty() && !path.ends_with(".name") => {
            format!("{path}: {name}: {message}")
        }
        _ => problem.to_string(),
    }
}

/// Revisions change only images of the set's own containers; the canary
/// names one of them; the revision label's key must be a valid label key.
fn revision_problems(set: &SidecarSet, at: &str, errors: &mut Vec<String>) {
    use crate::rollout::CURRENT;
    let containers: Vec<&str> = set
        .init_containers
        .iter()
        .chain(&set.containers)
        .map(ContainerSpec::name)
        .collect();
    let mut names: Vec<&str> = Vec::new();
    for (i, revision) in set.revisions.iter().enumerate() {
        let rat = format!("{at}.revisions[{i}]");
        let name = revision.name.as_str();
        if name == CURRENT {
            errors.push(format!(
                "{rat}.name: \"current\" is the set's own definition; give the revision another name"
            ));
        } else if let Err(e) = dns1123_label(name) {
            errors.push(format!("{rat}.name: {name:?} {e}"));
        } else if names.contains(&name) {
            errors.push(format!(
                "{rat}.name: {name:?} is already a revision of this set; revision names must be unique in the set"
            ));
        }
        names.push(name);
        if revision.images.is_empty() {
            errors.push(format!(
                "{rat}.images: give the image of at least one of the set's containers, such as {{{}: <image>}}",
                containers.first().copied().unwrap_or("<container>")
            ));
        }
        for (container, image) in &revision.images {
            if !containers.contains(&container.as_str()) {
                errors.push(format!(
                    "{rat}.images.{container}: the set has no container or init container {container:?} (it has {}); a revision changes only the images of the set's own containers",
                    containers.join(", ")
                ));
            } else if image.trim().is_empty() {
                errors.push(format!("{rat}.images.{container}: give an image reference"));
            }
        }
    }
    for (i, (tag, revision)) in set.tags.iter().enumerate() {
        let tat = format!("{at}.tags.{tag}");
        if let Err(e) = dns1123_label(tag) {
            errors.push(format!("{tat}: the tag {tag:?} {e}"));
        } else if tag == CURRENT || names.contains(&tag.as_str()) {
            errors.push(format!(
                "{tat}: {tag:?} is the name of a revision; a tag needs a name of its own (a Pod or Namespace naming it would be ambiguous)"
            ));
        } else if set.tags.iter().take(i).any(|(t, _)| t == tag) {
            errors.push(format!("{tat}: the tag is given twice; give it once"));
        }
        if revision != CURRENT && !names.contains(&revision.as_str()) {
            errors.push(format!(
                "{tat}: {revision:?} is not a revision of this set (it has current{}{}); name one of them",
                if names.is_empty() { "" } else { ", " },
                names.join(", ")
            ));
        }
    }
    if let Some(canary) = &set.injection_strategy.canary {
        let cat = format!("{at}.injectionStrategy.canary");
        if !set.revisions.iter().any(|r| r.name == canary.revision) {
            errors.push(format!(
                "{cat}.revision: {:?} is not one of the set's revisions ({}); list it under revisions",
                canary.revision,
                if names.is_empty() { "it has none".to_string() } else { names.join(", ") }
            ));
        }
        if canary.percent > 100 {
            errors.push(format!(
                "{cat}.percent: {} is not a percentage; give a whole number from 0 to 100",
                canary.percent
            ));
        }
    }
    // sidecarset.kubewarden.io/rev.<set>: a label name is 63 characters at most.
    if !set.revisions.is_empty() && set.name.len() > 59 {
        errors.push(format!(
            "{at}.name: a set with revisions labels its Pods sidecarset.kubewarden.io/rev.<name>, and a label name has 63 characters at most; use a set name of 59 characters at most"
        ));
    }
}

/// A quantity of the settings: one Kubernetes reads, not below zero.
fn quantity_problems(text: &QuantityText, at: &str, errors: &mut Vec<String>) -> Option<Amount> {
    match Amount::parse(&text.0) {
        Err(e) => errors.push(format!("{at}: {e}")),
        Ok(amount) if amount.is_negative() => {
            errors.push(format!(
                "{at}: {:?} is below zero; give a quantity of 0 or more",
                text.0
            ));
        }
        Ok(amount) => return Some(amount),
    }
    None
}

/// resourcesPolicy (OpenKruise's rules), resourceBounds.
fn resources_problems(
    container: &ContainerSpec,
    is_init: bool,
    placement: Placement,
    at: &str,
    errors: &mut Vec<String>,
) {
    if let Some(policy) = &container.resources_policy {
        let at = format!("{at}.resourcesPolicy");
        if container.has("resources") {
            errors.push(format!(
                "{at}: the container also sets resources; use resources (fixed values) or resourcesPolicy (computed from the Pod), not both"
            ));
        }
        if is_init && placement != Placement::NativeSidecar {
            errors.push(format!(
                "{at}: an init container that runs to completion is not sized from the Pod; use resourcesPolicy on a container or a native sidecar (restartPolicy: Always)"
            ));
        }
        let regex = &policy.target_containers_name_regex;
        if let Err(e) = crate::resources::pattern::Pattern::new(regex) {
            errors.push(format!(
                "{at}.targetContainersNameRegex: {regex:?} is not a supported regular expression: {e}"
            ));
        }
        let exprs = &policy.resources_expr;
        if exprs.requests.is_empty() && exprs.limits.is_empty() {
            errors.push(format!(
                "{at}.resourcesExpr: give requests or limits, each with cpu and/or memory expressions, such as {{requests: {{cpu: \"max(cpu*50%, 50m)\"}}}}"
            ));
        }
        for (field, map) in [("requests", &exprs.requests), ("limits", &exprs.limits)] {
            for (resource, text) in map {
                let at = format!("{at}.resourcesExpr.{field}.{resource}");
                if resource != "cpu" && resource != "memory" {
                    errors.push(format!(
                        "{at}: only cpu and memory are computed; remove {resource}"
                    ));
                } else if let Err(e) = crate::resources::expr::parse(text, resource) {
                    errors.push(format!("{at}: {text:?} {e}"));
                }
            }
        }
    }
    if let Some(bounds) = &container.resource_bounds {
        let at = format!("{at}.resourceBounds");
        if bounds.min.is_empty() && bounds.max.is_empty() {
            errors.push(format!(
                "{at}: give min and/or max by resource, such as {{min: {{cpu: 10m}}, max: {{cpu: \"1\"}}}}"
            ));
        }
        // A Pod's override sets requests and limits apart: the API server
        // takes that of these resources only (an extended resource's
        // request must equal its limit, hugepages come in pages).
        for (side, map) in [("min", &bounds.min), ("max", &bounds.max)] {
            for resource in map.keys() {
                if !matches!(resource.as_str(), "cpu" | "memory" | "ephemeral-storage") {
                    errors.push(format!(
                        "{at}.{side}.{resource}: only cpu, memory and ephemeral-storage can be bounded (a Pod's override sets requests and limits apart, which the API server refuses for {resource}); remove {resource}, or give it in the container's resources"
                    ));
                }
            }
        }
        let min: Vec<(&String, Option<Amount>)> = bounds
            .min
            .iter()
            .map(|(r, q)| (r, quantity_problems(q, &format!("{at}.min.{r}"), errors)))
            .collect();
        for (resource, text) in &bounds.max {
            let max = quantity_problems(text, &format!("{at}.max.{resource}"), errors);
            let min = min
                .iter()
                .find(|(r, _)| *r == resource)
                .and_then(|(_, m)| *m);
            if let (Some(min), Some(max)) = (min, max)
                && min.compare(max).is_gt()
            {
                errors.push(format!(
                    "{at}.min.{resource}: {:?} is above max.{resource} {:?}; make min at most max",
                    bounds.min.get(resource).map_or("", |q| q.0.as_str()),
                    text.0
                ));
            }
        }
    }
}

/// Each transferEnv entry names one source container and at least one variable.
fn transfer_env_problems(container: &ContainerSpec, at: &str, errors: &mut Vec<String>) {
    for (k, transfer) in container.transfer_env.iter().enumerate() {
        let tat = format!("{at}.transferEnv[{k}]");
        match (
            &transfer.source_container_name,
            &transfer.source_container_name_from,
        ) {
            (None, None) => errors.push(format!(
                "{tat}: name the app container to copy from, with sourceContainerName or sourceContainerNameFrom.fieldRef.fieldPath"
            )),
            (Some(_), Some(_)) => errors.push(format!(
                "{tat}: sourceContainerName and sourceContainerNameFrom are exclusive; keep one"
            )),
            (Some(name), None) => {
                if let Err(e) = dns1123_label(name) {
                    errors.push(format!("{tat}.sourceContainerName: {name:?} {e}"));
                }
            }
            (None, Some(from)) => match &from.field_ref {
                None => errors.push(format!(
                    "{tat}.sourceContainerNameFrom.fieldRef: required; give fieldPath: metadata.labels['key'] or metadata.annotations['key']"
                )),
                Some(field_ref) if transfer.source().is_none() => errors.push(format!(
                    "{tat}.sourceContainerNameFrom.fieldRef.fieldPath: {:?} is not supported; use metadata.labels['key'] or metadata.annotations['key'], whose value names the app container",
                    field_ref.field_path
                )),
                Some(_) => {}
            },
        }
        if transfer.names().next().is_none() {
            errors.push(format!(
                "{tat}: name the variables to copy with envName or envNames"
            ));
        }
        for name in transfer.names() {
            if name.is_empty() || name.contains('=') {
                errors.push(format!(
                    "{tat}: {name:?} is not an environment variable name; use a non-empty name without '='"
                ));
            }
        }
    }
}

/// waitForReady and readyTimeoutSeconds need something the kubelet can wait on.
fn gating_problems(
    container: &ContainerSpec,
    placement: Placement,
    at: &str,
    errors: &mut Vec<String>,
) {
    if container.ready_timeout_seconds.is_some() {
        if !container.wait_for_ready {
            errors.push(format!(
                "{at}.readyTimeoutSeconds: only used with waitForReady: true; add it or remove readyTimeoutSeconds"
            ));
        } else if placement == Placement::NativeSidecar && container.has("startupProbe") {
            errors.push(format!(
                "{at}.readyTimeoutSeconds: this container has its own startupProbe, which sets the budget; remove readyTimeoutSeconds"
            ));
        }
    }
    if !container.wait_for_ready {
        return;
    }
    match placement {
        Placement::Init => errors.push(format!(
            "{at}.waitForReady: an init container that runs to completion always finishes before the next one starts; remove waitForReady"
        )),
        Placement::Trailing => errors.push(format!(
            "{at}.waitForReady: an AfterAppContainer container starts after the app containers, so nothing waits for it; remove waitForReady"
        )),
        Placement::NativeSidecar => {
            if !container.has("startupProbe") && !container.has("readinessProbe") {
                errors.push(format!(
                    "{at}.waitForReady: waitForReady needs a readinessProbe or startupProbe: the kubelet waits for a native sidecar through its startupProbe, which the policy derives from the readinessProbe; add one, or remove waitForReady"
                ));
            }
        }
        Placement::Leading => {
            if !container.has_post_start() {
                errors.push(format!(
                    "{at}.waitForReady: a regular sidecar (nativeSidecars: false) can only hold the next container through a lifecycle.postStart hook that blocks until it is ready; either make the set native (nativeSidecars: true), where the kubelet waits for the startupProbe, or add such a postStart command (as Istio's holdApplicationUntilProxyStarts does)"
                ));
            }
        }
    }
}

/// dependsOn: names defined in the settings must be reachable in the start
/// order and ready when the dependent starts; no cycles. Other names are
/// taken as the Pod's own init containers, checked at admission.
fn dependency_problems(items: &[Item], errors: &mut Vec<String>) {
    let by_name: HashMap<&str, &Item> = items.iter().map(|i| (i.container.name(), i)).collect();
    for item in items {
        let name = item.container.name();
        for (k, dep) in item.container.depends_on.iter().enumerate() {
            let at = format!("{}.dependsOn[{k}]", item.at);
            if dep == name {
                errors.push(format!(
                    "{at}: {name}: it cannot depend on itself; remove it"
                ));
                continue;
            }
            let Some(target) = by_name.get(dep.as_str()) else {
                if let Err(e) = dns1123_label(dep) {
                    errors.push(format!(
                        "{at}: {name}: {dep:?} {e}; it names no container of the settings, so it must be the name of one of the Pod's own init containers"
                    ));
                }
                continue;
            };
            // A dependency the kubelet does not wait for means "after it
            // has started" (Docker Compose's default); see `Wait`.
            if target.placement.phase() > item.placement.phase() {
                errors.push(format!(
                    "{at}: {name} is {} and cannot wait for {dep}, {}, which starts after it; make {dep} start earlier or remove the dependency",
                    item.placement.describe(),
                    target.placement.describe()
                ));
            }
        }
    }
    let nodes: Vec<Node> = items
        .iter()
        .map(|i| Node {
            name: i.container.name(),
            depends_on: &i.after,
            fixed: false,
        })
        .collect();
    let graph = Graph::new(&nodes);
    for cycle in graph.cycles() {
        let at = cycle
            .first()
            .and_then(|&i| items.get(i))
            .map_or("sidecarSets", |i| i.at.as_str());
        errors.push(format!(
            "{at}.dependsOn: dependsOn cycle: {}; remove one of these dependencies{}",
            graph.describe(&cycle),
            if implicit_edge_in(&cycle, &graph, items) {
                " (a set's init containers run before its sidecars unless they depend on them)"
            } else {
                ""
            }
        ));
    }
}

/// Whether a cycle goes through an edge the settings do not write: a
/// sidecar after its set's init container.
fn implicit_edge_in(cycle: &[usize], graph: &Graph, items: &[Item]) -> bool {
    cycle.windows(2).any(|pair| {
        let (Some(&from), Some(&to)) = (pair.first(), pair.get(1)) else {
            return false;
        };
        items.get(from).is_some_and(|item| {
            let to = graph.name(to);
            !item.container.depends_on.iter().any(|d| d == to)
        })
    })
}

fn selector_problems(selector: &LabelSelector, at: &str, errors: &mut Vec<String>) {
    for (i, requirement) in selector.match_expressions.iter().enumerate() {
        let rat = format!("{at}.matchExpressions[{i}]");
        if requirement.key.is_empty() {
            errors.push(format!("{rat}.key: required"));
        }
        let values = requirement.values.as_deref().unwrap_or(&[]);
        match requirement.operator {
            SelectorOperator::In | SelectorOperator::NotIn if values.is_empty() => {
                errors.push(format!(
                    "{rat}.values: operator {:?} needs at least one value",
                    requirement.operator
                ))
            }
            SelectorOperator::Exists | SelectorOperator::DoesNotExist if !values.is_empty() => {
                errors.push(format!(
                    "{rat}.values: operator {:?} takes no values; remove them",
                    requirement.operator
                ))
            }
            _ => {}
        }
    }
}

fn container_problems(
    schema: &Schema,
    container: &ContainerSpec,
    at: &str,
    is_init: bool,
    placement: Placement,
    errors: &mut Vec<String>,
) {
    let name = container.name();
    if let Err(e) = dns1123_label(name) {
        errors.push(format!("{at}.name: {name:?} {e}"));
    }
    match container.spec.get("image") {
        Some(Value::String(image)) if !image.trim().is_empty() => {}
        _ => errors.push(format!(
            "{at}.image: required; give the sidecar's image reference"
        )),
    }
    if is_init && container.pod_inject_policy != PodInjectPolicy::default() {
        errors.push(format!(
            "{at}.podInjectPolicy: applies to containers only; init containers always run before the Pod's own init containers"
        ));
    }
    match container.spec.get("restartPolicy") {
        None => {}
        Some(Value::String(policy)) if policy == "Always" => {
            if matches!(placement, Placement::Leading | Placement::Trailing) {
                errors.push(format!(
                    "{at}.restartPolicy: only native sidecars take restartPolicy; this container is injected as a regular container (nativeSidecars: false or podInjectPolicy: AfterAppContainer), so remove the field"
                ));
            }
        }
        // Another type is the schema check's to name (below): once.
        Some(other @ Value::String(_)) => errors.push(format!(
            "{at}.restartPolicy: {other} is not allowed; the only container restartPolicy is Always (a native sidecar), or leave it out"
        )),
        Some(_) => {}
    }
    let own_keys: Vec<&str> = CONTAINER_EXTENSION_KEYS.to_vec();
    errors.extend(schema.check_with(
        &Value::Object(container.spec.clone()),
        "Container",
        at,
        &own_keys,
    ));
}

/// Kubernetes' DNS-1123 label rule, with its own wording.
pub fn dns1123_label(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("is empty; a name is required");
    }
    if name.len() > 63 {
        return Err("is longer than 63 characters");
    }
    let bytes = name.as_bytes();
    let valid_chars = bytes
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
    let alnum = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !valid_chars || !alnum(bytes.first()) || !alnum(bytes.last()) {
        return Err(
            "is not a DNS-1123 label: use lower case letters, digits and '-', starting and ending with a letter or digit",
        );
    }
    Ok(())
}

/// A set's declared Pod Security level, met on its own; a mandatory set
/// cannot be skipped.
fn pod_security_problems(set: &SidecarSet, native: bool, at: &str, errors: &mut Vec<String>) {
    use crate::pod_security::{LATEST, listed, set_violations};
    let declared = &set.pod_security;
    if let Some(level) = declared.level {
        let violations = set_violations(set, native, None, level, LATEST);
        if !violations.is_empty() {
            errors.push(format!(
                "{at}.podSecurity.level: sidecar set {} does not meet {} on its own: {}; change its containers and volumes as the details say, or declare the level it meets",
                set.name,
                level.name(),
                listed(&violations)
            ));
        }
    }
    if set.mandatory && declared.on_violation == OnViolation::Skip {
        errors.push(format!(
            "{at}.podSecurity.onViolation: skip is not allowed on a mandatory set (Pods cannot go without it); remove it, or make the set not mandatory"
        ));
    }
}
