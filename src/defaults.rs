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
    let nanos = match value {
        Value::String(s) => quantity_nanos(s),
        Value::Number(n) => n.as_i64().and_then(|n| i128::from(n).checked_mul(NANO)),
        _ => None,
    };
    if let Some(nanos) = nanos {
        *value = Value::String(format!("{nanos}n"));
    }
}

const NANO: i128 = 1_000_000_000;

/// The value of a Kubernetes quantity (`500m`, `1.5Gi`, `2e3`, `64Mi`) in
/// billionths, exactly; None when it does not parse or does not fit.
pub fn quantity_nanos(text: &str) -> Option<i128> {
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
    // value = digits × 10^(exp10 − fraction digits) × 2^exp2
    let digits = format!("{whole}{fraction}");
    let mut mantissa: i128 = 0;
    for d in digits.bytes() {
        mantissa = mantissa
            .checked_mul(10)?
            .checked_add(i128::from(d.checked_sub(b'0')?))?;
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
        other => {
            let exponent = other.strip_prefix(['e', 'E'])?;
            (exponent.parse().ok()?, 0)
        }
    };
    let fraction_digits = i32::try_from(fraction.len()).ok()?;
    // In billionths: 10^9 more.
    let power = exp10.checked_add(9)?.checked_sub(fraction_digits)?;
    let mut value = mantissa.checked_mul(1i128.checked_shl(exp2)?)?;
    if power >= 0 {
        value = value.checked_mul(10i128.checked_pow(u32::try_from(power).ok()?)?)?;
    } else {
        let divisor = 10i128.checked_pow(power.unsigned_abs())?;
        // Finer than a billionth: not a value Kubernetes stores exactly.
        if value % divisor != 0 {
            return None;
        }
        value /= divisor;
    }
    Some(if negative { -value } else { value })
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

    #[rstest]
    #[case("1", Some(NANO))]
    #[case("500m", Some(NANO / 2))]
    #[case("0.5", Some(NANO / 2))]
    #[case("1.5Gi", Some(3 * (1 << 29) * NANO))]
    #[case("1536Mi", Some(3 * (1 << 29) * NANO))]
    #[case("2e3", Some(2000 * NANO))]
    #[case("2E3", Some(2000 * NANO))]
    #[case("1k", Some(1000 * NANO))]
    #[case("-1", Some(-NANO))]
    #[case("1n", Some(1))]
    #[case("1Ei", Some((1i128 << 60) * NANO))]
    #[case("", None)]
    #[case(".", None)]
    #[case("1x", None)]
    #[case("0.0000000001", None)]
    #[case("1e999", None)]
    fn quantities(#[case] text: &str, #[case] nanos: Option<i128>) {
        assert_eq!(quantity_nanos(text), nanos);
    }
}
