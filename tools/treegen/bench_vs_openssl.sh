#!/usr/bin/env bash
# Side-by-side benchmark of `modhashes tree` against what the reference
# generator costs: one single-threaded SHA-256 pass over every module with
# OpenSSL (SHA-NI where the CPU has it). Prints both medians, their ratio and
# modhashes' peak RSS.
#
#   tools/treegen/bench_vs_openssl.sh OBJTREE [ROUNDS]
#
# OBJTREE holds modules.order and the modules (e.g. the Debian corpus that
# examples/corpus/fetch.sh unpacks). The page cache is warmed first so both
# sides read from memory.
set -euo pipefail
objtree=${1:?usage: bench_vs_openssl.sh OBJTREE [ROUNDS]}
rounds=${2:-5}
top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$top" && go build -o "$work/modhashes" ./tools/modhashes)
sed 's/\.[^./]*$/.ko/' "$objtree/modules.order" > "$work/files"
bytes=$(cd "$objtree" && xargs -a "$work/files" cat | wc -c)

now() { date +%s%N; }
: > "$work/openssl.ns"; : > "$work/tree.ns"; : > "$work/rss.kb"
for _ in $(seq "$rounds"); do
	t0=$(now)
	(cd "$objtree" && xargs -a "$work/files" openssl dgst -sha256 > /dev/null)
	echo $(( $(now) - t0 )) >> "$work/openssl.ns"
	rm -rf "$work/proofs"
	t0=$(now)
	/usr/bin/time -f %M -o "$work/rss" "$work/modhashes" tree --objtree "$objtree" \
		--proof-dir "$work/proofs" --root-c "$work/root.c"
	echo $(( $(now) - t0 )) >> "$work/tree.ns"
	cat "$work/rss" >> "$work/rss.kb"
done

median() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
o=$(median "$work/openssl.ns"); t=$(median "$work/tree.ns")
rss=$(sort -n "$work/rss.kb" | tail -n1)
awk -v o="$o" -v t="$t" -v rss="$rss" -v b="$bytes" -v n="$(wc -l < "$work/files")" -v r="$rounds" 'BEGIN {
	printf "modules: %d, %.0f MB, %d rounds (median)\n", n, b/1e6, r
	printf "openssl dgst -sha256 (1 thread): %7.3f s  %6.0f MB/s\n", o/1e9, b/(o/1e9)/1e6
	printf "modhashes tree (proofs + root):  %7.3f s  %6.0f MB/s\n", t/1e9, b/(t/1e9)/1e6
	printf "speed-up over openssl: %.2fx (goal >= 1.70x)\n", o/t
	printf "modhashes peak RSS: %.1f MB (goal < 64 MB)\n", rss/1024
}'
