#!/usr/bin/env bash
# Installs what `make test` needs and a fresh machine lacks: the wasm32-wasip1
# target, clippy and rustfmt (rustup); bats, jq, binaryen's wasm-opt and
# docker-registry (Debian packages); kubernetes-validate, jsonpatch,
# jsonschema, check-jsonschema and zizmor (PyPI wheels, into a venv under
# target/); valgrind and wrk (Debian packages) for the instruction counts and
# the policy-server benchmark; cargo-sbom (crates.io) for make sbom; with
# FUZZ=1 cargo-fuzz and with AUDIT=1 cargo-deny (crates.io).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=target/tools

rustup target list --installed | grep -qx wasm32-wasip1 || rustup target add wasm32-wasip1
for component in clippy rustfmt; do
  rustup component list --installed | grep -q "^$component" || rustup component add "$component"
done

missing=()
for tool in bats jq; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
command -v wasm-opt >/dev/null 2>&1 || missing+=(binaryen)
# Instruction counts (make instruction-tests, make bench) and the load
# generator of make bench-policy-server.
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
# An OCI registry on loopback for distribution.bats.
command -v docker-registry >/dev/null 2>&1 || command -v registry >/dev/null 2>&1 || missing+=(docker-registry)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]} with apt-get"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "please install ${missing[*]} with your package manager" >&2
    exit 1
  fi
fi

# The mutated Pods against Kubernetes' schemas, JSON Patch, the settings
# schema (jsonschema), the workflows (check-jsonschema, zizmor).
python_tools=(kubernetes-validate==1.37.0 jsonpatch==1.33 jsonschema==4.26.0 check-jsonschema==0.39.0 zizmor==1.33.1)
for bin in kubernetes-validate jsonpatch jsonschema check-jsonschema zizmor; do
  if [ ! -x "$VENV/bin/$bin" ]; then
    echo "installing ${python_tools[*]} into $VENV"
    [ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "${python_tools[@]}"
    break
  fi
done

# Cargo tools, built from crates.io (a few minutes each on two cores).
if ! command -v cargo-sbom >/dev/null 2>&1; then
  echo "installing cargo-sbom"
  cargo install --quiet --locked cargo-sbom --version 0.10.0
fi
if [ "${FUZZ:-}" = 1 ] && ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "installing cargo-fuzz"
  cargo install --quiet --locked cargo-fuzz
fi
if [ "${AUDIT:-}" = 1 ] && ! command -v cargo-deny >/dev/null 2>&1; then
  echo "installing cargo-deny"
  cargo install --quiet --locked cargo-deny
fi
