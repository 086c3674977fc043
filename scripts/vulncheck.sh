#!/usr/bin/env bash
# Runs govulncheck over the whole module against a vulnerability database
# built offline from the Go module golang.org/x/vulndb, so the scan needs
# nothing but the Go module proxy (vuln.go.dev is not reachable everywhere
# we build). Both versions are pinned: a scan is repeatable, and moving to a
# newer database is a reviewed change of VULNDB_VERSION below.
#
# The index is built once per database version into a cache directory
# (VULNCHECK_CACHE, default ~/.cache/meekijk/vulndb) and reused after.
# Exits non-zero when any vulnerability is reachable from our code.
set -euo pipefail

export GOTOOLCHAIN=go1.27.3
VULN_VERSION=v1.9.0
VULNDB_VERSION=v0.0.0-20261105234957-e22db6528018

cd "$(dirname "$0")/.."
cache="${VULNCHECK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/meekijk/vulndb}"
db="$cache/$VULNDB_VERSION"

if [ ! -f "$db/index/db.json" ]; then
	echo "vulncheck: building the database from golang.org/x/vulndb@$VULNDB_VERSION (about a minute, once)"
	src=$(go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	if [ -z "$src" ] || [ ! -d "$src/data/osv" ]; then
		echo "vulncheck: golang.org/x/vulndb@$VULNDB_VERSION has no data/osv (download failed?)" >&2
		exit 1
	fi
	tmp=$(mktemp -d "$cache.tmp.XXXXXX" 2>/dev/null || { mkdir -p "$cache" && mktemp -d "$cache.tmp.XXXXXX"; })
	trap 'rm -rf "$tmp"' EXIT
	# indexdb runs inside the module it belongs to, with that module's own
	# pinned dependencies (the module cache is read-only: GOFLAGS=-mod=mod
	# would try to write its go.sum).
	(cd "$src" && GOFLAGS= go run ./cmd/indexdb -vulns data/osv -out "$tmp/db")
	mkdir -p "$cache"
	rm -rf "$db"
	mv "$tmp/db" "$db"
fi

# indexdb leaves the index's "modified" at zero: the pinned module version
# is the database's version.
echo "vulncheck: govulncheck $VULN_VERSION, database golang.org/x/vulndb@$VULNDB_VERSION ($db)"
go run "golang.org/x/vuln/cmd/govulncheck@$VULN_VERSION" -db "file://$db" ./...
