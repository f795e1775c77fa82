//! Tests of `app`: what a set gives the Pod's own containers, through
//! `inject` and `verify` as a Pod meets them.

use serde_json::{Value, json};

use crate::inject::{Outcome, inject};
use crate::namespace::Namespace;
use crate::settings::Settings;

fn settings(value: Value) -> Settings {
    Settings::from_slice(value.to_string().as_bytes()).unwrap()
}

/// The OpenTelemetry collector of the examples: a native sidecar that
/// gives the app where to send, and a socket directory.
fn otel(extra: Value) -> Value {
    let mut set = json!({
        "name": "otel",
        "selector": {},
        "containers": [{"name": "otel-collector", "image": "otel/opentelemetry-collector:0.115.0",
            "volumeMounts": [{"name": "otel-socket", "mountPath": "/var/run/otel"}]}],
        "volumes": [{"name": "otel-socket", "emptyDir": {}}],
        "appContainers": {
            "env": [
                {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://localhost:4317"},
                {"name": "OTEL_RESOURCE_ATTRIBUTES_POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
            ],
            "envFrom": [{"configMapRef": {"name": "otel-app"}}],
            "volumeMounts": [{"name": "otel-socket", "mountPath": "/var/run/otel"}]
        }
    });
    if let (Value::Object(set), Value::Object(extra)) = (&mut set, extra) {
        set.extend(extra);
    }
    set
}

/// A Pod as the API server sends it to mutating admission.
fn pod(containers: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-0", "namespace": "shop", "labels": {"app": "web"}},
        "spec": {"containers": containers, "restartPolicy": "Always", "terminationGracePeriodSeconds": 30}})
}

fn app(name: &str) -> Value {
    json!({"name": name, "image": "shop/web:1.4", "imagePullPolicy": "IfNotPresent",
        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"})
}

fn run(pod: Value, settings: &Settings) -> (Outcome, Vec<String>) {
    let mut warnings = Vec::new();
    let outcome = inject(pod, settings, &mut Namespace::new("shop"), &mut warnings);
    (outcome, warnings)
}

fn mutated(outcome: Outcome) -> Value {
    match outcome {
        Outcome::Mutated(pod) => pod,
        other => panic!("expected a mutation, got {other:?}"),
    }
}

fn container<'p>(pod: &'p Value, name: &str) -> &'p Value {
    pod["spec"]["containers"]
        .as_array()
        .and_then(|l| l.iter().find(|c| c["name"] == name))
        .unwrap()
}

#[test]
fn every_app_container_gets_the_env_the_sources_and_the_mounts() {
    let s = settings(json!({"sidecarSets": [otel(json!({}))]}));
    let (outcome, warnings) = run(pod(json!([app("web"), app("worker")])), &s);
    let injected = mutated(outcome);
    for name in ["web", "worker"] {
        let c = container(&injected, name);
        assert_eq!(
            c["env"][0],
            json!({"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://localhost:4317"})
        );
        assert_eq!(
            c["env"][1]["valueFrom"]["fieldRef"]["fieldPath"],
            "metadata.name"
        );
        assert_eq!(
            c["envFrom"],
            json!([{"configMapRef": {"name": "otel-app"}}])
        );
        assert_eq!(
            c["volumeMounts"],
            json!([{"name": "otel-socket", "mountPath": "/var/run/otel"}])
        );
    }
    assert!(warnings.is_empty(), "{warnings:?}");
    let status: Value = serde_json::from_str(
        injected["metadata"]["annotations"]["sidecarset.kubewarden.io/status"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let given = &status["sets"][0]["app"];
    assert!(
        given["web/env/OTEL_EXPORTER_OTLP_ENDPOINT"].is_string(),
        "{status}"
    );
    assert!(
        given["worker/volumeMounts//var/run/otel"].is_string(),
        "{status}"
    );
    // A second evaluation changes nothing.
    assert_eq!(run(injected, &s).0, Outcome::Unchanged);
}
