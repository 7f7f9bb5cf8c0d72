#!/usr/bin/env bash
# examples/linux/lts.sh [WORKDIR]
#
# Module hashes on the long-term-support kernels, x86_64, built with this
# host's (Debian 12's) toolchains, as e2e.sh does for 7.3: per version
# (LTS_VERSIONS, default "6.12 6.1"; Debian's linux-source-6.12 from
# bookworm-security and linux-source-6.1 from bookworm), with clang 14 and
# lld (LLVM=1) for the versions in LTS_LLVM (default "6.12": the Android
# case through Make, the in-tree patch and the driver) and gcc 12 for the
# others (6.1: Debian 12's own kernel):
#
#  1. one tree with the whole series of kbuild/patches/linux-VERSION (kernel
#     side + in-tree kbuild), configured as e2e.sh's kernel (tinyconfig +
#     config.fragment + config.x86_64.fragment) and built with plain `make`
#     (A), in place, with the fixed build environment; the versions side by
#     side;
#  2. vmlinux keeps the .BTF of vmlinux.unstripped, the vmlinux the modules'
#     BTF was made against; with LLVM, what vmlinux loads differs from
#     vmlinux.unstripped in the root alone, as llvm-objcopy writes it;
#     incremental builds: a second make changes
#     nothing (but the .missing-syscalls.d kbuild writes on every make);
#     touching one module's source rebuilds that module, the tree, vmlinux
#     and bzImage only; modules_install, `modhashes verify` of it;
#  3. B: the kbuild patches reverted (unmodified kbuild, the kernel side
#     only: 0001, 0002), every output of the kbuild side removed (vmlinux,
#     vmlinux.unstripped, modules, stripped modules, proofs, root, boot
#     image) and built again by the out-of-tree driver
#     kbuild/module-hashes.mk: the objects are shared, everything the two
#     kbuild sides do differently is done again.  (e2e.sh builds its two
#     7.3 trees from nothing at different paths: the compiled objects do
#     not depend on the tree's path or on the kbuild side.)  The same
#     incremental checks and modules_install; vmlinux, bzImage, System.map,
#     the root and every installed module byte-identical to A's;
#  4. A boots in QEMU (TCG) with module.sig_enforce=1: every in-tree module
#     loads (kmod's modprobe), a flipped byte, another module's proof, an
#     unsigned module and one stripped after install are refused, as
#     `modhashes verify` predicted; the kernel names its compiler.
#
# Needs root for apt-get and Go for modhashes.  WORKDIR (default
# /var/tmp/modhashes-lts) needs about 2 GB per version.  JOBS (default: CPUs)
# is make -j for each build.  LTS_CACHE (default WORKDIR/cache) is where the
# sources are unpacked (cross.sh's cache-lts can be shared).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=examples/linux/checks.sh
. "$here/checks.sh"
repo=$(cd "$here/../.." && pwd)
work=${1:-/var/tmp/modhashes-lts}
work=$(mkdir -p "$work" && cd "$work" && pwd)
jobs=${JOBS:-$(nproc)}
read -ra versions <<< "${LTS_VERSIONS:-6.12 6.1}"
llvm_versions=" ${LTS_LLVM-6.12} "
# llvm VERSION: kbuild's toolchain variable for it, if any.
llvm() { case $llvm_versions in *" $1 "*) echo LLVM=1 ;; esac; }
# What config.x86_64.fragment asks for that a version cannot have: 6.1 has
# no MODULE_COMPRESS / MODULE_COMPRESS_ALL symbols, and its in-kernel
# decompression is gzip and xz only (kmod decompresses the zstd modules).
declare -A not_on=([6.1]="CONFIG_MODULE_COMPRESS=y CONFIG_MODULE_COMPRESS_ALL=y CONFIG_MODULE_DECOMPRESS=y")

phase "packages"
need_packages gcc libc6-dev make bc flex bison libelf-dev libssl-dev dwarves cpio xz-utils zstd kmod \
	python3 binutils patch busybox-static qemu-system-x86 clang lld llvm
busybox=$(command -v busybox || true)
[ -x /bin/busybox ] && busybox=/bin/busybox
[ -n "$busybox" ] || die "busybox not found"
echo "gcc: $(gcc --version | head -1); clang: $(clang --version | head -1); pahole: $(pahole --version)"

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

tree() { echo "$work/$1/linux-$1"; }
kmake() { # VERSION A|B make-args...: A plain make (in-tree kbuild), B the driver
	local v=$1 t=$2 src vars
	shift 2
	src=$(tree "$v")
	mapfile -t vars < <(kbuild_vars "$src" "$mh"; llvm "$v")
	if [ "$t" = A ]; then
		env "${kbuild_env[@]}" make -C "$src" "${vars[@]}" "$@"
	else
		env "${kbuild_env[@]}" make -f "$repo/kbuild/module-hashes.mk" KSRC="$src" "${vars[@]}" "$@"
	fi
}
side_by_side() { # A|B: builds every version's tree, side by side
	local t=$1 p pid v pids=()
	for v in "${versions[@]}"; do
		(
			s=$(date +%s)
			kmake "$v" "$t" -j"$jobs" > "$work/$v/build$t.log" 2>&1
			echo "$v $t: built in $(($(date +%s) - s))s, log $work/$v/build$t.log"
		) &
		pids+=("$!:$v")
	done
	for p in "${pids[@]}"; do
		IFS=: read -r pid v <<< "$p"
		wait "$pid" || { tail -40 "$work/$v/build$t.log"; die "$v: build $t failed (log $work/$v/build$t.log)"; }
	done
}

