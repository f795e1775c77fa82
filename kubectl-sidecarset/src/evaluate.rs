//! Asking the policy: AdmissionRequests as the API server sends them,
//! answered by `sidecarset_policy::admission::decide_with`, with the
//! Namespace lookup the policy makes through Kubewarden's host answered
//! from the files given, fixed labels, or the cluster.

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde_json::{Value, json};
use sidecarset_policy::admission::{Answer, decide_with};
use sidecarset_policy::namespace::Labels;

/// Reads a Namespace's labels where neither files nor flags have them.
pub type Fetch<'a> = Box<dyn Fn(&str) -> Result<Labels, String> + 'a>;

/// Where the Namespace lookups of the policy are answered from.
pub struct Namespaces<'a> {
    known: RefCell<BTreeMap<String, Result<Labels, String>>>,
    /// The Namespaces nothing had, in the order they were asked for.
    failed: RefCell<Vec<String>>,
    fixed: Option<Labels>,
    fetch: Option<Fetch<'a>>,
    /// Why a Namespace cannot be read when nothing has it.
    missing: &'static str,
}

impl<'a> Namespaces<'a> {
    /// Namespace objects (from files): their labels by name.
    pub fn from_objects(objects: &[Value]) -> Namespaces<'a> {
        let known = objects
            .iter()
            .filter(|o| crate::objects::kind(o) == "Namespace")
            .map(|o| {
                let name = crate::objects::name(o).to_string();
                (name, Ok(crate::objects::labels(o)))
            })
            .collect();
        Namespaces {
            known: RefCell::new(known),
            failed: RefCell::new(Vec::new()),
            fixed: None,
            fetch: None,
            missing: "not in the files given (-f): add it (kubectl get namespaces,pods -A -o json), or give --namespace-labels",
        }
    }

    /// Every Namespace has these labels (`--namespace-labels`), with its
    /// own `kubernetes.io/metadata.name`.
    pub fn fixed(mut self, labels: Labels) -> Self {
        self.fixed = Some(labels);
        self
    }

    /// Namespaces neither files nor flags have are read with `fetch`.
    pub fn fetching(mut self, fetch: Fetch<'a>) -> Self {
        self.fetch = Some(fetch);
        self
    }

    pub fn labels(&self, name: &str) -> Result<Labels, String> {
        if let Some(fixed) = &self.fixed {
            let mut labels = fixed.clone();
            labels.insert("kubernetes.io/metadata.name".into(), name.into());
            return Ok(labels);
        }
        if let Some(found) = self.known.borrow().get(name) {
            return found.clone();
        }
        let read = match &self.fetch {
            Some(fetch) => fetch(name),
            None => Err(format!("Namespace {name}: {}", self.missing)),
        };
        if let Err(message) = &read {
            self.failed.borrow_mut().push(message.clone());
        }
        self.known
            .borrow_mut()
            .insert(name.to_string(), read.clone());
        read
    }

    /// Why the Namespaces that could not be read could not, once each:
    /// the policy's answers that needed them are those of a failed lookup.
    pub fn failures(&self) -> Vec<String> {
        self.failed
            .borrow()
            .iter()
            .map(|m| format!("{m}; the policy was answered as when its lookup fails (no Namespace pin, namespaceSelector and Pod Security as namespaceLookupFailure and checkPodSecurity say)"))
            .collect()
    }

    /// The labels a webhook's namespaceSelector sees: every Namespace has
    /// its name label, whether or not the rest could be read.
    pub fn selector_labels(&self, name: &str) -> Labels {
        self.labels(name).unwrap_or_else(|_| {
            let mut labels = Labels::new();
            labels.insert("kubernetes.io/metadata.name".into(), name.into());
            labels
        })
    }
}

/// The policy's settings and where its lookups are answered.
pub struct Evaluator<'a> {
    settings: Value,
    pub namespaces: &'a Namespaces<'a>,
}

const POD_KIND: (&str, &str, &str) = ("", "v1", "Pod");

