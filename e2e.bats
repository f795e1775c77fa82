#!/usr/bin/env bats
# End-to-end tests: the policy as a Kubewarden user runs it, with `kwctl run`.
# KWCTL names the binary (make e2e-tests uses the host/ runner where kwctl is
# not installed), POLICY the module (annotated-policy.wasm by default).
# Needs bats, jq and base64 only (what Kubewarden's release job installs:
# kwctl, bats, cosign, syft, binaryen): patches are applied with jq, and the
# settings the tests edit are read from their JSON twins
# (test_data/settings*.json, kept equal to the YAML by tests/settings_schema.rs).

setup() {
  KWCTL="${KWCTL:-kwctl}"
  POLICY="${POLICY:-annotated-policy.wasm}"
  FIXTURES="test_data/requests"
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

# Applies the JSON Patch (RFC 6902: add, remove, replace, as kwctl and the
# API server's webhooks write them) in file $2 to the document in file $1.
json_patch() {
  jq --slurpfile patch "$2" '
    def segments($p): $p | ltrimstr("/") | if . == "" then [] else split("/") | map(gsub("~1"; "/") | gsub("~0"; "~")) end;
    def at($doc; $p): reduce segments($p)[] as $s ([]; . as $path | ($doc | getpath($path) | type) as $t
      | $path + [if $t == "array" then (if $s == "-" then ($doc | getpath($path) | length) else ($s | tonumber) end) else $s end]);
    reduce $patch[0][] as $op (.;
      at(.; $op.path) as $path
      | if $op.op == "remove" then delpaths([$path])
        elif $op.op == "replace" then setpath($path; $op.value)
        elif $op.op == "add" and ($path | length) > 0 and (getpath($path[:-1]) | type) == "array"
        then setpath($path[:-1]; getpath($path[:-1]) | .[:$path[-1]] + [$op.value] + .[$path[-1]:])
        elif $op.op == "add" then setpath($path; $op.value)
        else error("JSON Patch op \($op.op) is not applied here") end)' "$1"
}

# Writes the request of $1 with its object patched by the response to $2.
apply_patch() {
  patch > "$TMP/patch.json"
  jq .object "$1" > "$TMP/object.json"
  json_patch "$TMP/object.json" "$TMP/patch.json" > "$TMP/patched.json"
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

@test "other requests: an Ingress, a conflict-free Deployment and a Pod UPDATE are accepted unchanged" {
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
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-json '{"sidecarSets":[{"name":"mesh","selector":{},"injectionStrategy":{"revision":{"customVersion":"v1"}}}]}' "$POLICY"
  echo "output = ${output}"
  [ "$status" -ne 0 ]
  [ $(expr "$output" : '.*sidecarSets\[0\].injectionStrategy.revision: not supported: it needs OpenKruise.s controller; this policy rolls sidecars out with revisions.*') -ne 0 ]
}

@test "OpenKruise's updateStrategy is accepted and changes nothing at admission; a bad one is a settings error" {
  set_json='{"name":"mesh","selector":{},"containers":[{"name":"envoy","image":"envoyproxy/envoy:v1.33.0"}]'
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-json "{\"sidecarSets\":[${set_json}}]}" "$POLICY"
  [ "$status" -eq 0 ]
  without="$(response | jq -c '[.allowed, .patch]')"
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-json "{\"sidecarSets\":[${set_json},\"updateStrategy\":{\"type\":\"RollingUpdate\",\"maxUnavailable\":\"20%\",\"partition\":1,\"paused\":false,\"selector\":{\"matchLabels\":{\"a\":\"b\"}}}}]}" "$POLICY"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  [ "$(response | jq -c '[.allowed, .patch]')" = "$without" ]
  [ "$without" != '[true,null]' ]
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-json "{\"sidecarSets\":[${set_json},\"updateStrategy\":{\"maxUnavailable\":0}}]}" "$POLICY"
  echo "output = ${output}"
  [ "$status" -ne 0 ]
  [ $(expr "$output" : '.*sidecarSets\[0\].updateStrategy.maxUnavailable: must be at least 1 (or 1%): 0 would never upgrade a Pod.*') -ne 0 ]
}

@test "the example ClusterAdmissionPolicy injects into the example Pod" {
  sed "s|^\(  module:\).*|\1 file://$PWD/$POLICY|" examples/cluster-admission-policy.yaml > "$TMP/policy.yaml"
  run "$KWCTL" run --replay-host-capabilities-interactions examples/replay/namespace-shop.yml --request-path examples/requests/pod-checkout-create.json "$TMP/policy.yaml"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  [ "$(response | jq -r .allowed)" = "true" ]
  [ "$(patch | jq -c '[.[] | select(.path == "/spec/initContainers") | .value[].name]')" = '["mesh-init","envoy","fluent-bit"]' ]
}

@test "the example ClusterAdmissionPolicy rejects the example conflict" {
  sed "s|^\(  module:\).*|\1 file://$PWD/$POLICY|" examples/cluster-admission-policy.yaml > "$TMP/policy.yaml"
  run "$KWCTL" run --replay-host-capabilities-interactions examples/replay/namespace-shop.yml --request-path examples/requests/pod-search-conflict-create.json "$TMP/policy.yaml"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  [ "$(response | jq -r .allowed)" = "false" ]
  [ $(expr "$output" : '.*sidecar set \\"mesh\\": container \\"envoy\\" cannot be injected: spec.containers\[1\] already has that name.*') -ne 0 ]
}

@test "order: a proxy, then the init container that needs it, then a sidecar after the Pod's own init container" {
  run "$KWCTL" run --request-path "$FIXTURES/pod-own-init-and-native-sidecar-create.json" --settings-path test_data/settings-ordering.yaml "$POLICY"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  [ "$(response | jq -r .allowed)" = "true" ]
  apply_patch "$FIXTURES/pod-own-init-and-native-sidecar-create.json" "$TMP/ordered.json"
  order="$(jq -c '[.object.spec.initContainers[].name]' "$TMP/ordered.json")"
  echo "order = ${order}"
  [ "$order" = '["envoy","schema-check","cloud-sql-proxy","db-migrate","fluent-bit"]' ]
  # waitForReady: a startupProbe derived from the readinessProbe gates the next one.
  [ "$(jq -cS '.object.spec.initContainers[0].startupProbe' "$TMP/ordered.json")" = '{"failureThreshold":60,"httpGet":{"path":"/ready","port":9901},"periodSeconds":1}' ]
  # explain: true puts the start order in the warnings, with what each edge
  # waits for (fluent-bit's set also runs its init container first).
  # Not granted v1/Namespace (no --allow-context-aware): Pod Security is not
  # checked before the API server, and the Pod is told; never a rejection.
  [ "$(response | jq -r '.warnings[0]')" = "Pod Security not checked before the API server: Namespace \"shop\" could not be read (Policy has not been granted access to Kubernetes v1/Namespace resources. The violation has been reported.); the API server still enforces its level. Grant the policy v1/Namespace (contextAwareResources) or set checkPodSecurity: false" ]
  [ "$(response | jq -r '.warnings[1]')" = "start order: envoy (sidecar) → schema-check → cloud-sql-proxy (sidecar) → db-migrate → fluent-bit (sidecar) → [orders]; schema-check after envoy is ready; fluent-bit after envoy is ready; fluent-bit after db-migrate has completed; fluent-bit after schema-check has completed" ]
}

@test "order: a dependency that is not in the Pod is dropped with a warning" {
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-path test_data/settings-ordering.yaml "$POLICY"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  [ "$(response | jq -r .allowed)" = "true" ]
  [ "$(response | jq -r '.warnings[1]')" = "dependency dropped: fluent-bit (sidecar set db-client) depends on db-migrate, which is not an init container or earlier sidecar of this Pod" ]
}

@test "order: a dependsOn cycle is refused with the cycle" {
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-json '{"sidecarSets":[{"name":"a","selector":{},"containers":[{"name":"envoy","image":"e","waitForReady":true,"readinessProbe":{"tcpSocket":{"port":1}},"dependsOn":["schema-check"]}],"initContainers":[{"name":"schema-check","image":"s","dependsOn":["envoy"]}]}]}' "$POLICY"
  echo "output = ${output}"
  [ "$status" -ne 0 ]
  [[ "$output" == *"sidecarSets[0].initContainers[0].dependsOn: dependsOn cycle: schema-check → envoy → schema-check; remove one of these dependencies"* ]]
}

@test "jobs: a regular-mode set's sidecars become native sidecars in a Job's Pod" {
  run "$KWCTL" run --request-path "$FIXTURES/pod-job-create.json" --settings-path test_data/settings-ordering.yaml "$POLICY"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  apply_patch "$FIXTURES/pod-job-create.json" "$TMP/job.json"
  [ "$(jq -c '[.object.spec.initContainers[] | [.name, .restartPolicy]]' "$TMP/job.json")" = '[["envoy","Always"],["statsd","Always"]]' ]
  [ "$(jq -c '[.object.spec.containers[].name]' "$TMP/job.json")" = '["report","metrics-pusher"]' ]
  [ "$(response | jq -r '.warnings[0]')" = "metrics-pusher (sidecar set batch-metrics) runs after the app containers as a regular container: it can keep this Pod (restartPolicy: Never) from completing" ]
}

@test "mandatory: a Pod cannot opt out of a mandatory set" {
  jq '.object.metadata.annotations["sidecarset.kubewarden.io/inject"] = "false"' "$FIXTURES/pod-replicaset-create.json" > "$TMP/opt-out.json"
  run "$KWCTL" run --request-path "$TMP/opt-out.json" --settings-path test_data/settings-ordering.yaml "$POLICY"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  [ "$(patch | jq -c '[.[] | select(.path == "/spec/initContainers") | .value[].name]')" = '["envoy"]' ]
  [ "$(response | jq -r '.warnings[0]')" = "sidecar set mesh is mandatory: the Pod's sidecarset.kubewarden.io/inject annotation does not apply to it" ]
}

@test "verify: accepts the Pod inject mode produced, rejects the original and a misordered copy" {
  sed 's/^mode: inject$/mode: verify/' test_data/settings-ordering.yaml > "$TMP/verify.yaml"
  grep -q '^mode: verify$' "$TMP/verify.yaml"
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-path test_data/settings-ordering.yaml "$POLICY"
  [ "$status" -eq 0 ]
  apply_patch "$FIXTURES/pod-replicaset-create.json" "$TMP/injected.json"

  run "$KWCTL" run --request-path "$TMP/injected.json" --settings-path "$TMP/verify.yaml" "$POLICY"
  echo "injected: ${output}"
  [ "$status" -eq 0 ]
  [ "$(response | jq -r .allowed)" = "true" ]
  [ "$(response | jq -r '.patch // "none"')" = "none" ]

  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-path "$TMP/verify.yaml" "$POLICY"
  echo "original: ${output}"
  [ "$(response | jq -r .allowed)" = "false" ]
  [ "$(response | jq -r .status.message)" = "the Pod does not hold what its sidecar sets inject: missing sidecar mesh/envoy; missing init container db-client/schema-check; missing sidecar db-client/fluent-bit; recreate the Pod so that the injecting policy adds the sidecars, or fix its manifest" ]

  jq '.object.spec.initContainers |= [.[1], .[0], .[2]]' "$TMP/injected.json" > "$TMP/misordered.json"
  run "$KWCTL" run --request-path "$TMP/misordered.json" --settings-path "$TMP/verify.yaml" "$POLICY"
  echo "misordered: ${output}"
  [ "$(response | jq -r .allowed)" = "false" ]
  [ "$(response | jq -r .status.message)" = "the Pod does not hold what its sidecar sets inject: schema-check starts before its dependency envoy (a \"ready\" edge: schema-check must start once envoy is ready); recreate the Pod so that the injecting policy adds the sidecars, or fix its manifest" ]
}

@test "verify: the audit example policy passes the Pod the example policy injected" {
  sed "s|^\(  module:\).*|\1 file://$PWD/$POLICY|" examples/cluster-admission-policy.yaml > "$TMP/policy.yaml"
  # protect instead of monitor: the policy's own answer is what is checked.
  sed -e "s|^\(  module:\).*|\1 file://$PWD/$POLICY|" -e "s|^  mode: monitor$|  mode: protect|" examples/verify-audit-policy.yaml > "$TMP/audit.yaml"
  grep -q "^  mode: protect$" "$TMP/audit.yaml"
  run "$KWCTL" run --replay-host-capabilities-interactions examples/replay/namespace-shop.yml --request-path examples/requests/pod-checkout-create.json "$TMP/policy.yaml"
  [ "$status" -eq 0 ]
  apply_patch examples/requests/pod-checkout-create.json "$TMP/injected.json"
  run "$KWCTL" run --replay-host-capabilities-interactions examples/replay/namespace-shop.yml --request-path "$TMP/injected.json" "$TMP/audit.yaml"
  echo "injected: ${output}"
  [ "$status" -eq 0 ]
  [ "$(response | jq -r .allowed)" = "true" ]
  run "$KWCTL" run --replay-host-capabilities-interactions examples/replay/namespace-shop.yml --request-path examples/requests/pod-checkout-create.json "$TMP/audit.yaml"
  echo "not injected: ${output}"
  [ "$(response | jq -r .allowed)" = "false" ]
  [ "$(response | jq -r .status.message)" = 'the Pod does not hold what its sidecar sets inject: missing sidecar log-shipper/fluent-bit; missing volume log-shipper/fluent-bit-config; metadata.annotations["fluentbit.io/parser"] does not hold what sidecar set log-shipper writes there (patchPodMetadata, Retain); missing init container mesh/mesh-init; missing sidecar mesh/envoy; missing volume mesh/envoy-config; imagePullSecrets lacks mesh-registry of sidecar set mesh; recreate the Pod so that the injecting policy adds the sidecars, or fix its manifest' ]
}

@test "order: a diamond (report after left and right, both after base) in one start order" {
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-json '{"sidecarSets":[{"name":"d","selector":{},"initContainers":[{"name":"report","image":"r","dependsOn":["left","right"]},{"name":"right","image":"r","dependsOn":["base"]},{"name":"left","image":"l","dependsOn":["base"]},{"name":"base","image":"b"}]}]}' "$POLICY"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  [ "$(patch | jq -c '[.[] | select(.path == "/spec/initContainers") | .value[].name]')" = '["base","right","left","report"]' ]
}

@test "gating: waitForReady on a regular sidecar without a postStart hook is refused with both ways out" {
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-json '{"nativeSidecars":false,"sidecarSets":[{"name":"mesh","selector":{},"containers":[{"name":"envoy","image":"e","waitForReady":true,"readinessProbe":{"tcpSocket":{"port":1}}}]}]}' "$POLICY"
  echo "output = ${output}"
  [ "$status" -ne 0 ]
  [[ "$output" == *"sidecarSets[0].containers[0].waitForReady: envoy: a regular sidecar (nativeSidecars: false) can only hold the next container through a lifecycle.postStart hook that blocks until it is ready; either make the set native (nativeSidecars: true)"* ]]
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-json '{"nativeSidecars":false,"sidecarSets":[{"name":"mesh","selector":{},"containers":[{"name":"envoy","image":"e","waitForReady":true,"lifecycle":{"postStart":{"exec":{"command":["pilot-agent","wait"]}}}}]}]}' "$POLICY"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  apply_patch "$FIXTURES/pod-replicaset-create.json" "$TMP/regular.json"
  [ "$(jq -c '[.object.spec.containers[].name]' "$TMP/regular.json")" = '["envoy","checkout"]' ]
}

@test "jobs: jobPods skip leaves a Job's Pod out of regular-mode sets, asConfigured injects them as regular containers" {
  sed 's/^jobPods: native$/jobPods: skip/' test_data/settings-ordering.yaml > "$TMP/skip.yaml"
  run "$KWCTL" run --request-path "$FIXTURES/pod-job-create.json" --settings-path "$TMP/skip.yaml" "$POLICY"
  echo "skip: ${output}"
  [ "$status" -eq 0 ]
  [ "$(response | jq -r '.warnings[0]')" = "sidecar set batch-metrics not injected: its regular sidecars would keep this Pod (restartPolicy: Never) from completing (jobPods: skip)" ]
  [ "$(patch | jq -c '[.[] | select(.path == "/spec/initContainers") | .value[].name]')" = '["envoy"]' ]
  sed 's/^jobPods: native$/jobPods: asConfigured/' test_data/settings-ordering.yaml > "$TMP/as-configured.yaml"
  run "$KWCTL" run --request-path "$FIXTURES/pod-job-create.json" --settings-path "$TMP/as-configured.yaml" "$POLICY"
  echo "asConfigured: ${output}"
  [ "$status" -eq 0 ]
  apply_patch "$FIXTURES/pod-job-create.json" "$TMP/job.json"
  [ "$(jq -c '[.object.spec.containers[].name]' "$TMP/job.json")" = '["statsd","report","metrics-pusher"]' ]
}

@test "verify: a Pod injected from an older definition of a set is stale" {
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-path test_data/settings-ordering.yaml "$POLICY"
  [ "$status" -eq 0 ]
  apply_patch "$FIXTURES/pod-replicaset-create.json" "$TMP/injected.json"
  sed -e 's/^mode: inject$/mode: verify/' -e 's|envoyproxy/envoy:v1.33.0|envoyproxy/envoy:v1.34.0|' test_data/settings-ordering.yaml > "$TMP/newer.yaml"
  run "$KWCTL" run --request-path "$TMP/injected.json" --settings-path "$TMP/newer.yaml" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "false" ]
  [[ "$(response | jq -r .status.message)" == "the Pod does not hold what its sidecar sets inject: sidecar set mesh is stale: the Pod records definition "*", the set's current one is "*"; mesh/envoy runs envoyproxy/envoy:v1.33.0, the set wants envoyproxy/envoy:v1.34.0; recreate the Pod so that the injecting policy adds the sidecars, or fix its manifest" ]]
}

# SidecarSet parity and scoping (test_data/settings-parity.yaml). The mesh set
# has a namespaceSelector: its Namespace comes from a kwctl replay file.
PARITY="test_data/settings-parity.yaml"

@test "parity: the log shipper gets the app's env (transferEnv) and mounts (shareVolumePolicy)" {
  run "$KWCTL" run --allow-context-aware --replay-host-capabilities-interactions test_data/replay/namespace-shop.yml \
    --request-path "$FIXTURES/pod-replicaset-create.json" --settings-path "$PARITY" "$POLICY"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  [ "$(response | jq -r .allowed)" = "true" ]
  apply_patch "$FIXTURES/pod-replicaset-create.json" "$TMP/parity.json"
  shipper='.object.spec.initContainers[] | select(.name == "fluent-bit")'
  [ "$(jq -c "[$shipper | .env[].name]" "$TMP/parity.json")" = '["DB_HOST","POD_NAME"]' ]
  [ "$(jq -c "[$shipper | .volumeMounts[].mountPath]" "$TMP/parity.json")" = '["/var/log/app","/etc/checkout","/var/run/secrets/kubernetes.io/serviceaccount"]' ]
  [ "$(jq -c "$shipper | .env[1].valueFrom" "$TMP/parity.json")" = '{"fieldRef":{"apiVersion":"v1","fieldPath":"metadata.name"}}' ]
  [ "$(response | jq -r '.warnings[0]')" = 'fluent-bit (sidecar set log-shipper): transferEnv[1]: app container "checkout" has no variable LOG_LEVEL; not copied' ]
  # The Namespace carries istio-injection=enabled: the mesh set applies.
  [ "$(jq -c '[.object.spec.initContainers[].name]' "$TMP/parity.json")" = '["fluent-bit","envoy"]' ]
}

@test "scoping: a set with a namespaceSelector skips a Namespace without its label" {
  run "$KWCTL" run --allow-context-aware --replay-host-capabilities-interactions test_data/replay/namespace-shop-unlabelled.yml \
    --request-path "$FIXTURES/pod-replicaset-create.json" --settings-path "$PARITY" "$POLICY"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  [ "$(patch | jq -c '[.[] | select(.path == "/spec/initContainers") | .value[].name]')" = '["fluent-bit"]' ]
}

@test "scoping: a hostNetwork Pod gets only the sets that opt in" {
  run "$KWCTL" run --request-path "$FIXTURES/pod-hostnetwork-create.json" --settings-path "$PARITY" "$POLICY"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  [ "$(patch | jq -c '[.[] | select(.path == "/spec/initContainers") | .value[].name]')" = '["node-log-agent"]' ]
  run "$KWCTL" run --request-path "$FIXTURES/pod-hostnetwork-create.json" --settings-path "$SETTINGS" "$POLICY"
  echo "default settings: ${output}"
  [ "$(response | jq -r .allowed)" = "true" ]
  [ "$(response | jq -r '.patch // "none"')" = "none" ]
}

@test "scoping: Pods in kube-system are never injected" {
  jq '.namespace = "kube-system" | .object.metadata.namespace = "kube-system"' "$FIXTURES/pod-replicaset-create.json" > "$TMP/kube-system.json"
  run "$KWCTL" run --request-path "$TMP/kube-system.json" --settings-path "$SETTINGS" "$POLICY"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  [ "$(response | jq -r .allowed)" = "true" ]
  [ "$(response | jq -r '.patch // "none"')" = "none" ]
}

@test "workloads: a CronJob whose Pods would conflict is rejected at its template, never patched" {
  run "$KWCTL" run --request-path test_data/requests/cronjob-create.json --settings-path "$SETTINGS" "$POLICY"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  [ "$(response | jq -r .allowed)" = "false" ]
  [ "$(response | jq -r '.patch // "none"')" = "none" ]
  [ "$(response | jq -r .status.message)" = 'spec.jobTemplate.spec.template: the Pods of this CronJob would be rejected: sidecar set "log-shipper": container "fluent-bit" cannot be injected: spec.jobTemplate.spec.template.spec.containers[0] already has that name; rename the container in the Pod or in the set, or opt the Pod out with the annotation sidecarset.kubewarden.io/skip: log-shipper' ]
}

@test "workloads: a Deployment is accepted without a patch, with the warnings its Pods would get" {
  run "$KWCTL" run --allow-context-aware --replay-host-capabilities-interactions test_data/replay/namespace-shop.yml \
    --request-path "$FIXTURES/deployment-create.json" --settings-path "$PARITY" "$POLICY"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  [ "$(response | jq -r .allowed)" = "true" ]
  [ "$(response | jq -r '.patch // "none"')" = "none" ]
  [[ "$(response | jq -r '.warnings[0]')" == "spec.template: fluent-bit (sidecar set log-shipper): transferEnv[0]: app container \"checkout\" has no variable DB_HOST; not copied" ]]
}

@test "record, not proof: a forged status annotation neither skips a set nor removes the Pod's own container" {
  request="$FIXTURES/pod-replicaset-create.json"
  run "$KWCTL" run --request-path "$request" --settings-path "$SETTINGS" "$POLICY"
  [ "$status" -eq 0 ]
  apply_patch "$request" "$TMP/injected.json"
  hash="$(jq -r '.object.metadata.annotations["sidecarset.kubewarden.io/status"] | fromjson | .sets[] | select(.name == "mesh") | .hash' "$TMP/injected.json")"
  # The current hash, read off an injected Pod, claimed by a Pod without sidecars.
  jq --arg s "{\"sets\":[{\"name\":\"mesh\",\"hash\":\"$hash\"},{\"name\":\"log-shipper\",\"hash\":\"0\",\"containers\":[\"checkout\"]}]}" \
    '.object.metadata.annotations["sidecarset.kubewarden.io/status"] = $s' "$request" > "$TMP/forged.json"
  run "$KWCTL" run --request-path "$TMP/forged.json" --settings-path "$SETTINGS" "$POLICY"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  [ "$(response | jq -r .allowed)" = "true" ]
  apply_patch "$TMP/forged.json" "$TMP/forged-injected.json"
  [ "$(jq -c '[.object.spec.initContainers[].name]' "$TMP/forged-injected.json")" = '["fluent-bit","mesh-init","envoy"]' ]
  [ "$(jq -c '[.object.spec.containers[].name]' "$TMP/forged-injected.json")" = '["checkout"]' ]
}

@test "defaulted objects: the set's own configMap volume, as the API server stores it, is reused" {
  jq '.object.spec.volumes += [{"name": "envoy-config", "configMap": {"name": "envoy-sidecar", "defaultMode": 420}}]' \
    examples/requests/pod-checkout-create.json > "$TMP/declared.json"
  sed "s|^\(  module:\).*|\1 file://$PWD/$POLICY|" examples/cluster-admission-policy.yaml > "$TMP/policy.yaml"
  run "$KWCTL" run --replay-host-capabilities-interactions examples/replay/namespace-shop.yml --request-path "$TMP/declared.json" "$TMP/policy.yaml"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  [ "$(response | jq -r .allowed)" = "true" ]
  apply_patch "$TMP/declared.json" "$TMP/injected.json"
  [ "$(jq '[.object.spec.volumes[] | select(.name == "envoy-config")] | length' "$TMP/injected.json")" = "1" ]
}

@test "order: a set's init container runs before its own sidecar, also after the Pod's init containers" {
  settings='{"explain":true,"sidecarSets":[{"name":"mesh","selector":{},"initContainers":[{"name":"mesh-init","image":"i","dependsOn":["db-migrate"]}],"containers":[{"name":"envoy","image":"e"}]}]}'
  run "$KWCTL" run --request-path "$FIXTURES/pod-own-init-and-native-sidecar-create.json" --settings-json "$settings" "$POLICY"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  apply_patch "$FIXTURES/pod-own-init-and-native-sidecar-create.json" "$TMP/ordered.json"
  [ "$(jq -c '[.object.spec.initContainers[].name]' "$TMP/ordered.json")" = '["cloud-sql-proxy","db-migrate","mesh-init","envoy"]' ]
  [ "$(response | jq -r '.warnings[1]')" = "start order: cloud-sql-proxy (sidecar) → db-migrate → mesh-init → envoy (sidecar) → [orders]; mesh-init after db-migrate has completed; envoy after mesh-init has completed" ]
}

@test "order: dependsOn on a sidecar the kubelet does not wait for means after it has started" {
  settings='{"explain":true,"sidecarSets":[{"name":"agents","selector":{},"containers":[{"name":"a-agent","image":"a"},{"name":"b-agent","image":"b","dependsOn":["a-agent"]}]}]}'
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-json "$settings" "$POLICY"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  [ "$(response | jq -r '.warnings[1]')" = "start order: a-agent (sidecar) → b-agent (sidecar) → [checkout]; b-agent after a-agent has started" ]
}

@test "ports: an injected native sidecar and a later init container of the Pod cannot share a port; nor a hostPort" {
  jq '.object.spec.initContainers[1].ports = [{"containerPort": 9901, "protocol": "TCP"}]' \
    "$FIXTURES/pod-own-init-and-native-sidecar-create.json" > "$TMP/db-migrate-9901.json"
  settings='{"sidecarSets":[{"name":"mesh","selector":{},"containers":[{"name":"envoy","image":"e","ports":[{"containerPort":9901}]}]}]}'
  run "$KWCTL" run --request-path "$TMP/db-migrate-9901.json" --settings-json "$settings" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "false" ]
  [ "$(response | jq -r .status.message)" = 'sidecar set "mesh": container "envoy" cannot be injected: port 9901/TCP is also used by the init container spec.initContainers[1] ("db-migrate"), which runs while envoy (a native sidecar started before it) is running; change the port in the set or in the Pod, or make envoy start after it (dependsOn: [db-migrate])' ]
  jq '.object.spec.containers[0].ports = [{"containerPort": 8080, "hostPort": 9400, "protocol": "TCP"}]' \
    "$FIXTURES/pod-replicaset-create.json" > "$TMP/host-port.json"
  settings='{"sidecarSets":[{"name":"metrics","selector":{},"containers":[{"name":"exporter","image":"e","ports":[{"containerPort":9100,"hostPort":9400}]}]}]}'
  run "$KWCTL" run --request-path "$TMP/host-port.json" --settings-json "$settings" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .status.message)" = 'sidecar set "metrics": container "exporter" cannot be injected: hostPort 9400/TCP is already used by spec.containers[0] ("checkout"), and a host port is unique per Pod; change the hostPort in the set or in the Pod' ]
}

