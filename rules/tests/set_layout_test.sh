#!/usr/bin/env bash
# set_layout_test.sh OBJTREE INSTALL: kernel_modules_set over a directory
# holds kbuild's modules.order, then the external module's line, every
# module and what modhashes install reads. (Whether its files are copies
# cannot be seen here: the sandbox links every runfile.)
set -euo pipefail
objtree=$1 install=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
want='drivers/net/dummy_net.o
fs/tinyfs/tinyfs.o
crypto/toycipher.o
crypto/toyhash.o
updates/toyhash.ko'
[ "$(cat "$objtree/modules.order")" = "$want" ] || fail "modules.order: $(cat "$objtree/modules.order")"
for f in drivers/net/dummy_net.ko fs/tinyfs/tinyfs.ko crypto/toycipher.ko crypto/toyhash.ko \
	updates/toyhash.ko include/config/kernel.release modules.builtin modules.builtin.modinfo; do
	[ -f "$objtree/$f" ] || fail "$f missing"
done
cmp "$objtree/crypto/toyhash.ko" "$objtree/updates/toyhash.ko" || fail "the external module is not the built one"
mods=$(find "$install" -name '*.ko' | sed 's|.*/lib/modules/[^/]*/||' | LC_ALL=C sort | tr '\n' ' ')
[ "$mods" = "kernel/crypto/toycipher.ko kernel/crypto/toyhash.ko kernel/drivers/net/dummy_net.ko kernel/fs/tinyfs/tinyfs.ko updates/toyhash.ko " ] ||
	fail "installed: $mods"
echo "merged object tree and install as expected"
