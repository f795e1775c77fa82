//! Structure-aware: starts from a real request and real settings, applies
//! fuzzer-chosen edits (replace a value, drop a key, duplicate or drop an
//! array entry, set a label or annotation), and checks the guarantees: an
//! answer, never a panic; a mutated Pod is left unchanged by a second
//! evaluation and accepted by verify mode.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use sidecarset_policy::admission::{Decision, decide_with};

const REQUESTS: &[&str] = &[
    include_str!("../../test_data/requests/pod-replicaset-create.json"),
    include_str!("../../test_data/requests/pod-own-init-and-native-sidecar-create.json"),
    include_str!("../../test_data/requests/pod-job-create.json"),
    include_str!("../../test_data/requests/pod-newer-fields-create.json"),
    include_str!("../../test_data/requests/pod-hostnetwork-create.json"),
    include_str!("../../test_data/requests/pod-stale-copy.json"),
    include_str!("../../test_data/requests/pod-port-conflict.json"),
    include_str!("../../test_data/requests/deployment-create.json"),
    include_str!("../../test_data/requests/cronjob-create.json"),
];
const SETTINGS: &[&str] = &[
    include_str!("../../test_data/settings.yaml"),
    include_str!("../../test_data/settings-ordering.yaml"),
    include_str!("../../test_data/settings-parity.yaml"),
    include_str!("../../test_data/settings-pod-security.yaml"),
    include_str!("../../test_data/settings-app-shutdown.yaml"),
    include_str!("../../test_data/settings-tags.yaml"),
];

/// Every Namespace carries the mesh label (settings-parity.yaml selects on
/// it) and follows the log shipper's stable tag (settings-tags.yaml); with
/// `pod_security`, it also enforces Pod Security baseline and warns at
/// restricted (settings-pod-security.yaml rejects and skips).
fn decide(payload: &[u8], pod_security: bool) -> sidecarset_policy::admission::Answer {
    let mut lookup = |_: &str| {
        let mut labels = json!({"istio-injection": "enabled",
            "sidecarset.kubewarden.io/revision.log-shipper": "stable"});
        if pod_security {
            labels["pod-security.kubernetes.io/enforce"] = json!("baseline");
            labels["pod-security.kubernetes.io/warn"] = json!("restricted");
        }
        Ok(labels.as_object().cloned().unwrap_or_default())
    };
    decide_with(payload, Some(&mut lookup))
}

#[derive(Arbitrary, Debug)]
enum Edit {
    Replace { at: u16, with: Scalar },
    Remove { at: u16 },
    DuplicateEntry { at: u16 },
    Label { key: u8, value: u8 },
    Annotation { key: u8, value: String },
}

#[derive(Arbitrary, Debug)]
enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    EmptyArray,
    EmptyObject,
}

impl Scalar {
    fn to_json(&self) -> Value {
        match self {
            Scalar::Null => Value::Null,
            Scalar::Bool(b) => json!(b),
            Scalar::Int(i) => json!(i),
            Scalar::Float(f) => json!(f),
            Scalar::Str(s) => json!(s),
            Scalar::EmptyArray => json!([]),
            Scalar::EmptyObject => json!({}),
        }
    }
}

/// JSON pointers of every node below `value`, in document order.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(v, p, out);
            }
        }
        Value::Array(list) => {
            for (i, v) in list.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(v, p, out);
            }
        }
        _ => {}
    }
}

fn split(pointer: &str) -> Option<(&str, String)> {
    let (parent, key) = pointer.rsplit_once('/')?;
    Some((parent, key.replace("~1", "/").replace("~0", "~")))
}