@test "scope first: a Pod no set selects is accepted whatever its status annotation says, and the annotation does not survive" {
  jq '.object.metadata.annotations["sidecarset.kubewarden.io/status"] = "{nope" | .object.metadata.labels = {"app": "other"}' \
    "$FIXTURES/pod-replicaset-create.json" > "$TMP/unreadable.json"
  run "$KWCTL" run --request-path "$TMP/unreadable.json" --settings-path "$SETTINGS" "$POLICY"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  [ "$(response | jq -r .allowed)" = "true" ]
  [ "$(patch | jq -c .)" = '[{"op":"remove","path":"/metadata/annotations/sidecarset.kubewarden.io~1status"}]' ]
  # In an excluded Namespace the Pod is left as it is.
  jq '.namespace = "kube-system" | .object.metadata.namespace = "kube-system"' "$TMP/unreadable.json" > "$TMP/excluded.json"
  run "$KWCTL" run --request-path "$TMP/excluded.json" --settings-path "$SETTINGS" "$POLICY"
  [ "$(response | jq -r '.patch // "none"')" = "none" ]
}

@test "verify on UPDATE: removing a finalizer from a Pod without its sidecars is accepted with a warning; swapping a sidecar's image is not" {
  sed 's/^mode: inject/mode: verify/' test_data/settings-ordering.yaml > "$TMP/verify.yaml"
  jq '.operation = "UPDATE" | .object.metadata.name = "checkout-1" | .object.metadata.finalizers = ["example.com/cleanup"] | .oldObject = .object | .object.metadata.finalizers = []' \
    "$FIXTURES/pod-replicaset-create.json" > "$TMP/finalizer.json"
  run "$KWCTL" run --request-path "$TMP/finalizer.json" --settings-path "$TMP/verify.yaml" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "true" ]
  [[ "$(response | jq -r '.warnings[0]')" == "the Pod does not hold what its sidecar sets inject: missing sidecar mesh/envoy; "*"; the update is accepted because it adds no difference; recreate the Pod so that the injecting policy adds the sidecars" ]]
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-path test_data/settings-ordering.yaml "$POLICY"
  apply_patch "$FIXTURES/pod-replicaset-create.json" "$TMP/injected.json"
  jq '.operation = "UPDATE" | .oldObject = .object | .object.spec.initContainers[0].image = "evil:1"' "$TMP/injected.json" > "$TMP/swapped.json"
  run "$KWCTL" run --request-path "$TMP/swapped.json" --settings-path "$TMP/verify.yaml" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "false" ]
  [ "$(response | jq -r .status.message)" = "this update adds differences from what the Pod's sidecar sets inject: mesh/envoy runs evil:1, the set wants envoyproxy/envoy:v1.33.0; leave the injected sidecars as the sets define them" ]
}

