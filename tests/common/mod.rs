//! What the property-test files share.

use proptest::test_runner::Config as ProptestConfig;

/// 512 cases per property unless PROPTEST_CASES says otherwise; failures are
/// not persisted (a failing case is printed, minimal).
#[allow(dead_code)] // not every test file runs properties
pub fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(512),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// The images of a Pod's init containers and containers, by name.
#[allow(dead_code)] // not every property file reads images
pub fn images(pod: &serde_json::Value) -> Vec<(String, String)> {
    ["initContainers", "containers"]
        .iter()
        .flat_map(|list| pod["spec"][list].as_array().cloned().unwrap_or_default())
        .map(|c| {
            (
                c["name"].as_str().unwrap_or("").to_string(),
                c["image"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// What the API server (the oracle of `ValidatePodCreate`) refuses in
/// `after` in a Kubernetes version from 1.29 to 1.36 where it accepts
/// `before` (the Pod as its author wrote it): None when every such version
/// accepts it. A Pod the API server refuses anyway is its author's.
#[allow(dead_code)] // not every property file checks Pods
pub fn api_server_refuses(before: &serde_json::Value, after: &serde_json::Value) -> Option<String> {
    use pod_validation_oracle::{VERSIONS, Version, validate_pod_create};
    let named = |pod: &serde_json::Value| {
        let mut pod = pod.clone();
        // The API server names a generateName Pod before validating it.
        if pod["metadata"].get("name").is_none() {
            pod["metadata"]["name"] = serde_json::json!("generated-name");
        }
        pod
    };
    let (before, after) = (named(before), named(after));
    for minor in VERSIONS {
        let version = Version(minor);
        if !validate_pod_create(&before, version).is_empty() {
            continue;
        }
        let errors = validate_pod_create(&after, version);
        if !errors.is_empty() {
            let listed: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
            return Some(format!(
                "the API server 1.{minor} refuses the answer:\n{}",
                listed.join("\n")
            ));
        }
    }
    None
}

/// What `validate_settings` says about `value` ("" when it loads).
#[allow(dead_code)] // for the findings' tests
pub fn settings_problems(value: serde_json::Value) -> String {
    use kubewarden_policy_sdk::settings::Validatable;
    use sidecarset_policy::settings::Settings;
    match Settings::from_slice(value.to_string().as_bytes()) {
        Ok(s) => s.validate().err().unwrap_or_default(),
        Err(e) => e.to_string(),
    }
}
