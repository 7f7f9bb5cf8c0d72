# Sourced by e2e.sh, cross.sh and bazel.sh: how they count and report
# checks, install what they need, compare outputs and boot a kernel (with
# initramfs.sh's boot_initramfs, plain and build_id).
#
# phase TEXT, pass TEXT, fail TEXT, die TEXT: a heading with the seconds
#   since the script started; a passed or failed check (counted); a fatal
#   error, counted as a failure, that ends the script.
# finish: the time and the counts; fails if any check failed.
# need_packages PKG...: installs the Debian packages that are missing.
# kbuild_env, kbuild_vars SRC MODHASHES: the environment and make variables
#   of e2e.sh's Make builds of a tree built in place at SRC.
# same_btf NAME LINKED FINAL DIR: FINAL, the vmlinux with the root, carries
#   the .BTF of LINKED, the vmlinux the modules' BTF was made against
#   (dumped into DIR with $mh, modhashes).
# like_llvm_objcopy NAME LINKED FINAL ROOT DIR: of what the kernel loads,
#   FINAL differs from LINKED (a vmlinux of an LLVM=1 build) in the root
#   alone, and not at all from what llvm-objcopy --update-section writes
#   with ROOT (.module_hashes.bin), made in DIR.
# incremental NAME TREE LOG MAKE...: the incremental builds of a tree built
#   in place, by the command MAKE...: see below.
# same_row NAME FILE_A FILE_B [WHO_B]: one row of a table of sha256 digests,
#   "yes" where the two files are identical; clears $same where not.
# boot_check NAME LOG VERIFY_JSON CASES QEMU ARG...: boots QEMU (a machine,
#   a kernel, an initramfs from boot_initramfs, a command line) with its
#   serial console in LOG, then checks that the kernel decided on every case
#   as modhashes verify predicted (bootcheck.py).

checks_name=$(basename "$0" .sh)
checks_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=examples/linux/initramfs.sh
. "$checks_here/initramfs.sh"
t0=$(date +%s)
passed=0
failed=0
phase() { printf '\n== %s (%ds)\n' "$*" $(($(date +%s) - t0)); }
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
die() {
	echo "$checks_name: $*" >&2
	echo "$checks_name: $passed passed, $((failed + 1)) failed"
	exit 1
}
finish() {
	echo "total time: $(($(date +%s) - t0))s"
	echo "$checks_name: $passed passed, $failed failed"
	[ "$failed" = 0 ]
}

# Everything that may differ between two builds of the same source, fixed
# (the values //examples/linux's actions use); the debug info names the
# tree, so map it away.
kbuild_env=(KBUILD_BUILD_TIMESTAMP='Thu Jan  1 00:00:00 UTC 2026' KBUILD_BUILD_USER=modhashes
	KBUILD_BUILD_HOST=modhashes KBUILD_BUILD_VERSION=1 LC_ALL=C TZ=UTC)
kbuild_vars() { # SRC MODHASHES
	local map="-fdebug-prefix-map=$1=/usr/src/linux"
	# Host tools too: objtool and resolve_btfids (built with -g) go into
	# the linux-headers package.
	printf '%s\n' "MODHASHES=$2" "KCFLAGS=$map" "KAFLAGS=$map" "HOSTCFLAGS=-ffile-prefix-map=$1=/usr/src/linux"
}

need_packages() {
	local p missing=()
	for p in "$@"; do
		dpkg-query -W -f '${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	echo "installing: ${missing[*]}"
	# One apt at a time: .ci/run runs cross.sh and lts.sh side by side.
	(
		flock 9
		apt-get update -q >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
	) 9>/var/lock/modhashes-apt.lock
}

same_btf() {
	local name=$1 linked=$2 final=$3 dir=$4
	mkdir -p "$dir"
	"$mh" section dump .BTF "$linked" "$dir/unstripped"
	"$mh" section dump .BTF "$final" "$dir/final"
	if cmp -s "$dir/unstripped" "$dir/final" && [ -s "$dir/final" ]; then
		pass "$name: vmlinux has the .BTF of $(basename "$linked") ($(stat -c %s "$dir/final") bytes)"
	else
		fail "$name: the .BTF of vmlinux differs from that of $(basename "$linked")"
	fi
}