@test "typos: a near miss of a known container field is a settings error that names the field" {
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-json '{"sidecarSets":[{"name":"logs","selector":{},"containers":[{"name":"fluent-bit","image":"f","podInjectionPolicy":"AfterAppContainer"}]}]}' "$POLICY"
  echo "output = ${output}"
  [ "$status" -ne 0 ]
  [[ "$output" == *'sidecarSets[0].containers[0].podInjectionPolicy: fluent-bit: unknown field; did you mean `podInjectPolicy`?'* ]]
}

@test "strict clients: a ClusterAdmissionPolicy with a field Kubewarden does not have is refused" {
  sed -e "s|^\(  module:\).*|\1 file://$PWD/$POLICY|" -e "s|^  failurePolicy: Fail$|  reinvocationPolicy: IfNeeded\n  failurePolicy: Fail|" \
    examples/cluster-admission-policy.yaml > "$TMP/policy.yaml"
  grep -q reinvocationPolicy "$TMP/policy.yaml"
  run "$KWCTL" run --replay-host-capabilities-interactions examples/replay/namespace-shop.yml --request-path examples/requests/pod-checkout-create.json "$TMP/policy.yaml"
  echo "output = ${output}"
  [ "$status" -ne 0 ]
  [[ "$output" == *'cannot parse value into ClusterAdmissionPolicy: unknown field `reinvocationPolicy`, expected one of `backgroundAudit`'* ]]
}

# Sidecar resources (test_data/settings-resources.yaml).
RESOURCES="test_data/settings-resources.yaml"

@test "resources: a resourcesPolicy sizes the log shipper from the app, and the record holds the effective request" {
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-path "$RESOURCES" "$POLICY"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  [ "$(response | jq -r .allowed)" = "true" ]
  apply_patch "$FIXTURES/pod-replicaset-create.json" "$TMP/injected.json"
  fluent_bit="$(jq -c '.object.spec.initContainers[] | select(.name == "fluent-bit")' "$TMP/injected.json")"
  [ "$(echo "$fluent_bit" | jq -c .resources)" = '{"limits":{"memory":"192Mi"},"requests":{"cpu":"50m","memory":"64Mi"}}' ]
  # critical: false: no readinessProbe, the livenessProbe stays.
  [ "$(echo "$fluent_bit" | jq -r '.readinessProbe // "none"')" = "none" ]
  [ "$(echo "$fluent_bit" | jq -r .livenessProbe.httpGet.port)" = "2020" ]
  status_record="$(jq -r '.object.metadata.annotations["sidecarset.kubewarden.io/status"]' "$TMP/injected.json")"
  [ "$(echo "$status_record" | jq -c .effectiveRequests)" = '{"cpu":"400m","memory":"448Mi"}' ]
}

