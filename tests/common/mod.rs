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
