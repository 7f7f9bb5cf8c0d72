#!/usr/bin/env bash
# Side-by-side benchmarks of modhashes against the seed's way of doing the
# same work, on a real module corpus and a real vmlinux.unstripped. Each case
# alternates the two sides and the work's floor (the least the machine needs
# for it, measured by tools/internal/benchfloor or cp), round by round, after
# a warm-up round, and prints the medians, the speed-up over the seed's way
# next to the issue's goal, and modhashes' time as a multiple of the floor.
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
# cases on the whole corpus, about half a minute per round, E2E_ROUNDS
# (default 3, no warm-up: the caches are warm by then) for
# E2E_COMPRESSIONS (default zstd; also gzip, xz, none); xz end to end, where
# both sides spend most of their time in the same xz runs, on a subset
# (every 28th module) XZ_ROUNDS (default 3, no warm-up; 0 skips it) times;
# BENCH_TMP (default /var/tmp), the work directory's parent. No output is
# removed before the end (see e2e below): the work directory grows to about
# 4 GB.
set -euo pipefail
patch=${1:?usage: bench.sh SEED_PATCH OBJTREE [VMLINUX_UNSTRIPPED]}
objtree=$(cd "${2:?usage: bench.sh SEED_PATCH OBJTREE [VMLINUX_UNSTRIPPED]}" && pwd)
vmlinux=${3:-}
rounds=${ROUNDS:-5}
xz_rounds=${XZ_ROUNDS:-3}
e2e_rounds=${E2E_ROUNDS:-3}
e2e_comps=${E2E_COMPRESSIONS:-zstd}
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
(cd "$top" && go build -o "$work/modhashes" ./tools/modhashes && go build -o "$work/benchfloor" ./tools/internal/benchfloor)
mh=$work/modhashes
bf=$work/benchfloor

# The seed's generator, built as kbuild builds it (tools/build-seedgen.sh).
seedgen=$("$top/tools/build-seedgen.sh" "$patch" "$work/seed")

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
sed 's/\.[^./]*$/.ko/' "$work/order.a" > "$work/kolist"
sed 's/\.[^./]*$/.merkle/' "$work/order.a" > "$work/prooflist"
bytes=$(cd "$objtree" && sed 's/\.[^./]*$/.ko/' modules.order | xargs cat | wc -c)
# Warm the page cache: both sides read from memory.
(cd "$work/built" && sed 's/\.[^./]*$/.ko/' modules.order | xargs cat > /dev/null)

