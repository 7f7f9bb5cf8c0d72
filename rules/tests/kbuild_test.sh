#!/usr/bin/env bash
# kbuild_test.sh KBUILD_SH: kbuild.sh's `modules`, `config` and `vmlinux`
# commands, with a stand-in `make`, so that no kernel is built.
# modules: the stand-in "builds" the modules that FAKE_ORDER names (its
# modules.order lines):
#  - the list form copies the listed modules and fails, naming the
#    difference, when the list is not kbuild's modules.order;
#  - the directory form (KBUILD_MODULES_FROM_ORDER) takes kbuild's list,
#    stripped or not, and an empty one;
#  - Module.symvers goes where the rule says, outside the modules.
# config: each fragment's options hold in the resulting .config, the last
# fragment naming an option winning. From a tree given as files (a .srcs
# manifest): the stand-in
# writes a .cmd file as gcc -MD and fixdep would; the unused-input list
# (KBUILD_UNUSED_OUT, Bazel's unused_inputs_list):
#  - names, by exec path, each C source or header that no .cmd file names;
#  - not those a .cmd names (relative, with ./ and .., or absolute below
#    the tree), nor anything below scripts/ or tools/, nor a file a patch
#    touches, nor a file that is not .c, .h or .S;
#  - is refused for a tarball, which names no files.
# modules from files: every file is a link to its input, but for those a
# patch changes and those as new as the state (copies); a source whose
# sha256 differs from the module cache's gets a new mtime, as a copy.
# modules in kbuild-worker's kept tree: reused when only files of the tree
# changed, built from nothing otherwise or after a failure.
# vmlinux: the stand-in links vmlinux, and vmlinux.unstripped too as 6.15
# and later do (FAKE_UNSTRIPPED):
#  - 6.15 and later: kbuild's vmlinux.unstripped goes out, with System.map,
#    kernel.release, modules.builtin(.modinfo) and the state;
#  - before 6.15: an error naming kernel_build(placeholder = "vmlinux"), and
#    no output; with KBUILD_PLACEHOLDER=vmlinux, kbuild's vmlinux goes out as
#    vmlinux.unstripped and stays vmlinux in the state;
#  - KBUILD_PLACEHOLDER=vmlinux when kbuild linked vmlinux.unstripped: an
#    error, and no output;
#  - the boot image of kbuild's vmlinux is in the state; from files, the
#    module cache holds the sha256 of each source file the module build
#    read, and vmlinux's unused list still names them.
set -euo pipefail
kbuild=$(realpath "$1")
t=$(mktemp -d "${TEST_TMPDIR:-/tmp}/kbuild-test.XXXXXX")
cd "$t"
fail() { echo "FAIL: $*" >&2; exit 1; }

# The stand-in tools: make -C DIR ... modules | tinyconfig | olddefconfig |
# run-command | vmlinux | image_name | bzImage, and a strip that marks its
# output.
mkdir bin
cat >bin/make <<'MAKE'
#!/usr/bin/env bash
set -eu
dir=
while [ $# -gt 0 ]; do
	case $1 in
	-C) dir=$2; shift ;;
	-o) shift ;;
	image_name) echo arch/x86/boot/bzImage ;;
	bzImage)
		mkdir -p "$dir/arch/x86/boot"
		echo "bzImage of $(cat "$dir/vmlinux")" >"$dir/arch/x86/boot/bzImage"
		;;
	modules)
		: >"$dir/modules.order"
		for o in $FAKE_ORDER; do
			echo "$o" >>"$dir/modules.order"
			mkdir -p "$dir/$(dirname "$o")"
			echo "module ${o%.o} with debug info" >"$dir/${o%.o}.ko"
		done
		echo "symbols" >"$dir/Module.symvers"
		# FAKE_MODULE_CMD: a module's dependency list, as fixdep writes it.
		if [ -n "${FAKE_MODULE_CMD:-}" ]; then
			mkdir -p "$dir/lib"
			printf 'deps_lib/m.o := \\\n  lib/unused.c \\\n  include/linux/alias.h \\\n  include/generated/made.h\n' >"$dir/lib/.m.o.cmd"
		fi
		[ -z "${FAKE_TREE_OUT:-}" ] || (cd "$dir" && find . ! -type d -printf '%y %p\n' | sort >"$FAKE_TREE_OUT")
		# FAKE_NEWER_OUT: the files newer than the state (its .config), as make
		# sees them (through links).
		[ -z "${FAKE_NEWER_OUT:-}" ] || (cd "$dir" && find -L . ! -type d -newer .config -printf '%y %p\n' | sort >"$FAKE_NEWER_OUT")
		;;
	tinyconfig | olddefconfig)
		# FAKE_CONFIG: what olddefconfig makes of the merged fragments.
		if [ "$1" = olddefconfig ] && [ -n "${FAKE_CONFIG:-}" ]; then
			printf '%s\n' $FAKE_CONFIG >"$dir/.config"
			shift
			continue
		fi
		echo 'CONFIG_X=y' >"$dir/.config"
		mkdir -p "$dir/lib"
		cat >"$dir/lib/.used.o.cmd" <<CMD
