#!/usr/bin/env bash
# Runs the end-to-end benchmark (bench/, build tag "bench") and writes
# BENCHMARKS.md at the repository root. Extra arguments go to the benchmark,
# e.g. scripts/bench.sh -phase 5s -agents 10000 for a quick look.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=go1.27.3

for tool in Xvfb chromium xterm xdotool x11vnc websockify taskset vi; do
	if ! command -v "$tool" >/dev/null; then
		echo "bench: $tool not found; run scripts/deps.sh (as root) first" >&2
		exit 1
	fi
done
[ -f /usr/share/novnc/core/rfb.js ] || { echo "bench: noVNC not found; run scripts/deps.sh (as root) first" >&2; exit 1; }
command -v perf >/dev/null || echo "bench: perf not found (Debian linux-perf): the report will have no agent profile" >&2

go test -tags bench -count=1 -timeout 25m -run '^TestBench$' -v ./bench \
	-args -out "$PWD/BENCHMARKS.md" "$@"
# Recording's cost (issue 16): appended to the report TestBench wrote.
go test -tags bench -count=1 -timeout 10m -run '^TestRecordingBudget$' -v ./bench -args -out "$PWD/BENCHMARKS.md" "$@"
