//! Type-checks the corev1.Container and corev1.Volume specs of the settings
//! against a field-type table generated from Kubernetes' own JSON schemas
//! (`scripts/gen-corev1-schema.py` writes `schema/corev1.json`).
//!
//! Why not k8s-openapi: its deserializers for these two types add about 1 MB
//! to policy.wasm; this table is 10 KB. Fields the table does not know pass
//! (forward compatibility: a newer Kubernetes' fields reach the Pod).

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

const TABLE: &str = include_str!("schema/corev1.json");

/// Field name -> kind. Ordered, so that problems are reported in a stable order.
pub(crate) type Fields = BTreeMap<String, String>;

#[derive(serde::Deserialize)]
struct Table {
    types: HashMap<String, Fields>,
}

/// The type table, parsed when settings are validated (not per request).
pub struct Schema {
    types: HashMap<String, Fields>,
}

impl Schema {
    pub fn load() -> Schema {
        // The table is generated and covered by tests; an unreadable one
        // would only make the check pass everything, never trap.
        let table: Table = serde_json::from_slice(TABLE.as_bytes()).unwrap_or(Table {
            types: HashMap::new(),
        });
        Schema { types: table.types }
    }

    /// The table: type name → field → kind (`!s`, `[EnvVar]`, …), for the
    /// settings' JSON Schema.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn types(&self) -> &HashMap<String, Fields> {
        &self.types
    }

    /// Problems of `value` as a `type_name` ("Container", "Volume"), each
    /// with its path below `path`.
    pub fn check(&self, value: &Value, type_name: &str, path: &str) -> Vec<String> {
        self.check_with(value, type_name, path, &[])
    }

    /// The same, where the top-level object may also hold `extra` keys (the
    /// policy's own container fields).
    pub fn check_with(
        &self,
        value: &Value,
        type_name: &str,
        path: &str,
        extra: &[&str],
    ) -> Vec<String> {
        let mut problems = Vec::new();
        self.check_kind(value, type_name, path, extra, &mut problems);
        problems
    }

    fn check_kind(
        &self,
        value: &Value,
        kind: &str,
        path: &str,
        extra: &[&str],
        problems: &mut Vec<String>,
    ) {
        let ok = match kind {
            "*" => true,
            "s" => value.is_string(),
            "i" => value.is_i64() || value.is_u64(),
            "n" => value.is_number(),
            "b" => value.is_boolean(),
            "q" => value.is_string() || value.is_number(),
            "x" => value.is_string() || value.is_i64() || value.is_u64(),
            _ if let Some(item_kind) = kind.strip_prefix('[').and_then(|k| k.strip_suffix(']')) => {
                let Value::Array(items) = value else {
                    return problems.push(mismatch(path, "a list", value));
                };
                for (i, item) in items.iter().enumerate() {
                    self.check_kind(item, item_kind, &format!("{path}[{i}]"), &[], problems);
                }
                true
            }
            _ if let Some(value_kind) =
                kind.strip_prefix('{').and_then(|k| k.strip_suffix('}')) =>
            {
                let Value::Object(map) = value else {
                    return problems.push(mismatch(path, "a map", value));
                };
                for (key, item) in map {
                    self.check_kind(item, value_kind, &format!("{path}[{key:?}]"), &[], problems);
                }
                true
            }
            type_name => {
                let Value::Object(map) = value else {
                    return problems.push(mismatch(
                        path,
                        &format!("an object ({type_name})"),
                        value,
                    ));
                };
                if let Some(fields) = self.types.get(type_name) {
                    self.check_fields(map, fields, path, extra, problems);
                }
                true
            }
        };
        if !ok {
            problems.push(mismatch(path, expected(kind), value));
        }
    }

    /// The fields of an object of a known type: required ones present, each
    /// of its kind; an unknown key passes (a newer Kubernetes' field) unless
    /// it looks like a typo of a known one.
    fn check_fields(
        &self,
        map: &serde_json::Map<String, Value>,
        fields: &Fields,
        path: &str,
        extra: &[&str],
        problems: &mut Vec<String>,
    ) {
        for (field, field_kind) in fields {
            let (required, field_kind) = match field_kind.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, field_kind.as_str()),
            };
            match map.get(field) {
                None | Some(Value::Null) if required => {
                    problems.push(format!("{path}.{field}: required"));
                }
                // Kubernetes reads null as "not set" for optional fields.
                None | Some(Value::Null) => {}
                Some(item) => {
                    self.check_kind(item, field_kind, &format!("{path}.{field}"), &[], problems)
                }
            }
        }
        for key in map.keys() {
            if fields.contains_key(key) || extra.contains(&key.as_str()) {
                continue;
            }
            let known = fields
                .keys()
                .map(String::as_str)
                .chain(extra.iter().copied());
            if let Some(meant) = near_miss(key, known) {
                problems.push(format!(
                    "{path}.{key}: unknown field; did you mean `{meant}`? (an unknown field would pass into the Pod unread)"
                ));
            }
        }
    }
}

