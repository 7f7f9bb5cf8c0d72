#!/usr/bin/env bash
# examples/linux/make-reference.sh TARBALL WORK MODHASHES
#
# The Make build that examples/linux/bazel.sh compares Bazel's with: the same
# source tarball, kernel patches (0001, 0002), tinyconfig + config.fragment,
# out-of-tree module (hello/) and reproducibility settings as
# //examples/linux, by hand with make and modhashes, in the same
# environment (run it in the Bazel chroot: tools/bazel/chroot). Leaves in
# WORK: src/ (the tree, built in place), set/ (the module set of the Merkle
# tree), root/ (modules_install) and time (seconds, tarball to root/).
set -euo pipefail

tarball=${1:?usage: make-reference.sh TARBALL WORK MODHASHES}
work=${2:?usage: make-reference.sh TARBALL WORK MODHASHES}
mh=${3:?usage: make-reference.sh TARBALL WORK MODHASHES}
here=$(cd "$(dirname "$0")" && pwd)
patches=$here/../../kbuild/patches/linux-7.3
jobs=$(nproc)
t0=$(date +%s)

export KBUILD_BUILD_HOST=modhashes KBUILD_BUILD_USER=modhashes KBUILD_BUILD_VERSION=1
export KBUILD_BUILD_TIMESTAMP='Thu Jan  1 00:00:00 UTC 2026' LC_ALL=C TZ=UTC

rm -rf "$work"
mkdir -p "$work/src"
src=$work/src ext=$work/hello set=$work/set root=$work/root
xz -dc -T0 "$tarball" | tar -C "$src" --strip-components=1 -xf - linux-source-7.3/
for p in "$patches"/000[12]-*.patch; do
	patch -d "$src" -p1 -s -F0 --no-backup-if-mismatch <"$p"
done
cp -r "$here/hello" "$ext"
map="-fdebug-prefix-map=$src=/usr/src/linux -fdebug-prefix-map=$ext=/usr/src/external"
kmake() { make -C "$src" -j"$jobs" KCFLAGS="$map" KAFLAGS="$map" "$@"; }

kmake -s tinyconfig
(cd "$src" && scripts/kconfig/merge_config.sh -m .config "$here/config.fragment" >/dev/null)
kmake -s olddefconfig
kmake vmlinux modules
kmake M="$ext" modules

# One tree over the in-tree modules and the out-of-tree one (installed to
# updates/, kbuild's INSTALL_MOD_DIR for M=), as kernel_modules_set lays out.
mkdir -p "$set/include/config" "$set/updates"
cp "$src/modules.order" "$set/modules.order"
while read -r o; do
	mkdir -p "$set/$(dirname "$o")"
	ln -s "$src/${o%.o}.ko" "$set/${o%.o}.ko"
done <"$src/modules.order"
while read -r o; do
	ln -s "$ext/${o%.o}.ko" "$set/updates/${o%.o}.ko"
	echo "updates/${o%.o}.ko" >>"$set/modules.order"
done <"$ext/modules.order"
cp "$src/include/config/kernel.release" "$set/include/config/"
cp "$src/modules.builtin" "$src/modules.builtin.modinfo" "$set/"

"$mh" tree --objtree "$set" --target "$src/vmlinux.unstripped" --root-bin "$work/module_hashes.bin"
# No CONFIG_ARCH_VMLINUX_NEEDS_RELOCS: kbuild's vmlinux keeps the relocations.
"$mh" finalize --root-bin "$work/module_hashes.bin" --keep-relocs "$src/vmlinux.unstripped" "$src/vmlinux"
kmake bzImage

kmake modules_install INSTALL_MOD_PATH="$root"
kmake M="$ext" modules_install INSTALL_MOD_PATH="$root"
"$mh" install --objtree "$set" --dest "$root"
echo $(($(date +%s) - t0)) >"$work/time"
