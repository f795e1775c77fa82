#!/usr/bin/env python3
"""Gives hand-written AdmissionRequests the defaults the API server adds
before a mutating webhook sees the object, so that test requests look like
what the policy gets in a cluster.

Usage: scripts/default-requests.py FILE...  (rewrites each file in place)

For Pods: the container defaults (imagePullPolicy, terminationMessagePath and
-Policy, port protocol), the Pod spec defaults (restartPolicy, dnsPolicy,
schedulerName, terminationGracePeriodSeconds, securityContext,
enableServiceLinks, priority, preemptionPolicy, serviceAccountName, the
not-ready/unreachable tolerations), volume defaults (defaultMode 420,
hostPath type "", fieldRef apiVersion v1) and the service-account token
volume the ServiceAccount admission plugin mounts into every container.
For workload templates: the same container, spec and volume defaults, but no
token volume (that is added when the Pod is created). Already-present fields
are kept; running it twice changes nothing.
"""
import json
import sys

TOKEN_VOLUME = "kube-api-access-x7k2p"
TOKEN_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


def container_defaults(c):
    image = c.get("image", "")
    tag = image.rsplit("/", 1)[-1]
    latest = "@" not in image and (":" not in tag or tag.endswith(":latest"))
    c.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    c.setdefault("resources", {})
    for port in c.get("ports") or []:
        port.setdefault("protocol", "TCP")


def field_refs(items):
    for item in items or []:
        if "fieldRef" in item:
            item["fieldRef"].setdefault("apiVersion", "v1")


def volume_defaults(v):
    for kind in ("configMap", "secret", "downwardAPI", "projected"):
        if kind in v:
            v[kind].setdefault("defaultMode", 420)
    if "downwardAPI" in v:
        field_refs(v["downwardAPI"].get("items"))
    if "hostPath" in v:
        v["hostPath"].setdefault("type", "")


def spec_defaults(spec, pod):
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(key) or []:
            container_defaults(c)
    for v in spec.get("volumes") or []:
        volume_defaults(v)
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    if not pod:
        return
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    spec.setdefault("tolerations", [
        {"key": f"node.kubernetes.io/{t}", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
        for t in ("not-ready", "unreachable")
    ])
    volumes = spec.setdefault("volumes", [])
    if not any(v.get("name", "").startswith("kube-api-access-") for v in volumes):
        volumes.append({"name": TOKEN_VOLUME, "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
        ]}})
        for key in ("initContainers", "containers"):
            for c in spec.get(key) or []:
                c.setdefault("volumeMounts", []).append(
                    {"name": TOKEN_VOLUME, "readOnly": True, "mountPath": TOKEN_MOUNT})


def template_spec(obj, kind):
    spec = obj.get("spec") or {}
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = spec.get("template") or {}
    return template.get("spec")


def default_request(request):
    for key in ("object", "oldObject"):
        obj = request.get(key)
        if not isinstance(obj, dict):
            continue
        kind = request.get("kind", {}).get("kind")
        if kind == "Pod" and isinstance(obj.get("spec"), dict):
            spec_defaults(obj["spec"], pod=True)
        elif kind != "Pod":
            spec = template_spec(obj, kind)
            if isinstance(spec, dict):
                spec_defaults(spec, pod=False)


def main():
    for path in sys.argv[1:]:
        with open(path) as f:
            document = json.load(f)
        default_request(document.get("request", document))
        with open(path, "w") as f:
            json.dump(document, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
