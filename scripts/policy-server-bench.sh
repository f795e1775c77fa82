#!/usr/bin/env bash
# The policy's cost through Kubewarden's real policy-server, next to the
# floor policies (floor/), as a cluster pays it: one policy-server on
# loopback with TLS, the three modules loaded side by side with the example
# ClusterAdmissionPolicy's settings, and wrk (4 connections) sending the
# ReplicaSet Pod's AdmissionReview to each in turn, ROUNDS times. Prints the
# requests per second of each round and the median cost ratios; writes the
# table to target/policy-server-bench.md.
#
#   make bench-policy-server        (make bench runs it where installed)
#
# Needs policy-server and kwctl (Kubewarden's releases; CI unpacks them into
# target/tools/bin), wrk, openssl, curl, jq and python3 with PyYAML.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/bench.sh
. scripts/lib/bench.sh
REQUEST="${REQUEST:-test_data/requests/pod-replicaset-create.json}"
need_tools "policy-server bench" policy-server kwctl wrk openssl curl jq

# The floors are annotated as mutating policies, as the policy is, so that
# policy-server treats the three alike.
cat > "$DIR/floor-metadata.yml" <<'EOF'
rules:
  - apiGroups: [""]
    apiVersions: ["v1"]
    resources: ["pods"]
    operations: ["CREATE"]
mutating: true
executionMode: kubewarden-wapc
annotations:
  io.kubewarden.policy.title: floor
  io.kubewarden.policy.description: the least a policy costs
  io.kubewarden.policy.author: sidecarset-policy developers
  io.kubewarden.policy.url: https://github.com/kubewarden-contrib/sidecarset-policy
  io.kubewarden.policy.source: https://github.com/kubewarden-contrib/sidecarset-policy
  io.kubewarden.policy.license: Apache-2.0
EOF
kwctl annotate -m metadata.yml -o "$DIR/policy.wasm" policy.wasm >/dev/null
kwctl annotate -m "$DIR/floor-metadata.yml" -o "$DIR/floor.wasm" target/floor.wasm >/dev/null
kwctl annotate -m "$DIR/floor-metadata.yml" -o "$DIR/floor-mutating.wasm" target/floor-mutating.wasm >/dev/null

python3 - "$DIR" <<'EOF'
import sys, yaml
d = sys.argv[1]
settings = yaml.safe_load(open("examples/cluster-admission-policy.yaml"))["spec"]["settings"]
yaml.safe_dump({name: {
    "module": f"file://{d}/{name}.wasm",
    "allowedToMutate": True,
    "policyMode": "protect",
    "settings": settings,
} for name in ["policy", "floor", "floor-mutating"]}, open(f"{d}/policies.yml", "w"))
EOF
start_policy_server --ignore-kubernetes-connection-failure
write_review "$REQUEST"
# Each module must answer as intended: the policy and the mutating floor
# with a patch, the floor without.
for name in policy floor floor-mutating; do
  review "$name"
  jq -e '.response.allowed' "$DIR/$name.json" >/dev/null
done
jq -e '.response.patch' "$DIR/policy.json" >/dev/null
jq -e '.response.patch' "$DIR/floor-mutating.json" >/dev/null

# Warm-up: the first requests pay for lazily made pools.
rps policy >/dev/null
echo "round | policy (req/s) | floor (req/s) | mutating floor (req/s) | policy / floor | policy / mutating floor"
RATIOS_FLOOR=()
RATIOS_MUTATING=()
for round in $(seq 1 "$ROUNDS"); do
  p="$(rps policy)"; f="$(rps floor)"; m="$(rps floor-mutating)"
  rf="$(python3 -c "print(f'{$f / $p:.2f}')")"
  rm_="$(python3 -c "print(f'{$m / $p:.2f}')")"
  RATIOS_FLOOR+=("$rf"); RATIOS_MUTATING+=("$rm_")
  echo "$round | $p | $f | $m | ${rf}× | ${rm_}×"
done
mf="$(median "${RATIOS_FLOOR[@]}")"
mm="$(median "${RATIOS_MUTATING[@]}")"
mkdir -p target
{
  echo "| through policy-server (TLS, wrk, 4 connections, ${ROUNDS} rounds of ${SECONDS_PER_RUN} s) | median cost ratio |"
  echo "| --- | ---: |"
  echo "| policy / floor | **${mf}×** |"
  echo "| policy / mutating floor | ${mm}× |"
} | tee target/policy-server-bench.md
