//! A development-only waPC host that evaluates `policy.wasm` the way
//! Kubewarden's policy-server does: the module is compiled once into an
//! `InstancePre`, and every evaluation rehydrates a fresh instance, calls the
//! guest, turns its answer into an AdmissionResponse and diffs the mutated
//! object against the request object into a JSON Patch.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use wapc::WapcHost;
use wasmtime_provider::{EpochDeadlines, WasmtimeEngineProviderBuilder, WasmtimeEngineProviderPre};

pub mod cases;

/// What a Kubewarden policy answers to `validate` (the SDK's ValidationResponse).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct ValidationResponse {
    pub accepted: bool,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub code: Option<u16>,
    #[serde(default)]
    pub mutated_object: Option<Value>,
    #[serde(default)]
    pub audit_annotations: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default)]
    pub warnings: Option<Vec<String>>,
}

/// What a policy answers to `validate_settings`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct SettingsValidationResponse {
    pub valid: bool,
    #[serde(default)]
    pub message: Option<String>,
}

/// Kubernetes' admission/v1 AdmissionResponse, serialized as kwctl prints it
/// (same field order; `auditAnnotations` and `warnings` always present).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    pub uid: String,
    pub allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<AdmissionResponseStatus>,
    pub audit_annotations: Option<std::collections::BTreeMap<String, String>>,
    pub warnings: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct AdmissionResponseStatus {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
}

impl AdmissionResponse {
    /// The decoded JSON Patch operations (empty when there is no patch).
    pub fn patch_operations(&self) -> Result<json_patch::Patch> {
        match &self.patch {
            None => Ok(json_patch::Patch(Vec::new())),
            Some(encoded) => {
                let bytes = base64::engine::general_purpose::STANDARD.decode(encoded)?;
                Ok(serde_json::from_slice(&bytes)?)
            }
        }
    }

    pub fn message(&self) -> Option<&str> {
        self.status.as_ref().and_then(|s| s.message.as_deref())
    }
}

/// The engine configured as policy-server's: interruptible by epochs,
/// function references on.
fn engine() -> Result<wasmtime::Engine> {
    wasmtime::Engine::new(&config()).map_err(|e| anyhow!("cannot configure wasmtime: {e}"))
}

/// policy-server's settings: interruptible by epochs, function references on.
fn config() -> wasmtime::Config {
    let mut config = wasmtime::Config::default();
    config.epoch_interruption(true);
    config.wasm_function_references(true);
    config
}

/// [`engine`] for x86-64-v2 (SSE4.2, POPCNT) instead of the CPU it runs on:
/// a module it compiled loads under valgrind, whose virtual CPU has fewer
/// features than most hosts, and on any x86-64 CI machine, so that
/// instruction counts compare from machine to machine.
fn portable_engine() -> Result<wasmtime::Engine> {
    let mut config = config();
    config
        .target(&target_lexicon_host())
        .map_err(|e| anyhow!("cannot configure wasmtime: {e}"))?;
    if cfg!(target_arch = "x86_64") {
        for flag in [
            "has_sse3",
            "has_ssse3",
            "has_sse41",
            "has_sse42",
            "has_popcnt",
        ] {
            // SAFETY: these flags only select instructions, and the engine
            // refuses to run the module on a CPU without them.
            unsafe { config.cranelift_flag_enable(flag) };
        }
    }
    wasmtime::Engine::new(&config).map_err(|e| anyhow!("cannot configure wasmtime: {e}"))
}

/// The target triple this host was built for.
fn target_lexicon_host() -> String {
    format!(
        "{}-unknown-{}-gnu",
        std::env::consts::ARCH,
        std::env::consts::OS
    )
}

/// policy-server's epoch ticker period and its default evaluation timeout.
const EPOCH_TICK: Duration = Duration::from_secs(1);
const DEADLINE_TICKS: u64 = 2;

/// A compiled policy, ready to be instantiated for each evaluation.
#[derive(Clone)]
pub struct Policy {
    pre: Arc<WasmtimeEngineProviderPre>,
    context: Arc<ClusterContext>,
}

/// `apiVersion`/`kind` pairs of Kubernetes resources.
pub type Resources = Vec<(String, String)>;

