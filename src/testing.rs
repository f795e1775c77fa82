//! What the modules' tests share: settings from JSON, an injection with its
//! warnings, the mutated Pod of an outcome.

use serde_json::Value;

use crate::inject::{Outcome, inject};
use crate::namespace::Namespace;
use crate::settings::Settings;

pub fn settings(value: Value) -> Settings {
    Settings::from_slice(value.to_string().as_bytes()).unwrap()
}

/// `pod` injected in the Namespace shop (not read: no host), with the
/// warnings.
pub fn run(pod: Value, settings: &Settings) -> (Outcome, Vec<String>) {
    let mut warnings = Vec::new();
    let outcome = inject(pod, settings, &mut Namespace::new("shop"), &mut warnings);
    (outcome, warnings)
}

pub fn mutated(outcome: Outcome) -> Value {
    match outcome {
        Outcome::Mutated(pod) => pod,
        other => panic!("expected a mutation, got {other:?}"),
    }
}
