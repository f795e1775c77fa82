#!/usr/bin/env bats
# The policy as Kubewarden users get it: pushed to an OCI registry with
# `kwctl push`, pulled back into a fresh store, inspected, run with
# `kwctl run registry://…`, and loaded by policy-server from the registry.
# The registry is Debian's docker-registry (`registry serve`) on loopback, a
# free port, storage in a temporary directory; kwctl is told it is insecure
# (plain HTTP) by a sources.yml. Needs kwctl and docker-registry (make
# tools), policy-server for the last test; skipped where they are missing.
# POLICY names the annotated module (make distribution-tests builds it).

setup_file() {
  command -v kwctl >/dev/null || skip "kwctl is not installed"
  REGISTRY_BIN="$(command -v docker-registry || command -v registry || true)"
  [ -n "$REGISTRY_BIN" ] || skip "docker-registry is not installed"
  export POLICY="${POLICY:-annotated-policy.wasm}"
  export DIST_DIR="$(mktemp -d)"
  free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
  local port
  port="$(free_port)"
  export REGISTRY="127.0.0.1:$port"
  cat > "$DIST_DIR/registry.yml" <<EOF
version: 0.1
storage:
  filesystem:
    rootdirectory: $DIST_DIR/storage
http:
  addr: $REGISTRY
log:
  level: error
EOF
  printf 'insecure_sources:\n  - "%s"\n' "$REGISTRY" > "$DIST_DIR/sources.yml"
  "$REGISTRY_BIN" serve "$DIST_DIR/registry.yml" > "$DIST_DIR/registry.log" 2>&1 &
  echo $! > "$DIST_DIR/registry.pid"
  for _ in $(seq 1 60); do
    curl -sf "http://$REGISTRY/v2/" >/dev/null && break
    sleep 0.5
  done
  curl -sf "http://$REGISTRY/v2/" >/dev/null || { cat "$DIST_DIR/registry.log" >&3; return 1; }
  # kwctl's store, fresh for this test file only.
  export XDG_CACHE_HOME="$DIST_DIR/cache"
  export POLICY_URI="registry://$REGISTRY/sidecarset:v$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"
  kwctl push --sources-path "$DIST_DIR/sources.yml" "$POLICY" "$POLICY_URI" > "$DIST_DIR/push.log" 2>&1 \
    || { cat "$DIST_DIR/push.log" >&3; return 1; }
}

teardown_file() {
  if [ -n "${DIST_DIR:-}" ]; then
    [ -f "$DIST_DIR/registry.pid" ] && kill "$(cat "$DIST_DIR/registry.pid")" 2>/dev/null
    [ -f "$DIST_DIR/server.pid" ] && kill "$(cat "$DIST_DIR/server.pid")" 2>/dev/null
    rm -rf "$DIST_DIR"
  fi
}

@test "distribution: the pushed policy pulls into a fresh store with the metadata of metadata.yml" {
  grep -q "Policy successfully pushed" "$DIST_DIR/push.log"
  run kwctl pull --sources-path "$DIST_DIR/sources.yml" "$POLICY_URI"
  echo "$output"
  [ "$status" -eq 0 ]
  [ -n "$(find "$XDG_CACHE_HOME/kubewarden/store" -type f -name 'sidecarset*')" ]
  kwctl inspect --sources-path "$DIST_DIR/sources.yml" -o yaml "$POLICY_URI" 2>/dev/null > "$DIST_DIR/inspect.yml"
  python3 - "$DIST_DIR/inspect.yml" <<'EOF'
import sys, yaml
pulled = yaml.safe_load(open(sys.argv[1]))
source = yaml.safe_load(open("metadata.yml"))
for key in ("rules", "mutating", "contextAwareResources", "backgroundAudit", "executionMode"):
    assert pulled.get(key) == source.get(key), (key, pulled.get(key), source.get(key))
for key, value in source["annotations"].items():
    assert pulled["annotations"].get(key) == value, (key, pulled["annotations"].get(key), value)
EOF
}

@test "distribution: kwctl run registry://… evaluates an example request" {
  run kwctl run --sources-path "$DIST_DIR/sources.yml" --request-path examples/requests/pod-checkout-create.json \
    --settings-path test_data/settings.yaml "$POLICY_URI"
  echo "$output"
  [ "$status" -eq 0 ]
  response="$(echo "$output" | grep '^{"uid"' | tail -n 1)"
  [ "$(echo "$response" | jq -r .allowed)" = "true" ]
  [ "$(echo "$response" | jq -r .patchType)" = "JSONPatch" ]
}

@test "distribution: policy-server loads the policy from the registry and answers an AdmissionReview" {
  command -v policy-server >/dev/null || skip "policy-server is not installed"
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1" \
    -keyout "$DIST_DIR/key.pem" -out "$DIST_DIR/cert.pem" 2>/dev/null
  python3 - "$POLICY_URI" "$DIST_DIR/policies.yml" <<'EOF'
import sys, yaml
spec = yaml.safe_load(open("examples/cluster-admission-policy.yaml"))["spec"]
yaml.safe_dump({"sidecarset": {"module": sys.argv[1], "allowedToMutate": True,
                               "settings": spec["settings"]}}, open(sys.argv[2], "w"))
EOF
  free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
  port="$(free_port)"
  readiness="$(free_port)"
  # policy-server 1.36.0-beta.1 writes the module below this directory
  # without creating the registry's directories itself.
  mkdir -p "$DIST_DIR/downloads/registry/$REGISTRY"
  (cd "$DIST_DIR" && exec policy-server --addr 127.0.0.1 --port "$port" --readiness-probe-port "$readiness" \
    --cert-file cert.pem --key-file key.pem --policies policies.yml --sources-path sources.yml \
    --policies-download-dir downloads --sigstore-cache-dir sigstore \
    --ignore-kubernetes-connection-failure --log-no-color > server.log 2>&1) &
  echo $! > "$DIST_DIR/server.pid"
  for _ in $(seq 1 120); do
    curl -sf "http://127.0.0.1:$readiness/readiness" >/dev/null && break
    sleep 0.5
  done
  jq '{apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: .}' \
    examples/requests/pod-checkout-create.json > "$DIST_DIR/review.json"
  run curl -sS --fail --cacert "$DIST_DIR/cert.pem" -H 'Content-Type: application/json' \
    --data @"$DIST_DIR/review.json" "https://127.0.0.1:$port/validate/sidecarset"
  echo "$output"
  [ "$status" -eq 0 ] || { cat "$DIST_DIR/server.log"; false; }
  [ "$(echo "$output" | jq -r .response.allowed)" = "true" ]
  [ "$(echo "$output" | jq -r .response.patchType)" = "JSONPatch" ]
  grep -q "$REGISTRY/sidecarset" "$DIST_DIR/server.log"
}

@test "distribution: artifacthub-pkg.yml is what kwctl scaffold artifacthub makes of metadata.yml and questions-ui.yml" {
  kwctl scaffold artifacthub --metadata-path metadata.yml --questions-path questions-ui.yml \
    --output "$DIST_DIR/artifacthub-pkg.yml" 2>/dev/null
  diff <(grep -v '^createdAt:' artifacthub-pkg.yml) <(grep -v '^createdAt:' "$DIST_DIR/artifacthub-pkg.yml")
}
