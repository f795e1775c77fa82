//! Any bytes as a `validate` payload: an answer, never a panic; under
//! settings validate_settings accepts (policy-server loads no others), a
//! mutated Pod, evaluated again, is left unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sidecarset_policy::admission::{Decision, decide};
use sidecarset_policy::check_settings;

fuzz_target!(|data: &[u8]| {
    let answer = decide(data);
    if let Decision::Mutate(pod) = &answer.decision {
        // The policy reads only the fields it needs, so a payload with (say)
        // invalid UTF-8 in userInfo can still inject; it cannot be rebuilt.
        let Ok(mut payload) = serde_json::from_slice::<serde_json::Value>(data) else {
            return;
        };
        let settings = serde_json::to_vec(&payload["settings"]).expect("serializes");
        if payload.get("settings").is_some() && !check_settings(&settings).valid {
            return;
        }
        payload["request"]["object"] = pod.clone();
        let again = decide(&serde_json::to_vec(&payload).expect("serializes"));
        assert_eq!(again.decision, Decision::Accept, "a second evaluation mutated");
    }
    serde_json::to_vec(&answer.into_response()).expect("the response serializes");
});
