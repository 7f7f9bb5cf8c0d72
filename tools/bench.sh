#!/usr/bin/env bash
# Side-by-side benchmarks of modhashes against the seed's way of doing the
# same work, on a real module corpus and a real vmlinux.unstripped. Each case
# alternates the two sides, round by round, after a warm-up round, and prints
# both medians and their ratio next to the issue's goal.
#
#   tools/bench.sh SEED_PATCH OBJTREE [VMLINUX_UNSTRIPPED]
#
# SEED_PATCH is the module hashes series (a patch file); its generator,
# scripts/modules-merkle-tree.c, is extracted and compiled here with the
# system's OpenSSL, never stored in the repository. OBJTREE holds
# modules.order and the modules (examples/corpus/fetch.sh). Without
# VMLINUX_UNSTRIPPED the finalize and end-to-end cases are skipped.
#
# Environment: ROUNDS (default 5) timed rounds per case; the end-to-end
# cases, each about a minute or more per run, E2E_ROUNDS (default 3) for
# E2E_COMPRESSIONS (default "zstd xz"; also gzip, none), and XZ_ROUNDS
# (default 1, no warm-up) for xz, where both sides spend minutes in the
# same xz runs; BENCH_TMP (default /var/tmp), the work directory's parent.
set -euo pipefail
patch=${1:?usage: bench.sh SEED_PATCH OBJTREE [VMLINUX_UNSTRIPPED]}
objtree=$(cd "${2:?usage: bench.sh SEED_PATCH OBJTREE [VMLINUX_UNSTRIPPED]}" && pwd)
vmlinux=${3:-}
rounds=${ROUNDS:-5}
xz_rounds=${XZ_ROUNDS:-1}
e2e_rounds=${E2E_ROUNDS:-3}
e2e_comps=${E2E_COMPRESSIONS:-zstd xz}
top=$(cd "$(dirname "$0")/.." && pwd)

need=()
for p in gcc:gcc pkg-config:pkg-config objcopy:binutils xz:xz-utils zstd:zstd gzip:gzip /usr/bin/time:time; do
	command -v "${p%%:*}" > /dev/null || need+=("${p#*:}")