@test "resources: a Pod's override changes only the fields it names, within the set's bounds" {
  run "$KWCTL" run --request-path "$FIXTURES/pod-resources-override.json" --settings-path "$RESOURCES" "$POLICY"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  apply_patch "$FIXTURES/pod-resources-override.json" "$TMP/injected.json"
  [ "$(jq -c '.object.spec.initContainers[] | select(.name == "envoy") | .resources' "$TMP/injected.json")" = '{"limits":{"cpu":"1","memory":"512Mi"},"requests":{"cpu":"200m","memory":"128Mi"}}' ]
  jq '.object.metadata.annotations["sidecarset.kubewarden.io/resources.envoy"] = "{\"limits\": {\"memory\": \"2Gi\"}}"' \
    "$FIXTURES/pod-resources-override.json" > "$TMP/above.json"
  run "$KWCTL" run --request-path "$TMP/above.json" --settings-path "$RESOURCES" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "false" ]
  [ "$(response | jq -r .status.message)" = 'annotation sidecarset.kubewarden.io/resources.envoy: limits.memory "2Gi" is above resourceBounds.max.memory 512Mi of sidecar set mesh; choose a value from 0 to 512Mi' ]
}

@test "resources: Pod-level resources are raised by what the sidecars add, or the Pod is rejected with podLevelResources: reject" {
  run "$KWCTL" run --request-path "$FIXTURES/pod-level-resources-create.json" --settings-path "$RESOURCES" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "true" ]
  apply_patch "$FIXTURES/pod-level-resources-create.json" "$TMP/injected.json"
  [ "$(jq -cS .object.spec.resources "$TMP/injected.json")" = '{"limits":{"cpu":"2","memory":"1472Mi"},"requests":{"cpu":"450m","memory":"492Mi"}}' ]
  [ "$(response | jq -r '.warnings[2]')" = "spec.resources (Pod-level) raised for the injected sidecars: requests.cpu 300m → 450m (+150m), requests.memory 300Mi → 492Mi (+192Mi), limits.memory 1Gi → 1472Mi (+448Mi)" ]
  { cat "$RESOURCES"; echo "podLevelResources: reject"; } > "$TMP/reject.yaml"
  run "$KWCTL" run --request-path "$FIXTURES/pod-level-resources-create.json" --settings-path "$TMP/reject.yaml" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "false" ]
  [[ "$(response | jq -r .status.message)" == "spec.resources.requests.cpu: 300m is less than the containers' effective request after injection, 400m (the sidecars add 150m); raise spec.resources.requests.cpu to at least 400m, or set podLevelResources: add;"* ]]
}

@test "resources: maxAddedRequests rejects a Pod whose effective request injection raises by more" {
  sed 's/^  cpu: "1"$/  cpu: 100m/' "$RESOURCES" > "$TMP/tight.yaml"
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-path "$TMP/tight.yaml" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "false" ]
  [ "$(response | jq -r .status.message)" = "injecting sidecar sets log-shipper, mesh raises the Pod's effective cpu request by 150m (from 250m to 400m), more than maxAddedRequests.cpu 100m; lower the sidecars' cpu requests, or raise maxAddedRequests.cpu" ]
}

@test "resources: a resourcesPolicy expression that does not parse is a settings error with its position" {
  sed 's/max(cpu\*20%, 50m)/max(cpu*20%, 50m/' "$RESOURCES" > "$TMP/bad.yaml"
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-path "$TMP/bad.yaml" "$POLICY"
  echo "output = ${output}"
  [ "$status" -ne 0 ]
  [ $(expr "$output" : '.*Provided settings are not valid.*') -ne 0 ]
  [ $(expr "$output" : '.*sidecarSets\[0\].containers\[0\].resourcesPolicy.resourcesExpr.requests.cpu: fluent-bit: .*max(cpu\*20%, 50m.* at character 17: .*expected, found the end.*') -ne 0 ]
}

# Rollout (test_data/settings-rollout.yaml).
ROLLOUT="test_data/settings-rollout.yaml"

# Writes an UPDATE request to $3: the injected Pod of request $1 as the old
# object, and as the object with the jq edit $2 applied.
update_request() {
  jq --arg edit "$2" '.operation = "UPDATE" | .oldObject = .object' "$1" > "$TMP/base.json"
  jq ".object |= ($2)" "$TMP/base.json" > "$3"
}

@test "rollout: a new Pod gets the canary's revision, its label and its record" {
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-path "$ROLLOUT" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "true" ]
  apply_patch "$FIXTURES/pod-replicaset-create.json" "$TMP/injected.json"
  [ "$(jq -r '.object.spec.initContainers[] | select(.name == "fluent-bit") | .image' "$TMP/injected.json")" = "cr.fluentbit.io/fluent/fluent-bit:3.3.0" ]
  [ "$(jq -r '.object.metadata.labels["sidecarset.kubewarden.io/rev.log-shipper"]' "$TMP/injected.json")" = "v3-3" ]
}

@test "rollout: kubectl annotate --overwrite sidecarset.kubewarden.io/upgrade upgrades the sidecar in place" {
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-path "$ROLLOUT" "$POLICY"
  apply_patch "$FIXTURES/pod-replicaset-create.json" "$TMP/injected.json"
  update_request "$TMP/injected.json" '.metadata.annotations["sidecarset.kubewarden.io/revision.log-shipper"] = "current" | .metadata.annotations["sidecarset.kubewarden.io/upgrade"] = "log-shipper"' "$TMP/update.json"
  run "$KWCTL" run --request-path "$TMP/update.json" --settings-path "$ROLLOUT" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "true" ]
  apply_patch "$TMP/update.json" "$TMP/upgraded.json"
  [ "$(jq -r '.object.spec.initContainers[] | select(.name == "fluent-bit") | .image' "$TMP/upgraded.json")" = "cr.fluentbit.io/fluent/fluent-bit:3.2.4" ]
  [ "$(jq -r '.object.metadata.labels["sidecarset.kubewarden.io/rev.log-shipper"]' "$TMP/upgraded.json")" = "current" ]
  [ "$(jq -r '.object.metadata.annotations["sidecarset.kubewarden.io/upgrade"] // "removed"' "$TMP/upgraded.json")" = "removed" ]
  # Only the image, the record, the label and the trigger changed.
  [ "$(patch | jq -c '[.[].path] | sort')" = '["/metadata/annotations/sidecarset.kubewarden.io~1status","/metadata/annotations/sidecarset.kubewarden.io~1upgrade","/metadata/labels/sidecarset.kubewarden.io~1rev.log-shipper","/spec/initContainers/0/image"]' ]
}

@test "rollout: an injected container's image may change only as an upgrade would" {
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-path "$ROLLOUT" "$POLICY"
  apply_patch "$FIXTURES/pod-replicaset-create.json" "$TMP/injected.json"
  update_request "$TMP/injected.json" '(.spec.initContainers[] | select(.name == "fluent-bit") | .image) = "evil.example.com/fb:1"' "$TMP/update.json"
  run "$KWCTL" run --request-path "$TMP/update.json" --settings-path "$ROLLOUT" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "false" ]
  [[ "$(response | jq -r .status.message)" == "spec.initContainers[0] (fluent-bit): image evil.example.com/fb:1 is not the image of revision v3-3 of sidecar set log-shipper that this Pod runs"* ]]
  update_request "$TMP/injected.json" '.metadata.labels.team = "shop"' "$TMP/labels.json"
  run "$KWCTL" run --request-path "$TMP/labels.json" --settings-path "$ROLLOUT" "$POLICY"
  [ "$(response | jq -r .allowed)" = "true" ]
  [ "$(response | jq -r '.patch // "none"')" = "none" ]
}

# The settings file $1 as JSON, with the jq edit $2 applied (for --settings-json).
settings_with() {
  jq -c "$2" "${1%.yaml}.json"
}

# The ReplicaSet's Pod injected under $1 (a settings file), at $TMP/injected.json.
injected_under() {
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-path "$1" "$POLICY"
  [ "$(response | jq -r .allowed)" = "true" ]
  apply_patch "$FIXTURES/pod-replicaset-create.json" "$TMP/injected.json"
}

@test "update path: dropping the selecting label, or opting out first, never unprotects the privileged mesh-init" {
  injected_under "$SETTINGS"
  update_request "$TMP/injected.json" 'del(.metadata.labels["app.kubernetes.io/name"]) | (.spec.initContainers[] | select(.name == "mesh-init") | .image) = "evil.example.com/init:1"' "$TMP/dropped.json"
  run "$KWCTL" run --request-path "$TMP/dropped.json" --settings-path "$SETTINGS" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "false" ]
  [[ "$(response | jq -r .status.message)" == *"(mesh-init): image evil.example.com/init:1 is not the image of revision current of sidecar set mesh that this Pod runs"* ]]
  # First an opt-out (accepted: it changes nothing that runs), then the swap.
  update_request "$TMP/injected.json" '.metadata.annotations["sidecarset.kubewarden.io/inject"] = "false"' "$TMP/opt-out.json"
  run "$KWCTL" run --request-path "$TMP/opt-out.json" --settings-path "$SETTINGS" "$POLICY"
  [ "$(response | jq -r .allowed)" = "true" ]
  [ "$(response | jq -r '.patch // "none"')" = "none" ]
  jq '.object = .object' "$TMP/opt-out.json" > "$TMP/opted.json"
  jq '.oldObject = .object | (.object.spec.initContainers[] | select(.name == "mesh-init") | .image) = "evil.example.com/init:1"' "$TMP/opted.json" > "$TMP/swap.json"
  run "$KWCTL" run --request-path "$TMP/swap.json" --settings-path "$SETTINGS" "$POLICY"
  [ "$(response | jq -r .allowed)" = "false" ]
  # Verify mode refuses the same update.
  run "$KWCTL" run --request-path "$TMP/dropped.json" --settings-json "$(settings_with "$SETTINGS" '.mode = "verify"')" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "false" ]
  [[ "$(response | jq -r .status.message)" == "this update adds differences from what the Pod's sidecar sets inject: mesh/mesh-init runs evil.example.com/init:1"* ]]
}

@test "update path: the status record cannot be changed or removed by an UPDATE" {
  injected_under "$SETTINGS"
  update_request "$TMP/injected.json" 'del(.metadata.annotations["sidecarset.kubewarden.io/status"])' "$TMP/update.json"
  run "$KWCTL" run --request-path "$TMP/update.json" --settings-path "$SETTINGS" "$POLICY"
  [ "$(response | jq -r .allowed)" = "false" ]
  [ "$(response | jq -r .status.message)" = "metadata.annotations[\"sidecarset.kubewarden.io/status\"]: this policy's record of what it injected into the Pod cannot be changed or removed by an UPDATE; leave it as it is (recreate the Pod to have it injected afresh)" ]
}

