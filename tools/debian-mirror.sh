#!/usr/bin/env bash
# Prints the first Debian mirror in this machine's apt sources (deb822
# .sources files, then a one-line sources.list), e.g. http://deb.debian.org/debian.
# Comments do not count: apt's own files mention snapshot.debian.org in them.
set -euo pipefail
m=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }' \
	/etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
	m=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\/.*\/debian\/?$/) { print $i; exit } }' \
		/etc/apt/sources.list | head -n1)
fi
[ -n "$m" ] || { echo "debian-mirror: no Debian mirror in /etc/apt" >&2; exit 1; }
echo "$m"
