#!/bin/sh
# ci.sh: the checks of the module side (compress, verify, install, inspect
# and their commands): unit tests, short fuzz runs, and the round trip on a
# real module tree when MODHASHES_CORPUS names the directory holding its
# modules.order. Run from anywhere; FUZZTIME (default 15s) per fuzz target.
set -eu
cd "$(dirname "$0")/../../.."
sh tools/install/testdata/install-deps.sh
go test -count=1 -timeout 40m ./tools/compress/... ./tools/verify/... ./tools/install/... ./tools/inspect/...
go test -count=1 -run 'ReadVmlinux' ./tools/hashesroot/
go test -count=1 -run 'InstallVerifyCLI|VerifyCLI|InspectCLI|InstallCLI|InstallVerifyUsage' ./tools/modhashes/
fuzztime=${FUZZTIME:-15s}
for t in ./tools/verify:FuzzModule ./tools/verify:FuzzFile ./tools/inspect:FuzzBytes; do
	go test -run '^$' -fuzz "^${t#*:}\$" -fuzztime "$fuzztime" "${t%%:*}"
done
if [ -z "${MODHASHES_CORPUS:-}" ]; then
	echo "ci.sh: MODHASHES_CORPUS not set: the real-corpus round trip was skipped" >&2
fi
