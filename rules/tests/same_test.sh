#!/usr/bin/env bash
# same_test.sh DIR_ROOT FILE_ROOT DIR_INSTALL FILE_INSTALL: the directory
# form's root and installed tree equal the file form's.
set -euo pipefail
cmp "$1" "$2" || { echo "roots differ" >&2; exit 1; }
diff -r "$3" "$4" || { echo "installed trees differ" >&2; exit 1; }
n=$(find "$3" -name '*.ko' | wc -l)
[ "$n" -gt 0 ] || { echo "no modules installed" >&2; exit 1; }
echo "same root, same $n installed modules"
