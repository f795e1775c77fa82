#!/usr/bin/env python3
"""`make run` where Kubewarden's kwctl is installed: evaluates requests with
`kwctl run` and prints what `sidecarset-host explain` prints (the request,
the decision, the warnings, the JSON Patch and the start order of the
resulting Pod), from kwctl's AdmissionResponse. The host/ runner (wasmtime,
minutes to build) is then not needed for a first result.

Usage: explain-with-kwctl.py --policy annotated-policy.wasm
         --settings-path examples/cluster-admission-policy.yaml
         [--allow-context-aware] [--replay-host-capabilities-interactions FILE]
         [--changes] REQUEST.json...
With --changes (make run), what the patch changes in the Pod is printed by
name (containers and init containers added or changed field by field,
volumes, pull secrets, annotations and labels) instead of kwctl's JSON
Patch, whose operations address containers by position.
The settings path is a ClusterAdmissionPolicy (its module is replaced by the
policy file) or a settings file. Only the standard library is used.
"""
import argparse
import base64
import json
import os
import re
import subprocess
import sys
import tempfile


def pointer_parts(path):
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def apply_patch(doc, operations):
    """RFC 6902 add, remove, replace, move and copy, as kwctl's diff uses them."""
    def parent(path):
        parts = pointer_parts(path)
        node = doc
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node, parts[-1]

    for op in operations:
        kind = op["op"]
        if kind in ("move", "copy"):
            source, key = parent(op["from"])
            value = source[int(key)] if isinstance(source, list) else source[key]
            if kind == "move":
                if isinstance(source, list):
                    del source[int(key)]
                else:
                    del source[key]
            op = {"op": "add", "path": op["path"], "value": json.loads(json.dumps(value))}
            kind = "add"
        node, key = parent(op["path"])
        if isinstance(node, list):
            index = len(node) if key == "-" else int(key)
            if kind == "add":
                node.insert(index, op["value"])
            elif kind == "remove":
                del node[index]
            elif kind == "replace":
                node[index] = op["value"]
        else:
            if kind in ("add", "replace"):
                node[key] = op["value"]
            elif kind == "remove":
                del node[key]
    return doc


def describe_request(request):
    obj = request.get("object") or {}
    metadata = obj.get("metadata") or {}
    name = metadata.get("name") or metadata.get("generateName") or "-"
    return "%s %s %s/%s" % (request.get("operation", "-"),
                            (request.get("kind") or {}).get("kind", "-"),
                            request.get("namespace", "-"), name)


def start_order(pod):
    lines = []
    spec = pod.get("spec") or {}
    for container in spec.get("initContainers") or []:
        native = container.get("restartPolicy") == "Always"
        if native and "startupProbe" in container:
            kind = "native sidecar  (next starts once its startupProbe passes)"
        elif native:
            kind = "native sidecar  (next starts once it has started)"
        else:
            kind = "init container  (runs to completion)"
        lines.append("%-16s %s" % (container.get("name", "?"), kind))
    for container in spec.get("containers") or []:
        lines.append("%-16s container" % container.get("name", "?"))
    return lines


def compact(value, limit=100):
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), sort_keys=True,
                                                          ensure_ascii=False)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def by_name(items):
    """A list of objects by their names (env, ports, volumes, …), or None
    where an entry has no name."""
    if not isinstance(items, list) or not all(isinstance(i, dict) and "name" in i for i in items):
        return None
    return {i["name"]: i for i in items}


def field_changes(before, after):
    """What changed in an object (a container), field by field; the entries
    of a list of named objects by name (env by variable, volumeMounts by
    volume, ports by name)."""
    out = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if key not in before:
            out.append("%s added: %s" % (key, describe_value(new)))
        elif key not in after:
            out.append("%s removed" % key)
        elif by_name(old) is not None and by_name(new) is not None:
            olds, news = by_name(old), by_name(new)
            added = [n for n in news if n not in olds]
            removed = [n for n in olds if n not in news]
            changed = [n for n in news if n in olds and news[n] != olds[n]]
            for what, names in (("added", added), ("removed", removed), ("changed", changed)):
                if names:
                    out.append("%s %s: %s" % (key, what, ", ".join(names)))
            if not (added or removed or changed):
                out.append("%s reordered: %s" % (key, ", ".join(news)))
        else:
            out.append("%s: %s → %s" % (key, compact(old, 60), compact(new, 60)))
    return out


def describe_value(value):
    named = by_name(value)
    return ", ".join(named) if named else compact(value)


