#!/usr/bin/env bash
# examples/linux/e2e.sh [WORKDIR]
#
# Module hashes on a real kernel, end to end (Debian's Linux 7.3, x86_64):
#
#  1. fetch the source; tree A gets the whole series of kbuild/patches/linux-7.3
#     (kernel side + kbuild), tree B only the kernel side (0001, 0002);
#  2. configure both: tinyconfig + config.fragment (modules, MODULE_HASHES,
#     MODULE_SIG_FORCE, modules stripped at build time, BTF for vmlinux and
#     modules, a few test modules) + config.x86_64.fragment (zstd-compressed
#     modules, decompressed by the kernel);
#  3. build A with plain `make` (the in-tree kbuild patch) and B with the
#     out-of-tree driver kbuild/module-hashes.mk, each in place at its own
#     path, with fixed KBUILD_BUILD_TIMESTAMP/USER/HOST/VERSION, in the Bazel
#     chroot (tools/bazel/chroot): the toolchain of //examples/linux's
#     actions, so that examples/linux/bazel.sh can compare Bazel's build
#     with B;
#  4. incremental builds of both: a second make changes no file; touching one
#     module's source rebuilds that module, the tree, vmlinux and bzImage only;
#  5. modules_install of both (through `modhashes install`);
#  6. vmlinux, bzImage and every installed module byte-identical in A and B;
#  7. boot A in QEMU (TCG) with an initramfs (busybox-static, packed with
#     gen_init_cpio): every in-tree module loads with enforcement on; a
#     module with one flipped byte, one with another module's proof and an
#     unsigned one are rejected; `modhashes verify` predicted every outcome.
#
# Needs root for apt-get (missing Debian packages are installed) and the
# chroot (tools/bazel/setup.sh, which it runs), and Go for the modhashes
# tool.  WORKDIR (default /var/tmp/modhashes-e2e; below /tmp or /var/tmp, which
# the chroot sees) holds the source cache and both builds, about 6 GB; the
# builds start from scratch.
# JOBS (default: number of CPUs) is passed to make -j.  E2E_REUSE=1 keeps
# existing source and object trees (for working on the later steps).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=examples/linux/checks.sh
. "$here/checks.sh"
repo=$(cd "$here/../.." && pwd)
work=${1:-/var/tmp/modhashes-e2e}
jobs=${JOBS:-$(nproc)}
kver=7.3
patches=$repo/kbuild/patches/linux-$kver

phase "packages"
# The kernel toolchain is the chroot's; these are for the checks and the boot.
need_packages gcc libc6-dev busybox-static qemu-system-x86 cpio xz-utils python3 patch
busybox=$(command -v busybox || true)
[ -x /bin/busybox ] && busybox=/bin/busybox
[ -n "$busybox" ] || die "busybox not found"

