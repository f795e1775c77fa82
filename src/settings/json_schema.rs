//! The JSON Schema of the settings (`settings.schema.json`), for editors
//! (yaml-language-server), GitOps linters and Rancher's form. Native builds
//! only: nothing of it is in policy.wasm.
//!
//! Written from the readers' own constants (field lists, bounds, defaults)
//! and, for the embedded corev1 Container and Volume, from the type table
//! `validate_settings` checks them with (`src/schema/corev1.json`). It is
//! never stricter than `validate_settings`: `tests/settings_schema.rs`
//! checks that on random settings, and that the committed file is this
//! function's output (`make settings-schema` rewrites it).

use serde_json::{Map, Value, json};

use super::{DEFAULT_READY_TIMEOUT_SECONDS, LISTS, MAX_SECONDS, default_excluded_namespaces};

/// Where the schema is published: the raw file on the default branch.
pub const SCHEMA_ID: &str = "https://raw.githubusercontent.com/kubewarden-contrib/sidecarset-policy/main/settings.schema.json";

/// A DNS-1123 label, as `validate_settings` checks names.
const DNS1123_LABEL: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

/// The schema of the settings.
pub fn settings_schema() -> Value {
    let mut defs = corev1_defs();
    for (name, def) in [
        ("SetSelector", label_selector()),
        ("Quantity", quantity()),
        ("Seconds", seconds()),
        ("IntOrPercent", int_or_percent()),
        ("SidecarSet", sidecar_set()),
        ("SidecarContainer", sidecar_container()),
    ] {
        defs.insert(name.into(), def);
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "sidecarset-policy settings",
        "description": "The settings of the sidecarset Kubewarden policy (spec.settings of its ClusterAdmissionPolicy). Reference: docs/settings.md.",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "sidecarSets": {
                "description": "The sets: what to inject, and into which Pods.",
                "type": "array",
                "default": [],
                "items": {"$ref": "#/$defs/SidecarSet"}
            },
            "nativeSidecars": boolean(true, "Sidecars become native sidecars (initContainers with restartPolicy: Always) unless a set says otherwise (Kubernetes 1.29+)."),
            "mode": variants(&["inject", "verify"], "inject", "inject: mutate Pods on CREATE. verify: never mutate; reject Pods that lack what their sets would inject."),
            "jobPods": variants(&["native", "skip", "asConfigured"], "native", "Pods with restartPolicy Never or OnFailure: regular-mode sidecars injected as native ones, left out, or as the set says."),
            "explain": boolean(false, "Return the resulting start order of each injected Pod as an admission warning."),
            "excludedNamespaces": {
                "description": "Pods and workloads in these Namespaces are never injected or checked.",
                "type": "array",
                "items": {"type": "string", "pattern": DNS1123_LABEL, "maxLength": 63},
                "default": default_excluded_namespaces()
            },
            "skipHostNetworkPods": boolean(true, "Leave Pods with hostNetwork: true alone unless a set says hostNetworkPods: inject."),
            "namespaceLookupFailure": variants(&["reject", "skip"], "reject", "What a set that needs the Namespace's labels does when they cannot be read."),
            "podLevelResources": variants(&["add", "reject"], "add", "For Pods with Pod-level resources (spec.resources): raise them by what the sidecars add, or reject the Pod."),
            "maxAddedRequests": {
                "description": "The most injection may raise a Pod's effective request, by resource (cpu, memory, …).",
                "type": "object",
                "additionalProperties": {"$ref": "#/$defs/Quantity"},
                "default": {}
            },
            "protectInjected": boolean(true, "A Pod UPDATE may set an injected container's image only to the image of the revision the Pod should run now, all of its set's containers at once (an in-place upgrade); any other image, a listed revision included, is rejected."),
            "checkPodSecurity": boolean(true, "Judge what the sets add against the Namespace's Pod Security level before the API server does.")
        },
        "$defs": defs
    })
}

/// A ClusterAdmissionPolicy (or AdmissionPolicy) of this policy, for an
/// editor's `# yaml-language-server: $schema=` comment: Kubewarden's CRD
/// leaves `spec.settings` untyped; this types it with the settings' schema
/// and leaves the rest of the resource to the CRD. No `$id`: the reference
/// resolves beside wherever the file was read from (a clone, or GitHub).
pub fn policy_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "A ClusterAdmissionPolicy of the sidecarset policy",
        "type": "object",
        "required": ["apiVersion", "kind", "spec"],
        "properties": {
            "apiVersion": {"const": "policies.kubewarden.io/v1"},
            "kind": {"enum": ["ClusterAdmissionPolicy", "AdmissionPolicy"]},
            "spec": {
                "type": "object",
                "required": ["module"],
                "properties": {
                    "module": {"type": "string"},
                    "mutating": {"type": "boolean"},
                    "settings": {"$ref": "settings.schema.json"}
                }
            }
        }
    })
}

