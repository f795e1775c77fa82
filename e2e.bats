#!/usr/bin/env bats
# End-to-end tests: the policy as a Kubewarden user runs it, with `kwctl run`.
# KWCTL names the binary (make e2e-tests uses the host/ runner where kwctl is
# not installed), POLICY the module (annotated-policy.wasm by default).
# Needs bats, jq, base64 and jsonpatch (pip install jsonpatch).

setup() {
  KWCTL="${KWCTL:-kwctl}"
  POLICY="${POLICY:-annotated-policy.wasm}"
  FIXTURES="../shared/fixtures/requests"
  SETTINGS="test_data/settings.yaml"
  TMP="$(mktemp -d)"
}

teardown() {
  rm -rf "$TMP"
}

# The AdmissionResponse line of $output (kwctl logs go to stderr).
response() {
  echo "$output" | grep '^{"uid"' | tail -n 1
}

# The decoded JSON Patch of the response.
patch() {
  response | jq -r .patch | base64 -d
}

# Writes the request of $1 with its object patched by the response to $2.
apply_patch() {
  patch > "$TMP/patch.json"
  jq .object "$1" > "$TMP/object.json"
  jsonpatch "$TMP/object.json" "$TMP/patch.json" > "$TMP/patched.json"
  jq --slurpfile object "$TMP/patched.json" '.object = $object[0]' "$1" > "$2"
}

@test "inject: a ReplicaSet's Pod gets the log shipper and the mesh proxy as native sidecars" {
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-path "$SETTINGS" "$POLICY"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  [ "$(response | jq -r .allowed)" = "true" ]
  [ "$(response | jq -r .patchType)" = "JSONPatch" ]
  injected="$(patch | jq -c '.[] | select(.path == "/spec/initContainers") | [.value[] | [.name, .restartPolicy]]')"
  echo "init containers = ${injected}"
  [ "$injected" = '[["fluent-bit","Always"],["mesh-init",null],["envoy","Always"]]' ]
}

@test "idempotent: evaluating the injected Pod again gives no patch" {
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-path "$SETTINGS" "$POLICY"
  [ "$status" -eq 0 ]
  apply_patch "$FIXTURES/pod-replicaset-create.json" "$TMP/second.json"
  run "$KWCTL" run --request-path "$TMP/second.json" --settings-path "$SETTINGS" "$POLICY"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  [ "$(response | jq -r .allowed)" = "true" ]
  [ "$(response | jq -r '.patch // "none"')" = "none" ]
}

@test "nothing lost: fields newer than the policy's Kubernetes types survive injection" {
  request="$FIXTURES/pod-newer-fields-create.json"
  run "$KWCTL" run --request-path "$request" --settings-path "$SETTINGS" "$POLICY"
  [ "$status" -eq 0 ]
  apply_patch "$request" "$TMP/patched-request.json"
  for field in .spec.resources .spec.hostnameOverride '.spec.containers[] | select(.name == "search")'; do
    [ "$(jq -cS ".object | $field" "$request")" = "$(jq -cS ".object | $field" "$TMP/patched-request.json")" ]
  done
  [ "$(jq -r '.object.spec.containers[] | select(.name == "search") | .lifecycle.stopSignal' "$TMP/patched-request.json")" = "SIGUSR1" ]
}

@test "conflict: a Pod that already has a container of a sidecar's name is rejected with the field path" {
  run "$KWCTL" run --request-path test_data/requests/pod-name-conflict.json --settings-path "$SETTINGS" "$POLICY"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  [ "$(response | jq -r .allowed)" = "false" ]
  [ "$(response | jq -r .status.message)" = 'sidecar set "log-shipper": container "fluent-bit" cannot be injected: spec.containers[1] already has that name; rename the container in the Pod or in the set, or opt the Pod out with the annotation sidecarset.kubewarden.io/skip: log-shipper' ]
}

@test "conflict: a volume of the same name and another definition is rejected" {
  run "$KWCTL" run --request-path test_data/requests/pod-volume-conflict.json --settings-path "$SETTINGS" "$POLICY"
  [ "$status" -eq 0 ]
  [ "$(response | jq -r .allowed)" = "false" ]
  [ $(expr "$output" : '.*volume \\"varlog\\" cannot be injected: spec.volumes\[0\] has the same name and a different definition.*') -ne 0 ]
}

