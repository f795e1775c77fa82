//! settings.schema.json: up to date with its generator
//! (`src/settings/json_schema.rs`), naming every field the readers know,
//! valid for every example and test settings file, never refusing what
//! `validate_settings` accepts (random mutations of those files), and in
//! step with Rancher's form (questions-ui.yml).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use serde_json::{Value, json};
use sidecarset_policy::check_settings;
use sidecarset_policy::settings::CONTAINER_EXTENSION_KEYS;
use sidecarset_policy::settings::json_schema::{policy_schema, settings_schema};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Validator {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl Validator {
    fn new(schema: &Value) -> Validator {
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        compiler
            .add_resource("settings.schema.json", schema.clone())
            .expect("the schema is added");
        let index = compiler
            .compile("settings.schema.json", &mut schemas)
            .expect("the schema compiles");
        Validator { schemas, index }
    }

    fn check(&self, settings: &Value) -> Result<(), String> {
        self.schemas
            .validate(settings, self.index)
            .map_err(|e| format!("{e:#}"))
    }
}

fn validator() -> &'static Validator {
    static VALIDATOR: std::sync::OnceLock<Validator> = std::sync::OnceLock::new();
    VALIDATOR.get_or_init(|| Validator::new(&settings_schema()))
}

fn accepted(settings: &Value) -> bool {
    let bytes = serde_json::to_vec(settings).expect("settings serialize");
    check_settings(&bytes).valid
}

/// Every settings document of the repository: the ClusterAdmissionPolicies
/// of examples/ (their spec.settings) and test_data/settings*.yaml.
fn settings_files() -> Vec<(String, Value)> {
    let mut files = Vec::new();
    let read = |path: &Path| -> Value {
        let text = std::fs::read_to_string(path).expect("readable");
        serde_yaml::from_str(&text).expect("YAML")
    };
    for entry in std::fs::read_dir(repo().join("examples")).expect("examples/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let policy = read(&path);
            files.push((
                path.display().to_string(),
                policy["spec"]["settings"].clone(),
            ));
        }
    }
    for entry in std::fs::read_dir(repo().join("test_data")).expect("test_data/") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("settings") && name.ends_with(".yaml") {
            files.push((path.display().to_string(), read(&path)));
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(
        files.len() >= 10,
        "found only {} settings files",
        files.len()
    );
    files
}

#[test]
fn the_committed_schemas_are_what_the_generator_writes() {
    for (file, schema) in [
        ("settings.schema.json", settings_schema()),
        ("policy.schema.json", policy_schema()),
    ] {
        let path = repo().join(file);
        let generated = serde_json::to_string_pretty(&schema).expect("JSON") + "\n";
        if std::env::var_os("UPDATE_SETTINGS_SCHEMA").is_some() {
            std::fs::write(&path, &generated).expect("written");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "{file} is not what src/settings/json_schema.rs writes: run make settings-schema and commit it"
        );
    }
}

/// e2e.bats edits settings with jq, as Kubewarden's release job runs it
/// (kwctl, bats, jq; no YAML reader): each test_data/settings*.yaml has a
/// JSON twin with the same content (`make settings-schema` writes them).
#[test]
fn the_committed_settings_json_twins_equal_their_yaml() {
    for entry in std::fs::read_dir(repo().join("test_data")).expect("test_data/") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !(name.starts_with("settings") && name.ends_with(".yaml")) {
            continue;
        }
        let yaml: Value =
            serde_yaml::from_str(&std::fs::read_to_string(&path).expect("readable")).expect("YAML");
        let twin = path.with_extension("json");
        if std::env::var_os("UPDATE_SETTINGS_SCHEMA").is_some() {
            let text = serde_json::to_string_pretty(&yaml).expect("JSON") + "\n";
            std::fs::write(&twin, text).expect("written");
        }
        let json: Option<Value> = std::fs::read_to_string(&twin)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        assert!(
            json.as_ref() == Some(&yaml),
            "{} is not {name} as JSON: run make settings-schema and commit it",
            twin.display()
        );
    }
}

