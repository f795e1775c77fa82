//! The floor the benchmarks compare the policy with (`make bench`): the least
//! any Kubewarden policy pays on a request. It decodes the validation request
//! with the SDK, as every Rust policy does, skipping the settings' JSON (a
//! settings struct without fields), and accepts; no logging.
//!
//! Built with the `mutating` feature, it is the floor of a mutating policy:
//! it returns the request's object with one annotation added, so the host
//! parses a mutated object and diffs it, as for any mutation.

use kubewarden_policy_sdk::request::ValidationRequest;
use kubewarden_policy_sdk::settings::Validatable;
use kubewarden_policy_sdk::{accept_request, protocol_version_guest, wapc_guest as guest};
use serde::Deserialize;

use guest::prelude::*;

#[derive(Deserialize, Default)]
struct Settings {}

impl Validatable for Settings {
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    register_function("validate", validate);
    register_function("validate_settings", validate_settings);
    register_function("protocol_version", protocol_version_guest);
}

fn validate(payload: &[u8]) -> CallResult {
    let request: ValidationRequest<Settings> = ValidationRequest::new(payload)?;
    if cfg!(feature = "mutating") {
        let mut object = request.request.object;
        if let Some(metadata) = object.get_mut("metadata").and_then(|m| m.as_object_mut()) {
            let annotations = metadata
                .entry("annotations")
                .or_insert_with(|| serde_json::json!({}));
            if let Some(annotations) = annotations.as_object_mut() {
                annotations.insert("floor".into(), "mutated".into());
            }
        }
        return kubewarden_policy_sdk::mutate_request(object);
    }
    accept_request()
}

fn validate_settings(payload: &[u8]) -> CallResult {
    kubewarden_policy_sdk::validate_settings::<Settings>(payload)
}
