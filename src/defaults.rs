//! Objects as the API server stores them. A mutating webhook sees a Pod
//! after defaulting (`defaultMode: 420`, `fieldRef.apiVersion: v1`, …) and
//! quantities in canonical form (`1024Mi` is stored as `1Gi`), while the
//! settings hold what a user wrote: anything compared for identity is
//! compared in the normal form built here.

use serde_json::{Map, Value};

/// The mode the API server gives configMap, secret, downwardAPI and projected
/// volumes that do not set one (0644).
const DEFAULT_MODE: i64 = 420;
/// The API server's default `expirationSeconds` of a projected token.
const DEFAULT_TOKEN_EXPIRATION: i64 = 3600;

/// A volume in the form compared for identity: Kubernetes' defaults applied,
/// empty strings the API server omits removed, quantities made exact.
pub fn normalized_volume(volume: &Map<String, Value>) -> Value {
    let mut volume = volume.clone();
    for (key, value) in volume.iter_mut() {
        let Value::Object(source) = value else {
            continue;
        };
        match key.as_str() {
            "configMap" | "secret" => default(source, "defaultMode", DEFAULT_MODE.into()),
            "downwardAPI" => {
                default(source, "defaultMode", DEFAULT_MODE.into());
                default_field_refs(source);
            }
            "projected" => {
                default(source, "defaultMode", DEFAULT_MODE.into());
                if let Some(Value::Array(sources)) = source.get_mut("sources") {
                    for projection in sources.iter_mut().filter_map(Value::as_object_mut) {
                        if let Some(Value::Object(d)) = projection.get_mut("downwardAPI") {
                            default_field_refs(d);
                        }
                        if let Some(Value::Object(t)) = projection.get_mut("serviceAccountToken") {
                            default(t, "expirationSeconds", DEFAULT_TOKEN_EXPIRATION.into());
                        }
                    }
                }
            }
            "hostPath" => default(source, "type", Value::String(String::new())),
            "emptyDir" => {
                if source.get("medium").and_then(Value::as_str) == Some("") {
                    source.remove("medium");
                }
                if let Some(limit) = source.get_mut("sizeLimit") {
                    exact_quantity(limit);
                }
            }
            _ => {}
        }
    }
    Value::Object(volume)
}

/// What the API server fills in where a container leaves it unset: a path
/// (keys; `*`: each member of an array) and the value. Only where the
/// parent is there: nothing is created.
const CONTAINER_DEFAULTS: &[(&str, Fill)] = &[
    ("terminationMessagePath", Fill::Text("/dev/termination-log")),
    ("terminationMessagePolicy", Fill::Text("File")),
    ("ports.*.protocol", Fill::Text("TCP")),
    ("env.*.valueFrom.fieldRef.apiVersion", Fill::Text("v1")),
    ("env.*.valueFrom.resourceFieldRef.divisor", Fill::Text("0")),
];

/// What the API server fills in a probe, under each of these.
const PROBES: [&str; 3] = ["livenessProbe", "readinessProbe", "startupProbe"];
const PROBE_DEFAULTS: &[(&str, Fill)] = &[
    ("timeoutSeconds", Fill::Int(1)),
    ("periodSeconds", Fill::Int(10)),
    ("successThreshold", Fill::Int(1)),
    ("failureThreshold", Fill::Int(3)),
];

/// What it fills in a handler (a probe's, a lifecycle hook's), under each
/// of these. (grpc's `service: ""` needs no entry: empty strings are left
/// out on both sides.)
const HANDLERS: [&str; 5] = [
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "lifecycle.postStart",
    "lifecycle.preStop",
];
const HANDLER_DEFAULTS: &[(&str, Fill)] = &[
    ("httpGet.path", Fill::Text("/")),
    ("httpGet.scheme", Fill::Text("HTTP")),
];

/// What the API server leaves out when it has this value (a false `bool`,
/// a zero port).
const CONTAINER_OMITTED: &[(&str, Fill)] = &[
    ("stdin", Fill::False),
    ("stdinOnce", Fill::False),
    ("tty", Fill::False),
    ("volumeMounts.*.readOnly", Fill::False),
    ("ports.*.hostPort", Fill::Int(0)),
];