savedcmd_lib/used.o := gcc -c -o lib/used.o lib/used.c
source_lib/used.o := lib/used.c
deps_lib/used.o := \\
  ./include/linux/used.h \\
  lib/sub/../rel.h \\
  $dir/include/abs.h \\
  \$(wildcard include/config/X) \\

lib/used.o: \$(deps_lib/used.o)
CMD
		;;
	KBUILD_RUN_COMMAND=*) echo "$(dirname "$0")/strip" ;;
	vmlinux)
		# Before 6.15 kbuild links vmlinux alone; FAKE_UNSTRIPPED: as 6.15
		# and later, vmlinux.unstripped too.
		if [ -n "${FAKE_UNSTRIPPED:-}" ]; then
			echo "vmlinux.unstripped, linked by kbuild 6.15" >"$dir/vmlinux.unstripped"
			echo "vmlinux, made by kbuild 6.15 from vmlinux.unstripped" >"$dir/vmlinux"
		else
			echo "vmlinux, linked by kbuild before 6.15" >"$dir/vmlinux"
		fi
		mkdir -p "$dir/include/config"
		echo "System.map" >"$dir/System.map"
		echo "6.12.0-test" >"$dir/include/config/kernel.release"
		echo "kernel/lib/builtin.ko" >"$dir/modules.builtin"
		echo "builtin.modinfo" >"$dir/modules.builtin.modinfo"
		;;
	esac
	shift
done
MAKE
cat >bin/strip <<'STRIP'
#!/usr/bin/env bash
# strip --strip-debug -o OUT IN
sed 's/ with debug info//' "$4" >"$3"
STRIP
chmod +x bin/make bin/strip
export PATH=$t/bin:/usr/bin:/bin

mkdir -p tree state
echo 'all:' >tree/Makefile
: >tree/Kconfig
tar -C tree -cf - . | zstd -q -o source.tar.zst
echo 'CONFIG_MODULES=y' >state/.config
tar -C state -cf - . | zstd -q -o state.tar.zst
tar -cf - -T /dev/null | zstd -q -o nocache.tar.zst

run() { # NAME ARGS...: kbuild.sh modules OUT SYMVERS SOURCE STATE CACHE ARGS...
	local name=$1
	shift
	mkdir -p "$name"
	bash "$kbuild" modules "$name/out" "$name/Module.symvers" source.tar.zst state.tar.zst nocache.tar.zst "$@" \
		>"$name/log" 2>&1
}

# The list form, matching kbuild's modules.order.
export FAKE_ORDER="lib/a.o drivers/b/c.o"
run list lib/a.ko drivers/b/c.ko || { cat list/log; fail "list form"; }
[ "$(cat list/out/lib/a.ko)" = "module lib/a with debug info" ] || fail "list form: lib/a.ko"
[ -f list/out/drivers/b/c.ko ] || fail "list form: drivers/b/c.ko"
[ "$(cat list/out/modules.order)" = "$(printf 'lib/a.o\ndrivers/b/c.o')" ] || fail "list form: modules.order"
[ "$(cat list/Module.symvers)" = symbols ] || fail "list form: Module.symvers"
[ ! -e list/out/Module.symvers ] || fail "list form: Module.symvers among the modules"

