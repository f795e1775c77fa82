//! Reads the admission request, picks what to do with it, and builds the
//! policy's response.

use kubewarden_policy_sdk::response::ValidationResponse;
use serde::Deserialize;
use serde_json::Value;

use crate::annotations::UPGRADE;
use crate::inject::{self, Outcome};
use crate::namespace::{Lookup, Namespace};
use crate::pod::PodView;
use crate::resize;
use crate::selector;
use crate::settings::{Index, Mode, Object, Settings, read_index};
use crate::update;
use crate::verify;
use crate::workload::{self, TemplateKind};

/// The `validate` payload: only the fields this policy reads are decoded,
/// the settings as their index (each set's definition kept as raw JSON), in
/// one pass over the bytes.
#[derive(Deserialize)]
struct Payload<'a> {
    request: Request,
    #[serde(default, borrow)]
    settings: Option<Object<Index<'a>>>,
}

/// The payload again, after [`Payload`] failed: to tell a bad request from
/// bad settings, and to name the bad setting's path. Named `Payload` too,
/// for serde's messages.
mod unread {
    use serde::Deserialize;
    use serde_json::value::RawValue;

    #[derive(Deserialize)]
    pub struct Payload<'a> {
        #[serde(rename = "request")]
        _request: super::Request,
        #[serde(default, borrow)]
        pub settings: Option<&'a RawValue>,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    #[serde(default)]
    uid: String,
    #[serde(default)]
    kind: Kind,
    #[serde(default)]
    sub_resource: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    operation: String,
    #[serde(default)]
    object: Value,
    #[serde(default)]
    old_object: Value,
}

#[derive(Deserialize, Default)]
struct Kind {
    #[serde(default)]
    group: String,
    #[serde(default)]
    kind: String,
}

/// The decision for one `validate` payload.
#[derive(Debug, PartialEq)]
pub enum Decision {
    Accept,
    Mutate(Value),
    Reject(String),
}

/// A decision, and the warnings the API server passes on to the client.
#[derive(Debug, PartialEq)]
pub struct Answer {
    pub decision: Decision,
    pub warnings: Vec<String>,
}

impl From<Decision> for Answer {
    fn from(decision: Decision) -> Self {
        Answer {
            decision,
            warnings: Vec::new(),
        }
    }
}

/// Decides without a host: a Namespace cannot be read (tests, fuzzing).
pub fn decide(payload: &[u8]) -> Answer {
    decide_with(payload, None)
}

/// What the request is about.
enum Target {
    Pod,
    /// A workload, through the Pod its template makes.
    Workload(TemplateKind),
}

/// Decides on one `validate` payload; `lookup` reads a Namespace's labels
/// (the Kubewarden host) when a set has a namespaceSelector. The answer is
/// bounded (`Answer::bounded`), whatever the Pod or the host sent.
pub fn decide_with(payload: &[u8], lookup: Option<Lookup>) -> Answer {
    decide_unbounded(payload, lookup).bounded()
}