@test "update path: a trigger on a new Pod is removed; a leftover trigger never blocks removing a finalizer" {
  jq '.object.metadata.annotations["sidecarset.kubewarden.io/upgrade"] = "*"' "$FIXTURES/pod-replicaset-create.json" > "$TMP/create.json"
  run "$KWCTL" run --request-path "$TMP/create.json" --settings-path "$ROLLOUT" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "true" ]
  apply_patch "$TMP/create.json" "$TMP/created.json"
  [ "$(jq -r '.object.metadata.annotations["sidecarset.kubewarden.io/upgrade"] // "removed"' "$TMP/created.json")" = "removed" ]
  [ "$(response | jq -r '.warnings[0]')" = "annotation sidecarset.kubewarden.io/upgrade (*) removed: it asks for an in-place upgrade of a running Pod, and this Pod is being created" ]
  # A trigger the policy never saw, a finalizer, and a set changed since.
  jq '.object.metadata.annotations["sidecarset.kubewarden.io/upgrade"] = "log-shipper" | .object.metadata.finalizers = ["example.com/keep"]' "$TMP/created.json" > "$TMP/stuck.json"
  update_request "$TMP/stuck.json" '.metadata.finalizers = []' "$TMP/release.json"
  run "$KWCTL" run --request-path "$TMP/release.json" --settings-json "$(settings_with "$ROLLOUT" '.sidecarSets[0].containers[0].args = ["--other"]')" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "true" ]
  [ "$(response | jq -r '.patch // "none"')" = "none" ]
}

@test "update path: scope first, a Pod in an excluded namespace is accepted unchanged whatever its trigger" {
  jq '.namespace = "kube-system" | .object.metadata.namespace = "kube-system"' "$FIXTURES/pod-replicaset-create.json" > "$TMP/system.json"
  for trigger in '*' mesh; do
    update_request "$TMP/system.json" ".metadata.annotations[\"sidecarset.kubewarden.io/upgrade\"] = \"$trigger\"" "$TMP/update.json"
    run "$KWCTL" run --request-path "$TMP/update.json" --settings-path "$SETTINGS" "$POLICY"
    echo "output = ${output}"
    [ "$(response | jq -r .allowed)" = "true" ]
    [ "$(response | jq -r '.patch // "none"')" = "none" ]
  done
}

@test "update path: the record keeps the canary buckets of the Pod's creation" {
  injected_under "$ROLLOUT"
  [[ "$(jq -r '.object.metadata.annotations["sidecarset.kubewarden.io/status"] | fromjson | .sets[0].buckets' "$TMP/injected.json")" =~ ^owner:[0-9]+,pod:[0-9]+$ ]]
}

@test "update path: an image change of the Pod's own container named like a sidecar is the author's" {
  jq '.object.spec.containers += [{"name": "fluent-bit", "image": "fluent-bit:1"}] | .object.metadata.labels.tier = "api"' "$FIXTURES/pod-replicaset-create.json" > "$TMP/own.json"
  update_request "$TMP/own.json" '(.spec.containers[] | select(.name == "fluent-bit") | .image) = "fluent-bit:2"' "$TMP/update.json"
  run "$KWCTL" run --request-path "$TMP/update.json" --settings-path "$SETTINGS" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "true" ]
}

@test "update path: a look-alike with the real record is injected afresh, and verify mode names the field" {
  injected_under "$SETTINGS"
  jq '(.object.spec.initContainers[] | select(.name == "envoy") | .args) = ["--admin-address-path", "/dev/null"]' "$TMP/injected.json" > "$TMP/fake.json"
  run "$KWCTL" run --request-path "$TMP/fake.json" --settings-path "$SETTINGS" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "true" ]
  apply_patch "$TMP/fake.json" "$TMP/fixed.json"
  [ "$(jq -c '.object.spec.initContainers[] | select(.name == "envoy") | .args' "$TMP/fixed.json")" = "$(jq -c '.object.spec.initContainers[] | select(.name == "envoy") | .args' "$TMP/injected.json")" ]
  run "$KWCTL" run --request-path "$TMP/fake.json" --settings-json "$(settings_with "$SETTINGS" '.mode = "verify"')" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "false" ]
  [[ "$(response | jq -r .status.message)" == *"mesh/envoy differs from what the set injects, in args"* ]]
}

@test "update path: pods/resize keeps an injected container within its set's resourceBounds" {
  bounds='.sidecarSets[0].containers[0].resources = {"requests": {"cpu": "20m"}} | .sidecarSets[0].containers[0].resourceBounds = {"max": {"cpu": "200m"}}'
  settings="$(settings_with "$SETTINGS" "$bounds")"
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-json "$settings" "$POLICY"
  apply_patch "$FIXTURES/pod-replicaset-create.json" "$TMP/injected.json"
  for cpu in 150m 500m; do
    update_request "$TMP/injected.json" "(.spec.initContainers[] | select(.name == \"fluent-bit\") | .resources.requests.cpu) = \"$cpu\"" "$TMP/resize.json"
    jq '.subResource = "resize"' "$TMP/resize.json" > "$TMP/resize-sub.json"
    run "$KWCTL" run --request-path "$TMP/resize-sub.json" --settings-json "$settings" "$POLICY"
    echo "output = ${output}"
    if [ "$cpu" = 150m ]; then
      [ "$(response | jq -r .allowed)" = "true" ]
    else
      [ "$(response | jq -r .allowed)" = "false" ]
      [ "$(response | jq -r .status.message)" = "spec.initContainers[0] (fluent-bit): resources.requests.cpu 500m is above resourceBounds.max.cpu 200m of sidecar set log-shipper; choose a value from 0 to 200m" ]
    fi
  done
}

@test "update path: a trigger naming a set thousands of times gives one warning; echoed values are cut" {
  injected_under "$ROLLOUT"
  many="$(printf 'log-shipper,%.0s' $(seq 3000))"
  update_request "$TMP/injected.json" ".metadata.annotations[\"sidecarset.kubewarden.io/upgrade\"] = \"$many\"" "$TMP/update.json"
  run "$KWCTL" run --request-path "$TMP/update.json" --settings-path "$ROLLOUT" "$POLICY"
  [ "$(response | jq -r .allowed)" = "true" ]
  [ "$(response | jq '.warnings | length')" = 1 ]
  long="$(printf 'x%.0s' $(seq 5000))"
  update_request "$TMP/injected.json" ".metadata.annotations[\"sidecarset.kubewarden.io/upgrade\"] = \"$long\"" "$TMP/long.json"
  run "$KWCTL" run --request-path "$TMP/long.json" --settings-path "$ROLLOUT" "$POLICY"
  [ "$(response | jq -r .allowed)" = "false" ]
  [ "$(response | jq -r .status.message | wc -c)" -lt 400 ]
}

@test "update path: re-injecting a stale copy raises Pod-level limits by the difference only" {
  limits='.sidecarSets[0].containers[0].resources = {"limits": {"cpu": "200m"}}'
  jq '.object.spec.resources = {"limits": {"cpu": "1"}}' "$FIXTURES/pod-replicaset-create.json" > "$TMP/create.json"
  run "$KWCTL" run --request-path "$TMP/create.json" --settings-json "$(settings_with "$SETTINGS" "$limits")" "$POLICY"
  echo "output = ${output}"
  apply_patch "$TMP/create.json" "$TMP/first.json"
  first="$(jq -r .object.spec.resources.limits.cpu "$TMP/first.json")"
  run "$KWCTL" run --request-path "$TMP/first.json" --settings-json "$(settings_with "$SETTINGS" "$limits | .sidecarSets[0].containers[0].args = [\"--v2\"]")" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "true" ]
  apply_patch "$TMP/first.json" "$TMP/copy.json"
  [ "$(jq -r .object.spec.resources.limits.cpu "$TMP/copy.json")" = "$first" ]
}

@test "update path: a direct swap to a revision the Pod should not run is refused; to the one it should run, record and label follow" {
  injected_under "$ROLLOUT"
  swap='(.spec.initContainers[] | select(.name == "fluent-bit") | .image) = "cr.fluentbit.io/fluent/fluent-bit:3.2.4"'
  update_request "$TMP/injected.json" "$swap" "$TMP/update.json"
  run "$KWCTL" run --request-path "$TMP/update.json" --settings-path "$ROLLOUT" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "false" ]
  [[ "$(response | jq -r .status.message)" == *"set it back, or annotate the Pod with sidecarset.kubewarden.io/upgrade: log-shipper to move it to the revision it should run (protectInjected: true)" ]]
  run "$KWCTL" run --request-path "$TMP/update.json" --settings-json "$(settings_with "$ROLLOUT" '.sidecarSets[0].injectionStrategy.canary.percent = 0')" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "true" ]
  apply_patch "$TMP/update.json" "$TMP/moved.json"
  [ "$(jq -r '.object.metadata.labels["sidecarset.kubewarden.io/rev.log-shipper"]' "$TMP/moved.json")" = "current" ]
  [ "$(jq -r '.object.metadata.annotations["sidecarset.kubewarden.io/status"] | fromjson | .sets[0].revision' "$TMP/moved.json")" = "current" ]
}

@test "strict clients: every example ClusterAdmissionPolicy, pods/resize rule included, is read and run" {
  for example in examples/cluster-admission-policy.yaml examples/rollout-policy.yaml examples/verify-audit-policy.yaml examples/verify-baked-sidecars-policy.yaml; do
    grep -q 'resources: \["pods", "pods/resize"\]' "$example"
    sed -e "s|^\(  module:\).*|\1 file://$PWD/$POLICY|" "$example" > "$TMP/policy.yaml"
    run "$KWCTL" run --replay-host-capabilities-interactions examples/replay/namespace-shop.yml --request-path examples/requests/pod-checkout-create.json "$TMP/policy.yaml"
    echo "$example: output = ${output}"
    [ "$status" -eq 0 ]
    [ -n "$(response | jq -r .allowed)" ]
  done
}

# Pod Security admission (test_data/settings-pod-security.yaml): the
# Namespace's pod-security.kubernetes.io labels come from kwctl replay files.
PSS="test_data/settings-pod-security.yaml"

@test "pod security: a set that breaks the Namespace's enforced level rejects the Pod, naming set, container and control" {
  jq '.object.metadata.labels.mesh = "on"' "$FIXTURES/pod-replicaset-create.json" > "$TMP/meshed.json"
  run "$KWCTL" run --allow-context-aware --replay-host-capabilities-interactions test_data/replay/namespace-shop-restricted.yml \
    --request-path "$TMP/meshed.json" --settings-path "$PSS" "$POLICY"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  [ "$(response | jq -r .allowed)" = "false" ]
  [ "$(response | jq -r .status.message)" = 'sidecar set mesh would make the Pod violate PodSecurity "restricted:latest" of Namespace "shop": allowPrivilegeEscalation != false (container "mesh-init" must set securityContext.allowPrivilegeEscalation=false), runAsNonRoot != true (container "mesh-init" must not set securityContext.runAsNonRoot=false), runAsUser=0 (container "mesh-init" must not set runAsUser=0), seccompProfile (pod or container "mesh-init" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"), unrestricted capabilities (container "mesh-init" must set securityContext.capabilities.drop=["ALL"]; container "mesh-init" must not include "NET_ADMIN", "NET_RAW" in securityContext.capabilities.add); change the set'"'"'s containers and volumes as the details say (podSecurity.defaults: restricted fills what they leave unset), or set its podSecurity.onViolation: skip to leave it out of such Pods' ]
}

