#!/usr/bin/env bash
# Creates or updates the Bazel environment of this machine, which reaches only
# Debian's archive, the Go module proxy and npm. Everything lands in one
# absolute place, $MODHASHES_BAZEL_HOME (default /var/tmp/modhashes-bazel),
# so that CI reuses it and a workspace anywhere finds it:
#
#   chroot/           Debian sid (debootstrap) with Bazel 7.7.1 (bazel-bootstrap),
#                     Debian's Bazel modules, a C toolchain and a copy of the
#                     host Go SDK in /usr/local/go
#   modules/          rules_go and Gazelle from the Go module proxy, and small
#                     stand-ins for modules nobody here builds (protobuf, ...)
#   goproxy/          a module cache: GOPROXY=file://... for gazelle's go_deps
#   offline.bazelrc   --override_module for each of the above; imported by
#                     .bazelrc with try-import
#   offline-dev.bazelrc  the same for modhashes' own dev dependencies
#                     (Stardoc and the Java it renders with)
#   bin/buildifier    from npm
#
# Idempotent: each part carries a stamp of what made it; a current
# environment takes a second or two. tools/bazel/bazel runs Bazel in it.
#
# Usage: tools/bazel/setup.sh
set -euo pipefail

home=${MODHASHES_BAZEL_HOME:-/var/tmp/modhashes-bazel}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

RULES_GO_VERSION=v0.63.0 # v0.64 needs a newer bazel_features than Debian's 1.11
GAZELLE_VERSION=v0.54.0
GAZELLE_V2_VERSION=v2.0.0-3 # Gazelle's nested module, missing from its zip
BUILDIFIER_VERSION=8.2.1
# The chroot's packages, all of them here. The kbuild actions of the rules
# run these host tools; rules/README.md lists them as the kernel toolchain.
CHROOT_PACKAGES=(
	bazel-bootstrap  # Bazel 7.7.1 and Debian's modules (platforms, rules_cc, ...)
	bazel-rules-shell
	bazel-stardoc    # renders rules/REFERENCE.md
	bazel-java-tools # java_tools for Stardoc's renderer (a java_binary)
	ca-certificates  # HTTPS to the Go module proxy
	gcc libc6-dev    # the C toolchain Bazel autoconfigures, and kbuild's
	python3          # rules_python's stub, and tests' helpers
	zstd xz-utils
	# kbuild's host toolchain (rules/private/kbuild.bzl)
	make bc flex bison libelf-dev libssl-dev dwarves kmod cpio patch binutils
	clang lld llvm   # LLVM=1 builds: examples/linux's GKI targets (arm64)
	# the kernel's package targets (make bindeb-pkg, binrpm-pkg) in examples/linux/e2e.sh
	dpkg-dev debhelper rsync libdw-dev rpm
	# the Go tests' cross ELF cases (tools/elfedit/elftest): ELF32/ELF64 in both byte orders
	binutils-i686-linux-gnu binutils-mips-linux-gnu binutils-mips64el-linux-gnuabi64 binutils-s390x-linux-gnu
)

say() { printf 'setup: %s\n' "$*" >&2; }
die() {
	say "error: $*"
	exit 1
}
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot)"
mkdir -p "$home"
# stamp_ok NAME TEXT: whether part NAME was made from TEXT.
stamp_ok() { [ -f "$home/.stamp-$1" ] && [ "$(cat "$home/.stamp-$1")" = "$(printf '%s' "$2" | sha256sum)" ]; }
stamp_set() { printf '%s' "$2" | sha256sum >"$home/.stamp-$1"; }

mirror=$("$here/../debian-mirror.sh")