fn decide_unbounded(payload: &[u8], lookup: Option<Lookup>) -> Answer {
    let size = payload.len();
    let payload: Payload = match serde_json::from_slice(payload) {
        Ok(payload) => payload,
        Err(e) => return unreadable(payload, e),
    };
    let mut request = payload.request;
    let index = payload.settings.map(|Object(index)| index);
    // A Pod's namespace comes with the request (the object may not carry it yet).
    let namespace = request.namespace.take().unwrap_or_default();
    let namespace = namespace.as_str();
    if is_pod_resize(&request) {
        let settings = match select(index, &request.object, namespace, true) {
            Ok(settings) => settings,
            Err(e) => return bad_settings(&e),
        };
        return match resize::on_resize(&request.object, &request.old_object, &settings) {
            Ok(()) => Decision::Accept.into(),
            Err(message) => Decision::Reject(message).into(),
        };
    }
    let Some((target, mut object)) = target(&mut request) else {
        return Decision::Accept.into();
    };
    let operation = request.operation.as_str();
    let is_pod_update = matches!(target, Target::Pod) && operation == "UPDATE";
    let mode = index.as_ref().map_or(Mode::Inject, |i| i.mode);
    // A Pod UPDATE in inject mode that asks for no upgrade, changes no
    // image and leaves the record as it was (labels, finalizers, owner
    // adoption) is accepted before the sets are read.
    if is_pod_update
        && mode == Mode::Inject
        && !update::may_act(
            &object,
            &request.old_object,
            index.as_ref().is_none_or(|i| i.protect_injected),
        )
    {
        return Decision::Accept.into();
    }
    let mut warnings = Vec::new();
    // An upgrade trigger is a request of an UPDATE: on a new Pod it is a
    // leftover (copied, or stamped by a template), removed so that it
    // never reaches the stored Pod; a template is told.
    // In scope: a set may apply to the Pod at all (its namespace is not
    // excluded, nor its host network skipped).
    let in_scope = || {
        let host_network = PodView::uses_host_network(&object);
        index.as_ref().is_some_and(|i| {
            i.sidecar_sets
                .iter()
                .any(|set| selector::in_scope(i, set, namespace, host_network))
        })
    };
    let has_trigger = update::annotation(&object, UPGRADE).is_some();
    let stripped = match target {
        _ if !has_trigger || !in_scope() => None,
        Target::Pod if operation == "CREATE" && mode == Mode::Inject => {
            strip_trigger(&mut object, &mut warnings)
        }
        Target::Workload(_) => {
            warnings.push(format!(
                "annotation {UPGRADE} asks for an in-place upgrade of a running Pod: it is removed from every Pod created from this template; remove it from the template"
            ));
            None
        }
        _ => None,
    };
    // On an UPDATE, what applied before counts whatever the labels say
    // now: every set in scope is read, paused ones too (pausing does not
    // lift image protection, and an upgrade of a paused set is refused
    // with the reason).
    let every_set = is_pod_update || (mode == Mode::Verify && operation == "UPDATE");
    let mut settings = match select(index, &object, namespace, every_set) {
        Ok(settings) => settings,
        Err(e) => return bad_settings(&e),
    };
    // In verify mode a template is checked for the mandatory sets only:
    // the others may come from an injecting policy when its Pods are created.
    if matches!(target, Target::Workload(_)) && settings.mode == Mode::Verify {
        settings.sidecar_sets.retain(|set| set.mandatory);
    }
    // The cast reborrows the lookup for the namespace name's shorter lifetime.
    let mut namespace = Namespace::with_lookup(namespace, lookup.map(|l| l as Lookup));
    // Counted only where the request is large enough to hold annotations
    // past the limit (which are then the Pod's, not the policy's).
    let annotated = (size > crate::annotations::ANNOTATIONS_LIMIT)
        .then(|| crate::annotations::total_size(&object));
    // Ok(Some(pod)): the Pod, injected (or upgraded in place).
    let outcome = match settings.mode {
        // Pods are immutable but for images: injection happens at creation;
        // an UPDATE may upgrade images in place, or is refused an image
        // change of what was injected.
        Mode::Inject if is_pod_update => update::on_update(
            object,
            &request.old_object,
            &settings,
            &mut namespace,
            &request.uid,
            &mut warnings,
        ),
        Mode::Inject => match inject::inject_request(
            object,
            &settings,
            &mut namespace,
            &request.uid,
            &mut warnings,
        ) {
            Outcome::Unchanged => Ok(stripped),
            Outcome::Mutated(pod) => Ok(Some(pod)),
            Outcome::Rejected(message) => Err(message),
        },
        Mode::Verify if operation == "UPDATE" => {
            let old = match target {
                Target::Pod => Some(std::mem::take(&mut request.old_object)),
                Target::Workload(template) => {
                    template.into_pod(std::mem::take(&mut request.old_object))
                }
            };
            let old = old.unwrap_or_default();
            verify::verify_update(&object, &old, &settings, &mut namespace, &mut warnings)
                .map(|()| None)
        }
        Mode::Verify => {
            verify::verify(&object, &settings, &mut namespace, &mut warnings).map(|()| None)
        }
    };
    let outcome = outcome.and_then(|pod| crate::annotations::within_limit(annotated, pod));
    decision(target, outcome, warnings)
}

