# mtls-guard: build, test, demo and benchmarks.
# `make demo` and `make test` are the two set-up commands the README promises on a fresh machine.

SHELL        := /bin/bash
SWIFT        ?= swift
PYTHON       ?= python3
SWIFT_FLAGS  ?=
RELEASE_BIN  := .build/release/mtls-guard
DEBUG_BIN    := .build/debug/mtls-guard
APT_PACKAGES := libssl-dev pkg-config openssl curl

.PHONY: all deps build release test test-swift test-e2e test-asan demo clean \
        bench-tls bench-webhook bench-engine examples-certs fuzz fuzz-build

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
	@$(PYTHON) -c 'import pytest, yaml' 2>/dev/null || { echo "==> installing pytest, pyyaml (pip)"; $(PYTHON) -m pip install -q pytest pyyaml || { echo "error: pytest and pyyaml are needed for the end-to-end tests: pip install pytest pyyaml" >&2; exit 1; }; }

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

clean:
	rm -rf .build .build-asan .build-fuzz
