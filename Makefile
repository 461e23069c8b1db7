# mtls-guard: build, test, demo and benchmarks.
# `make demo` and `make test` are the two set-up commands the README promises on a fresh machine.

SWIFT        ?= swift
PYTHON       ?= python3
SWIFT_FLAGS  ?=
RELEASE_BIN  := .build/release/mtls-guard
DEBUG_BIN    := .build/debug/mtls-guard
APT_PACKAGES := libssl-dev pkg-config openssl curl

.PHONY: all deps build release test test-swift test-e2e test-asan demo clean \
        bench-tls bench-webhook bench-engine bench-cluster bench-audit examples-certs

all: build

## deps: make sure the system libraries and tools the build and tests need are present.
deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "==> installing$$missing (apt-get)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || \
	      { echo "error: could not install$$missing; install them and re-run" >&2; exit 1; }; \
	  else \
	    echo "error: missing system packages:$$missing" >&2; \
	    echo "       install them with: sudo apt-get install$$missing" >&2; exit 1; \
	  fi; \
	fi
	@pkg-config --exists 'openssl >= 3.0' || { echo "error: pkg-config cannot find OpenSSL >= 3.0 (libssl-dev)" >&2; exit 1; }
	@command -v $(SWIFT) >/dev/null || { echo "error: swift toolchain not found on PATH" >&2; exit 1; }
	@$(PYTHON) -c 'import pytest, yaml, aiohttp' 2>/dev/null || { echo "==> installing pytest, pyyaml, aiohttp (pip)"; $(PYTHON) -m pip install -q pytest pyyaml aiohttp || { echo "error: pytest, pyyaml and aiohttp (the API-server emulator) are needed for the end-to-end tests: pip install pytest pyyaml aiohttp" >&2; exit 1; }; }
	@# kubectl (client-go) checks the API-server emulator's fidelity and drives `make demo`.
	@command -v kubectl >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "==> installing kubectl (apt-get)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubectl >/dev/null 2>&1 || \
	      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubectl >/dev/null; } || \
	      { echo "error: could not install kubectl; install it (apt-get install kubectl) and re-run" >&2; exit 1; }; \
	  else \
	    echo "error: kubectl is needed by the end-to-end tests and make demo: sudo apt-get install kubectl" >&2; exit 1; \
	  fi; }

build: deps
	$(SWIFT) build $(SWIFT_FLAGS)

release: deps
	$(SWIFT) build -c release $(SWIFT_FLAGS)

## test: every test: Swift unit/integration tests, then end-to-end tests over real TLS.
test: deps
	$(SWIFT) build --build-tests $(SWIFT_FLAGS)
	$(SWIFT) test --skip-build $(SWIFT_FLAGS)
	$(MAKE) --no-print-directory test-e2e

test-e2e: build
	@if [ -d Tests/e2e ]; then MTLS_GUARD_BIN=$(DEBUG_BIN) $(PYTHON) -m pytest -q Tests/e2e; fi

## test-asan: the TLS and certificate tests under AddressSanitizer, leak detection on.
## .ci/lsan.supp lists the few leaks inside the toolchain's own libraries (with reasons).
## --disable-xctest: every test uses swift-testing, and XCTest's empty pass leaks its own
## bookkeeping objects.
ASAN_ENV := ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/.ci/lsan.supp

test-asan: deps
	$(SWIFT) build --build-tests --sanitize=address --scratch-path .build-asan $(SWIFT_FLAGS)
	$(ASAN_ENV) $(SWIFT) test --skip-build --disable-xctest --sanitize=address --scratch-path .build-asan \
	  --filter 'OpenSSLTLSTests|CertificatesTests' $(SWIFT_FLAGS)

## demo: release build, server with development certificates, example reviews, verdicts.
demo: release
	@bash examples/demo.sh $(RELEASE_BIN)

bench-tls: release
	bash bench/tls/run.sh

bench-webhook: release
	bash bench/webhook/run.sh

bench-engine: release
	bash bench/engine/run.sh

## bench-cluster: serve --kubeconfig against the API-server emulator holding 16,500 objects.
bench-cluster: release
	bash bench/cluster/run.sh $(RELEASE_BIN)

## bench-audit: the background audit over the same population: first full pass, one shared-CA change
## (objects re-judged), review p99 at 100/s during passes against idle, RSS during passes.
bench-audit: release
	bash bench/audit/run.sh $(RELEASE_BIN)

clean:
	rm -rf .build .build-asan
