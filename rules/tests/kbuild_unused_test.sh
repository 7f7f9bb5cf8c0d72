#!/usr/bin/env bash
# kbuild_unused_test.sh KBUILD_SH: kbuild.sh's unused-input list (Bazel's
# unused_inputs_list) for a tree given as files, with a stand-in `make`
# whose "configuration" writes a .cmd file as gcc -MD and fixdep would:
#  - a C source or header that no .cmd file names is listed, by exec path;
#  - those a .cmd names (relative, with ./ and .., or absolute below the
#    tree) are not, nor anything below scripts/ or tools/, nor a file a
#    patch touches, nor a file that is not .c, .h or .S;
#  - without a manifest (a tarball) the list is refused.
set -euo pipefail
kbuild=$(realpath "$1")
t=$(mktemp -d "${TEST_TMPDIR:-/tmp}/kbuild-unused.XXXXXX")
cd "$t"
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir bin
cat >bin/make <<'MAKE'
#!/usr/bin/env bash
set -eu
dir=
while [ $# -gt 0 ]; do
	case $1 in
	-C) dir=$2; shift ;;
	tinyconfig | olddefconfig)
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
	esac
	shift
done
MAKE
chmod +x bin/make
export PATH=$t/bin:/usr/bin:/bin

mkdir -p tree/lib tree/include/linux tree/scripts tree/tools tree/drivers
for f in Makefile Kconfig lib/used.c lib/unused.c lib/rel.h include/linux/used.h include/abs.h \
	include/linux/unused.h drivers/x.S drivers/y.lds scripts/host.c tools/tool.c drivers/patched.c; do
	echo "/* $f */" >"tree/$f"
done
cat >fix.patch <<'PATCH'
--- a/drivers/patched.c
+++ b/drivers/patched.c
@@ -1 +1,2 @@
 /* drivers/patched.c */
+/* patched */
PATCH
(cd tree && find . -type f | sed 's|^\./|tree/|' | sort) >files.list
printf 'prefix\ttree/\nlist\tfiles.list\npatch\tfix.patch\n' >source.srcs

KBUILD_UNUSED_OUT=$t/unused bash "$kbuild" config config.out source.srcs tinyconfig >log 2>&1 ||
	{ cat log; fail "config from a manifest"; }
[ "$(cat config.out)" = CONFIG_X=y ] || fail "config.out"
want='tree/drivers/x.S
tree/include/linux/unused.h
tree/lib/unused.c'
got=$(sort unused)
[ "$got" = "$want" ] || { printf 'got:\n%s\nwant:\n%s\n' "$got" "$want"; fail "unused list"; }

# A tarball names no files: no list.
mkdir tar && (cd tree && tar -cf - . | zstd -q -o ../source.tar.zst)
! KBUILD_UNUSED_OUT=$t/unused2 bash "$kbuild" config config2.out source.tar.zst tinyconfig >log2 2>&1 ||
	fail "an unused list for a tarball"
grep -q "without a .srcs manifest" log2 || { cat log2; fail "tarball: no error"; }
echo PASS