fn apply(object: &mut Value, edit: &Edit) {
    let mut all = Vec::new();
    pointers(object, String::new(), &mut all);
    let pick = |at: u16| all.get(at as usize % all.len().max(1)).cloned();
    match edit {
        Edit::Replace { at, with } => {
            if let Some(p) = pick(*at) {
                if let Some(slot) = object.pointer_mut(&p) {
                    *slot = with.to_json();
                }
            }
        }
        Edit::Remove { at } => {
            if let Some((parent, key)) = pick(*at).as_deref().and_then(split) {
                match object.pointer_mut(parent) {
                    Some(Value::Object(map)) => {
                        map.remove(&key);
                    }
                    Some(Value::Array(list)) => {
                        if let Ok(i) = key.parse::<usize>() {
                            if i < list.len() {
                                list.remove(i);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        Edit::DuplicateEntry { at } => {
            if let Some((parent, key)) = pick(*at).as_deref().and_then(split) {
                if let Some(Value::Array(list)) = object.pointer_mut(parent) {
                    if let Some(entry) =
                        key.parse::<usize>().ok().and_then(|i| list.get(i)).cloned()
                    {
                        list.push(entry);
                    }
                }
            }
        }
        Edit::Label { key, value } => {
            let keys = ["tier", "app.kubernetes.io/name", "mesh", "certs", "team"];
            let values = ["web", "batch", "disabled", "enabled", "shop"];
            if let Some(Value::Object(meta)) = object.get_mut("metadata") {
                let labels = meta.entry("labels").or_insert(json!({}));
                if let Value::Object(labels) = labels {
                    labels.insert(
                        keys[*key as usize % keys.len()].into(),
                        json!(values[*value as usize % values.len()]),
                    );
                }
            }
        }
        Edit::Annotation { key, value } => {
            let keys = [
                "sidecarset.kubewarden.io/inject",
                "sidecarset.kubewarden.io/skip",
                "sidecarset.kubewarden.io/status",
                "mesh.example.com/config",
            ];
            if let Some(Value::Object(meta)) = object.get_mut("metadata") {
                let annotations = meta.entry("annotations").or_insert(json!({}));
                if let Value::Object(annotations) = annotations {
                    annotations.insert(keys[*key as usize % keys.len()].into(), json!(value));
                }
            }
        }
    }
}

/// The seed requests and settings, parsed once.
fn parsed() -> &'static (Vec<Value>, Vec<Value>) {
    static PARSED: std::sync::OnceLock<(Vec<Value>, Vec<Value>)> = std::sync::OnceLock::new();
    PARSED.get_or_init(|| {
        (
            REQUESTS
                .iter()
                .map(|r| serde_json::from_str(r).expect("fixture"))
                .collect(),
            SETTINGS
                .iter()
                .map(|s| serde_yaml::from_str(s).expect("settings"))
                .collect(),
        )
    })
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok((r, s, pod_security)) = <(u8, u8, bool)>::arbitrary(&mut u) else {
        return;
    };
    let Ok(edits) = Vec::<Edit>::arbitrary(&mut u) else {
        return;
    };
    let (requests, settings) = parsed();
    let mut request = requests[r as usize % requests.len()].clone();
    let settings = settings[s as usize % settings.len()].clone();
    for edit in edits.iter().take(8) {
        apply(&mut request["object"], edit);
    }
    let payload = json!({"request": request, "settings": settings});
    let answer = decide(
        &serde_json::to_vec(&payload).expect("serializes"),
        pod_security,
    );
    if let Decision::Mutate(pod) = answer.decision {
        let mut again = payload.clone();
        again["request"]["object"] = pod.clone();
        let second = decide(
            &serde_json::to_vec(&again).expect("serializes"),
            pod_security,
        );
        assert_eq!(
            second.decision,
            Decision::Accept,
            "a second evaluation mutated"
        );
        let mut verify = again;
        verify["settings"]["mode"] = json!("verify");
        let verdict = decide(
            &serde_json::to_vec(&verify).expect("serializes"),
            pod_security,
        );
        assert_eq!(
            verdict.decision,
            Decision::Accept,
            "verify mode rejects what inject mode produced"
        );
    }
});