/// A resize of a Pod (`pods/resize`).
fn is_pod_resize(request: &Request) -> bool {
    request.sub_resource.as_deref() == Some("resize")
        && request.operation == "UPDATE"
        && request.kind.group.is_empty()
        && request.kind.kind == "Pod"
}

/// Takes an upgrade trigger off a new Pod, with a warning; the Pod without
/// it, for an answer that would otherwise change nothing.
fn strip_trigger(object: &mut Value, warnings: &mut Vec<String>) -> Option<Value> {
    let annotations = object
        .get_mut("metadata")?
        .get_mut("annotations")?
        .as_object_mut()?;
    let trigger = annotations.remove(UPGRADE)?;
    warnings.push(format!(
        "annotation {UPGRADE} ({}) removed: it asks for an in-place upgrade of a running Pod, and this Pod is being created",
        crate::annotations::clip(trigger.as_str().unwrap_or_default())
    ));
    Some(object.clone())
}

/// What the request is about, and the Pod to check: the object, or the Pod
/// a workload's template makes. None: nothing to do (a subresource, DELETE
/// or CONNECT, another kind, a workload whose template did not change).
fn target(request: &mut Request) -> Option<(Target, Value)> {
    // Subresources (status, scale, binding, ephemeralcontainers…) are not
    // the object, and DELETE and CONNECT carry none to check.
    let is_subresource = request
        .sub_resource
        .as_deref()
        .is_some_and(|s| !s.is_empty());
    let operation = request.operation.as_str();
    if is_subresource || !matches!(operation, "CREATE" | "UPDATE") {
        return None;
    }
    let (group, kind) = (request.kind.group.as_str(), request.kind.kind.as_str());
    let object = std::mem::take(&mut request.object);
    if group.is_empty() && kind == "Pod" {
        return Some((Target::Pod, object));
    }
    let template = workload::template_kind(group, kind)?;
    if operation == "UPDATE" && template.unchanged(&object, &request.old_object) {
        return None;
    }
    Some((Target::Workload(template), template.into_pod(object)?))
}

/// The settings with the sets that may select the Pod `object` read in
/// full (`every_set`: every set in scope, whatever the labels, paused
/// ones too). A Pod whose labels cannot be read gets none: inject and
/// verify reject it, with the reason, when they read the Pod.
fn select(
    index: Option<Index>,
    object: &Value,
    namespace: &str,
    every_set: bool,
) -> Result<Settings, String> {
    let Some(index) = index else {
        return Ok(Settings::default());
    };
    let labels = PodView::labels(object).ok();
    let host_network = PodView::uses_host_network(object);
    index.select("settings", &|index, set| {
        if every_set {
            return selector::in_scope(index, set, namespace, host_network);
        }
        labels.as_ref().is_some_and(|labels| {
            selector::may_apply(index, set, labels, namespace, host_network, false)
        })
    })
}

/// The decision on the outcome: a Pod is mutated or rejected; a workload is
/// checked, never mutated, and told at its template's paths.
fn decision(
    target: Target,
    outcome: Result<Option<Value>, String>,
    mut warnings: Vec<String>,
) -> Answer {
    let decision = match (target, outcome) {
        (Target::Pod, Ok(Some(pod))) => Decision::Mutate(pod),
        (Target::Pod, Ok(None)) => Decision::Accept,
        (Target::Pod, Err(message)) => Decision::Reject(message),
        (Target::Workload(template), outcome) => {
            for warning in &mut warnings {
                *warning = template.warning(warning);
            }
            match outcome {
                Ok(_) => Decision::Accept,
                Err(message) => Decision::Reject(template.rejection(&message)),
            }
        }
    };
    Answer { decision, warnings }
}

