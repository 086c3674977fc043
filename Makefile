# Meekijk. `make help` lists the targets.

# The toolchain go.mod names; a fresh machine's Go fetches it through the
# module proxy (see README). Every go command below runs with it.
export GOTOOLCHAIN := go1.27.3

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
LDFLAGS := -X main.version=$(VERSION)
ADDR    ?= 127.0.0.1:8080
DATA    ?= data

.PHONY: help build relay agent agent-windows run test deps vet tidy-check bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: relay agent ## build both binaries into bin/

relay: ## build the relay: one static binary, no cgo
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o bin/relay ./relay

agent: ## build the agent (cgo: OpenH264 encoder)
	go build -trimpath -ldflags '$(LDFLAGS)' -o bin/agent ./agent

# One agent.exe with nothing beside it: mingw's libgcc and libstdc++ (which
# OpenH264 pulls in) are linked statically, -s -w drops the symbol tables
# (about a third of the size), and -H windowsgui keeps a console window from
# opening next to the customer's browser; the agent then logs to
# %LOCALAPPDATA%\Meekijk\agent.log (agent/logfile_windows.go).
WINDOWS_ENV := CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=x86_64-w64-mingw32-gcc CXX=x86_64-w64-mingw32-g++

agent-windows: ## cross-build bin/agent.exe for Windows 10/11 x64 (mingw; static, one file)
	$(WINDOWS_ENV) go build -trimpath -ldflags '$(LDFLAGS) -s -w -H windowsgui -extldflags "-static"' -o bin/agent.exe ./agent

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

test: deps vet tidy-check ## install test needs, vet, and run every test (race detector on, e2e included)
	go test -race -count=1 -timeout 15m ./...

bench: deps ## measure latency, frame rate, bytes, CPU and relay capacity, beside x11vnc; writes BENCHMARKS.md (~6 min)
	scripts/bench.sh

clean: ## remove build output (not ./data)
	rm -rf bin