# The list form, not kbuild's: the error names the difference.
! run stale lib/a.ko lib/old.ko || fail "a stale list was accepted"
grep -q "not those of kbuild's modules.order" stale/log || { cat stale/log; fail "stale list: no error"; }
grep -qx '  declared only: lib/old.ko' stale/log || { cat stale/log; fail "stale list: lib/old.ko not named"; }
grep -qx '  built only: drivers/b/c.ko' stale/log || { cat stale/log; fail "stale list: drivers/b/c.ko not named"; }

# The directory form: kbuild's modules, whatever they are.
export FAKE_ORDER="lib/a.o drivers/b/c.o fs/d.o"
KBUILD_MODULES_FROM_ORDER=1 run dir || { cat dir/log; fail "directory form"; }
(cd dir/out && find . -type f | LC_ALL=C sort | tr '\n' ' ') >dir/files
[ "$(cat dir/files)" = "./drivers/b/c.ko ./fs/d.ko ./lib/a.ko ./modules.order " ] || fail "directory form: $(cat dir/files)"
[ "$(cat dir/out/modules.order)" = "$(printf 'lib/a.o\ndrivers/b/c.o\nfs/d.o')" ] || fail "directory form: modules.order"
[ "$(cat dir/Module.symvers)" = symbols ] || fail "directory form: Module.symvers"
! KBUILD_MODULES_FROM_ORDER=1 run dirlist lib/a.ko || fail "directory form with a list was accepted"

# The directory form, stripped: the unstripped modules at the same paths.
mkdir -p strip/unstripped
KBUILD_MODULES_FROM_ORDER=1 KBUILD_STRIP_MODULES=1 KBUILD_UNSTRIPPED_OUT=$t/strip/unstripped run strip ||
	{ cat strip/log; fail "directory form, stripped"; }
[ "$(cat strip/out/fs/d.ko)" = "module fs/d" ] || fail "stripped: fs/d.ko"
[ "$(cat strip/unstripped/fs/d.ko)" = "module fs/d with debug info" ] || fail "unstripped: fs/d.ko"
[ "$(find strip/unstripped -type f | wc -l)" = 3 ] || fail "unstripped: not 3 modules"

# The directory form without modules: an empty modules.order.
export FAKE_ORDER=
KBUILD_MODULES_FROM_ORDER=1 run none || { cat none/log; fail "directory form, no modules"; }
[ "$(cd none/out && find . -type f)" = ./modules.order ] && [ ! -s none/out/modules.order ] ||
	fail "directory form, no modules: $(cd none/out && find .)"

# config from files: the unused-input list.
mkdir -p ftree/lib ftree/include/linux ftree/scripts ftree/tools ftree/drivers
for f in Makefile Kconfig lib/used.c lib/unused.c lib/rel.h include/linux/used.h include/abs.h \
	include/linux/unused.h drivers/x.S drivers/y.lds scripts/host.c tools/tool.c drivers/patched.c; do
	echo "/* $f */" >"ftree/$f"
done
cat >fix.patch <<'PATCH'
--- a/drivers/patched.c
+++ b/drivers/patched.c
@@ -1 +1,2 @@
 /* drivers/patched.c */
+/* patched */
PATCH
(cd ftree && find . -type f | sed 's|^\./|ftree/|' | sort) >files.list
printf 'include/linux/alias.h\tunused.h\n' >links.txt
printf 'prefix\tftree/\nlist\tfiles.list\nsymlinks\tlinks.txt\npatch\tfix.patch\n' >source.srcs

KBUILD_UNUSED_OUT=$t/unused bash "$kbuild" config config.out source.srcs tinyconfig >log 2>&1 ||
	{ cat log; fail "config from a manifest"; }
[ "$(cat config.out)" = CONFIG_X=y ] || fail "config.out"
want='ftree/drivers/x.S
ftree/include/linux/unused.h
ftree/lib/unused.c'
got=$(sort unused)
[ "$got" = "$want" ] || { printf 'got:\n%s\nwant:\n%s\n' "$got" "$want"; fail "unused list"; }

# vmlinux from files: the module cache's sources are those the module
# build's dependency lists name (not generated ones; a link in the tree as
# the file it points to), with their sha256; vmlinux's unused list still
# names them.
FAKE_UNSTRIPPED=1 FAKE_MODULE_CMD=1 KBUILD_UNUSED_OUT=$t/vmlinux.unused \
	bash "$kbuild" vmlinux files.out source.srcs state/.config >log 2>&1 ||
	{ cat log; fail "vmlinux from a manifest"; }
