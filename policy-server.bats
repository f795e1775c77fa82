#!/usr/bin/env bats
# The policy in Kubewarden's real policy-server, as a cluster runs it: TLS on
# loopback (a self-signed certificate made here), the annotated module loaded
# from a policies.yml with the example ClusterAdmissionPolicy's settings and
# allowedToMutate, and AdmissionReviews (admission.k8s.io/v1) sent with curl.
# Needs policy-server and kwctl (.ci/run unpacks them where CI provides them),
# openssl, curl, jq, jsonpatch and a python3 with PyYAML (make tools).
# POLICY names the annotated module (make policy-server-tests builds it).

setup_file() {
  command -v policy-server >/dev/null || skip "policy-server is not installed"
  export POLICY="${POLICY:-annotated-policy.wasm}"
  export PS_DIR="$(mktemp -d)"
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1" \
    -keyout "$PS_DIR/key.pem" -out "$PS_DIR/cert.pem" 2>/dev/null
  # The example's settings, under the name the URL uses; and the rollout
  # tests' settings, as a second policy.
  python3 - "$PWD/$POLICY" "$PS_DIR/policies.yml" <<'EOF'
import sys, yaml
policy = yaml.safe_load(open("examples/cluster-admission-policy.yaml"))
spec = policy["spec"]
rollout = yaml.safe_load(open("test_data/settings-rollout.yaml"))
yaml.safe_dump({"sidecarset": {
    "module": "file://" + sys.argv[1],
    "allowedToMutate": True,
    "policyMode": spec["mode"],
    "settings": spec["settings"],
}, "sidecarset-rollout": {
    "module": "file://" + sys.argv[1],
    "allowedToMutate": True,
    "policyMode": spec["mode"],
    "settings": rollout,
}}, open(sys.argv[2], "w"))
EOF
  free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
  export PS_PORT="$(free_port)"
  local readiness_port
  readiness_port="$(free_port)"
  (cd "$PS_DIR" && exec policy-server --addr 127.0.0.1 --port "$PS_PORT" \
    --readiness-probe-port "$readiness_port" \
    --cert-file cert.pem --key-file key.pem --policies policies.yml \
    --policies-download-dir . --sigstore-cache-dir sigstore \
    --ignore-kubernetes-connection-failure --log-no-color > server.log 2>&1) &
  echo $! > "$PS_DIR/pid"
  for _ in $(seq 1 120); do
    curl -sf "http://127.0.0.1:$readiness_port/readiness" >/dev/null && return 0
    kill -0 "$(cat "$PS_DIR/pid")" 2>/dev/null || break
    sleep 0.5
  done
  cat "$PS_DIR/server.log" >&3
  echo "policy-server did not become ready" >&3
  return 1
}

teardown_file() {
  if [ -n "${PS_DIR:-}" ]; then
    [ -f "$PS_DIR/pid" ] && kill "$(cat "$PS_DIR/pid")" 2>/dev/null
    rm -rf "$PS_DIR"
  fi
}

setup() {
  TMP="$(mktemp -d)"
}

teardown() {
  rm -rf "$TMP"
}

# Sends the AdmissionRequest of $1 in an AdmissionReview to the policy $2
# (default sidecarset); the response is in $TMP/response.json.
review() {
  jq '{apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: .}' "$1" > "$TMP/review.json"
  curl -sS --fail --cacert "$PS_DIR/cert.pem" -H 'Content-Type: application/json' \
    --data @"$TMP/review.json" "https://127.0.0.1:$PS_PORT/validate/${2:-sidecarset}" > "$TMP/response.json"
  jq -c '.response | del(.patch)' "$TMP/response.json"
}

# The request of $1 with its object patched by the last response, in $2.
apply_patch() {
  jq -r .response.patch "$TMP/response.json" | base64 -d > "$TMP/patch.json"
  jq .object "$1" > "$TMP/object.json"
  jsonpatch "$TMP/object.json" "$TMP/patch.json" > "$TMP/patched.json"
  jq --slurpfile object "$TMP/patched.json" '.object = $object[0]' "$1" > "$2"
}