def describe_changes(before, after):
    """What a JSON Patch changed in a Pod, keyed by names, not positions:
    containers and init containers added (with their images) or changed
    (field by field), volumes and pull secrets added, annotations and
    labels added or changed, other fields of the spec."""
    lines = []
    for part in ("annotations", "labels"):
        old = (before.get("metadata") or {}).get(part) or {}
        new = (after.get("metadata") or {}).get(part) or {}
        for key in sorted(set(old) | set(new)):
            if key not in new:
                lines.append("metadata.%s[%s] removed" % (part, key))
            elif key == "sidecarset.kubewarden.io/status":
                if old.get(key) != new[key]:
                    lines.append("metadata.%s[%s] %s: the policy's record of what it injected" % (
                        part, key, "added" if key not in old else "changed"))
            elif key not in old:
                lines.append("metadata.%s[%s] added: %s" % (part, key, compact(new[key])))
            elif old[key] != new[key]:
                lines.append("metadata.%s[%s]: %s → %s" % (part, key, compact(old[key]), compact(new[key])))
    spec_old, spec_new = before.get("spec") or {}, after.get("spec") or {}
    for part in ("initContainers", "containers"):
        old = by_name(spec_old.get(part) or []) or {}
        new = by_name(spec_new.get(part) or []) or {}
        for name, container in new.items():
            if name not in old:
                lines.append("spec.%s[%s] added: image %s%s" % (
                    part, name, container.get("image", "-"),
                    ", restartPolicy Always (a native sidecar)" if container.get("restartPolicy") == "Always" else ""))
            else:
                changes = field_changes(old[name], container)
                lines.extend("spec.%s[%s] %s" % (part, name, c) for c in changes)
        for name in old:
            if name not in new:
                lines.append("spec.%s[%s] removed" % (part, name))
        order_old = [n for n in old if n in new]
        order_new = [n for n in new if n in old]
        if order_old != order_new:
            lines.append("spec.%s reordered: %s" % (part, ", ".join(order_new)))
    for key in sorted(set(spec_old) | set(spec_new)):
        if key in ("initContainers", "containers") or spec_old.get(key) == spec_new.get(key):
            continue
        old, new = by_name(spec_old.get(key) or []), by_name(spec_new.get(key) or [])
        if old is not None and new is not None:
            added = [n for n in new if n not in old]
            changed = [n for n in new if n in old and new[n] != old[n]]
            removed = [n for n in old if n not in new]
            for what, names in (("added", added), ("changed", changed), ("removed", removed)):
                if names:
                    lines.append("spec.%s %s: %s" % (key, what, ", ".join(names)))
            if not (added or changed or removed):
                lines.append("spec.%s reordered: %s" % (key, ", ".join(new)))
        elif key not in spec_old:
            lines.append("spec.%s added: %s" % (key, compact(spec_new[key])))
        elif key not in spec_new:
            lines.append("spec.%s removed" % key)
        else:
            lines.append("spec.%s: %s → %s" % (key, compact(spec_old[key]), compact(spec_new[key])))
    return lines


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--policy", required=True)
    parser.add_argument("--settings-path", required=True)
    parser.add_argument("--allow-context-aware", action="store_true")
    parser.add_argument("--replay-host-capabilities-interactions")
    parser.add_argument("--kwctl", default=os.environ.get("KWCTL", "kwctl"))
    parser.add_argument("--changes", action="store_true",
                        help="print what the patch changes, by name, instead of its operations")
    parser.add_argument("requests", nargs="+")
    args = parser.parse_args()

    with open(args.settings_path) as f:
        text = f.read()
    tmp = tempfile.TemporaryDirectory()
    command = [args.kwctl, "run"]
    if re.search(r"^kind: ClusterAdmissionPolicy", text, re.M):
        # The policy itself, its module the local file (as e2e.bats runs it).
        policy = os.path.join(tmp.name, "policy.yaml")
        module = "file://" + os.path.abspath(args.policy)
        with open(policy, "w") as f:
            f.write(re.sub(r"^(  module:).*$", r"\1 " + module, text, flags=re.M))
        target = [policy]
    else:
        command += ["--settings-path", args.settings_path]
        target = [args.policy]
    if args.allow_context_aware:
        command.append("--allow-context-aware")
    if args.replay_host_capabilities_interactions:
        command += ["--replay-host-capabilities-interactions",
                    args.replay_host_capabilities_interactions]

    for path in args.requests:
        with open(path) as f:
            request = json.load(f)
        request = request.get("request", request)
        result = subprocess.run(command + ["--request-path", path] + target,
                                capture_output=True, text=True)
        answers = [line for line in result.stdout.splitlines() if line.startswith('{"uid"')]
        if result.returncode != 0 or not answers:
            sys.stderr.write(result.stderr)
            sys.exit("kwctl run failed on %s" % path)
        response = json.loads(answers[-1])
        operations = json.loads(base64.b64decode(response["patch"])) if response.get("patch") else []
        print("── " + path)
        print("   request:  " + describe_request(request))
        if not response.get("allowed"):
            decision = "rejected"
        elif not operations:
            decision = "accepted, unchanged"
        else:
            decision = "accepted with a JSON Patch of %d operations" % len(operations)
        print("   decision: " + decision)
        message = (response.get("status") or {}).get("message")
        if message:
            print("   message:  " + message)
        for warning in response.get("warnings") or []:
            print("   warning:  " + warning)
        if operations:
            pod = apply_patch(json.loads(json.dumps(request.get("object"))), operations)
            if args.changes:
                print("   changes (the patch applied, by name):")
                for line in describe_changes(request.get("object") or {}, pod):
                    print("     " + line)
            else:
                print("   patch:")
                for operation in operations:
                    print("     " + json.dumps(operation, separators=(",", ":"), sort_keys=True,
                                              ensure_ascii=False))
            print("   start order of the resulting Pod:")
            for i, line in enumerate(start_order(pod), 1):
                print("     %2d. %s" % (i, line))
        print()


if __name__ == "__main__":
    main()
