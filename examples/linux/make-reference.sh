#!/usr/bin/env bash
# examples/linux/make-reference.sh TREE WORK MODHASHES
#
# The rest of the Make build that examples/linux/bazel.sh compares Bazel's
# with. TREE is a kernel tree with the kernel side of the patches (0001,
# 0002), configured from tinyconfig + config.fragment and built in place by
# unmodified kbuild (e2e.sh's tree B). This adds what //examples/linux adds:
# the out-of-tree module hello/ (make M=), one Merkle tree over the in-tree
# modules and it, the final vmlinux and bzImage, and modules_install, with
# the reproducibility settings of the rules. Run it in the Bazel chroot
# (tools/bazel/chroot), the environment of the rules' actions. It rewrites
# TREE's vmlinux and bzImage; leaves in WORK: hello/ (built in place), set/
# (the module set of the Merkle tree), root/ (modules_install) and time
# (seconds).
set -euo pipefail

usage="usage: make-reference.sh TREE WORK MODHASHES"
src=${1:?$usage}
work=${2:?$usage}
mh=${3:?$usage}
here=$(cd "$(dirname "$0")" && pwd)
jobs=$(nproc)
t0=$(date +%s)

export KBUILD_BUILD_HOST=modhashes KBUILD_BUILD_USER=modhashes KBUILD_BUILD_VERSION=1
export KBUILD_BUILD_TIMESTAMP='Thu Jan  1 00:00:00 UTC 2026' LC_ALL=C TZ=UTC

[ -f "$src/vmlinux.unstripped" ] && [ -f "$src/modules.order" ] ||
	{ echo "make-reference.sh: $src: no built kernel tree (vmlinux.unstripped, modules.order)" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work"
ext=$work/hello set=$work/set root=$work/root
cp -r "$here/hello" "$ext"
# The flags TREE was built with: other ones would make kbuild rebuild it.
map="-fdebug-prefix-map=$src=/usr/src/linux"
host="-ffile-prefix-map=$src=/usr/src/linux"
kmake() { make -C "$src" -j"$jobs" KCFLAGS="$map" KAFLAGS="$map" HOSTCFLAGS="$host" "$@"; }

ext_map="$map -fdebug-prefix-map=$ext=/usr/src/external"
make -C "$src" -j"$jobs" KCFLAGS="$ext_map" KAFLAGS="$ext_map" HOSTCFLAGS="$host" M="$ext" modules

# With CONFIG_MODULE_INSTALL_STRIP="1" (strip_modules in the rules) the
# modules are hashed and installed stripped: the in-tree ones as the driver
# stripped them (.ko.stripped), hello with the same strip.
suffix=.ko
if grep -qx 'CONFIG_MODULE_INSTALL_STRIP="1"' "$src/.config"; then
	suffix=.ko.stripped
	while read -r o; do
		strip --strip-debug -o "$ext/${o%.o}.ko.stripped" "$ext/${o%.o}.ko"
	done <"$ext/modules.order"
fi

# One tree over the in-tree modules and the out-of-tree one (installed to
# updates/, kbuild's INSTALL_MOD_DIR for M=), as kernel_modules_set lays out.
mkdir -p "$set/include/config" "$set/updates"
cp "$src/modules.order" "$set/modules.order"
while read -r o; do
	mkdir -p "$set/$(dirname "$o")"
	ln -s "$src/${o%.o}$suffix" "$set/${o%.o}.ko"
done <"$src/modules.order"
while read -r o; do
	ln -s "$ext/${o%.o}$suffix" "$set/updates/${o%.o}.ko"
	echo "updates/${o%.o}.ko" >>"$set/modules.order"
done <"$ext/modules.order"
cp "$src/include/config/kernel.release" "$set/include/config/"
cp "$src/modules.builtin" "$src/modules.builtin.modinfo" "$set/"

"$mh" tree --objtree "$set" --target "$src/vmlinux.unstripped" --root-bin "$work/module_hashes.bin"
# No CONFIG_ARCH_VMLINUX_NEEDS_RELOCS: kbuild's vmlinux keeps the relocations.
"$mh" finalize --root-bin "$work/module_hashes.bin" --keep-relocs "$src/vmlinux.unstripped" "$src/vmlinux"
before=$(sha256sum <"$src/vmlinux")
kmake -o vmlinux bzImage
[ "$(sha256sum <"$src/vmlinux")" = "$before" ] || { echo "make-reference.sh: kbuild rebuilt vmlinux" >&2; exit 1; }

kmake modules_install INSTALL_MOD_PATH="$root"
kmake M="$ext" modules_install INSTALL_MOD_PATH="$root"
compress=none
for c in gzip xz zstd; do
	grep -qx "CONFIG_MODULE_COMPRESS_${c^^}=y" "$src/.config" && compress=$c
done
# The encoder of kernel_modules_install, which cannot run the host's zstd.
"$mh" install --objtree "$set" --dest "$root" --compress "$compress" --builtin-encoder
echo $(($(date +%s) - t0)) >"$work/time"