fn boolean(default: bool, description: &str) -> Value {
    json!({"type": "boolean", "default": default, "description": description})
}

fn variants(names: &[&str], default: &str, description: &str) -> Value {
    json!({"type": "string", "enum": names, "default": default, "description": description})
}

fn nullable(schema: Value) -> Value {
    json!({"anyOf": [{"type": "null"}, schema]})
}

fn string_map() -> Value {
    json!({"type": ["object", "null"], "additionalProperties": {"type": "string"}})
}

fn quantity() -> Value {
    json!({
        "description": "A Kubernetes quantity, such as 500m or 1Gi (a number is read as its text).",
        "type": ["string", "number"]
    })
}

fn seconds() -> Value {
    json!({"type": "integer", "minimum": 1, "maximum": MAX_SECONDS})
}

/// Seconds where 0 means none (what Rancher's form writes for an empty number).
fn seconds_or_zero(description: &str) -> Value {
    json!({
        "description": description,
        "anyOf": [{"type": "null"}, {"const": 0}, {"$ref": "#/$defs/Seconds"}]
    })
}

fn label_selector() -> Value {
    json!({
        "description": "A metav1.LabelSelector (unknown keys are refused: a typo would select every Pod).",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "matchLabels": string_map(),
            "matchExpressions": {
                "type": ["array", "null"],
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["key", "operator"],
                    "properties": {
                        "key": {"type": "string", "minLength": 1},
                        "operator": {"enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                        "values": {"type": ["array", "null"], "items": {"type": "string"}}
                    }
                }
            }
        }
    })
}

/// An intstr: a count, or a percentage of an owner's Pods.
fn int_or_percent() -> Value {
    json!({
        "description": "A whole number, or a percentage such as \"25%\" (0% to 100%).",
        "type": ["integer", "string"],
        "minimum": 0,
        "maximum": 2147483647,
        "pattern": "^0*(100|[1-9]?[0-9])%$"
    })
}

/// A field OpenKruise has and this policy refuses (it needs OpenKruise's
/// controller): only null passes.
fn refused(description: &str) -> Value {
    json!({"description": description, "type": "null"})
}