@test "pod security: the restricted defaults make the log shipper fit a restricted Namespace" {
  run "$KWCTL" run --allow-context-aware --replay-host-capabilities-interactions test_data/replay/namespace-shop-restricted.yml \
    --request-path "$FIXTURES/pod-replicaset-create.json" --settings-path "$PSS" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "true" ]
  apply_patch "$FIXTURES/pod-replicaset-create.json" "$TMP/injected.json"
  [ "$(jq -cS '.object.spec.initContainers[0].securityContext' "$TMP/injected.json")" = '{"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]},"runAsNonRoot":true,"runAsUser":65534,"seccompProfile":{"type":"RuntimeDefault"}}' ]
  [ "$(response | jq -r '.warnings[0]')" = "sidecar set log-shipper meets Pod Security restricted on its own" ]
  # Evaluated again, the answer changes nothing.
  run "$KWCTL" run --allow-context-aware --replay-host-capabilities-interactions test_data/replay/namespace-shop-restricted.yml \
    --request-path "$TMP/injected.json" --settings-path "$PSS" "$POLICY"
  [ "$(response | jq -r .allowed)" = "true" ]
  [ "$(response | jq -r '.patch // "none"')" = "none" ]
}

@test "pod security: onViolation: skip leaves a set out with a warning; a pinned version is named" {
  jq '.object.metadata.labels.logs = "node"' "$FIXTURES/pod-replicaset-create.json" > "$TMP/node-logs.json"
  run "$KWCTL" run --allow-context-aware --replay-host-capabilities-interactions test_data/replay/namespace-shop-baseline-warn-restricted.yml \
    --request-path "$TMP/node-logs.json" --settings-path "$PSS" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "true" ]
  [ "$(patch | jq -c '[.[] | select(.path == "/spec/initContainers") | .value[].name]')" = '["fluent-bit"]' ]
  [ "$(response | jq -r '.warnings[0]')" = 'sidecar set node-logs would make the Pod violate PodSecurity "baseline:v1.33" of Namespace "shop": hostPath volumes (volume "host-logs"); not injected (podSecurity.onViolation: skip)' ]
}

@test "pod security: a Namespace that cannot be read never turns into a rejection" {
  jq '.object.metadata.labels.mesh = "on"' "$FIXTURES/pod-replicaset-create.json" > "$TMP/meshed.json"
  run "$KWCTL" run --request-path "$TMP/meshed.json" --settings-path "$PSS" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "true" ]
  [[ "$(response | jq -r '.warnings[0]')" == "Pod Security not checked before the API server: Namespace \"shop\" could not be read ("*"); the API server still enforces its level. Grant the policy v1/Namespace (contextAwareResources) or set checkPodSecurity: false" ]]
}

@test "pod security: a declared level the set does not meet is a settings error" {
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" \
    --settings-json '{"sidecarSets":[{"name":"mesh","selector":{},"podSecurity":{"level":"baseline"},"initContainers":[{"name":"mesh-init","image":"i","securityContext":{"capabilities":{"add":["NET_ADMIN"]}}}]}]}' "$POLICY"
  echo "output = ${output}"
  [ "$status" -ne 0 ]
  [ $(expr "$output" : '.*sidecarSets\[0\].podSecurity.level: sidecar set mesh does not meet baseline on its own: non-default capabilities (container "mesh-init" must not include "NET_ADMIN" in securityContext.capabilities.add)') -ne 0 ]
}

@test "pod security: the example policy in the restricted Namespace payments injects the log shipper and skips the mesh" {
  sed "s|^\(  module:\).*|\1 file://$PWD/$POLICY|" examples/cluster-admission-policy.yaml > "$TMP/policy.yaml"
  run "$KWCTL" run --replay-host-capabilities-interactions examples/replay/namespace-payments.yml \
    --request-path examples/requests/pod-payments-restricted-create.json "$TMP/policy.yaml"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  [ "$(patch | jq -c '[.[] | select(.path == "/spec/initContainers") | .value[].name]')" = '["fluent-bit"]' ]
  [[ "$(response | jq -r '.warnings[0]')" == 'sidecar set mesh would make the Pod violate PodSecurity "restricted:latest" of Namespace "payments": '*'; not injected (podSecurity.onViolation: skip)' ]]
  # The verify examples (granted the Namespace too) accept the Pod without the mesh.
  apply_patch examples/requests/pod-payments-restricted-create.json "$TMP/injected.json"
  sed -e "s|^\(  module:\).*|\1 file://$PWD/$POLICY|" -e "s|^  mode: monitor$|  mode: protect|" examples/verify-audit-policy.yaml > "$TMP/audit.yaml"
  run "$KWCTL" run --replay-host-capabilities-interactions examples/replay/namespace-payments.yml --request-path "$TMP/injected.json" "$TMP/audit.yaml"
  echo "audit: ${output}"
  [ "$(response | jq -r .allowed)" = "true" ]
}

@test "replay: a host call that is not the next recorded one is refused, as kwctl replays a file in order" {
  run "$KWCTL" run --allow-context-aware --replay-host-capabilities-interactions examples/replay/namespace-payments.yml \
    --request-path "$FIXTURES/pod-replicaset-create.json" --settings-path "$PSS" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "true" ]
  [[ "$(response | jq -r '.warnings[0]')" == "Pod Security not checked before the API server: Namespace \"shop\" could not be read (Callback evaluation failure: Replay error: unexpected request. Was expecting KubernetesGetResource"*"payments"*"…); the API server still enforces its level."* ]]
}

# What a set gives the app containers, and a clean shutdown
# (test_data/settings-app-shutdown.yaml; the example's otel set).
APP="test_data/settings-app-shutdown.yaml"

@test "app containers: the example's OpenTelemetry collector gives the app its endpoint, drains 10 s and names kubectl's container" {
  sed "s|^\(  module:\).*|\1 file://$PWD/$POLICY|" examples/cluster-admission-policy.yaml > "$TMP/policy.yaml"
  run "$KWCTL" run --replay-host-capabilities-interactions examples/replay/namespace-shop.yml \
    --request-path examples/requests/pod-orders-otel-create.json "$TMP/policy.yaml"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  [ "$(response | jq -r .allowed)" = "true" ]
  apply_patch examples/requests/pod-orders-otel-create.json "$TMP/injected.json"
  [ "$(jq -r '.object.spec.containers[] | select(.name == "orders") | .env[] | select(.name == "OTEL_EXPORTER_OTLP_ENDPOINT") | .value' "$TMP/injected.json")" = "http://localhost:4317" ]
  [ "$(jq -c '.object.spec.containers[] | select(.name == "otel-collector") | .lifecycle.preStop' "$TMP/injected.json")" = '{"sleep":{"seconds":10}}' ]
  [ "$(jq -r '.object.metadata.annotations["kubectl.kubernetes.io/default-container"]' "$TMP/injected.json")" = "orders" ]
  [[ "$(response | jq -r '.warnings[-1]')" == 'stop order: [otel-collector (preStop sleep 10 s), orders] get SIGTERM together, then the native sidecars in reverse start order: envoy; '* ]]
  # A second evaluation changes nothing.
  run "$KWCTL" run --replay-host-capabilities-interactions examples/replay/namespace-shop.yml \
    --request-path "$TMP/injected.json" "$TMP/policy.yaml"
  [ "$(response | jq -r '.patch // "none"')" = "none" ]
}

@test "app containers: a variable the app defines stays its own, with a warning; a mountPath it uses is a conflict" {
  jq '(.object.spec.containers[0].env) += [{"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://collector:4317"}]' \
    "$FIXTURES/pod-replicaset-create.json" > "$TMP/own.json"
  run "$KWCTL" run --request-path "$TMP/own.json" --settings-path "$APP" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "true" ]
  response | jq -r '.warnings[]' | grep -qx 'sidecar set otel: container checkout already defines OTEL_EXPORTER_OTLP_ENDPOINT; its own value is kept, not the set'"'"'s (appContainers.env)'
  apply_patch "$TMP/own.json" "$TMP/injected.json"
  [ "$(jq -c '[.object.spec.containers[] | select(.name == "checkout") | .env[] | select(.name == "OTEL_EXPORTER_OTLP_ENDPOINT") | .value]' "$TMP/injected.json")" = '["http://collector:4317"]' ]
  jq '(.object.spec.containers[0].volumeMounts) += [{"name": "config", "mountPath": "/var/run/otel"}]' \
    "$FIXTURES/pod-replicaset-create.json" > "$TMP/clash.json"
  run "$KWCTL" run --request-path "$TMP/clash.json" --settings-path "$APP" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "false" ]
  [ "$(response | jq -r .status.message)" = 'sidecar set "otel": appContainers.volumeMounts cannot mount volume "otel-socket" at "/var/run/otel" in container "checkout": spec.containers[0].volumeMounts already mounts volume "config" there; change the mountPath in the set or in the Pod' ]
}

@test "shutdown: drains are staggered by dependsOn and the grace period is raised to cover them" {
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-path "$APP" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "true" ]
  apply_patch "$FIXTURES/pod-replicaset-create.json" "$TMP/injected.json"
  [ "$(jq -c '[.object.spec.containers[] | select(.lifecycle.preStop) | [.name, .lifecycle.preStop.sleep.seconds]]' "$TMP/injected.json")" = '[["envoy",35],["mesh-agent",15]]' ]
  [ "$(jq -r .object.spec.terminationGracePeriodSeconds "$TMP/injected.json")" = "35" ]
  # Above shutdown.maxGracePeriodSeconds: rejected.
  jq '.object.spec.containers[0].lifecycle = {"preStop": {"sleep": {"seconds": 40}}}' "$FIXTURES/pod-replicaset-create.json" > "$TMP/long.json"
  run "$KWCTL" run --request-path "$TMP/long.json" --settings-path "$APP" "$POLICY"
  [ "$(response | jq -r .allowed)" = "false" ]
  [[ "$(response | jq -r .status.message)" == 'sidecar set "mesh": the Pod'"'"'s terminationGracePeriodSeconds would have to be raised from 30 to 75 '*'above the set'"'"'s shutdown.maxGracePeriodSeconds 60; '* ]]
}

@test "app containers: settings errors name the field: a mount of a volume the set lacks, names and nameRegex together" {
  cat > "$TMP/bad.json" <<'JSON'
{"sidecarSets": [{"name": "otel", "selector": {},
  "containers": [{"name": "otel-collector", "image": "otel/opentelemetry-collector-contrib:0.115.1"}],
  "volumes": [{"name": "otel-socket", "emptyDir": {}}],
  "appContainers": {"names": ["app"], "nameRegex": "app|web",
    "volumeMounts": [{"name": "otel-sockets", "mountPath": "/var/run/otel"}]}}]}
JSON
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-path "$TMP/bad.json" "$POLICY"
  echo "output = ${output}"
  [ "$status" -ne 0 ]
  [[ "$output" == *'sidecarSets[0].appContainers: give names or nameRegex, not both; without either, every app container'* ]]
  [[ "$output" == *'sidecarSets[0].appContainers.volumeMounts[0].name: "otel-sockets" is not a volume of this set; add it to the set'"'"'s volumes, or mount one of them (otel-socket)'* ]]
}

# Revision tags and namespace pins (test_data/settings-tags.yaml); the
# Namespace "shop" comes from kwctl replay files that pin it to a tag.
TAGS="test_data/settings-tags.yaml"