impl<'a> Evaluator<'a> {
    /// `explain` overrides the settings' own (its lines cost an evaluation
    /// of the start order and Pod Security on every answer).
    pub fn new(settings: &Value, explain: bool, namespaces: &'a Namespaces<'a>) -> Self {
        let mut settings = settings.clone();
        if let Some(map) = settings.as_object_mut() {
            map.insert("explain".into(), Value::Bool(explain));
        }
        Evaluator {
            settings,
            namespaces,
        }
    }

    /// The same policy with `set` unpaused (`injectionStrategy.paused`).
    pub fn unpaused(&self, set: &str) -> Evaluator<'a> {
        let mut settings = self.settings.clone();
        if let Some(sets) = settings
            .get_mut("sidecarSets")
            .and_then(Value::as_array_mut)
        {
            for s in sets {
                if s.get("name").and_then(Value::as_str) == Some(set)
                    && let Some(strategy) = s
                        .get_mut("injectionStrategy")
                        .and_then(Value::as_object_mut)
                {
                    strategy.insert("paused".into(), Value::Bool(false));
                }
            }
        }
        Evaluator {
            settings,
            namespaces: self.namespaces,
        }
    }

    /// The settings as the policy gets them.
    pub fn settings(&self) -> &Value {
        &self.settings
    }

    /// A Pod CREATE, as the API server sends it: no uid, resourceVersion
    /// or status yet.
    pub fn create(&self, pod: &Value, namespace: &str) -> Answer {
        let object = as_created(pod);
        self.decide(request("CREATE", POD_KIND, namespace, object, Value::Null))
    }

    /// A Pod CREATE of the object as given (a manifest's Pod or template:
    /// what render writes back keeps every field it had).
    pub fn create_as_given(&self, pod: &Value, namespace: &str) -> Answer {
        self.decide(request(
            "CREATE",
            POD_KIND,
            namespace,
            pod.clone(),
            Value::Null,
        ))
    }

    /// A Pod UPDATE from `old` to `new`.
    pub fn update(&self, old: &Value, new: &Value, namespace: &str) -> Answer {
        self.decide(request(
            "UPDATE",
            POD_KIND,
            namespace,
            new.clone(),
            old.clone(),
        ))
    }

    /// An AdmissionRequest as given (`explain -f request.json`).
    pub fn request(&self, request: Value) -> Answer {
        self.decide(request)
    }

    fn decide(&self, request: Value) -> Answer {
        let payload = json!({"request": request, "settings": self.settings});
        let bytes = serde_json::to_vec(&payload).unwrap_or_default();
        let mut lookup = |name: &str| self.namespaces.labels(name);
        decide_with(&bytes, Some(&mut lookup))
    }
}

/// The AdmissionRequest of `operation` on `object`.
pub fn request(
    operation: &str,
    (group, version, kind): (&str, &str, &str),
    namespace: &str,
    object: Value,
    old_object: Value,
) -> Value {
    let resource = format!("{}s", kind.to_ascii_lowercase());
    json!({
        "uid": "00000000-0000-4000-8000-00000000c7e1",
        "kind": {"group": group, "version": version, "kind": kind},
        "resource": {"group": group, "version": version, "resource": resource},
        "requestKind": {"group": group, "version": version, "kind": kind},
        "requestResource": {"group": group, "version": version, "resource": resource},
        "namespace": namespace,
        "operation": operation,
        "userInfo": {"username": "kubectl-sidecarset"},
        "object": object,
        "oldObject": old_object,
        "dryRun": true,
    })
}

/// A stored Pod as its CREATE would have carried it: what the API server
/// sets at or after creation is dropped.
pub fn as_created(pod: &Value) -> Value {
    let mut pod = pod.clone();
    if let Some(map) = pod.as_object_mut() {
        map.remove("status");
    }
    if let Some(metadata) = pod.get_mut("metadata").and_then(Value::as_object_mut) {
        for key in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "managedFields",
            "generation",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
        ] {
            metadata.remove(key);
        }
    }
    pod
}
