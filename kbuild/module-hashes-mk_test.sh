#!/usr/bin/env bash
# kbuild/module-hashes.mk against a stand-in kernel tree, under the host's
# make (bookworm's 4.3 passes its jobserver as file descriptors, which a
# sub-make only gets from a recipe make knows is recursive):
#  - kbuild, called through $(kmake), gets the jobserver of 'make -j2';
#  - the boot image's name is asked of kbuild without a jobserver warning.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir -p "$tmp/linux/scripts" "$tmp/linux/include/config"
: >"$tmp/linux/scripts/Kbuild.include"
: >"$tmp/linux/modules.order"
echo CONFIG_MODULE_HASHES=y >"$tmp/linux/include/config/auto.conf"
# kbuild's top Makefile, reduced to the targets the driver calls here.
cat >"$tmp/linux/Makefile" <<'EOF'
clean:
	@case " $(MAKEFLAGS) " in *" --jobserver-"*) ;; \
	 *) echo "kbuild clean ran without a jobserver: MAKEFLAGS=$(MAKEFLAGS)" >&2; exit 1;; esac
image_name:
	@echo arch/x86/boot/bzImage
EOF
# Stage 2 runs as a sub-make of stage 1; this stands in for stage 1.
cat >"$tmp/stage1.mk" <<EOF
all:
	+\$(MAKE) -C $tmp/linux -f $here/module-hashes.mk KSRC=$tmp/linux MODHASHES_STAGE=2 \\
		--eval='print-kimage: ; @echo KIMAGE=\$\$(KIMAGE) \$\$(KIMAGE)' print-kimage
EOF

make --version | sed -n 1p
make -s -j2 -f "$here/module-hashes.mk" KSRC="$tmp/linux" clean >"$tmp/out" 2>&1 ||
	{ cat "$tmp/out"; fail "make -f module-hashes.mk clean"; }
! grep -i jobserver "$tmp/out" || fail "clean: make warned about its jobserver"
echo "PASS: kbuild called through the driver has make's jobserver"

make -s -j2 -f "$tmp/stage1.mk" >"$tmp/out" 2>&1 || { cat "$tmp/out"; fail "stage 2 print-kimage"; }
! grep -i jobserver "$tmp/out" || fail "KIMAGE: make warned about its jobserver"
grep -qx 'KIMAGE=bzImage bzImage' "$tmp/out" || { cat "$tmp/out"; fail "KIMAGE is not kbuild's image_name"; }
echo "PASS: the boot image's name is kbuild's image_name, asked without a jobserver warning"
