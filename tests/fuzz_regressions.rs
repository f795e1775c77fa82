//! Inputs the fuzzers (fuzz/, `make fuzz`) found, kept as regression tests:
//! each file of test_data/fuzz-regressions/ is a `validate` payload that once
//! broke a guarantee, checked as the fuzz targets check it (no panic; a
//! second evaluation and verify mode accept what inject mode produced), plus
//! the answer it must now get where it has one.

mod common;

use serde_json::Value;
use sidecarset_policy::admission::{Decision, decide};
use sidecarset_policy::check_settings;

fn payload(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/test_data/fuzz-regressions/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(path).unwrap()
}

/// What the `validate` fuzz target asserts.
fn holds_the_guarantees(data: &[u8]) {
    let answer = decide(data);
    if let Decision::Mutate(pod) = &answer.decision {
        let mut payload: Value = serde_json::from_slice(data).unwrap();
        if let Some(refused) = common::api_server_refuses(&payload["request"]["object"], pod) {
            panic!("{refused}");
        }
        if check_settings(&serde_json::to_vec(&payload["settings"]).unwrap()).valid {
            payload["request"]["object"] = pod.clone();
            let again = decide(&serde_json::to_vec(&payload).unwrap());
            assert_eq!(again.decision, Decision::Accept);
            payload["settings"]["mode"] = "verify".into();
            let verdict = decide(&serde_json::to_vec(&payload).unwrap());
            assert_eq!(
                verdict.decision,
                Decision::Accept,
                "verify mode accepts what inject mode produced"
            );
        }
    }
}

/// What the `validate_settings` fuzz target asserts (it also evaluates).
fn settings_hold_the_guarantees(data: &[u8]) {
    let answer = check_settings(data);
    assert_eq!(answer.valid, answer.message.is_none());
}

/// Files named `validate-settings-*` are `validate_settings` inputs (raw
/// bytes, as the fuzzer found them); the others are `validate` payloads.
#[test]
fn every_regression_input_holds_the_guarantees() {
    let dir = format!("{}/test_data/fuzz-regressions", env!("CARGO_MANIFEST_DIR"));
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("validate-settings-") {
            settings_hold_the_guarantees(&data);
        } else {
            holds_the_guarantees(&data);
        }
        count += 1;
    }
    assert!(count >= 3);
}

/// A long unknown key with multi-byte characters: cutting its path for the
/// message panicked (a trap in wasm) in validate_settings.
#[test]
fn a_long_multibyte_key_gets_a_message_not_a_panic() {
    let answer = check_settings(&payload("validate-settings-long-multibyte-key.bin"));
    assert!(!answer.valid);
    let message = answer.message.unwrap();
    assert!(message.contains("…: "), "{message}");
}

/// Settings with a container without a name, sent to `validate` (which
/// does not re-validate settings): the init container went into the Pod
/// nameless, and a second evaluation rejected the Pod it had produced.
#[test]
fn a_nameless_container_in_the_settings_is_refused_at_evaluation() {
    assert_eq!(
        decide(&payload("validate-nameless-init-container.json")).decision,
        Decision::Reject(
            "invalid policy settings: settings.sidecarSets[0].initContainers[0].name: required; give the container a name (a DNS-1123 label); fix the policy's settings".into()
        )
    );
}
