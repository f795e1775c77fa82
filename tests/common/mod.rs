//! What the property-test files share.

use proptest::test_runner::Config as ProptestConfig;

/// 512 cases per property unless PROPTEST_CASES says otherwise; failures are
/// not persisted (a failing case is printed, minimal).
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