phase "source trees"
for v in "${versions[@]}"; do
	rm -rf "${work:?}/$v"
	mkdir -p "$work/$v"
	cp -a "${pristine[$v]}" "$(tree "$v")"
	for p in "$repo/kbuild/patches/linux-$v"/*.patch; do
		patch -d "$(tree "$v")" -p1 -s -F0 --no-backup-if-mismatch < "$p"
	done
	echo "$v: $(tree "$v"), all of $(ls "$repo/kbuild/patches/linux-$v"/*.patch | wc -l) patches"
done

phase "configure"
for v in "${versions[@]}"; do
	src=$(tree "$v")
	env "${kbuild_env[@]}" make -C "$src" $(llvm "$v") -s tinyconfig
	(cd "$src" && scripts/kconfig/merge_config.sh -m .config "$here/config.fragment" "$here/config.x86_64.fragment" >/dev/null)
	env "${kbuild_env[@]}" make -C "$src" $(llvm "$v") -s olddefconfig
	bad=0
	while read -r line; do
		case " ${not_on[$v]:-} " in *" $line "*) continue ;; esac
		grep -qx "$line" "$src/.config" || { echo "$v: not set: $line"; bad=1; }
	done < <(grep -h '^CONFIG_' "$here/config.fragment" "$here/config.x86_64.fragment")
	if [ -n "$(llvm "$v")" ]; then
		grep -qx CONFIG_CC_IS_CLANG=y "$src/.config" && grep -qx CONFIG_LD_IS_LLD=y "$src/.config" ||
			{ echo "$v: not CC_IS_CLANG and LD_IS_LLD"; bad=1; }
	fi
	[ $bad = 0 ] || die "$v: configuration"
	pass "$v: configured for $(sed -n 's/^CONFIG_CC_VERSION_TEXT="\(.*\)"$/\1/p' "$src/.config"): $(grep -c '=[ym]$' "$src/.config") options, MODULE_HASHES and MODULE_SIG_FORCE on"
done

# Each build has long single-threaded stretches (linking, kallsyms, pahole)
# that the others fill.
phase "build A: $(printf '%s ' "${versions[@]}")with plain make (in-tree kbuild), side by side (make -j$jobs each)"
side_by_side A

# The outputs compared between A and B.
outputs=(vmlinux arch/x86/boot/bzImage System.map .module_hashes.bin)

# install_modules VERSION A|B: modules_install into WORKDIR/VERSION/rootA or rootB.
install_modules() {
	kmake "$1" "$2" modules_install INSTALL_MOD_PATH="$work/$1/root$2" > "$work/$1/install$2.log" 2>&1 ||
		{ cat "$work/$1/install$2.log"; die "$1: modules_install $2 failed"; }
}
# modules VERSION: each module of modules.order, without .o or .ko.
modules() { sed 's/\.k\?o$//' "$(tree "$1")/modules.order"; }

check_a() { # VERSION
	local v=$1 src release n f
	src=$(tree "$v")
	phase "$v A: BTF of the final vmlinux"
	same_btf "$v A" "$src/vmlinux.unstripped" "$src/vmlinux" "$work/$v/btf"
	[ -z "$(llvm "$v")" ] ||
		like_llvm_objcopy "$v A" "$src/vmlinux.unstripped" "$src/vmlinux" "$src/.module_hashes.bin" "$work/$v/btf"
	phase "$v A: incremental"
	INCR_IGNORE=.missing-syscalls.d incremental "$v A" "$src" "$work/$v/incrA.log" kmake "$v" A -j"$jobs"

	phase "$v A: modules_install"
	install_modules "$v" A
	release=$(cat "$src/include/config/kernel.release")
	n=$(find "$work/$v/rootA/lib/modules/$release/kernel" -name '*.ko*' -type f | wc -l)
	if [ "$n" = "$(grep -c . "$src/modules.order")" ] &&
		"$mh" verify --vmlinux "$src/vmlinux" "$work/$v/rootA/lib/modules/$release/kernel" > "$work/$v/verify-installed.txt"; then
		pass "$v A: modhashes verify: all $n installed modules ($(find "$work/$v/rootA" -name '*.ko*' -type f | sed 's/.*\.ko//' | sort -u | paste -sd' ')) would load"
	else
		cat "$work/$v/verify-installed.txt"; fail "$v A: $n modules installed, or modhashes verify rejects some"
	fi
	mkdir -p "$work/$v/a"
	for f in "${outputs[@]}"; do cp "$src/$f" "$work/$v/a/"; done
}

# A to B: unmodified kbuild, and nothing left of what A's kbuild side made.
to_b() { # VERSION
	local v=$1 src p
	src=$(tree "$v")
	for p in $(ls -r "$repo/kbuild/patches/linux-$v"/*.patch); do
		case ${p##*/} in 000[12]-*) continue ;; esac
		patch -d "$src" -p1 -R -s -F0 --no-backup-if-mismatch < "$p"
	done
	(cd "$src" && rm -f vmlinux vmlinux.unstripped .module_hashes.* ..module_hashes.* arch/x86/boot/bzImage \
		$(modules "$v" | sed 's/$/.ko/; p; s/$/.stripped/; p; s/\.ko\.stripped$/.merkle/'))
}