/// The known key `key` is most likely a typo of: the same but for case, or
/// at most 2 edits away (3 for keys of 12 characters or more, such as
/// `podInjectionPolicy` for `podInjectPolicy`).
pub fn near_miss<'k>(key: &str, known: impl Iterator<Item = &'k str>) -> Option<&'k str> {
    let key = key.to_ascii_lowercase();
    known
        .filter_map(|k| {
            let allowed = if k.len() >= 12 { 3 } else { 2 };
            // The lengths bound the distance: a long key costs nothing.
            if key.len().abs_diff(k.len()) > allowed {
                return None;
            }
            let distance = edit_distance(&key, &k.to_ascii_lowercase());
            (distance <= allowed).then_some((distance, k))
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k)
}

/// Levenshtein distance over bytes (the keys are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut diagonal = i;
        let mut left = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let up = row.get(j + 1).copied().unwrap_or(usize::MAX);
            let cost = usize::from(ca != *cb);
            let next = (diagonal.saturating_add(cost))
                .min(up.saturating_add(1))
                .min(left.saturating_add(1));
            diagonal = up;
            left = next;
            if let Some(slot) = row.get_mut(j + 1) {
                *slot = next;
            }
        }
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
    }
    row.last().copied().unwrap_or_default()
}

fn expected(kind: &str) -> &'static str {
    match kind {
        "s" => "a string",
        "i" => "an integer",
        "n" => "a number",
        "b" => "a boolean (true or false)",
        "q" => "a quantity (a string such as \"100m\" or \"64Mi\", or a number)",
        "x" => "an integer or a string",
        _ => "another type",
    }
}

