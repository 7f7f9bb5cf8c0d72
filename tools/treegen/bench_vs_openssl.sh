#!/usr/bin/env bash
# Side-by-side benchmark of `modhashes tree` against what the reference
# generator's hashing costs: one single-threaded SHA-256 pass over every
# module with OpenSSL (SHA-NI where the CPU has it). Prints both medians, the
# ratio for the whole command and for its hashing phase, and peak RSS.
#
#   tools/treegen/bench_vs_openssl.sh OBJTREE [ROUNDS]
#
# OBJTREE holds modules.order and the modules (examples/corpus/fetch.sh). The
# page cache is warmed first so both sides read from memory. Each round writes
# its proofs into a new directory and all are removed at the end: on ext4,
# creating thousands of files right after deleting thousands is several times
# slower, which would measure the file system, not the tool.
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
for r in $(seq 0 "$rounds"); do
	t0=$(now)
	(cd "$objtree" && xargs -a "$work/files" openssl dgst -sha256 > /dev/null)
	t1=$(now)
	/usr/bin/time -f %M -o "$work/rss" "$work/modhashes" tree --verbose --objtree "$objtree" \
		--proof-dir "$work/proofs$r" --root-c "$work/root.c" 2> "$work/phases"
	t2=$(now)
	[ "$r" = 0 ] && continue # warm-up round
	echo $((t1 - t0)) >> "$work/openssl.ns"
	echo $((t2 - t1)) >> "$work/tree.ns"
	sed -n 's/^hashed [0-9]* modules in \([0-9.]*\)s.*/\1/p' "$work/phases" >> "$work/hash.s"
	cat "$work/rss" >> "$work/rss.kb"
done

median() { sort -g "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
awk -v o="$(median "$work/openssl.ns")" -v t="$(median "$work/tree.ns")" -v h="$(median "$work/hash.s")" \
	-v cpus="$(nproc)" -v rss="$(sort -n "$work/rss.kb" | tail -n1)" -v b="$bytes" -v n="$(wc -l < "$work/files")" -v r="$rounds" 'BEGIN {
	o /= 1e9; t /= 1e9
	printf "modules: %d, %.0f MB, %d rounds (median), %d CPUs\n", n, b/1e6, r, cpus
	printf "openssl dgst -sha256 (1 thread):     %6.3f s  %5.0f MB/s\n", o, b/o/1e6
	printf "modhashes tree, whole command:       %6.3f s  %5.0f MB/s  speed-up %.2fx (goal >= 1.70x)\n", t, b/t/1e6, o/t
	printf "modhashes tree, hashing phase:       %6.3f s  %5.0f MB/s  speed-up %.2fx\n", h, b/h/1e6, o/h
	printf "modhashes tree, proofs written etc.: %6.3f s\n", t - h
	printf "modhashes peak RSS: %.1f MB (goal < 64 MB)\n", rss/1024
}'
