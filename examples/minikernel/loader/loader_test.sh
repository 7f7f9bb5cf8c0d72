#!/usr/bin/env bash
# The user-space loader must accept exactly the installed modules: every
# module in the install tree (and nothing else is there), and none of
#   - a copy with one byte of code changed,
#   - a module as built (no proof appended),
#   - a module carrying another module's proof.
#
# usage: loader_test.sh LOADER VMLINUX INSTALL_DIR KERNEL_RELEASE BUILT_MODULE... -- EXPECTED_PATH...
set -euo pipefail
loader=$1 vmlinux=$2 install=$3 release=$4
shift 4
built=()
while [ "$1" != -- ]; do
	built+=("$1")
	shift
done
shift
expected=("$@")
kdir=$install/lib/modules/$release/kernel
tmp=${TEST_TMPDIR:-$(mktemp -d)}
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# The final image is what kbuild's objcopy steps make: no .modinfo, no
# relocation sections, no device-table aliases, and the root section kept.
sections=$(readelf -SW "$vmlinux")
grep -q ' \.module_hashes ' <<<"$sections" || fail "final vmlinux lost .module_hashes"
! grep -qE ' \.modinfo | \.rela?\.' <<<"$sections" || fail "final vmlinux keeps .modinfo or relocations"
! readelf -sW "$vmlinux" | grep -q __mod_device_table__ || fail "final vmlinux keeps __mod_device_table__ symbols"

# Exactly the expected module files are installed.
(cd "$kdir" && find -L . -type f | sed 's|^\./||' | LC_ALL=C sort) >"$tmp/installed"
printf '%s\n' "${expected[@]}" | LC_ALL=C sort >"$tmp/expected"
diff -u "$tmp/expected" "$tmp/installed" || fail "installed modules differ from the expected list"

# Each installed module is accepted.
for m in "${expected[@]}"; do
	"$loader" "$vmlinux" "$kdir/$m" || fail "loader rejected installed $m"
done

# A tampered copy of each is rejected: flip one byte in the middle of the
# module body (well before the trailer).
for m in "${expected[@]}"; do
	t=$tmp/tampered.ko
	cp "$kdir/$m" "$t"
	chmod u+w "$t"
	size=$(stat -c %s "$t")
	off=$((size / 4))
	byte=$(od -An -tu1 -j "$off" -N1 "$t" | tr -d ' ')
	printf "$(printf '\\%03o' $(((byte + 1) % 256)))" |
		dd of="$t" bs=1 seek="$off" conv=notrunc status=none
	if "$loader" "$vmlinux" "$t"; then
		fail "loader accepted a tampered copy of $m"
	fi
done

# Modules as built carry no proof.
for b in "${built[@]}"; do
	if "$loader" "$vmlinux" "$b"; then
		fail "loader accepted $b without a proof"
	fi
done

# Another module's proof does not fit: module 0 as built plus the trailer
# installed on module 1.
built_of() {
	local f
	for f in "${built[@]}"; do
		if [ "$(basename "$f")" = "$(basename "$1")" ]; then
			echo "$f"
			return
		fi
	done
	fail "no built module for $1"
}
if [ "${#expected[@]}" -ge 2 ]; then
	a=$(built_of "${expected[0]}")
	b=$(built_of "${expected[1]}")
	tlen=$(($(stat -c %s "$kdir/${expected[1]}") - $(stat -c %s "$b")))
	{
		cat "$a"
		tail -c "$tlen" "$kdir/${expected[1]}"
	} >"$tmp/swapped.ko"
	if "$loader" "$vmlinux" "$tmp/swapped.ko"; then
		fail "loader accepted ${expected[0]} with the proof of ${expected[1]}"
	fi
fi

echo "loader: accepted ${#expected[@]} installed modules, rejected every tampered, unsigned and mismatched one"
