#!/usr/bin/env bash
# examples/linux/bazel.sh [WORKDIR]
#
# The kernel of e2e.sh built by Bazel (//examples/linux: kbuild's stages as
# separate actions, plus the out-of-tree module hello/), checked against
# e2e.sh's Make builds, which run side by side with it:
#
#  1. e2e.sh (WORKDIR/e2e, or E2E_WORK) in the background: its two Make
#     builds and all its checks, in the Bazel chroot, the environment of the
#     rules' actions;
#  2. at the same time a clean Bazel build with bazel-remote as remote cache,
#     timed, and a no-op rebuild, timed; the graph takes Debian's tree as
#     files (kernel_source.srcs, a local_kernel_tree); kernel_source of the
#     tarball must give the same .tar.zst as that of the files, byte for
#     byte, and an edited file must change it;
#  3. boot in QEMU: every module loads with enforcement on, test_static_keys
#     by modprobe with its dependency, the external one too; three bad
#     modules are refused; `modhashes verify` predicted each outcome;
#  4. a clean build from another checkout path executes no action: every one
#     is a remote-cache hit;
#  5. changing hello/'s source re-runs only its build, the module set's copy
#     (kernel_modules_set over the in-tree modules' directory), the tree,
#     finalize, the boot image and the install (the list is printed);
#  6. unsandboxed (standalone strategy, /tmp shared, /tmp/modhashes-kbuild
#     taken): the modules, hello/ and two boot images at once re-run, with
#     the same outputs;
#  7. hermetic: no action's command line or environment names the checkout,
#     the output base or the user; every action is sandboxed (the modules
#     and boot image actions, in kbuild-worker, by Bazel's choice); every kbuild
#     action has the host toolchain's identity (@kernel_host_tools) as input;
#  8. once e2e.sh is done, its tree B (unmodified kbuild, the patches of the
#     rules) gets hello/, the tree, the final vmlinux, bzImage and
#     modules_install by make (make-reference.sh): vmlinux, bzImage, every
#     installed module and depmod's files must be byte-identical to Bazel's;
#  9. edits of the tree as files (BAZEL_SH_EDITS, default "module"; also
#     "builtin" and "header"): an in-tree module's .c re-runs the modules,
#     the tree, finalize, the boot image and the install, but neither the
#     configuration nor vmlinux nor hello/, and kbuild compiles that module
#     and the boot image's objects that depend on vmlinux, nothing else (the
#     module cache, the state's boot objects), both kbuild actions in
#     kbuild-worker's trees of their last run; a built-in .c re-runs vmlinux; a
#     widely included header vmlinux and the modules; each prints the
#     actions that ran and the time, next to make's for the same edit of
#     e2e.sh's tree A; after the edit is undone, Bazel's outputs are the
#     first ones again;
# 10. the wall time of Bazel's clean build over Make's (B's build, which ran
#     side by side with it, plus make-reference.sh).
#
# Leaves WORKDIR/bazel/bzImage and WORKDIR/bazel/lib/modules/<release>/.
# Needs root (apt-get, the chroot) and Go. WORKDIR (default
# /var/tmp/modhashes-bazel-kernel, below /tmp or /var/tmp) takes about 12 GB
# with e2e.sh's; e2e.sh's WORKDIR/cache holds Debian's source package.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=examples/linux/checks.sh
. "$here/checks.sh"
repo=$(cd "$here/../.." && pwd)
work=${1:-/var/tmp/modhashes-bazel-kernel}
e2e_work=${E2E_WORK:-$work/e2e}
bazel=$repo/tools/bazel/bazel
in_chroot=$repo/tools/bazel/chroot
targets=(//examples/linux:bzImage //examples/linux:install //examples/linux:vmlinux)

remote_pid=
e2e_pid=
checkout2=$work/checkout2
cleanup() {
	[ -z "$e2e_pid" ] || kill -- -"$e2e_pid" 2>/dev/null || true
	[ -z "$remote_pid" ] || kill "$remote_pid" 2>/dev/null || true
	[ ! -d "$checkout2" ] || (cd "$checkout2" && "$bazel" shutdown 2>/dev/null) || true
	(cd "$repo" && "$bazel" shutdown 2>/dev/null) || true
	rm -f "$repo/examples/linux/linux-source-7.3"
}
trap cleanup EXIT

phase "packages and the Bazel environment"
# e2e.sh's too, so that it finds them installed.
need_packages gcc libc6-dev busybox-static qemu-system-x86 cpio xz-utils python3 patch
busybox=/bin/busybox
bash "$repo/tools/bazel/setup.sh"
mkdir -p "$work/bin"
(cd "$repo" && CGO_ENABLED=0 go build -o "$work/bin/modhashes" ./tools/modhashes)
mh=$work/bin/modhashes

phase "source: Debian's linux-source-7.3"
tree=$("$here/fetch-linux-source.sh" 7.3 "$e2e_work/cache")
tarball=$tree.tar.xz
# The graph takes the tree as files: a copy of hard links, so that a file
# edited below is replaced there, never written to in the cached tree.
files_tree=$work/linux-source-7.3
rm -rf "$files_tree"
cp -al "$tree" "$files_tree" 2>/dev/null || { rm -rf "$files_tree" && cp -a "$tree" "$files_tree"; }
# edit FILE SED_SCRIPT: FILE of the files tree replaced by its edited copy.
edit() { sed "$2" "$tree/$1" >"$files_tree/$1.new" && mv "$files_tree/$1.new" "$files_tree/$1"; }
unedit() { ln -f "$tree/$1" "$files_tree/$1" 2>/dev/null || cp "$tree/$1" "$files_tree/$1"; }
link() {
	ln -sfn "$tarball" "$1/examples/linux/linux-source-7.3.tar.xz"
	ln -sfn "$files_tree" "$1/examples/linux/linux-source-7.3"
}
link "$repo"
echo "$tarball, as files $files_tree"

phase "remote cache: bazel-remote"
rm -rf "$work/remote-cache"
read -r remote_pid grpc_port < <("$repo/tools/bazel/bazel-remote.sh" start "$work/remote-cache") ||
	die "bazel-remote did not start"
remote=(--remote_cache="grpc://127.0.0.1:$grpc_port")
echo "bazel-remote pid $remote_pid on 127.0.0.1:$grpc_port"

phase "clean Bazel build, side by side with e2e.sh's Make builds"
cd "$repo"
"$bazel" clean >/dev/null 2>&1
# Its own session, so that cleanup stops all of it.
setsid bash "$here/e2e.sh" "$e2e_work" >"$work/e2e.log" 2>&1 </dev/null &
e2e_pid=$!
echo "e2e.sh $e2e_work: pid $e2e_pid, log $work/e2e.log"
s=$(date +%s)
"$bazel" build --config=ci "${remote[@]}" --execution_log_json_file="$work/build.json" "${targets[@]}" \
	>"$work/bazel-build.log" 2>&1 || { tail -40 "$work/bazel-build.log"; die "bazel build failed"; }
bazel_time=$(($(date +%s) - s))
s=$(date +%s.%N)
"$bazel" build --config=ci "${remote[@]}" "${targets[@]}" >"$work/bazel-noop.log" 2>&1 ||
	die "the no-op bazel build failed"
noop=$(python3 -c "print('%.1f' % ($(date +%s.%N) - $s))")
python3 "$repo/tools/bazel/spawns.py" "$work/build.json" | awk -F'\t' '{ print "  " $1 "\t" $3 }'
echo "clean Bazel build ${bazel_time}s; no-op rebuild ${noop}s (goal < 5s)"

phase "Bazel's outputs in $work/bazel"
bin=$("$bazel" info --config=ci bazel-bin 2>/dev/null)
out=$work/bazel
rm -rf "$out" && mkdir -p "$out/obj"
cp "$bin/examples/linux/bzImage" "$bin/examples/linux/vmlinux" "$out/"
cp -r "$bin/examples/linux/install/lib" "$out/"
chmod -R u+w "$out"
release=$(cat "$bin/examples/linux/kernel/kernel.release")
mods=$out/lib/modules/$release
echo "$out/bzImage, $mods ($(find "$mods" -name '*.ko*' | wc -l) modules)"

phase "kernel_source: the tree as files and as the tarball, one .tar.zst"
# :source_files (@linux_source_7_3_tree, a local_kernel_tree of the link
# made above), the graph's source, and :source, the tarball, with the same
# patches: their .tar.zst must be the same bytes.
build_sources() { # LOG
	"$bazel" build --config=ci "${remote[@]}" //examples/linux:source_files //examples/linux:source >"$1" 2>&1 ||
		{ tail -30 "$1"; die "building //examples/linux:source_files and :source failed (log $1)"; }
}
s=$(date +%s)
build_sources "$work/bazel-sources.log"
sources_time=$(($(date +%s) - s))
files_out=$bin/examples/linux/source_files.tar.zst
same=no
cmp -s "$files_out" "$bin/examples/linux/source.tar.zst" && same=yes
# The pin is the content: one more line in README changes the output. A
# new file and a new link are in the tree too (local_kernel_tree watches the
# listings, not the content: Bazel checks that itself).
edit README '$a modhashes: edited'
echo new >"$files_tree/modhashes-new.txt"
ln -s README "$files_tree/modhashes-link"
s=$(date +%s)
build_sources "$work/bazel-sources-edited.log"
edit_time=$(($(date +%s) - s))
edited=no
cmp -s "$files_out" "$bin/examples/linux/source.tar.zst" || edited=yes
zstd -q -dc "$files_out" | tar -xOf - README | tail -1 | grep -qx "modhashes: edited" || edited="no (README)"
listing=$(zstd -q -dc "$files_out" | tar -tvf - modhashes-new.txt modhashes-link 2>&1 || true)
grep -q ' modhashes-new.txt$' <<<"$listing" && grep -q '^l.* modhashes-link -> README$' <<<"$listing" ||
	edited="no (a new file and link: $listing)"
rm "$files_tree/modhashes-new.txt" "$files_tree/modhashes-link"
unedit README
# A BUILD file in the tree would hide its directory from the glob.
touch "$files_tree/lib/BUILD"
refused=no
if ! "$bazel" query @linux_source_7_3_tree//:srcs >"$work/bazel-sources-build.log" 2>&1; then
	grep -q "lib/BUILD would make a Bazel package" "$work/bazel-sources-build.log" && refused=yes
fi
rm "$files_tree/lib/BUILD"
echo "both forms ${sources_time}s; README edited, a file and a link added ${edit_time}s"
if [ "$same" = yes ] && [ "$edited" = yes ] && [ "$refused" = yes ]; then
	pass "kernel_source of the tree as files is the tarball's, byte for byte; an edit, a new file and a new link change it; a BUILD file in the tree is refused"
else fail "kernel_source as files: identical to the tarball's: $same; changed by an edit: $edited; a BUILD file refused: $refused (log $work/bazel-sources-build.log)"; fi

phase "strip_modules: stripped modules hashed, the unstripped ones a debug output"
"$bazel" build --config=ci "${remote[@]}" --output_groups=unstripped_modules \
	//examples/linux:kernel //examples/linux:hello >"$work/bazel-debug.log" 2>&1 ||
	{ tail -20 "$work/bazel-debug.log"; die "building the unstripped modules failed"; }
has_debug_info() { { readelf -S -W "$1" 2>/dev/null || true; } | grep -q ' \.debug_info '; }
bad=
n=0
while read -r m; do
	case $m in kernel_modules/*) dbg=$bin/examples/linux/kernel_modules_unstripped/${m#kernel_modules/} ;;
	*) dbg=$bin/examples/linux/hello_unstripped/${m#hello/} ;; esac
	n=$((n + 1))
	id=$(build_id "$bin/examples/linux/$m")
	[ -n "$id" ] && [ "$id" = "$(build_id "$dbg")" ] || bad+=" $m(build-id)"
	! has_debug_info "$bin/examples/linux/$m" || bad+=" $m(not-stripped)"
	has_debug_info "$dbg" || bad+=" $m(no-debug-info)"
done < <(cd "$bin/examples/linux" && find kernel_modules hello -name '*.ko' | sort)
if [ -z "$bad" ] && [ "$n" -gt 0 ]; then pass "$n modules stripped, each with an unstripped copy of the same build ID"
else fail "stripped and unstripped modules:$bad"; fi

phase "boot in qemu-system-x86_64 (TCG)"
# The object tree the initramfs helper reads: Bazel's outputs.
mkdir -p "$out/obj/lib"
cp "$out/vmlinux" "$out/obj/vmlinux"
cp -r "$bin/examples/linux/kernel_modules/." "$out/obj/"
cp -r "$bin/examples/linux/hashes.proofs/." "$out/obj/"
chmod -R u+w "$out/obj"
cc -O2 -o "$work/bin/gen_init_cpio" "$tree/usr/gen_init_cpio.c"
ir=$work/initramfs
KMOD_ROOT=${MODHASHES_BAZEL_HOME:-/var/tmp/modhashes-bazel}/chroot \
	GEN_INIT_CPIO=$work/bin/gen_init_cpio BOOT_MODPROBE=test_static_keys BOOT_EXTRA=updates/modhashes_hello.ko.zst \
	boot_initramfs "$ir" "$out/obj" "$out" "$release" "$busybox" "$mh" "$work/verify.json" ||
	die "initramfs"
log=$work/serial.log
boot_check "Bazel's kernel" "$log" "$work/verify.json" "$ir/cases" qemu-system-x86_64 -m 256M \
	-kernel "$out/bzImage" -initrd "$ir/initramfs.cpio.gz" \
	-append "console=ttyS0 loglevel=7 panic=-1 module.sig_enforce=1"
loaded=$(sed -n '/^E2E-PROC-MODULES/,/^E2E-END/p' "$log" | awk 'NF > 3 { print $1 }' | sort)
want=$(find "$mods" -name '*.ko*' | sed 's|.*/||; s/\.ko.*//' | sort)
if [ "$loaded" = "$want" ]; then pass "all $(echo "$want" | wc -l) installed modules are loaded (test_static_key_base by modprobe's dependency)"
else fail "loaded: $(echo $loaded); installed: $(echo $want)"; fi

phase "remote cache: a clean build from another checkout path"
rm -rf "$checkout2"
mkdir -p "$checkout2"
(cd "$repo" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$checkout2")
link "$checkout2"
# Without the bytes: a hit is a hit whether or not its outputs are fetched.
# Its output base may be left from an earlier run at this path: clean it.
(cd "$checkout2" && "$bazel" clean >/dev/null 2>&1 && "$bazel" build --config=ci "${remote[@]}" --remote_download_minimal \
	--execution_log_json_file="$work/build2.json" "${targets[@]}" >"$work/bazel-build2.log" 2>&1) || { tail -30 "$work/bazel-build2.log"; die "bazel build in $checkout2 failed"; }
python3 "$repo/tools/bazel/spawns.py" "$work/build2.json" >"$work/build2.spawns"
n=$(wc -l <"$work/build2.spawns")
hits=$(awk -F'\t' '$2 == "true"' "$work/build2.spawns" | wc -l)
echo "$checkout2: $n actions, $hits remote-cache hits, $((n - hits)) executed"
if [ "$n" -gt 0 ] && [ "$hits" = "$n" ]; then pass "from another checkout path every action is a remote-cache hit ($hits/$n)"
else fail "from another checkout path $((n - hits)) of $n actions executed"; fi
(cd "$checkout2" && "$bazel" clean --expunge >/dev/null 2>&1) || true

phase "incremental: hello/'s source changed"
hello=$repo/examples/linux/hello/modhashes_hello.c
cp "$hello" "$work/hello.c.orig"
sed -i 's/loaded, proven/loaded (changed), proven/' "$hello"
s=0
"$bazel" build --config=ci "${remote[@]}" --execution_log_json_file="$work/incr.json" "${targets[@]}" \
	>"$work/bazel-incr.log" 2>&1 || s=1
cp "$work/hello.c.orig" "$hello"
[ "$s" = 0 ] || { tail -30 "$work/bazel-incr.log"; die "the incremental build failed"; }
python3 "$repo/tools/bazel/spawns.py" "$work/incr.json" | awk -F'\t' '$2 != "true" { print $1 "\t" $3 }' |
	LC_ALL=C sort >"$work/incr.spawns"
echo "actions that ran:"
sed 's/^/  /' "$work/incr.spawns"
printf '%s\n' KernelBootImage KernelExternalModule KernelModulesSet ModHashesFinalize ModHashesInstall ModHashesTree >"$work/incr.want"
if [ "$(cut -f1 "$work/incr.spawns")" = "$(cat "$work/incr.want")" ]; then
	pass "changing hello/ re-ran only its build, the module set's copy, the tree, finalize, the boot image and the install"
else fail "changing hello/ re-ran other actions"; fi
"$bazel" build --config=ci "${remote[@]}" "${targets[@]}" >/dev/null 2>&1 || die "the rebuild after restoring hello/ failed"

phase "unsandboxed: kbuild actions sharing /tmp, two at once, /tmp/modhashes-kbuild busy"
# As on a remote worker without a sandbox (bb-runner): the modules, hello/
# and the boot image re-run in the standalone strategy, the boot image and
# its twin side by side, while /tmp/modhashes-kbuild (where kbuild.sh once
# built) is taken. Everything must equal the sandboxed build's outputs.
busy=/tmp/modhashes-kbuild
held=
! mkdir "$busy" 2>/dev/null || held=$busy
touch "$work/unsandboxed.start"
s=0
"$bazel" build --config=ci "${remote[@]}" --spawn_strategy=standalone \
	--modify_execution_info='^Kernel(Modules|ExternalModule|BootImage)$=+no-cache' \
	--execution_log_json_file="$work/unsandboxed.json" "${targets[@]}" //examples/linux:bzImage_twin \
	>"$work/bazel-unsandboxed.log" 2>&1 || s=1
[ -z "$held" ] || rmdir "$held" 2>/dev/null || true
[ "$s" = 0 ] || { grep -E '^(ERROR|kbuild):' "$work/bazel-unsandboxed.log" || true; } | tail -20
python3 "$repo/tools/bazel/spawns.py" "$work/unsandboxed.json" |
	awk -F'\t' '$1 ~ /^Kernel/ && $2 != "true" { print $1 "\t" $3 "\t" $5 }' | LC_ALL=C sort >"$work/unsandboxed.spawns"
sed 's/^/  /' "$work/unsandboxed.spawns"
# Whether the two boot images ran at the same time.
overlap=$(python3 - "$work/unsandboxed.json" <<'PY'
import datetime, json, sys
text, dec, i, spans = open(sys.argv[1]).read(), json.JSONDecoder(), 0, []
while True:
    while i < len(text) and text[i].isspace():
        i += 1
    if i >= len(text):
        break
    o, i = dec.raw_decode(text, i)
    m = o.get("metrics", {})
    if o.get("mnemonic") == "KernelBootImage" and "startTime" in m:
        t = datetime.datetime.fromisoformat(m["startTime"].replace("Z", "+00:00")).timestamp()
        spans.append((t, t + float(m["totalTime"].rstrip("s"))))
print("yes" if len(spans) == 2 and max(s for s, _ in spans) < min(e for _, e in spans) else "no")
PY
)
same=yes
for f in bzImage bzImage.twin; do cmp -s "$bin/examples/linux/$f" "$out/bzImage" || same="no ($f)"; done
cmp -s "$bin/examples/linux/vmlinux" "$out/vmlinux" || same="no (vmlinux)"
diff -r "$bin/examples/linux/install/lib" "$out/lib" >/dev/null || same="no (install)"
# Each action deletes its directory in /tmp before it ends.
left=$(find /tmp -maxdepth 1 -name 'modhashes-kbuild.*' -newer "$work/unsandboxed.start" | wc -l)
[ "$left" = 0 ] || same="no ($left build directories left in /tmp)"
if [ "$s" = 0 ] && [ "$overlap" = yes ] && [ "$same" = yes ] &&
	[ "$(cut -f1 "$work/unsandboxed.spawns" | tr '\n' ' ')" = "KernelBootImage KernelBootImage KernelExternalModule KernelModules " ] &&
	! cut -f3 "$work/unsandboxed.spawns" | grep -qvxE 'local|standalone'
then pass "unsandboxed, the boot image and its twin at once, $busy busy: outputs identical to the sandboxed build's"
else fail "unsandboxed (log $work/bazel-unsandboxed.log): exit status $s, boot images at once: $overlap, outputs identical: $same"; fi

phase "hermetic"
"$bazel" aquery --config=ci --output=jsonproto "deps($(IFS=+; echo "${targets[*]}"))" >"$work/aquery.json" 2>/dev/null ||
	die "aquery failed"
output_base=$("$bazel" info --config=ci output_base 2>/dev/null)
if python3 "$repo/tools/bazel/hermetic.py" "$work/aquery.json" "$repo" "$output_base" "$HOME"
then pass "no action names the checkout, the output base or the user, and none opts out of the sandbox or the remote cache"
else fail "actions depend on the host"; fi
# The toolchain's identity is part of the kbuild actions' cache keys.
count_actions() {
	"$bazel" aquery --config=ci --output=jsonproto "$1" 2>/dev/null |
		python3 -c 'import json, sys; print(len(json.load(sys.stdin).get("actions", [])))'
}
kbuild="mnemonic('Kernel.*|ModHashesInstall', deps($(IFS=+; echo "${targets[*]}")))"
n_kbuild=$(count_actions "$kbuild")
n_tools=$(count_actions "inputs('.*kernel_host_tools/tools\\.txt', $kbuild)")
if [ "$n_kbuild" -gt 0 ] && [ "$n_tools" = "$n_kbuild" ]; then
	pass "all $n_kbuild kbuild and install actions take the host toolchain's identity (@kernel_host_tools) as an input"
else fail "$n_tools of $n_kbuild kbuild and install actions take @kernel_host_tools//:tools.txt as an input"; fi
strategies=$(grep -ohE '[0-9]+ [a-z-]+(-sandbox)?' "$work/bazel-build.log" | tail -5 | tr '\n' ' ')
echo "strategies of the clean build: $strategies"

phase "waiting for e2e.sh (the Make builds)"
rc=0
wait "$e2e_pid" || rc=$?
e2e_pid=
sed 's/^/  e2e | /' "$work/e2e.log"
if [ "$rc" = 0 ]; then pass "e2e.sh: its Make builds and every check of theirs"
else fail "e2e.sh failed (log: $work/e2e.log)"; fi

phase "the Make build: e2e.sh's tree B, with hello/, the tree, vmlinux, bzImage and modules_install"
[ -f "$e2e_work/b/build.log.time" ] || die "e2e.sh did not build tree B"
"$in_chroot" bash "$here/make-reference.sh" "$e2e_work/b/src/kernel" "$work/make" "$mh" >"$work/make.log" 2>&1 ||
	{ tail -30 "$work/make.log"; die "the Make build failed (log: $work/make.log)"; }
make_build=$(tr -dc 0-9 <"$e2e_work/b/build.log.time")
make_rest=$(cat "$work/make/time")
make_time=$((make_build + make_rest))
ratio=$(python3 -c "print('%.2f' % ($bazel_time / $make_time))")
echo "Make build: tree B ${make_build}s (side by side with tree A and Bazel's build) + ${make_rest}s (log $work/make.log)"

phase "byte-identical to the Make build"
table=$work/reproducibility.txt
mk=$work/make
b=$e2e_work/b/src/kernel
{
	printf '%-40s %-64s %s\n' file sha256 identical
	same=1
	same_row vmlinux "$out/vmlinux" "$b/vmlinux" Make
	same_row bzImage "$out/bzImage" "$b/arch/x86/boot/bzImage" Make
	while read -r f; do
		same_row "$f" "$mods/$f" "$mk/root/lib/modules/$release/$f" Make
	done < <(cd "$mods" && find . -type f | sed 's|^\./||' | LC_ALL=C sort)
	# Everything make modules_install wrote, but for the build symlink.
	extra=$(cd "$mk/root/lib/modules/$release" && find . -type f | sed 's|^\./||' | LC_ALL=C sort |
		while read -r f; do [ -e "$mods/$f" ] || echo "$f"; done)
	[ -z "$extra" ] || { echo "only in the Make build: $extra"; same=0; }
	echo "same=$same"
} >"$table"
grep -v '^same=' "$table"
if grep -qx 'same=1' "$table"; then pass "vmlinux, bzImage, every installed module and depmod's files are byte-identical to the Make build's"
else fail "Bazel's and Make's builds differ"; fi

phase "edits: the actions each re-runs, and its time next to make's"
# The same one-line edit of the files tree (Bazel) and of e2e.sh's tree A
# (make, its full build: modules, tree, vmlinux, bzImage). Tree A keeps its
# edits; the files tree gets its file back after each.
srcA=$(ls -d "$e2e_work"/a/linux-*/)
srcA=${srcA%/}
mapfile -t varsA < <(kbuild_vars "$srcA" "$e2e_work/bin/modhashes")
make_a() { (cd "$e2e_work" && "$in_chroot" env "${kbuild_env[@]}" make -C "$srcA" "${varsA[@]}" -j"$(nproc)"); }
make_a >"$work/make-edit.log" 2>&1 || { tail -20 "$work/make-edit.log"; die "make of tree A failed"; }
edit_check() { # KIND FILE SED_SCRIPT RAN NOT_RAN
	local kind=$1 f=$2 script=$3 ran=$4 not_ran=$5 s bt mt m bad=
	edit "$f" "$script"
	cmp -s "$tree/$f" "$files_tree/$f" && die "$kind: the edit of $f changed nothing"
	s=$(date +%s.%N)
	# The actions that ran from the build events, not an execution log:
	# that lists every input of every spawn, seconds on this edit's path.
	"$bazel" build --config=ci "${remote[@]}" --build_event_json_file="$work/edit-$kind.bep" \
		--build_event_publish_all_actions "${targets[@]}" \
		>"$work/bazel-edit-$kind.log" 2>&1 || { unedit "$f"; tail -30 "$work/bazel-edit-$kind.log"; die "$kind: bazel build failed"; }
	bt=$(python3 -c "print('%.0f' % ($(date +%s.%N) - $s))")
	unedit "$f"
	sed -i "$script" "$srcA/$f"
	s=$(date +%s.%N)
	make_a >"$work/make-edit-$kind.log" 2>&1 || { tail -20 "$work/make-edit-$kind.log"; die "$kind: make failed"; }
	mt=$(python3 -c "print('%.0f' % ($(date +%s.%N) - $s))")
	python3 -c '
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if "actionCompleted" in e.get("id", {}) and e.get("action", {}).get("type"):
        print(e["action"]["type"])' "$work/edit-$kind.bep" | LC_ALL=C sort -u >"$work/edit-$kind.spawns"
	echo "$kind ($f): Bazel ${bt}s, make ${mt}s: $(python3 -c "print('%.1f' % ($bt / max($mt, 1)))")x; actions that ran: $(tr '\n' ' ' <"$work/edit-$kind.spawns")"
	for m in $ran; do grep -qx "$m" "$work/edit-$kind.spawns" || bad+=" $m did not run;"; done
	for m in $not_ran; do ! grep -qx "$m" "$work/edit-$kind.spawns" || bad+=" $m ran;"; done
	edit_times+=("$kind ${bt}s/${mt}s")
	if [ -z "$bad" ]; then pass "$kind: editing $f re-ran $ran and not $not_ran"
	else fail "$kind: editing $f:$bad"; fi
}
# From a built state with every action in the local action cache: the
# unsandboxed phase ran three kinds of action with no-cache.
"$bazel" build --config=ci "${remote[@]}" "${targets[@]}" >"$work/bazel-before-edits.log" 2>&1 ||
	die "the build before the edits failed"
edit_times=()
for kind in ${BAZEL_SH_EDITS:-module}; do
	case $kind in
	module)
		edit_check module lib/test_hexdump.c 's/data_a\[\] = ".2/data_a[] = "E2/' \
			"KernelModules KernelModulesSet ModHashesTree ModHashesFinalize KernelBootImage ModHashesInstall" \
			"KernelConfig KernelVmlinux KernelExternalModule"
		# kbuild's own logs: with the module cache and the state's boot
		# objects Bazel's actions compile what make's incremental build does.
		compiled() { { grep -E '^  (CC|AS) ' "$1" || true; } | awk '{ print $NF }' | LC_ALL=C sort | tr '\n' ' '; }
		cc=$(compiled "$work/bazel-edit-module.log") mcc=$(compiled "$work/make-edit-module.log")
		if [ -n "$cc" ] && [ "$cc" = "$mcc" ]; then
			pass "module: kbuild compiled what make's incremental build compiles, nothing else: $cc"
		else fail "module: kbuild compiled '$cc', make '$mcc'"; fi
		# Both kbuild actions ran in kbuild-worker, in the trees they left.
		warm=$(grep -c "^kbuild: the tree of this action's last run, 1 source file(s) changed since" "$work/bazel-edit-module.log" || true)
		if grep -qE '^INFO: [0-9]+ processes: .*\b2 worker\b' "$work/bazel-edit-module.log" && [ "$warm" = 2 ]; then
			pass "module: the modules and boot image actions ran in kbuild-worker, each in the tree of its last run"
		else fail "module: $(grep -E '^INFO: [0-9]+ processes' "$work/bazel-edit-module.log"); $warm of 2 actions reused their tree"; fi
		;;
	builtin)
		edit_check builtin kernel/panic.c 's/Kernel panic - not syncing: %s/Kernel panic (edited) - not syncing: %s/' \
			"KernelVmlinux KernelModules ModHashesFinalize KernelBootImage" KernelConfig ;;
	header)
		edit_check header include/linux/kernel.h '$a #define MODHASHES_EDITED 1' \
			"KernelVmlinux KernelModules KernelExternalModule" KernelConfig ;;
	*) die "BAZEL_SH_EDITS: unknown edit $kind (module, builtin, header)" ;;
	esac
done
# Undone, every edit gives the first outputs back (the remote cache's).
"$bazel" build --config=ci "${remote[@]}" "${targets[@]}" >"$work/bazel-unedited.log" 2>&1 || die "the build after the edits were undone failed"
same=yes
for f in bzImage vmlinux; do cmp -s "$bin/examples/linux/$f" "$out/$f" || same="no ($f)"; done
diff -r "$bin/examples/linux/install/lib" "$out/lib" >/dev/null || same="no (install)"
if [ "$same" = yes ]; then pass "with the edits undone, bzImage, vmlinux and the install are the first build's"
else fail "with the edits undone, the outputs differ from the first build's: $same"; fi

phase "summary"
grep -v '^same=' "$table" | head -3
echo "clean build, side by side on $(nproc) cores with e2e.sh's tree A: Make ${make_time}s, Bazel ${bazel_time}s: ${ratio}x (goal <= 1.25x); no-op ${noop}s (goal < 5s)"
echo "edits (Bazel/make, goal for a module <= 3x): ${edit_times[*]}"
finish