@test "policy-server: a Pod CREATE gets its sidecars in start order over TLS, and a second review changes nothing" {
  request=examples/requests/pod-checkout-create.json
  run review "$request"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(jq -r .apiVersion "$TMP/response.json")" = "admission.k8s.io/v1" ]
  [ "$(jq -r .response.uid "$TMP/response.json")" = "$(jq -r .uid "$request")" ]
  [ "$(jq -r .response.allowed "$TMP/response.json")" = "true" ]
  [ "$(jq -r .response.patchType "$TMP/response.json")" = "JSONPatch" ]
  apply_patch "$request" "$TMP/injected.json"
  [ "$(jq -c '[.object.spec.initContainers[] | [.name, .restartPolicy]]' "$TMP/injected.json")" = '[["mesh-init",null],["envoy","Always"],["fluent-bit","Always"]]' ]
  [ "$(jq -c '[.object.spec.containers[].name]' "$TMP/injected.json")" = '["checkout"]' ]
  [ "$(jq -r '.object.metadata.annotations["sidecarset.kubewarden.io/status"] | fromjson | .startOrder | join(",")' "$TMP/injected.json")" = "mesh-init,envoy,fluent-bit,checkout" ]
  # The explain warning says what each edge waits for.
  [ "$(jq -r '.response.warnings[] | select(startswith("start order"))' "$TMP/response.json")" = "start order: mesh-init → envoy (sidecar) → fluent-bit (sidecar) → [checkout]; fluent-bit after envoy is ready; envoy after mesh-init has completed" ]
  # No cluster here to read the Namespace from: Pod Security steps aside,
  # the Pod is told, and nothing is refused.
  [[ "$(jq -r '.response.warnings[0]' "$TMP/response.json")" == 'Pod Security not checked before the API server: Namespace "shop" could not be read ('*'); the API server still enforces its level. Grant the policy v1/Namespace (contextAwareResources) or set checkPodSecurity: false' ]]
  run review "$TMP/injected.json"
  [ "$status" -eq 0 ]
  [ "$(jq -r .response.allowed "$TMP/response.json")" = "true" ]
  [ "$(jq -r '.response.patch // "none"' "$TMP/response.json")" = "none" ]
}

@test "policy-server: a conflict is a rejection with the policy's message" {
  run review examples/requests/pod-search-conflict-create.json
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(jq -r .response.allowed "$TMP/response.json")" = "false" ]
  [ "$(jq -r .response.status.message "$TMP/response.json")" = 'sidecar set "mesh": container "envoy" cannot be injected: spec.containers[1] already has that name; rename the container in the Pod or in the set, or opt the Pod out with the annotation sidecarset.kubewarden.io/skip: mesh' ]
}

@test "policy-server: a workload UPDATE is judged by its template" {
  create=examples/requests/deployment-search-create.json
  run review "$create"
  [ "$status" -eq 0 ]
  [ "$(jq -r .response.allowed "$TMP/response.json")" = "false" ]
  # The controller's bookkeeping (status, annotations) with the template unchanged.
  jq '.operation = "UPDATE" | .oldObject = .object | .object.metadata.annotations["deployment.kubernetes.io/revision"] = "2"' "$create" > "$TMP/update.json"
  run review "$TMP/update.json"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(jq -r .response.allowed "$TMP/response.json")" = "true" ]
  [ "$(jq -r '.response.patch // "none"' "$TMP/response.json")" = "none" ]
  # A template edit is checked: its Pods would still be rejected.
  jq '.object.spec.template.metadata.labels.release = "2"' "$TMP/update.json" > "$TMP/edit.json"
  run review "$TMP/edit.json"
  echo "$output"
  [ "$(jq -r .response.allowed "$TMP/response.json")" = "false" ]
  [[ "$(jq -r .response.status.message "$TMP/response.json")" == "spec.template: the Pods of this Deployment would be rejected: "* ]]
}

@test "policy-server: a Pod UPDATE asking for an upgrade moves its sidecar in place" {
  create=test_data/requests/pod-replicaset-create.json
  run review "$create" sidecarset-rollout
  [ "$status" -eq 0 ]
  apply_patch "$create" "$TMP/injected.json"
  # The owner's canary bucket (25) is below 30%: v3-3.
  [ "$(jq -r '.object.spec.initContainers[] | select(.name == "fluent-bit") | .image' "$TMP/injected.json")" = "cr.fluentbit.io/fluent/fluent-bit:3.3.0" ]
  jq '.operation = "UPDATE" | .oldObject = .object
      | .object.metadata.annotations["sidecarset.kubewarden.io/revision.log-shipper"] = "current"
      | .object.metadata.annotations["sidecarset.kubewarden.io/upgrade"] = "log-shipper"' "$TMP/injected.json" > "$TMP/update.json"
  run review "$TMP/update.json" sidecarset-rollout
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(jq -r .response.allowed "$TMP/response.json")" = "true" ]
  apply_patch "$TMP/update.json" "$TMP/upgraded.json"
  [ "$(jq -r '.object.spec.initContainers[] | select(.name == "fluent-bit") | .image' "$TMP/upgraded.json")" = "cr.fluentbit.io/fluent/fluent-bit:3.2.4" ]
  [ "$(jq -r '.object.metadata.labels["sidecarset.kubewarden.io/rev.log-shipper"]' "$TMP/upgraded.json")" = "current" ]
  [ "$(jq -r '.object.metadata.annotations["sidecarset.kubewarden.io/upgrade"] // "removed"' "$TMP/upgraded.json")" = "removed" ]
}