fn sidecar_set() -> Value {
    let app_lists: Map<String, Value> = LISTS
        .iter()
        .map(|list| {
            let required: &[&str] = match *list {
                "env" => &["name"],
                "volumeMounts" => &["name", "mountPath"],
                _ => &[],
            };
            let item = match *list {
                "env" => "EnvVar",
                "envFrom" => "EnvFromSource",
                _ => "VolumeMount",
            };
            let schema = json!({
                "type": ["array", "null"],
                "items": {"allOf": [{"$ref": format!("#/$defs/{item}")}, {"required": required}]}
            });
            (list.to_string(), schema)
        })
        .collect();
    let mut app_properties = app_lists;
    app_properties.insert(
        "names".into(),
        json!({"description": "The Pod's own containers to give to (none: all of them).", "type": ["array", "null"], "items": {"type": "string"}}),
    );
    app_properties.insert(
        "nameRegex".into(),
        json!({"description": "Or: a full-match pattern over their names, such as web|api-.*", "type": ["string", "null"]}),
    );
    json!({
        "description": "One sidecar set: OpenKruise SidecarSet's spec, with the same field names where the meaning is the same.",
        "type": "object",
        "additionalProperties": false,
        "required": ["name", "selector"],
        "properties": {
            "name": {"type": "string", "pattern": DNS1123_LABEL, "maxLength": 63, "description": "The set's name (a DNS-1123 label), unique in the settings."},
            "mandatory": {"type": "boolean", "default": false, "description": "Pods cannot opt out of a mandatory set."},
            "selector": {"$ref": "#/$defs/SetSelector", "description": "The Pods the set applies to ({} selects every Pod)."},
            "namespace": {"type": ["string", "null"], "description": "Only Pods in this Namespace."},
            "namespaceSelector": nullable(json!({"$ref": "#/$defs/SetSelector"})),
            "hostNetworkPods": {"enum": ["", "skip", "inject", null], "default": "", "description": "For Pods with hostNetwork: true; empty: as skipHostNetworkPods says."},
            "nativeSidecars": {"type": ["boolean", "null"], "description": "Overrides the settings' nativeSidecars for this set."},
            "initContainers": {"type": ["array", "null"], "items": {"$ref": "#/$defs/SidecarContainer"}},
            "containers": {"type": ["array", "null"], "items": {"$ref": "#/$defs/SidecarContainer"}},
            "volumes": {"type": ["array", "null"], "items": {"$ref": "#/$defs/Volume"}},
            "imagePullSecrets": {"type": ["array", "null"], "items": {"type": "object", "additionalProperties": false, "required": ["name"], "properties": {"name": {"type": "string", "minLength": 1}}}},
            "injectionStrategy": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "paused": {"type": "boolean", "default": false, "description": "New Pods get nothing of the set."},
                    "revision": refused("OpenKruise's revision pinning: not supported (use revisions, tags and pins)."),
                    "canary": nullable(json!({
                        "description": "New Pods whose bucket is below percent get revision.",
                        "type": "object",
                        "additionalProperties": false,
                        "required": ["revision", "percent"],
                        "properties": {
                            "revision": {"type": "string"},
                            "percent": {"type": "integer", "minimum": 0, "maximum": 100},
                            "by": {"enum": ["owner", "pod"], "default": "owner"}
                        }
                    }))
                }
            },
            "patchPodMetadata": {"type": ["array", "null"], "items": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "annotations": string_map(),
                    "patchPolicy": {"enum": ["Retain", "Overwrite", "MergePatchJson", null], "default": "Retain"}
                }
            }},
            "revisions": {"type": ["array", "null"], "description": "Other revisions of the set: image overrides by container name (the set itself is the revision current).", "items": {
                "type": "object",
                "additionalProperties": false,
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "pattern": DNS1123_LABEL, "maxLength": 63},
                    "images": string_map()
                }
            }},
            "allowRevisionPin": {"type": "boolean", "default": false, "description": "A Pod may pin its revision with the sidecarset.kubewarden.io/revision.<set> annotation."},
            "allowNamespacePin": {"type": "boolean", "default": true, "description": "A Namespace label sidecarset.kubewarden.io/revision.<set> may pin the revision of its new Pods."},
            "tags": {"type": ["object", "null"], "description": "Tag → revision (or current).", "propertyNames": {"pattern": DNS1123_LABEL, "maxLength": 63}, "additionalProperties": {"type": "string"}},
            "podSecurity": nullable(json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "level": {"enum": ["", "privileged", "baseline", "restricted", null]},
                    "onViolation": {"enum": ["", "reject", "skip", null], "default": "reject"},
                    "defaults": {"enum": ["", "restricted", null]}
                }
            })),
            "appContainers": nullable(json!({
                "description": "What the set gives the Pod's own containers.",
                "type": "object",
                "additionalProperties": false,
                "properties": app_properties
            })),
            "shutdown": nullable(json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "extendGracePeriod": {"type": ["boolean", "null"], "default": false},
                    "maxGracePeriodSeconds": seconds_or_zero("The most extendGracePeriod may raise terminationGracePeriodSeconds to (0: no bound).")
                }
            })),
            "updateStrategy": nullable(json!({
                "description": "OpenKruise's rollout of a set: ignored at admission; kubectl sidecarset upgrade takes its defaults from it (docs/kubectl-plugin.md).",
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "type": {"type": ["string", "null"], "enum": ["RollingUpdate", "NotUpdate", null], "default": "RollingUpdate", "description": "NotUpdate: the set's Pods are never upgraded."},
                    "maxUnavailable": nullable(json!({"$ref": "#/$defs/IntOrPercent", "default": 1, "description": "How many of an owner's Pods are upgraded at once (at least 1)."})),
                    "partition": nullable(json!({"$ref": "#/$defs/IntOrPercent", "default": 0, "description": "How many of an owner's Pods stay on their revision."})),
                    "paused": {"type": ["boolean", "null"], "default": false, "description": "No Pod of the set is upgraded."},
                    "selector": nullable(json!({"$ref": "#/$defs/SetSelector", "description": "Only the Pods it selects are upgraded."}))
                }
            })),
            "upgradeStrategy": refused("OpenKruise's: not supported (needs its controller)."),
            "revisionHistoryLimit": {
                "description": "OpenKruise's (how many old revisions its controller keeps): accepted and ignored; this policy's revisions are in revisions.",
                "type": ["integer", "null"], "minimum": 0, "maximum": 2147483647
            }
        }
    })
}

