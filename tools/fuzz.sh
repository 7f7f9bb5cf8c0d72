#!/usr/bin/env bash
# Runs every go test fuzz target of the repository for a short while each.
#   tools/fuzz.sh [TIME]     default 10s per target
# New inputs are minimized for at most 1s: minimizing ELF inputs for the
# default minute starves the fuzzer.
# Go 1.27 for fuzzing only: before it, a -fuzztime deadline can race a busy
# worker and fail the target with "context deadline exceeded" and no crasher
# (go.dev/issue/75804). The go command fetches it from the module proxy.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3
cd "$(dirname "$0")/.."
fuzztime=${1:-10s}
grep -rl --include='*_test.go' '^func Fuzz' tools | sort | while read -r file; do
	pkg=./$(dirname "$file")
	for target in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$file"); do
		echo "fuzz $pkg $target"
		out=$(go test -run '^$' -fuzz "^$target\$" -fuzztime "$fuzztime" -fuzzminimizetime 1s "$pkg" 2>&1) ||
			{ echo "$out"; exit 1; }
		echo "$out" | tail -n 1
	done
done
