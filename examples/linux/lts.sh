#!/usr/bin/env bash
# examples/linux/lts.sh [WORKDIR]
#
# Module hashes on the long-term-support kernels, x86_64, built with this
# host's (Debian 12's) gcc 12, as e2e.sh does for 7.3: per version
# (LTS_VERSIONS, default "6.12 6.1"; Debian's linux-source-6.12 from
# bookworm-security and linux-source-6.1 from bookworm):
#
#  1. tree A gets the whole series of kbuild/patches/linux-VERSION (kernel
#     side + in-tree kbuild), tree B the kernel side only (0001, 0002);
#  2. both configured as e2e.sh's kernel (tinyconfig + config.fragment +
#     config.x86_64.fragment), A built with plain `make`, B with the
#     out-of-tree driver kbuild/module-hashes.mk on unmodified kbuild, in
#     place at their own paths with the fixed build environment; all builds
#     run side by side;
#  3. vmlinux keeps the .BTF of vmlinux.unstripped, the vmlinux the modules'
#     BTF was made against;
#  4. incremental builds of both: a second make changes nothing (but the
#     .missing-syscalls.d that kbuild writes on every make); touching one
#     module's source rebuilds that module, the tree, vmlinux and bzImage
#     only;
#  5. modules_install of both; `modhashes verify` accepts A's installed
#     modules; vmlinux, bzImage, System.map, the root and every installed
#     module are byte-identical in A and B;
#  6. A boots in QEMU (TCG) with module.sig_enforce=1: every in-tree module
#     loads (kmod's modprobe), a flipped byte, another module's proof, an
#     unsigned module and one stripped after install are refused, as
#     `modhashes verify` predicted.
#
# Needs root for apt-get and Go for modhashes.  WORKDIR (default
# /var/tmp/modhashes-lts) needs about 3 GB per version.  JOBS (default: CPUs)
# is make -j for each build.  LTS_CACHE (default WORKDIR/cache) is where the
# sources are unpacked (cross.sh's cache-lts can be shared).  LTS_REUSE=1
# keeps existing builds (for working on the later steps).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=examples/linux/checks.sh
. "$here/checks.sh"
repo=$(cd "$here/../.." && pwd)
work=${1:-/var/tmp/modhashes-lts}
work=$(mkdir -p "$work" && cd "$work" && pwd)
jobs=${JOBS:-$(nproc)}
read -ra versions <<< "${LTS_VERSIONS:-6.12 6.1}"
# What config.x86_64.fragment asks for that a version cannot have: 6.1 has
# no MODULE_COMPRESS / MODULE_COMPRESS_ALL symbols, and its in-kernel
# decompression is gzip and xz only (kmod decompresses the zstd modules).
declare -A not_on=([6.1]="CONFIG_MODULE_COMPRESS=y CONFIG_MODULE_COMPRESS_ALL=y CONFIG_MODULE_DECOMPRESS=y")

phase "packages"
need_packages gcc libc6-dev make bc flex bison libelf-dev libssl-dev dwarves cpio xz-utils zstd kmod \
	python3 binutils patch busybox-static qemu-system-x86
busybox=$(command -v busybox || true)
[ -x /bin/busybox ] && busybox=/bin/busybox
[ -n "$busybox" ] || die "busybox not found"
echo "gcc: $(gcc --version | head -1); pahole: $(pahole --version)"

phase "modhashes"
mkdir -p "$work/bin"
(cd "$repo" && CGO_ENABLED=0 go build -o "$work/bin/modhashes" ./tools/modhashes)
mh=$work/bin/modhashes

declare -A pristine
for v in "${versions[@]}"; do
	case $v in 6.12 | 6.1) ;; *) die "LTS_VERSIONS: $v is not 6.12 or 6.1" ;; esac
	phase "fetch Linux $v"
	pristine[$v]=$(APT_STATE=$work/apt-bookworm APT_SUITES="bookworm bookworm-security" \
		"$here/fetch-linux-source.sh" "$v" "${LTS_CACHE:-$work/cache}")
	echo "${pristine[$v]}"
done