/// A corev1.Container with the policy's own fields.
fn sidecar_container() -> Value {
    let own = json!({
        "podInjectPolicy": {"enum": ["BeforeAppContainer", "AfterAppContainer"], "default": "BeforeAppContainer"},
        "dependsOn": {"type": ["array", "null"], "items": {"type": "string"}, "description": "Containers (of any applying set, or the Pod's own init containers) this one starts after."},
        "waitForReady": {"type": ["boolean", "null"], "default": false, "description": "Later containers start once this one is ready (a startupProbe from its readinessProbe)."},
        "readyTimeoutSeconds": nullable(json!({"$ref": "#/$defs/Seconds", "default": DEFAULT_READY_TIMEOUT_SECONDS})),
        "transferEnv": {"type": ["array", "null"], "items": {
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "sourceContainerName": {"type": ["string", "null"]},
                "sourceContainerNameFrom": {"type": ["object", "null"], "additionalProperties": false, "properties": {
                    "fieldRef": {"type": ["object", "null"], "additionalProperties": false, "required": ["fieldPath"], "properties": {
                        "apiVersion": {"type": ["string", "null"]},
                        "fieldPath": {"type": "string"}
                    }}
                }},
                "envName": {"type": ["string", "null"]},
                "envNames": {"type": ["array", "null"], "items": {"type": "string"}}
            }
        }},
        "shareVolumePolicy": share(),
        "shareVolumeDevicePolicy": share(),
        "resourcesPolicy": nullable(json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "targetContainersMode": {"enum": ["sum", "max"]},
                "targetContainerMode": {"enum": ["sum", "max"], "description": "OpenKruise proposal's spelling of targetContainersMode."},
                "targetContainersNameRegex": {"type": ["string", "null"], "default": ".*"},
                "resourcesExpr": expressions(),
                "resourceExpr": expressions()
            },
            "anyOf": [{"required": ["targetContainersMode"]}, {"required": ["targetContainerMode"]}]
        })),
        "resourceBounds": nullable(json!({
            "description": "What a Pod's sidecarset.kubewarden.io/resources.<container> annotation may set, by resource.",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "min": {"type": ["object", "null"], "additionalProperties": {"$ref": "#/$defs/Quantity"}},
                "max": {"type": ["object", "null"], "additionalProperties": {"$ref": "#/$defs/Quantity"}}
            }
        })),
        "critical": {"type": ["boolean", "null"], "default": true},
        "drainSeconds": seconds_or_zero("A regular sidecar's preStop sleep, so that it outlives the app's last requests (0: none)."),
        "upgradeStrategy": {
            "description": "OpenKruise's: ColdUpgrade is what the in-place upgrade does (the sidecar restarts with its new image); HotUpgrade is not supported.",
            "type": ["object", "null"],
            "additionalProperties": false,
            "properties": {
                "upgradeType": {"enum": ["ColdUpgrade", "", null]},
                "hotUpgradeEmptyImage": {"enum": ["", null]}
            }
        }
    });
    json!({
        "description": "A corev1.Container, with this policy's own fields (removed before it goes into the Pod).",
        "allOf": [{"$ref": "#/$defs/Container"}, {"required": ["name", "image"], "properties": own}]
    })
}

fn share() -> Value {
    json!({"type": ["object", "null"], "additionalProperties": false, "properties": {"type": {"enum": ["enabled", "disabled", null]}}})
}

fn expressions() -> Value {
    json!({"type": "object", "additionalProperties": false, "properties": {
        "requests": string_map(),
        "limits": string_map()
    }})
}

/// `$defs` for the corev1 types of the policy's type table
/// (`crate::schema`), as its checker reads them: an optional field may be
/// null; an unknown field passes (a newer Kubernetes' field). `Map` is
/// ordered: the output is the same whatever the table's order.
fn corev1_defs() -> Map<String, Value> {
    let table = crate::schema::Schema::load();
    let types = table.types();
    let known = |name: &str| types.contains_key(name);
    let mut defs = Map::new();
    for (name, fields) in types {
        let mut properties = Map::new();
        let mut required = Vec::new();
        for (field, kind) in fields {
            let schema = match kind.strip_prefix('!') {
                Some(kind) => {
                    required.push(field.clone());
                    kind_schema(kind, &known)
                }
                None => nullable(kind_schema(kind, &known)),
            };
            properties.insert(field.clone(), schema);
        }
        defs.insert(
            name.clone(),
            json!({"type": "object", "properties": properties, "required": required}),
        );
    }
    defs
}

/// The schema of a kind of the type table (`s`, `[EnvVar]`, `{q}`, …).
fn kind_schema(kind: &str, known: &dyn Fn(&str) -> bool) -> Value {
    if let Some(item) = kind.strip_prefix('[').and_then(|k| k.strip_suffix(']')) {
        return json!({"type": "array", "items": kind_schema(item, known)});
    }
    if let Some(value) = kind.strip_prefix('{').and_then(|k| k.strip_suffix('}')) {
        return json!({"type": "object", "additionalProperties": kind_schema(value, known)});
    }
    match kind {
        "*" => json!({}),
        "s" => json!({"type": "string"}),
        "i" => json!({"type": "integer"}),
        "n" => json!({"type": "number"}),
        "b" => json!({"type": "boolean"}),
        "q" => json!({"$ref": "#/$defs/Quantity"}),
        "x" => json!({"type": ["string", "integer"]}),
        name if known(name) => json!({"$ref": format!("#/$defs/{name}")}),
        // A type the table does not describe: the checker asks for an object.
        _ => json!({"type": "object"}),
    }
}