/// The answer to a payload that does not read: a request the policy cannot
/// read, or settings that validate_settings would have refused.
fn unreadable(payload: &[u8], error: serde_json::Error) -> Answer {
    let request_error = match serde_json::from_slice::<unread::Payload>(payload) {
        Ok(unread::Payload {
            settings: Some(raw),
            ..
        }) => {
            return match read_index(raw.get().as_bytes(), "settings") {
                Err(e) => bad_settings(&e),
                Ok(_) => bad_settings(&error.to_string()),
            };
        }
        Ok(_) => error,
        Err(e) => e,
    };
    Decision::Reject(format!(
        "cannot read the admission request: {request_error}; the policy expects a Kubewarden validation request with an AdmissionRequest in \"request\""
    ))
    .into()
}

/// validate_settings accepted the settings when the policy was loaded, so the
/// host sent something else: worth a log line.
fn bad_settings(error: &str) -> Answer {
    let message = format!("invalid policy settings: {error}; fix the policy's settings");
    crate::log::warn(&message);
    Decision::Reject(message).into()
}

/// At most this many warnings in an answer (the last says how many more
/// were left out), each at most `WARNING_BYTES`; a rejection's message at
/// most `MESSAGE_BYTES`. The API server passes both on to every client.
pub const MAX_WARNINGS: usize = 32;
pub const WARNING_BYTES: usize = 1024;
pub const MESSAGE_BYTES: usize = 4096;

impl Answer {
    /// The answer within the bounds above: cuts are marked with `…`.
    pub fn bounded(mut self) -> Answer {
        use crate::annotations::cut_bytes;
        if self.warnings.len() > MAX_WARNINGS {
            let left_out = self.warnings.len() - (MAX_WARNINGS - 1);
            self.warnings.truncate(MAX_WARNINGS - 1);
            self.warnings
                .push(format!("… and {left_out} more warnings left out"));
        }
        for warning in &mut self.warnings {
            cut_bytes(warning, WARNING_BYTES);
        }
        if let Decision::Reject(message) = &mut self.decision {
            cut_bytes(message, MESSAGE_BYTES);
        }
        self
    }

