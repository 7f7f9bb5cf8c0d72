# SPDX-License-Identifier: GPL-2.0-only
#
# CONFIG_MODULE_HASHES for a kernel whose build system is not patched.
#
#   make -f kbuild/module-hashes.mk KSRC=/path/to/linux [O=/path/to/build] \
#        [MODHASHES=modhashes] [KIMAGE=bzImage] [all | modules_install | bindeb-pkg | clean]
#
# The kernel tree needs the kernel side of module hashes (patches 0001 and
# 0002 of kbuild/patches/linux-<version>: CONFIG_MODULE_HASHES and the
# .module_hashes section), not the kbuild patch 0003.  Other kbuild
# variables (ARCH, CROSS_COMPILE, LLVM, KCFLAGS, V, ...) pass through.
#
# all: kbuild builds vmlinux.unstripped, its own vmlinux and the modules;
#      then here, in O:
#        $(STRIP)            *.ko -> *.ko.stripped (with CONFIG_MODULE_INSTALL_STRIP)
#        modhashes tree      modules.order + modules -> .module_hashes.bin, *.merkle
#        modhashes finalize  vmlinux.unstripped    -> vmlinux (root written in)
#        kbuild $(KIMAGE)    vmlinux               -> boot image
#      Kernels before 6.15 link no vmlinux.unstripped: kbuild's vmlinux,
#      linked and post-linked, is the placeholder, and only the root is
#      written into it (modhashes section update; see modhashes-unstripped).
# modules_install: checks INSTALL_MOD_STRIP against the configuration,
#      then kbuild's modules_install (modules.order, modules.builtin,
#      depmod, ...), then 'modhashes install', which writes every in-tree
#      module again, as hashed (stripped if configured), with its proof.
# bindeb-pkg: kbuild's Debian packages of the built tree; kbuild's
#      modules_install inside it runs module-hashes-depmod.sh as $(DEPMOD),
#      which installs the modules again with their proofs before depmod.
#
# Timestamps: kbuild relinks every module when vmlinux is newer than it,
# because module BTF is generated against vmlinux.  The final vmlinux has
# the .BTF of vmlinux.unstripped unchanged, so after the boot image is built
# from it, its mtime is set back to that of vmlinux.unstripped: kbuild then
# sees what it built from, and the next make does nothing.  Whether vmlinux
# is final is tracked by the stamp .module_hashes.stamp.

this-makefile := $(abspath $(lastword $(MAKEFILE_LIST)))

ifeq ($(KSRC),)
$(error KSRC is not set: make -f $(this-makefile) KSRC=/path/to/linux O=/path/to/build)
endif
override KSRC := $(abspath $(KSRC))
ifeq ($(O),)
override O := $(KSRC)
endif
override O := $(abspath $(O))

MODHASHES ?= modhashes

ifeq ("$(origin V)", "command line")
  KBUILD_VERBOSE = $(V)
endif
quiet = quiet_
Q = @
ifneq ($(findstring 1, $(KBUILD_VERBOSE)),)
  quiet =
  Q =
endif
ifneq ($(findstring s,$(firstword -$(MAKEFLAGS))),)
  quiet = silent_
endif

# pahole's -j (1.22 and later) makes .BTF, and so vmlinux, every module and
# the hashes, depend on thread timing. 6.12's kbuild (scripts/Makefile.btf)
# leaves it out when KBUILD_BUILD_TIMESTAMP asks for a reproducible build;
# kernels that still have scripts/pahole-flags.sh (6.1) pass it regardless,
# so the driver hands them that script's flags without it (6.1's patch 0004
# does the same in kbuild). PAHOLE_FLAGS given to the driver win.
ifneq ($(KBUILD_BUILD_TIMESTAMP),)
ifneq ($(wildcard $(KSRC)/scripts/pahole-flags.sh),)
ifeq ($(origin PAHOLE_FLAGS),undefined)
kmake-pahole := PAHOLE_FLAGS="$(filter-out -j,$(shell PAHOLE=$(or $(PAHOLE),pahole) $(KSRC)/scripts/pahole-flags.sh))"
endif
endif
endif

# Recipes calling $(kmake) start with '+': make 4.3 sees no $(MAKE) in them
# and would not pass its jobserver on, and kbuild would run with -j1.
kmake = $(MAKE) -C $(KSRC) $(if $(filter $(KSRC),$(O)),,O=$(O)) $(kmake-pahole)

PHONY := all
all:

ifeq ($(MODHASHES_STAGE),)