/// The example policies, against policy.schema.json (which takes the
/// settings' schema by reference) and with the comment an editor reads.
#[test]
fn every_example_policy_validates_against_the_policy_schema() {
    let mut compiler = boon::Compiler::new();
    let mut schemas = boon::Schemas::new();
    compiler
        .add_resource("https://raw.githubusercontent.com/kubewarden-contrib/sidecarset-policy/main/settings.schema.json", settings_schema())
        .expect("added");
    compiler
        .add_resource("https://raw.githubusercontent.com/kubewarden-contrib/sidecarset-policy/main/policy.schema.json", policy_schema())
        .expect("added");
    let index = compiler
        .compile("https://raw.githubusercontent.com/kubewarden-contrib/sidecarset-policy/main/policy.schema.json", &mut schemas)
        .expect("compiles");
    let mut checked = 0;
    for entry in std::fs::read_dir(repo().join("examples")).expect("examples/") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable");
        assert!(
            text.starts_with("# yaml-language-server: $schema=../policy.schema.json\n"),
            "{}: the first line names the schema for editors",
            path.display()
        );
        let policy: Value = serde_yaml::from_str(&text).expect("YAML");
        if let Err(e) = schemas.validate(&policy, index) {
            panic!("{}: {e:#}", path.display());
        }
        let mut broken = policy.clone();
        broken["spec"]["settings"]["mode"] = json!("audit");
        assert!(
            schemas.validate(&broken, index).is_err(),
            "the settings are checked through the reference"
        );
        checked += 1;
    }
    assert!(checked >= 4);
}

#[test]
fn every_example_and_test_settings_file_validates() {
    for (path, settings) in settings_files() {
        assert!(accepted(&settings), "{path}: validate_settings refuses it");
        if let Err(e) = validator().check(&settings) {
            panic!("{path}: the schema refuses it: {e}");
        }
    }
}

/// The names between backticks (serde's "expected one of `a`, `b`") or,
/// for the hand readers, the words of "has a, b and c".
fn names_in(message: &str) -> BTreeSet<String> {
    let ticked: BTreeSet<String> = message
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|n| *n != "bogus")
        .map(String::from)
        .collect();
    if !ticked.is_empty() {
        return ticked;
    }
    let listed = message.split(" has ").nth(1).unwrap_or("");
    listed
        .split([',', ' '])
        .filter(|w| !w.is_empty() && *w != "and")
        .map(String::from)
        .collect()
}

fn properties(schema: &Value, pointer: &str) -> BTreeSet<String> {
    schema
        .pointer(pointer)
        .and_then(Value::as_object)
        .unwrap_or_else(|| panic!("{pointer} is in the schema"))
        .keys()
        .cloned()
        .collect()
}