@test "tags: a Namespace that follows the stable tag gives its new Pods stable's revision; a Pod's own pin wins" {
  run "$KWCTL" run --allow-context-aware --replay-host-capabilities-interactions test_data/replay/namespace-shop-pinned-stable.yml \
    --request-path "$FIXTURES/pod-replicaset-create.json" --settings-path "$TAGS" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "true" ]
  apply_patch "$FIXTURES/pod-replicaset-create.json" "$TMP/injected.json"
  [ "$(jq -r '.object.spec.initContainers[] | select(.name == "fluent-bit") | .image' "$TMP/injected.json")" = "cr.fluentbit.io/fluent/fluent-bit:3.3.0" ]
  [ "$(jq -r '.object.metadata.labels["sidecarset.kubewarden.io/rev.log-shipper"]' "$TMP/injected.json")" = "v3-3" ]
  [ "$(jq -c '.object.metadata.annotations["sidecarset.kubewarden.io/status"] | fromjson | .sets[0] | [.revision, .from, .tag]' "$TMP/injected.json")" = '["v3-3","namespace","stable"]' ]
  [ "$(response | jq -r '.warnings[0]')" = "sidecar set log-shipper: revision v3-3 (pinned by the Namespace's sidecarset.kubewarden.io/revision.log-shipper label, tag stable)" ]
  jq '.object.metadata.annotations["sidecarset.kubewarden.io/revision.log-shipper"] = "canary"' "$FIXTURES/pod-replicaset-create.json" > "$TMP/own-pin.json"
  run "$KWCTL" run --allow-context-aware --replay-host-capabilities-interactions test_data/replay/namespace-shop-pinned-stable.yml \
    --request-path "$TMP/own-pin.json" --settings-path "$TAGS" "$POLICY"
  [ "$(response | jq -r '.warnings[0]')" = "sidecar set log-shipper: revision v3-4 (pinned by the Pod's sidecarset.kubewarden.io/revision.log-shipper annotation, tag canary)" ]
}

@test "tags: a Namespace that cannot be read for its pin never rejects: the pin is left out with one warning, on CREATE and on an upgrade" {
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-path "$TAGS" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "true" ]
  [ "$(response | jq -r '[.warnings[] | select(startswith("namespace pins not read"))] | length')" = "1" ]
  [[ "$(response | jq -r '.warnings[] | select(startswith("namespace pins not read"))')" == 'namespace pins not read: Namespace "shop" could not be read ('*'); the Pod'"'"'s sets choose their revisions without them (canary, then current). To use the label sidecarset.kubewarden.io/revision.log-shipper, grant the policy v1/Namespace (contextAwareResources); or set allowNamespacePin: false on the set' ]]
  apply_patch "$FIXTURES/pod-replicaset-create.json" "$TMP/injected.json"
  jq '.object.metadata.name = "checkout-1"' "$TMP/injected.json" > "$TMP/stored.json"
  update_request "$TMP/stored.json" '.metadata.annotations["sidecarset.kubewarden.io/upgrade"] = "log-shipper"' "$TMP/upgrade.json"
  run "$KWCTL" run --request-path "$TMP/upgrade.json" --settings-path "$TAGS" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "true" ]
  # Settings written before namespace pins (the rollout settings without
  # the opt-out they needed) inject as they did.
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-json "$(settings_with "$ROLLOUT" '.sidecarSets |= map(del(.allowNamespacePin))')" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "true" ]
  [ "$(response | jq -r '.patch // "none"')" != "none" ]
}

@test "tags: a tag naming no revision is a settings error with its path" {
  sed 's/^      stable: v3-3$/      stable: v3-2/' "$TAGS" > "$TMP/bad.yaml"
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-path "$TMP/bad.yaml" "$POLICY"
  echo "output = ${output}"
  [ "$status" -ne 0 ]
  [[ "$output" == *'sidecarSets[0].tags.stable: "v3-2" is not a revision of this set (it has current, v3-3, v3-4); name one of them'* ]]
}

@test "explain-with-kwctl.py (make run's kwctl path, without --changes): the examples print as the host/ runner prints them" {
  command -v kwctl >/dev/null || skip "kwctl is not installed"
  [ -x target/host/sidecarset-host ] || skip "the host/ runner is not built"
  [ -f annotated-policy.wasm ] || skip "annotated-policy.wasm is not built"
  for case in "examples/cluster-admission-policy.yaml examples/replay/namespace-shop.yml" \
              "examples/rollout-policy.yaml examples/replay/namespace-shop-canary.yml"; do
    set -- $case
    requests="$(ls examples/requests/*.json | grep -v restricted)"
    target/host/sidecarset-host explain --policy policy.wasm --settings-path "$1" \
      --allow-context-aware --replay-host-capabilities-interactions "$2" $requests > "$TMP/host.txt"
    python3 scripts/explain-with-kwctl.py --policy annotated-policy.wasm --settings-path "$1" \
      --allow-context-aware --replay-host-capabilities-interactions "$2" $requests > "$TMP/kwctl.txt"
    diff "$TMP/host.txt" "$TMP/kwctl.txt"
  done
}

# Issue 30: the record is the policy's own. RECORD: a mandatory mesh with a
# volume, a pull secret, an annotation, revisions and a canary.

@test "record: a forged record at CREATE is replaced by the one the policy derives; the copy's mandatory sidecar stays protected" {
  RECORD=test_data/settings-record.yaml
  injected_under "$RECORD"
  ours="$(jq -r '.object.metadata.annotations["sidecarset.kubewarden.io/status"]' "$TMP/injected.json")"
  jq '.object.metadata.annotations["sidecarset.kubewarden.io/status"] |= (fromjson | .sets[0].images.envoy = "not-what-runs" | .sets[0].buckets = "owner:0,pod:0" | tojson)' \
    "$TMP/injected.json" > "$TMP/forged.json"
  run "$KWCTL" run --request-path "$TMP/forged.json" --settings-path "$RECORD" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "true" ]
  response | jq -r '.warnings[]' | grep -qxF 'metadata.annotations["sidecarset.kubewarden.io/status"]: the record the Pod brought is replaced by what the policy verified the Pod holds (replaced: mesh.buckets, mesh.images); the record is the policy'"'"'s own output'
  apply_patch "$TMP/forged.json" "$TMP/copy.json"
  [ "$(jq -r '.object.metadata.annotations["sidecarset.kubewarden.io/status"]' "$TMP/copy.json")" = "$ours" ]
  # The stored copy: the next UPDATE cannot swap envoy.
  jq '.object.metadata.name = "copy-1"' "$TMP/copy.json" > "$TMP/stored.json"
  update_request "$TMP/stored.json" '(.spec.initContainers[] | select(.name == "envoy") | .image) = "evil.example.com/miner:1"' "$TMP/swap.json"
  run "$KWCTL" run --request-path "$TMP/swap.json" --settings-path "$RECORD" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "false" ]
  [[ "$(response | jq -r .status.message)" == *"(envoy): image evil.example.com/miner:1 is not the image of revision current of sidecar set mesh"* ]]
  # The policy's own answer, evaluated again, changes nothing.
  run "$KWCTL" run --request-path "$TMP/injected.json" --settings-path "$RECORD" "$POLICY"
  [ "$(response | jq -r '.patch // "none"')" = "none" ]
}

@test "record: a copied record does not vouch for a swapped volume; verify mode names the volume and the field" {
  RECORD=test_data/settings-record.yaml
  injected_under "$RECORD"
  jq '(.object.spec.volumes[] | select(.name == "mesh-certs")) = {"name": "mesh-certs", "hostPath": {"path": "/", "type": ""}}' "$TMP/injected.json" > "$TMP/swapped.json"
  run "$KWCTL" run --request-path "$TMP/swapped.json" --settings-path "$RECORD" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "false" ]
  [[ "$(response | jq -r .status.message)" == 'sidecar set "mesh": volume "mesh-certs" cannot be injected: '* ]]
  run "$KWCTL" run --request-path "$TMP/swapped.json" --settings-json "$(settings_with "$RECORD" '.mode = "verify"')" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .status.message)" = "the Pod does not hold what its sidecar sets inject: volume mesh-certs differs from what sidecar set mesh defines, in hostPath; recreate the Pod so that the injecting policy adds the sidecars, or fix its manifest" ]
}

@test "record: a Pod created before its set had revisions gets its canary bucket from the Pod before the upgrade" {
  RECORD=test_data/settings-record.yaml
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-json "$(settings_with "$RECORD" '.sidecarSets[0] |= del(.revisions, .injectionStrategy)')" "$POLICY"
  apply_patch "$FIXTURES/pod-replicaset-create.json" "$TMP/injected.json"
  jq '.object.metadata.name = "checkout-1"' "$TMP/injected.json" > "$TMP/stored.json"
  canary="$(settings_with "$RECORD" '.sidecarSets[0].injectionStrategy.canary.percent = 50')"
  for owner in "" "attacker-1" "attacker-2" "attacker-3"; do
    edit='.metadata.annotations["sidecarset.kubewarden.io/upgrade"] = "mesh"'
    [ -z "$owner" ] || edit="$edit | .metadata.ownerReferences[0].uid = \"$owner\""
    update_request "$TMP/stored.json" "$edit" "$TMP/upgrade.json"
    run "$KWCTL" run --request-path "$TMP/upgrade.json" --settings-json "$canary" "$POLICY"
    echo "output = ${output}"
    [ "$(response | jq -r .allowed)" = "true" ]
    apply_patch "$TMP/upgrade.json" "$TMP/upgraded.json"
    jq -c '[(.object.spec.initContainers[] | select(.name == "envoy") | .image), (.object.metadata.annotations["sidecarset.kubewarden.io/status"] | fromjson | .sets[0].buckets)]' "$TMP/upgraded.json" > "$TMP/answer-$owner"
  done
  for owner in "attacker-1" "attacker-2" "attacker-3"; do
    [ "$(cat "$TMP/answer-$owner")" = "$(cat "$TMP/answer-")" ]
  done
  [[ "$(cat "$TMP/answer-")" == *'"owner:'* ]]
}

@test "record: verify mode accepts a finalizer removal when the Namespace cannot be read, and refuses an image swap" {
  settings='{"mode":"verify","sidecarSets":[{"name":"mesh","selector":{},"namespaceSelector":{"matchLabels":{"mesh":"on"}},"containers":[{"name":"envoy","image":"envoy:v1"}]}]}'
  jq '.object.metadata.name = "checkout-1" | .object.metadata.finalizers = ["example.com/cleanup"]' "$FIXTURES/pod-replicaset-create.json" > "$TMP/stored.json"
  update_request "$TMP/stored.json" '.metadata.finalizers = []' "$TMP/finalizer.json"
  run "$KWCTL" run --request-path "$TMP/finalizer.json" --settings-json "$settings" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "true" ]
  [[ "$(response | jq -r '.warnings[0]')" == 'sidecar set mesh: cannot read Namespace "shop" to match the set'"'"'s namespaceSelector: '*' (the update is accepted unjudged: it changes no image and not the record)' ]]
  update_request "$TMP/stored.json" '.spec.containers[0].image = "other:1"' "$TMP/image.json"
  run "$KWCTL" run --request-path "$TMP/image.json" --settings-json "$settings" "$POLICY"
  [ "$(response | jq -r .allowed)" = "false" ]
}

