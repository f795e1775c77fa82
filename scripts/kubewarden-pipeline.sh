#!/usr/bin/env bash
# Kubewarden's reusable workflows v7 (kubewarden/github-actions v7.0.1,
# 143b9e4b11ddc47370482267383586e6f1bc7efe), replayed on a clean clone of
# HEAD as they run on a v* tag:
# - reusable-test-policy-rust.yml: cargo check, test and clippy
#   (--workspace --locked) and cargo fmt --check, with nothing but rustup's
#   tools: no policy.wasm, no kubernetes-validate, no kwctl;
# - reusable-release-policy-rust.yml: the build action's cargo build, then
#   make annotated-policy.wasm and make e2e-tests with only what
#   policy-gh-action-dependencies installs (kwctl, bats, cosign, syft,
#   binaryen) besides the runner's own tools: no jsonpatch CLI, no Python
#   packages, none of make tools' venv.
# The clone's builds go to target/pipeline/target, kept between runs.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
work="$root/target/pipeline"
rm -rf "$work/clone"
mkdir -p "$work"
git clone --quiet --no-local . "$work/clone"
cd "$work/clone"
export CARGO_TARGET_DIR="$work/target"

echo "pipeline: the test job (cargo, --workspace --locked)"
cargo check --workspace --locked
cargo test --workspace --locked
cargo clippy --workspace --locked -- -D warnings
cargo fmt --all -- --check

echo "pipeline: the release job (build, annotate, e2e) with kwctl, bats, binaryen"
rustup target list --installed | grep -qx wasm32-wasip1 || rustup target add wasm32-wasip1
cargo build --target=wasm32-wasip1 --release
# The runner's tools and the ones the release job installs, nothing else.
bin="$work/bin"
rm -rf "$bin" && mkdir -p "$bin"
for tool in kwctl bats jq wasm-opt cargo rustc rustup; do
  found="$(PATH="$root/target/tools/bin:$PATH" command -v "$tool")" || { echo "pipeline: $tool is missing"; exit 1; }
  ln -s "$found" "$bin/$tool"
done
plain="$bin:/usr/bin:/bin"
for forbidden in jsonpatch kubernetes-validate check-jsonschema; do
  if PATH="$plain" command -v "$forbidden" >/dev/null; then
    echo "pipeline: $forbidden is on the plain PATH; the release job would not have it"; exit 1
  fi
done
PATH="$plain" make annotated-policy.wasm
# The shipped module is the optimized one, not the build action's output.
built="$(stat -c %s "$CARGO_TARGET_DIR/wasm32-wasip1/release/sidecarset_policy.wasm")"
shipped="$(stat -c %s policy.wasm)"
if [ "$shipped" -ge "$built" ]; then
  echo "pipeline: policy.wasm ($shipped bytes) is not the wasm-opt output (the build's is $built bytes)"; exit 1
fi
PATH="$plain" make e2e-tests
echo "pipeline: the v7 test job and the release job's build, annotate and e2e steps pass"
