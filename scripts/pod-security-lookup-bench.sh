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
# shellcheck source=scripts/lib/bench.sh
. scripts/lib/bench.sh
LABELS="${LABELS:-{\}}"
need_tools "pod security bench" policy-server kwctl wrk openssl curl jq
API="$(free_port)"
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
export KUBECONFIG="$DIR/kubeconfig"
start_policy_server
write_review test_data/requests/pod-replicaset-create.json
for name in on off; do
  review "$name"
  jq -e '.response.patch' "$DIR/$name.json" >/dev/null
done
# The check read the Namespace (no "not checked" warning); off read nothing.
if jq -e '.response.warnings // [] | any(startswith("Pod Security not checked"))' "$DIR/on.json" >/dev/null; then
  echo "the Namespace was not read:"; jq -r '.response.warnings[0]' "$DIR/on.json"; exit 1
fi
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
