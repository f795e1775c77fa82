//! A development-only waPC host that evaluates `policy.wasm` the way
//! Kubewarden's policy-server does: the module is compiled once into an
//! `InstancePre`, and every evaluation rehydrates a fresh instance, calls the
//! guest, turns its answer into an AdmissionResponse and diffs the mutated
//! object against the request object into a JSON Patch.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use wapc::WapcHost;
use wasmtime_provider::{EpochDeadlines, WasmtimeEngineProviderBuilder, WasmtimeEngineProviderPre};

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

/// policy-server's epoch ticker period and its default evaluation timeout.
const EPOCH_TICK: Duration = Duration::from_secs(1);
const DEADLINE_TICKS: u64 = 2;

/// A compiled policy, ready to be instantiated for each evaluation.
#[derive(Clone)]
pub struct Policy {
    pre: Arc<WasmtimeEngineProviderPre>,
}

impl Policy {
    pub fn load(path: &Path) -> Result<Policy> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read the policy module {}", path.display()))?;
        Policy::from_bytes(&bytes)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Policy> {
        let mut config = wasmtime::Config::default();
        // As policy-server: interruptible by epochs, function references on.
        config.epoch_interruption(true);
        config.wasm_function_references(true);
        let engine = wasmtime::Engine::new(&config)?;
        let ticker = engine.weak();
        std::thread::spawn(move || {
            while let Some(engine) = ticker.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        });
        let pre = WasmtimeEngineProviderBuilder::new()
            .engine(engine)
            .module_bytes(bytes)
            .build_pre()
            .map_err(|e| anyhow!("cannot compile the policy module: {e}"))?;
        Ok(Policy { pre: Arc::new(pre) })
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
        let host = WapcHost::new(Box::new(engine), Some(Box::new(host_callback)))
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
        let answer = self
            .host
            .call("validate", &payload)
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

/// The `kubewarden` host capabilities a policy may call. Logging is printed
/// on stderr; nothing else is granted.
fn host_callback(
    _id: u64,
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
        _ => Err(format!(
            "host capability {binding}/{namespace}/{operation} is not available to this policy"
        )
        .into()),
    }
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