now() { date +%s%N; }
# Every measurement starts with nothing left to write back: otherwise the
# kernel writes back (and discards) what the previous run left, on one of
# the cores of the run being timed. A run's own write-back is not timed.
# floor NAME CMD...: a benchfloor measurement (ns, into $work/NAME.ns).
floor() {
	local name=$1
	shift
	sync
	"$@" >> "$work/$name.ns"
}
# run NAME CMD...: time one run (ns, into $work/NAME.ns) and its peak RSS (KiB).
run() {
	local name=$1 t0
	shift
	sync
	t0=$(now)
	/usr/bin/time -f %M -o "$work/rss" "$@"
	echo $(($(now) - t0)) >> "$work/$name.ns"
	cat "$work/rss" >> "$work/$name.kb"
}
median() { sort -g "$1" | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
# report LABEL SEED OURS GOAL [FLOOR...]: medians, the speed-up seed/ours,
# and ours as a multiple of the floor: the largest of the FLOOR medians,
# or their sum when FLOOR is "sum" followed by names.
report() {
	local fl=0 f op=max
	if [ $# -gt 4 ]; then
		[ "$5" = sum ] && op=sum
		for f in "${@:5}"; do
			[ "$f" = sum ] && continue
			fl=$(awk -v a="$fl" -v b="$(median "$work/$f.ns")" -v op=$op 'BEGIN {print (op == "sum") ? a + b : (a > b ? a : b)}')
		done
	fi
	awk -v l="$1" -v s="$(median "$work/$2.ns")" -v o="$(median "$work/$3.ns")" -v g="$4" -v n="$(wc -l < "$work/$3.ns")" -v f="$fl" 'BEGIN {
		printf "%-40s seed %7.3f s  modhashes %7.3f s  %5.2fx (goal %s)", l, s / 1e9, o / 1e9, s / o, g
		if (f > 0) printf "  floor %6.3f s  %4.2fx floor", f / 1e9, o / f
		printf "  (median of %d)\n", n }'
}
# floors LABEL NAME...: a floor's medians, for the record.
floors() {
	local l=$1 f
	shift
	printf '  floor %s:' "$l"
	for f in "$@"; do printf ' %s %.3f s' "$f" "$(median "$work/$f.ns" | awk '{print $1 / 1e9}')"; done
	echo
}
peak() { sort -n "$work/$1.kb" | tail -n1 | awk '{printf "%.1f MB", $1 / 1024}'; }
reset() { rm -f "$work"/*.ns "$work"/*.kb; }

printf 'modules: %d, %.0f MB; %d CPUs; %d rounds after a warm-up\n\n' "$nmod" "$(echo "$bytes / 1000000" | bc -l)" "$(nproc)" "$rounds"

# --- tree: the seed's generator vs modhashes tree -------------------------
# Same results first: both on order A.
# The seed writes its proofs next to the modules, modhashes into a
# --proof-dir here: every proof must be the same bytes.
(cd "$work/obj" && "$seedgen" seed-root.c .ko && "$mh" tree --proof-dir "$work/mhproofs" mh-root.c .ko)
cmp -s "$work/obj/seed-root.c" "$work/obj/mh-root.c" || { echo "tree: root differs from the seed generator's" >&2; exit 1; }
seedsum=$(cd "$work/obj" && xargs cat < "$work/prooflist" | sha256sum)
mhsum=$(cd "$work/mhproofs" && xargs cat < "$work/prooflist" | sha256sum)
[ "$seedsum" = "$mhsum" ] || { echo "tree: proofs differ from the seed generator's" >&2; exit 1; }
echo "tree: root and all $nmod proofs byte for byte the seed generator's"
proofsize=$(stat -c %s "$work/mhproofs/$(head -n1 "$work/prooflist")")
rm "$work/obj/seed-root.c" "$work/obj/mh-root.c"

echo "== tree"
"$bf" create "$work/ow" "$work/prooflist" "$proofsize" > /dev/null # for the overwrite floor
reset
for r in $(seq 0 "$rounds"); do
	# kbuild's case: proofs of the other order next to the modules.
	cp "$work/order.a" "$work/obj/modules.order"
	(cd "$work/obj" && run seed "$seedgen" .tmp_module_hashes.c .ko)
	cp "$work/order.b" "$work/obj/modules.order"
	(cd "$work/obj" && run ours "$mh" tree .tmp_module_hashes.c .ko)
	floor hash "$bf" hash "$work/obj" "$work/kolist"
	floor overwrite "$bf" overwrite "$work/ow" "$work/prooflist" "$proofsize"
	[ "$r" = 0 ] && reset
done
report "proofs present (kbuild's case)" seed ours ">= 2.5x" hash overwrite
floors "max of" hash overwrite
echo "  modhashes tree peak RSS: $(peak ours)"

# Bazel's case: no proof exists yet. The seed writes next to the modules of
# a fresh hard-linked tree, modhashes into a fresh --proof-dir.
reset
for r in $(seq 0 "$rounds"); do farm "$work/fresh$r"; done
for r in $(seq 0 "$rounds"); do
	(cd "$work/fresh$r" && run seed "$seedgen" .tmp_module_hashes.c .ko)
	run ours "$mh" tree --objtree "$work/obj" --order "$work/order.a" --proof-dir "$work/pd$r" --root-c "$work/pd$r.c"
	floor hash "$bf" hash "$work/obj" "$work/kolist"
	floor create "$bf" create "$work/cf$r" "$work/prooflist" "$proofsize"
	[ "$r" = 0 ] && reset
done
report "no proofs yet (fresh --proof-dir)" seed ours ">= 2x" hash create
floors "max of" hash create
cmp -s "$work/fresh0/.tmp_module_hashes.c" "$work/pd0.c" || { echo "tree --proof-dir: root differs" >&2; exit 1; }

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
# modhashes' default encoder (zstd: built-in; gzip, xz: the system's
# programs), and the other one (zstd: --system-encoder; gzip, xz:
# --builtin-encoder).
declare -A other=([gzip]=--builtin-encoder [xz]=--builtin-encoder [zstd]=--system-encoder)
for comp in gzip xz zstd; do
	kbuild_install "$work/order.sub" "$work/subproofs" "$work/k-$comp" "$comp"
	"$mh" install -j 2 --objtree "$work/obj" --order "$work/order.sub" --proof-dir "$work/subproofs" \
		--dest "$work/m-$comp" --kernel-release bench --compress "$comp" --root-c "$work/sub.c" | sed 's/.*), /  default encoder: /'
	"$mh" install -q -j 2 --objtree "$work/obj" --order "$work/order.sub" --proof-dir "$work/subproofs" \
		--dest "$work/b-$comp" --kernel-release bench --compress "$comp" --root-c "$work/sub.c" "${other[$comp]}"
	k=$(find "$work/k-$comp" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
	m=$(find "$work/m-$comp/lib/modules/bench/kernel" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
	b=$(find "$work/b-$comp/lib/modules/bench/kernel" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
	differ() { (cd "$work/k-$comp" && find . -type f | while read -r f; do cmp -s "$f" "$1/lib/modules/bench/$f" || echo "$f"; done | wc -l); }
	awk -v c="$comp" -v k="$k" -v m="$m" -v b="$b" -v d="$(differ "$work/m-$comp")" -v bd="$(differ "$work/b-$comp")" -v o="${other[$comp]}" 'BEGIN {
		printf "%-5s kbuild %6.1f MB  default %6.1f MB %+5.2f%% (goal within 1%%; %d files differ)  %s %6.1f MB %+5.2f%% (%d differ)\n",
			c, k / 1e6, m / 1e6, 100 * (m - k) / k, d, o, b / 1e6, 100 * (b - k) / k, bd }'
done

# --- install: kbuild's per-module recipe vs install -----------------------
# The same subset, zstd: the seed's way (scripts/Makefile.modinst's recipe,
# 2 jobs), install with its default encoder, and the floor: the same
# modules with their proofs compressed in memory by the same encoder on all
# cores.
sed 's/\.[^./]*$/.ko/' "$work/order.sub" > "$work/sub.kolist"
mkdir "$work/subfull"
while read -r m; do mkdir -p "$work/subfull/$(dirname "$m")"; cat "$work/obj/$m.ko" "$work/subproofs/$m.merkle" > "$work/subfull/$m.ko"; done < <(sed 's/\.[^./]*$//' "$work/order.sub")
echo
echo "== install --compress zstd, $(wc -l < "$work/order.sub") modules"
reset
for r in $(seq 0 "$rounds"); do
	run seed env OBJ="$work/obj" "$work/kbuild-install" "$work/order.sub" "$work/subproofs" "$work/k-i$r" zstd
	run ours "$mh" install -q -j 2 --objtree "$work/obj" --order "$work/order.sub" --proof-dir "$work/subproofs" \
		--dest "$work/m-i$r" --kernel-release bench --compress zstd --root-c "$work/sub.c"
	floor compress "$bf" compress zstd "$work/subfull" "$work/sub.kolist"
	[ "$r" = 0 ] && reset
done
report "install --compress zstd" seed ours "-" compress
echo "  install peak RSS: $(peak ours)"

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
# A new output file each round: replacing the previous round's, written
# back by the sync before each run, would free its blocks and time the
# file system's discards of them too (ext4 mounted with discard).
for r in $(seq 0 "$rounds"); do
	run seed "$work/kbuild-objcopy" "$vmlinux" "$work/fin/seed$r.out"
	run ours "$mh" finalize --root-c "$work/fin/root.c" "$vmlinux" "$work/fin/ours$r.out"
	run cp cp "$vmlinux" "$work/fin/cp$r.out"
	[ "$r" = 0 ] && reset
done
report "finalize vs kbuild's objcopy runs" seed ours ">= 5x" cp
echo "  finalize peak RSS: $(peak ours) (goal < 64 MB)"

# --- end to end: everything after vmlinux.unstripped ----------------------
# The seed's way: its generator (proofs of the previous build present), the
# objcopy runs above, and scripts/Makefile.modinst's per-module recipe with
# 2 jobs. modhashes: tree, finalize, install -j 2. Both from the same object
# tree, alternating orders A and B as in the tree case. The floor is the sum
# of the parts' floors: SHA-256 of the modules on all cores, cp of vmlinux,
# and compressing the modules in memory on all cores (zstd: the built-in
# encoder; xz, gzip: the system's program, one process per core over its
# share of the modules, the least that program's bytes cost).
# xz, whose LZMA work takes minutes on the whole corpus, runs on a subset:
# every 28th module of modules.order (152 modules, 15 MB of Debian's 4,230,
# sizes spread as in the whole), in an object tree of its own.
awk 'NR % 28 == 1' "$work/order.a" > "$work/order.xz"
sed 's/\.[^./]*$/.ko/' "$work/order.xz" > "$work/xz.kolist"
mkdir "$work/objxz"
(cd "$work/obj" && xargs cp --parents -l -t "$work/objxz" < "$work/xz.kolist")
awk 'NR == 1 {first = $0; next} NR == 2 {print; print first; next} {print}' "$work/order.xz" > "$work/order.xzb"
declare -A kbuild_comp=([gzip]="gzip -n" [xz]="xz --check=crc32 --lzma2=dict=1MiB")
e2e() { # COMP ROUNDS FIRST (0: with a warm-up round) OBJ ORDER_A ORDER_B KOLIST
	local comp=$1 n=$2 first=$3 obj=$4 oa=$5 ob=$6 kolist=$7
	reset
	for r in $(seq "$first" "$n"); do
		# Each side installs into a directory of its own, and nothing is
		# removed before the end: on a file system without a journal,
		# ext4 skips inodes freed in the last minutes when it allocates
		# new ones, so removing thousands of files makes creating the next
		# thousands several times slower, whoever creates them.
		cp "$oa" "$obj/modules.order"
		cat > "$work/seedway" <<-EOS
			#!/bin/sh -e
			cd "$obj" && "$seedgen" .tmp_module_hashes.c .ko
			"$work/kbuild-objcopy" "$vmlinux" "$work/fin/seed-$comp$r.out"
			OBJ="$obj" "$work/kbuild-install" "$oa" "$obj" "$work/dest-seed-$comp$r" $comp
		EOS
		run seed sh "$work/seedway"
		cp "$ob" "$obj/modules.order"
		cat > "$work/ourway" <<-EOS
			#!/bin/sh -e
			"$mh" tree --objtree "$obj" --root-c "$work/fin/root.c"
			"$mh" finalize --root-c "$work/fin/root.c" "$vmlinux" "$work/fin/ours-$comp$r.out"
			"$mh" install -q -j 2 --objtree "$obj" --dest "$work/dest-ours-$comp$r" --kernel-release bench --compress $comp --root-c "$work/fin/root.c"
		EOS
		run ours sh "$work/ourway"
		floor hash "$bf" hash "$obj" "$kolist"
		run cp cp "$vmlinux" "$work/fin/cp-$comp$r.out"
		case $comp in
		zstd) floor compress "$bf" compress zstd "$obj" "$kolist" ;;
		xz | gzip)
			# One process per core, each over a share of the modules
			# of about the same size (largest first, each to the
			# lightest share): shares of as many modules each would
			# leave one process compressing the big ones alone.
			local t0 b
			(cd "$obj" && xargs stat -c '%s %n' < "$kolist") | sort -rn |
				awk -v n="$(nproc)" -v dir="$work" '{ b = 0; for (i = 1; i < n; i++) if (load[i] < load[b]) b = i
					load[b] += $1; print $2 > (dir "/share" b) }'
			sync
			t0=$(now)
			for b in "$work"/share*; do
				(cd "$obj" && xargs ${kbuild_comp[$comp]} -c < "$b" > /dev/null) &
			done
			wait
			echo $(($(now) - t0)) >> "$work/compress.ns"
			rm "$work"/share*
			;;
		*) echo 0 >> "$work/compress.ns" ;;
		esac
		if [ "$r" = 0 ]; then reset; fi
	done
}
echo
echo "== end to end: tree + finalize + install, $nmod modules and $(basename "$vmlinux")"
declare -A e2e_goal=([none]="-" [gzip]="-" [zstd]=">= 5x" [xz]=">= 2x")
for comp in $e2e_comps; do
	e2e "$comp" "$e2e_rounds" "${E2E_FIRST:-1}" "$work/obj" "$work/order.a" "$work/order.b" "$work/kolist"
	report "$comp ($nmod modules)" seed ours "${e2e_goal[$comp]}" sum hash cp compress
	floors "sum of" hash cp compress
done
if [ "$xz_rounds" -gt 0 ]; then
	# The caches are warm by now: no warm-up round.
	e2e xz "$xz_rounds" 1 "$work/objxz" "$work/order.xz" "$work/order.xzb" "$work/xz.kolist"
	report "xz ($(wc -l < "$work/order.xz") modules)" seed ours "${e2e_goal[xz]}" sum hash cp compress
	floors "sum of" hash cp compress
fi