#[test]
fn the_schema_names_every_field_the_readers_know() {
    let schema = settings_schema();
    let set = |extra: Value| {
        let mut set = json!({"name": "a", "selector": {}});
        if let (Some(set), Value::Object(extra)) = (set.as_object_mut(), extra) {
            set.extend(extra);
        }
        json!({"sidecarSets": [set]})
    };
    // Each reader's message for an unknown field lists the fields it knows.
    let cases = [
        (json!({"bogus": 1}), "/properties"),
        (set(json!({"bogus": 1})), "/$defs/SidecarSet/properties"),
        (
            set(json!({"injectionStrategy": {"bogus": 1}})),
            "/$defs/SidecarSet/properties/injectionStrategy/properties",
        ),
        (
            set(json!({"podSecurity": {"bogus": 1}})),
            "/$defs/SidecarSet/properties/podSecurity/anyOf/1/properties",
        ),
        (
            set(json!({"appContainers": {"bogus": 1}})),
            "/$defs/SidecarSet/properties/appContainers/anyOf/1/properties",
        ),
        (
            set(json!({"shutdown": {"bogus": 1}})),
            "/$defs/SidecarSet/properties/shutdown/anyOf/1/properties",
        ),
        (
            set(json!({"patchPodMetadata": [{"bogus": 1}]})),
            "/$defs/SidecarSet/properties/patchPodMetadata/items/properties",
        ),
        (
            set(json!({"revisions": [{"name": "v2", "bogus": 1}]})),
            "/$defs/SidecarSet/properties/revisions/items/properties",
        ),
    ];
    for (settings, pointer) in cases {
        let message = check_settings(&serde_json::to_vec(&settings).expect("JSON"))
            .message
            .unwrap_or_default();
        let mut known = names_in(&message);
        // Fields read only to be refused with their reason are listed too.
        if pointer == "/$defs/SidecarSet/properties" {
            known.extend(["upgradeStrategy", "revisionHistoryLimit"].map(String::from));
        }
        assert_eq!(
            known,
            properties(&schema, pointer),
            "{pointer}: the schema's fields and the reader's ({message})"
        );
    }
    let own = properties(&schema, "/$defs/SidecarContainer/allOf/1/properties");
    let extension: BTreeSet<String> = CONTAINER_EXTENSION_KEYS
        .iter()
        .map(|k| k.to_string())
        .collect();
    assert_eq!(own, extension, "the container fields of this policy");
}

/// Known-bad settings the schema refuses as validate_settings does: the
/// schema is not an empty promise.
#[test]
fn the_schema_refuses_what_validate_settings_refuses() {
    let set = json!({"name": "a", "selector": {}, "containers": [{"name": "c", "image": "i"}]});
    let with = |pointer: &str, value: Value| {
        let mut settings = json!({"sidecarSets": [set.clone()]});
        if let Some(slot) = settings.pointer_mut(pointer) {
            *slot = value;
        } else {
            let (parent, key) = pointer.rsplit_once('/').expect("a pointer");
            settings
                .pointer_mut(parent)
                .and_then(Value::as_object_mut)
                .expect("the parent")
                .insert(key.to_string(), value);
        }
        settings
    };
    let cases = [
        with("/mode", json!("audit")),
        with("/explain", json!("yes")),
        with("/excludedNamespaces", json!("kube-system")),
        with("/sidecarSets/0/name", json!("Log_Shipper")),
        with("/sidecarSets/0/selector/matchLabel", json!({"a": "b"})),
        with(
            "/sidecarSets/0/containers/0/podInjectPolicy",
            json!("Before"),
        ),
        with("/sidecarSets/0/containers/0/readyTimeoutSeconds", json!(0)),
        with("/sidecarSets/0/containers/0/ports", json!("8080")),
        with(
            "/sidecarSets/0/injectionStrategy",
            json!({"canary": {"revision": "v2", "percent": 101}}),
        ),
        with(
            "/sidecarSets/0/updateStrategy",
            json!({"type": "Rolling", "maxUnavailable": "120%"}),
        ),
        with("/sidecarSets/0/podSecurity", json!({"level": "strict"})),
        with(
            "/sidecarSets/0/shutdown",
            json!({"maxGracePeriodSeconds": -1}),
        ),
        json!({"sidecarSets": [{"selector": {}}]}),
    ];
    assert!(accepted(&json!({"sidecarSets": [set.clone()]})));
    for settings in cases {
        assert!(!accepted(&settings), "validate_settings accepts {settings}");
        assert!(
            validator().check(&settings).is_err(),
            "the schema accepts {settings}"
        );
    }
}

