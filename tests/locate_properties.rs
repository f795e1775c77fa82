//! Property test of how a settings error is located (src/settings/locate.rs):
//! the policy reads the settings without path tracking and finds the field
//! an error is about from the error's position. serde_path_to_error, which
//! tracks the path while reading, is the oracle: on random settings with a
//! random fault (a value of the wrong type, an unknown key, a missing name,
//! an unknown variant) anywhere, both name the same field.

mod common;

use common::config;
use proptest::prelude::*;
use serde_json::{Value, json};
use sidecarset_policy::settings::{Index, read_index};

/// Settings with every field the first pass reads.
fn template() -> Value {
    json!({
        "nativeSidecars": true,
        "mode": "inject",
        "jobPods": "native",
        "explain": false,
        "excludedNamespaces": ["kube-system", "kube-public"],
        "maxAddedRequests": {"cpu": "500m", "memory": "1Gi"},
        "sidecarSets": [
            {"name": "a", "mandatory": false, "selector": {"matchLabels": {"tier": "web"},
                "matchExpressions": [{"key": "k", "operator": "In", "values": ["x", "y"]}]},
             "namespace": "shop", "hostNetworkPods": "skip",
             "injectionStrategy": {"paused": false, "canary": {"revision": "v2", "percent": 10, "by": "pod"}},
             "containers": [{"name": "c", "image": "i"}], "allowRevisionPin": true},
            {"name": "b", "selector": {}, "namespaceSelector": {"matchLabels": {"mesh": "on"}}}
        ]
    })
}

/// Every path to a value of the first pass (not into the raw definition
/// fields, which the hand readers read with their own paths).
fn paths(value: &Value, at: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    // The settings themselves must be a mapping: refused before reading.
    if !at.is_empty() {
        out.push(at.clone());
    }
    let raw = ["containers", "initContainers", "volumes"];
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if raw.contains(&k.as_str()) {
                    continue;
                }
                at.push(json!(k));
                paths(v, at, out);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                at.push(json!(i));
                paths(v, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn at_mut<'v>(value: &'v mut Value, path: &[Value]) -> &'v mut Value {
    path.iter().fold(value, |v, step| match step {
        Value::String(k) => &mut v[k.as_str()],
        Value::Number(i) => &mut v[i.as_u64().unwrap() as usize],
        _ => unreachable!(),
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_located_field_is_the_tracked_one(
        pick in any::<prop::sample::Index>(),
        fault in 0usize..6,
        spaced in any::<bool>(),
    ) {
        let mut settings = template();
        let mut all = Vec::new();
        paths(&settings, &mut Vec::new(), &mut all);
        let path = pick.get(&all).clone();
        let target = at_mut(&mut settings, &path);
        match fault {
            0 => *target = json!(12),
            1 => *target = json!("text"),
            2 => *target = json!([true]),
            3 => *target = json!({"x": 1}),
            4 => {
                if let Value::Object(map) = target {
                    map.insert("unknownField".into(), json!(1));
                } else {
                    *target = Value::Null;
                }
            }
            _ => {
                if let Value::Object(map) = target {
                    map.remove("name");
                } else {
                    *target = json!(false);
                }
            }
        }
        let bytes = if spaced {
            serde_json::to_vec_pretty(&settings).unwrap()
        } else {
            serde_json::to_vec(&settings).unwrap()
        };
        let tracked = serde_path_to_error::deserialize::<_, Index>(
            &mut serde_json::Deserializer::from_slice(&bytes),
        );
        let ours = read_index(&bytes, "");
        match (tracked, ours) {
            (Ok(_), Ok(_)) => {}
            (Err(e), Err(message)) => {
                let field = e.path().to_string();
                if field != "." && field.len() < 100 {
                    prop_assert!(
                        message.starts_with(&format!("{field}: ")),
                        "tracked {} / ours {}", field, message
                    );
                }
            }
            (tracked, ours) => prop_assert!(false, "tracked {:?} / ours {:?}", tracked.err().map(|e| e.to_string()), ours.err()),
        }
    }
}
