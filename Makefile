# sidecarset-policy. `make run` and `make test` are all a newcomer needs.
SHELL := /bin/bash
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
POLICY_SOURCES := $(shell find src -name '*.rs') Cargo.toml Cargo.lock
HOST := target/host/sidecarset-host
HOST_SOURCES := $(wildcard host/src/*.rs) host/Cargo.toml Cargo.lock
# Test tools installed by scripts/install-tools.sh (kubernetes-validate,
# jsonpatch), and Kubewarden's kwctl and policy-server where they were
# unpacked there, come first.
TOOLS_PATH := $(CURDIR)/target/tools/bin:$(PATH)
# kwctl is used where installed; the host/ runner stands in for it otherwise.
KWCTL_BIN := $(shell PATH='$(TOOLS_PATH)' command -v kwctl 2>/dev/null)
POLICY_SERVER_BIN := $(shell PATH='$(TOOLS_PATH)' command -v policy-server 2>/dev/null)
WASM_TARGET := wasm32-wasip1
# The features rustc's wasm32-wasip1 output uses; binaryen 108 needs them named.
# The producers and target-features sections are for linkers, not runtimes:
# stripped first (before -Oz, which then shrinks the module further).
WASM_OPT_FLAGS := --strip-producers --strip-target-features -Oz --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int --enable-mutable-globals
export PATH := $(TOOLS_PATH)

.PHONY: all
all: policy.wasm

# Rebuild policy.wasm when wasm-opt appears or goes (a stamp per state).
WASM_OPT_STATE := $(if $(shell command -v wasm-opt 2>/dev/null),optimized,plain)
target/.wasm-opt-$(WASM_OPT_STATE):
	@mkdir -p target && rm -f target/.wasm-opt-* && touch $@

# $(call optimize,IN,OUT): wasm-opt (Debian's binaryen) takes about a third
# off a module; without it the module is copied as built.
optimize = if command -v wasm-opt >/dev/null; then wasm-opt $(WASM_OPT_FLAGS) $(1) -o $(2); \
  else echo "wasm-opt not found (binaryen): $(2) is not size-optimized; make tools installs it"; cp $(1) $(2); fi
RELEASE_DIR := $(or $(CARGO_TARGET_DIR),target)/$(WASM_TARGET)/release

# The policy crate's own flags (not its dependencies', nor the floors'): a
# lower inline threshold for the LTO pass keeps opt-level 2's speed at a
# tenth less size (Cargo.toml, docs/performance.md). 140 since issue 32's
# red-team fixes: 26 KB less than 141-150 (BTreeMap's node insert is no
# longer inlined everywhere) for 0.3% more instructions in case 1.
POLICY_RUSTC_FLAGS := -C llvm-args=-inline-threshold=140
policy.wasm: $(POLICY_SOURCES) target/.wasm-opt-$(WASM_OPT_STATE)
	@rustup target list --installed 2>/dev/null | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)
	cargo rustc --target=$(WASM_TARGET) --release -p sidecarset-policy -- $(POLICY_RUSTC_FLAGS)
	@$(call optimize,$(RELEASE_DIR)/sidecarset_policy.wasm,policy.wasm)
	@echo "policy.wasm: $$(stat -c %s policy.wasm) bytes"

# The benchmark floors (floor/), built as the policy is but with every crate
# at opt-level 3 (the release profile builds dependencies for size): the
# least a policy does, and the least a mutating policy does (feature
# "mutating"), at their fastest.
FLOOR_PROFILE := --config 'profile.release.package."*".opt-level=3' --config 'profile.release.opt-level=3'
target/floor.wasm target/floor-mutating.wasm &: floor/src/lib.rs floor/Cargo.toml Cargo.toml Cargo.lock target/.wasm-opt-$(WASM_OPT_STATE)
	cargo build --target=$(WASM_TARGET) --release -p floor-policy $(FLOOR_PROFILE)
	@$(call optimize,$(RELEASE_DIR)/floor_policy.wasm,target/floor.wasm)
	cargo build --target=$(WASM_TARGET) --release -p floor-policy --features mutating $(FLOOR_PROFILE)
	@$(call optimize,$(RELEASE_DIR)/floor_policy.wasm,target/floor-mutating.wasm)

# Criterion benchmarks of the policy next to the floors, fresh and warm, with
# the table of time ratios (also in target/bench-table.md); then instructions
# per evaluation counted by callgrind, with the ratios the performance issue
# set targets for (target/instructions.md); then, where policy-server, kwctl
# and wrk are installed, the cost through the real policy-server.
.PHONY: bench
bench: policy.wasm target/floor.wasm target/floor-mutating.wasm
	cargo bench --profile host -p host --bench evaluation
	cargo bench --profile host -p host --bench instructions
	scripts/policy-server-bench.sh

.PHONY: bench-pod-security
# The Pod Security check through the real policy-server, reading Namespaces
# from a stand-in API server (docs/performance.md).
bench-pod-security: annotated-policy.wasm
	scripts/pod-security-lookup-bench.sh

.PHONY: bench-policy-server
bench-policy-server: policy.wasm target/floor.wasm target/floor-mutating.wasm
	scripts/policy-server-bench.sh

# Fails when an instruction-count ratio of `make bench` grows more than 10%
# past host/benches/instructions-baseline.json; skipped without valgrind.
# Kubewarden's own kwctl bench (one instance reused) on the policy and the
# floors, case 1's request and settings (target/kwctl-bench.md); skipped
# without kwctl.
.PHONY: bench-kwctl
ifneq ($(KWCTL_BIN),)
bench-kwctl: annotated-policy.wasm target/floor.wasm target/floor-mutating.wasm
	scripts/kwctl-bench.sh
else
bench-kwctl:
	@echo "bench-kwctl: kwctl is not installed; skipped"
endif

.PHONY: instruction-tests
instruction-tests: policy.wasm target/floor.wasm target/floor-mutating.wasm
	cargo bench --profile host -p host --bench instructions -- --check

# Coverage-guided fuzzing (cargo fuzz, libFuzzer) of validate,
# validate_settings and a structure-aware target that edits real requests;
# FUZZ_SECONDS per target. A crash fails the target and leaves the input in
# fuzz/artifacts/<target>/: make it a regression test in
# test_data/fuzz-regressions/. The code is safe Rust, so no sanitizer (and
# no nightly toolchain) is needed: a panic is the failure looked for.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := validate validate_settings mutate_request
.PHONY: fuzz
fuzz:
	@command -v cargo-fuzz >/dev/null || { echo "fuzz: cargo-fuzz is missing: make tools FUZZ=1 (or cargo install cargo-fuzz --locked)"; exit 1; }
	python3 scripts/fuzz-seeds.py
	@mkdir -p target
	@for t in $(FUZZ_TARGETS); do \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  (cd fuzz && cargo fuzz run --sanitizer none $$t corpus/$$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -rss_limit_mb=4096) > target/fuzz-$$t.log 2>&1; \
	  rc=$$?; grep -E '^(Done|stat::number_of_executed_units)' target/fuzz-$$t.log; \
	  if [ $$rc -ne 0 ]; then grep -E 'panicked|Failing input' -A 3 target/fuzz-$$t.log | head -20; \
	    echo "fuzz: $$t failed (log: target/fuzz-$$t.log)"; exit 1; fi; \
	done
	@# The record's property test (tests/record_properties.rs), longer than
	@# make test runs it: 200 cases per fuzzing second.
	PROPTEST_CASES=$$(( $(FUZZ_SECONDS) * 200 )) cargo test --release -p sidecarset-policy --test record_properties

# Supply chain: licenses, bans and sources from Cargo.lock (offline), then
# RustSec advisories where the advisory database can be fetched.
.PHONY: audit
audit:
	@command -v cargo-deny >/dev/null || { echo "audit: cargo-deny is missing: make tools AUDIT=1 (or cargo install cargo-deny --locked)"; exit 1; }
	cargo deny check licenses bans sources
	@if cargo deny fetch >/dev/null 2>&1; then cargo deny check advisories; \
	 else echo "audit: advisories not checked: the RustSec database (github.com/RustSec/advisory-db) cannot be fetched from here"; fi

# The module a release ships is this one, on purpose: annotated-policy.wasm
# is made from policy.wasm as its rule above builds it (the policy's own
# rustc flags, then wasm-opt), never from a plain `cargo build` output such
# as the one Kubewarden's build action leaves (scripts/kubewarden-pipeline.sh
# checks that the annotated module is the optimized one).
annotated-policy.wasm: policy.wasm metadata.yml README.md
	kwctl annotate -m metadata.yml -u README.md -o annotated-policy.wasm policy.wasm

$(HOST): $(HOST_SOURCES)
	cargo build --profile host -p host

.PHONY: host
host: $(HOST)

.PHONY: fmt
fmt:
	cargo fmt --all -- --check

.PHONY: lint
lint:
	cargo clippy --workspace --all-targets --features host/wasm-tests,kubectl-sidecarset/kubernetes-validate -- -D warnings
	@rustup target list --installed 2>/dev/null | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)
	cargo clippy -p sidecarset-policy --target=$(WASM_TARGET) --release -- -D warnings

# The kubectl plugin (kubectl-sidecarset/, docs/kubectl-plugin.md): a
# native binary that links the policy crate. Debug build: the docs run it.
PLUGIN := target/debug/kubectl-sidecarset
PLUGIN_SOURCES := $(shell find kubectl-sidecarset -name '*.rs') kubectl-sidecarset/Cargo.toml $(POLICY_SOURCES)
# With examples/stand-in (the tests' stand-in API server), which the docs
# run the cluster commands against.
$(PLUGIN): $(PLUGIN_SOURCES)
	cargo build -p kubectl-sidecarset --bins --examples

.PHONY: plugin plugin-tests plugin-archive
plugin: $(PLUGIN)

# Its tests: upgrade planning (tables), status, render over the example
# manifests and the request fixtures (every rendered object through
# kubernetes-validate --strict and the API server oracle, evaluated again
# as a no-op, accepted by the verify-mode examples), explain, and the
# cluster commands against the stand-in API server (tests/support).
plugin-tests:
	cargo test -p kubectl-sidecarset --features kubernetes-validate

# A release archive as krew installs it (.github/workflows/release.yml,
# krew/sidecarset.yaml): make plugin-archive TAG=v0.1.0 OS=linux ARCH=amd64
# [RUST_TARGET=x86_64-unknown-linux-gnu, for another target than the host's].
PLUGIN_ARCHIVE = kubectl-sidecarset_$(TAG)_$(OS)_$(ARCH)
plugin-archive:
	@test -n "$(TAG)" -a -n "$(OS)" -a -n "$(ARCH)" || { echo "plugin-archive: set TAG, OS and ARCH"; exit 1; }
	cargo build --locked --release -p kubectl-sidecarset $(if $(RUST_TARGET),--target $(RUST_TARGET))
	rm -rf target/$(PLUGIN_ARCHIVE) && mkdir -p target/$(PLUGIN_ARCHIVE)
	cp target/$(if $(RUST_TARGET),$(RUST_TARGET)/)release/kubectl-sidecarset LICENSE target/$(PLUGIN_ARCHIVE)/
	tar -czf $(PLUGIN_ARCHIVE).tar.gz -C target/$(PLUGIN_ARCHIVE) kubectl-sidecarset LICENSE
	shasum -a 256 $(PLUGIN_ARCHIVE).tar.gz > $(PLUGIN_ARCHIVE).tar.gz.sha256
	@cat $(PLUGIN_ARCHIVE).tar.gz.sha256

.PHONY: unit-tests
unit-tests:
	cargo test -p sidecarset-policy -p pod-validation-oracle

# settings.schema.json and policy.schema.json, written by
# src/settings/json_schema.rs (native builds only); tests/settings_schema.rs
# (in unit-tests) fails when they are not what it writes. schema-tests: the
# example policies and test settings through a second validator
# (check-jsonschema, as an editor or a GitOps linter reads them).
.PHONY: settings-schema schema-tests
settings-schema:
	UPDATE_SETTINGS_SCHEMA=1 cargo test -p sidecarset-policy --test settings_schema -- the_committed_schemas
schema-tests:
	check-jsonschema --schemafile policy.schema.json examples/*.yaml
	check-jsonschema --schemafile settings.schema.json test_data/settings*.yaml

# The built module, through host/ (policy-server's evaluation path), and the
# mutated Pods through kubernetes-validate --strict.
.PHONY: wasm-tests
wasm-tests: policy.wasm target/floor.wasm target/floor-mutating.wasm
	cargo test --profile host -p host --all-targets --features wasm-tests

# e2e.bats runs `$${KWCTL:-kwctl} run ... $${POLICY}`: kwctl with the annotated
# module where kwctl is installed, the host/ runner with policy.wasm otherwise.
.PHONY: e2e-tests
ifneq ($(KWCTL_BIN),)
e2e-tests: annotated-policy.wasm
	@echo "e2e-tests: running e2e.bats with kwctl ($(KWCTL_BIN)) on annotated-policy.wasm"
	POLICY=annotated-policy.wasm bats e2e.bats
else
e2e-tests: policy.wasm $(HOST)
	@echo "e2e-tests: kwctl is not installed; running e2e.bats with $(HOST) on policy.wasm"
	KWCTL=$(CURDIR)/$(HOST) POLICY=policy.wasm bats e2e.bats
endif

# README.md and docs/: links resolve; every example is run (settings through
# the policy and the schema, Pods shown against what the policy gives,
# messages against the patterns of docs/troubleshooting.md and
# docs/settings.md, which must cover every message the tests assert);
# make run's rollout demo shows what the Namespace label changes, and the
# changes it prints are the patch's, by name; scripts/check-docs.py. With kwctl where installed, else the host/ runner.
.PHONY: docs-tests checker-tests
# The checkers themselves find the faults they are for.
checker-tests:
	target/tools/bin/python scripts/test_checkers.py
ifneq ($(KWCTL_BIN),)
docs-tests: annotated-policy.wasm $(PLUGIN)
	KWCTL=$(KWCTL_BIN) POLICY=annotated-policy.wasm PLUGIN=$(PLUGIN) target/tools/bin/python scripts/check-docs.py
else
docs-tests: policy.wasm $(HOST) $(PLUGIN)
	KWCTL=$(CURDIR)/$(HOST) POLICY=policy.wasm PLUGIN=$(PLUGIN) target/tools/bin/python scripts/check-docs.py
endif

# The annotated module in Kubewarden's policy-server over TLS, with the
# example policy's settings (policy-server.bats); skipped where
# policy-server is not installed.
.PHONY: policy-server-tests
ifneq ($(and $(POLICY_SERVER_BIN),$(KWCTL_BIN)),)
policy-server-tests: annotated-policy.wasm
	@echo "policy-server-tests: running policy-server.bats with $(POLICY_SERVER_BIN)"
	POLICY=annotated-policy.wasm bats policy-server.bats
else
policy-server-tests:
	@echo "policy-server-tests: skipped: policy-server and kwctl are not installed (Kubewarden's binaries; see docs/development.md)"
endif

# The policy through an OCI registry as users get it (distribution.bats):
# kwctl push, pull, inspect and run, policy-server loading it from the
# registry, and artifacthub-pkg.yml as kwctl scaffolds it; skipped where
# kwctl or docker-registry is not installed.
.PHONY: distribution-tests
ifneq ($(KWCTL_BIN),)
distribution-tests: annotated-policy.wasm
	POLICY=annotated-policy.wasm bats distribution.bats
else
distribution-tests:
	@echo "distribution-tests: skipped: kwctl is not installed (Kubewarden's binary; see docs/development.md)"
endif

# Annotate and push the policy: make push REGISTRY=ghcr.io/you/policies
# VERSION=v0.1.0 [SOURCES=sources.yml] (kwctl's sources file, e.g. for an
# insecure registry).
# VERSION given on the command line is the tag; otherwise v<Cargo version>.
PUSH_TAG = $(if $(filter command line,$(origin VERSION)),$(VERSION),v$(VERSION))
.PHONY: push
push: annotated-policy.wasm
	@test -n "$(REGISTRY)" || { echo "push: set REGISTRY=<host[:port]/path>"; exit 1; }
	kwctl push $(if $(SOURCES),--sources-path $(SOURCES)) annotated-policy.wasm registry://$(REGISTRY)/sidecarset:$(PUSH_TAG)

.PHONY: tools
tools:
	FUZZ=$(FUZZ) AUDIT=$(AUDIT) scripts/install-tools.sh

# A second make reads the tools that `make tools` just installed (wasm-opt).
.PHONY: test
test: tools
	$(MAKE) fmt lint unit-tests plugin-tests wasm-tests instruction-tests e2e-tests policy-server-tests distribution-tests sbom-tests release-tests pipeline-tests schema-tests docs-tests checker-tests

# What a release tag needs that can be checked here: one version in
# Cargo.toml, metadata.yml, artifacthub-pkg.yml (and the tag, on one); the
# make targets the workflows call exist; what Kubewarden's release workflow
# expects of the repository; the workflows against GitHub's schema and zizmor.
# Kubewarden's reusable workflows as they run on a tag, replayed on a clean
# clone of HEAD: the test job's cargo commands with only rustup's tools,
# then the release job's build, annotate and e2e steps with only what it
# installs (kwctl, bats, cosign, syft, binaryen) and the runner's own tools.
.PHONY: pipeline-tests
pipeline-tests:
	scripts/kubewarden-pipeline.sh

.PHONY: release-tests
release-tests:
	python3 scripts/check-release.py
	check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	check-jsonschema --builtin-schema vendor.renovate renovate.json
	zizmor --offline --no-progress --config .github/zizmor.yml .github/workflows/

# A local view: the SPDX SBOM of the crates policy.wasm is built from
# (Cargo.lock), in a file named as Kubewarden's release names its own SBOM
# (policy-sbom.spdx.json), which the release makes with syft over the whole
# checkout instead (docs/operations.md); cargo-sbom from crates.io (make
# tools installs it).
.PHONY: sbom sbom-tests
sbom: policy-sbom.spdx.json
policy-sbom.spdx.json: Cargo.toml Cargo.lock
	cargo sbom --cargo-package sidecarset-policy --output-format spdx_json_2_3 > $@.tmp && mv $@.tmp $@
	@echo "$@: $$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["packages"]))' $@) packages"

# The SBOM lists every crate (name and version) the wasm build compiles
# into policy.wasm, as cargo tree resolves them for wasm32-wasip1.
sbom-tests: policy-sbom.spdx.json
	python3 scripts/check-sbom.py policy-sbom.spdx.json

# Build the policy and evaluate the example requests with the example
# ClusterAdmissionPolicy's settings. Where kwctl is installed (PATH or
# target/tools/bin) it evaluates them (scripts/explain-with-kwctl.py prints
# its answers as the host/ runner does, but for the patch: with --changes,
# what it changes in the Pod, by name), and host/ (wasmtime, minutes to
# build on a fresh clone) is not built; elsewhere the host/ runner does.
ifneq ($(KWCTL_BIN),)
RUN_DEPS := annotated-policy.wasm
EXPLAIN := python3 scripts/explain-with-kwctl.py --changes --policy annotated-policy.wasm
else
RUN_DEPS := policy.wasm $(HOST)
EXPLAIN := $(HOST) explain --policy policy.wasm
endif
.PHONY: run
run: $(RUN_DEPS)
	$(EXPLAIN) --settings-path examples/cluster-admission-policy.yaml \
	  --allow-context-aware --replay-host-capabilities-interactions examples/replay/namespace-shop.yml \
	  $(filter-out %-restricted-create.json,$(wildcard examples/requests/*.json))
	@echo "── in the Namespace payments, which enforces Pod Security restricted (docs/pod-security.md):"
	$(EXPLAIN) --settings-path examples/cluster-admission-policy.yaml \
	  --allow-context-aware --replay-host-capabilities-interactions examples/replay/namespace-payments.yml \
	  examples/requests/pod-payments-restricted-create.json
	@echo "── under examples/rollout-policy.yaml (a 30% canary by owner, and tags, docs/rollout.md): one Pod whose owner's canary bucket (35) is outside the 30%,"
	@echo "   first in shop without a label, then in shop labelled sidecarset.kubewarden.io/revision.log-shipper=canary. Look at the warning"
	@echo "   'sidecar set log-shipper: revision …' and fluent-bit's image: current (3.2.4) without the label, v3-3 (3.3.0, pinned by the Namespace's label) with it."
	$(EXPLAIN) --settings-path examples/rollout-policy.yaml \
	  --allow-context-aware --replay-host-capabilities-interactions examples/replay/namespace-shop.yml examples/requests/pod-export-job-create.json
	$(EXPLAIN) --settings-path examples/rollout-policy.yaml \
	  --allow-context-aware --replay-host-capabilities-interactions examples/replay/namespace-shop-canary.yml examples/requests/pod-export-job-create.json

.PHONY: artifacthub
artifacthub: metadata.yml questions-ui.yml
	@command -v kwctl >/dev/null || { echo "artifacthub: kwctl is not installed; artifacthub-pkg.yml is left as it is"; exit 1; }
	kwctl scaffold artifacthub --metadata-path metadata.yml --questions-path questions-ui.yml --output artifacthub-pkg.yml

.PHONY: clean
clean:
	cargo clean
	rm -f policy.wasm annotated-policy.wasm
