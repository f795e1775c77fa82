#!/usr/bin/env python3
# A stand-in for the Kubernetes API server, on loopback, for
# scripts/pod-security-lookup-bench.sh: the discovery documents and the
# Namespaces policy-server reads for a context-aware policy
# (kubernetes/get_resource), every Namespace labelled with argv[2] (JSON).
# Each request is logged on stderr.
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
LABELS = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        p = self.path.split('?')[0]
        sys.stderr.write("GET %s\n" % self.path); sys.stderr.flush()
        body = None
        if p == '/version': body = {"major": "1", "minor": "36", "gitVersion": "v1.36.0", "platform": "linux/amd64"}
        elif p == '/api': body = {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        elif p == '/apis': body = {"kind": "APIGroupList", "apiVersion": "v1", "groups": []}
        elif p == '/api/v1': body = {"kind": "APIResourceList", "groupVersion": "v1", "resources": [{"name": "namespaces", "singularName": "namespace", "namespaced": False, "kind": "Namespace", "verbs": ["get", "list", "watch"]}]}
        elif p.startswith('/api/v1/namespaces/'):
            name = p.rsplit('/', 1)[1]
            labels = {"kubernetes.io/metadata.name": name}; labels.update(LABELS)
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "resourceVersion": "1", "uid": "u-" + name, "labels": labels}}
        elif p == '/api/v1/namespaces':
            body = {"apiVersion": "v1", "kind": "NamespaceList", "metadata": {"resourceVersion": "1"}, "items": []}
        if body is None:
            self.send_response(404); b = b'{"kind":"Status","apiVersion":"v1","status":"Failure","code":404}'
        else:
            self.send_response(200); b = json.dumps(body).encode()
        self.send_header("Content-Type", "application/json"); self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
    def log_message(self, *a): pass
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