#[derive(Clone, Copy)]
enum Fill {
    Text(&'static str),
    Int(i64),
    False,
}

impl Fill {
    fn value(self) -> Value {
        match self {
            Fill::Text(text) => Value::String(text.into()),
            Fill::Int(n) => Value::from(n),
            Fill::False => Value::Bool(false),
        }
    }
}

/// The value at the dotted `path` (keys only) under `value`; `value`
/// itself for "".
fn at_key<'v>(value: &'v mut Value, path: &str) -> Option<&'v mut Value> {
    path.split('.')
        .filter(|key| !key.is_empty())
        .try_fold(value, |value, key| value.get_mut(key))
}

/// Each object at `path` under `value`, with the path's last key.
fn at_path(value: &mut Value, path: &str, each: &mut dyn FnMut(&mut Map<String, Value>, &str)) {
    let (head, rest) = path.split_once('.').unwrap_or((path, ""));
    match value {
        Value::Array(items) if head == "*" => {
            for item in items {
                at_path(item, rest, each);
            }
        }
        Value::Object(map) if rest.is_empty() => each(map, head),
        Value::Object(map) => {
            if let Some(child) = map.get_mut(head) {
                at_path(child, rest, each);
            }
        }
        _ => {}
    }
}

/// A container in the form compared for identity, its image aside: what the
/// API server defaults (the termination message, port protocols, probe
/// timings, httpGet's path and scheme, fieldRef's apiVersion, requests from
/// limits) filled in, quantities made exact, and what it omits (`stdin:
/// false`, `resources: {}`…) left out. `host_network`: the Pod's, whose
/// hostPorts default to the containerPorts. The pull policy is left to the
/// caller: the API server derives it from the image of the Pod's creation.
#[inline(never)]
pub fn normalized_container(entry: &Map<String, Value>, host_network: bool) -> Value {
    let mut c = Value::Object(entry.clone());
    for (path, fill) in CONTAINER_OMITTED {
        at_path(&mut c, path, &mut |map, key| {
            if map.get(key) == Some(&fill.value()) {
                map.remove(key);
            }
        });
    }
    // A probe's zero counts are omitted (and then defaulted) too.
    for probe in PROBES {
        if let Some(Value::Object(p)) = at_key(&mut c, probe) {
            p.retain(|_, v| v.as_i64() != Some(0));
        }
    }
    let mut fill_in = |under: &str, table: &[(&str, Fill)]| {
        let Some(object) = at_key(&mut c, under) else {
            return;
        };
        for (path, fill) in table {
            at_path(object, path, &mut |map, key| {
                default(map, key, fill.value())
            });
        }
    };
    fill_in("", CONTAINER_DEFAULTS);
    PROBES.iter().for_each(|p| fill_in(p, PROBE_DEFAULTS));
    HANDLERS.iter().for_each(|h| fill_in(h, HANDLER_DEFAULTS));
    at_path(&mut c, "ports.*.hostPort", &mut |port, key| {
        if host_network && let Some(p) = port.get("containerPort").cloned() {
            default(port, key, p);
        }
    });
    at_path(
        &mut c,
        "env.*.valueFrom.resourceFieldRef.divisor",
        &mut |map, key| {
            map.get_mut(key).into_iter().for_each(exact_quantity);
        },
    );
    if let Value::Object(map) = &mut c {
        map.remove("image");
        if let Some(Value::Array(policies)) = map.get_mut("resizePolicy") {
            let default =
                |p: &Value| p.get("restartPolicy").and_then(Value::as_str) == Some("NotRequired");
            policies.retain(|p| !default(p));
        }
        if let Some(Value::Object(resources)) = map.get_mut("resources") {
            default_requests(resources);
        }
    }
    prune(&mut c);
    c
}

/// The pull policy the API server gives a container of `image` that sets
/// none: `Always` for the tag `latest`, or neither tag nor digest.
pub fn pull_policy(image: &str) -> &'static str {
    let last = image.rsplit('/').next().unwrap_or(image);
    let always =
        !image.contains('@') && last.rsplit_once(':').is_none_or(|(_, tag)| tag == "latest");
    if always { "Always" } else { "IfNotPresent" }
}

