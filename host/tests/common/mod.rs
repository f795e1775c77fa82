//! Helpers shared by the wasm-level test files.
#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use host::{AdmissionResponse, ClusterContext, Policy, read_request};
use serde_json::{Value, json};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn policy() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(|| {
        let path = std::env::var_os("POLICY_WASM")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo().join("policy.wasm"));
        assert!(
            path.exists(),
            "{} is missing: run `make policy.wasm` first",
            path.display()
        );
        // Granted as the example policy is (v1/Namespace), in Namespaces
        // with no label: no Pod Security level, no namespaceSelector match.
        let replay = repo().join("test_data/replay/namespaces-unlabelled.yml");
        let mut context = ClusterContext::granted_by(&repo().join("metadata.yml")).unwrap();
        context.exchanges = ClusterContext::read_replay(&replay).unwrap();
        Policy::load(&path)
            .expect("the policy module loads")
            .with_context(context)
    })
}

/// The policy granted as metadata.yml asks, in the Namespace the replay
/// file `name` of test_data/replay answers for.
pub fn in_namespace(name: &str) -> Policy {
    let mut context = ClusterContext::granted_by(&repo().join("metadata.yml")).unwrap();
    context.exchanges =
        ClusterContext::read_replay(&repo().join("test_data/replay").join(name)).unwrap();
    policy().clone().with_context(context)
}

pub fn request(path: &str) -> Value {
    read_request(&repo().join(path)).unwrap()
}

/// The request object with the response's patch applied.
pub fn patched(request: &Value, response: &AdmissionResponse) -> Value {
    let mut object = request["object"].clone();
    json_patch::patch(&mut object, &response.patch_operations().unwrap()).unwrap();
    object
}

/// The names of the entries of `spec.<list>`, in order.
pub fn entry_names(pod: &Value, list: &str) -> Vec<String> {
    pod["spec"][list]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

/// The entry of `spec.<list>` named `name`.
pub fn entry<'a>(pod: &'a Value, list: &str, name: &str) -> &'a Value {
    pod["spec"][list]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap()
}

/// The entry of `spec.<list>` named `name`, to edit.
pub fn entry_mut<'a>(pod: &'a mut Value, list: &str, name: &str) -> &'a mut Value {
    pod["spec"][list]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["name"] == name)
        .unwrap()
}

/// The policy's status annotation of an injected Pod, parsed.
pub fn status_of(pod: &Value) -> Value {
    let annotation = pod["metadata"]["annotations"]["sidecarset.kubewarden.io/status"]
        .as_str()
        .unwrap();
    serde_json::from_str(annotation).unwrap()
}

pub fn op_paths(response: &AdmissionResponse) -> Vec<String> {
    let patch = serde_json::to_value(response.patch_operations().unwrap()).unwrap();
    patch
        .as_array()
        .unwrap()
        .iter()
        .map(|op| {
            format!(
                "{} {}",
                op["op"].as_str().unwrap(),
                op["path"].as_str().unwrap()
            )
        })
        .collect()
}

/// Every request file of test_data, sorted.
pub fn all_request_files() -> Vec<String> {
    let dir = "test_data/requests";
    let mut files = Vec::new();
    for entry in std::fs::read_dir(repo().join(dir)).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".json") {
            files.push(format!("{dir}/{name}"));
        }
    }
    files.sort();
    files
}

/// Checks `pods` (name, Pod) as the API server `version` would: the oracle
/// of its Pod validation (`ValidatePodCreate`, pod-validation-oracle),
/// then `kubernetes-validate --strict` (the OpenAPI schema) on files in a
/// temporary directory; Err holds what refused them.
pub fn kubernetes_validate(pods: &[(String, Value)], version: &str) -> Result<(), String> {
    let minor = version
        .strip_prefix("1.")
        .and_then(|rest| rest.split('.').next())
        .and_then(|m| m.parse().ok())
        .expect("a version such as 1.36.0");
    for (name, pod) in pods {
        let mut pod = pod.clone();
        if pod["metadata"].get("name").is_none() {
            pod["metadata"]["name"] = json!("generated-name");
        }
        let errors =
            pod_validation_oracle::validate_pod_create(&pod, pod_validation_oracle::Version(minor));
        if !errors.is_empty() {
            let listed: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
            return Err(format!(
                "the API server {version} refuses {name}:\n{}",
                listed.join("\n")
            ));
        }
    }
    let dir = std::env::temp_dir().join(format!(
        "sidecarset-schema-{}-{version}-{}",
        std::process::id(),
        pods.first().map_or("none", |(n, _)| n.as_str())
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    for (name, pod) in pods {
        let mut pod = pod.clone();
        // The API server names a Pod from generateName before validating it.
        if pod["metadata"].get("name").is_none() {
            let generated = format!(
                "{}test",
                pod["metadata"]["generateName"].as_str().unwrap_or("pod-")
            );
            pod["metadata"]["name"] = json!(generated);
        }
        let file = dir.join(format!("{name}.json"));
        std::fs::write(&file, serde_json::to_vec_pretty(&pod).unwrap()).unwrap();
        files.push(file);
    }
    let output = Command::new("kubernetes-validate")
        .args(["--strict", "--quiet", "-k", version])
        .args(files.iter())
        .output()
        .expect(
            "kubernetes-validate is installed (pip install kubernetes-validate; .ci/run does it)",
        );
    let _ = std::fs::remove_dir_all(&dir);
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "kubernetes-validate {version}:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// What the API server's defaulting adds to every container (written here
/// from the Kubernetes API reference, apart from the policy's own code).
pub fn as_stored(pod: &mut Value) {
    for list in ["initContainers", "containers"] {
        for c in pod["spec"][list].as_array_mut().into_iter().flatten() {
            let c = c.as_object_mut().unwrap();
            c.entry("imagePullPolicy").or_insert(json!("IfNotPresent"));
            c.entry("terminationMessagePath")
                .or_insert(json!("/dev/termination-log"));
            c.entry("terminationMessagePolicy").or_insert(json!("File"));
            c.entry("resources").or_insert(json!({}));
            for port in c
                .get_mut("ports")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                port.as_object_mut()
                    .unwrap()
                    .entry("protocol")
                    .or_insert(json!("TCP"));
            }
            for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
                if let Some(Value::Object(p)) = c.get_mut(probe) {
                    for (k, v) in [
                        ("timeoutSeconds", 1),
                        ("periodSeconds", 10),
                        ("successThreshold", 1),
                        ("failureThreshold", 3),
                    ] {
                        p.entry(k).or_insert(json!(v));
                    }
                    if let Some(Value::Object(get)) = p.get_mut("httpGet") {
                        get.entry("scheme").or_insert(json!("HTTP"));
                    }
                }
            }
            if let Some(Value::Object(r)) = c.get_mut("resources")
                && let Some(limits) = r.get("limits").cloned()
            {
                let requests = r.entry("requests").or_insert(json!({}));
                for (k, v) in limits.as_object().unwrap() {
                    requests
                        .as_object_mut()
                        .unwrap()
                        .entry(k.clone())
                        .or_insert(v.clone());
                }
            }
        }
    }
    for v in pod["spec"]["volumes"].as_array_mut().into_iter().flatten() {
        if let Some(Value::Object(cm)) = v.get_mut("configMap") {
            cm.entry("defaultMode").or_insert(json!(420));
        }
    }
}
