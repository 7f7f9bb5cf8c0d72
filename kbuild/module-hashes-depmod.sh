#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# $(DEPMOD) for kbuild's own modules_install when kbuild/module-hashes.mk
# runs a kernel package target (bindeb-pkg): kbuild calls it once every
# module is installed, so it first installs them again with their proofs
# ('modhashes install' into the same INSTALL_MOD_PATH, through the
# driver), then runs depmod.  The driver sets MODHASHES_MK, MODHASHES_KSRC,
# MODHASHES_O and MODHASHES; kbuild exports INSTALL_MOD_PATH and
# INSTALL_MOD_STRIP.
set -e
: "${MODHASHES_MK:?not run by kbuild/module-hashes.mk}"
# kbuild's make flags and jobserver are not this make's.
unset MAKEFLAGS MFLAGS MAKELEVEL
make -s -C "$MODHASHES_O" -f "$MODHASHES_MK" KSRC="$MODHASHES_KSRC" O="$MODHASHES_O" \
	MODHASHES="$MODHASHES" MODHASHES_STAGE=2 __modules_install
exec depmod "$@"