fn mismatch(path: &str, expected: &str, found: &Value) -> String {
    let found = match found {
        Value::Null => "null".to_string(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "a list".to_string(),
        Value::Object(_) => "an object".to_string(),
    };
    format!("{path}: expected {expected}, found {found}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    #[test]
    fn the_table_covers_the_types_the_settings_embed() {
        let schema = Schema::load();
        for name in [
            "Container",
            "Volume",
            "Probe",
            "SecurityContext",
            "VolumeMount",
            "EnvVar",
            "ContainerPort",
        ] {
            assert!(schema.types.contains_key(name), "{name}");
        }
        assert_eq!(schema.types["Container"]["name"], "!s");
    }

    #[rstest]
    #[case::valid(json!({"name": "envoy", "image": "envoy:1", "ports": [{"containerPort": 15001, "protocol": "TCP"}],
        "resources": {"requests": {"cpu": "50m", "memory": 64}}, "startupProbe": {"httpGet": {"path": "/ready", "port": "health"}},
        "env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}], "args": null}), &[])]
    #[case::unknown_fields_pass(json!({"name": "a", "restartPolicyRules": [], "someFutureField": {"x": 1}}), &[])]
    #[case::port_string(json!({"name": "a", "ports": [{"containerPort": "http"}]}),
        &["c.ports[0].containerPort: expected an integer, found the string \"http\""])]
    #[case::missing_name(json!({"image": "a"}), &["c.name: required"])]
    #[case::args_string(json!({"name": "a", "args": "--flag"}), &["c.args: expected a list, found the string \"--flag\""])]
    #[case::arg_number(json!({"name": "a", "args": ["--n", 3]}), &["c.args[1]: expected a string, found the number 3"])]
    #[case::quantity_bool(json!({"name": "a", "resources": {"limits": {"memory": true}}}),
        &["c.resources.limits[\"memory\"]: expected a quantity (a string such as \"100m\" or \"64Mi\", or a number), found the boolean true"])]
    #[case::probe_not_object(json!({"name": "a", "readinessProbe": "http"}),
        &["c.readinessProbe: expected an object (Probe), found the string \"http\""])]
    #[case::float_port(json!({"name": "a", "ports": [{"containerPort": 80.5}]}),
        &["c.ports[0].containerPort: expected an integer, found the number 80.5"])]
    #[case::two_problems(json!({"name": 1, "tty": "yes"}),
        &["c.name: expected a string, found the number 1", "c.tty: expected a boolean (true or false), found the string \"yes\""])]
    fn containers(#[case] spec: Value, #[case] expected: &[&str]) {
        assert_eq!(Schema::load().check(&spec, "Container", "c"), expected);
    }

    #[rstest]
    #[case::inject_policy(json!({"name": "a", "podInjectionPolicy": "AfterAppContainer"}),
        &["c.podInjectionPolicy: unknown field; did you mean `podInjectPolicy`? (an unknown field would pass into the Pod unread)"])]
    #[case::depends_on_case(json!({"name": "a", "dependson": ["x"]}),
        &["c.dependson: unknown field; did you mean `dependsOn`? (an unknown field would pass into the Pod unread)"])]
    #[case::corev1_field(json!({"name": "a", "imagePullPolice": "Always"}),
        &["c.imagePullPolice: unknown field; did you mean `imagePullPolicy`? (an unknown field would pass into the Pod unread)"])]
    #[case::nested(json!({"name": "a", "readinessProbe": {"httpget": {"port": 1}}}),
        &["c.readinessProbe.httpget: unknown field; did you mean `httpGet`? (an unknown field would pass into the Pod unread)"])]
    #[case::far_from_every_key(json!({"name": "a", "someFutureField": 1, "restartPolicyRules": []}), &[])]
    fn typos_are_errors(#[case] spec: Value, #[case] expected: &[&str]) {
        let extra = ["podInjectPolicy", "dependsOn", "waitForReady"];
        assert_eq!(
            Schema::load().check_with(&spec, "Container", "c", &extra),
            expected
        );
    }

    #[rstest]
    #[case("dependson", "dependsOn", 0)]
    #[case("kitten", "sitting", 3)]
    #[case("", "abc", 3)]
    #[case("abc", "abc", 0)]
    fn edit_distances(#[case] a: &str, #[case] b: &str, #[case] lowered_distance: usize) {
        assert_eq!(
            edit_distance(&a.to_ascii_lowercase(), &b.to_ascii_lowercase()),
            lowered_distance
        );
    }

    #[rstest]
    #[case::empty_dir(json!({"name": "v", "emptyDir": {"sizeLimit": "1Gi"}}), &[])]
    #[case::projected(json!({"name": "v", "projected": {"sources": [{"serviceAccountToken": {"path": "t", "expirationSeconds": 3600}}]}}), &[])]
    #[case::medium_number(json!({"name": "v", "emptyDir": {"medium": 5}}), &["v.emptyDir.medium: expected a string, found the number 5"])]
    #[case::config_map_items(json!({"name": "v", "configMap": {"name": "c", "items": [{"key": "k"}]}}), &["v.configMap.items[0].path: required"])]
    fn volumes(#[case] spec: Value, #[case] expected: &[&str]) {
        assert_eq!(Schema::load().check(&spec, "Volume", "v"), expected);
    }

    /// The table agrees with k8s-openapi's types on field types. (On missing
    /// required fields it is stricter: k8s-openapi defaults them, the API
    /// server refuses them, as the table does.)
    #[rstest]
    #[case(json!({"name": "a", "ports": [{"containerPort": 80}]}))]
    #[case(json!({"name": "a", "ports": [{"containerPort": "80"}]}))]
    #[case(json!({"name": "a", "args": ["x"], "tty": true}))]
    #[case(json!({"name": "a", "tty": "true"}))]
    #[case(json!({"name": "a", "env": [{"name": "A", "value": "b"}]}))]
    #[case(json!({"name": "a", "livenessProbe": {"tcpSocket": {"port": 8080}}}))]
    #[case(json!({"name": "a", "livenessProbe": {"tcpSocket": {"port": true}}}))]
    fn agrees_with_k8s_openapi(#[case] spec: Value) {
        let typed =
            serde_json::from_value::<k8s_openapi::api::core::v1::Container>(spec.clone()).is_ok();
        let table = Schema::load().check(&spec, "Container", "c").is_empty();
        assert_eq!(table, typed, "{spec}");
    }
}
