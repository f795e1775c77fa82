//! Workload templates: checked, never mutated. Changing a Deployment's
//! template would make GitOps tools see drift and controllers roll Pods, so
//! the policy simulates injection into the template and rejects a workload
//! whose Pods it would reject, with the template's own field paths.

use serde_json::{Map, Value};

/// Where a workload keeps its Pod template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemplateKind {
    /// The kind, as messages name it.
    pub kind: &'static str,
    /// JSON pointer of the template in the object.
    pub pointer: &'static str,
    /// Its field path, as messages name it.
    pub path: &'static str,
}

const POD_TEMPLATE: (&str, &str) = ("/spec/template", "spec.template");
const JOB_TEMPLATE: (&str, &str) = (
    "/spec/jobTemplate/spec/template",
    "spec.jobTemplate.spec.template",
);

/// The workload kinds whose Pod template is checked.
pub fn template_kind(group: &str, kind: &str) -> Option<TemplateKind> {
    let (kind, (pointer, path)) = match (group, kind) {
        ("apps", "Deployment") => ("Deployment", POD_TEMPLATE),
        ("apps", "StatefulSet") => ("StatefulSet", POD_TEMPLATE),
        ("apps", "DaemonSet") => ("DaemonSet", POD_TEMPLATE),
        ("apps", "ReplicaSet") => ("ReplicaSet", POD_TEMPLATE),
        ("", "ReplicationController") => ("ReplicationController", POD_TEMPLATE),
        ("batch", "Job") => ("Job", POD_TEMPLATE),
        ("batch", "CronJob") => ("CronJob", JOB_TEMPLATE),
        _ => return None,
    };
    Some(TemplateKind {
        kind,
        pointer,
        path,
    })
}

impl TemplateKind {
    /// The Pod the template makes: its metadata and spec, moved out of the
    /// workload (which is never sent back). None when the object has no
    /// template spec (the API server's validation says why).
    pub fn into_pod(&self, mut object: Value) -> Option<Value> {
        let template = object.pointer_mut(self.pointer)?.as_object_mut()?;
        let spec = template.remove("spec").filter(Value::is_object)?;
        let mut pod = Map::new();
        if let Some(metadata) = template.remove("metadata") {
            pod.insert("metadata".into(), metadata);
        }
        pod.insert("spec".into(), spec);
        Some(Value::Object(pod))
    }

    /// Whether an UPDATE leaves the template as it was: its Pods were
    /// judged when it was written, and rejecting an unrelated edit (a label,
    /// a controller's annotation) after a settings change would block it.
    pub fn unchanged(&self, object: &Value, old_object: &Value) -> bool {
        old_object.pointer(self.pointer).is_some()
            && object.pointer(self.pointer) == old_object.pointer(self.pointer)
    }

    /// The message a Pod of this template got, about the workload.
    pub fn rejection(&self, message: &str) -> String {
        format!(
            "{}: the Pods of this {} would be rejected: {}",
            self.path,
            self.kind,
            relocate(message, self.path)
        )
    }

    /// A warning a Pod of this template got, about the workload.
    pub fn warning(&self, warning: &str) -> String {
        format!("{}: {}", self.path, relocate(warning, self.path))
    }
}

/// Rewrites the Pod field paths of a message (`spec.…`, `metadata.…`) to
/// paths under the template. A path starts a message or follows a space or
/// a parenthesis; the policy's messages write them that way, and names in
/// them (DNS labels, quoted keys) cannot start one.
pub fn relocate(message: &str, template_path: &str) -> String {
    let mut out = String::with_capacity(message.len() + 32);
    let mut rest = message;
    let mut at_boundary = true;
    while let Some(c) = rest.chars().next() {
        if at_boundary && (rest.starts_with("spec.") || rest.starts_with("metadata.")) {
            out.push_str(template_path);
            out.push('.');
        }
        out.push(c);
        at_boundary = c == ' ' || c == '(';
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    #[rstest]
    #[case::deployment("apps", "Deployment", Some("spec.template"))]
    #[case::statefulset("apps", "StatefulSet", Some("spec.template"))]
    #[case::daemonset("apps", "DaemonSet", Some("spec.template"))]
    #[case::replicaset("apps", "ReplicaSet", Some("spec.template"))]
    #[case::rc("", "ReplicationController", Some("spec.template"))]
    #[case::job("batch", "Job", Some("spec.template"))]
    #[case::cronjob("batch", "CronJob", Some("spec.jobTemplate.spec.template"))]
    #[case::pod("", "Pod", None)]
    #[case::other_group("example.com", "Deployment", None)]
    #[case::ingress("networking.k8s.io", "Ingress", None)]
    fn workload_kinds(#[case] group: &str, #[case] kind: &str, #[case] path: Option<&str>) {
        assert_eq!(template_kind(group, kind).map(|t| t.path), path);
    }

    #[test]
    fn the_templates_pod() {
        let cronjob = template_kind("batch", "CronJob").unwrap();
        let object = json!({"spec": {"jobTemplate": {"spec": {"template": {
            "metadata": {"labels": {"a": "b"}},
            "spec": {"containers": [{"name": "c"}]}
        }}}}});
        assert_eq!(
            cronjob.into_pod(object),
            Some(
                json!({"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c"}]}})
            )
        );
        assert_eq!(cronjob.into_pod(json!({"spec": {}})), None);
        assert_eq!(
            cronjob
                .into_pod(json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": null}}}}})),
            None
        );
    }

    #[test]
    fn unchanged_templates() {
        let deployment = template_kind("apps", "Deployment").unwrap();
        let old = json!({"metadata": {"labels": {"v": "1"}}, "spec": {"template": {"spec": {"containers": []}}}});
        let relabeled = json!({"metadata": {"labels": {"v": "2"}}, "spec": {"template": {"spec": {"containers": []}}}});
        let changed = json!({"spec": {"template": {"spec": {"containers": [{"name": "c"}]}}}});
        assert!(deployment.unchanged(&relabeled, &old));
        assert!(!deployment.unchanged(&changed, &old));
        assert!(!deployment.unchanged(&relabeled, &Value::Null));
    }

    #[rstest]
    #[case::entry(
        "container \"envoy\" cannot be injected: spec.containers[0] already has that name",
        "container \"envoy\" cannot be injected: spec.template.spec.containers[0] already has that name"
    )]
    #[case::start(
        "spec.containers must be an array",
        "spec.template.spec.containers must be an array"
    )]
    #[case::parenthesis(
        "port 80 is used by (spec.initContainers[1])",
        "port 80 is used by (spec.template.spec.initContainers[1])"
    )]
    #[case::metadata(
        "cannot merge into metadata.annotations[\"cfg\"]",
        "cannot merge into spec.template.metadata.annotations[\"cfg\"]"
    )]
    #[case::inside_a_word(
        "sidecarSets[0].spec.x and \"a.spec.b\"",
        "sidecarSets[0].spec.x and \"a.spec.b\""
    )]
    #[case::multibyte("envoy → spec.containers", "envoy → spec.template.spec.containers")]
    fn paths_are_relocated(#[case] message: &str, #[case] expected: &str) {
        assert_eq!(relocate(message, "spec.template"), expected);
    }
}
