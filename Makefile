# sidecarset-policy. `make run` and `make test` are all a newcomer needs.
SHELL := /bin/bash
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
POLICY_SOURCES := $(shell find src -name '*.rs') Cargo.toml Cargo.lock
HOST := target/release/sidecarset-host
HOST_SOURCES := $(wildcard host/src/*.rs) host/Cargo.toml Cargo.lock
# kwctl is used where installed; the host/ runner stands in for it otherwise.
KWCTL_BIN := $(shell command -v kwctl 2>/dev/null)
WASM_TARGET := wasm32-wasip1
# Test tools installed by scripts/install-tools.sh (kubernetes-validate, jsonpatch).
export PATH := $(CURDIR)/target/tools/bin:$(PATH)

.PHONY: all
all: policy.wasm

policy.wasm: $(POLICY_SOURCES)
	@rustup target list --installed 2>/dev/null | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)
	cargo build --target=$(WASM_TARGET) --release -p sidecarset-policy
	cp target/$(WASM_TARGET)/release/sidecarset_policy.wasm policy.wasm

annotated-policy.wasm: policy.wasm metadata.yml README.md
	kwctl annotate -m metadata.yml -u README.md -o annotated-policy.wasm policy.wasm

$(HOST): $(HOST_SOURCES)
	cargo build --release -p host

.PHONY: host
host: $(HOST)

.PHONY: fmt
fmt:
	cargo fmt --all -- --check

.PHONY: lint
lint:
	cargo clippy --workspace --all-targets -- -D warnings
	@rustup target list --installed 2>/dev/null | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)
	cargo clippy -p sidecarset-policy --target=$(WASM_TARGET) --release -- -D warnings

.PHONY: unit-tests
unit-tests:
	cargo test -p sidecarset-policy

# The built module, through host/ (policy-server's evaluation path), and the
# mutated Pods through kubernetes-validate --strict.
.PHONY: wasm-tests
wasm-tests: policy.wasm
	cargo test --release -p host

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

.PHONY: tools
tools:
	scripts/install-tools.sh

.PHONY: test
test: tools fmt lint unit-tests wasm-tests e2e-tests

# Build the policy and evaluate the example requests with the example
# ClusterAdmissionPolicy's settings.
.PHONY: run
run: policy.wasm $(HOST)
	$(HOST) explain --policy policy.wasm --settings-path examples/cluster-admission-policy.yaml examples/requests/*.json

.PHONY: artifacthub
artifacthub: metadata.yml questions-ui.yml
	@command -v kwctl >/dev/null || { echo "artifacthub: kwctl is not installed; artifacthub-pkg.yml is left as it is"; exit 1; }
	kwctl scaffold artifacthub --metadata-path metadata.yml --version $(VERSION) --questions-path questions-ui.yml --output artifacthub-pkg.yml

.PHONY: clean
clean:
	cargo clean
	rm -f policy.wasm annotated-policy.wasm