check_b() { # VERSION
	local v=$1 src release modA modB table m f missing=
	src=$(tree "$v")
	# Everything to_b removed was made again; vmlinux.unstripped, which
	# unmodified kbuild has no rule for, was not.
	for f in "${outputs[@]}" $(modules "$v" | sed 's/$/.ko/; p; s/\.ko$/.merkle/'); do
		[ -f "$src/$f" ] || missing+=" $f"
	done
	if [ -z "$missing" ] && [ ! -e "$src/vmlinux.unstripped" ]; then
		pass "$v B: the driver on unmodified kbuild made vmlinux, the modules, their proofs, the root and bzImage again"
	else
		fail "$v B: not made again:$missing$([ ! -e "$src/vmlinux.unstripped" ] || echo ", and vmlinux.unstripped exists")"
	fi
	phase "$v B: incremental"
	INCR_IGNORE=.missing-syscalls.d incremental "$v B" "$src" "$work/$v/incrB.log" kmake "$v" B -j"$jobs"

	phase "$v B: modules_install"
	install_modules "$v" B
	release=$(cat "$src/include/config/kernel.release")
	modA=$work/$v/rootA/lib/modules/$release
	modB=$work/$v/rootB/lib/modules/$release

	phase "$v: A (in-tree kbuild) vs B (the driver)"
	table=$work/$v/reproducibility.txt
	{
		printf '%-40s %-64s %s\n' artifact sha256 identical
		same=1
		for f in "${outputs[@]}"; do
			same_row "$f" "$work/$v/a/${f##*/}" "$src/$f"
		done
		while read -r m; do
			same_row "${m#kernel/}" "$modA/$m" "$modB/$m"
		done < <(cd "$modA" && find kernel -name '*.ko*' -type f | sort)
		[ "$(cd "$modB" && find kernel -name '*.ko*' -type f | wc -l)" = "$(cd "$modA" && find kernel -name '*.ko*' -type f | wc -l)" ] ||
			{ echo "B has other modules"; same=0; }
		echo "same=$same"
	} > "$table"
	grep -v '^same=' "$table"
	if grep -qx 'same=1' "$table"; then pass "$v: vmlinux, bzImage, System.map, the root and all installed modules are byte-identical"
	else fail "$v: A and B differ"; fi
}

boot_a() { # VERSION
	local v=$1 src release ir
	src=$(tree "$v")
	release=$(cat "$src/include/config/kernel.release")
	phase "$v: initramfs with A's installed modules and four bad ones"
	ir=$work/$v/initramfs
	# kmod (this host's) loads every module: it decompresses what the
	# kernel cannot (6.1: zstd) and the check runs on the same bytes.
	KMOD_ROOT=/ BOOT_MODPROBE_ALL=1 boot_initramfs "$ir" "$src" "$work/$v/rootA" "$release" "$busybox" "$mh" \
		"$work/$v/verify.json" || die "$v: initramfs"

	phase "$v: boot A in qemu-system-x86_64 (TCG)"
	boot_check "$v" "$work/$v/serial.log" "$work/$v/verify.json" "$ir/cases" qemu-system-x86_64 -m 256M \
		-kernel "$work/$v/a/bzImage" -initrd "$ir/initramfs.cpio.gz" \
		-append "console=ttyS0 loglevel=7 panic=-1 module.sig_enforce=1"
	local banner
	banner=$(grep -a -o 'Linux version .*' "$work/$v/serial.log" | head -1 | tr -d '\r')
	echo "$banner"
	case $banner in
	"Linux version $release "*"$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\(.*\)"$/\1/p' "$src/.config")"*)
		pass "$v: the booted kernel is $release, built by the configured compiler" ;;
	*) fail "$v: the booted kernel is not $release built by $(sed -n 's/^CONFIG_CC_VERSION_TEXT=//p' "$src/.config")" ;;
	esac
}

for v in "${versions[@]}"; do
	check_a "$v"
	to_b "$v"
done
phase "build B: $(printf '%s ' "${versions[@]}")with the driver on unmodified kbuild, side by side (make -j$jobs each)"
side_by_side B
for v in "${versions[@]}"; do
	check_b "$v"
	boot_a "$v"
done

phase "summary"
for v in "${versions[@]}"; do
	echo "$v: $work/$v/a/bzImage, $work/$v/rootA"
done
finish
