//! Logging through the Kubewarden host. Every line is a host call, so the
//! policy logs only on paths that should never be taken, never per request.

use std::sync::LazyLock;

use kubewarden_policy_sdk::logging::KubewardenDrain;
use slog::{Drain, Logger, o};

// `ignore_res`, not the SDK's `fuse`: a host that refuses the log call must
// not turn into a panic (a trap, a 500 for the Pod).
static LOGGER: LazyLock<Logger> = LazyLock::new(|| {
    Logger::root(
        KubewardenDrain::default().ignore_res(),
        o!("policy" => "sidecarset"),
    )
});

pub fn warn(message: &str) {
    slog::warn!(LOGGER, "{}", message);
}
