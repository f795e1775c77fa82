//! `render`: what the policy injects into the Pods of each manifest
//! (`istioctl kube-inject` for this policy). Each Pod template, as the
//! Pod its controller creates (metadata and spec, the manifest's
//! namespace, a `generateName` from the workload's name), goes through the
//! policy as a Pod CREATE; what the answer changes is written back into
//! the template. Everything else passes through: other kinds, fields,
//! key order where the key was there before (new keys after), documents.
//! Lost: comments, anchors (expanded), quoting and flow style.

use serde_json::{Map, Value};
use serde_yaml::Value as Yaml;
use sidecarset_policy::admission::Decision;
use sidecarset_policy::workload::{TemplateKind, template_kind};

use crate::evaluate::Evaluator;
use crate::policy::Policy;

/// One document's outcome.
#[derive(Debug)]
pub struct Rendered {
    pub documents: Vec<Yaml>,
    /// `document N (Kind namespace/name): warning`, as the API server
    /// would pass them on.
    pub warnings: Vec<String>,
    /// The policy's rejections, each naming its document.
    pub rejections: Vec<String>,
}

/// The API group of an `apiVersion` (`apps/v1`: `apps`; `v1`: the core
/// group, "").
pub fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("")
}

/// The Pod an object makes, as the policy gets it on CREATE.
pub struct PodOf {
    pub pod: Value,
    /// The workload's template (None: the object is the Pod).
    pub template: Option<TemplateKind>,
    /// The metadata added here (namespace, generateName): not the
    /// manifest's, taken out again of what is written back.
    pub added: Vec<&'static str>,
}

/// A Pod as it is, or the Pod a workload's controller creates from its
/// template: in `namespace`, named `generateName: <workload>-` where the
/// template names none. None: neither (another kind, no template spec).
pub fn pod_of(object: &Value, namespace: &str) -> Option<PodOf> {
    let kind = crate::objects::kind(object);
    let group = group_of(
        object
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or(""),
    );
    let is_pod = kind == "Pod" && group.is_empty();
    let template = match is_pod {
        true => None,
        false => Some(template_kind(group, kind)?),
    };
    let mut pod = match template {
        Some(t) => t.into_pod(object.clone())?,
        None => object.clone(),
    };
    let mut added = Vec::new();
    if let Some(metadata) = pod
        .as_object_mut()
        .map(|p| {
            p.entry("metadata")
                .or_insert_with(|| Value::Object(Map::new()))
        })
        .and_then(Value::as_object_mut)
    {
        if !metadata.contains_key("namespace") {
            metadata.insert("namespace".into(), Value::String(namespace.into()));
            added.push("namespace");
        }
        if !is_pod && !metadata.contains_key("name") && !metadata.contains_key("generateName") {
            let name = crate::objects::name(object);
            metadata.insert("generateName".into(), Value::String(format!("{name}-")));
            added.push("generateName");
        }
    }
    Some(PodOf {
        pod,
        template,
        added,
    })
}

/// Renders every document of `text`; `namespace` is for documents
/// without one.
pub fn render(
    text: &str,
    source: &str,
    namespace: &str,
    policy: &Policy,
    evaluator: &Evaluator,
) -> Result<Rendered, String> {
    let mut out = Rendered {
        documents: Vec::new(),
        warnings: Vec::new(),
        rejections: Vec::new(),
    };
    let documents: Vec<Yaml> = crate::objects::documents_as(text, source)?;
    for (i, yaml) in documents.iter().enumerate() {
        if yaml.is_null() {
            continue;
        }
        let rendered = render_object(
            yaml,
            &format!("document {}", i + 1),
            namespace,
            policy,
            evaluator,
            &mut out,
        )?;
        out.documents.push(rendered);
    }
    Ok(out)
}

