#!/usr/bin/env bash
# make bench-kwctl: Kubewarden's own `kwctl bench` (one instance reused, its
# path) on the policy and the two floors, with the same request and the
# example policy's settings (case 1 of the instruction counts: the Namespace
# is not granted, so the Pod Security check steps aside, as there). Writes
# target/kwctl-bench.md. Times swing ±30% on a shared 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
KWCTL="${KWCTL:-kwctl}"
command -v "$KWCTL" >/dev/null || { echo "bench-kwctl: kwctl is not installed; skipped"; exit 0; }
request=test_data/requests/pod-replicaset-create.json
settings=target/kwctl-bench-settings.json
"${PYTHON:-target/tools/bin/python3}" -c '
import json, sys, yaml
policy = yaml.safe_load(open("examples/cluster-admission-policy.yaml"))
json.dump(policy["spec"]["settings"], open(sys.argv[1], "w"))
' "$settings"
median() {
  # The "med = …" of kwctl bench's validate line, in microseconds.
  sed 's/\x1b\[[0-9;]*m//g' | awk '/^validate \[/ {getline; print}' |
    sed -n 's/.*med = \([0-9.]*\)\(µs\|ms\|ns\).*/\1 \2/p' |
    awk '{v=$1; if ($2=="ms") v*=1000; if ($2=="ns") v/=1000; printf "%.1f", v}'
}
declare -A med
for module in annotated-policy.wasm target/floor.wasm target/floor-mutating.wasm; do
  med[$module]="$("$KWCTL" bench --request-path "$request" --settings-path "$settings" \
    --warm-up-time 2 --measurement-time 5 --num-samples 50 "$module" 2>/dev/null | median)"
done
policy="${med[annotated-policy.wasm]}"; floor="${med[target/floor.wasm]}"; mfloor="${med[target/floor-mutating.wasm]}"
{
  echo "| kwctl bench, case 1 (median of validate) | policy | floor | mutating floor | policy / floor | policy / mutating floor |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: |"
  awk -v p="$policy" -v f="$floor" -v m="$mfloor" \
    'BEGIN { printf "| one instance reused | %s µs | %s µs | %s µs | %.2f× | %.2f× |\n", p, f, m, p / f, p / m }'
} | tee target/kwctl-bench.md
