#!/usr/bin/env bash
# source_test.sh ARCHIVE_FORM FILES_FORM: the two .tar.zst are the same
# bytes, and hold the tree as kbuild needs it. (zstd ignores a symbolic link
# named as its input: runfiles are links.)
set -euo pipefail
cmp "$1" "$2"
list=$(zstd -q -dc <"$2" | tar -tvf - | awk '{ print $1, $2, $6, $7, $8 }')
want='lrwxrwxrwx 0/0 Changes -> README
-rw-r--r-- 0/0 Kconfig  
-rw-r--r-- 0/0 Makefile  
-rw-r--r-- 0/0 README  
drwxr-xr-x 0/0 arch/  
drwxr-xr-x 0/0 arch/x/  
drwxr-xr-x 0/0 arch/x/dts/  
-rw-r--r-- 0/0 arch/x/dts/a.dts  
drwxr-xr-x 0/0 scripts/  
drwxr-xr-x 0/0 scripts/include-prefixes/  
lrwxrwxrwx 0/0 scripts/include-prefixes/x -> ../../arch/x/dts
-rwxr-xr-x 0/0 scripts/run.sh  '
[ "$list" = "$want" ] || { printf 'got:\n%s\nwant:\n%s\n' "$list" "$want"; exit 1; }
[ "$(zstd -q -dc <"$2" | tar -xOf - README)" = $'Read me.\nPatched.' ]
echo PASS
