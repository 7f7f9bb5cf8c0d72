#!/usr/bin/env bash
# fetch-deb.sh PACKAGE:ARCH DEST
#
# Downloads Debian's PACKAGE for ARCH (any architecture, e.g.
# busybox-static:arm64) from this machine's Debian mirror and suite,
# unpacks it into DEST/PACKAGE_ARCH and prints that path.  Idempotent.
#
# Foreign architectures are looked up with a private set of package lists
# under $APT_STATE (default /var/tmp/modhashes-apt-foreign): the system's
# apt configuration, lists and dpkg architectures are left alone.
set -euo pipefail

spec=${1:?usage: fetch-deb.sh PACKAGE:ARCH DEST}
dest=${2:?usage: fetch-deb.sh PACKAGE:ARCH DEST}
pkg=${spec%%:*}
arch=${spec#*:}
[ -n "$pkg" ] && [ "$arch" != "$spec" ] || { echo "fetch-deb: $spec: want PACKAGE:ARCH" >&2; exit 2; }
state=${APT_STATE:-/var/tmp/modhashes-apt-foreign}

out=$dest/${pkg}_$arch
if [ -f "$out/.unpacked" ]; then
	echo "$out"
	exit 0
fi

. /etc/os-release
suite=${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}
m=$("$(dirname "$0")/../../tools/debian-mirror.sh")

mkdir -p "$state/lists/partial" "$dest"
list=$state/sources.list
echo "deb [arch=$arch signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $m $suite main" > "$list.$arch"
opts=(-o Dir::Etc::SourceList="$list.$arch" -o Dir::Etc::SourceParts=/dev/null
	-o Dir::State::Lists="$state/lists" -o APT::Get::List-Cleanup=0
	-o APT::Architectures::="$arch" -o APT::Architecture="$arch")
if ! apt-cache "${opts[@]}" show "$pkg:$arch" >/dev/null 2>&1; then
	apt-get "${opts[@]}" -q update >&2
fi

tmp=$(mktemp -d "$dest/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get "${opts[@]}" -o APT::Sandbox::User=root -q download "$pkg:$arch" >&2)
deb=$(ls "$tmp"/"$pkg"_*_"$arch".deb)
rm -rf "$out"
mkdir -p "$out"
dpkg-deb -x "$deb" "$out"
basename "$deb" > "$out/.unpacked"
echo "$out"
