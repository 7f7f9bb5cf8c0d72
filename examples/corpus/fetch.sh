#!/usr/bin/env bash
# Unpacks a real module corpus for the large tests and benchmarks: every
# module of Debian's 6.12 amd64 kernel image (about 4,200 .ko files, 500 MB
# once decompressed) with the kernel's own modules.order.
#
#   examples/corpus/fetch.sh DEST     prints the directory holding modules.order
#
# Uses only Debian's package archive (apt-get download); idempotent.
set -euo pipefail
dest=${1:?usage: fetch.sh DEST}
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)

corpus_dir() { find "$dest/image/lib/modules" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | head -n1 || true; }

dir=$(corpus_dir)
if [ -n "$dir" ] && [ -f "$dest/.complete" ]; then
	echo "$dir"
	exit 0
fi

pick() {
	apt-cache search --names-only '^linux-image-6\.12\.[0-9.+a-z~-]*-amd64-unsigned$' |
		awk '{print $1}' | grep -v -e cloud -e '-rt-' | sort -V | tail -n1
}
# With no package lists (none fetched yet) the search finds nothing, and
# grep's status would end the script here.
pkg=$(pick) || pkg=
if [ -z "$pkg" ]; then
	apt-get update >&2
	pkg=$(pick) || pkg=
fi
[ -n "$pkg" ] || { echo "fetch.sh: no Debian linux-image-6.12 amd64 package in the apt lists" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download "$pkg" >&2)
rm -rf "$dest/image" "$dest/.complete"
dpkg-deb -x "$tmp"/*.deb "$tmp/image"
find "$tmp/image" -name '*.ko.xz' -print0 | xargs -0 -r -P"$(nproc)" -n64 xz -d
mv "$tmp/image" "$dest/image"
echo "$pkg" > "$dest/.complete"
corpus_dir