# Stage 1, from anywhere: kbuild, then stage 2 in O.

all:
	+$(Q)$(kmake) vmlinux modules
	$(Q)$(MAKE) -C $(O) -f $(this-makefile) MODHASHES_STAGE=2 __final

PHONY += modules_install
modules_install:
	$(Q)$(MAKE) -C $(O) -f $(this-makefile) MODHASHES_STAGE=2 __check_install
	+$(Q)$(kmake) modules_install
	$(Q)$(MAKE) -C $(O) -f $(this-makefile) MODHASHES_STAGE=2 __modules_install

# builddeb installs with INSTALL_MOD_STRIP=1: checked first.
PHONY += bindeb-pkg
bindeb-pkg: all
	$(Q)$(MAKE) -C $(O) -f $(this-makefile) MODHASHES_STAGE=2 INSTALL_MOD_STRIP=1 __check_install
	+$(Q)MODHASHES_MK=$(this-makefile) MODHASHES_KSRC=$(KSRC) MODHASHES_O=$(O) MODHASHES=$(MODHASHES) \
		$(kmake) bindeb-pkg DEPMOD=$(dir $(this-makefile))module-hashes-depmod.sh

PHONY += clean
clean:
	+$(Q)$(kmake) clean
	$(Q)rm -f $(O)/.module_hashes.bin $(O)/..module_hashes.bin.cmd \
		$(O)/.module_hashes.stamp $(O)/..module_hashes.stamp.cmd \
		$(O)/.module_hashes.linked
	$(Q)find $(O) -name '*.merkle' -type f -delete

else

# Stage 2, in O, after kbuild: modules.order and the configuration exist.

srctree := $(KSRC)
objtree := .
include $(KSRC)/scripts/Kbuild.include
include include/config/auto.conf

ifndef CONFIG_MODULE_HASHES
$(error $(O): CONFIG_MODULE_HASHES is not enabled)
endif

# The proofs cover the installed bytes: with CONFIG_MODULE_INSTALL_STRIP
# the modules are stripped before hashing, as the in-tree patch does, with
# kbuild's strip (LLVM=, CROSS_COMPILE= as kbuild reads them).
ifneq ($(LLVM),)
ifneq ($(filter %/,$(LLVM)),)
STRIP ?= $(LLVM)llvm-strip
else
STRIP ?= llvm-strip$(filter -%,$(LLVM))
endif
else
STRIP ?= $(CROSS_COMPILE)strip
endif

ifdef CONFIG_MODULE_INSTALL_STRIP
modhashes-suffix := .ko.stripped

quiet_cmd_strip_ko = STRIP [M] $@
      cmd_strip_ko = $(STRIP) $(if $(filter 1,$(CONFIG_MODULE_INSTALL_STRIP)),--strip-debug,$(CONFIG_MODULE_INSTALL_STRIP)) -o $@ $<

targets += $(modules:%.o=%.ko.stripped)
%.ko.stripped: %.ko FORCE
	$(call if_changed,strip_ko)
else
modhashes-suffix := .ko
endif

# The one place where kbuild versions differ.  Since 6.15 kbuild links
# vmlinux.unstripped and strips it into vmlinux; finalize does that strip
# with the root written in.  Before, kbuild links vmlinux itself and runs
# the architecture's postlink on it (x86 relocs, ...): that vmlinux is the
# placeholder, and the root is written into it alone.  The root holds no
# address, so nothing the postlink computed changes.
ifneq ($(shell grep -s vmlinux.unstripped $(KSRC)/scripts/Makefile.vmlinux),)
modhashes-unstripped := vmlinux.unstripped
else
modhashes-unstripped := vmlinux
endif

# 6.1 and older list modules as lib/x.ko in modules.order, later ones as
# lib/x.o.
modules := $(patsubst %.ko,%.o,$(shell cat modules.order))

# The Merkle tree: the root in the byte order of vmlinux and one
# <module>.merkle proof next to each module.
quiet_cmd_module_hashes = MODHASH $@
      cmd_module_hashes = $(MODHASHES) tree --objtree . --order modules.order \
			  --suffix $(modhashes-suffix) --target $(modhashes-unstripped) --root-bin $@

targets += .module_hashes.bin
.module_hashes.bin: modules.order $(modules:%.o=%$(modhashes-suffix)) FORCE | $(modhashes-unstripped)
	$(call if_changed,module_hashes)