# Trees built in place at different paths and depths, as in e2e.sh.
srcA() { echo "$work/$1/a/linux-$1"; }
srcB() { echo "$work/$1/b/src/kernel"; }
kmake() { # VERSION A|B make-args...
	local v=$1 t=$2 src vars
	shift 2
	if [ "$t" = A ]; then src=$(srcA "$v"); else src=$(srcB "$v"); fi
	mapfile -t vars < <(kbuild_vars "$src" "$mh")
	if [ "$t" = A ]; then
		env "${kbuild_env[@]}" make -C "$src" "${vars[@]}" "$@"
	else
		env "${kbuild_env[@]}" make -f "$repo/kbuild/module-hashes.mk" KSRC="$src" "${vars[@]}" "$@"
	fi
}

reuse=0
if [ "${LTS_REUSE:-0}" = 1 ]; then
	reuse=1
	for v in "${versions[@]}"; do
		[ -f "$(srcA "$v")/vmlinux" ] && [ -f "$(srcB "$v")/.module_hashes.stamp" ] || reuse=0
	done
fi

if [ $reuse = 0 ]; then
phase "source trees"
for v in "${versions[@]}"; do
	rm -rf "${work:?}/$v"
	mkdir -p "$(dirname "$(srcA "$v")")" "$(dirname "$(srcB "$v")")"
	cp -a "${pristine[$v]}" "$(srcA "$v")" &
	cp -a "${pristine[$v]}" "$(srcB "$v")" &
	wait
	patches=$repo/kbuild/patches/linux-$v
	for p in "$patches"/*.patch; do
		patch -d "$(srcA "$v")" -p1 -s -F0 --no-backup-if-mismatch < "$p"
	done
	for p in "$patches"/000[12]-*.patch; do
		patch -d "$(srcB "$v")" -p1 -s -F0 --no-backup-if-mismatch < "$p"
	done
	echo "$v: A $(srcA "$v") (all of $(ls "$patches"/*.patch | wc -l) patches), B $(srcB "$v") (kernel side only)"
done

phase "configure"
configure() { # VERSION A|B
	local v=$1 src line bad=0
	if [ "$2" = A ]; then src=$(srcA "$v"); else src=$(srcB "$v"); fi
	env "${kbuild_env[@]}" make -C "$src" -s tinyconfig
	(cd "$src" && scripts/kconfig/merge_config.sh -m .config "$here/config.fragment" "$here/config.x86_64.fragment" >/dev/null)
	env "${kbuild_env[@]}" make -C "$src" -s olddefconfig
	while read -r line; do
		case " ${not_on[$v]:-} " in *" $line "*) continue ;; esac
		grep -qx "$line" "$src/.config" || { echo "$v $2: not set: $line"; bad=1; }
	done < <(grep -h '^CONFIG_' "$here/config.fragment" "$here/config.x86_64.fragment")
	return $bad
}
for v in "${versions[@]}"; do
	configure "$v" A || die "$v: configuration A"
	configure "$v" B || die "$v: configuration B"
	cmp -s "$(srcA "$v")/.config" "$(srcB "$v")/.config" || die "$v: A and B are configured differently"
	pass "$v: configured: $(grep -c '=[ym]$' "$(srcA "$v")/.config") options, MODULE_HASHES and MODULE_SIG_FORCE on"
done

# All builds side by side: each has long single-threaded stretches
# (linking, kallsyms, pahole) that the others fill.
phase "build $(printf '%s A and B, ' "${versions[@]}")side by side (make -j$jobs each)"
pids=()
for v in "${versions[@]}"; do
	for t in A B; do
		(
			s=$(date +%s)
			kmake "$v" "$t" -j"$jobs" > "$work/$v/build$t.log" 2>&1
			echo "$v $t: built in $(($(date +%s) - s))s, log $work/$v/build$t.log"
		) &
		pids+=("$!:$v:$t")
	done
done
for p in "${pids[@]}"; do
	IFS=: read -r pid v t <<< "$p"
	wait "$pid" || { tail -40 "$work/$v/build$t.log"; die "$v: build $t failed (log $work/$v/build$t.log)"; }
done
fi

check_version() { # VERSION
	local v=$1 a b release modA modB table n m ir
	a=$(srcA "$v")
	b=$(srcB "$v")

	phase "$v: BTF of the final vmlinux"
	same_btf "$v" "$a/vmlinux.unstripped" "$a/vmlinux" "$work/$v/btf"

	phase "$v: incremental A"
	INCR_IGNORE=.missing-syscalls.d incremental "$v A" "$a" "$work/$v/incrA.log" kmake "$v" A -j"$jobs"
	phase "$v: incremental B"
	INCR_IGNORE=.missing-syscalls.d incremental "$v B" "$b" "$work/$v/incrB.log" kmake "$v" B -j"$jobs"

	phase "$v: modules_install"
	rm -rf "$work/$v/a/root" "$work/$v/b/root"
	kmake "$v" A modules_install INSTALL_MOD_PATH="$work/$v/a/root" > "$work/$v/installA.log" 2>&1 ||
		{ cat "$work/$v/installA.log"; die "$v: modules_install A failed"; }
	kmake "$v" B modules_install INSTALL_MOD_PATH="$work/$v/b/root" > "$work/$v/installB.log" 2>&1 ||
		{ cat "$work/$v/installB.log"; die "$v: modules_install B failed"; }
	release=$(cat "$a/include/config/kernel.release")
	[ "$release" = "$(cat "$b/include/config/kernel.release")" ] || die "$v: kernel releases differ"
	modA=$work/$v/a/root/lib/modules/$release
	modB=$work/$v/b/root/lib/modules/$release
	n=$(find "$modA/kernel" -name '*.ko*' -type f | wc -l)
	if [ "$n" = "$(grep -c . "$a/modules.order")" ] &&
		"$mh" verify --vmlinux "$a/vmlinux" "$modA/kernel" > "$work/$v/verify-installed.txt"; then
		pass "$v: modhashes verify: all $n installed modules of A ($(find "$modA/kernel" -name '*.ko*' -type f | sed 's/.*\.ko//' | sort -u | paste -sd' ')) would load"
	else
		cat "$work/$v/verify-installed.txt"; fail "$v: A installed $n modules, or modhashes verify rejects some"
	fi

	phase "$v: A ($a) vs B ($b)"
	table=$work/$v/reproducibility.txt
	{
		printf '%-40s %-64s %s\n' artifact sha256 identical
		same=1
		same_row vmlinux "$a/vmlinux" "$b/vmlinux"
		same_row bzImage "$a/arch/x86/boot/bzImage" "$b/arch/x86/boot/bzImage"
		same_row System.map "$a/System.map" "$b/System.map"
		same_row "root (.module_hashes)" "$a/.module_hashes.bin" "$b/.module_hashes.bin"
		while read -r m; do
			same_row "${m#kernel/}" "$modA/$m" "$modB/$m"
		done < <(cd "$modA" && find kernel -name '*.ko*' -type f | sort)
		[ "$(cd "$modB" && find kernel -name '*.ko*' -type f | wc -l)" = "$n" ] || { echo "B has other modules"; same=0; }
		echo "same=$same"
	} > "$table"
	grep -v '^same=' "$table"
	if grep -qx 'same=1' "$table"; then pass "$v: vmlinux, bzImage, System.map, the root and all installed modules are byte-identical"
	else fail "$v: A and B differ"; fi

	phase "$v: initramfs with A's installed modules and four bad ones"
	ir=$work/$v/initramfs
	# kmod (this host's) loads every module: it decompresses what the
	# kernel cannot (6.1: zstd) and the check runs on the same bytes.
	KMOD_ROOT=/ BOOT_MODPROBE_ALL=1 boot_initramfs "$ir" "$a" "$work/$v/a/root" "$release" "$busybox" "$mh" \
		"$work/$v/verify.json" || die "$v: initramfs"

	phase "$v: boot A in qemu-system-x86_64 (TCG)"
	boot_check "$v" "$work/$v/serial.log" "$work/$v/verify.json" "$ir/cases" qemu-system-x86_64 -m 256M \
		-kernel "$a/arch/x86/boot/bzImage" -initrd "$ir/initramfs.cpio.gz" \
		-append "console=ttyS0 loglevel=7 panic=-1 module.sig_enforce=1"
	grep -q "^Linux version $release " <(sed 's/^\[[ 0-9.]*\] //' "$work/$v/serial.log") ||
		fail "$v: the booted kernel is not $release"
}

for v in "${versions[@]}"; do
	check_version "$v"
done

phase "summary"
for v in "${versions[@]}"; do
	echo "$v: $(srcA "$v")/arch/x86/boot/bzImage, $work/$v/a/root"
done
finish
