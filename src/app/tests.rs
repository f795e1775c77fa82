//! Tests of `app`: what a set gives the Pod's own containers, through
//! `inject` and `verify` as a Pod meets them.

use serde_json::{Value, json};

use crate::inject::Outcome;
use crate::namespace::Namespace;
use crate::settings::Settings;
use crate::testing::{mutated, run, settings};

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

fn status_of(pod: &Value) -> Value {
    serde_json::from_str(
        pod["metadata"]["annotations"]["sidecarset.kubewarden.io/status"]
            .as_str()
            .unwrap(),
    )
    .unwrap()
}

fn env_names(c: &Value) -> Vec<&str> {
    c["env"]
        .as_array()
        .map(|l| l.iter().map(|e| e["name"].as_str().unwrap()).collect())
        .unwrap_or_default()
}

#[test]
fn names_and_a_pattern_choose_the_app_containers() {
    for (block, given) in [
        (json!({"names": ["worker"]}), vec!["worker"]),
        (json!({"nameRegex": "w.*"}), vec!["web", "worker"]),
        // A full match: "web" does not match "we".
        (json!({"nameRegex": "we"}), vec![]),
        (json!({"names": ["api"]}), vec![]),
        (json!({}), vec!["web", "worker", "api-gateway"]),
    ] {
        let mut app_block = json!({"env": [{"name": "A", "value": "1"}]});
        app_block
            .as_object_mut()
            .unwrap()
            .extend(block.as_object().unwrap().clone());
        let s = settings(json!({"sidecarSets": [otel(json!({"appContainers": app_block}))]}));
        let (outcome, warnings) = run(
            pod(json!([app("web"), app("worker"), app("api-gateway")])),
            &s,
        );
        let injected = mutated(outcome);
        for name in ["web", "worker", "api-gateway"] {
            let wanted: Vec<&str> = if given.contains(&name) {
                vec!["A"]
            } else {
                vec![]
            };
            assert_eq!(
                env_names(container(&injected, name)),
                wanted,
                "{block} {name}"
            );
        }
        // The sidecar itself is never an app container.
        assert_eq!(
            injected["spec"]["initContainers"][0]["name"],
            "otel-collector"
        );
        assert!(injected["spec"]["initContainers"][0].get("env").is_none());
        if given.is_empty() {
            assert_eq!(
                warnings,
                [
                    "sidecar set otel: appContainers selects none of the Pod's app containers (web, worker, api-gateway); nothing is given to them"
                ],
                "{block}"
            );
        }
    }
}