/// Every path (as JSON pointer tokens) of a document.
fn paths(value: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(at.clone());
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                at.push(key.clone());
                paths(item, at, out);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                at.push(i.to_string());
                paths(item, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

/// What a mutation puts at a path: the values a user or a form writes,
/// right or wrong.
fn replacement(kind: u8, old: &Value) -> Option<Value> {
    Some(match kind % 16 {
        0 => return None, // delete
        1 => Value::Null,
        2 => json!(""),
        3 => json!(0),
        4 => json!(true),
        5 => json!(false),
        6 => json!([]),
        7 => json!({}),
        8 => json!("x"),
        9 => json!(101),
        10 => json!(1.5),
        11 => json!(-1),
        12 => json!("restricted"),
        13 => json!(["a"]),
        14 => json!({"a": "b"}),
        _ => match old {
            // The same text, one character off (a near-miss variant).
            Value::String(s) => json!(format!("{s}x")),
            other => json!([other]),
        },
    })
}

fn mutate(doc: &mut Value, path: &[String], kind: u8) {
    let Some((last, parent)) = path.split_last() else {
        return;
    };
    let pointer: String = parent.iter().map(|t| format!("/{t}")).collect();
    let Some(parent) = doc.pointer_mut(&pointer) else {
        return;
    };
    let old = match &*parent {
        Value::Object(map) => map.get(last).cloned().unwrap_or(Value::Null),
        Value::Array(items) => last
            .parse::<usize>()
            .ok()
            .and_then(|i| items.get(i).cloned())
            .unwrap_or(Value::Null),
        _ => return,
    };
    match (parent, replacement(kind, &old)) {
        (Value::Object(map), None) => {
            map.remove(last);
        }
        (Value::Object(map), Some(new)) => {
            // Sometimes a new key beside the old one.
            let key = if kind >= 128 {
                format!("{last}x")
            } else {
                last.clone()
            };
            map.insert(key, new);
        }
        (Value::Array(items), new) => {
            if let Ok(i) = last.parse::<usize>()
                && i < items.len()
            {
                match new {
                    None => {
                        items.remove(i);
                    }
                    Some(new) => items[i] = new,
                }
            }
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(common::config())]

    /// Whatever validate_settings accepts, the schema accepts: random
    /// mutations (deleted fields, null, "", 0, wrong types, near-miss
    /// names) of every settings file of the repository.
    #[test]
    fn the_schema_accepts_whatever_validate_settings_accepts(
        seed in any::<prop::sample::Index>(),
        mutations in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let files = settings_files();
        let (name, mut doc) = files[seed.index(files.len())].clone();
        for (at, kind) in mutations {
            let mut all = Vec::new();
            paths(&doc, &mut Vec::new(), &mut all);
            mutate(&mut doc, &all[at.index(all.len())], kind);
        }
        if accepted(&doc)
            && let Err(e) = validator().check(&doc)
        {
            prop_assert!(false, "validate_settings accepts, the schema refuses (from {}): {}\n{}", name, e, doc);
        }
    }
}

/// Rancher's form: each question is a field of the schema, of its type,
/// with its enum values and default.
#[test]
fn questions_ui_asks_for_fields_of_the_schema_with_their_types() {
    let text = std::fs::read_to_string(repo().join("questions-ui.yml")).expect("questions-ui.yml");
    let questions: Value = serde_yaml::from_str(&text).expect("YAML");
    let schema = settings_schema();
    let defs = &schema["$defs"];
    // The object schema a $ref, an allOf or a nullable anyOf stands for.
    fn resolve<'a>(schema: &'a Value, defs: &'a Value) -> Vec<&'a Value> {
        if let Some(name) = schema["$ref"]
            .as_str()
            .and_then(|r| r.strip_prefix("#/$defs/"))
        {
            return resolve(&defs[name], defs);
        }
        let mut parts = vec![schema];
        for key in ["allOf", "anyOf"] {
            for part in schema[key].as_array().into_iter().flatten() {
                parts.extend(resolve(part, defs));
            }
        }
        parts
    }
    fn field<'a>(object: &'a Value, path: &str, defs: &'a Value) -> Option<&'a Value> {
        let mut at = object;
        for key in path.split('.') {
            at = resolve(at, defs)
                .into_iter()
                .find_map(|s| s["properties"].get(key))?;
        }
        Some(at)
    }
    fn types(schema: &Value, defs: &Value) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for part in resolve(schema, defs) {
            match &part["type"] {
                Value::String(t) => {
                    out.insert(t.clone());
                }
                Value::Array(ts) => {
                    out.extend(ts.iter().filter_map(Value::as_str).map(String::from))
                }
                _ => {}
            }
            if part["enum"].is_array() {
                out.insert("string".into());
            }
            if part.get("const").is_some()
                || part.get("$ref").is_some_and(|r| r == "#/$defs/Seconds")
            {
                out.insert("integer".into());
            }
        }
        out
    }
    let mut checked = 0;
    let mut todo: Vec<(Value, Value)> = vec![(questions["questions"].clone(), schema.clone())];
    while let Some((list, object)) = todo.pop() {
        for question in list.as_array().into_iter().flatten() {
            let variable = question["variable"].as_str().expect("a variable");
            let kind = question["type"].as_str().expect("a type");
            let Some(schema) = field(&object, variable, defs) else {
                panic!("questions-ui.yml asks for {variable}, which the schema does not have");
            };
            let have = types(schema, defs);
            let want = match kind {
                "enum" | "string" => "string",
                "boolean" => "boolean",
                "int" => "integer",
                k if k.starts_with("map[") => "object",
                k if k.starts_with("array[") || k.starts_with("sequence[") => "array",
                other => panic!("{variable}: a question type {other} this test does not know"),
            };
            assert!(
                have.contains(want),
                "{variable}: the form asks for {kind}, the schema has {have:?}"
            );
            if let Some(options) = question["options"].as_array() {
                let allowed: Vec<&Value> = resolve(schema, defs)
                    .into_iter()
                    .filter_map(|s| s["enum"].as_array())
                    .flatten()
                    .collect();
                for option in options {
                    assert!(
                        allowed.contains(&option),
                        "{variable}: the option {option} is not in the schema's {allowed:?}"
                    );
                }
            }
            if let Some(default) = question.get("default") {
                let schema_default = resolve(schema, defs)
                    .into_iter()
                    .find_map(|s| s.get("default"));
                if let Some(schema_default) = schema_default {
                    assert_eq!(
                        default, schema_default,
                        "{variable}: the form's default and the schema's"
                    );
                }
            }
            if let Some(sub) = question.get("sequence_questions") {
                let items = resolve(schema, defs)
                    .into_iter()
                    .find_map(|s| s.get("items"))
                    .unwrap_or_else(|| {
                        panic!("{variable}: sequence_questions of a field without items")
                    });
                todo.push((sub.clone(), items.clone()));
            }
            checked += 1;
        }
    }
    assert!(checked >= 25, "only {checked} questions checked");
}

/// What validate_settings accepts of updateStrategy the schema accepts
/// too (red team D10: "007%" was refused by the schema only).
#[test]
fn the_schema_accepts_what_validate_settings_accepts_of_update_strategy() {
    for strategy in [
        json!({"maxUnavailable": "007%", "partition": "0%"}),
        json!({"maxUnavailable": "100%", "partition": 2147483647}),
        json!({"type": "NotUpdate", "paused": true, "selector": {"matchLabels": {"a": "b"}}}),
        json!({"maxUnavailable": null, "partition": null, "selector": null}),
    ] {
        let settings = json!({"sidecarSets": [{"name": "a", "selector": {},
            "containers": [{"name": "c", "image": "i"}], "updateStrategy": strategy}]});
        let checked = check_settings(&serde_json::to_vec(&settings).expect("JSON"));
        assert!(checked.valid, "{settings}: {:?}", checked.message);
        assert!(accepted(&settings), "the schema refuses {settings}");
    }
}
