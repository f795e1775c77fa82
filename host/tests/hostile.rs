//! Hostile input at the wasm level: every named bad input to `validate` and
//! `validate_settings` gets its exact answer and none traps (a trap is a 500
//! from policy-server; with failurePolicy: Fail no Pod could be created).
//! Run against the shipped module (policy.wasm: release profile, panic =
//! abort, wasm-opt) and the release build before wasm-opt. Large inputs are
//! answered within the epoch deadline policy-server would enforce.

mod common;

use std::path::PathBuf;
use std::time::Instant;

use common::*;
use host::{Policy, SettingsValidationResponse, ValidationResponse};
use serde_json::{Value, json};

/// The modules to check: the shipped one, and cargo's release output.
fn modules() -> Vec<(String, &'static Policy)> {
    let mut out = vec![("policy.wasm".to_string(), policy())];
    let release = repo().join("target/wasm32-wasip1/release/sidecarset_policy.wasm");
    if std::env::var_os("POLICY_WASM").is_none() && release.exists() {
        let module: &'static Policy = Box::leak(Box::new(Policy::load(&release).unwrap()));
        out.push((release.display().to_string(), module));
    }
    out
}

enum Answer {
    Rejected(&'static str),
    Accepted,
    Mutated,
}

fn pod_payload(object: &str) -> Vec<u8> {
    format!(
        r#"{{"request":{{"uid":"u","kind":{{"group":"","version":"v1","kind":"Pod"}},"operation":"CREATE","namespace":"shop","object":{object}}},"settings":{{"sidecarSets":[{{"name":"mesh","selector":{{}},"containers":[{{"name":"envoy","image":"envoy:v1"}}]}}]}}}}"#
    )
    .into_bytes()
}

fn with_settings(settings: &str) -> Vec<u8> {
    format!(
        r#"{{"request":{{"kind":{{"kind":"Pod"}},"operation":"CREATE","object":{{"spec":{{"containers":[{{"name":"app"}}]}}}}}},"settings":{settings}}}"#
    )
    .into_bytes()
}

fn validate_table() -> Vec<(&'static str, Vec<u8>, Answer)> {
    use Answer::*;
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let pod = |spec: &str| pod_payload(&format!(r#"{{"metadata":{{"name":"p"}},"spec":{spec}}}"#));
    let meta = |metadata: &str| {
        pod_payload(&format!(
            r#"{{"metadata":{metadata},"spec":{{"containers":[{{"name":"app"}}]}}}}"#
        ))
    };
    let big_label = format!(r#"{{"labels":{{"a":"{}"}}}}"#, "x".repeat(2 * 1024 * 1024));
    vec![
        ("empty payload", b"".to_vec(), Rejected("cannot read the admission request: EOF while parsing a value at line 1 column 0; the policy expects a Kubewarden validation request with an AdmissionRequest in \"request\"")),
        ("only whitespace", b" \n\t ".to_vec(), Rejected("cannot read the admission request: EOF while parsing a value at line 2 column 2; the policy expects a Kubewarden validation request with an AdmissionRequest in \"request\"")),
        ("not UTF-8", vec![0xff, 0xfe, 0x00], Rejected("cannot read the admission request: expected value at line 1 column 1; the policy expects a Kubewarden validation request with an AdmissionRequest in \"request\"")),
        ("byte order mark", b"\xef\xbb\xbf{}".to_vec(), Rejected("cannot read the admission request: expected value at line 1 column 1; the policy expects a Kubewarden validation request with an AdmissionRequest in \"request\"")),
        ("null", b"null".to_vec(), Rejected("cannot read the admission request: invalid type: null, expected struct Payload at line 1 column 4; the policy expects a Kubewarden validation request with an AdmissionRequest in \"request\"")),
        ("a number", b"42".to_vec(), Rejected("cannot read the admission request: invalid type: integer `42`, expected struct Payload at line 1 column 2; the policy expects a Kubewarden validation request with an AdmissionRequest in \"request\"")),
        ("an array", b"[]".to_vec(), Rejected("cannot read the admission request: invalid length 0, expected struct Payload with 2 elements at line 1 column 2; the policy expects a Kubewarden validation request with an AdmissionRequest in \"request\"")),
        ("no request", b"{}".to_vec(), Rejected("cannot read the admission request: missing field `request` at line 1 column 2; the policy expects a Kubewarden validation request with an AdmissionRequest in \"request\"")),
        ("request null", br#"{"request":null}"#.to_vec(), Rejected("cannot read the admission request: invalid type: null, expected struct Request at line 1 column 15; the policy expects a Kubewarden validation request with an AdmissionRequest in \"request\"")),
        ("request a string", br#"{"request":"pod"}"#.to_vec(), Rejected("cannot read the admission request: invalid type: string \"pod\", expected struct Request at line 1 column 16; the policy expects a Kubewarden validation request with an AdmissionRequest in \"request\"")),
        ("truncated", br#"{"request":{"kind":"#.to_vec(), Rejected("cannot read the admission request: EOF while parsing a value at line 1 column 19; the policy expects a Kubewarden validation request with an AdmissionRequest in \"request\"")),
        ("trailing garbage", br#"{"request":{}} x"#.to_vec(), Rejected("cannot read the admission request: trailing characters at line 1 column 16; the policy expects a Kubewarden validation request with an AdmissionRequest in \"request\"")),
        ("request twice", br#"{"request":{},"request":{}}"#.to_vec(), Rejected("cannot read the admission request: duplicate field `request` at line 1 column 23; the policy expects a Kubewarden validation request with an AdmissionRequest in \"request\"")),
        ("kind a string", br#"{"request":{"kind":"Pod"}}"#.to_vec(), Rejected("cannot read the admission request: invalid type: string \"Pod\", expected struct Kind at line 1 column 24; the policy expects a Kubewarden validation request with an AdmissionRequest in \"request\"")),
        ("operation a number", br#"{"request":{"kind":{"kind":"Pod"},"operation":1}}"#.to_vec(), Rejected("cannot read the admission request: invalid type: integer `1`, expected a string at line 1 column 47; the policy expects a Kubewarden validation request with an AdmissionRequest in \"request\"")),
        ("subResource a number", br#"{"request":{"kind":{"kind":"Pod"},"subResource":1}}"#.to_vec(), Rejected("cannot read the admission request: invalid type: integer `1`, expected a string at line 1 column 49; the policy expects a Kubewarden validation request with an AdmissionRequest in \"request\"")),
        ("namespace a list", br#"{"request":{"kind":{"kind":"Pod"},"namespace":[]}}"#.to_vec(), Rejected("cannot read the admission request: invalid type: sequence, expected a string at line 1 column 46; the policy expects a Kubewarden validation request with an AdmissionRequest in \"request\"")),
        ("nesting deeper than the recursion limit", pod_payload(&nested), Rejected("cannot read the admission request: recursion limit exceeded at line 1 column 245; the policy expects a Kubewarden validation request with an AdmissionRequest in \"request\"")),
        ("a number too large for a double", pod(r#"{"containers":[{"name":"a","ports":[{"containerPort":1e400}]}]}"#), Rejected("cannot read the admission request: number out of range at line 1 column 209; the policy expects a Kubewarden validation request with an AdmissionRequest in \"request\"")),
        ("a lone surrogate escape", meta(r#"{"labels":{"a":"\ud800"}}"#), Rejected("cannot read the admission request: unexpected end of hex escape at line 1 column 154; the policy expects a Kubewarden validation request with an AdmissionRequest in \"request\"")),
        ("NaN", pod(r#"{"containers":[{"name":"a","ports":[{"containerPort":NaN}]}]}"#), Rejected("cannot read the admission request: expected value at line 1 column 205; the policy expects a Kubewarden validation request with an AdmissionRequest in \"request\"")),
        ("no object", br#"{"request":{"kind":{"kind":"Pod"},"operation":"CREATE"},"settings":{}}"#.to_vec(), Rejected("invalid Pod in the admission request: request.object must be a Pod object, found null; send a valid Pod object")),
        ("object null", pod_payload("null"), Rejected("invalid Pod in the admission request: request.object must be a Pod object, found null; send a valid Pod object")),
        ("object a string", pod_payload(r#""pod""#), Rejected("invalid Pod in the admission request: request.object must be a Pod object, found a string; send a valid Pod object")),
        ("object an array", pod_payload("[]"), Rejected("invalid Pod in the admission request: request.object must be a Pod object, found an array; send a valid Pod object")),
        ("object a number", pod_payload("7"), Rejected("invalid Pod in the admission request: request.object must be a Pod object, found a number; send a valid Pod object")),
        ("metadata a string", pod_payload(r#"{"metadata":"m","spec":{"containers":[]}}"#), Rejected("invalid Pod in the admission request: metadata must be an object, found a string; send a valid Pod object")),
        ("labels an array", meta(r#"{"labels":[]}"#), Rejected("invalid Pod in the admission request: metadata.labels must be an object, found an array; send a valid Pod object")),
        ("a label value a number", meta(r#"{"labels":{"tier":1}}"#), Rejected("invalid Pod in the admission request: metadata.labels[\"tier\"] must be a string, found a number; send a valid Pod object")),
        ("an annotation value a boolean", meta(r#"{"annotations":{"a":true}}"#), Rejected("invalid Pod in the admission request: metadata.annotations[\"a\"] must be a string, found a boolean; send a valid Pod object")),
        ("the status annotation not JSON", meta(r#"{"annotations":{"sidecarset.kubewarden.io/status":"{nope"}}"#), Rejected("metadata.annotations[\"sidecarset.kubewarden.io/status\"] is not a status this policy wrote (key must be a string at line 1 column 2); remove the annotation from the Pod so that the policy can inject afresh")),
        ("the status annotation of another shape", meta(r#"{"annotations":{"sidecarset.kubewarden.io/status":"{\"sets\":3}"}}"#), Rejected("metadata.annotations[\"sidecarset.kubewarden.io/status\"] is not a status this policy wrote (invalid type: integer `3`, expected a sequence at line 1 column 9); remove the annotation from the Pod so that the policy can inject afresh")),
        ("no spec", pod_payload(r#"{"metadata":{"name":"p"}}"#), Rejected("invalid Pod in the admission request: spec is missing; a Pod needs spec.containers")),
        ("spec null", pod("null"), Rejected("invalid Pod in the admission request: spec is missing; a Pod needs spec.containers")),
        ("spec an array", pod("[]"), Rejected("invalid Pod in the admission request: spec must be an object, found an array; send a valid Pod object")),
        ("no containers", pod("{}"), Rejected("invalid Pod in the admission request: spec.containers must be an array of containers, found null; send a valid Pod object")),
        ("containers an object", pod(r#"{"containers":{}}"#), Rejected("invalid Pod in the admission request: spec.containers must be an array of containers, found an object; send a valid Pod object")),
        ("a container a number", pod(r#"{"containers":[{"name":"a"},3]}"#), Rejected("invalid Pod in the admission request: spec.containers[1] must be an object, found a number; send a valid Pod object")),
        ("a container without a name", pod(r#"{"containers":[{}]}"#), Rejected("invalid Pod in the admission request: spec.containers[0].name is missing; every entry needs a name")),
        ("a container name a number", pod(r#"{"containers":[{"name":1}]}"#), Rejected("invalid Pod in the admission request: spec.containers[0].name must be a string, found a number; send a valid Pod object")),
        ("initContainers a string", pod(r#"{"containers":[],"initContainers":"x"}"#), Rejected("invalid Pod in the admission request: spec.initContainers must be an array, found a string; send a valid Pod object")),
        ("ephemeralContainers an object", pod(r#"{"containers":[],"ephemeralContainers":{}}"#), Rejected("invalid Pod in the admission request: spec.ephemeralContainers must be an array, found an object; send a valid Pod object")),
        ("volumes an object", pod(r#"{"containers":[],"volumes":{}}"#), Rejected("invalid Pod in the admission request: spec.volumes must be an array, found an object; send a valid Pod object")),
        ("a volume a string", pod(r#"{"containers":[],"volumes":["v"]}"#), Rejected("invalid Pod in the admission request: spec.volumes[0] must be an object, found a string; send a valid Pod object")),
        ("a pull secret a string", pod(r#"{"containers":[],"imagePullSecrets":["s"]}"#), Rejected("invalid Pod in the admission request: spec.imagePullSecrets[0] must be an object, found a string; send a valid Pod object")),
        ("settings an array", with_settings("[1]"), Rejected("invalid policy settings: settings: the settings must be a mapping (a JSON object) with sidecarSets, nativeSidecars, mode, jobPods, explain, excludedNamespaces, skipHostNetworkPods, namespaceLookupFailure, podLevelResources, maxAddedRequests, protectInjected and checkPodSecurity; fix the policy's settings")),
        ("settings with an unknown field", with_settings(r#"{"sidecarSet":[]}"#), Rejected("invalid policy settings: settings.sidecarSet: unknown field `sidecarSet`, expected one of `nativeSidecars`, `sidecarSets`, `mode`, `jobPods`, `explain`, `excludedNamespaces`, `skipHostNetworkPods`, `namespaceLookupFailure`, `podLevelResources`, `maxAddedRequests`, `protectInjected`, `checkPodSecurity`; fix the policy's settings")),
        ("settings nested too deep", with_settings(&format!(r#"{{"sidecarSets":[{{"name":"a","selector":{{}},"containers":[{{"name":"a","args":{nested}}}]}}]}}"#)), Rejected("invalid policy settings: settings.sidecarSets[0].containers[0].args[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]…: recursion limit exceeded; fix the policy's settings")),
        ("a dependsOn cycle that skipped validate_settings", with_settings(r#"{"sidecarSets":[{"name":"a","selector":{},"containers":[{"name":"x","image":"x","dependsOn":["y"]},{"name":"y","image":"y","dependsOn":["x"]}]}]}"#), Rejected("dependsOn cycle: x → y → x; fix the policy's settings (validate_settings refuses them)")),
        // Not errors: what a Pod may legally carry.
        ("duplicate keys in the object (the last wins, as in the API server)", pod_payload(r#"{"spec":{"containers":"x"},"spec":{"containers":[{"name":"app"}]}}"#), Mutated),
        ("a 2 MiB label value", pod_payload(&format!(r#"{{"metadata":{big_label},"spec":{{"containers":[{{"name":"app"}}]}}}}"#)), Mutated),
        ("a port beyond 64 bits", pod(r#"{"containers":[{"name":"a","ports":[{"containerPort":123456789012345678901234567890}]}]}"#), Mutated),
        ("a Deployment with garbage in it", br#"{"request":{"kind":{"group":"apps","kind":"Deployment"},"operation":"CREATE","object":[1,{"x":null}]},"settings":{}}"#.to_vec(), Accepted),
    ]
}

/// The key is 119 one-byte characters, a two-byte one, and 20 more: its
/// path is cut before the character that would cross 120 bytes.
const LONG_KEY_MESSAGE: &str = concat!(
    "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn…",
    ": unknown field `nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn\u{48b}nnnnnnnnnnnnnnnnnnnn`",
    ", expected one of `nativeSidecars`, `sidecarSets`, `mode`, `jobPods`, `explain`, `excludedNamespaces`, `skipHostNetworkPods`, `namespaceLookupFailure`, `podLevelResources`, `maxAddedRequests`, `protectInjected`, `checkPodSecurity`"
);

fn settings_table() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let mapping = "the settings must be a mapping (a JSON object) with sidecarSets, nativeSidecars, mode, jobPods, explain, excludedNamespaces, skipHostNetworkPods, namespaceLookupFailure, podLevelResources, maxAddedRequests, protectInjected and checkPodSecurity";
    vec![
        ("empty", b"".to_vec(), mapping),
        ("not UTF-8", vec![0xff, 0xfe], mapping),
        ("null", b"null".to_vec(), mapping),
        ("an array", b"[]".to_vec(), mapping),
        ("a string", br#""x""#.to_vec(), mapping),
        ("trailing garbage", br#"{} {"#.to_vec(), "trailing characters at line 1 column 4"),
        ("truncated", br#"{"sidecarSets":[{"name":"#.to_vec(), "sidecarSets[0].name: EOF while parsing a value"),
        ("sidecarSets twice", br#"{"sidecarSets":[],"sidecarSets":[]}"#.to_vec(), "sidecarSets: duplicate field `sidecarSets`"),
        ("sidecarSets null", br#"{"sidecarSets":null}"#.to_vec(), "sidecarSets: invalid type: null, expected a sequence"),
        ("a set a string", br#"{"sidecarSets":["mesh"]}"#.to_vec(), "sidecarSets[0]: invalid type: string \"mesh\", expected struct SidecarSet"),
        ("a set name a number", br#"{"sidecarSets":[{"name":3,"selector":{}}]}"#.to_vec(), "sidecarSets[0].name: invalid type: integer `3`, expected a string"),
        ("nesting deeper than the recursion limit", format!(r#"{{"sidecarSets":[{{"name":"a","selector":{{}},"containers":[{{"name":"a","args":{nested}}}]}}]}}"#).into_bytes(), "sidecarSets[0].containers[0].args[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]…: recursion limit exceeded"),
        ("a number too large for a double", br#"{"sidecarSets":[{"name":"a","selector":{},"containers":[{"name":"a","image":"a","ports":[{"containerPort":1e400}]}]}]}"#.to_vec(), "sidecarSets[0].containers[0].ports[0].containerPort: number out of range"),
        ("a lone surrogate", br#"{"sidecarSets":[{"name":"\udc00","selector":{}}]}"#.to_vec(), "sidecarSets[0].name: lone leading surrogate in hex escape"),
        ("containers an object", br#"{"sidecarSets":[{"name":"a","selector":{},"containers":{}}]}"#.to_vec(), "sidecarSets[0].containers: invalid type: map, expected a sequence"),
        ("a long key of multi-byte characters (found by fuzzing)", format!(r#"{{"{}\u048b{}":1}}"#, "n".repeat(119), "n".repeat(20)).into_bytes(), LONG_KEY_MESSAGE),
        ("a huge readyTimeoutSeconds", br#"{"sidecarSets":[{"name":"a","selector":{},"containers":[{"name":"a","image":"a","waitForReady":true,"readinessProbe":{"tcpSocket":{"port":1}},"readyTimeoutSeconds":1e300}]}]}"#.to_vec(), "sidecarSets[0].containers[0].readyTimeoutSeconds: 1e+300 is not a whole number of seconds from 1 to 86400"),
    ]
}

#[test]
fn every_hostile_validate_input_gets_its_exact_answer() {
    let table = validate_table();
    assert!(table.len() >= 40, "{} inputs", table.len());
    let mut wrong = Vec::new();
    for (module_name, module) in modules() {
        let instance = module.instance().unwrap();
        for (name, payload, expected) in &table {
            let answer = instance
                .call("validate", payload)
                .unwrap_or_else(|e| panic!("{module_name}: {name}: trapped: {e}"));
            let answer: ValidationResponse = serde_json::from_slice(&answer)
                .unwrap_or_else(|e| panic!("{module_name}: {name}: {e}"));
            match expected {
                Answer::Rejected(message) => {
                    if answer.accepted || answer.message.as_deref() != Some(*message) {
                        wrong.push(format!("{module_name}: {name}: got {:?}", answer.message));
                    }
                }
                Answer::Accepted => {
                    if !answer.accepted || answer.mutated_object.is_some() {
                        wrong.push(format!(
                            "{module_name}: {name}: not accepted unchanged: {:?}",
                            answer.message
                        ));
                    }
                }
                Answer::Mutated => {
                    if !answer.accepted || answer.mutated_object.is_none() {
                        wrong.push(format!(
                            "{module_name}: {name}: not mutated: {:?}",
                            answer.message
                        ));
                    }
                }
            }
        }
        println!(
            "{module_name}: {} hostile validate inputs answered",
            table.len()
        );
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_hostile_settings_input_gets_its_exact_answer() {
    let mut wrong = Vec::new();
    for (module_name, module) in modules() {
        let instance = module.instance().unwrap();
        for (name, payload, message) in settings_table() {
            let answer = instance
                .call("validate_settings", &payload)
                .unwrap_or_else(|e| panic!("{module_name}: {name}: trapped: {e}"));
            let answer: SettingsValidationResponse = serde_json::from_slice(&answer).unwrap();
            if answer.valid || answer.message.as_deref() != Some(message) {
                wrong.push(format!("{module_name}: {name}: got {:?}", answer.message));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A Pod of about 1 MiB (the API server's object limit is about 1.5 MiB) and
/// 500 sets are answered, in a fresh instance, within the epoch deadline
/// policy-server enforces; the cost is printed.
#[test]
fn large_inputs_are_answered_within_the_deadline() {
    let mut request = request("test_data/requests/pod-replicaset-create.json");
    let template = request["object"]["spec"]["containers"][0].clone();
    let containers = request["object"]["spec"]["containers"]
        .as_array_mut()
        .unwrap();
    for i in 1..400 {
        let mut c = template.clone();
        c["name"] = json!(format!("worker-{i}"));
        c["ports"] = json!([{"containerPort": 10000 + i}]);
        c["env"] = json!(
            (0..20)
                .map(|k| json!({"name": format!("VAR_{k}"), "value": "v".repeat(100)}))
                .collect::<Vec<_>>()
        );
        containers.push(c);
    }
    let pod_bytes = serde_json::to_vec(&request["object"]).unwrap().len();
    assert!(pod_bytes >= 1024 * 1024, "{pod_bytes} bytes");

    let sets: Vec<Value> = (0..500)
        .map(|i| json!({"name": format!("set-{i}"), "selector": {"matchLabels": {"team": format!("t{i}")}},
            "containers": [{"name": format!("agent-{i}"), "image": "agent:1", "ports": [{"containerPort": 20000 + i}]}]}))
        .collect();
    let mut many = json!({"sidecarSets": sets});
    many["sidecarSets"].as_array_mut().unwrap().push(
        json!({"name": "mesh", "selector": {}, "containers": [{"name": "envoy", "image": "envoy:v1"}]}),
    );
    let small = json!({"sidecarSets": [{"name": "mesh", "selector": {}, "containers": [{"name": "envoy", "image": "envoy:v1"}]}]});
    for (label, req, settings) in [
        ("1 MiB Pod, 1 set", &request, &small),
        (
            "ReplicaSet Pod, 501 sets",
            &self::request("test_data/requests/pod-replicaset-create.json"),
            &many,
        ),
        ("1 MiB Pod, 501 sets", &request, &many),
    ] {
        let start = Instant::now();
        let response = policy()
            .evaluate(req, settings)
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        let elapsed = start.elapsed();
        assert!(
            response.allowed && response.patch.is_some(),
            "{label}: {response:?}"
        );
        println!(
            "{label}: answered in {elapsed:?} (fresh instance, patch included; deadline 1-2 s)"
        );
    }
    let start = Instant::now();
    assert!(policy().validate_settings(&many).unwrap().valid);
    println!("validate_settings, 501 sets: {:?}", start.elapsed());
}

/// The epoch deadline is real: a module that loops forever is interrupted
/// and reported, not waited for (what protects policy-server from a hang).
#[test]
fn the_host_interrupts_a_guest_that_never_answers() {
    let wat = r#"(module
        (import "wapc" "__guest_request" (func $req (param i32 i32)))
        (memory (export "memory") 1)
        (func (export "_start"))
        (func (export "wapc_init"))
        (func (export "__guest_call") (param i32 i32) (result i32) (loop $l (br $l)) (i32.const 0)))"#;
    let path: PathBuf = std::env::temp_dir().join(format!("spin-{}.wat", std::process::id()));
    std::fs::write(&path, wat).unwrap();
    let looping = Policy::load(&path);
    let _ = std::fs::remove_file(&path);
    let looping = looping.unwrap();
    let start = Instant::now();
    let result = looping.instance().unwrap().call("validate", b"{}");
    assert!(result.is_err(), "an endless guest must be interrupted");
    assert!(start.elapsed().as_secs() < 5, "{:?}", start.elapsed());
    println!("endless guest interrupted after {:?}", start.elapsed());
}
