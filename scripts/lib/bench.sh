# Shared by the policy-server benchmarks (scripts/policy-server-bench.sh,
# scripts/pod-security-lookup-bench.sh): one policy-server on loopback with
# TLS, a temporary DIR cleaned up on exit, and wrk POSTing $DIR/review.json.
# shellcheck shell=bash

ROUNDS="${ROUNDS:-3}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-5}"

# Exits (successfully) with a note when a tool is missing: `$1: skipped`.
need_tools() {
  local what="$1"; shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 ||
      { echo "$what: skipped: $tool is not installed (make tools installs wrk; policy-server and kwctl come from Kubewarden's releases, in PATH or target/tools/bin)"; exit 0; }
  done
}

DIR="$(mktemp -d)"
cleanup() {
  for p in "$DIR"/*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
  rm -rf "$DIR"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Starts policy-server on $PORT with $DIR/policies.yml and a self-signed
# certificate, its arguments added to its flags; waits until it is ready.
start_policy_server() {
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$DIR/key.pem" -out "$DIR/cert.pem" 2>/dev/null
  PORT="$(free_port)"
  local ready
  ready="$(free_port)"
  (cd "$DIR" && exec policy-server --addr 127.0.0.1 --port "$PORT" \
    --readiness-probe-port "$ready" --cert-file cert.pem --key-file key.pem \
    --policies policies.yml --policies-download-dir . --sigstore-cache-dir sigstore \
    --log-level error --log-no-color "$@" > server.log 2>&1) &
  echo $! > "$DIR/server.pid"
  for _ in $(seq 1 120); do
    curl -sf "http://127.0.0.1:$ready/readiness" >/dev/null && break
    sleep 0.5
  done
  curl -sf "http://127.0.0.1:$ready/readiness" >/dev/null || { cat "$DIR/server.log"; exit 1; }
}

# $DIR/review.json: the request $1 as an AdmissionReview; $DIR/post.lua
# makes wrk POST it.
write_review() {
  jq '{apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: .}' "$1" > "$DIR/review.json"
  cat > "$DIR/post.lua" <<EOF2
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$DIR/review.json", "rb")
wrk.body = f:read("*a")
f:close()
EOF2
}

# The answer of the policy named $1 to the review, in $DIR/$1.json.
review() {
  curl -sS --fail --cacert "$DIR/cert.pem" -H 'Content-Type: application/json' \
    --data @"$DIR/review.json" "https://127.0.0.1:$PORT/validate/$1" > "$DIR/$1.json"
}

# Requests per second of the policy named $1, for SECONDS_PER_RUN.
rps() {
  wrk -t 2 -c 4 -d "${SECONDS_PER_RUN}s" -s "$DIR/post.lua" "https://127.0.0.1:$PORT/validate/$1" |
    awk '/^Requests\/sec:/ {print $2}'
}

# The median of the arguments.
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
