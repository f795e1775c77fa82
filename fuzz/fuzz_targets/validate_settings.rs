//! Any bytes as settings: `validate_settings` answers, never panics; settings
//! it accepts also work at evaluation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sidecarset_policy::admission::decide;
use sidecarset_policy::check_settings;

const POD: &str = include_str!("../../test_data/requests/pod-own-init-and-native-sidecar-create.json");

fuzz_target!(|data: &[u8]| {
    let answer = check_settings(data);
    assert_eq!(answer.valid, answer.message.is_none());
    if answer.valid {
        let settings: serde_json::Value = serde_json::from_slice(data).expect("valid settings are JSON");
        let request: serde_json::Value = serde_json::from_str(POD).expect("fixture");
        let payload = serde_json::json!({"request": request, "settings": settings});
        let _ = decide(&serde_json::to_vec(&payload).expect("serializes"));
    }
});
