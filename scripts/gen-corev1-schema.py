#!/usr/bin/env python3
"""Writes src/schema/corev1.json: the field types of corev1.Container and
corev1.Volume (and every type they contain), from the Kubernetes JSON schemas
that the kubernetes-validate package bundles.

The policy type-checks the container and volume specs of its settings against
this table instead of deserializing them into k8s-openapi structs, whose
deserializers would add about 1 MB to policy.wasm.

Kinds: s string, i integer, n number, b boolean, q Quantity (string or
number), x IntOrString (string or integer), * anything, [K] list of K, {K} map
of K, Name an object of that type; a leading ! marks a required field.
Usage: scripts/gen-corev1-schema.py [KUBERNETES_VERSION]   (default 1.36.0)
"""
import json
import os
import sys

import kubernetes_validate

VERSION = sys.argv[1] if len(sys.argv) > 1 else "1.36.0"
ROOTS = ["io.k8s.api.core.v1.Container", "io.k8s.api.core.v1.Volume"]
SPECIAL = {
    "io.k8s.apimachinery.pkg.api.resource.Quantity": "q",
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": "x",
}

base = os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema",
                    f"v{VERSION}-local-strict")
defs = json.load(open(os.path.join(base, "_definitions.json")))["$defs"]
types = {}
short_names = {}


def short(ref):
    name = ref.rsplit("/", 1)[-1]
    if name in SPECIAL:
        return SPECIAL[name]
    short_name = name.rsplit(".", 1)[-1]
    if short_names.setdefault(short_name, name) != name:
        raise SystemExit(f"two types are named {short_name}: {name}, {short_names[short_name]}")
    if short_name not in types:
        types[short_name] = None  # placeholder against recursion
        types[short_name] = object_fields(defs[name])
    return short_name


def kind(schema):
    if "$ref" in schema:
        return short(schema["$ref"])
    if "oneOf" in schema or "anyOf" in schema:
        return "*"
    t = schema.get("type")
    t = [x for x in (t if isinstance(t, list) else [t]) if x != "null"]
    t = t[0] if t else None
    if t == "string":
        return "s"
    if t == "integer":
        return "i"
    if t == "number":
        return "n"
    if t == "boolean":
        return "b"
    if t == "array":
        return "[" + kind(schema.get("items", {})) + "]"
    if t == "object":
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            return "{" + kind(extra) + "}"
        return "*"
    return "*"


def object_fields(schema):
    required = set(schema.get("required", []))
    return {name: ("!" if name in required else "") + kind(field)
            for name, field in sorted(schema.get("properties", {}).items())}


roots = [short(root) for root in ROOTS]
out = os.path.join(os.path.dirname(__file__), "..", "src", "schema", "corev1.json")
with open(out, "w") as f:
    json.dump({"kubernetes": VERSION, "types": dict(sorted(types.items()))}, f, separators=(",", ":"))
    f.write("\n")
print(f"{out}: {len(types)} types from Kubernetes {VERSION}")
