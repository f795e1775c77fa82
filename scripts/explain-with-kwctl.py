#!/usr/bin/env python3
"""`make run` where Kubewarden's kwctl is installed: evaluates requests with
`kwctl run` and prints what `sidecarset-host explain` prints (the request,
the decision, the warnings, the JSON Patch and the start order of the
resulting Pod), from kwctl's AdmissionResponse. The host/ runner (wasmtime,
minutes to build) is then not needed for a first result.

Usage: explain-with-kwctl.py --policy annotated-policy.wasm
         --settings-path examples/cluster-admission-policy.yaml
         [--allow-context-aware] [--replay-host-capabilities-interactions FILE]
         REQUEST.json...
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--policy", required=True)
    parser.add_argument("--settings-path", required=True)
    parser.add_argument("--allow-context-aware", action="store_true")
    parser.add_argument("--replay-host-capabilities-interactions")
    parser.add_argument("--kwctl", default=os.environ.get("KWCTL", "kwctl"))
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
            print("   patch:")
            for operation in operations:
                print("     " + json.dumps(operation, separators=(",", ":"), sort_keys=True,
                                          ensure_ascii=False))
            pod = apply_patch(json.loads(json.dumps(request.get("object"))), operations)
            print("   start order of the resulting Pod:")
            for i, line in enumerate(start_order(pod), 1):
                print("     %2d. %s" % (i, line))
        print()


if __name__ == "__main__":
    main()
