//! Logging through the Kubewarden host, as Kubewarden's Rust policies log:
//! slog, with the SDK's drain (`kubewarden_policy_sdk::logging`), which
//! sends each event to the host (`kubewarden`/`tracing`/`log`). Every line
//! is a host call, so the policy logs only on paths that should never be
//! taken, never per request.

use kubewarden_policy_sdk::logging::KubewardenDrain;
use slog::{Drain, Logger, o};

pub fn warn(message: &str) {
    // A host that refuses the call must not turn into a trap (a 500 for
    // the Pod): the drain's result is ignored, not unwrapped (`fuse`).
    let log = Logger::root(
        KubewardenDrain::new().ignore_res(),
        o!("policy" => "sidecarset"),
    );
    slog::warn!(log, "{}", message);
}
