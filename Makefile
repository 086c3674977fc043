# Meekijk. `make help` lists the targets.

# The toolchain go.mod names; a fresh machine's Go fetches it through the
# module proxy (see README). Every go command below runs with it.
export GOTOOLCHAIN := go1.27.3

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
LDFLAGS := -X main.version=$(VERSION)
# RELAY_URL is the desk's relay, baked into the agent at build time so that
# the code signature covers it (make agent-windows RELAY_URL=https://...).
# Nothing is ever appended to a built or signed file.
RELAY_URL ?=
AGENT_LDFLAGS := $(LDFLAGS) $(if $(RELAY_URL),-X main.relayURL=$(RELAY_URL))
# sign-agent: the vendor's Authenticode certificate (PEM or DER chain) and
# key; SIGN_IN the file signed in place; TIMESTAMP an RFC 3161 server.
CERT      ?=
KEY       ?=
SIGN_IN   ?= bin/agent.exe
TIMESTAMP ?=
ADDR    ?= 127.0.0.1:8080
DATA    ?= data

.PHONY: help build relay agent agent-windows sign-agent run check fmt-check vet staticcheck typecheck test deps tidy-check vulncheck fuzz bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: relay agent ## build both binaries into bin/

relay: ## build the relay: one static binary, no cgo
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o bin/relay ./relay

agent: ## build the agent (cgo: OpenH264 encoder); RELAY_URL=https://... bakes in the desk's relay
	go build -trimpath -ldflags '$(AGENT_LDFLAGS)' -o bin/agent ./agent

sign-agent: ## sign $(SIGN_IN) in place with Authenticode: make sign-agent CERT=cert.pem KEY=key.pem (osslsigncode)
	@test -n "$(CERT)" && test -n "$(KEY)" || { echo "sign-agent: give the code-signing certificate and key: make sign-agent CERT=cert.pem KEY=key.pem" >&2; exit 2; }
	@test -f "$(SIGN_IN)" || { echo "sign-agent: $(SIGN_IN) not found; build it first (make agent-windows)" >&2; exit 2; }
	osslsigncode sign -certs '$(CERT)' -key '$(KEY)' -h sha256 -n Meekijk $(if $(TIMESTAMP),-ts '$(TIMESTAMP)') \
		-in '$(SIGN_IN)' -out '$(SIGN_IN).signing'
	mv '$(SIGN_IN).signing' '$(SIGN_IN)'
	osslsigncode verify -CAfile '$(CERT)' -in '$(SIGN_IN)' >/dev/null || { echo "sign-agent: the signature does not verify against $(CERT)" >&2; exit 1; }

# One agent.exe with nothing beside it: mingw's libgcc and libstdc++ (which
# OpenH264 pulls in) are linked statically, -s -w drops the symbol tables
# (about a third of the size), and -H windowsgui keeps a console window from
# opening next to the customer's browser; the agent then logs to
# %LOCALAPPDATA%\Meekijk\agent.log (agent/logfile_windows.go).
WINDOWS_ENV := CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=x86_64-w64-mingw32-gcc CXX=x86_64-w64-mingw32-g++

agent-windows: ## cross-build bin/agent.exe for Windows 10/11 x64 (mingw; static, one file)
	$(WINDOWS_ENV) go build -trimpath -ldflags '$(AGENT_LDFLAGS) -s -w -H windowsgui -extldflags "-static"' -o bin/agent.exe ./agent

run: relay ## build and start the relay on $(ADDR) with its data in ./$(DATA)/
	./bin/relay -addr $(ADDR) -data $(DATA)

deps: ## install the Debian packages the tests need (as root), or say which
	scripts/deps.sh

# The fast loop: what to run before every commit (under 3 minutes with warm
# caches on two cores). make test runs it first.
check: fmt-check vet staticcheck typecheck ## gofmt, go vet, staticcheck, the JS type check, and the short tests
	go test -short ./...

fmt-check: ## fail if gofmt would change a tracked Go file
	@out=$$(git ls-files '*.go' | xargs gofmt -l); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet: ## go vet every package
	go vet ./...

# Pinned and run through the module proxy: no tool to install by hand. The
# bench tag makes it read the benchmark's files too.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
staticcheck: ## staticcheck every package, the benchmark included
	go run $(STATICCHECK) -tags bench ./...

typecheck: ## type-check the console's and the agent page's JavaScript (tsc, checkJs, strict)
	scripts/typecheck.sh

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

test: deps check tidy-check vulncheck fuzz ## install test needs, make check, scan for vulnerabilities, fuzz briefly, then every test (race detector on, e2e included)
	MEEKIJK_PG_REQUIRED=1 go test -race -count=1 -timeout 20m ./...

bench: deps ## measure latency, frame rate, bytes, CPU and relay capacity, quiet and on a busy core, beside noVNC, several relays on PostgreSQL, recording's cost; writes BENCHMARKS.md (~17 min)
	scripts/bench.sh

clean: ## remove build output (not ./data)
	rm -rf bin