/// What the host answers the policy's `kubernetes/*` calls with, in place of
/// a cluster: as `kwctl run --allow-context-aware
/// --replay-host-capabilities-interactions FILE`.
#[derive(Debug, Clone, Default)]
pub struct ClusterContext {
    /// The `apiVersion`/`kind` pairs the policy was granted (its metadata's
    /// `contextAwareResources`, when context awareness is allowed).
    pub granted: Resources,
    /// The host capabilities (`kubernetes/get_resource`…) the policy may
    /// call; None grants every one, as policy-server does by default.
    pub capabilities: Option<Vec<String>>,
    /// The recorded exchanges answered from.
    pub exchanges: Vec<Exchange>,
    /// As kwctl replays a file: each host call must be the next recorded
    /// one, in order (per evaluation). Otherwise a call is answered by the
    /// recorded exchange with an equal request, wherever it is (a cluster
    /// that knows many Namespaces, for the tests).
    pub in_order: bool,
}

/// One recorded host call and its answer (kwctl's replay file format).
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    /// The request's type (the YAML tag, e.g. KubernetesGetResource) and fields.
    pub kind: String,
    pub request: Value,
    pub response: std::result::Result<Vec<u8>, String>,
}

#[derive(Deserialize)]
struct RecordedExchange {
    #[serde(rename = "type")]
    kind: String,
    request: String,
    response: RecordedResponse,
}

#[derive(Deserialize)]
struct RecordedResponse {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    payload: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

impl ClusterContext {
    /// Reads a kwctl replay file (`--replay-host-capabilities-interactions`).
    pub fn read_replay(path: &Path) -> Result<Vec<Exchange>> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let recorded: Vec<RecordedExchange> = serde_yaml::from_str(&text).with_context(|| {
            format!("{} is not a host capabilities replay file", path.display())
        })?;
        recorded
            .into_iter()
            .filter(|r| r.kind == "Exchange")
            .map(|r| {
                let request: serde_yaml::Value = serde_yaml::from_str(&r.request)
                    .with_context(|| format!("a request in {} is not YAML", path.display()))?;
                let serde_yaml::Value::Tagged(tagged) = request else {
                    return Err(anyhow!(
                        "a request in {} has no type tag such as !KubernetesGetResource",
                        path.display()
                    ));
                };
                let kind = tagged.tag.to_string().trim_start_matches('!').to_string();
                let request: Value = serde_yaml::from_value(tagged.value)?;
                let response = match r.response.kind.as_str() {
                    "Success" => Ok(r.response.payload.unwrap_or_default().into_bytes()),
                    _ => Err(r
                        .response
                        .message
                        .unwrap_or_else(|| r.response.kind.clone())),
                };
                Ok(Exchange {
                    kind,
                    request,
                    response,
                })
            })
            .collect()
    }

    /// What a policy's metadata.yml asks for: its `contextAwareResources`
    /// and, if it lists them, its `hostCapabilities` (no exchanges).
    pub fn granted_by(metadata: &Path) -> Result<ClusterContext> {
        let metadata = read_settings(metadata)?;
        let capabilities = metadata
            .get("hostCapabilities")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            });
        Ok(ClusterContext {
            granted: resource_list(metadata.get("contextAwareResources")),
            capabilities,
            exchanges: Vec::new(),
            in_order: false,
        })
    }

    /// policy-server's answer to `kubernetes/get_resource`: refused unless the
    /// capability and the resource were granted, then the recorded answer to
    /// an equal request.
    fn get_resource(
        &self,
        payload: &[u8],
        next: &AtomicUsize,
    ) -> std::result::Result<Vec<u8>, String> {
        const CAPABILITY: &str = "kubernetes/get_resource";
        if let Some(capabilities) = &self.capabilities
            && !capabilities.iter().any(|c| c == CAPABILITY)
        {
            return Err(format!(
                "Policy has not been granted access to the '{CAPABILITY}' host capability. The violation has been reported."
            ));
        }
        let request: Value = serde_json::from_slice(payload)
            .map_err(|e| format!("cannot read the get_resource request: {e}"))?;
        let text = |key: &str| request.get(key).and_then(Value::as_str).unwrap_or_default();
        let (api_version, kind) = (text("api_version"), text("kind"));
        if !self
            .granted
            .iter()
            .any(|(v, k)| v == api_version && k == kind)
        {
            return Err(format!(
                "Policy has not been granted access to Kubernetes {api_version}/{kind} resources. The violation has been reported."
            ));
        }
        // Absent and null fields are the same request.
        let fields = |v: &Value| -> Vec<(String, Value)> {
            let mut fields: Vec<(String, Value)> = v
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            fields
        };
        let wanted = fields(&request);
        if self.in_order {
            let index = next.fetch_add(1, Ordering::SeqCst);
            let Some(expected) = self.exchanges.get(index) else {
                return Err(format!(
                    "Callback evaluation failure: Replay error: no more recorded interactions, got KubernetesGetResource {request}"
                ));
            };
            if expected.kind != "KubernetesGetResource" || fields(&expected.request) != wanted {
                return Err(format!(
                    "Callback evaluation failure: Replay error: unexpected request. Was expecting {} {}, got KubernetesGetResource {request} instead",
                    expected.kind, expected.request
                ));
            }
            return expected.response.clone();
        }
        self.exchanges
            .iter()
            .find(|e| e.kind == "KubernetesGetResource" && fields(&e.request) == wanted)
            .ok_or_else(|| format!("no recorded host capability interaction matches {request}"))?
            .response
            .clone()
    }
}