    pub fn into_response(self) -> ValidationResponse {
        let warnings = (!self.warnings.is_empty()).then_some(self.warnings);
        let (accepted, message, mutated_object) = match self.decision {
            Decision::Accept => (true, None, None),
            Decision::Mutate(object) => (true, None, Some(object)),
            Decision::Reject(message) => (false, Some(message), None),
        };
        ValidationResponse {
            accepted,
            message,
            code: None,
            mutated_object,
            audit_annotations: None,
            warnings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    fn fixture(name: &str) -> Value {
        let path = format!("{}/test_data/requests/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn every_pod_settings() -> Value {
        json!({"sidecarSets": [{"name": "mesh", "selector": {}, "containers": [{"name": "envoy", "image": "envoy:v1.33.0"}]}]})
    }

    fn decide_on(request: Value) -> Decision {
        decide(
            json!({"request": request, "settings": every_pod_settings()})
                .to_string()
                .as_bytes(),
        )
        .decision
    }

    #[rstest]
    #[case::update("pod-update-labels.json")]
    #[case::deployment("deployment-create.json")]
    #[case::ingress("ingress-create.json")]
    fn other_requests_are_accepted_unchanged(#[case] name: &str) {
        assert_eq!(decide_on(fixture(name)), Decision::Accept);
    }

    #[rstest]
    #[case::status("status")]
    #[case::ephemeral("ephemeralcontainers")]
    #[case::binding("binding")]
    fn subresources_are_accepted_unchanged(#[case] sub: &str) {
        let mut request = fixture("pod-replicaset-create.json");
        request["subResource"] = json!(sub);
        assert_eq!(decide_on(request), Decision::Accept);
    }

    #[rstest]
    #[case::delete("DELETE")]
    #[case::connect("CONNECT")]
    fn other_operations_are_accepted(#[case] operation: &str) {
        let mut request = fixture("pod-replicaset-create.json");
        request["operation"] = json!(operation);
        assert_eq!(decide_on(request), Decision::Accept);
    }

    #[test]
    fn pod_create_is_injected() {
        let Decision::Mutate(pod) = decide_on(fixture("pod-replicaset-create.json")) else {
            panic!()
        };
        assert_eq!(pod["spec"]["initContainers"][0]["name"], "envoy");
    }

    #[test]
    fn unreadable_requests_are_rejected_with_a_reason() {
        let Decision::Reject(message) = decide(b"{nope").decision else {
            panic!()
        };
        assert!(
            message.starts_with("cannot read the admission request: key must be a string"),
            "{message}"
        );
        let mut request = fixture("pod-replicaset-create.json");
        request["object"] = Value::Null;
        assert_eq!(
            decide_on(request),
            Decision::Reject("invalid Pod in the admission request: request.object must be a Pod object, found null; send a valid Pod object".into())
        );
    }

    #[test]
    fn absent_or_null_settings_inject_nothing() {
        let request = fixture("pod-replicaset-create.json");
        for payload in [
            json!({"request": request}),
            json!({"request": request, "settings": null}),
        ] {
            assert_eq!(
                decide(payload.to_string().as_bytes()).decision,
                Decision::Accept
            );
        }
        let payload = json!({"request": request, "settings": [1]});
        assert_eq!(
            decide(payload.to_string().as_bytes()).decision,
            Decision::Reject("invalid policy settings: settings: the settings must be a mapping (a JSON object) with sidecarSets, nativeSidecars, mode, jobPods, explain, excludedNamespaces, skipHostNetworkPods, namespaceLookupFailure, podLevelResources, maxAddedRequests, protectInjected and checkPodSecurity; fix the policy's settings".into())
        );
    }

    #[test]
    fn bad_settings_at_evaluation_are_a_rejection() {
        let payload = json!({"request": fixture("pod-replicaset-create.json"), "settings": {"sidecarSets": 3}});
        assert_eq!(
            decide(payload.to_string().as_bytes()).decision,
            Decision::Reject("invalid policy settings: settings.sidecarSets: invalid type: integer `3`, expected a sequence; fix the policy's settings".into())
        );
        // serde would read a struct from an array of its fields in order.
        let payload =
            json!({"request": fixture("pod-replicaset-create.json"), "settings": [false]});
        assert_eq!(
            decide(payload.to_string().as_bytes()).decision,
            Decision::Reject("invalid policy settings: settings: the settings must be a mapping (a JSON object) with sidecarSets, nativeSidecars, mode, jobPods, explain, excludedNamespaces, skipHostNetworkPods, namespaceLookupFailure, podLevelResources, maxAddedRequests, protectInjected and checkPodSecurity; fix the policy's settings".into())
        );
    }

    #[rstest]
    #[case::scale(Some("scale"), "UPDATE")]
    #[case::status(Some("status"), "UPDATE")]
    #[case::delete(None, "DELETE")]
    fn workload_subresources_and_deletes_are_accepted(
        #[case] sub: Option<&str>,
        #[case] operation: &str,
    ) {
        let mut request = fixture("deployment-create.json");
        request["object"]["spec"]["template"]["spec"]["containers"][0]["name"] = json!("envoy");
        assert!(matches!(decide_on(request.clone()), Decision::Reject(_)));
        request["subResource"] = json!(sub);
        request["operation"] = json!(operation);
        assert_eq!(decide_on(request), Decision::Accept);
    }

    #[test]
    fn a_workload_whose_pods_would_be_rejected_is_rejected_at_its_template() {
        let mut request = fixture("deployment-create.json");
        request["kind"] = json!({"group": "batch", "version": "v1", "kind": "Job"});
        request["object"]["spec"]["template"]["spec"]["containers"][0]["name"] = json!("envoy");
        assert_eq!(
            decide_on(request),
            Decision::Reject("spec.template: the Pods of this Job would be rejected: sidecar set \"mesh\": container \"envoy\" cannot be injected: spec.template.spec.containers[0] already has that name; rename the container in the Pod or in the set, or opt the Pod out with the annotation sidecarset.kubewarden.io/skip: mesh".into())
        );
    }

    #[test]
    fn a_workload_without_a_template_spec_is_left_to_the_api_server() {
        let mut request = fixture("deployment-create.json");
        request["kind"] = json!({"group": "", "version": "v1", "kind": "ReplicationController"});
        request["object"]["spec"]
            .as_object_mut()
            .unwrap()
            .remove("template");
        assert_eq!(decide_on(request), Decision::Accept);
    }
}