want=$(cd ftree && sha256sum include/linux/unused.h lib/unused.c)
got=$(zstd -q -dc <files.out/modules.tar.zst | tar -xOf - .modhashes-module-sources)
[ "$got" = "$want" ] || { printf 'got:\n%s\nwant:\n%s\n' "$got" "$want"; fail "module cache: sources"; }
grep -qx ftree/lib/unused.c vmlinux.unused || fail "vmlinux's unused list lost a module source"
[ "$(zstd -q -dc <files.out/state.tar.zst | tar -xOf - arch/x86/boot/bzImage)" = "bzImage of vmlinux, made by kbuild 6.15 from vmlinux.unstripped" ] ||
	fail "state: no boot image of kbuild's vmlinux"

# modules from files: links to the inputs (old), copies of the patched file
# and of one as new as the state. The cache's lib/unused.c is another
# file's: it gets a new mtime (as a copy); lib/used.c, the same, keeps its.
find ftree -exec touch -h -d @1600000000 {} +
touch -d '+1 hour' ftree/include/linux/used.h
mkdir cache
{ (cd ftree && sha256sum lib/used.c); echo "$(echo other | sha256sum | cut -c1-64)  lib/unused.c"; } >cache/.modhashes-module-sources
tar -C cache -cf - . | zstd -q -o cache.tar.zst
FAKE_ORDER= FAKE_TREE_OUT=$t/linked.tree FAKE_NEWER_OUT=$t/newer.tree KBUILD_MODULES_FROM_ORDER=1 \
	bash "$kbuild" modules linked.out linked.symvers source.srcs state.tar.zst cache.tar.zst >log 2>&1 ||
	{ cat log; fail "modules from a manifest"; }
for f in drivers/x.S include/linux/unused.h lib/used.c Makefile drivers/y.lds; do
	grep -qx "l ./$f" linked.tree || fail "linked tree: $f is not a link"
done
for f in drivers/patched.c include/linux/used.h lib/unused.c; do
	grep -qx "f ./$f" linked.tree || fail "linked tree: $f is not a copy"
done
[ "$(grep -c '^l' linked.tree)" = 11 ] || fail "linked tree: not 11 links (10 and the tree's own): $(cat linked.tree)"
grep -qx "f ./lib/unused.c" newer.tree || fail "a changed source kept its mtime: $(cat newer.tree)"
! grep -q "lib/used.c\|drivers/patched.c\|include/linux/used.h" newer.tree || fail "an unchanged source is newer than the state: $(cat newer.tree)"
grep -q "1 source file(s) changed" log || { cat log; fail "the changed source is not reported"; }