#[test]
fn a_variable_the_container_defines_stays_its_own() {
    let s = settings(json!({"sidecarSets": [otel(json!({}))]}));
    let mut web = app("web");
    web["env"] = json!([
        {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://collector.observability:4317"},
        {"name": "OTEL_RESOURCE_ATTRIBUTES_POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}}
    ]);
    let (outcome, warnings) = run(pod(json!([web])), &s);
    let injected = mutated(outcome);
    let c = container(&injected, "web");
    // Kept, in the author's order and values; nothing added twice.
    assert_eq!(c["env"][0]["value"], "http://collector.observability:4317");
    assert_eq!(
        env_names(c),
        [
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_RESOURCE_ATTRIBUTES_POD_NAME"
        ]
    );
    // A different value is named; the same one (as the API server stores
    // it: apiVersion v1 filled in) is simply held.
    assert_eq!(
        warnings,
        [
            "sidecar set otel: container web already defines OTEL_EXPORTER_OTLP_ENDPOINT; its own value is kept, not the set's (appContainers.env)"
        ]
    );
    // Only what the set added is recorded: never removed as the set's.
    let given = &status_of(&injected)["sets"][0]["app"];
    assert!(
        given.get("web/env/OTEL_EXPORTER_OTLP_ENDPOINT").is_none(),
        "{given}"
    );
    assert!(
        given
            .get("web/env/OTEL_RESOURCE_ATTRIBUTES_POD_NAME")
            .is_none(),
        "{given}"
    );
    assert!(
        given.get("web/volumeMounts//var/run/otel").is_some(),
        "{given}"
    );
    assert_eq!(run(injected, &s).0, Outcome::Unchanged);
}

#[test]
fn a_mount_path_the_container_uses_is_a_conflict() {
    let s = settings(json!({"sidecarSets": [otel(json!({}))]}));
    let mut web = app("web");
    web["volumeMounts"] = json!([{"name": "data", "mountPath": "/var/run/otel"}]);
    let mut p = pod(json!([web]));
    p["spec"]["volumes"] = json!([{"name": "data", "emptyDir": {}}]);
    assert_eq!(
        run(p.clone(), &s).0,
        Outcome::Rejected("sidecar set \"otel\": appContainers.volumeMounts cannot mount volume \"otel-socket\" at \"/var/run/otel\" in container \"web\": spec.containers[0].volumeMounts already mounts volume \"data\" there; change the mountPath in the set or in the Pod".into())
    );
    // The same mount, written by the author, is held, not a conflict.
    p["spec"]["containers"][0]["volumeMounts"] =
        json!([{"name": "otel-socket", "mountPath": "/var/run/otel"}]);
    p["spec"]["volumes"] = json!([{"name": "otel-socket", "emptyDir": {}}]);
    let injected = mutated(run(p, &s).0);
    assert_eq!(
        container(&injected, "web")["volumeMounts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn a_mount_path_spelled_otherwise_is_the_same_directory() {
    let s = settings(json!({"sidecarSets": [otel(json!({}))]}));
    for spelled in [
        "/var/run/otel/",
        "//var/run/otel",
        "/var/./run/otel",
        "/var/x/../run/otel",
    ] {
        let mut web = app("web");
        web["volumeMounts"] = json!([{"name": "data", "mountPath": spelled}]);
        let mut p = pod(json!([web]));
        p["spec"]["volumes"] = json!([{"name": "data", "emptyDir": {}}]);
        assert_eq!(
            run(p, &s).0,
            Outcome::Rejected(format!(
                "sidecar set \"otel\": appContainers.volumeMounts cannot mount volume \"otel-socket\" at \"/var/run/otel\" in container \"web\": spec.containers[0].volumeMounts already mounts volume \"data\" at {spelled:?}, the same directory; change the mountPath in the set or in the Pod"
            ))
        );
    }
}

#[test]
fn a_mount_path_with_a_trailing_slash_is_named_as_the_pod_spells_it() {
    let s = settings(json!({"sidecarSets": [otel(json!({}))]}));
    let mut web = app("web");
    web["volumeMounts"] = json!([{"name": "data", "mountPath": "/var/run/otel/"}]);
    let mut p = pod(json!([web]));
    p["spec"]["volumes"] = json!([{"name": "data", "emptyDir": {}}]);
    assert_eq!(
        run(p, &s).0,
        Outcome::Rejected("sidecar set \"otel\": appContainers.volumeMounts cannot mount volume \"otel-socket\" at \"/var/run/otel\" in container \"web\": spec.containers[0].volumeMounts already mounts volume \"data\" at \"/var/run/otel/\", the same directory; change the mountPath in the set or in the Pod".into())
    );
}

/// Bidirectional propagation only in a privileged container
/// (`validateMountPropagation`): the author's privilege decides.
#[test]
fn a_bidirectional_mount_goes_only_into_a_privileged_app_container() {
    let set = otel(json!({"appContainers": {"volumeMounts": [
        {"name": "otel-socket", "mountPath": "/var/run/otel", "mountPropagation": "Bidirectional"}]}}));
    let s = settings(json!({"sidecarSets": [set]}));
    assert_eq!(
        run(pod(json!([app("web")])), &s).0,
        Outcome::Rejected("sidecar set \"otel\": appContainers.volumeMounts mounts volume \"otel-socket\" at \"/var/run/otel\" with mountPropagation: Bidirectional, which the API server allows only in a privileged container, and container \"web\" is not (securityContext.privileged); use HostToContainer in the set, or leave the container out (appContainers.names)".into())
    );
    let mut web = app("web");
    web["securityContext"] = json!({"privileged": true});
    let injected = mutated(run(pod(json!([web])), &s).0);
    assert_eq!(
        container(&injected, "web")["volumeMounts"][0]["mountPropagation"],
        "Bidirectional"
    );
}

#[test]
fn a_mount_path_the_container_uses_for_a_block_device_is_a_conflict() {
    let s = settings(json!({"sidecarSets": [otel(json!({}))]}));
    let mut web = app("web");
    web["volumeDevices"] = json!([{"name": "disk", "devicePath": "/var/run/otel/"}]);
    let mut p = pod(json!([web]));
    p["spec"]["volumes"] =
        json!([{"name": "disk", "persistentVolumeClaim": {"claimName": "disk"}}]);
    assert_eq!(
        run(p, &s).0,
        Outcome::Rejected("sidecar set \"otel\": appContainers.volumeMounts cannot mount volume \"otel-socket\" at \"/var/run/otel\" in container \"web\": spec.containers[0].volumeDevices already uses that path for volume \"disk\"; change the mountPath in the set or the devicePath in the Pod".into())
    );
}

#[test]
fn a_volume_the_container_attaches_as_a_block_device_is_not_given_as_a_mount() {
    let s = settings(json!({"sidecarSets": [otel(json!({}))]}));
    let mut web = app("web");
    web["volumeDevices"] = json!([{"name": "otel-socket", "devicePath": "/dev/otel"}]);
    let mut p = pod(json!([web]));
    p["spec"]["volumes"] = json!([{"name": "otel-socket", "emptyDir": {}}]);
    assert_eq!(
        run(p, &s).0,
        Outcome::Rejected("sidecar set \"otel\": appContainers.volumeMounts cannot mount volume \"otel-socket\" in container \"web\": spec.containers[0].volumeDevices attaches that volume as a block device at \"/dev/otel\", and the API server refuses a volume both mounted and attached in one container; leave the container out (appContainers.names) or give the set another volume".into())
    );
}

#[test]
fn two_sets_giving_a_container_the_same_variable_conflict() {
    let mut second = otel(
        json!({"name": "tracing", "containers": [{"name": "tracer", "image": "tracer:1"}], "volumes": []}),
    );
    second["appContainers"] =
        json!({"env": [{"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://localhost:4318"}]});
    let s = settings(json!({"sidecarSets": [otel(json!({})), second]}));
    assert_eq!(
        run(pod(json!([app("web")])), &s).0,
        Outcome::Rejected("sidecar sets \"otel\" and \"tracing\" both give container \"web\" the variable \"OTEL_EXPORTER_OTLP_ENDPOINT\" (appContainers.env); give it in one set only".into())
    );
}

/// A Pod injected with an older definition of the set (its record stale).
fn injected_with(set: Value, containers: Value) -> Value {
    let s = settings(json!({"sidecarSets": [set]}));
    mutated(run(pod(containers), &s).0)
}

#[test]
fn a_stale_sets_additions_go_only_where_held_exactly() {
    let old = otel(json!({"appContainers": {"env": [
        {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://localhost:4317"},
        {"name": "OLD_ONLY", "value": "x"},
        {"name": "EDITED", "value": "before"}
    ]}}));
    let mut copied = injected_with(old, json!([app("web")]));
    // The author (a copied manifest) changed one of the added values.
    copied["spec"]["containers"][0]["env"][2]["value"] = json!("after");
    let new = settings(
        json!({"sidecarSets": [otel(json!({"appContainers": {"env": [
            {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://localhost:4318"},
            {"name": "EDITED", "value": "before"}
        ]}}))]}),
    );
    let (outcome, _) = run(copied, &new);
    let injected = mutated(outcome);
    // The endpoint went (held as recorded) and comes back as the new
    // definition gives it; EDITED is the author's now and stays; OLD_ONLY,
    // which no set gives now, stays too: a record is a claim, and never
    // takes out what no set writes.
    assert_eq!(
        env_names(container(&injected, "web")),
        ["OLD_ONLY", "EDITED", "OTEL_EXPORTER_OTLP_ENDPOINT"]
    );
    assert_eq!(container(&injected, "web")["env"][1]["value"], "after");
    assert_eq!(
        container(&injected, "web")["env"][2]["value"],
        "http://localhost:4318"
    );
    assert_eq!(run(injected, &new).0, Outcome::Unchanged);
}

#[test]
fn a_record_naming_what_the_author_wrote_removes_nothing_of_it() {
    // A hostile record claims the author's variable as the set's, with a
    // digest of another value.
    let mut web = app("web");
    web["env"] = json!([{"name": "DB_URL", "value": "postgres://db"}]);
    let mut p = pod(json!([web]));
    p["metadata"]["annotations"] = json!({"sidecarset.kubewarden.io/status":
        r#"{"sets":[{"name":"otel","hash":"0000000000000000","app":{"web/env/DB_URL":"ffffffffffffffff"}}]}"#});
    let s = settings(json!({"sidecarSets": [otel(json!({}))]}));
    let injected = mutated(run(p, &s).0);
    assert_eq!(env_names(container(&injected, "web"))[0], "DB_URL");
    assert_eq!(
        container(&injected, "web")["env"][0]["value"],
        "postgres://db"
    );
}

#[test]
fn a_pod_lacking_what_the_app_gets_fails_verify_mode() {
    let verify = settings(json!({"mode": "verify", "sidecarSets": [otel(json!({}))]}));
    let injected = injected_with(otel(json!({})), json!([app("web")]));
    let check = |pod: &Value, s: &Settings| {
        crate::verify::verify(pod, s, &mut Namespace::new("shop"), &mut Vec::new())
    };
    assert_eq!(check(&injected, &verify), Ok(()));
    let mut lacking = injected.clone();
    lacking["spec"]["containers"][0]["env"] = json!([]);
    assert_eq!(
        check(&lacking, &verify),
        Err("the Pod does not hold what its sidecar sets inject: container web lacks env OTEL_EXPORTER_OTLP_ENDPOINT, which sidecar set otel gives its app containers; recreate the Pod so that the injecting policy adds the sidecars, or fix its manifest".into())
    );
    // The author's own value holds it, as inject mode keeps it.
    lacking["spec"]["containers"][0]["env"] = json!([
        {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://elsewhere:4317"},
        {"name": "OTEL_RESOURCE_ATTRIBUTES_POD_NAME", "value": "web-0"}
    ]);
    assert_eq!(check(&lacking, &verify), Ok(()));
    lacking["spec"]["containers"][0]["volumeMounts"] = json!([]);
    assert!(
        check(&lacking, &verify)
            .unwrap_err()
            .contains("container web lacks the mount of volume otel-socket at /var/run/otel")
    );
}

#[test]
fn kubectl_lands_in_the_app_when_a_sidecar_joins_the_containers() {
    let set = |native: bool| otel(json!({"nativeSidecars": native, "appContainers": null}));
    let key = "kubectl.kubernetes.io/default-container";
    // A regular sidecar goes first among the containers: kubectl would
    // land in it.
    let s = settings(json!({"sidecarSets": [set(false)]}));
    let injected = mutated(run(pod(json!([app("web"), app("worker")])), &s).0);
    assert_eq!(injected["spec"]["containers"][0]["name"], "otel-collector");
    assert_eq!(injected["metadata"]["annotations"][key], "web");
    assert_eq!(status_of(&injected)["sets"][0]["annotations"][key], "web");
    assert_eq!(run(injected, &s).0, Outcome::Unchanged);
    // The Pod's own choice stays.
    let mut own = pod(json!([app("web"), app("worker")]));
    own["metadata"]["annotations"] = json!({key: "worker"});
    let injected = mutated(run(own, &s).0);
    assert_eq!(injected["metadata"]["annotations"][key], "worker");
    assert!(status_of(&injected)["sets"][0].get("annotations").is_none());
    // A native sidecar is an init container: kubectl already lands in web.
    let s = settings(json!({"sidecarSets": [set(true)]}));
    let injected = mutated(run(pod(json!([app("web")])), &s).0);
    assert!(injected["metadata"]["annotations"].get(key).is_none());
}