# 1. The sid chroot.
chroot=$home/chroot
want="sid $mirror ${CHROOT_PACKAGES[*]} $(cat /usr/local/share/ca-certificates/*.crt 2>/dev/null | sha256sum)"
if ! stamp_ok chroot "$want"; then
	if [ ! -x "$chroot/usr/bin/apt-get" ]; then
		command -v debootstrap >/dev/null || {
			say "installing debootstrap"
			DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends debootstrap >&2
		}
		say "debootstrap sid from $mirror (about a minute)"
		rm -rf "$chroot.new"
		debootstrap --variant=minbase sid "$chroot.new" "$mirror" >&2
		mv "$chroot.new" "$chroot"
	fi
	# The proxies this machine goes through sign with these.
	if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
		mkdir -p "$chroot/usr/local/share/ca-certificates"
		cp /usr/local/share/ca-certificates/*.crt "$chroot/usr/local/share/ca-certificates/"
	fi
	say "installing ${CHROOT_PACKAGES[*]} in the chroot (a few minutes)"
	mount -t proc proc "$chroot/proc"
	trap 'umount "$chroot/proc" 2>/dev/null || true' EXIT
	# sid's Release file is a frozen snapshot here.
	chroot "$chroot" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
		apt-get -q -o Acquire::Check-Valid-Until=false update >&2
	chroot "$chroot" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
		apt-get -q -y --no-install-recommends install "${CHROOT_PACKAGES[@]}" >&2
	chroot "$chroot" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin update-ca-certificates >&2
	chroot "$chroot" apt-get clean
	umount "$chroot/proc"
	trap - EXIT
	stamp_set chroot "$want"
fi

# 2. The host's Go SDK, copied: go_sdk.host() finds it on the wrapper's PATH.
goroot=$(go env GOROOT)
want="$(go version) $goroot"
if ! stamp_ok go "$want"; then
	say "copying the Go SDK ($goroot)"
	rm -rf "$chroot/usr/local/go"
	cp -a "$goroot" "$chroot/usr/local/go"
	stamp_set go "$want"
fi

# 3. rules_go, Gazelle and the stand-ins, as local modules.
modules=$home/modules
want="$RULES_GO_VERSION $GAZELLE_VERSION $GAZELLE_V2_VERSION $(cd "$here" && find standins -type f | LC_ALL=C sort | xargs cat setup.sh | sha256sum)"
if ! stamp_ok modules "$want"; then
	tmp=$(mktemp -d "$home/tmp.XXXXXX")
	trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT
	# modsrc MODULE VERSION DIR: a writable copy of a Go module's source.
	modsrc() {
		local dir
		dir=$(cd "$tmp" && GOFLAGS=-mod=mod go mod download -json "$1@$2" |
			sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
		[ -n "$dir" ] && [ -d "$dir" ] || die "go mod download $1@$2 failed"
		cp -R "$dir" "$3"
		chmod -R u+w "$3"
		# Module zips drop executable bits: give them back to scripts.
		{ grep -rlI --null '^#!' "$3" || true; } | xargs -0 -r chmod +x
	}
	say "rules_go $RULES_GO_VERSION, gazelle $GAZELLE_VERSION"
	modsrc github.com/bazelbuild/rules_go "$RULES_GO_VERSION" "$tmp/rules_go"
	modsrc github.com/bazelbuild/bazel-gazelle "$GAZELLE_VERSION" "$tmp/gazelle"
	rm -rf "$tmp/gazelle/v2"
	modsrc github.com/bazel-contrib/bazel-gazelle/v2 "$GAZELLE_V2_VERSION" "$tmp/gazelle/v2"
	touch "$tmp/gazelle/v2/go.sum"
	cp -R "$here/standins" "$tmp/standins"
	rm -rf "$modules"
	mkdir -p "$tmp/out"
	mv "$tmp/rules_go" "$tmp/gazelle" "$tmp/out/"
	mv "$tmp/standins"/* "$tmp/out/"
	for f in bin conf lib release; do
		ln -s "/usr/lib/jvm/default-java/$f" "$tmp/out/system_jdk/$f"
	done
	mv "$tmp/out" "$modules"
	rm -rf "$tmp"
	trap - EXIT
	stamp_set modules "$want"
fi

# 4. A file:// module proxy with every Go module the build may fetch: ours,
#    and those of rules_go and Gazelle.
goproxy=$home/goproxy
want="$(cat "$root/go.mod" "$modules/rules_go/go.mod" "$modules/gazelle/go.mod" "$modules/gazelle/go.work" 2>/dev/null | sha256sum)"
if ! stamp_ok goproxy "$want"; then
	say "Go module cache for go_deps"
	for d in "$root" "$modules/rules_go" "$modules/gazelle" "$modules/gazelle/v2"; do
		(cd "$d" && GOMODCACHE=$goproxy GOFLAGS=-mod=mod go mod download) >&2 ||
			die "go mod download in $d failed"
	done
	chmod -R u+w "$goproxy"
	stamp_set goproxy "$want"
fi

# 5. What the offline machine tells Bazel.
java_tools=/usr/lib/$(chroot "$chroot" gcc -print-multiarch)/bazel/java_tools
cat >"$home/offline.bazelrc.tmp" <<EOF
# Written by tools/bazel/setup.sh: what this offline machine adds to a
# workspace's flags. Debian's /etc/bazel/bazelrc overrides its own packaged
# modules; these are the rest of the module graph.
common --override_module=rules_go=$modules/rules_go
common --override_module=gazelle=$modules/gazelle
common --override_module=rules_shell=/usr/share/bazel/rules/shell
common --override_module=protobuf=$modules/protobuf
common --override_module=zlib=$modules/zlib
common --override_module=apple_support=$modules/apple_support
common --override_module=buildozer=$modules/buildozer
common --override_module=package_metadata=$modules/package_metadata
# No downloads from the web at all (rules_go would try go.dev's SDK list):
# Bazel refuses them without touching the network.
common --experimental_downloader_config=$home/downloader.cfg
# gazelle's go_deps downloads Go modules from this copy of the proxy.
common --repo_env=GOPROXY=file://$goproxy/cache/download
common --repo_env=GOSUMDB=off
# The lockfile would record this machine's overrides, not what users resolve.
common --lockfile_mode=off
EOF
echo 'block *' >"$home/downloader.cfg"
mv "$home/offline.bazelrc.tmp" "$home/offline.bazelrc"
# modhashes' own dev dependencies: a workspace without them in its module
# graph must not get their overrides (overriding a missing module fails).
cat >"$home/offline-dev.bazelrc.tmp" <<EOF
# Written by tools/bazel/setup.sh: the offline overrides for modhashes' dev
# dependencies. Stardoc renders rules/REFERENCE.md with a java_binary: Debian's
# java_tools and the chroot's JDK stand in for rules_java's downloads, with a
# Java toolchain on them (standins/system_jdk).
common --override_module=stardoc=/usr/share/bazel/tools/stardoc
common --override_repository=rules_java++toolchains+remote_java_tools=$java_tools
common --override_repository=rules_java++toolchains+remote_java_tools_linux=$java_tools
common --override_repository=rules_java++toolchains+remotejdk21_linux=$modules/system_jdk
common --extra_toolchains=@@rules_java++toolchains+remotejdk21_linux//:java_toolchain_definition
common --java_runtime_version=remotejdk_21
common --tool_java_runtime_version=remotejdk_21
EOF
mv "$home/offline-dev.bazelrc.tmp" "$home/offline-dev.bazelrc"

# 6. buildifier from npm (the package ships the binaries).
want=$BUILDIFIER_VERSION
if ! stamp_ok buildifier "$want"; then
	say "buildifier $BUILDIFIER_VERSION"
	rm -rf "$home/npm" "$home/bin"
	npm install --silent --no-audit --no-fund --no-save --prefix "$home/npm" "@bazel/buildifier@$BUILDIFIER_VERSION" >&2
	mkdir -p "$home/bin"
	case $(uname -m) in
	x86_64) arch=amd64 ;;
	aarch64) arch=arm64 ;;
	*) arch=$(uname -m) ;;
	esac
	ln -s "../npm/node_modules/@bazel/buildifier/buildifier-linux_$arch" "$home/bin/buildifier"
	"$home/bin/buildifier" --version >/dev/null
	stamp_set buildifier "$want"
fi

say "ready: $home"