done
[ -f /usr/include/openssl/evp.h ] || need+=(libssl-dev)
if [ ${#need[@]} -gt 0 ]; then
	echo "installing ${need[*]}" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" > /dev/null
fi

work=$(mktemp -d -p "${BENCH_TMP:-/var/tmp}" modhashes-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
(cd "$top" && go build -o "$work/modhashes" ./tools/modhashes)
mh=$work/modhashes

# The seed's generator, built as kbuild builds it (HOSTCC -O2, libcrypto).
# Its "ssl-common.h" (from the kernel's scripts/) is not in the series: the
# stand-in defines the one macro it uses, and EVP_MD_CTX_get_size_ex for
# OpenSSL before 3.4.
mkdir "$work/seed"
awk 'f && /^diff --git/ {exit} f && /^\+/ {print substr($0, 2)} /^\+\+\+ b\/scripts\/modules-merkle-tree\.c$/ {f=1}' \
	"$patch" > "$work/seed/modules-merkle-tree.c"
[ -s "$work/seed/modules-merkle-tree.c" ] || { echo "no scripts/modules-merkle-tree.c in $patch" >&2; exit 1; }
cat > "$work/seed/ssl-common.h" <<'EOF'
#include <err.h>
#include <openssl/err.h>
#define ERR(cond, ...) do { if (cond) { ERR_print_errors_fp(stderr); errx(1, __VA_ARGS__); } } while (0)
#ifndef EVP_MD_CTX_get_size_ex
#define EVP_MD_CTX_get_size_ex(ctx) EVP_MD_CTX_get_size(ctx)
#endif
EOF
gcc -O2 -I"$work/seed" $(pkg-config --cflags libcrypto) -o "$work/seed/modules-merkle-tree" \
	"$work/seed/modules-merkle-tree.c" $(pkg-config --libs libcrypto)
seedgen=$work/seed/modules-merkle-tree

# The object tree of modules as built: distributions sign their modules
# (PKCS#7 trailers), kbuild hashes them unsigned. Then hard-linked copies of
# it, so that proofs written next to the modules stay apart. Order B swaps
# the first two modules: its tree differs from order A's in every proof, so
# a run after the other order's run rewrites every proof file (same size),
# as a rebuild does.
mkdir "$work/unsign" "$work/built"
cat > "$work/unsign/main.go" <<'EOF'
// Copies modules without their appended signature: unsign SRC DST < list.
package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"log"
	"os"
	"path/filepath"
)

func main() {
	marker := []byte("~Module signature appended~\n")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		b, err := os.ReadFile(filepath.Join(os.Args[1], in.Text()))
		if err != nil {
			log.Fatal(err)
		}
		if n := len(b) - len(marker) - 12; n > 0 && bytes.HasSuffix(b, marker) {
			b = b[:n-int(binary.BigEndian.Uint32(b[n+8:]))]
		}
		dst := filepath.Join(os.Args[2], in.Text())
		os.MkdirAll(filepath.Dir(dst), 0o755)
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
EOF
sed 's/\.[^./]*$/.ko/' "$objtree/modules.order" | (cd "$work/unsign" && GOFLAGS= go run main.go "$objtree" "$work/built")
cp "$objtree/modules.order" "$work/built/"
objtree=$work/built
farm() { cp -al "$objtree/." "$1" && rm "$1/modules.order" && cp "$objtree/modules.order" "$1/"; }
farm "$work/obj"
cp "$objtree/modules.order" "$work/order.a"
awk 'NR == 1 {first = $0; next} NR == 2 {print; print first; next} {print}' "$objtree/modules.order" > "$work/order.b"
nmod=$(wc -l < "$work/order.a")
bytes=$(cd "$objtree" && sed 's/\.[^./]*$/.ko/' modules.order | xargs cat | wc -c)
# Warm the page cache: both sides read from memory.
(cd "$work/built" && sed 's/\.[^./]*$/.ko/' modules.order | xargs cat > /dev/null)

now() { date +%s%N; }
# run NAME CMD...: time one run (ns, into $work/NAME.ns) and its peak RSS (KiB).
run() {
	local name=$1 t0
	shift
	t0=$(now)
	/usr/bin/time -f %M -o "$work/rss" "$@"
	echo $(($(now) - t0)) >> "$work/$name.ns"
	cat "$work/rss" >> "$work/$name.kb"
}
median() { sort -g "$1" | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
# report LABEL SEED OURS GOAL: medians and the speed-up seed/ours.
report() {
	awk -v l="$1" -v s="$(median "$work/$2.ns")" -v o="$(median "$work/$3.ns")" -v g="$4" -v n="$(wc -l < "$work/$3.ns")" 'BEGIN {
		printf "%-44s seed %7.3f s  modhashes %7.3f s  %5.2fx  (goal %s; median of %d)\n", l, s / 1e9, o / 1e9, s / o, g, n }'
}
peak() { sort -n "$work/$1.kb" | tail -n1 | awk '{printf "%.1f MB", $1 / 1024}'; }
reset() { rm -f "$work"/*.ns "$work"/*.kb; }

printf 'modules: %d, %.0f MB; %d CPUs; %d rounds after a warm-up\n\n' "$nmod" "$(echo "$bytes / 1000000" | bc -l)" "$(nproc)" "$rounds"

# --- tree: the seed's generator vs modhashes tree -------------------------
# Same results first: both on order A.
(cd "$work/obj" && "$seedgen" seed-root.c .ko && "$mh" tree mh-root.c .ko)
cmp -s "$work/obj/seed-root.c" "$work/obj/mh-root.c" || { echo "tree: root differs from the seed generator's" >&2; exit 1; }
rm -f "$work/obj/seed-root.c" "$work/obj/mh-root.c"

echo "== tree"
reset
for r in $(seq 0 "$rounds"); do
	# kbuild's case: proofs of the other order next to the modules.
	cp "$work/order.a" "$work/obj/modules.order"
	(cd "$work/obj" && run seed "$seedgen" .tmp_module_hashes.c .ko)
	cp "$work/order.b" "$work/obj/modules.order"
	(cd "$work/obj" && run ours "$mh" tree .tmp_module_hashes.c .ko)
	[ "$r" = 0 ] && reset
done
report "proofs present (kbuild's case)" seed ours ">= 2.5x"
echo "  modhashes tree peak RSS: $(peak ours)"

# Bazel's case: no proof exists yet. The seed writes next to the modules of
# a fresh hard-linked tree, modhashes into a fresh --proof-dir.
reset
for r in $(seq 0 "$rounds"); do farm "$work/fresh$r"; done
for r in $(seq 0 "$rounds"); do
	(cd "$work/fresh$r" && run seed "$seedgen" .tmp_module_hashes.c .ko)
	run ours "$mh" tree --objtree "$work/obj" --order "$work/order.a" --proof-dir "$work/pd$r" --root-c "$work/pd$r.c"
	[ "$r" = 0 ] && reset
done
report "no proofs yet (fresh --proof-dir)" seed ours ">= 2x"
cmp -s "$work/fresh0/.tmp_module_hashes.c" "$work/pd0.c" || { echo "tree --proof-dir: root differs" >&2; exit 1; }
rm -rf "$work"/fresh* "$work"/pd*

# --- compression: kbuild's per-module commands vs install ----------------
# 600 modules, every seventh of modules.order, with their proofs.
awk 'NR % 7 == 1' "$work/order.a" | head -n 600 > "$work/order.sub"
"$mh" tree --objtree "$work/obj" --order "$work/order.sub" --proof-dir "$work/subproofs" --root-c "$work/sub.c"
# kbuild-install ORDER PROOFS DEST COMP: scripts/Makefile.modinst's recipe
# per module (cp, append the proof, compress with kbuild's options), 2 jobs.
cat > "$work/kbuild-install" <<'EOF'
#!/bin/sh -e
case $4 in
gzip) comp="gzip -n -f" ;;
xz) comp="xz --check=crc32 --lzma2=dict=1MiB -f" ;;
zstd) comp="zstd -T0 --rm -f -q" ;;
*) comp= ;;
esac
sed 's/\.[^./]*$//' "$1" | COMP=$comp xargs -P 2 -I{} sh -c '
	mkdir -p "$(dirname "$3/{}.ko")" && cp "$1/{}.ko" "$3/{}.ko" && cat "$2/{}.merkle" >> "$3/{}.ko" &&
	if [ -n "$COMP" ]; then $COMP "$3/{}.ko"; fi' sh "$OBJ" "$2" "$3"
EOF
chmod +x "$work/kbuild-install"
kbuild_install() { OBJ=$work/obj "$work/kbuild-install" "$@"; }
echo
echo "== install --compress: total size vs kbuild's, $(wc -l < "$work/order.sub") modules"
for comp in gzip xz zstd; do
	kbuild_install "$work/order.sub" "$work/subproofs" "$work/k-$comp" "$comp"
	"$mh" install -q -j 2 --objtree "$work/obj" --order "$work/order.sub" --proof-dir "$work/subproofs" \
		--dest "$work/m-$comp" --kernel-release bench --compress "$comp" --root-c "$work/sub.c"
	"$mh" install -q -j 2 --objtree "$work/obj" --order "$work/order.sub" --proof-dir "$work/subproofs" \
		--dest "$work/b-$comp" --kernel-release bench --compress "$comp" --root-c "$work/sub.c" --builtin-encoder
	k=$(find "$work/k-$comp" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
	m=$(find "$work/m-$comp/lib/modules/bench/kernel" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
	b=$(find "$work/b-$comp/lib/modules/bench/kernel" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
	same=$(cd "$work/k-$comp" && find . -type f | while read -r f; do cmp -s "$f" "$work/m-$comp/lib/modules/bench/$f" || echo "$f"; done | wc -l)
	awk -v c="$comp" -v k="$k" -v m="$m" -v b="$b" -v d="$same" 'BEGIN {
		printf "%-5s kbuild %6.1f MB  install %6.1f MB  %+5.2f%% (goal within 1%%; %d files differ)  built-in encoder %6.1f MB %+5.1f%%\n",
			c, k / 1e6, m / 1e6, 100 * (m - k) / k, d, b / 1e6, 100 * (b - k) / k }'
	rm -rf "$work/k-$comp" "$work/m-$comp" "$work/b-$comp"
done

[ -n "$vmlinux" ] || { echo "no VMLINUX_UNSTRIPPED: finalize and end-to-end cases skipped"; exit 0; }

# --- finalize: kbuild's objcopy runs vs finalize --------------------------
# kbuild with the series (scripts/Makefile.vmlinux): --dump-section of the
# compiled root (the compiler run is not counted), then the two runs that
# make vmlinux, the second one with --update-section. (Byte identity with
# objcopy is tested by tools/finalize's tests.)
mkdir "$work/fin"
objcopy_flags1=(--set-section-flags .modinfo=noload --set-section-flags '.rel*=noload'
	--set-section-flags '!.rel*.dyn=noload' --set-section-flags '.rel.*=noload')
objcopy_flags2=(--remove-section=.modinfo '--remove-section=.rel*' '--remove-section=!.rel*.dyn'
	'--remove-section=.rel.*' -w '--strip-unneeded-symbol=__mod_device_table__*')
"$mh" tree --objtree "$work/obj" --order "$work/order.a" --proof-dir "$work/fin/proofs" --root-c "$work/fin/root.c" --root-bin "$work/fin/root.bin" --target "$vmlinux"
printf '.section .module_hashes,"a"\n.incbin "%s"\n' "$work/fin/root.bin" | as -o "$work/fin/root.o" -
cat > "$work/kbuild-objcopy" <<EOF
#!/bin/sh -e
# kbuild-objcopy IN OUT
objcopy --dump-section .module_hashes="$work/fin/dumped.bin" "$work/fin/root.o"
objcopy ${objcopy_flags1[*]@Q} "\$1" "\$2"
objcopy ${objcopy_flags2[*]@Q} --update-section .module_hashes="$work/fin/dumped.bin" "\$2"
EOF
chmod +x "$work/kbuild-objcopy"
echo
echo "== finalize: $(basename "$vmlinux"), $(($(stat -c %s "$vmlinux") / 1000000)) MB"
reset
for r in $(seq 0 "$rounds"); do
	run seed "$work/kbuild-objcopy" "$vmlinux" "$work/fin/seed.out"
	run ours "$mh" finalize --root-c "$work/fin/root.c" "$vmlinux" "$work/fin/ours.out"
	[ "$r" = 0 ] && reset
done
report "finalize vs kbuild's objcopy runs" seed ours ">= 5x"
echo "  finalize peak RSS: $(peak ours) (goal < 64 MB)"

# --- end to end: everything after vmlinux.unstripped ----------------------
# The seed's way: its generator (proofs of the previous build present), the
# objcopy runs above, and scripts/Makefile.modinst's per-module recipe with
# 2 jobs. modhashes: tree, finalize, install -j 2. Both from the same object
# tree, alternating orders A and B as in the tree case.
e2e() { # COMP ROUNDS FIRST (0: with a warm-up round)
	local comp=$1 n=$2 first=$3
	reset
	for r in $(seq "$first" "$n"); do
		rm -rf "$work/dest"
		cp "$work/order.a" "$work/obj/modules.order"
		cat > "$work/seedway" <<-EOS
			#!/bin/sh -e
			cd "$work/obj" && "$seedgen" .tmp_module_hashes.c .ko
			"$work/kbuild-objcopy" "$vmlinux" "$work/fin/seed.out"
			OBJ="$work/obj" "$work/kbuild-install" "$work/order.a" "$work/obj" "$work/dest" $comp
		EOS
		run seed sh "$work/seedway"
		rm -rf "$work/dest"
		cp "$work/order.b" "$work/obj/modules.order"
		cat > "$work/ourway" <<-EOS
			#!/bin/sh -e
			"$mh" tree --objtree "$work/obj" --root-c "$work/fin/root.c"
			"$mh" finalize --root-c "$work/fin/root.c" "$vmlinux" "$work/fin/ours.out"
			"$mh" install -q -j 2 --objtree "$work/obj" --dest "$work/dest" --kernel-release bench --compress $comp --root-c "$work/fin/root.c"
		EOS
		run ours sh "$work/ourway"
		[ "$r" = 0 ] && reset
	done
	rm -rf "$work/dest"
}
echo
echo "== end to end: tree + finalize + install, $nmod modules and $(basename "$vmlinux")"
declare -A e2e_goal=([none]="-" [gzip]="-" [zstd]=">= 2x" [xz]=">= 1x")
for comp in $e2e_comps; do
	# xz: minutes a run, the caches are warm by now: no warm-up round.
	if [ "$comp" = xz ]; then e2e xz "$xz_rounds" 1; else e2e "$comp" "$e2e_rounds" "${E2E_FIRST:-0}"; fi
	report "$comp" seed ours "${e2e_goal[$comp]}"
done