case $work in /tmp/* | /var/tmp/*) ;; *) die "WORKDIR $work: not below /tmp or /var/tmp, which the chroot sees" ;; esac

phase "the kernel toolchain: the Bazel chroot"
bash "$repo/tools/bazel/setup.sh"
in_chroot=$repo/tools/bazel/chroot

phase "modhashes"
mkdir -p "$work/bin"
(cd "$repo" && CGO_ENABLED=0 go build -o "$work/bin/modhashes" ./tools/modhashes)
mh=$work/bin/modhashes

phase "fetch Linux $kver"
pristine=$("$here/fetch-linux-source.sh" "$kver" "$work/cache")
echo "$pristine"

# Two trees, built in place (as //examples/linux's actions build theirs), at
# different paths and depths.  (cross.sh builds with O=.)
srcA=$work/a/linux-$kver
srcB=$work/b/src/kernel

reuse=0
if [ "${E2E_REUSE:-0}" = 1 ] && [ -f "$srcA/vmlinux" ] && [ -f "$srcB/.module_hashes.stamp" ]; then
	reuse=1
fi

if [ $reuse = 0 ]; then
phase "source trees"
rm -rf "$work/a" "$work/b"
mkdir -p "$(dirname "$srcA")" "$(dirname "$srcB")"
cp -a "$pristine" "$srcA" &
cp -a "$pristine" "$srcB" &
wait
for p in "$patches"/*.patch; do
	patch -d "$srcA" -p1 -s -F0 --no-backup-if-mismatch < "$p"
done
for p in "$patches"/000[12]-*.patch; do
	patch -d "$srcB" -p1 -s -F0 --no-backup-if-mismatch < "$p"
done
echo "A: $srcA (all of $(ls "$patches" | wc -l) patches), B: $srcB (kernel side only)"

fi

# kin runs a command in the chroot, whose environment is clean, with the
# fixed build environment (checks.sh's kbuild_env).
kin() { (cd "$work" && "$in_chroot" env "${kbuild_env[@]}" "$@"); }
mapfile -t varsA < <(kbuild_vars "$srcA" "$mh")
mapfile -t varsB < <(kbuild_vars "$srcB" "$mh")
makeA() { kin make -C "$srcA" "${varsA[@]}" "$@"; }
makeB() { kin make -f "$repo/kbuild/module-hashes.mk" KSRC="$srcB" "${varsB[@]}" "$@"; }


configure() { # SRC
	kin make -C "$1" -s tinyconfig
	kin sh -c 'cd "$1" && scripts/kconfig/merge_config.sh -m .config "$2" "$3" >/dev/null' sh "$1" \
		"$here/config.fragment" "$here/config.x86_64.fragment"
	kin make -C "$1" -s olddefconfig
	local line bad=0
	while read -r line; do
		case $line in CONFIG_*) grep -qx "$line" "$1/.config" || { echo "not set: $line"; bad=1; } ;; esac
	done < <(cat "$here/config.fragment" "$here/config.x86_64.fragment")
	return $bad
}
if [ $reuse = 0 ]; then
phase "configure"
configure "$srcA" || die "configuration A"
configure "$srcB" || die "configuration B"
cmp -s "$srcA/.config" "$srcB/.config" || die "A and B are configured differently"
pass "configured: $(grep -c '=[ym]$' "$srcA/.config") options, MODULE_HASHES and MODULE_SIG_FORCE on"

# The two builds run side by side: each has long single-threaded stretches
# (linking, kallsyms, pahole) that the other one fills.
phase "build A with make (in-tree kbuild patch) and B with make -f kbuild/module-hashes.mk (unmodified kbuild)"
timed() { # LOG CMD...
	local log=$1 s
	shift
	s=$(date +%s)
	"$@" > "$log" 2>&1 || return
	echo "$(($(date +%s) - s))s" >> "$log.time"
}
rm -f "$work/a/build.log.time" "$work/b/build.log.time"
timed "$work/a/build.log" makeA -j"$jobs" &
pidA=$!
timed "$work/b/build.log" makeB -j"$jobs" &
pidB=$!
rcA=0 rcB=0
wait $pidA || rcA=$?
wait $pidB || rcB=$?
[ $rcA = 0 ] || { tail -40 "$work/a/build.log"; die "build A failed"; }
[ $rcB = 0 ] || { tail -40 "$work/b/build.log"; die "build B failed"; }
echo "build A: $(cat "$work/a/build.log.time"), log $work/a/build.log"
grep -E '^  (MODHASH|LD|BTF \[M\]|LD \[M\]) ' "$work/a/build.log" | grep -vE '\.o$' | head -30
echo "build B: $(cat "$work/b/build.log.time"), log $work/b/build.log"
grep -E '^  (MODHASH|TOUCH|MAKE) ' "$work/b/build.log" | head
fi

# The module BTF is generated against vmlinux.unstripped (A) or kbuild's own
# vmlinux (B): the final vmlinux must carry the same .BTF.
phase "BTF of the final vmlinux"
same_btf A "$srcA/vmlinux.unstripped" "$srcA/vmlinux" "$work/btf"

phase "incremental A"
incremental A "$srcA" "$work/incr.log" makeA -j"$jobs"
phase "incremental B"
incremental B "$srcB" "$work/incr.log" makeB -j"$jobs"

phase "modules_install"
rootA=$work/a/root
rootB=$work/b/root
makeA modules_install INSTALL_MOD_PATH="$rootA" > "$work/a/install.log" 2>&1 ||
	{ cat "$work/a/install.log"; die "modules_install A failed"; }
makeB modules_install INSTALL_MOD_PATH="$rootB" > "$work/b/install.log" 2>&1 ||
	{ cat "$work/b/install.log"; die "modules_install B failed"; }
release=$(cat "$srcA/include/config/kernel.release")
[ "$release" = "$(cat "$srcB/include/config/kernel.release")" ] || die "kernel releases differ"
modA=$rootA/lib/modules/$release
modB=$rootB/lib/modules/$release
grep -E 'INSTALL|DEPMOD' "$work/a/install.log" | head -5
if "$mh" verify --vmlinux "$srcA/vmlinux" "$modA/kernel" > "$work/verify-installed.txt"; then
	pass "modhashes verify: all $(grep -c ': OK$' "$work/verify-installed.txt") installed modules of A would load"
else
	cat "$work/verify-installed.txt"; fail "modhashes verify rejects installed modules of A"
fi

# CONFIG_MODULE_INSTALL_STRIP="1": the build strips each module into
# <module>.ko.stripped before hashing. That file must be what kbuild's own
# install-time strip (cp, then $(STRIP) --strip-debug) writes, keep the
# module's build ID, and be what was installed (with its proof).
phase "stripped at build time"
strip_check() { # NAME TREE MODDIR
	local name=$1 src=$2 mods=$3 bad= n=0 o m t=$work/strip.tmp
	while read -r o; do
		m=${o%.o}
		n=$((n + 1))
		cp "$src/$m.ko" "$t"
		kin strip --strip-debug "$t"
		cmp -s "$t" "$src/$m.ko.stripped" || bad+=" $m(strip)"
		[ "$(build_id "$src/$m.ko")" = "$(build_id "$src/$m.ko.stripped")" ] || bad+=" $m(build-id)"
		# The installed module is the stripped one with its proof appended.
		cmp -s <(cat "$src/$m.ko.stripped" "$src/$m.merkle") <(plain "$(ls "$mods/kernel/$m".ko*)") || bad+=" $m(installed)"
	done < "$src/modules.order"
	rm -f "$t"
	if [ -z "$bad" ] && [ $n -gt 0 ]; then
		pass "$name: all $n modules stripped as kbuild's strip does, same build ID, installed stripped"
	else fail "$name:$bad"; fi
}
strip_check A "$srcA" "$modA"
strip_check B "$srcB" "$modB"

# An INSTALL_MOD_STRIP other than the configured one is refused before
# anything installed is touched (the in-tree patch and the driver).
strip_mismatch() { # NAME ROOT MAKEFN
	local name=$1 root=$2 mk=$3 before after
	before=$(cd "$root" && find . -printf '%p %s %T@\n' | sort | sha256sum)
	if $mk modules_install INSTALL_MOD_PATH="$root" INSTALL_MOD_STRIP=--strip-unneeded > "$work/strip-mismatch.log" 2>&1; then
		fail "$name: modules_install with INSTALL_MOD_STRIP=--strip-unneeded succeeded"
		return
	fi
	after=$(cd "$root" && find . -printf '%p %s %T@\n' | sort | sha256sum)
	if grep -q 'INSTALL_MOD_STRIP=--strip-unneeded differs from CONFIG_MODULE_INSTALL_STRIP="1"' "$work/strip-mismatch.log" &&
		[ "$before" = "$after" ]; then
		pass "$name: INSTALL_MOD_STRIP=--strip-unneeded refused before anything was installed: $(grep -o 'INSTALL_MOD_STRIP=--strip-unneeded differs[^,]*' "$work/strip-mismatch.log" | head -1)"
	else
		cat "$work/strip-mismatch.log"
		fail "$name: the mismatched INSTALL_MOD_STRIP was not refused cleanly"
	fi
}
strip_mismatch A "$rootA" makeA
strip_mismatch B "$rootB" makeB

phase "reproducibility: A ($srcA) vs B ($srcB)"
table=$work/reproducibility.txt
{
	printf '%-40s %-64s %s\n' artifact sha256 identical
	same=1
	same_row vmlinux "$srcA/vmlinux" "$srcB/vmlinux"
	same_row bzImage "$srcA/arch/x86/boot/bzImage" "$srcB/arch/x86/boot/bzImage"
	same_row "root (.module_hashes)" "$srcA/.module_hashes.bin" "$srcB/.module_hashes.bin"
	n=0
	while read -r m; do
		same_row "${m#kernel/}" "$modA/$m" "$modB/$m"
		n=$((n + 1))
	done < <(cd "$modA" && find kernel -name '*.ko*' -type f | sort)
	[ "$(cd "$modB" && find kernel -name '*.ko*' -type f | wc -l)" = "$n" ] || { echo "B has other modules"; same=0; }
	echo "same=$same"
} > "$table"
grep -v '^same=' "$table"
if grep -qx 'same=1' "$table"; then pass "vmlinux, bzImage and all installed modules are byte-identical"
else fail "A and B differ"; fi

# The kernel's Debian packaging, as a distribution runs it: builddeb installs
# the modules with INSTALL_MOD_STRIP=1 (the configured stripping, so the
# proofs hold) and makes the -dbg package from the build tree's unstripped
# modules, which pair with the installed ones by build ID. KDEB_PKGVERSION
# keeps the Debian revision at KBUILD_BUILD_VERSION: nothing is rebuilt.
# KDEB_COMPRESS=zstd: dpkg-deb's fastest compressor (the -dbg package is
# mostly DWARF).
phase "make bindeb-pkg (A)"
debs=$work/a/debs
rm -rf "$debs" "$work/a"/*.deb "$work/a"/*.buildinfo "$work/a"/*.changes && mkdir -p "$debs"
stamp=$(mktemp "$work/stamp.XXXXXX")
makeA bindeb-pkg KDEB_PKGVERSION="$release-1" KDEB_COMPRESS=zstd > "$work/a/bindeb-pkg.log" 2>&1 ||
	{ tail -40 "$work/a/bindeb-pkg.log"; die "make bindeb-pkg failed (log $work/a/bindeb-pkg.log)"; }
mv "$work/a"/*.deb "$debs/"
ls -l "$debs" | tail -n +2
rebuilt=$(cd "$srcA" && find . -path ./debian -prune -o -type f -cnewer "$stamp" \( -name '*.o' -o -name '*.ko' \
	-o -name '*.ko.stripped' -o -name '*.merkle' -o -name 'vmlinux*' -o -name .module_hashes.bin -o -name bzImage \) -print)
rm -f "$stamp"
if [ -n "$rebuilt" ]; then fail "bindeb-pkg rebuilt part of the kernel: $(echo $rebuilt | cut -c1-300)"
else pass "bindeb-pkg built $(ls "$debs" | wc -l) packages from the built tree, rebuilding nothing"; fi

# The same packages from tree B, at another path, built by unmodified
# kbuild through the driver (whose bindeb-pkg runs modhashes install as
# kbuild's $(DEPMOD)). Their files must be A's, but for what is known to
# differ: debian/changelog's date (unpatched mkdebian writes `date -R`;
# dpkg-deb also stamps every file with it) and the kbuild files that
# patch 0003 changes (B's kbuild is unmodified).
phase "make -f kbuild/module-hashes.mk bindeb-pkg (B), compared with A's packages"
debsB=$work/b/debs
rm -rf "$debsB" "$work/b/src"/*.deb "$work/b/src"/*.buildinfo "$work/b/src"/*.changes && mkdir -p "$debsB"
makeB bindeb-pkg KDEB_PKGVERSION="$release-1" KDEB_COMPRESS=zstd > "$work/b/bindeb-pkg.log" 2>&1 ||
	{ tail -40 "$work/b/bindeb-pkg.log"; die "make bindeb-pkg (driver) failed (log $work/b/bindeb-pkg.log)"; }
mv "$work/b/src"/*.deb "$debsB/"
cmpdir=$work/deb-compare
rm -rf "$cmpdir" && mkdir -p "$cmpdir/a" "$cmpdir/b"
for f in "$debs"/*.deb; do
	n=$(basename "$f" .deb)
	n=${n%%_*}
	mkdir -p "$cmpdir/a/$n" "$cmpdir/b/$n"
	dpkg-deb -x "$f" "$cmpdir/a/$n"
	[ -f "$debsB/${f##*/}" ] && dpkg-deb -x "$debsB/${f##*/}" "$cmpdir/b/$n"
done
(cd "$cmpdir" && diff -rq --no-dereference a b | sed 's|^Files a/\([^ ]*\) and .* differ$|\1|') > "$work/deb-differences.txt" || true
known="$(for p in "$debs"/*.deb; do n=$(basename "$p" .deb); n=${n%%_*}; echo "$n/usr/share/doc/$n/changelog.Debian.gz"; done)
linux-headers-$release/usr/src/linux-headers-$release/Makefile
linux-headers-$release/usr/src/linux-headers-$release/scripts/Makefile.modfinal
linux-headers-$release/usr/src/linux-headers-$release/scripts/Makefile.modinst
linux-headers-$release/usr/src/linux-headers-$release/scripts/Makefile.vmlinux"
echo "files that differ between A's and B's packages:"
sed 's/^/    /' "$work/deb-differences.txt"
if [ "$(ls "$debsB" | wc -l)" = "$(ls "$debs" | wc -l)" ] &&
	[ "$(sort "$work/deb-differences.txt")" = "$(echo "$known" | sort)" ]; then
	pass "B's $(ls "$debsB" | wc -l) packages hold A's files (modules, vmlinuz, debug files, vmlinux, headers) but for the known differences"
else
	fail "B's packages differ from A's otherwise than known (expected: $(echo $known))"
fi

deb=$work/a/deb
rm -rf "$deb" && mkdir -p "$deb/image" "$deb/dbg"
dpkg-deb -x "$(ls "$debs"/linux-image-"$release"_*.deb)" "$deb/image"
dpkg-deb -x "$(ls "$debs"/linux-image-"$release"-dbg_*.deb)" "$deb/dbg"
debmods=$(cd "$deb/image" && find . -type d -path "*/lib/modules/$release" | head -1)
[ -n "$debmods" ] || die "no lib/modules/$release in the linux-image package"
debroot=$deb/image/${debmods%/lib/modules/$release}
debmods=$deb/image/$debmods
if "$mh" verify --vmlinux "$srcA/vmlinux" "$debmods/kernel" > "$work/verify-deb.txt" &&
	diff -r "$modA/kernel" "$debmods/kernel" > /dev/null; then
	pass "linux-image: all $(grep -c ': OK$' "$work/verify-deb.txt") modules load by their proofs, identical to modules_install's"
else
	cat "$work/verify-deb.txt"; fail "linux-image: modules differ from modules_install's or would be refused"
fi
dbgroot=$deb/dbg/usr/lib/debug
bad= n=0
while read -r f; do
	m=${f#"$debmods/kernel/"}
	m=${m%.ko*}.ko
	n=$((n + 1))
	plain "$f" > "$work/deb-module.tmp"
	id=$(build_id "$work/deb-module.tmp")
	link=$dbgroot/.build-id/${id:0:2}/${id:2}.debug
	[ -n "$id" ] && [ -f "$link" ] && [ "$(build_id "$link")" = "$id" ] &&
		[ "$(realpath "$link")" = "$(realpath "$dbgroot/lib/modules/$release/kernel/$m")" ] || bad+=" $m"
	{ readelf -S -W "$link" 2>/dev/null || true; } | grep -q ' \.debug_info ' || bad+=" $m(no-debug-info)"
done < <(find "$debmods/kernel" -name '*.ko*' | sort)
rm -f "$work/deb-module.tmp"
if [ -z "$bad" ] && [ $n -gt 0 ]; then pass "linux-image-dbg: the debug file of each of the $n installed modules is found by its build ID"
else fail "linux-image-dbg: no matching debug file for:$bad"; fi
if cmp -s "$dbgroot/lib/modules/$release/vmlinux" "$srcA/vmlinux"; then
	pass "linux-image-dbg: vmlinux is the final one (root in .module_hashes)"
else fail "linux-image-dbg: vmlinux is not the final vmlinux"; fi

# rpm's packaging: with CONFIG_MODULE_HASHES the spec never lets rpm's
# find-debuginfo strip the installed modules (it would cut off the
# proofs); modules_install writes them as the build stripped them.
# rpmopts: what a reproducible rpm needs from rpm itself (a distribution
# sets these macros in its build configuration): the build time and file
# dates from the changelog (patch 0004 dates it by KBUILD_BUILD_TIMESTAMP),
# a fixed build host.
phase "make binrpm-pkg (A)"
rpmopts="--define='_buildhost modhashes' --define='source_date_epoch_from_changelog 1'"
rpmopts+=" --define='use_source_date_epoch_as_buildtime 1' --define='build_mtime_policy clamp_to_source_date_epoch'"
# The spec's release, which it builds with as KBUILD_BUILD_VERSION, is
# scripts/build-version: 1 + .version, so 1 without .version (as the
# kernel was built); with another, kbuild would relink vmlinux.
rm -rf "$srcA/rpmbuild" "$srcA/.version"
makeA binrpm-pkg RPMOPTS="$rpmopts" > "$work/a/binrpm-pkg.log" 2>&1 ||
	{ tail -40 "$work/a/binrpm-pkg.log"; die "make binrpm-pkg failed (log $work/a/binrpm-pkg.log)"; }
ls -l "$srcA"/rpmbuild/RPMS/*/ | tail -n +2
rpmroot=$work/a/rpm
rm -rf "$rpmroot" && mkdir -p "$rpmroot"
kin sh -c 'cd "$1" && rpm2cpio "$2" | cpio -idm --quiet' sh "$rpmroot" "$(ls "$srcA"/rpmbuild/RPMS/*/kernel-"${release//-/_}"-*.rpm)"
if grep -qx '%define with_debuginfo_rpm 0' "$srcA/rpmbuild/SPECS/kernel.spec" &&
	"$mh" verify --vmlinux "$srcA/vmlinux" "$rpmroot/lib/modules/$release/kernel" > "$work/verify-rpm.txt" &&
	diff -r "$modA/kernel" "$rpmroot/lib/modules/$release/kernel" > /dev/null; then
	pass "binrpm-pkg: rpm's find-debuginfo is off (with_debuginfo_rpm 0); all $(grep -c ': OK$' "$work/verify-rpm.txt") modules in the kernel package load by their proofs, identical to modules_install's"
else
	cat "$work/verify-rpm.txt"; grep with_debuginfo "$srcA/rpmbuild/SPECS/kernel.spec"
	fail "binrpm-pkg: the packaged modules differ or would be refused"
fi

# The kernel above compresses its modules, which alone keeps mkspec from
# rpm's find-debuginfo. Ask A's mkspec about the same configuration with
# uncompressed modules: with MODULE_HASHES it must still keep rpm off the
# installed modules (a manual -debuginfo from the build tree, rpm >= 4.20),
# without it (the contrast) it hands them to find-debuginfo.
spec_debuginfo() { # NAME FILTER: mkspec's two debuginfo switches for A's config, filtered
	local d=$work/mkspec/$1
	rm -rf "$d" && mkdir -p "$d/include/config"
	grep -vE "$2" "$srcA/include/config/auto.conf" > "$d/include/config/auto.conf"
	kin sh -c 'cd "$1" && srctree="$2" ARCH=x86 KERNELRELEASE="$3" "$2/scripts/package/mkspec" kernel.spec' sh \
		"$d" "$srcA" "$release" || return
	grep -E '^%define with_debuginfo_(rpm|manual) ' "$d/kernel.spec" | sort | awk '{printf "%s=%s ", $2, $3}'
}
hashes=$(spec_debuginfo hashes '^CONFIG_MODULE_COMPRESS')
plainspec=$(spec_debuginfo no-hashes '^CONFIG_MODULE_(COMPRESS|HASHES)')
echo "mkspec, uncompressed modules: with MODULE_HASHES: $hashes; without: $plainspec"
case $hashes/$plainspec in
"with_debuginfo_manual=%{?_without_debuginfo:0}%{?!_without_debuginfo:1} with_debuginfo_rpm=0 /with_debuginfo_manual=0 with_debuginfo_rpm=%{?_without_debuginfo:0}%{?!_without_debuginfo:1} ")
	pass "mkspec keeps rpm's find-debuginfo off the modules because of MODULE_HASHES (uncompressed modules: manual -debuginfo; without MODULE_HASHES: find-debuginfo)" ;;