impl Policy {
    pub fn load(path: &Path) -> Result<Policy> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read the policy module {}", path.display()))?;
        Policy::from_bytes(&bytes)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Policy> {
        Policy::build(
            engine()?,
            WasmtimeEngineProviderBuilder::new().module_bytes(bytes),
        )
    }

    /// The module compiled ahead of time for this host (as policy-server
    /// keeps its compiled modules), to load with [`Policy::from_precompiled`].
    pub fn precompile(bytes: &[u8]) -> Result<Vec<u8>> {
        portable_engine()?
            .precompile_module(bytes)
            .map_err(|e| anyhow!("cannot compile the policy module: {e}"))
    }

    /// A module [`Policy::precompile`] wrote: loading it compiles nothing,
    /// so that counting instructions under callgrind costs seconds.
    pub fn from_precompiled(path: &Path) -> Result<Policy> {
        let engine = portable_engine()?;
        // SAFETY: wasmtime checks that the file was written by a compatible
        // engine; the benchmarks read only what they wrote themselves.
        let module = unsafe { wasmtime::Module::deserialize_file(&engine, path) }
            .map_err(|e| anyhow!("cannot load the precompiled module {}: {e}", path.display()))?;
        Policy::build(engine, WasmtimeEngineProviderBuilder::new().module(module))
    }

    /// `builder`'s module must have been compiled by `engine`.
    fn build(engine: wasmtime::Engine, builder: WasmtimeEngineProviderBuilder) -> Result<Policy> {
        let ticker = engine.weak();
        std::thread::spawn(move || {
            while let Some(engine) = ticker.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        });
        let pre = builder
            .engine(engine)
            .build_pre()
            .map_err(|e| anyhow!("cannot compile the policy module: {e}"))?;
        Ok(Policy {
            pre: Arc::new(pre),
            context: Arc::default(),
        })
    }

    /// The same policy, answering host calls about the cluster from `context`.
    pub fn with_context(mut self, context: ClusterContext) -> Policy {
        self.context = Arc::new(context);
        self
    }

    /// A fresh instance, as policy-server makes for every request.
    pub fn instance(&self) -> Result<Instance> {
        let deadlines = EpochDeadlines {
            wapc_init: DEADLINE_TICKS,
            wapc_func: DEADLINE_TICKS,
        };
        let engine = self
            .pre
            .rehydrate(Some(deadlines))
            .map_err(|e| anyhow!("cannot instantiate the policy: {e}"))?;
        let context = Arc::clone(&self.context);
        // Where this instance is in a replay (kwctl replays per run).
        let next = AtomicUsize::new(0);
        let callback =
            move |_id: u64, binding: &str, namespace: &str, operation: &str, payload: &[u8]| {
                host_callback(&context, &next, binding, namespace, operation, payload)
            };
        let host = WapcHost::new(Box::new(engine), Some(Box::new(callback)))
            .map_err(|e| anyhow!("cannot initialize the policy: {e}"))?;
        Ok(Instance { host })
    }

    /// policy-server's path for one request: fresh instance, validate, diff.
    pub fn evaluate(&self, request: &Value, settings: &Value) -> Result<AdmissionResponse> {
        self.instance()?.evaluate(request, settings)
    }

    pub fn validate_settings(&self, settings: &Value) -> Result<SettingsValidationResponse> {
        self.instance()?.validate_settings(settings)
    }
}

/// One instantiated policy; `kwctl bench` reuses one for many calls.
pub struct Instance {
    host: WapcHost,
}

impl Instance {
    pub fn protocol_version(&self) -> Result<String> {
        let answer = self
            .host
            .call("protocol_version", b"")
            .map_err(|e| anyhow!("protocol_version: {e}"))?;
        Ok(serde_json::from_slice(&answer)?)
    }

    /// Calls a guest function with any bytes (for hostile-input tests).
    pub fn call(&self, operation: &str, payload: &[u8]) -> Result<Vec<u8>> {
        self.host
            .call(operation, payload)
            .map_err(|e| anyhow!("the policy failed in {operation}: {e}"))
    }