/// A request defaults to its limit; every quantity made exact.
fn default_requests(resources: &mut Map<String, Value>) {
    if let Some(Value::Object(limits)) = resources.get("limits").cloned() {
        let requests = resources
            .entry("requests")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(requests) = requests {
            for (name, value) in limits {
                requests.entry(name).or_insert(value);
            }
        }
    }
    for field in ["requests", "limits"] {
        if let Some(Value::Object(map)) = resources.get_mut(field) {
            map.values_mut().for_each(exact_quantity);
        }
    }
}

/// Leaves out nulls, empty strings, objects and arrays, as the API
/// server's JSON does.
fn prune(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.values_mut().for_each(prune);
            map.retain(|_, v| !is_empty(v));
        }
        Value::Array(items) => items.iter_mut().for_each(prune),
        _ => {}
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.is_empty(),
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// The path of the first place where two values differ (`args`,
/// `env[1].value`, `securityContext.runAsUser`), or None when equal.
pub fn first_difference(a: &Value, b: &Value) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => x
            .iter()
            .find_map(|(key, v)| match y.get(key) {
                Some(w) => first_difference(v, w).map(|rest| join(key, &rest)),
                None => Some(key.clone()),
            })
            .or_else(|| y.keys().find(|key| !x.contains_key(*key)).cloned()),
        (Value::Array(x), Value::Array(y)) => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (v, w))| {
                first_difference(v, w).map(|rest| join(&format!("[{i}]"), &rest))
            })
            .or_else(|| (x.len() != y.len()).then(|| format!("[{}]", x.len().min(y.len())))),
        _ if a == b => None,
        _ => Some(String::new()),
    }
}

fn join(head: &str, rest: &str) -> String {
    if rest.is_empty() || rest.starts_with('[') {
        format!("{head}{rest}")
    } else {
        format!("{head}.{rest}")
    }
}

fn default(map: &mut Map<String, Value>, key: &str, value: Value) {
    let slot = map.entry(key).or_insert(Value::Null);
    if slot.is_null() {
        *slot = value;
    }
}

/// `items[].fieldRef.apiVersion` defaults to v1.
fn default_field_refs(source: &mut Map<String, Value>) {
    if let Some(Value::Array(items)) = source.get_mut("items") {
        for item in items.iter_mut() {
            if let Some(Value::Object(field_ref)) = item.get_mut("fieldRef") {
                default(field_ref, "apiVersion", Value::String("v1".into()));
            }
        }
    }
}

/// Replaces a quantity by its exact value, so that `1024Mi` and `1Gi` (or
/// `0.5` and `500m`) compare equal; a value that does not parse is kept.
fn exact_quantity(value: &mut Value) {
    let exact = match value {
        Value::String(s) => quantity(s),
        Value::Number(n) => n.as_u64().map(|n| Quantity::new(false, n, 0)),
        _ => None,
    };
    if let Some(q) = exact {
        *value = Value::String(q.to_string());
    }
}

/// A quantity's exact value: ± mantissa × 10^exponent, the mantissa without
/// trailing zeros (so that equal values are equal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    negative: bool,
    mantissa: u64,
    exponent: i32,
}

impl Quantity {
    fn new(negative: bool, mut mantissa: u64, mut exponent: i32) -> Quantity {
        while mantissa != 0 && mantissa.is_multiple_of(10) {
            mantissa /= 10;
            exponent = exponent.saturating_add(1);
        }
        if mantissa == 0 {
            exponent = 0;
        }
        Quantity {
            negative: negative && mantissa != 0,
            mantissa,
            exponent,
        }
    }
}

impl std::fmt::Display for Quantity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.negative { "-" } else { "" };
        write!(f, "{sign}{}e{}", self.mantissa, self.exponent)
    }
}