/// One object (a List's items each in turn).
fn render_object(
    yaml: &Yaml,
    at: &str,
    default_namespace: &str,
    policy: &Policy,
    evaluator: &Evaluator,
    out: &mut Rendered,
) -> Result<Yaml, String> {
    let json: Value =
        serde_json::to_value(yaml).map_err(|e| format!("{at}: not a Kubernetes object ({e})"))?;
    let kind = crate::objects::kind(&json);
    if kind.ends_with("List") {
        if let (Some(items), Yaml::Mapping(map)) =
            (json.get("items").and_then(Value::as_array), yaml)
        {
            let mut map = map.clone();
            let originals: Vec<Yaml> = match map.get("items") {
                Some(Yaml::Sequence(s)) => s.clone(),
                _ => Vec::new(),
            };
            let mut rendered = Vec::new();
            for (j, original) in originals.iter().enumerate().take(items.len()) {
                rendered.push(render_object(
                    original,
                    &format!("{at}, item {j}"),
                    default_namespace,
                    policy,
                    evaluator,
                    out,
                )?);
            }
            map.insert(Yaml::String("items".into()), Yaml::Sequence(rendered));
            return Ok(Yaml::Mapping(map));
        }
        return Ok(yaml.clone());
    }
    let name = crate::objects::name(&json);
    let namespace = crate::objects::namespace(&json).unwrap_or(default_namespace);
    let label = format!("{at} ({kind} {namespace}/{name})");
    let Some(PodOf {
        pod,
        template,
        added,
    }) = pod_of(&json, namespace)
    else {
        return Ok(yaml.clone());
    };
    // What the policy's webhook does not see (its namespaceSelector,
    // objectSelector, an AdmissionPolicy's namespace) it leaves alone.
    let labels = crate::objects::labels(&pod);
    if !policy.sees(
        namespace,
        &evaluator.namespaces.selector_labels(namespace),
        &labels,
    ) {
        out.warnings.push(format!(
            "{label}: the policy does not see these Pods (its namespaceSelector, objectSelector or namespace): left as they are"
        ));
        return Ok(yaml.clone());
    }
    let answer = evaluator.create_as_given(&pod, namespace);
    // A workload's messages as the API server shows them for it (the
    // policy's own wording, with the template's paths).
    let about = |text: &str, rejection: bool| match template {
        Some(t) => match rejection {
            true => t.rejection(text),
            false => t.warning(text),
        },
        _ => text.to_string(),
    };
    out.warnings.extend(
        answer
            .warnings
            .iter()
            .map(|w| format!("{label}: {}", about(w, false))),
    );
    let mut injected = match answer.decision {
        Decision::Accept => return Ok(yaml.clone()),
        Decision::Reject(message) => {
            out.rejections
                .push(format!("{label}: {}", about(&message, true)));
            return Ok(yaml.clone());
        }
        Decision::Mutate(injected) => injected,
    };
    if let Some(metadata) = injected.get_mut("metadata").and_then(Value::as_object_mut) {
        for key in added {
            metadata.remove(key);
        }
    }
    // The changed object: the Pod itself, or the workload with its
    // template's metadata and spec replaced.
    let object = match template {
        None => injected,
        Some(t) => {
            let mut object = json.clone();
            if let Some(parts) = object.pointer_mut(t.pointer).and_then(Value::as_object_mut)
                && let Value::Object(injected) = injected
            {
                parts.extend(injected);
            }
            object
        }
    };
    Ok(ordered_like(yaml, &object))
}

/// `new` as YAML, its mappings' keys in `original`'s order where they
/// were there (the others after, in order), list items matched by `name`
/// (else by position); a scalar equal to the original keeps the original.
pub fn ordered_like(original: &Yaml, new: &Value) -> Yaml {
    match (original, new) {
        (Yaml::Mapping(before), Value::Object(after)) => {
            let mut map = serde_yaml::Mapping::new();
            for (key, value) in before {
                if let Some(k) = key.as_str()
                    && let Some(v) = after.get(k)
                {
                    map.insert(key.clone(), ordered_like(value, v));
                }
            }
            for (k, v) in after {
                let key = Yaml::String(k.clone());
                if !map.contains_key(&key) {
                    map.insert(key, ordered_like(&Yaml::Null, v));
                }
            }
            Yaml::Mapping(map)
        }
        (Yaml::Sequence(before), Value::Array(after)) => Yaml::Sequence(
            after
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let named = item.get("name").and_then(Value::as_str);
                    let counterpart = match named {
                        Some(n) => before
                            .iter()
                            .find(|b| b.get("name").and_then(Yaml::as_str) == Some(n)),
                        None => before.get(i),
                    };
                    ordered_like(counterpart.unwrap_or(&Yaml::Null), item)
                })
                .collect(),
        ),
        (original, new) => {
            let same = serde_json::to_value(original).ok().as_ref() == Some(new);
            if same {
                original.clone()
            } else {
                serde_yaml::to_value(new).unwrap_or(Yaml::Null)
            }
        }
    }
}

/// The documents as one multi-document YAML text, as kubectl reads it.
pub fn to_text(documents: &[Yaml]) -> Result<String, String> {
    crate::objects::to_yaml(documents)
}