    pub fn validate_settings(&self, settings: &Value) -> Result<SettingsValidationResponse> {
        let answer = self
            .host
            .call("validate_settings", &serde_json::to_vec(settings)?)
            .map_err(|e| anyhow!("the policy failed in validate_settings: {e}"))?;
        serde_json::from_slice(&answer)
            .context("the policy's validate_settings answer is not a SettingsValidationResponse")
    }

    /// The policy's own answer to `validate`.
    pub fn validate_raw(&self, request: &Value, settings: &Value) -> Result<ValidationResponse> {
        let payload = serde_json::to_vec(&json!({"request": request, "settings": settings}))?;
        self.validate_payload(&payload)
    }

    /// The policy's answer to a `validate` payload already serialized.
    pub fn validate_payload(&self, payload: &[u8]) -> Result<ValidationResponse> {
        let answer = self
            .host
            .call("validate", payload)
            .map_err(|e| anyhow!("the policy failed in validate: {e}"))?;
        serde_json::from_slice(&answer)
            .context("the policy's validate answer is not a ValidationResponse")
    }

    /// The AdmissionResponse policy-server would send back.
    pub fn evaluate(&self, request: &Value, settings: &Value) -> Result<AdmissionResponse> {
        let answer = self.validate_raw(request, settings)?;
        Ok(admission_response(request, answer))
    }
}

/// As policy-evaluator: a mutated object becomes the JSON Patch that turns
/// the request object into it.
pub fn admission_response(request: &Value, answer: ValidationResponse) -> AdmissionResponse {
    let uid = request
        .get("uid")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let object = request.get("object").filter(|o| !o.is_null());
    let (patch, allowed, mut message) = match (&answer.mutated_object, object) {
        (Some(_), None) => (
            None,
            false,
            Some("Incoming object is null, which happens only with DELETE operations, but the policy is attempting a mutation. This is not allowed".to_string()),
        ),
        (Some(mutated), Some(object)) => {
            let diff = json_patch::diff(object, mutated);
            let patch = (!diff.0.is_empty()).then(|| {
                base64::engine::general_purpose::STANDARD
                    .encode(serde_json::to_string(&diff).unwrap_or_default())
            });
            (patch, answer.accepted, answer.message.clone())
        }
        (None, _) => (None, answer.accepted, answer.message.clone()),
    };
    let status = (message.is_some() || answer.code.is_some()).then(|| AdmissionResponseStatus {
        message: message.take(),
        code: answer.code,
    });
    AdmissionResponse {
        uid,
        allowed,
        patch_type: patch.as_ref().map(|_| "JSONPatch".to_string()),
        patch,
        status,
        audit_annotations: answer.audit_annotations,
        warnings: answer.warnings,
    }
}

/// The `kubewarden` host capabilities a policy may call: logging, printed
/// on stderr, and `kubernetes/get_resource`, answered from the context.
fn host_callback(
    context: &ClusterContext,
    next: &AtomicUsize,
    binding: &str,
    namespace: &str,
    operation: &str,
    payload: &[u8],
) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
    match (binding, namespace, operation) {
        ("kubewarden", "tracing", "log") => {
            // One line per event, like kwctl's log output (never on stdout).
            let event: Value = serde_json::from_slice(payload).unwrap_or_default();
            let field = |key: &str| {
                event
                    .get(key)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            eprintln!(
                "{:>7} policy: {}",
                field("level").to_uppercase(),
                field("message")
            );
            Ok(Vec::new())
        }
        ("kubewarden", "kubernetes", "get_resource") => {
            context.get_resource(payload, next).map_err(Into::into)
        }
        _ => Err(format!(
            "host capability {binding}/{namespace}/{operation} is not available to this policy"
        )
        .into()),
    }
}

/// `[{apiVersion, kind}]` as pairs.
fn resource_list(list: Option<&Value>) -> Resources {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| {
            Some((
                r.get("apiVersion")?.as_str()?.to_string(),
                r.get("kind")?.as_str()?.to_string(),
            ))
        })
        .collect()
}

/// policy-evaluator's model of admission/v1 AdmissionRequest. kwctl and
/// policy-server decode the request into it and send the policy its
/// re-encoding, so a request missing `resource` or `userInfo` is refused here
/// as there, and the policy sees exactly the fields they would send.
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct AdmissionRequest {
    uid: String,
    kind: GroupVersionKind,
    resource: GroupVersionResource,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub_resource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_kind: Option<GroupVersionKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_resource: Option<GroupVersionResource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_sub_resource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    operation: String,
    user_info: serde_json::Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    object: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    old_object: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dry_run: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    options: Option<Value>,
}

