#!/usr/bin/env bash
# What the Pod Security check costs through Kubewarden's real policy-server:
# the example policy granted v1/Namespace and kubernetes/get_resource, with
# policy-server reading Namespaces from a stand-in API server on loopback
# (scripts/fake-kube-api.py; policy-server caches what it reads), against
# the same settings with checkPodSecurity: false and explain off in both.
# wrk (4 connections) sends the ReplicaSet Pod's AdmissionReview to each in
# turn, ROUNDS times; prints requests per second and the median ratio, and
# how many Namespace reads reached the API server.
#
#   make bench-pod-security
#
# Needs policy-server and kwctl (target/tools/bin or PATH), wrk, openssl,
# curl, jq and python3 with PyYAML.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/wrk.sh
. scripts/lib/wrk.sh
ROUNDS="${ROUNDS:-3}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-5}"
LABELS="${LABELS:-{\}}"
for tool in policy-server kwctl wrk openssl curl jq; do
  command -v "$tool" >/dev/null 2>&1 || { echo "pod security bench: skipped: $tool is not installed"; exit 0; }
done
DIR="$(mktemp -d)"
cleanup() {
  for p in "$DIR"/*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
  rm -rf "$DIR"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
API="$(free_port)"; PORT="$(free_port)"; READY="$(free_port)"
python3 scripts/fake-kube-api.py "$API" "$LABELS" 2> "$DIR/api.log" &
echo $! > "$DIR/api.pid"
cat > "$DIR/kubeconfig" <<EOF2
apiVersion: v1
kind: Config
clusters: [{name: fake, cluster: {server: "http://127.0.0.1:$API"}}]
contexts: [{name: fake, context: {cluster: fake, user: fake}}]
current-context: fake
users: [{name: fake, user: {token: fake}}]
EOF2
python3 - "$PWD/annotated-policy.wasm" "$DIR/policies.yml" <<'EOF2'
import sys, yaml
settings = yaml.safe_load(open("examples/cluster-admission-policy.yaml"))["spec"]["settings"]
settings["explain"] = False
off = dict(settings, checkPodSecurity=False)
grant = {"contextAwareResources": [{"apiVersion": "v1", "kind": "Namespace"}],
         "hostCapabilities": ["kubernetes/get_resource"]}
common = {"module": "file://" + sys.argv[1], "allowedToMutate": True, "policyMode": "protect"}
yaml.safe_dump({"on": dict(common, settings=settings, **grant),
                "off": dict(common, settings=off, **grant)}, open(sys.argv[2], "w"))
EOF2
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$DIR/key.pem" -out "$DIR/cert.pem" 2>/dev/null
(cd "$DIR" && KUBECONFIG="$DIR/kubeconfig" exec policy-server --addr 127.0.0.1 --port "$PORT" \
  --readiness-probe-port "$READY" --cert-file cert.pem --key-file key.pem \
  --policies policies.yml --policies-download-dir . --sigstore-cache-dir sigstore \
  --log-level error --log-no-color > server.log 2>&1) &
echo $! > "$DIR/server.pid"
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$READY/readiness" >/dev/null && break; sleep 0.5; done
curl -sf "http://127.0.0.1:$READY/readiness" >/dev/null || { cat "$DIR/server.log"; exit 1; }
jq '{apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: .}' \
  test_data/requests/pod-replicaset-create.json > "$DIR/review.json"
for name in on off; do
  curl -sS --fail --cacert "$DIR/cert.pem" -H 'Content-Type: application/json' \
    --data @"$DIR/review.json" "https://127.0.0.1:$PORT/validate/$name" > "$DIR/$name.json"
  jq -e '.response.patch' "$DIR/$name.json" >/dev/null
done
# The check read the Namespace (no "not checked" warning); off read nothing.
if jq -e '.response.warnings // [] | any(startswith("Pod Security not checked"))' "$DIR/on.json" >/dev/null; then
  echo "the Namespace was not read:"; jq -r '.response.warnings[0]' "$DIR/on.json"; exit 1
fi
write_post_lua "$DIR"
rps() { wrk_rps "$DIR" "https://127.0.0.1:$PORT/validate/$1"; }
rps on >/dev/null
before="$(grep -c 'namespaces/shop' "$DIR/api.log" || true)"
echo "round | check on (req/s) | checkPodSecurity: false (req/s) | off / on"
RATIOS=()
for round in $(seq 1 "$ROUNDS"); do
  on="$(rps on)"; off="$(rps off)"
  r="$(python3 -c "print(f'{$off / $on:.2f}')")"
  RATIOS+=("$r")
  echo "$round | $on | $off | ${r}×"
done
after="$(grep -c 'namespaces/shop' "$DIR/api.log" || true)"
echo "median cost of the check (off / on): $(median "${RATIOS[@]}")×; Namespace reads that reached the API server during the rounds: $((after - before))"