@test "opt-out: sidecarset.kubewarden.io/inject=false skips every set" {
  run "$KWCTL" run --request-path test_data/requests/pod-opt-out-all.json --settings-path "$SETTINGS" "$POLICY"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  [ "$(response | jq -r .allowed)" = "true" ]
  [ "$(response | jq -r '.patch // "none"')" = "none" ]
}

@test "opt-out: sidecarset.kubewarden.io/skip skips the named set only" {
  run "$KWCTL" run --request-path test_data/requests/pod-skip-log-shipper.json --settings-path "$SETTINGS" "$POLICY"
  [ "$status" -eq 0 ]
  [ "$(patch | jq -c '[.[] | select(.path == "/spec/initContainers") | .value[].name]')" = '["mesh-init","envoy"]' ]
}

@test "other requests: an Ingress, a Deployment and a Pod UPDATE are accepted unchanged" {
  for request in ingress-create.json deployment-create.json pod-update-labels.json; do
    run "$KWCTL" run --request-path "$FIXTURES/$request" --settings-path "$SETTINGS" "$POLICY"
    echo "$request: ${output}"
    [ "$status" -eq 0 ]
    [ "$(response | jq -r .allowed)" = "true" ]
    [ "$(response | jq -r '.patch // "none"')" = "none" ]
  done
}

@test "an AdmissionReview is read like the request it wraps" {
  run "$KWCTL" run --request-path test_data/requests/admission-review-pod.json --settings-json '{"sidecarSets":[{"name":"mesh","selector":{},"containers":[{"name":"envoy","image":"envoyproxy/envoy:v1.33.0"}]}]}' "$POLICY"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  [ "$(response | jq -r .uid)" = "t-13" ]
  [ "$(response | jq -r .allowed)" = "true" ]
  [ $(expr "$(patch)" : '.*"name":"envoy".*"restartPolicy":"Always".*') -ne 0 ]
}

@test "invalid settings: an unknown field is refused with its path" {
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-json '{"sidecarSets":[{"name":"mesh","selector":{},"podInjectionPolicy":"BeforeAppContainer"}]}' "$POLICY"
  echo "output = ${output}"
  [ "$status" -ne 0 ]
  [ $(expr "$output" : '.*Provided settings are not valid.*') -ne 0 ]
  [ $(expr "$output" : '.*sidecarSets\[0\].podInjectionPolicy: unknown field `podInjectionPolicy`, expected one of.*') -ne 0 ]
}

@test "invalid settings: OpenKruise controller fields are explained" {
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-json '{"sidecarSets":[{"name":"mesh","selector":{},"updateStrategy":{"type":"RollingUpdate"}}]}' "$POLICY"
  echo "output = ${output}"
  [ "$status" -ne 0 ]
  [ $(expr "$output" : '.*sidecarSets\[0\].updateStrategy: not supported: this policy injects sidecars at Pod admission only.*') -ne 0 ]
}

@test "the example ClusterAdmissionPolicy injects into the example Pod" {
  sed "s|^\(  module:\).*|\1 file://$PWD/$POLICY|" examples/cluster-admission-policy.yaml > "$TMP/policy.yaml"
  run "$KWCTL" run --request-path examples/requests/pod-checkout-create.json "$TMP/policy.yaml"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  [ "$(response | jq -r .allowed)" = "true" ]
  [ "$(patch | jq -c '[.[] | select(.path == "/spec/initContainers") | .value[].name]')" = '["fluent-bit","mesh-init","envoy"]' ]
}

@test "the example ClusterAdmissionPolicy rejects the example conflict" {
  sed "s|^\(  module:\).*|\1 file://$PWD/$POLICY|" examples/cluster-admission-policy.yaml > "$TMP/policy.yaml"
  run "$KWCTL" run --request-path examples/requests/pod-search-conflict-create.json "$TMP/policy.yaml"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  [ "$(response | jq -r .allowed)" = "false" ]
  [ $(expr "$output" : '.*sidecar set \\"mesh\\": container \\"envoy\\" cannot be injected: spec.containers\[1\] already has that name.*') -ne 0 ]
}