#[derive(Debug, Deserialize, Serialize)]
struct GroupVersionKind {
    group: String,
    version: String,
    kind: String,
}

#[derive(Debug, Deserialize, Serialize)]
struct GroupVersionResource {
    group: String,
    version: String,
    resource: String,
}

/// Reads an AdmissionRequest from a file holding either the request or a
/// whole AdmissionReview, and normalizes it, as kwctl does.
pub fn read_request(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let value: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let request = match value.get("request") {
        Some(request) if value.get("kind").and_then(Value::as_str) == Some("AdmissionReview") => {
            request.clone()
        }
        _ => value,
    };
    let request: AdmissionRequest = serde_json::from_value(request)
        .map_err(|e| anyhow!("cannot build AdmissionRequest object from given input: {e}"))?;
    Ok(serde_json::to_value(request)?)
}

/// Reads settings from a YAML or JSON file.
pub fn read_settings(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let value: Value = serde_yaml::from_str(&text)
        .with_context(|| format!("{} is not YAML or JSON", path.display()))?;
    Ok(if value.is_null() { json!({}) } else { value })
}

/// A Kubewarden policy resource (ClusterAdmissionPolicy, AdmissionPolicy)
/// read from a YAML file: what kwctl evaluates of it.
#[derive(Debug, Clone)]
pub struct PolicyResource {
    pub name: String,
    pub module: String,
    pub settings: Value,
    /// `spec.contextAwareResources`: what the policy may read.
    pub context_aware_resources: Resources,
}

pub fn read_policy_resources(path: &Path) -> Result<Vec<PolicyResource>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut resources = Vec::new();
    for document in serde_yaml::Deserializer::from_str(&text) {
        let value = Value::deserialize(document)
            .with_context(|| format!("{} is not YAML", path.display()))?;
        let kind = value
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !matches!(kind, "ClusterAdmissionPolicy" | "AdmissionPolicy") {
            continue;
        }
        let spec = value.get("spec").cloned().unwrap_or_default();
        check_spec_fields(kind, &spec)?;
        resources.push(PolicyResource {
            name: value
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            module: spec
                .get("module")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            settings: spec
                .get("settings")
                .filter(|s| !s.is_null())
                .cloned()
                .unwrap_or_else(|| json!({})),
            context_aware_resources: resource_list(spec.get("contextAwareResources")),
        });
    }
    if resources.is_empty() {
        return Err(anyhow!(
            "{} holds no ClusterAdmissionPolicy or AdmissionPolicy",
            path.display()
        ));
    }
    Ok(resources)
}

/// The fields of a ClusterAdmissionPolicy's spec, in the order kwctl 1.36
/// lists them; an AdmissionPolicy has all but the last two.
const CLUSTER_ADMISSION_POLICY_FIELDS: &[&str] = &[
    "backgroundAudit",
    "failurePolicy",
    "matchConditions",
    "matchPolicy",
    "mode",
    "module",
    "mutating",
    "objectSelector",
    "policyServer",
    "rules",
    "settings",
    "sideEffects",
    "timeoutSeconds",
    "timeoutEvalSeconds",
    "namespaceSelector",
    "contextAwareResources",
    "message",
];

/// As kwctl (and the API server with field validation): a spec field the
/// resource does not have is an error, worded as kwctl words it.
fn check_spec_fields(kind: &str, spec: &Value) -> Result<()> {
    let allowed: Vec<&str> = CLUSTER_ADMISSION_POLICY_FIELDS
        .iter()
        .copied()
        .filter(|f| {
            kind == "ClusterAdmissionPolicy"
                || !matches!(*f, "namespaceSelector" | "contextAwareResources")
        })
        .collect();
    for key in spec.as_object().into_iter().flat_map(|m| m.keys()) {
        if !allowed.contains(&key.as_str()) {
            let expected: Vec<String> = allowed.iter().map(|f| format!("`{f}`")).collect();
            return Err(anyhow!(
                "cannot parse value into {kind}: unknown field `{key}`, expected one of {}",
                expected.join(", ")
            ));
        }
    }
    Ok(())
}

/// The local path of a module URI: a path, or `file://`. This host cannot
/// pull from registries or HTTP servers.
pub fn module_path(uri: &str) -> Result<std::path::PathBuf> {
    if let Some(path) = uri.strip_prefix("file://") {
        return Ok(path.into());
    }
    if uri.contains("://") {
        return Err(anyhow!(
            "this development host cannot fetch {uri}; pull it with kwctl, or point the module to a local file:// path"
        ));
    }
    Ok(uri.into())
}
