//! The cluster, through kube-rs, as kubectl reaches it: the kubeconfig
//! (`--kubeconfig`, else `KUBECONFIG`, else `~/.kube/config`, else the
//! in-cluster service account), its context (`--context`) and that
//! context's namespace. Objects are read as JSON (`DynamicObject`), never
//! through typed Pods, so that no field is lost.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::{Map, Value, json};
use sidecarset_policy::annotations::UPGRADE;

/// What a trigger patch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Patched {
    Done,
    /// Not there any more (why).
    Gone(String),
    /// The API server's refusal (the policy's webhook message, RBAC).
    Refused(String),
    /// A server error or a lost connection: applied or not, unknown.
    Unknown(String),
}

/// A connected client and the context's namespace.
#[derive(Clone)]
pub struct Cluster {
    pub client: Client,
    pub default_namespace: String,
}

fn message(error: kube::Error) -> String {
    match error {
        kube::Error::Api(status) => {
            if status.message.is_empty() {
                format!("the API server answered {} {}", status.code, status.reason)
            } else {
                status.message
            }
        }
        other => other.to_string(),
    }
}

/// How long one read may take, kube-rs's own retries of 429 and 503
/// included: a server that keeps answering 503 is an error, not a hang.
const READ_BOUND: Duration = Duration::from_secs(30);

/// A read, bounded by READ_BOUND; its error as a message.
async fn bounded<T>(
    read: impl std::future::Future<Output = Result<T, kube::Error>>,
) -> Result<T, String> {
    match tokio::time::timeout(READ_BOUND, read).await {
        Ok(result) => result.map_err(message),
        Err(_) => Err(format!("no answer within {}s", READ_BOUND.as_secs())),
    }
}

fn is_not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 404)
}

impl Cluster {
    pub async fn connect(
        kubeconfig: Option<&str>,
        context: Option<&str>,
    ) -> Result<Cluster, String> {
        let options = KubeConfigOptions {
            context: context.map(String::from),
            cluster: None,
            user: None,
        };
        let config = match (kubeconfig, context) {
            (Some(path), _) => {
                let file =
                    Kubeconfig::read_from(path).map_err(|e| format!("--kubeconfig {path}: {e}"))?;
                Config::from_custom_kubeconfig(file, &options)
                    .await
                    .map_err(|e| format!("--kubeconfig {path}: {e}"))?
            }
            (None, Some(_)) => Config::from_kubeconfig(&options)
                .await
                .map_err(|e| format!("kubeconfig: {e}"))?,
            (None, None) => Config::infer().await.map_err(|e| {
                format!(
                    "no cluster to read (kubeconfig or in-cluster): {e}; or work on files with -f"
                )
            })?,
        };
        let mut config = config;
        config.connect_timeout = Some(Duration::from_secs(10));
        config.read_timeout = Some(Duration::from_secs(60));
        let default_namespace = config.default_namespace.clone();
        let client = Client::try_from(config).map_err(|e| format!("kubeconfig: {e}"))?;
        Ok(Cluster {
            client,
            default_namespace,
        })
    }

    fn pods(&self, namespace: Option<&str>) -> Api<DynamicObject> {
        let resource = ApiResource::erase::<Pod>(&());
        match namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &resource),
            None => Api::all_with(self.client.clone(), &resource),
        }
    }

    /// The Pods of a namespace (None: every namespace), narrowed by the
    /// API server with a label selector; page by page.
    pub async fn list_pods(
        &self,
        namespace: Option<&str>,
        selector: Option<&str>,
    ) -> Result<Vec<Value>, String> {
        let api = self.pods(namespace);
        let mut params = ListParams::default().limit(500);
        if let Some(selector) = selector.filter(|s| !s.is_empty()) {
            params = params.labels(selector);
        }
        let mut out = Vec::new();
        loop {
            let page = bounded(api.list(&params))
                .await
                .map_err(|e| format!("listing Pods: {e}"))?;
            out.extend(page.items.into_iter().map(as_pod));
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(token) => params = params.continue_token(&token),
                None => return Ok(out),
            }
        }
    }

    /// A Pod, or None where it does not exist (any more).
    pub async fn get_pod(&self, namespace: &str, name: &str) -> Result<Option<Value>, String> {
        match self.pods(Some(namespace)).get(name).await {
            Ok(pod) => Ok(Some(as_pod(pod))),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(format!("reading Pod {namespace}/{name}: {}", message(e))),
        }
    }

    /// Adds the in-place upgrade trigger for `set` (a merge patch of the
    /// annotation, with the Pod's uid as a precondition). A trigger the Pod
    /// still carries is taken off first: set again to the same value it
    /// would ask for nothing.
    pub async fn trigger_upgrade(
        &self,
        namespace: &str,
        name: &str,
        uid: Option<&str>,
        set: &str,
        stale_trigger: bool,
    ) -> Patched {
        let api = self.pods(Some(namespace));
        let params = PatchParams::default();
        let mut patches = Vec::new();
        if stale_trigger {
            patches.push(json!({"metadata": {"annotations": {UPGRADE: null}}}));
        }
        patches.push(json!({"metadata": {"annotations": {UPGRADE: set}}}));
        for mut patch in patches {
            if let Some(uid) = uid {
                patch["metadata"]["uid"] = Value::String(uid.into());
            }
            match api.patch(name, &params, &Patch::Merge(&patch)).await {
                Ok(_) => {}
                Err(e) if is_not_found(&e) => {
                    return Patched::Gone("deleted before its upgrade".into());
                }
                Err(kube::Error::Api(status))
                    if status.code == 409 && status.message.contains("UID") =>
                {
                    return Patched::Gone(
                        "replaced by another Pod of the same name since the plan".into(),
                    );
                }
                Err(kube::Error::Api(status)) if (400..500).contains(&status.code) => {
                    return Patched::Refused(message(kube::Error::Api(status)));
                }
                Err(e) => return Patched::Unknown(message(e)),
            }
        }
        Patched::Done
    }

    /// A Namespace's labels.
    pub async fn namespace_labels(&self, name: &str) -> Result<Map<String, Value>, String> {
        let api: Api<Namespace> = Api::all(self.client.clone());
        let namespace = bounded(api.get(name))
            .await
            .map_err(|e| format!("reading Namespace {name}: {e}"))?;
        Ok(namespace
            .metadata
            .labels
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect())
    }

    /// A ClusterAdmissionPolicy by name.
    pub async fn policy(&self, name: &str) -> Result<Value, String> {
        let gvk = GroupVersionKind::gvk("policies.kubewarden.io", "v1", "ClusterAdmissionPolicy");
        let resource = ApiResource::from_gvk_with_plural(&gvk, "clusteradmissionpolicies");
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &resource);
        let object = bounded(api.get(name))
            .await
            .map_err(|e| format!("reading ClusterAdmissionPolicy {name}: {e}"))?;
        let mut value = serde_json::to_value(object).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            map.insert("kind".into(), "ClusterAdmissionPolicy".into());
            map.insert("apiVersion".into(), "policies.kubewarden.io/v1".into());
        }
        Ok(value)
    }
}

/// A Pod read as a DynamicObject, as JSON with its kind.
fn as_pod(object: DynamicObject) -> Value {
    let mut value = serde_json::to_value(object).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        map.insert("kind".into(), "Pod".into());
        map.insert("apiVersion".into(), "v1".into());
    }
    value
}