# What kbuild's strip_relocs does to vmlinux.unstripped, with the root
# written into .module_hashes; before 6.15 the root written into kbuild's
# vmlinux, the rest as kbuild made it.  Then the boot image from that vmlinux.
ifeq ($(modhashes-unstripped),vmlinux.unstripped)
quiet_cmd_finalize_vmlinux = MODHASH vmlinux
      cmd_finalize_vmlinux = $(MODHASHES) finalize --root-bin .module_hashes.bin \
			     $(if $(CONFIG_ARCH_VMLINUX_NEEDS_RELOCS),,--keep-relocs) \
			     vmlinux.unstripped vmlinux
else
quiet_cmd_finalize_vmlinux = MODHASH vmlinux
      cmd_finalize_vmlinux = touch -r vmlinux .module_hashes.linked && \
			     $(MODHASHES) section update --in-place .module_hashes \
			     .module_hashes.bin vmlinux vmlinux
endif

# Asked once, when needed, without the jobserver: make 4.3 hands $(shell)
# the jobserver's flags but not its pipe, and the sub-make warns.
kimage-query = $(notdir $(shell MAKEFLAGS='$(subst ','\'',$(filter-out --jobserver%,$(MAKEFLAGS)))' \
	       $(kmake) -s --no-print-directory image_name))
KIMAGE ?= $(eval KIMAGE := $(kimage-query))$(KIMAGE)

quiet_cmd_boot_image = MAKE    $(KIMAGE)
      cmd_boot_image = $(kmake) $(KIMAGE)

# The time kbuild linked vmlinux.
modhashes-linked := $(if $(filter vmlinux,$(modhashes-unstripped)),.module_hashes.linked,vmlinux.unstripped)

quiet_cmd_pin_vmlinux = TOUCH   vmlinux
      cmd_pin_vmlinux = touch -r $(modhashes-linked) vmlinux && touch $@

define rule_finalize_vmlinux
	$(call cmd_and_savecmd,finalize_vmlinux)
	+$(call cmd,boot_image)
	$(call cmd,pin_vmlinux)
endef

# vmlinux is a prerequisite so that a vmlinux that kbuild wrote again is
# finalized again.
targets += .module_hashes.stamp
.module_hashes.stamp: $(sort $(modhashes-unstripped) .module_hashes.bin vmlinux) FORCE
	+$(call if_changed_rule,finalize_vmlinux)

PHONY += __final
__final: .module_hashes.stamp
	@:

# Checked before kbuild's modules_install runs: the proofs cover the
# modules as stripped (or not) at build time.
ifdef INSTALL_MOD_STRIP
ifneq ($(INSTALL_MOD_STRIP),$(CONFIG_MODULE_INSTALL_STRIP))
$(error INSTALL_MOD_STRIP=$(INSTALL_MOD_STRIP) differs from CONFIG_MODULE_INSTALL_STRIP="$(CONFIG_MODULE_INSTALL_STRIP)", \
	which the module hashes were built with: set CONFIG_MODULE_INSTALL_STRIP="$(INSTALL_MOD_STRIP)" and rebuild, \
	or install without INSTALL_MOD_STRIP)
endif
endif

PHONY += __check_install
__check_install:
	@:

# kbuild compresses at install with MODULE_COMPRESS_ALL; 6.1 and older,
# which have neither it nor MODULE_COMPRESS, whenever a type is chosen.
modhashes-compress-y					:= none
ifneq ($(CONFIG_MODULE_COMPRESS_ALL)$(if $(CONFIG_MODULE_COMPRESS),,y),)
modhashes-compress-$(CONFIG_MODULE_COMPRESS_GZIP)	:= gzip
modhashes-compress-$(CONFIG_MODULE_COMPRESS_XZ)		:= xz
modhashes-compress-$(CONFIG_MODULE_COMPRESS_ZSTD)	:= zstd
endif

quiet_cmd_modhashes_install = INSTALL $(or $(INSTALL_MOD_PATH),/)
      cmd_modhashes_install = $(MODHASHES) install --objtree . --vmlinux vmlinux \
			      --order modules.order --suffix $(modhashes-suffix) \
			      --dest $(or $(INSTALL_MOD_PATH),/) \
			      --compress $(modhashes-compress-y)

PHONY += __modules_install
__modules_install:
	$(call cmd,modhashes_install)

PHONY += FORCE
FORCE:

existing-targets := $(wildcard $(sort $(targets)))
-include $(foreach f,$(existing-targets),$(dir $(f)).$(notdir $(f)).cmd)

endif

.PHONY: $(PHONY)
