#!/usr/bin/env python3
"""Writes examples/cluster/pods.json: what `kubectl get namespaces,pods -n
shop -o json` shows in a cluster that has run examples/rollout-policy.yaml
for a while. The Pods are injected by the policy itself (kubectl-sidecarset
render, the policy's own code), then given the status a kubelet reports:

- web (ReplicaSet web-6d4b9c, 3 Pods): created before the Namespace shop
  followed the canary channel: revision current, now behind the Namespace's
  pin (upgradeable in place); one of them has fluent-bit not ready;
- api (ReplicaSet api-58f7c4, 2 Pods): created after: revision v3-3, current;
- report (ReplicaSet report-7c9d5f, 1 Pod): injected when log-shipper had
  other args: the set changed in more than images (recreate);
- legacy (a bare Pod): created while the policy was not running (missing).

Usage: scripts/make-cluster-example.py BINARY > examples/cluster/pods.json
"""
import copy
import json
import subprocess
import sys
import tempfile

BINARY = sys.argv[1]
POLICY = "examples/rollout-policy.yaml"
PIN = "sidecarset.kubewarden.io/revision.log-shipper=canary"


def render(pod, namespace_labels, policy=POLICY):
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump(pod, f)
        f.flush()
        out = subprocess.run([BINARY, "--policy", policy, "render", "-f", f.name,
                              "--namespace-labels", namespace_labels],
                             check=True, capture_output=True, text=True).stdout
    import yaml
    return yaml.safe_load(out)


def pod(name, app, owner, uid):
    p = {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": name, "namespace": "shop",
                      "labels": {"tier": "web", "app.kubernetes.io/name": app}},
         "spec": {"containers": [{"name": app, "image": "registry.example.com/shop/%s:1.0.0" % app,
                                  "ports": [{"containerPort": 8080}]}]}}
    if owner:
        p["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner,
                                             "uid": uid, "controller": True, "blockOwnerDeletion": True}]
    return p


def running(p, n, unready=()):
    p = copy.deepcopy(p)
    meta = p["metadata"]
    meta["uid"] = "0b5e%04d-7d3c-4c1e-9a55-1c2d3e4f5a6b" % n
    meta["resourceVersion"] = str(1000 + n)
    meta["creationTimestamp"] = "2026-12-01T10:%02d:00Z" % n
    statuses, init_statuses = [], []
    for c in p["spec"].get("initContainers", []):
        sidecar = c.get("restartPolicy") == "Always"
        ready = sidecar and c["name"] not in unready
        s = {"name": c["name"], "image": c["image"], "imageID": "", "ready": ready, "restartCount": 0,
             "containerID": "containerd://%s-%d" % (c["name"], n), "started": sidecar, "state": {"running": {"startedAt": meta["creationTimestamp"]}} if sidecar
             else {"terminated": {"exitCode": 0, "reason": "Completed"}}}
        init_statuses.append(s)
    for c in p["spec"]["containers"]:
        ready = c["name"] not in unready
        s = {"name": c["name"], "image": c["image"], "imageID": "", "ready": ready, "restartCount": 0,
             "containerID": "containerd://%s-%d" % (c["name"], n), "started": True, "state": {"running": {"startedAt": meta["creationTimestamp"]}}}
        statuses.append(s)
    for s in init_statuses + statuses:
        if s["name"] in unready:
            s["state"] = {"waiting": {"reason": "CrashLoopBackOff"}}
            s["restartCount"] = 4
    all_ready = not unready
    p["status"] = {"phase": "Running", "podIP": "10.1.0.%d" % n,
                   "conditions": [{"type": "Ready", "status": "True" if all_ready else "False"},
                                  {"type": "ContainersReady", "status": "True" if all_ready else "False"}],
                   "initContainerStatuses": init_statuses, "containerStatuses": statuses}
    if not init_statuses:
        del p["status"]["initContainerStatuses"]
    return p


def main():
    # An owner whose canary bucket is outside the 30%: its Pods got current.
    web_uid = "7f9d2b1c-4e5a-4b6c-8d7e-0a1b2c3d4e5f"
    items = [{"apiVersion": "v1", "kind": "Namespace",
              "metadata": {"name": "shop", "labels": {"kubernetes.io/metadata.name": "shop",
                                                       "sidecarset.kubewarden.io/revision.log-shipper": "canary"}}}]
    n = 1
    for suffix, unready in (("4xk2p", ()), ("9vq7s", ("fluent-bit",)), ("m2hdz", ())):
        p = render(pod("web-6d4b9c-" + suffix, "web", "web-6d4b9c", web_uid), "")
        items.append(running(p, n, unready)); n += 1
    for suffix in ("c8w2n", "t5r9x"):
        p = render(pod("api-58f7c4-" + suffix, "api", "api-58f7c4", "2c4e6a8b-1d3f-4a5b-9c7d-e9f1a3b5c7d9"), PIN)
        items.append(running(p, n)); n += 1
    # log-shipper as it was: other args.
    import yaml
    old = yaml.safe_load(open(POLICY))
    old["spec"]["settings"]["sidecarSets"][0]["containers"][0]["args"] = ["--config=/fluent-bit/etc/old.yaml"]
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        yaml.safe_dump(old, f)
        f.flush()
        p = render(pod("report-7c9d5f-b7k4q", "report", "report-7c9d5f", "5a7c9e1b-3d5f-4b7d-8e9f-a1b3c5d7e9f1"), "", f.name)
    items.append(running(p, n)); n += 1
    items.append(running(pod("legacy", "legacy", None, None), n))
    json.dump({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items},
              sys.stdout, indent=2)
    sys.stdout.write("\n")


main()
