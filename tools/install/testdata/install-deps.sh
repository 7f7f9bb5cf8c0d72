#!/bin/sh
# install-deps.sh: the system tools the install/verify tests check compressed
# modules with (gzip, xz, zstd, kmod's modinfo). Idempotent: installs only
# what is missing. Needs root (or sudo) when something is missing.
set -eu
missing=
for pair in gzip:gzip xz:xz-utils zstd:zstd modinfo:kmod; do
	cmd=${pair%%:*} pkg=${pair#*:}
	command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || [ -x "/sbin/$cmd" ] || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
$sudo apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 || {
	$sudo apt-get update >/dev/null
	# shellcheck disable=SC2086
	$sudo apt-get install -y --no-install-recommends $missing >/dev/null
}
