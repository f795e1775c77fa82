//! Logging through the Kubewarden host. Every line is a host call, so the
//! policy logs only on paths that should never be taken, never per request.
//!
//! The event is the one the SDK's slog drain sends (`kubewarden`/`tracing`/
//! `log`), written directly: slog and its serializers brought float
//! formatting and ~25 KB into the module for one warning.

use kubewarden_policy_sdk::wapc_guest::host_call;

pub fn warn(message: &str) {
    let message = serde_json::to_string(message).unwrap_or_default();
    let event = format!(
        r#"{{"level":"warning","policy":"sidecarset","message":{message},"file":"{}","line":{}}}"#,
        file!(),
        line!()
    );
    // A host that refuses the call must not turn into a trap (a 500 for
    // the Pod): the result is dropped.
    let _ = host_call("kubewarden", "tracing", "log", event.as_bytes());
}
