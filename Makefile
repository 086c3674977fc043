# Meekijk. `make help` lists the targets.

# The toolchain go.mod names; a fresh machine's Go fetches it through the
# module proxy (see README). Every go command below runs with it.
export GOTOOLCHAIN := go1.27.3

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
LDFLAGS := -X main.version=$(VERSION)
ADDR    ?= 127.0.0.1:8080
DATA    ?= data

.PHONY: help build relay agent run test deps vet tidy-check vulncheck fuzz bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: relay agent ## build both binaries into bin/

relay: ## build the relay: one static binary, no cgo
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o bin/relay ./relay

agent: ## build the agent (cgo: OpenH264 encoder)
	go build -trimpath -ldflags '$(LDFLAGS)' -o bin/agent ./agent

run: relay ## build and start the relay on $(ADDR) with its data in ./$(DATA)/
	./bin/relay -addr $(ADDR) -data $(DATA)

deps: ## install the Debian packages the tests need (as root), or say which
	scripts/deps.sh

vet: ## go vet every package
	go vet ./...

# -e: robotgo's OCR file (build tag ocr, never built) imports a module the
# proxy does not serve; tidy reports it and checks everything else.
tidy-check: ## fail if go.mod or go.sum are not tidy
	go mod tidy -e -diff

vulncheck: ## govulncheck against a pinned vulnerability database built offline (scripts/vulncheck.sh)
	scripts/vulncheck.sh

# Each decoder of wire input has a native fuzzer; make test runs each for
# FUZZTIME. A real campaign is FUZZTIME=10m (docs/security.md).
FUZZTIME ?= 10s
FUZZERS := ./internal/protocol:FuzzDecode ./internal/datachannel:FuzzDecode \
	./internal/billing:FuzzQuoteJSON ./internal/wirejson:FuzzUnmarshal

fuzz: ## run every wire decoder's fuzzer for FUZZTIME (default 10s) each
	@set -e; for f in $(FUZZERS); do \
		echo "fuzz: $${f#*:} in $${f%%:*} for $(FUZZTIME)"; \
		go test -run '^$$' -fuzz "^$${f#*:}$$" -fuzztime $(FUZZTIME) "$${f%%:*}"; \
	done

test: deps vet tidy-check vulncheck fuzz ## install test needs, vet, scan for vulnerabilities, fuzz briefly, and run every test (race detector on, e2e included)
	go test -race -count=1 -timeout 15m ./...

bench: deps ## measure latency, frame rate, bytes, CPU and relay capacity, beside x11vnc; writes BENCHMARKS.md (~6 min)
	scripts/bench.sh

clean: ## remove build output (not ./data)
	rm -rf bin
