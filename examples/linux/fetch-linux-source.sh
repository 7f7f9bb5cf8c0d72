#!/usr/bin/env bash
# fetch-linux-source.sh VERSION DEST
#
# Unpacks Debian's linux-source-VERSION package (a kernel tree with Debian's
# patches) into DEST/linux-source-VERSION and prints that path; the package's
# tarball stays next to it, DEST/linux-source-VERSION.tar.xz (the Bazel
# example's source).  Idempotent: an unpacked tree is reused.
#
# Newer kernels are only in Debian's newer suites (sid, trixie-backports).
# They are looked up through this machine's own Debian mirror with a private
# set of package lists under $APT_STATE (default /var/tmp/modhashes-apt), so
# the system's apt configuration and lists are left alone.  A suite named
# *-security (bookworm-security: linux-source-6.12) is looked up on Debian's
# security archive, $APT_MIRROR_SECURITY, by default the mirror's URL with
# -security appended (http://deb.debian.org/debian-security).  Fetches into
# the same DEST wait for each other.
set -euo pipefail

ver=${1:?usage: fetch-linux-source.sh VERSION DEST}
dest=${2:?usage: fetch-linux-source.sh VERSION DEST}
state=${APT_STATE:-/var/tmp/modhashes-apt}
suites=${APT_SUITES:-"sid trixie-backports"}

tree=$dest/linux-source-$ver
stamp=$dest/.linux-source-$ver.unpacked
tarball=$dest/linux-source-$ver.tar.xz
# Scripts running side by side may share DEST: one fetch at a time.
mkdir -p "$dest"
exec 9>"$dest/.linux-source-$ver.lock"
flock 9
if [ -f "$tree/Makefile" ] && [ -f "$stamp" ] && [ -f "$tarball" ]; then
	echo "$tree"
	exit 0
fi

m=$("$(dirname "$0")/../../tools/debian-mirror.sh")
msec=${APT_MIRROR_SECURITY:-${m%/}-security}

mkdir -p "$state/lists/partial" "$dest"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
: > "$state/sources.list"
for s in $suites; do
	case $s in
	*-security) echo "deb [signed-by=$keyring] $msec $s main" ;;
	*) echo "deb [signed-by=$keyring] $m $s main" ;;
	esac >> "$state/sources.list"
done
opts=(-o Dir::Etc::SourceList="$state/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o Dir::State::Lists="$state/lists" -o APT::Get::List-Cleanup=0)
if [ ! -f "$state/lists/.updated" ] || ! apt-cache "${opts[@]}" show "linux-source-$ver" >/dev/null 2>&1; then
	apt-get "${opts[@]}" -q update >&2
	date -u > "$state/lists/.updated"
fi

tmp=$(mktemp -d "$dest/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# Download as the calling user: apt's sandbox user cannot write to $tmp.
(cd "$tmp" && apt-get "${opts[@]}" -o APT::Sandbox::User=root -q download "linux-source-$ver" >&2)
deb=$(ls "$tmp"/linux-source-"$ver"_*.deb)
echo "fetch-linux-source: unpacking $(basename "$deb")" >&2
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" "./usr/src/linux-source-$ver.tar.xz"
rm -rf "$tree" "$stamp"
mv "$tmp/usr/src/linux-source-$ver.tar.xz" "$tarball"
tar -C "$dest" -xf "$tarball"
basename "$deb" > "$stamp"
echo "$tree"