like_llvm_objcopy() {
	local name=$1 linked=$2 final=$3 root=$4 dir=$5 d1 d2
	mkdir -p "$dir"
	llvm-objcopy --update-section .module_hashes="$root" "$linked" "$dir/llvm-objcopy.vmlinux"
	d1=$(python3 "$checks_here/bootcheck.py" loaded-diff "$linked" "$final") || d1+=" (and more)"
	d2=$(python3 "$checks_here/bootcheck.py" loaded-diff "$dir/llvm-objcopy.vmlinux" "$final") || d2+=" (and more)"
	if [ "$d1" = .module_hashes ] && [ -z "$d2" ]; then
		pass "$name: of the loaded bytes only .module_hashes changed, as llvm-objcopy --update-section writes it"
	else
		fail "$name: loaded bytes differ from $(basename "$linked") in: $d1; from llvm-objcopy's in: $d2"
	fi
}

# A make changes no file when nothing changed; after touching one module's
# source, only that module, the tree, vmlinux and the boot image (and
# kbuild's and the driver's bookkeeping of them) are written again; the make
# after that changes nothing again. Written means a newer ctime: the driver
# sets vmlinux's mtime back. INCR_IGNORE: a file name kbuild writes on every
# make (6.12, 6.1: .missing-syscalls.d).
incremental() {
	local name=$1 src=$2 log=$3 stamp changed module=lib/test_hexdump want f ok=1 ignore=()
	shift 3
	stamp=$(mktemp "$src/../.stamp.XXXXXX")
	[ -z "${INCR_IGNORE:-}" ] || ignore=(! -name "$INCR_IGNORE")
	written() { (cd "$src" && find . -cnewer "$stamp" -type f "${ignore[@]}" | sed 's|^\./||' | sort); }
	"$@" > "$log" 2>&1 || { tail -20 "$log"; die "$name: make failed"; }
	changed=$(written)
	if [ -z "$changed" ]; then pass "$name: make again changes nothing"
	else fail "$name: make again changed: $(echo $changed)"; fi

	touch "$stamp" "$src/$module.c"
	"$@" > "$log" 2>&1 || { tail -20 "$log"; die "$name: make failed"; }
	changed=$(written)
	echo "$name: written after touching $module.c:"
	echo "$changed" | sed 's/^/    /'
	for want in "$module.ko" .module_hashes.bin vmlinux arch/x86/boot/bzImage; do
		echo "$changed" | grep -qx -- "$want" || { echo "    missing: $want"; ok=0; }
	done
	for f in $changed; do
		case $f in
		"$module".* | "$(dirname "$module")/.$(basename "$module")".* | lib/*.merkle) ;;
		.module_hashes.bin | ..module_hashes.bin.cmd | .module_hashes.stamp | ..module_hashes.stamp.cmd) ;;
		.module_hashes.linked) ;; # the driver before 6.15: the mtime of kbuild's vmlinux
		vmlinux | .vmlinux.cmd | arch/x86/boot/* | arch/x86/boot/compressed/*) ;;
		modules.order | */modules.order | .modules.order.cmd | */.modules.order.cmd) ;;
		Module.symvers | .Module.symvers.cmd) ;;
		*) echo "    unexpected: $f"; ok=0 ;;
		esac
	done
	if [ $ok = 1 ]; then pass "$name: touching $module.c rebuilds that module, the tree, vmlinux and bzImage only"
	else fail "$name: touching $module.c rebuilt the wrong set"; fi

	touch "$stamp"
	"$@" > "$log" 2>&1 || { tail -20 "$log"; die "$name: make failed"; }
	changed=$(written)
	if [ -z "$changed" ]; then pass "$name: and make after that changes nothing"
	else fail "$name: make after the rebuild changed: $(echo $changed)"; fi
	rm -f "$stamp"
}

same=1
same_row() {
	local a b
	a=$(sha256sum <"$2" | cut -d' ' -f1)
	b=$(sha256sum <"$3" 2>/dev/null | cut -d' ' -f1)
	if [ "$a" = "$b" ]; then printf '%-40s %-64s %s\n' "$1" "$a" yes
	else printf '%-40s %-64s %s\n' "$1" "$a" "NO (${4:-B}: ${b:-missing})"; same=0; fi
}

boot_check() {
	local name=$1 log=$2 json=$3 cases=$4
	shift 4
	rm -f "$log"
	timeout 300 "$@" -accel tcg -smp 1 -nodefaults -display none -no-reboot -serial "file:$log" ||
		{ tail -30 "$log" 2>/dev/null || true; fail "$name: qemu failed or timed out (log: $log)"; return 0; }
	echo "serial console: $log ($(wc -l <"$log") lines)"
	grep -E 'E2E|Loading of|insmod|module hashes|Linux version' "$log" | head -60
	if python3 "$checks_here/bootcheck.py" check "$json" "$cases" "$log"; then
		pass "$name: the kernel did what modhashes verify predicted for all $(wc -l <"$cases") modules"
	else
		fail "$name: kernel and modhashes verify disagree (log: $log)"
	fi
}
