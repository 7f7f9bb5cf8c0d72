#!/usr/bin/env bash
# tools/release.sh [--worktree] VERSION OUTDIR: the source archive of a
# modhashes release, reproducibly, and a file-based Bazel registry that
# serves it:
#
#   OUTDIR/modhashes-VERSION.tar.gz    the files git tracks, below
#                                      modhashes-VERSION/, MODULE.bazel's
#                                      version set to VERSION
#   OUTDIR/registry/                   bazel_registry.json and
#                                      modules/modhashes/{metadata.json,
#                                      VERSION/{MODULE.bazel,source.json}}
#
# The same commit gives the same bytes: names sorted, owner and group 0,
# every mtime the commit's time, modes git's, gzip without name or time.
# --worktree archives the working tree's files instead (tracked, and new
# ones not ignored; what tools/bazel/ci.sh tests), with HEAD's time.
# MODHASHES_RELEASE_URL is where the archive will be served (for
# source.json); default its file:// URL in OUTDIR. For the Bazel Central
# Registry, .bcr/ holds the templates of these files.
set -euo pipefail

worktree=
if [ "${1:-}" = --worktree ]; then
	worktree=1
	shift
fi
[ $# = 2 ] || {
	echo "usage: $0 [--worktree] VERSION OUTDIR" >&2
	exit 2
}
version=$1
out=$(mkdir -p "$2" && cd "$2" && pwd)
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-.][0-9A-Za-z.-]+)?$ ]] || {
	echo "release: $version is not a version (e.g. 1.2.3)" >&2
	exit 2
}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
name=modhashes-$version
archive=$out/$name.tar.gz
url=${MODHASHES_RELEASE_URL:-file://$archive}

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/$name"
if [ -n "$worktree" ]; then
	git ls-files -z -co --exclude-standard | while IFS= read -r -d '' f; do
		[ -e "$f" ] && printf '%s\0' "$f"
	done | xargs -0 cp -P --parents -t "$stage/$name"
else
	[ -z "$(git status --porcelain --untracked-files=no)" ] ||
		echo "release: uncommitted changes are not in the archive (HEAD is)" >&2
	git archive --format=tar HEAD | tar -x -C "$stage/$name"
fi

# The module's version is the release's.
module=$stage/$name/MODULE.bazel
sed -i -E '0,/^    version = "[^"]*",$/s//    version = "'"$version"'",/' "$module"
grep -qx "    version = \"$version\"," "$module" || {
	echo "release: could not set the version in MODULE.bazel" >&2
	exit 1
}

mtime=$(git log -1 --format=%ct HEAD)
tar -C "$stage" --sort=name --format=gnu --owner=0 --group=0 --numeric-owner \
	--mtime="@$mtime" --mode=u+rw,go-w,a+rX -cf - "$name" | gzip -9 -n >"$archive"

sha256=$(sha256sum "$archive" | cut -d' ' -f1)
integrity=sha256-$(openssl dgst -sha256 -binary "$archive" | base64 -w0)

# A registry of this one version, laid out as the Bazel Central Registry.
reg=$out/registry
mod=$reg/modules/modhashes
rm -rf "$reg"
mkdir -p "$mod/$version"
cp "$module" "$mod/$version/MODULE.bazel"
echo '{}' >"$reg/bazel_registry.json"
cat >"$mod/$version/source.json" <<JSON
{
    "integrity": "$integrity",
    "strip_prefix": "$name",
    "url": "$url"
}
JSON
python3 - "$root/.bcr/metadata.template.json" "$mod/metadata.json" "$version" <<'PY'
import json, sys
meta = json.load(open(sys.argv[1]))
meta["versions"] = [sys.argv[3]]
json.dump(meta, open(sys.argv[2], "w"), indent=4)
open(sys.argv[2], "a").write("\n")
PY

echo "$archive"
echo "sha256 $sha256"
echo "integrity $integrity"
echo "registry file://$reg"