# modules in kbuild-worker's directory (KBUILD_WARM_DIR): the first run
# builds from nothing and keeps its tree; the next, told that a file of the
# tree changed (KBUILD_WARM_CHANGED), copies it into that tree, newer than
# the state, and unpacks nothing; a changed state, a file a patch touches
# and a file new to the tree each make it build from nothing; a failed run
# leaves no tree.
warm_run() { # NAME [CHANGED...]: with no CHANGED, nothing is known
	local name=$1 changed=
	shift
	[ $# = 0 ] || { printf '%s\n' "$@" >"$name.changed" && changed=$t/$name.changed; }
	FAKE_ORDER= FAKE_NEWER_OUT=$t/$name.newer KBUILD_MODULES_FROM_ORDER=1 KBUILD_WARM_DIR=$t/warm \
		KBUILD_WARM_CHANGED=$changed bash "$kbuild" modules "$name.out" "$name.symvers" source.srcs state.tar.zst cache.tar.zst \
		"${extra[@]}" >"$name.log" 2>&1
}
extra=()
warm_run w1 || { cat w1.log; fail "warm: the first run"; }
[ -f warm/warm ] && [ -f warm/src/Makefile ] || fail "warm: the first run kept no tree"
! grep -q "last run" w1.log || fail "warm: the first run took a tree it had not made"
touch warm/src/kept
echo '/* edited */' >ftree/lib/used.c
warm_run w2 ftree/lib/used.c || { cat w2.log; fail "warm: a changed source"; }
grep -q "the tree of this action's last run, 1 source file(s) changed since" w2.log && [ -e warm/src/kept ] ||
	{ cat w2.log; fail "warm: the tree was not reused"; }
[ "$(cat warm/src/lib/used.c)" = '/* edited */' ] && [ ! -L warm/src/lib/used.c ] || fail "warm: lib/used.c not copied in"
grep -qx 'f ./lib/used.c' w2.newer || fail "warm: lib/used.c is not newer than the state: $(cat w2.newer)"
for c in state.tar.zst ftree/drivers/patched.c ftree/lib/new.c; do
	touch warm/src/kept
	warm_run w3 ftree/lib/used.c "$c" || { cat w3.log; fail "warm: $c changed"; }
	! grep -q "last run" w3.log && [ ! -e warm/src/kept ] && [ -f warm/warm ] ||
		{ cat w3.log; fail "warm: $c changed and the tree was reused"; }
done
extra=(lib/a.ko)
! warm_run w4 ftree/lib/used.c || fail "warm: a failing run succeeded"
[ ! -e warm ] || fail "warm: a failed run left its tree"
# image from a tarball in kbuild-worker's directory: a new vmlinux alone
# reuses the tree; a new tarball does not.
warm_image() { # NAME CHANGED...
	local name=$1
	shift
	printf '%s\n' "$@" >"$name.changed"
	KBUILD_WARM_DIR=$t/iwarm KBUILD_WARM_CHANGED=$t/$name.changed \
		bash "$kbuild" image "$name.bzImage" source.tar.zst state.tar.zst "$name.vmlinux" >"$name.log" 2>&1
}
echo "vmlinux 1" >i1.vmlinux
warm_image i1 || { cat i1.log; fail "warm image: the first run"; }
echo "vmlinux 2" >i2.vmlinux
warm_image i2 i2.vmlinux || { cat i2.log; fail "warm image: a new vmlinux"; }
grep -q "the tree of this action's last run, 0 source file(s) changed since" i2.log && [ "$(cat i2.bzImage)" = "bzImage of vmlinux 2" ] ||
	{ cat i2.log; fail "warm image: a new vmlinux did not reuse the tree"; }
echo "vmlinux 3" >i3.vmlinux
warm_image i3 i3.vmlinux source.tar.zst || { cat i3.log; fail "warm image: a new tarball"; }
! grep -q "last run" i3.log || { cat i3.log; fail "warm image: a new tarball reused the tree"; }

# A tarball (the modules tests') names no files: no list.
! KBUILD_UNUSED_OUT=$t/unused2 bash "$kbuild" config config2.out source.tar.zst tinyconfig >log2 2>&1 ||
	fail "an unused list for a tarball"
grep -q "without a .srcs manifest" log2 || { cat log2; fail "tarball: no error"; }

# vmlinux from 6.15 and later: kbuild's vmlinux.unstripped goes out, and
# the state holds the tree's files.
FAKE_UNSTRIPPED=1 bash "$kbuild" vmlinux new.out source.tar.zst state/.config >log3 2>&1 ||
	{ cat log3; fail "vmlinux, 6.15"; }
[ "$(cat new.out/vmlinux.unstripped)" = "vmlinux.unstripped, linked by kbuild 6.15" ] || fail "vmlinux, 6.15: vmlinux.unstripped"
for f in System.map kernel.release modules.builtin modules.builtin.modinfo state.tar.zst; do
	[ -s "new.out/$f" ] || fail "vmlinux, 6.15: no $f"
done
[ "$(zstd -q -dc <new.out/state.tar.zst | tar -xOf - vmlinux.unstripped)" = "vmlinux.unstripped, linked by kbuild 6.15" ] ||
	fail "vmlinux, 6.15: state"
# Before 6.15 (no vmlinux.unstripped), by default: an error that names the
# setting, and no output.
! bash "$kbuild" vmlinux old.out source.tar.zst state/.config >log3 2>&1 ||
	fail "vmlinux without vmlinux.unstripped"
grep -q "no vmlinux.unstripped: kernels before 6.15" log3 || { cat log3; fail "vmlinux: no clear error"; }
grep -qF 'set kernel_build(placeholder = "vmlinux")' log3 || { cat log3; fail "vmlinux: the error names no placeholder"; }
[ ! -e old.out ] || fail "vmlinux: output left behind"
# Before 6.15 with KBUILD_PLACEHOLDER=vmlinux: kbuild's vmlinux goes out as
# vmlinux.unstripped, and stays vmlinux in the state (the image action
# replaces it with the final one).
KBUILD_PLACEHOLDER=vmlinux bash "$kbuild" vmlinux old.out source.tar.zst state/.config >log3 2>&1 ||
	{ cat log3; fail "vmlinux, placeholder vmlinux"; }
[ "$(cat old.out/vmlinux.unstripped)" = "vmlinux, linked by kbuild before 6.15" ] ||
	fail "placeholder vmlinux: vmlinux.unstripped is not kbuild's vmlinux"
[ "$(cat old.out/kernel.release)" = 6.12.0-test ] && [ "$(cat old.out/System.map)" = System.map ] &&
	[ "$(cat old.out/modules.builtin)" = kernel/lib/builtin.ko ] && [ "$(cat old.out/modules.builtin.modinfo)" = builtin.modinfo ] ||
	fail "placeholder vmlinux: kbuild's other files"
(cd old.out && find . -type f | LC_ALL=C sort | tr '\n' ' ') >old.files
[ "$(cat old.files)" = "./System.map ./kernel.release ./modules.builtin ./modules.builtin.modinfo ./modules.tar.zst ./state.tar.zst ./vmlinux.unstripped " ] ||
	fail "placeholder vmlinux: $(cat old.files)"
zstd -q -dc <old.out/state.tar.zst | tar -tf - >old.state
grep -qx vmlinux old.state && ! grep -q vmlinux.unstripped old.state || fail "placeholder vmlinux: state: $(cat old.state)"
[ "$(zstd -q -dc <old.out/state.tar.zst | tar -xOf - vmlinux)" = "vmlinux, linked by kbuild before 6.15" ] ||
	fail "placeholder vmlinux: state's vmlinux"
# KBUILD_PLACEHOLDER=vmlinux on 6.15 and later, which links
# vmlinux.unstripped: an error, and no output.
! FAKE_UNSTRIPPED=1 KBUILD_PLACEHOLDER=vmlinux bash "$kbuild" vmlinux both.out source.tar.zst state/.config >log3 2>&1 ||
	fail "placeholder vmlinux with a vmlinux.unstripped accepted"
grep -qF 'placeholder = "vmlinux" but kbuild linked vmlinux.unstripped' log3 || { cat log3; fail "placeholder vmlinux, 6.15: no clear error"; }
[ ! -e both.out ] || fail "placeholder vmlinux, 6.15: output left behind"
# config's check of the fragments against the resulting .config: an option
# as the last fragment that names it sets it; "is not set" holds for an
# option olddefconfig left out, not for one it turned on.
mkdir -p ctree/scripts/kconfig
echo 'all:' >ctree/Makefile
printf '#!/bin/sh\n' >ctree/scripts/kconfig/merge_config.sh
chmod +x ctree/scripts/kconfig/merge_config.sh
tar -C ctree -cf - . | zstd -q -o ctree.tar.zst
printf '%s\n' CONFIG_A=y CONFIG_B=y '# CONFIG_C is not set' >base.fragment
printf '%s\n' CONFIG_A=m '# CONFIG_B is not set' >arch.fragment
FAKE_CONFIG='CONFIG_A=m' bash "$kbuild" config c1.out ctree.tar.zst tinyconfig base.fragment arch.fragment >log4 2>&1 ||
	{ cat log4; fail "config: a later fragment's setting or an absent option refused"; }
[ "$(cat c1.out)" = CONFIG_A=m ] || fail "config: c1.out"
for c in 'CONFIG_A=y' 'CONFIG_A=m CONFIG_B=y' 'CONFIG_A=m CONFIG_C=y'; do
	! FAKE_CONFIG=$c bash "$kbuild" config c2.out ctree.tar.zst tinyconfig base.fragment arch.fragment >log5 2>&1 ||
		fail "config: fragments not met by '$c' accepted"
	[ ! -e c2.out ] || fail "config: output left behind for '$c'"
done
grep -q "base.fragment: '# CONFIG_C is not set' is not in the resulting .config" log5 || { cat log5; fail "config: no clear error"; }
echo "kbuild.sh modules: list form, stale list, directory form (stripped, empty), linked tree, changed sources, warm tree; config: unused inputs, fragments against .config; vmlinux: 6.15, before 6.15 (error, placeholder vmlinux), placeholder vmlinux on 6.15"
