#!/usr/bin/env bash
# Sets up everything the Bazel build needs on a Debian machine, offline but for
# Debian's archive, the Go module proxy and npm:
#
#   - Debian's Bazel 4.2.3 (bazel-bootstrap) and the rule sets Debian ships
#     (skylib, platforms, rules_java, rules_cc);
#   - rules_go and Gazelle, fetched as Go modules at exact versions, patched
#     for the host Go (tools/bazel/patches/), with Gazelle's vendor/ rebuilt;
#   - a rules_cc copy adapted to Bazel 4.2.3 and a @remote_coverage_tools stub;
#   - buildifier from npm.
#
# All of it lands in $MODHASHES_BAZEL_DEPS (default: .cache/bazel-deps, which
# git and Bazel ignore); WORKSPACE points there with relative paths. The script
# is idempotent: a stamp of the versions, patches and this script makes the
# second run take a second or two.
#
# Usage: tools/bazel/setup.sh [--no-apt]
set -euo pipefail

RULES_GO_VERSION=v0.34.0
GAZELLE_VERSION=v0.27.0
BUILDIFIER_VERSION=8.2.1
DEBIAN_PACKAGES=(bazel-bootstrap bazel-skylib bazel-platforms bazel-rules-java bazel-rules-cc patch)

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
deps=${MODHASHES_BAZEL_DEPS:-$root/.cache/bazel-deps}
apt=1
for a in "$@"; do
	case $a in
	--no-apt) apt=0 ;;
	*) echo "usage: $0 [--no-apt]" >&2; exit 2 ;;
	esac
done

say() { printf 'setup: %s\n' "$*" >&2; }

# 1. Debian packages.
missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if ((${#missing[@]})); then
	if ((apt == 0)); then
		say "missing Debian packages: ${missing[*]}"
		exit 1
	fi
	say "installing ${missing[*]}"
	sudo=
	[ "$(id -u)" = 0 ] || sudo=sudo
	export DEBIAN_FRONTEND=noninteractive
	# Other jobs may hold the dpkg lock: wait for it instead of failing.
	lock=(-o DPkg::Lock::Timeout=900)
	if ! $sudo apt-get "${lock[@]}" install -y --no-install-recommends "${missing[@]}"; then
		$sudo apt-get "${lock[@]}" update
		$sudo apt-get "${lock[@]}" install -y --no-install-recommends "${missing[@]}"
	fi
fi

# 2. Everything else is keyed by a stamp.
stamp=$( {
	echo "$RULES_GO_VERSION $GAZELLE_VERSION $BUILDIFIER_VERSION"
	go version
	cat "$here/setup.sh" "$here"/patches/*.patch
} | sha256sum | cut -d' ' -f1)
if [ -f "$deps/.stamp" ] && [ "$(cat "$deps/.stamp")" = "$stamp" ]; then
	say "up to date ($deps)"
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/modhashes-bazel-setup.XXXXXX")
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir -p "$deps"

# modsrc MODULE VERSION DIR: copies a Go module's source, writable, into DIR.
modsrc() {
	local dir
	dir=$(cd "$tmp" && GOFLAGS=-mod=mod go mod download -json "$1@$2" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -n "$dir" ] && [ -d "$dir" ] || { say "go mod download $1@$2 failed"; exit 1; }
	cp -R "$dir" "$3"
	chmod -R u+w "$3"
	# Module zips drop executable bits.
	find "$3" \( -name '*.sh' -o -name '*.bash' \) -exec chmod +x {} +
}

# 3. rules_go, patched for the host Go.
say "rules_go $RULES_GO_VERSION"
modsrc github.com/bazelbuild/rules_go "$RULES_GO_VERSION" "$tmp/rules_go"
patch -s -d "$tmp/rules_go" -p1 <"$here/patches/rules_go-$RULES_GO_VERSION-go1.26.patch"

# 4. Gazelle: its module zip has no vendor/, which go_repository's tools
#    (built in GOPATH mode) need.
say "gazelle $GAZELLE_VERSION"
modsrc github.com/bazelbuild/bazel-gazelle "$GAZELLE_VERSION" "$tmp/bazel_gazelle"
patch -s -d "$tmp/bazel_gazelle" -p1 <"$here/patches/gazelle-$GAZELLE_VERSION.patch"
(cd "$tmp/bazel_gazelle" && GOFLAGS=-mod=mod GOTOOLCHAIN=local go mod vendor)

# 5. rules_cc 0.0.4 from Debian loads use_cpp_toolchain, which Bazel 4.2.3
#    lacks: use the toolchain type directly.
say "rules_cc (adapted to Bazel 4.2.3)"
cp -R /usr/share/bazel/rules/cc "$tmp/rules_cc"
chmod -R u+w "$tmp/rules_cc"
for f in cc/private/rules_impl/cc_flags_supplier.bzl cc/private/rules_impl/compiler_flag.bzl; do
	sed -i \
		-e 's/, "use_cpp_toolchain")/)/' \
		-e 's/toolchains = use_cpp_toolchain(),/toolchains = ["@bazel_tools\/\/tools\/cpp:toolchain_type"],/' \
		"$tmp/rules_cc/$f"
	! grep -q use_cpp_toolchain "$tmp/rules_cc/$f" || { say "could not adapt $f"; exit 1; }
done

# 6. @remote_coverage_tools: Bazel 4 refers to it from every test rule but
#    would download it. A stub: 'bazel coverage' is unsupported (use
#    'go test -cover').
mkdir -p "$tmp/remote_coverage_tools"
echo 'workspace(name = "remote_coverage_tools")' >"$tmp/remote_coverage_tools/WORKSPACE"
cat >"$tmp/remote_coverage_tools/BUILD" <<'EOF'
# Stub: coverage is not supported in this workspace.
package(default_visibility = ["//visibility:public"])

filegroup(name = "coverage_report_generator")

filegroup(name = "lcov_merger")

filegroup(name = "Main")
EOF

# 7. buildifier from npm (the package ships the binaries).
say "buildifier $BUILDIFIER_VERSION"
mkdir -p "$tmp/npm"
npm install --silent --no-audit --no-fund --no-save --prefix "$tmp/npm" "@bazel/buildifier@$BUILDIFIER_VERSION" >&2
mkdir -p "$tmp/bin"
case $(uname -m) in
x86_64) arch=amd64 ;;
aarch64) arch=arm64 ;;
*) arch=$(uname -m) ;;
esac
ln -s "../npm/node_modules/@bazel/buildifier/buildifier-linux_$arch" "$tmp/bin/buildifier"
"$tmp/bin/buildifier" --version >/dev/null

# Swap the new trees in.
for d in rules_go bazel_gazelle rules_cc remote_coverage_tools npm bin; do
	if [ -e "$deps/$d" ]; then
		chmod -R u+w "$deps/$d"
		rm -rf "$deps/$d"
	fi
	mv "$tmp/$d" "$deps/$d"
done
echo "$stamp" >"$deps/.stamp"
say "done: $deps ($(bazel --version))"
