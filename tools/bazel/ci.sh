#!/usr/bin/env bash
# The Bazel part of CI, from a clean machine, on Bazel 7.7.1 with bzlmod only:
#
#   1. setup          tools/bazel/setup.sh (sid chroot with Bazel, rules_go,
#                     Gazelle, stand-ins, Go module proxy copy, buildifier)
#   2. buildifier     every Starlark file we own is formatted and lint-clean
#   3. gazelle        the Go BUILD files are current
#   4. test           bazel test //... (Go tests, rules reference, mini kernel, loader),
#                     filling a disk cache and a real remote cache (bazel-remote
#                     on 127.0.0.1, built from the Go module proxy)
#   5. cache          clean builds of the pipeline from another checkout path,
#                     from the disk cache and from the remote cache: no
#                     pipeline action may run locally
#   6. reproducible   the same, with the C and pipeline actions forced to run:
#                     outputs byte-identical to the first checkout's
#   7. incremental    one module's source changed: exactly that module, the
#                     tree, the final vmlinux and the installs re-run
#   8. consumer       examples/bzlmod-consumer, copied elsewhere, builds and
#                     tests against this checkout through bazel_dep; its bsp/
#                     module uses the rules too
#   9. registry       tools/release.sh makes the same archive twice; the
#                     consumer, without its override of modhashes, builds and
#                     tests against it from a file:// registry
#  10. toolchain      the mini kernel's tree with a modhashes toolchain given
#                     by --extra_toolchains: the action runs that tool
#
# Along the way it prints how often the Go standard library was compiled
# and checks that every action can run remotely (no local-only tags, no
# checkout or output-base path in any command line).
#
# then shuts down every Bazel server it started and stops bazel-remote by PID.
# Scratch space: $MODHASHES_CI_TMP (default /tmp/modhashes-bazel-ci.$$).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
home=${MODHASHES_BAZEL_HOME:-/var/tmp/modhashes-bazel}
bazel=$here/bazel
tmp=${MODHASHES_CI_TMP:-/tmp/modhashes-bazel-ci.$$}
PIPELINE=//examples/minikernel:pipeline_outputs
# Actions that build the kernel, the modules and the pipeline outputs.
PIPELINE_MNEMONICS='CppCompile|CppLink|CppArchive|Genrule|ModHashesTree|ModHashesFinalize|ModHashesInstall'
# Go tests that compare with the system's objcopy byte for byte.
objcopy_tests=(//tools/elfedit:elfedit_test //tools/finalize:finalize_test)
objcopy_skip='MatchesObjcopy'
# Configurations that compile the standard library: target and exec.
STDLIB_MAX=2

start=$SECONDS
step() { printf '\n=== bazel ci: %s (%ds)\n' "$*" $((SECONDS - start)); }
die() {
	echo "bazel ci: FAIL: $*" >&2
	exit 1
}

rm -rf "$tmp"
mkdir -p "$tmp"
checkouts=("$root")
remote_pid=
remote_build=
cleanup() {
	local c
	[ -z "$remote_build" ] || kill "$remote_build" 2>/dev/null || true
	(cd "$root" && "$bazel" shutdown 2>/dev/null) || true
	# Scratch checkouts go away, and so do their output bases.
	for c in "${checkouts[@]:1}"; do
		[ -d "$c" ] && (cd "$c" && "$bazel" clean --expunge 2>/dev/null) || true
	done
	if [ -n "$remote_pid" ]; then
		kill "$remote_pid" 2>/dev/null || true
		wait "$remote_pid" 2>/dev/null || true
	fi
	chmod -R u+w "$tmp" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

ci=(--config=ci)
common=("${ci[@]}")

# bazel-remote builds in the background while setup and buildifier run.
"$here/bazel-remote.sh" build >"$tmp/bazel-remote-build.log" 2>&1 &
remote_build=$!

step setup
"$here/setup.sh"
echo "environment: $home, $(du -sh "$home" 2>/dev/null | cut -f1) ($("$bazel" --version 2>/dev/null))"

step buildifier
mapfile -t starlark < <(git ls-files -co --exclude-standard -- WORKSPACE MODULE.bazel BUILD.bazel rules examples/minikernel examples/bzlmod-consumer examples/linux kbuild tools |
	grep -E '(^|/)(WORKSPACE|MODULE\.bazel|BUILD\.bazel|BUILD)$|\.bzl$' | while read -r f; do [ -f "$f" ] && echo "$f"; done)
"$home/bin/buildifier" --mode=check --lint=warn "${starlark[@]}" ||
	die "buildifier: run $home/bin/buildifier --lint=fix on the files above"
echo "${#starlark[@]} Starlark files clean"

step "bazel-remote"
wait "$remote_build" || { cat "$tmp/bazel-remote-build.log"; die "building bazel-remote failed"; }
remote_build=
read -r remote_pid grpc_port < <("$here/bazel-remote.sh" start "$tmp/remote-cache") ||
	die "bazel-remote did not start"
remote=(--remote_cache="grpc://127.0.0.1:$grpc_port")
disk=(--disk_cache="$tmp/disk-cache")
echo "bazel-remote pid $remote_pid on 127.0.0.1:$grpc_port"
common+=("${disk[@]}" "${remote[@]}")

# The cache checks need every action of this checkout to run (and upload):
# start from an empty output base.
"$bazel" clean >/dev/null 2>&1

step gazelle
"$bazel" run "${common[@]}" --execution_log_json_file="$tmp/gazelle.json" //:gazelle -- -mode=diff >"$tmp/gazelle.diff" 2>&1 || {
	cat "$tmp/gazelle.diff"
	die "Go BUILD files are stale: run 'tools/bazel/bazel run //:gazelle'"
}
echo "BUILD files current"

# spawns LOG...: "mnemonic<TAB>cache_hit<TAB>first output<TAB>configuration"
# of each spawn in execution logs.
spawns() { python3 "$here/spawns.py" "$@"; }

step "bazel test //..."
status=0
# Every action of the test build goes to the execution log, for the
# standard-library count below.
"$bazel" test "${common[@]}" --execution_log_json_file="$tmp/test.json" \
	-- //... "${objcopy_tests[@]/#/-}" 2>&1 | tee "$tmp/test.log" || status=$?
# The objcopy-equivalence tests compare with the system's objcopy: the
# chroot's is sid's binutils snapshot, not the binutils 2.40 the Go tests
# (tools/test.sh) run against. Everything else in them runs here.
"$bazel" test "${common[@]}" --test_arg=-test.skip="$objcopy_skip" \
	"${objcopy_tests[@]}" 2>&1 | tee -a "$tmp/test.log" || status=$?
# Which tests ran and passed, for the CI summary.
passed=$(grep -cE '^//\S+\s+(\(cached\) )?PASSED' "$tmp/test.log" || true)
failed=$(grep -cE '^//\S+\s+(FAILED|TIMEOUT|NO STATUS)' "$tmp/test.log" || true)
echo "bazel: $passed passed, $failed failed"
[ "$status" = 0 ] || die "bazel test //... failed"
echo "bazel: not run here (sid's objcopy $(chroot "$home/chroot" objcopy --version | sed -n '1s/.* //p')): $objcopy_skip"

cat "$tmp/gazelle.json" "$tmp/test.json" >"$tmp/gazelle-test.json"
spawns "$tmp/gazelle-test.json" >"$tmp/test.spawns"
# Every action that ran, ran sandboxed (or in a persistent worker).
unsandboxed=$(awk -F'\t' '$2 != "true" && $5 !~ /^(linux-sandbox|worker|remote cache hit|disk cache hit)$/ { print "  " $1 " " $3 " (" $5 ")" }' "$tmp/test.spawns")
echo "runners: $(awk -F'\t' '$2 != "true" { print $5 }' "$tmp/test.spawns" | sort | uniq -c | awk '{ printf "%s %s; ", $1, substr($0, index($0, $2)) }')"
[ -z "$unsandboxed" ] || die "actions ran outside linux-sandbox:
$unsandboxed"

# The standard library is compiled once per configuration that truly
# differs: the target configuration and the exec one (tools).
# (Gazelle's build came first and compiled some of it.)
stdlib=$(awk -F'\t' '$1 == "GoStdlib"' "$tmp/test.spawns")
stdlib_n=$(printf '%s\n' "$stdlib" | grep -c . || true)
echo "Go standard library compiled $stdlib_n times:"
printf '%s\n' "$stdlib" | awk -F'\t' '{ print "  " $4 }'
[ "$stdlib_n" -le "$STDLIB_MAX" ] || die "the standard library was compiled $stdlib_n times (at most $STDLIB_MAX)"

step "remote-executable actions"
"$bazel" aquery "${ci[@]}" --output=jsonproto 'deps(//...)' >"$tmp/aquery.json" 2>"$tmp/aquery.log" ||
	{ cat "$tmp/aquery.log"; die "aquery failed"; }
output_base=$("$bazel" info output_base 2>/dev/null)
python3 "$here/hermetic.py" "$tmp/aquery.json" "$root" "$output_base"

# digests DIR: sha256 of every pipeline output, by path below bazel-bin.
digests() {
	(cd "$1/bazel-bin/examples/minikernel" &&
		find -L . \( -name '*.runfiles' -o -name '*.runfiles_manifest' \) -prune -o -type f -print |
		grep -E '\.(ko|merkle|bin|c|order)$|/vmlinux(\.unstripped)?$|install' |
			LC_ALL=C sort | xargs -d '\n' sha256sum)
}
digests "$root" >"$tmp/digests.a"
[ "$(grep -c '\.merkle$' "$tmp/digests.a")" -ge 4 ] || die "pipeline outputs missing in $root"

# A second checkout at another path.
other=$tmp/elsewhere/checkout-b
mkdir -p "$other"
git ls-files -co --exclude-standard -z | grep -zv '^\.cache/' | xargs -0 cp --parents -t "$other" 2>/dev/null || true
checkouts+=("$other")

# cached_build NAME FLAGS...: clean build of the pipeline in the other
# checkout; every pipeline spawn must be a cache hit.
cached_build() {
	local name=$1
	shift
	(cd "$other" && "$bazel" clean >/dev/null 2>&1 &&
		"$bazel" build "${ci[@]}" "$@" --execution_log_json_file="$tmp/$name.json" $PIPELINE) >"$tmp/$name.log" 2>&1 ||
		{ cat "$tmp/$name.log"; die "$name build failed"; }
	spawns "$tmp/$name.json" >"$tmp/$name.spawns"
	local summary local_pipeline
	summary=$(grep -E '^INFO: [0-9]+ processes' "$tmp/$name.log" | tail -1)
	local_pipeline=$(awk -F'\t' -v re="^($PIPELINE_MNEMONICS)\$" '$1 ~ re && $2 != "true"' "$tmp/$name.spawns")
	echo "$name: $summary"
	echo "$name: pipeline spawns: $(awk -F'\t' -v re="^($PIPELINE_MNEMONICS)\$" '$1 ~ re' "$tmp/$name.spawns" | wc -l), executed locally: $(printf '%s' "$local_pipeline" | grep -c . || true)"
	[ -z "$local_pipeline" ] || { echo "$local_pipeline"; die "$name: pipeline actions ran locally"; }
}

step "cache: clean build from $other with the disk cache"
cached_build disk-cache "${disk[@]}"

step "cache: clean build from $other with the remote cache (bazel-remote)"
cached_build remote-cache "${remote[@]}"

step "reproducible: C and pipeline actions re-run in $other"
no_cache=(--modify_execution_info="^($PIPELINE_MNEMONICS)\$=+no-cache")
(cd "$other" && "$bazel" clean >/dev/null 2>&1 &&
	"$bazel" build "${ci[@]}" "${remote[@]}" "${no_cache[@]}" \
		--execution_log_json_file="$tmp/repro.json" $PIPELINE) >"$tmp/repro.log" 2>&1 ||
	{ cat "$tmp/repro.log"; die "reproducibility build failed"; }
spawns "$tmp/repro.json" >"$tmp/repro.spawns"
ran=$(awk -F'\t' -v re="^($PIPELINE_MNEMONICS)\$" '$1 ~ re && $2 != "true"' "$tmp/repro.spawns" | wc -l)
echo "repro: $(grep -E '^INFO: [0-9]+ processes' "$tmp/repro.log" | tail -1); $ran C/pipeline actions executed"
[ "$ran" -gt 0 ] || die "reproducibility build executed no pipeline action"
digests "$other" >"$tmp/digests.b"
if ! diff -u "$tmp/digests.a" "$tmp/digests.b"; then
	die "outputs differ between $root and $other"
fi
echo "byte-identical: $(wc -l <"$tmp/digests.a") files (final vmlinux, root, proofs, modules, installs)"

step "incremental: change one module"
# First a plain build, so that the action cache knows every output again
# (the reproducibility build kept its results out of all caches).
(cd "$other" && "$bazel" build "${ci[@]}" "${remote[@]}" $PIPELINE) >"$tmp/incr0.log" 2>&1 ||
	{ cat "$tmp/incr0.log"; die "build before the change failed"; }
sed -i 's/dummy_net: first device/dummy_net: device 0/' "$other/examples/minikernel/drivers/net/dummy_net.c"
(cd "$other" && "$bazel" build "${ci[@]}" "${remote[@]}" \
	--execution_log_json_file="$tmp/incr.json" $PIPELINE) >"$tmp/incr.log" 2>&1 ||
	{ cat "$tmp/incr.log"; die "incremental build failed"; }
spawns "$tmp/incr.json" | awk -F'\t' '$2 != "true" { print $1 "\t" $3 }' | LC_ALL=C sort >"$tmp/incr.spawns"
cat >"$tmp/incr.want" <<'EOF'
Genrule	examples/minikernel/drivers/net/dummy_net.ko
ModHashesFinalize	examples/minikernel/vmlinux
ModHashesInstall	examples/minikernel/minikernel_install
ModHashesInstall	examples/minikernel/minikernel_install_zstd
ModHashesTree	examples/minikernel/minikernel_hashes.module_hashes.bin
EOF
LC_ALL=C sort -o "$tmp/incr.want" "$tmp/incr.want"
cat "$tmp/incr.spawns"
diff -u "$tmp/incr.want" "$tmp/incr.spawns" || die "a one-module change re-ran other actions"

step "consumer: examples/bzlmod-consumer, copied to another directory"
consumer=$tmp/consumer
cp -R examples/bzlmod-consumer "$consumer"
checkouts+=("$consumer")
# Only the override's path changes.
sed -i "s|path = \"../..\"|path = \"$root\"|" "$consumer/MODULE.bazel"
grep -q "path = \"$root\"" "$consumer/MODULE.bazel" || die "consumer: could not point local_path_override at $root"
(cd "$consumer" && "$bazel" test "${ci[@]}" "${disk[@]}" //...) >"$tmp/consumer.log" 2>&1 ||
	{ cat "$tmp/consumer.log"; die "the consumer failed"; }
grep -E '^//\S+\s+(\(cached\) )?PASSED' "$tmp/consumer.log"
# Its bsp/ is a module of its own: rules used from neither the root module
# nor modhashes write their proofs into that module's output directory.
(cd "$consumer" && "$bazel" build "${ci[@]}" "${disk[@]}" @consumer_bsp//:hashes &&
	"$bazel" cquery "${ci[@]}" --output=files @consumer_bsp//:hashes) >"$tmp/consumer-bsp.log" 2>&1 ||
	{ cat "$tmp/consumer-bsp.log"; die "the consumer's bsp module failed"; }
grep -E '/external/consumer_bsp\+/hashes\.proofs/drivers/board\.merkle$' "$tmp/consumer-bsp.log" ||
	{ cat "$tmp/consumer-bsp.log"; die "consumer_bsp: no proof in its own output directory"; }

step "registry: the consumer against a release archive in a file registry"
# tools/release.sh twice: the archive must come out byte-identical.
version=$(sed -n -E '0,/^    version = "([^"]*)",$/s//\1/p' MODULE.bazel)
for r in release-a release-b; do
	"$root/tools/release.sh" --worktree "$version" "$tmp/$r" >"$tmp/$r.log" 2>&1 ||
		{ cat "$tmp/$r.log"; die "tools/release.sh failed"; }
done
archive=modhashes-$version.tar.gz
cmp "$tmp/release-a/$archive" "$tmp/release-b/$archive" || die "two release archives of one tree differ"
sha=$(sha256sum "$tmp/release-a/$archive" | cut -d' ' -f1)
echo "release: $archive, sha256 $sha, identical twice"
# The consumer as a user has it: no local_path_override of modhashes, the
# registry given by --registry (the other modules keep their offline overrides).
python3 - "$consumer/MODULE.bazel" <<'PY'
import re, sys
p = sys.argv[1]
s = re.sub(r'local_path_override\(\s*module_name = "modhashes",[^)]*\)\n', "", open(p).read())
open(p, "w").write(s)
PY
! grep -q 'module_name = "modhashes"' "$consumer/MODULE.bazel" || die "registry: the consumer still overrides modhashes"
printf '%s\n' "common --registry=file://$tmp/release-a/registry" "common --repository_cache=$tmp/repo-cache" >>"$consumer/.bazelrc"
(cd "$consumer" && "$bazel" test "${ci[@]}" "${disk[@]}" --nocache_test_results //... &&
	"$bazel" build "${ci[@]}" "${disk[@]}" @consumer_bsp//:hashes) >"$tmp/registry.log" 2>&1 ||
	{ cat "$tmp/registry.log"; die "the consumer failed against the registry"; }
grep -E '^//\S+\s+(\(cached\) )?PASSED' "$tmp/registry.log"
# Proof that the registry served @modhashes: its repository is a download
# (an override would be a symlink to a directory), the archive is in the
# (fresh) repository cache under its sha256, and its MODULE.bazel is the
# registry's.
ext=$(cd "$consumer" && "$bazel" info output_base 2>/dev/null)/external
[ -d "$ext/modhashes+" ] && [ ! -L "$ext/modhashes+" ] || die "registry: @modhashes is not a fetched repository"
grep -q BAZEL_HTTP_RULES_URLS_AS_DEFAULT_CANONICAL_ID "$ext/@modhashes+.marker" || die "registry: @modhashes was not made by http_archive"
cmp "$tmp/repo-cache/content_addressable/sha256/$sha/file" "$tmp/release-a/$archive" ||
	die "registry: the archive was not downloaded"
cmp "$ext/modhashes+/MODULE.bazel" "$tmp/release-a/registry/modules/modhashes/$version/MODULE.bazel" ||
	die "registry: @modhashes is not the release's"
echo "registry: @modhashes $version from file://$tmp/release-a/registry (http_archive of $archive, sha256 $sha)"
(cd "$consumer" && "$bazel" shutdown) 2>/dev/null || true

step "toolchain: the mini kernel's tree with another modhashes toolchain"
# A user's prebuilt tool (rules/tests:prebuilt_toolchain, a copy as a plain
# file) registered on the command line: the tree action must run it.
"$bazel" build "${ci[@]}" --extra_toolchains=//rules/tests:prebuilt_toolchain \
	--modify_execution_info=ModHashesTree=+no-cache \
	--execution_log_json_file="$tmp/toolchain.json" //examples/minikernel:minikernel_hashes >"$tmp/toolchain.log" 2>&1 ||
	{ cat "$tmp/toolchain.log"; die "build with another modhashes toolchain failed"; }
ran=$(python3 -c 'import json, sys
d, t, i = json.JSONDecoder(), open(sys.argv[1]).read(), 0
while t[i:].strip():
    o, i = d.raw_decode(t, len(t) - len(t[i:].lstrip()))
    if o.get("mnemonic") == "ModHashesTree": print(o["commandArgs"][0])' "$tmp/toolchain.json")
echo "ModHashesTree ran: $ran"
[[ "$ran" == */rules/tests/prebuilt_modhashes ]] || die "the tree action did not run the registered toolchain's tool"

step "host toolchain identity: gcc, LLVM and every cross toolchain in the kbuild actions' cache keys"
"$bazel" build "${ci[@]}" @kernel_host_tools//:tools.txt >"$tmp/host-tools.log" 2>&1 ||
	{ cat "$tmp/host-tools.log"; die "@kernel_host_tools failed"; }
tools_txt=$(ls "$("$bazel" info "${ci[@]}" output_base 2>/dev/null)"/external/*kernel_host_tools/tools.txt)
# Every tool: hashed if the environment has it (compared with what is
# installed there), named as missing if not.
want=(gcc cc1 clang ld.lld llvm-objcopy)
for ld in $("$here/chroot" sh -c 'ls /usr/bin/*-linux-gnu*-ld 2>/dev/null' | sed 's|.*/||'); do
	want+=("$ld" "${ld%ld}gcc" "${ld%ld}objcopy")
done
for t in "${want[@]}"; do
	line=$(grep -m1 "^$t " "$tools_txt") || die "$tools_txt: no line for $t"
	if [ "$t" = cc1 ] || "$here/chroot" sh -c "command -v $t" >/dev/null 2>&1; then
		[[ "$line" =~ ^"$t "/[^\ ]+\ [0-9a-f]{64} ]] || die "$tools_txt: $t is installed but not hashed: $line"
	else
		[ "$line" = "$t missing" ] || die "$tools_txt: $t is not installed but: $line"
	fi
done
echo "$tools_txt: ${#want[@]} tools, each hashed or named missing: ${want[*]}"

step "done"
echo "bazel ci: all checks passed in $((SECONDS - start))s"