/// Parses a Kubernetes quantity (`500m`, `1.5Gi`, `2e3`, `64Mi`) exactly;
/// None when it does not parse or does not fit.
pub fn quantity(text: &str) -> Option<Quantity> {
    let text = text.trim();
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let number_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(number_end);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let mut mantissa: u64 = 0;
    for d in whole.bytes().chain(fraction.bytes()) {
        mantissa = mantissa
            .checked_mul(10)?
            .checked_add(u64::from(d.checked_sub(b'0')?))?;
    }
    let (exp10, exp2): (i32, u32) = match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        other => (other.strip_prefix(['e', 'E'])?.parse().ok()?, 0),
    };
    let mantissa = mantissa.checked_mul(1u64.checked_shl(exp2)?)?;
    let exponent = exp10.checked_sub(i32::try_from(fraction.len()).ok()?)?;
    Some(Quantity::new(negative, mantissa, exponent))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    fn normal(volume: Value) -> Value {
        normalized_volume(volume.as_object().unwrap())
    }

    #[rstest]
    #[case::config_map(json!({"name": "c", "configMap": {"name": "fluent-bit"}}), json!({"name": "c", "configMap": {"name": "fluent-bit", "defaultMode": 420}}))]
    #[case::secret(json!({"name": "s", "secret": {"secretName": "x"}}), json!({"name": "s", "secret": {"secretName": "x", "defaultMode": 420}}))]
    #[case::downward_api(json!({"name": "d", "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}),
                         json!({"name": "d", "downwardAPI": {"defaultMode": 420, "items": [{"path": "labels", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels"}}]}}))]
    #[case::projected(json!({"name": "p", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}, {"downwardAPI": {"items": [{"path": "ns", "fieldRef": {"fieldPath": "metadata.namespace"}}]}}]}}),
                      json!({"name": "p", "projected": {"defaultMode": 420, "sources": [{"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}}, {"downwardAPI": {"items": [{"path": "ns", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}}))]
    #[case::host_path(json!({"name": "h", "hostPath": {"path": "/var/log"}}), json!({"name": "h", "hostPath": {"path": "/var/log", "type": ""}}))]
    #[case::empty_dir_medium(json!({"name": "e", "emptyDir": {"medium": ""}}), json!({"name": "e", "emptyDir": {}}))]
    #[case::empty_dir_size(json!({"name": "e", "emptyDir": {"sizeLimit": "1024Mi"}}), normal(json!({"name": "e", "emptyDir": {"sizeLimit": "1Gi"}})))]
    fn the_api_servers_form_is_equal_to_the_settings_form(
        #[case] written: Value,
        #[case] stored: Value,
    ) {
        assert_eq!(normal(written), normal(stored));
    }

    #[rstest]
    #[case::other_mode(json!({"name": "c", "configMap": {"name": "a", "defaultMode": 256}}), json!({"name": "c", "configMap": {"name": "a"}}))]
    #[case::other_config_map(json!({"name": "c", "configMap": {"name": "a"}}), json!({"name": "c", "configMap": {"name": "b"}}))]
    #[case::other_size(json!({"name": "e", "emptyDir": {"sizeLimit": "1Gi"}}), json!({"name": "e", "emptyDir": {"sizeLimit": "1G"}}))]
    #[case::other_medium(json!({"name": "e", "emptyDir": {"medium": "Memory"}}), json!({"name": "e", "emptyDir": {}}))]
    #[case::other_type(json!({"name": "h", "hostPath": {"path": "/x", "type": "Directory"}}), json!({"name": "h", "hostPath": {"path": "/x"}}))]
    fn different_definitions_stay_different(#[case] a: Value, #[case] b: Value) {
        assert_ne!(normal(a), normal(b));
    }

    fn container(value: Value) -> Value {
        normalized_container(value.as_object().unwrap(), false)
    }

    #[rstest]
    #[case::termination(json!({"name": "c"}), json!({"name": "c", "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}))]
    #[case::port(json!({"name": "c", "ports": [{"containerPort": 80}]}), json!({"name": "c", "ports": [{"containerPort": 80, "protocol": "TCP", "hostPort": 0}]}))]
    #[case::probe(json!({"name": "c", "readinessProbe": {"httpGet": {"port": 80}}}),
                  json!({"name": "c", "readinessProbe": {"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}}))]
    #[case::hook(json!({"name": "c", "lifecycle": {"preStop": {"httpGet": {"port": 80}}}}), json!({"name": "c", "lifecycle": {"preStop": {"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}}}}))]
    #[case::field_ref(json!({"name": "c", "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]}),
                      json!({"name": "c", "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name", "apiVersion": "v1"}}}]}))]
    #[case::divisor(json!({"name": "c", "env": [{"name": "N", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}}]}),
                    json!({"name": "c", "env": [{"name": "N", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "0"}}}]}))]
    #[case::requests_from_limits(json!({"name": "c", "resources": {"limits": {"memory": "1024Mi"}}}),
                                 json!({"name": "c", "resources": {"limits": {"memory": "1Gi"}, "requests": {"memory": "1Gi"}}}))]
    #[case::omitted(json!({"name": "c", "volumeMounts": [{"name": "v", "mountPath": "/v"}]}),
                    json!({"name": "c", "resources": {}, "env": [], "stdin": false, "tty": false, "volumeMounts": [{"name": "v", "mountPath": "/v", "readOnly": false}]}))]
    #[case::empty_strings(json!({"name": "c", "workingDir": "", "env": [{"name": "E", "value": ""}]}), json!({"name": "c", "env": [{"name": "E"}]}))]
    #[case::probe_zeros(json!({"name": "c", "startupProbe": {"exec": {"command": ["true"]}, "initialDelaySeconds": 0, "timeoutSeconds": 0}}),
                        json!({"name": "c", "startupProbe": {"exec": {"command": ["true"]}, "timeoutSeconds": 1}}))]
    #[case::resize_policy(json!({"name": "c"}), json!({"name": "c", "resizePolicy": [{"resourceName": "cpu", "restartPolicy": "NotRequired"}]}))]
    #[case::image_aside(json!({"name": "c", "image": "a:1"}), json!({"name": "c", "image": "b:2"}))]
    fn a_stored_container_is_equal_to_the_sets(#[case] written: Value, #[case] stored: Value) {
        assert_eq!(container(written), container(stored));
    }

    #[rstest]
    #[case::args(json!({"name": "c", "args": ["-x"]}), json!({"name": "c", "args": ["-y"]}), "args[0]")]
    #[case::more_args(json!({"name": "c", "args": ["-x"]}), json!({"name": "c", "args": ["-x", "-y"]}), "args[1]")]
    #[case::env(json!({"name": "c"}), json!({"name": "c", "env": [{"name": "HTTP_PROXY", "value": "evil"}]}), "env")]
    #[case::escalation(json!({"name": "c", "securityContext": {"allowPrivilegeEscalation": false}}), json!({"name": "c", "securityContext": {}}), "securityContext")]
    #[case::run_as(json!({"name": "c", "securityContext": {"runAsUser": 1000}}), json!({"name": "c", "securityContext": {"runAsUser": 0}}), "securityContext.runAsUser")]
    #[case::privileged(json!({"name": "c"}), json!({"name": "c", "securityContext": {"privileged": false}}), "securityContext")]
    #[case::probe(json!({"name": "c", "readinessProbe": {"httpGet": {"port": 80}}}), json!({"name": "c", "readinessProbe": {"httpGet": {"port": 80}, "periodSeconds": 60}}), "readinessProbe.periodSeconds")]
    #[case::read_only(json!({"name": "c", "volumeMounts": [{"name": "v", "mountPath": "/v", "readOnly": true}]}), json!({"name": "c", "volumeMounts": [{"name": "v", "mountPath": "/v"}]}), "volumeMounts[0].readOnly")]
    fn a_look_alike_differs_at_the_field(
        #[case] wanted: Value,
        #[case] has: Value,
        #[case] field: &str,
    ) {
        assert_eq!(
            first_difference(&container(has), &container(wanted)).as_deref(),
            Some(field)
        );
    }

    fn q(negative: bool, mantissa: u64, exponent: i32) -> Option<Quantity> {
        Some(Quantity::new(negative, mantissa, exponent))
    }

    #[rstest]
    #[case("1", q(false, 1, 0))]
    #[case("500m", q(false, 5, -1))]
    #[case("0.5", q(false, 5, -1))]
    #[case("1.5Gi", q(false, 3 << 29, 0))]
    #[case("1536Mi", q(false, 3 << 29, 0))]
    #[case("2e3", q(false, 2, 3))]
    #[case("2E3", q(false, 2000, 0))]
    #[case("1k", q(false, 1, 3))]
    #[case("-1", q(true, 1, 0))]
    #[case("-0", q(false, 0, 0))]
    #[case("1n", q(false, 1, -9))]
    #[case("1Ei", q(false, 1 << 60, 0))]
    #[case("", None)]
    #[case(".", None)]
    #[case("1x", None)]
    #[case("99999999999999999999", None)]
    fn quantities(#[case] text: &str, #[case] expected: Option<Quantity>) {
        assert_eq!(quantity(text), expected);
    }
}
