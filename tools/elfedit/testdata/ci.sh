#!/bin/sh
# CI entry for the ELF editing steps (tools/elfedit, tools/finalize and
# the finalize/section/strip commands): installs the toolchains the tests
# compare against, runs the tests (GNU objcopy equivalence on four
# targets, extended section numbering, malformed input), fuzzes the reader
# and finalize briefly, and, when MODHASHES_VMLINUX_UNSTRIPPED names a real
# vmlinux.unstripped, the slow suite with the finalize/objcopy time ratio.
#
# Usage: tools/elfedit/testdata/ci.sh   (from anywhere; FUZZTIME=30s default)
set -eu
cd "$(dirname "$0")/../../.."

sh tools/elfedit/testdata/install-deps.sh

go test -count=1 ./tools/elfedit/... ./tools/finalize

fuzztime=${FUZZTIME:-30s}
# New inputs are minimized for at most 1s: minimizing 20 KB ELF files for
# the default minute starves the fuzzer.
go test -run '^$' -fuzz '^FuzzEdit$' -fuzztime "$fuzztime" -fuzzminimizetime 1s ./tools/elfedit
go test -run '^$' -fuzz '^FuzzPlan$' -fuzztime "$fuzztime" -fuzzminimizetime 1s ./tools/finalize

if [ -n "${MODHASHES_VMLINUX_UNSTRIPPED:-}" ]; then
	go test -count=1 -v -run '^TestRealVmlinux' ./tools/finalize
	go test -run '^$' -bench '^BenchmarkFinalizeVsObjcopy$' -benchtime 3x ./tools/finalize
else
	echo "ci.sh: MODHASHES_VMLINUX_UNSTRIPPED not set: real-kernel suite skipped"
fi
