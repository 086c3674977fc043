#!/usr/bin/env bash
# Type-checks the console's and the customer page's JavaScript through its
# JSDoc (tsconfig.json: checkJs, strict) with TypeScript's tsc, whose version
# package-lock.json pins. The pages have no build step: nothing is emitted.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v npm >/dev/null; then
	echo "typecheck: npm not found; run scripts/deps.sh (as root) first" >&2
	exit 1
fi
# npm ci empties node_modules first, so run it only when the lock is newer
# than what was installed.
if [ ! -x node_modules/.bin/tsc ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	npm ci --no-audit --no-fund --loglevel=error
fi
node_modules/.bin/tsc -p tsconfig.json
echo "typecheck: console and agent page JavaScript ok"
