#!/usr/bin/env bash
# The README's test command: installs what the Go tests compare against
# (binutils and cross binutils, gzip/xz/zstd, kmod; Debian packages, only
# when missing), then runs the fast Go suite and the kbuild driver's test.
#
#   tools/test.sh         fast suite: go test -short ./...
#   tools/test.sh --all   also the slow tests: 100,000 modules, and the real
#                         corpus and vmlinux when MODHASHES_CORPUS and
#                         MODHASHES_VMLINUX_UNSTRIPPED name them
set -euo pipefail
cd "$(dirname "$0")/.."
sh tools/install-test-deps.sh
if [ "${1:-}" = --all ]; then
	go test ./...
else
	go test -short ./...
fi
bash kbuild/module-hashes-mk_test.sh
