#!/usr/bin/env bash
# Regenerates every known-answer vector's expected outputs with the kernel
# series' own generator and compares them with examples/vectors/*/expected:
# the root as C source, each module's proof file, and the 36 root bytes for
# both byte orders (written here from the generator's C source with awk and
# printf, independently of modhashes). Exits non-zero on any difference.
#
#   tools/check-vectors.sh SEED_PATCH
set -euo pipefail
patch=$(realpath "${1:?usage: check-vectors.sh SEED_PATCH}")
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gen=$("$top/tools/build-seedgen.sh" "$patch" "$work/seed")

# root_bin ROOT_C ORDER: the 36 bytes of .module_hashes (levels in ORDER,
# "le" or "be", then the 32 hash bytes) from the generator's C source.
root_bin() {
	awk -v order="$2" '
		/\.levels *=/ { gsub(/[^0-9]/, "", $0); lv = $0 + 0 }
		/0x[0-9a-f][0-9a-f],/ { for (i = 1; i <= NF; i++) { h = $i; gsub(/[^0-9a-fx]/, "", h); hash = hash "\\x" substr(h, 3) } }
		END {
			b0 = sprintf("\\x%02x", lv % 256); b1 = sprintf("\\x%02x", int(lv / 256) % 256)
			b2 = sprintf("\\x%02x", int(lv / 65536) % 256); b3 = sprintf("\\x%02x", int(lv / 16777216) % 256)
			printf "%s", (order == "le" ? b0 b1 b2 b3 : b3 b2 b1 b0) hash
		}' "$1"
}

fail=0 n=0
for v in "$top"/examples/vectors/n*/; do
	name=$(basename "$v")
	tree=$work/$name
	cp -r "$v" "$tree"
	rm -rf "$tree/expected"
	find "$tree" -name '*.merkle' -delete
	(cd "$tree" && "$gen" root.c .ko) || { echo "FAIL $name: the generator failed" >&2; fail=1; continue; }
	if ! cmp -s "$tree/root.c" "$v/expected/root.c"; then
		echo "FAIL $name: expected/root.c differs from the generator's" >&2
		diff "$v/expected/root.c" "$tree/root.c" >&2 || true
		fail=1
	fi
	for order in le be; do
		printf "$(root_bin "$tree/root.c" $order)" > "$tree/root-$order.bin"
		if ! cmp -s "$tree/root-$order.bin" "$v/expected/root-$order.bin"; then
			echo "FAIL $name: expected/root-$order.bin differs" >&2
			fail=1
		fi
	done
	# Every proof the generator wrote is expected, and nothing else is.
	got=$(cd "$tree" && find . -name '*.merkle' | sort)
	want=$(cd "$v/expected/proofs" 2> /dev/null && find . -name '*.merkle' | sort || true)
	if [ "$got" != "$want" ]; then
		echo "FAIL $name: the generator wrote proofs for other modules than expected/proofs holds" >&2
		diff <(echo "$want") <(echo "$got") >&2 || true
		fail=1
	fi
	for p in $got; do
		n=$((n + 1))
		cmp -s "$tree/$p" "$v/expected/proofs/$p" || { echo "FAIL $name: expected/proofs/${p#./} differs" >&2; fail=1; }
	done
done
[ $fail = 0 ] || exit 1
echo "check-vectors: $(ls -d "$top"/examples/vectors/n*/ | wc -l) vectors, $n proofs and every root equal the generator's"