*) fail "mkspec's debuginfo choice for uncompressed modules is not the expected one" ;;
esac

# Reproducible packages: tree B gets the in-tree kbuild too (patches 0003
# and 0004 on top of its driver build; kbuild redoes what 0003 builds
# another way: the final vmlinux, then the boot image) and packages at its
# own path. Every .deb and
# .rpm must be A's, byte for byte. Then B's kbuild is unpatched again:
# examples/linux/bazel.sh compares Bazel's build with B's after this.
phase "B with the in-tree kbuild: bindeb-pkg and binrpm-pkg byte-identical to A's"
kbuild_patches=("$patches"/000[34]-*.patch)
for p in "${kbuild_patches[@]}"; do
	patch -d "$srcB" -p1 -s -F0 --no-backup-if-mismatch < "$p"
done
makeBtree() { kin make -C "$srcB" "${varsB[@]}" "$@"; }
debsB2=$work/b/debs-in-tree
rm -rf "$debsB2" "$work/b/src"/*.deb "$work/b/src"/*.buildinfo "$work/b/src"/*.changes "$srcB/rpmbuild" "$srcB/.version"
mkdir -p "$debsB2"
{ makeBtree -j"$jobs" bindeb-pkg KDEB_PKGVERSION="$release-1" KDEB_COMPRESS=zstd &&
	makeBtree binrpm-pkg RPMOPTS="$rpmopts"; } > "$work/b/packages-in-tree.log" 2>&1 ||
	{ tail -40 "$work/b/packages-in-tree.log"; die "B's in-tree packages failed (log $work/b/packages-in-tree.log)"; }
mv "$work/b/src"/*.deb "$debsB2/"
# Back to unmodified kbuild, and to the driver's build of B (the in-tree
# kbuild wrote vmlinux by its own rule, which unmodified kbuild would
# redo), for bazel.sh: the same bytes again.
for p in "${kbuild_patches[@]}"; do
	patch -d "$srcB" -p1 -R -s -F0 --no-backup-if-mismatch < "$p"
done
makeB -j"$jobs" > "$work/b/rebuild.log" 2>&1 || { tail -20 "$work/b/rebuild.log"; die "B: the driver's build after the in-tree one failed"; }
cmp -s "$srcA/vmlinux" "$srcB/vmlinux" && cmp -s "$srcA/arch/x86/boot/bzImage" "$srcB/arch/x86/boot/bzImage" ||
	die "B's vmlinux or bzImage changed when the driver built B again"
echo "    kbuild's work in B: $(grep -E '^  (LD|BTF|MODHASH|STRIP|OBJCOPY|CC)' "$work/b/packages-in-tree.log" | sort -u | tr -s ' ' | paste -sd,)"
differ=
n=0
for f in "$debs"/*.deb "$srcA"/rpmbuild/RPMS/*/*.rpm; do
	n=$((n + 1))
	case $f in
	*.deb) g=$debsB2/${f##*/} ;;
	*) g=$srcB/rpmbuild/RPMS/${f#"$srcA"/rpmbuild/RPMS/} ;;
	esac
	if cmp -s "$f" "$g"; then echo "    identical: ${f##*/} $(sha256sum < "$f" | cut -c1-16)"
	else echo "    DIFFERENT: ${f##*/}"; differ+=" ${f##*/}"; fi
done
nB=$(ls "$debsB2"/*.deb "$srcB"/rpmbuild/RPMS/*/*.rpm | wc -l)
if [ -z "$differ" ] && [ "$n" = "$nB" ] && [ "$n" -ge 6 ]; then
	pass "all $n packages (.deb and .rpm) from A ($srcA) and B ($srcB) are byte-identical"
else
	fail "A's and B's packages differ:$differ ($n from A, $nB from B)"
fi

phase "initramfs with the modules of A's linux-image package and four bad ones"
ir=$work/initramfs
cases=$ir/cases
# The tree's gen_init_cpio is built for the chroot's libc: build one for here.
cc -O2 -o "$work/bin/gen_init_cpio" "$srcA/usr/gen_init_cpio.c"
# kmod's modprobe loads every module (the chroot's kmod, which hands .ko.zst
# files to the kernel to decompress).
KMOD_ROOT=${MODHASHES_BAZEL_HOME:-/var/tmp/modhashes-bazel}/chroot BOOT_MODPROBE_ALL=1 \
	GEN_INIT_CPIO=$work/bin/gen_init_cpio boot_initramfs "$ir" "$srcA" "$debroot" "$release" "$busybox" "$mh" "$work/verify.json" ||
	die "initramfs"

phase "boot A's linux-image package in qemu-system-x86_64 (TCG)"
cmp -s "$deb/image/boot/vmlinuz-$release" "$srcA/arch/x86/boot/bzImage" || die "the packaged vmlinuz is not A's bzImage"
boot_check "A's packages" "$work/serial.log" "$work/verify.json" "$cases" qemu-system-x86_64 -m 256M \
	-kernel "$deb/image/boot/vmlinuz-$release" -initrd "$ir/initramfs.cpio.gz" \
	-append "console=ttyS0 loglevel=7 panic=-1 module.sig_enforce=1"

phase "summary"
grep -v '^same=' "$table"
finish
