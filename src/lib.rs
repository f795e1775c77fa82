//! sidecarset-policy: a Kubewarden policy that injects sidecar containers into
//! Pods at admission. This file only registers the waPC entry points; the
//! logic lives in pure functions in the modules below.

pub mod admission;
pub mod annotations;
pub mod app;
pub mod conflicts;
pub mod defaults;
pub mod held;
pub mod inject;
mod log;
pub mod mount_path;
pub mod namespace;
pub mod order;
pub mod pod;
pub mod pod_rules;
pub mod pod_security;
pub mod provenance;
pub mod resize;
pub mod resources;
pub mod rollout;
pub mod schema;
pub mod selector;
pub mod settings;
pub mod share;
pub mod shutdown;
#[cfg(test)]
mod testing;
pub mod update;
pub mod verify;
pub mod workload;

use kubewarden_policy_sdk::settings::{SettingsValidationResponse, Validatable};
use kubewarden_policy_sdk::{protocol_version_guest, wapc_guest as guest};

use guest::prelude::*;

#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    register_function("validate", validate);
    register_function("validate_settings", validate_settings);
    register_function("protocol_version", protocol_version_guest);
}

fn validate(payload: &[u8]) -> CallResult {
    let mut lookup = namespace_labels;
    Ok(serde_json::to_vec(
        &admission::decide_with(payload, Some(&mut lookup)).into_response(),
    )?)
}

/// Reads a Namespace's labels through the host's `kubernetes/get_resource`.
fn namespace_labels(name: &str) -> Result<namespace::Labels, String> {
    let request = namespace::namespace_request(name);
    // The guest library wraps the host's message in "Host error: ".
    let response =
        guest::host_call("kubewarden", "kubernetes", "get_resource", &request).map_err(|e| {
            let message = e.to_string();
            match message.strip_prefix("Host error: ") {
                Some(host) => host.to_string(),
                None => message,
            }
        })?;
    namespace::labels_of(&response)
}

/// Unlike the SDK's helper, a settings document that does not parse is also
/// answered with `valid: false` and a message naming the field, not an error.
fn validate_settings(payload: &[u8]) -> CallResult {
    Ok(serde_json::to_vec(&check_settings(payload))?)
}

pub fn check_settings(payload: &[u8]) -> SettingsValidationResponse {
    let message = settings::Settings::from_slice(payload)
        .and_then(|s| s.validate())
        .err();
    SettingsValidationResponse {
        valid: message.is_none(),
        message,
    }
}