@test "record: relabelling the app whose name the log shipper's transferEnv reads keeps the sidecar genuine, in verify and inject mode" {
  sed "s|^\(  module:\).*|\1 file://$PWD/$POLICY|" examples/cluster-admission-policy.yaml > "$TMP/policy.yaml"
  run "$KWCTL" run --replay-host-capabilities-interactions examples/replay/namespace-shop.yml --request-path examples/requests/pod-checkout-create.json "$TMP/policy.yaml"
  apply_patch examples/requests/pod-checkout-create.json "$TMP/injected.json"
  jq '.object.metadata.name = "checkout-1"' "$TMP/injected.json" > "$TMP/stored.json"
  sed 's/^    mode: inject$/    mode: verify/' "$TMP/policy.yaml" > "$TMP/verify.yaml"
  grep -q '^    mode: verify$' "$TMP/verify.yaml"
  update_request "$TMP/stored.json" '.metadata.labels["app.kubernetes.io/name"] = "checkout-debug"' "$TMP/relabel.json"
  run "$KWCTL" run --replay-host-capabilities-interactions examples/replay/namespace-shop.yml --request-path "$TMP/relabel.json" "$TMP/verify.yaml"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "true" ]
  # Relabelled, then an image swap: refused for its image, not as a look-alike.
  update_request "$TMP/relabel.json" '(.spec.initContainers[] | select(.name == "fluent-bit") | .image) = "fluent-bit:evil"' "$TMP/swap.json"
  run "$KWCTL" run --replay-host-capabilities-interactions examples/replay/namespace-shop.yml --request-path "$TMP/swap.json" "$TMP/policy.yaml"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "false" ]
  [[ "$(response | jq -r .status.message)" == *"is not the image of revision"* ]]
  [[ "$(response | jq -r .status.message)" != *"differs from what the set injects"* ]]
}

@test "record: verify mode requires one revision's images for a set's containers" {
  settings='{"mode":"verify","sidecarSets":[{"name":"mesh","selector":{},"nativeSidecars":false,"containers":[{"name":"envoy","image":"envoy:1","podInjectPolicy":"AfterAppContainer"},{"name":"agent","image":"agent:1","podInjectPolicy":"AfterAppContainer"}],"revisions":[{"name":"v2","images":{"envoy":"envoy:2","agent":"agent:2"}}]}]}'
  jq '.object.spec.containers += [{"name": "envoy", "image": "envoy:2"}, {"name": "agent", "image": "agent:1"}]' "$FIXTURES/pod-replicaset-create.json" > "$TMP/mixed.json"
  run "$KWCTL" run --request-path "$TMP/mixed.json" --settings-json "$settings" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .status.message)" = "the Pod does not hold what its sidecar sets inject: sidecar set mesh runs the images of different revisions: envoy (v2), agent (current); every container of a set runs the images of one revision; recreate the Pod so that the injecting policy adds the sidecars, or fix its manifest" ]
}

@test "record: an answer has at most 32 warnings of at most 1 KB" {
  settings='{"sidecarSets":[{"name":"mesh","selector":{},"containers":[{"name":"envoy","image":"envoy:1","resourceBounds":{"max":{"cpu":"1"}}}]}]}'
  jq '.object.metadata.annotations += ([range(4000)] | map({key: "sidecarset.kubewarden.io/resources.c\(.)", value: "{}"}) | from_entries)' \
    "$FIXTURES/pod-replicaset-create.json" > "$TMP/many.json"
  run "$KWCTL" run --request-path "$TMP/many.json" --settings-json "$settings" "$POLICY"
  [ "$(response | jq -r '.warnings | length')" = "32" ]
  [[ "$(response | jq -r '.warnings[31]')" == "… and "*" more warnings left out" ]]
  [ "$(response | jq '[.warnings[] | utf8bytelength] | max')" -le 1024 ]
}

# Found by the red-team pass of issue 30.

@test "record: a stale copy keeps a volume of the set's old definition that the app still mounts" {
  old='{"sidecarSets":[{"name":"log-shipper","selector":{},"containers":[{"name":"fluent-bit","image":"fluent-bit:3.2.4","volumeMounts":[{"name":"varlog","mountPath":"/var/log/app"}]}],"volumes":[{"name":"varlog","emptyDir":{}}]}]}'
  new="$(echo "$old" | jq -c '.sidecarSets[0].containers[0].volumeMounts[0].name = "logs" | .sidecarSets[0].volumes[0].name = "logs"')"
  jq '.object.spec.containers[0].volumeMounts = [{"name": "varlog", "mountPath": "/logs"}]' "$FIXTURES/pod-replicaset-create.json" > "$TMP/pod.json"
  run "$KWCTL" run --request-path "$TMP/pod.json" --settings-json "$old" "$POLICY"
  apply_patch "$TMP/pod.json" "$TMP/injected.json"
  run "$KWCTL" run --request-path "$TMP/injected.json" --settings-json "$new" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "true" ]
  apply_patch "$TMP/injected.json" "$TMP/copy.json"
  jq -e '[.object.spec.volumes[].name] | (index("varlog") != null) and (index("logs") != null)' "$TMP/copy.json"
}

@test "record: a Pod no set selects keeps no record it brought, so a later upgrade reads none" {
  jq '.object.metadata.labels.tier = "batch" | .object.metadata.annotations["sidecarset.kubewarden.io/status"] = "{\"sets\":[{\"name\":\"log-shipper\",\"hash\":\"0\",\"buckets\":\"owner:0,pod:0\"}]}"' \
    "$FIXTURES/pod-replicaset-create.json" > "$TMP/forged.json"
  settings="$(settings_with "$ROLLOUT" '.sidecarSets |= .[0:1]')"
  run "$KWCTL" run --request-path "$TMP/forged.json" --settings-json "$settings" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "true" ]
  [ "$(patch | jq -c .)" = '[{"op":"remove","path":"/metadata/annotations/sidecarset.kubewarden.io~1status"}]' ]
}

@test "record: a copy whose own init container runs before the set's is injected in start order, not held" {
  sed "s|^\(  module:\).*|\1 file://$PWD/$POLICY|" examples/cluster-admission-policy.yaml > "$TMP/policy.yaml"
  run "$KWCTL" run --replay-host-capabilities-interactions examples/replay/namespace-shop.yml --request-path examples/requests/pod-checkout-create.json "$TMP/policy.yaml"
  apply_patch examples/requests/pod-checkout-create.json "$TMP/injected.json"
  jq '.object.spec.initContainers = [{"name": "setup", "image": "busybox:1"}] + .object.spec.initContainers' "$TMP/injected.json" > "$TMP/first.json"
  run "$KWCTL" run --replay-host-capabilities-interactions examples/replay/namespace-shop.yml --request-path "$TMP/first.json" "$TMP/policy.yaml"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "true" ]
  apply_patch "$TMP/first.json" "$TMP/ordered.json"
  [ "$(jq -r '.object.spec.initContainers[-1].name' "$TMP/ordered.json")" = "setup" ]
}

@test "record: an upgrade is not refused because another set's namespaceSelector cannot read the Namespace" {
  settings='{"sidecarSets":[{"name":"a","selector":{},"containers":[{"name":"a","image":"a:1"}],"revisions":[{"name":"v2","images":{"a":"a:2"}}],"injectionStrategy":{"canary":{"revision":"v2","percent":100}},"allowNamespacePin":false},{"name":"c","selector":{},"namespaceSelector":{"matchLabels":{"team":"x"}},"containers":[{"name":"c","image":"c:1"}]}]}'
  before="$(echo "$settings" | jq -c '.sidecarSets[0].injectionStrategy.canary.percent = 0')"
  run "$KWCTL" run --allow-context-aware --replay-host-capabilities-interactions test_data/replay/namespace-shop.yml --request-path "$FIXTURES/pod-replicaset-create.json" --settings-json "$before" "$POLICY"
  apply_patch "$FIXTURES/pod-replicaset-create.json" "$TMP/injected.json"
  jq '.object.metadata.name = "checkout-1"' "$TMP/injected.json" > "$TMP/stored.json"
  update_request "$TMP/stored.json" '.metadata.annotations["sidecarset.kubewarden.io/upgrade"] = "a"' "$TMP/upgrade.json"
  run "$KWCTL" run --request-path "$TMP/upgrade.json" --settings-json "$settings" "$POLICY"
  echo "output = ${output}"
  [ "$(response | jq -r .allowed)" = "true" ]
  apply_patch "$TMP/upgrade.json" "$TMP/upgraded.json"
  [ "$(jq -r '.object.spec.initContainers[] | select(.name == "a") | .image' "$TMP/upgraded.json")" = "a:2" ]
}

@test "API server rules: a sidecar the API server would refuse in this Pod is a rejection naming the rule, not a Pod it refuses" {
  # A node agent with a hostPort of its own, in a Pod on the host's network.
  echo '{"sidecarSets": [{"name": "agent", "selector": {}, "hostNetworkPods": "inject", "nativeSidecars": false,
    "containers": [{"name": "node-agent", "image": "agent:1", "ports": [{"containerPort": 9100, "hostPort": 19100}]}]}]}' > "$TMP/agent.json"
  jq '.object.spec.hostNetwork = true' "$FIXTURES/pod-replicaset-create.json" > "$TMP/host-network.json"
  run "$KWCTL" run --request-path "$TMP/host-network.json" --settings-path "$TMP/agent.json" "$POLICY"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  [ "$(response | jq -r .allowed)" = "false" ]
  [ "$(response | jq -r .status.message)" = 'sidecar set "agent": container "node-agent" has ports[0].hostPort 19100 and containerPort 9100, which the API server refuses in a Pod with spec.hostNetwork: true (they must be equal); set hostPort to containerPort or remove it in the set, or keep the set out of host-network Pods (hostNetworkPods)' ]
  # The same Pod off the host's network is injected.
  run "$KWCTL" run --request-path "$FIXTURES/pod-replicaset-create.json" --settings-path "$TMP/agent.json" "$POLICY"
  [ "$(response | jq -r .allowed)" = "true" ]
  apply_patch "$FIXTURES/pod-replicaset-create.json" "$TMP/injected.json"
  [ "$(jq -c '.object.spec.containers[] | select(.name == "node-agent") | .ports' "$TMP/injected.json")" = '[{"containerPort":9100,"hostPort":19100}]' ]
  # The Pod's deprecated seccomp annotation naming the set's sidecar.
  echo '{"sidecarSets": [{"name": "logs", "selector": {}, "containers": [{"name": "shipper", "image": "shipper:1",
    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}}]}]}' > "$TMP/logs.json"
  jq '.object.metadata.annotations["container.seccomp.security.alpha.kubernetes.io/shipper"] = "unconfined"' \
    "$FIXTURES/pod-replicaset-create.json" > "$TMP/annotated.json"
  run "$KWCTL" run --request-path "$TMP/annotated.json" --settings-path "$TMP/logs.json" "$POLICY"
  [ "$(response | jq -r .allowed)" = "false" ]
  [ "$(response | jq -r .status.message)" = 'sidecar set "logs": container "shipper" is named by the Pod'"'"'s annotation container.seccomp.security.alpha.kubernetes.io/shipper, which the API server applies to that container and checks against its securityContext, and a sidecar'"'"'s security profile is its set'"'"'s to decide; remove the annotation from the Pod (its securityContext fields set the app containers'"'"' profiles)' ]
}
