#!/usr/bin/env bash
# examples/linux/cross.sh [WORKDIR]
#
# Module hashes on cross-built kernels, built on this host (Debian 12) and
# booted under QEMU (TCG):
#  - arm64 (little-endian): the Android GKI case, Linux 6.12 (Debian's
#    linux-source-6.12) built with LLVM=1 (sid's clang and lld, in the Bazel
#    chroot) by the Bazel rules: //examples/linux's *_gki targets (the
#    kernel side of kbuild/patches/linux-6.12 only, kbuild's post-linked
#    vmlinux as the placeholder, the root written into it);
#  - s390x (big-endian, relocations kept in vmlinux): Debian's Linux 7.3
#    with all of kbuild/patches/linux-7.3 (the in-tree kbuild patch), GCC.
#
#  1. packages: Debian's cross compilers, clang/lld and QEMU; busybox-static
#     of each target architecture (fetch-deb.sh, without adding dpkg
#     architectures); the Bazel chroot (tools/bazel/setup.sh);
#  2. s390x: one patched source tree, tinyconfig + config.fragment +
#     config.s390x.fragment, built by make while Bazel builds arm64; modhashes is run through a wrapper whose
#     PATH holds modhashes alone, so the tree, finalize and install steps
#     cannot reach a compiler, objcopy or openssl (the wrapper asserts it
#     and logs each run; Bazel's actions are bazel.sh's to check);
#  3. checks per architecture: vmlinux keeps the .BTF of the vmlinux the
#     modules were linked against (vmlinux.unstripped; on 6.12, kbuild's
#     own vmlinux, the rules' placeholder, whose root must be the only
#     bytes that differ); modules_install (Bazel's install target on
#     arm64); `modhashes verify` of the installed modules;
#     .module_hashes of the final vmlinux holds `levels` in the target's
#     byte order (raw bytes and `modhashes inspect`); modhashes ran with the
#     restricted PATH; then the boot of the x86_64 e2e: every in-tree module
#     loads with enforcement, a flipped byte, another module's proof, an
#     unsigned module and one stripped after install are refused, `modhashes
#     verify` predicted every outcome;
#  4. DKMS beside the tree, on s390x: MODULE_SIG with MODULE_HASHES, no key
#     made by the build (MODULE_SIG_KEY=""), the certificate of a key made
#     here in SYSTEM_TRUSTED_KEYS; the out-of-tree module hello/ built
#     with make M= after the kernel and signed with scripts/sign-file loads
#     by its PKCS#7 signature under enforcement, unsigned it is refused.
#
# Leaves WORKDIR/arm64/Image.gz, WORKDIR/s390x/bzImage and the uncompressed
# modules in WORKDIR/<arch>/lib/modules/<release>/.  Needs root for apt-get
# and Go for modhashes.  WORKDIR (default /var/tmp/modhashes-cross) needs
# about 6 GB.  JOBS (default: CPUs) is make -j for each build.  LINUX_CACHE
# (default WORKDIR/cache) is where the 7.3 source is unpacked (a directory
# fetch-linux-source.sh already filled is reused; 6.12's goes to
# WORKDIR/cache-lts).  CROSS_REUSE=1 keeps
# existing builds (for working on the later steps).  CROSS_ARCHES (default
# "arm64 s390x") picks the architectures.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=examples/linux/checks.sh
. "$here/checks.sh"
repo=$(cd "$here/../.." && pwd)
work=${1:-/var/tmp/modhashes-cross}
work=$(mkdir -p "$work" && cd "$work" && pwd)
jobs=${JOBS:-$(nproc)}
read -ra arches <<< "${CROSS_ARCHES:-arm64 s390x}"

# Per architecture: kernel version, how kbuild is run (intree: plain make
# with all patches; bazel: the rules, //examples/linux's *_gki targets, the
# kernel side only; lts.sh checks the driver),
# kbuild ARCH, toolchain, boot image, QEMU command line, console, expected
# byte order.
declare -A kver=([arm64]=6.12 [s390x]=7.3)
declare -A how=([arm64]=bazel [s390x]=intree)
declare -A karch=([arm64]=arm64 [s390x]=s390)
declare -A toolchain=([arm64]=LLVM=1 [s390x]=CROSS_COMPILE=s390x-linux-gnu-)
# binutils of the target, for the initramfs (objcopy) and the checks.
declare -A cross=([arm64]=llvm- [s390x]=s390x-linux-gnu-)
declare -A image=([arm64]=arch/arm64/boot/Image.gz [s390x]=arch/s390/boot/bzImage)
declare -A qemu=([arm64]="qemu-system-aarch64 -M virt -cpu cortex-a57"
	[s390x]="qemu-system-s390x -M s390-ccw-virtio")
declare -A console=([arm64]=ttyAMA0 [s390x]=ttysclp0)
declare -A order=([arm64]=little [s390x]=big)
for a in "${arches[@]}"; do
	[ -n "${karch[$a]:-}" ] || die "CROSS_ARCHES: $a is not one of ${!karch[*]}"
done

phase "packages"
need_packages gcc libc6-dev make bc flex bison libelf-dev libssl-dev openssl dwarves \
	cpio xz-utils kmod python3 binutils patch \
	clang lld llvm gcc-s390x-linux-gnu qemu-system-arm qemu-system-misc
declare -A busybox
for a in "${arches[@]}"; do
	d=$("$here/fetch-deb.sh" "busybox-static:$a" "$work/debs")
	busybox[$a]=$d/bin/busybox
	[ -x "${busybox[$a]}" ] || die "no busybox in $d"
	echo "$a: $(cat "$d/.unpacked")"
done
bazel=$repo/tools/bazel/bazel
bazel_arches=()
for a in "${arches[@]}"; do [ "${how[$a]}" != bazel ] || bazel_arches+=("$a"); done
if [ ${#bazel_arches[@]} -gt 0 ]; then
	bash "$repo/tools/bazel/setup.sh"
	trap '(cd "$repo" && "$bazel" shutdown 2>/dev/null) || true' EXIT
fi

phase "modhashes, and a PATH with modhashes alone"
mkdir -p "$work/bin/restricted"
(cd "$repo" && go build -o "$work/bin/modhashes" ./tools/modhashes)
mh=$work/bin/modhashes
ln -sf "$mh" "$work/bin/restricted/modhashes"
# What kbuild runs as $(MODHASHES): no compiler (target or host), objcopy,
# linker or openssl can be found, or it refuses to run.
forbidden="cc gcc ld objcopy openssl clang ld.lld llvm-objcopy"
for a in "${arches[@]}"; do
	[ "${cross[$a]}" = llvm- ] || forbidden+=" ${cross[$a]}gcc ${cross[$a]}ld ${cross[$a]}objcopy"
done
mhr=$work/bin/modhashes-restricted
cat > "$mhr" <<EOF
#!/bin/sh
PATH=$work/bin/restricted
export PATH
for t in $forbidden; do
	if command -v "\$t" >/dev/null 2>&1; then
		echo "modhashes-restricted: \$t is on PATH" >&2
		exit 1
	fi
done
echo "modhashes \$1 in \$PWD: PATH=\$PATH" >> $work/restricted.log
exec modhashes "\$@"
EOF
chmod +x "$mhr"
for t in $forbidden; do
	PATH=$work/bin/restricted command -v "$t" >/dev/null 2>&1 && die "$t found with the restricted PATH"
	command -v "$t" >/dev/null || die "$t is not installed: the restricted PATH would prove nothing"
done
echo "$mhr: PATH=$work/bin/restricted, none of: $forbidden"

# DKMS's key: made here, outside every build tree; the arm64 kernel trusts
# its certificate (public, and fixed for the builds that share it).
dkms=$work/dkms
if [ ! -f "$dkms/key.pem" ]; then
	mkdir -p "$dkms"
	openssl req -new -nodes -utf8 -sha256 -days 36500 -batch -x509 -newkey rsa:2048 \
		-subj "/CN=modhashes DKMS test key/" -keyout "$dkms/key.pem" -out "$dkms/cert.pem" 2>/dev/null
fi
printf '%s\n' CONFIG_MODULE_SIG=y 'CONFIG_MODULE_SIG_KEY=""' CONFIG_MODULE_SIG_SHA256=y \
	"CONFIG_SYSTEM_TRUSTED_KEYS=\"$dkms/cert.pem\"" > "$dkms/config.fragment"
declare -A extra_fragment=([arm64]=/dev/null [s390x]=$dkms/config.fragment)

declare -A pristine
for v in $(for a in "${arches[@]}"; do echo "${kver[$a]}"; done | sort -u); do
	phase "fetch Linux $v"
	case $v in
	7.*) pristine[$v]=$("$here/fetch-linux-source.sh" "$v" "${LINUX_CACHE:-$work/cache}") ;;
	# Long-term-support kernels: Debian 12 and its security archive, with
	# package lists of their own.
	*) pristine[$v]=$(APT_STATE=$work/apt-bookworm APT_SUITES="bookworm bookworm-security" \
		"$here/fetch-linux-source.sh" "$v" "$work/cache-lts") ;;
	esac
	echo "${pristine[$v]}"
done
# The rules' source: the tarball beside the tree, where MODULE.bazel's
# local_kernel_archive looks (git ignores it).
for a in "${bazel_arches[@]}"; do
	ln -sfn "${pristine[${kver[$a]}]}.tar.xz" "$repo/examples/linux/linux-source-${kver[$a]}.tar.xz"
done
srcdir() { echo "$work/src/linux-${kver[$1]}"; }

export KBUILD_BUILD_TIMESTAMP='Thu Jan  1 00:00:00 UTC 2026'
export KBUILD_BUILD_USER=modhashes KBUILD_BUILD_HOST=cross KBUILD_BUILD_VERSION=1
kvars() { # ARCH
	local src out=$work/$1/build map
	src=$(srcdir "$1")
	map="-fdebug-prefix-map=$src=/usr/src/linux -fdebug-prefix-map=$out=/usr/src/linux"
	printf '%s\n' ARCH="${karch[$1]}" "${toolchain[$1]}" MODHASHES="$mhr" KCFLAGS="$map" KAFLAGS="$map"
}
kmake() { # ARCH make-args...: kbuild itself
	local a=$1 v
	shift
	mapfile -t v < <(kvars "$a")
	make -C "$(srcdir "$a")" O="$work/$a/build" "${v[@]}" "$@"
}

reuse=0
if [ "${CROSS_REUSE:-0}" = 1 ]; then
	reuse=1
	for a in "${arches[@]}"; do [ -f "$work/$a/build/vmlinux" ] || reuse=0; done
fi

if [ $reuse = 0 ]; then
phase "source trees"
rm -rf "$work/src" "${arches[@]/#/$work/}" "$work/restricted.log"
mkdir -p "$work/src"
for a in "${arches[@]}"; do
	[ "${how[$a]}" != bazel ] || continue
	src=$(srcdir "$a")
	[ ! -d "$src" ] || continue
	cp -a "${pristine[${kver[$a]}]}" "$src"
	series=("$repo/kbuild/patches/linux-${kver[$a]}"/*.patch)
	for p in "${series[@]}"; do
		patch -d "$src" -p1 -s -F0 --no-backup-if-mismatch < "$p"
	done
	echo "$src: ${series[*]##*/}"
done

phase "configure"
for a in "${arches[@]}"; do
	out=$work/$a/build
	mkdir -p "$out"
	[ "${how[$a]}" != bazel ] || continue
	kmake "$a" -s tinyconfig
	"$(srcdir "$a")/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" \
		"$here/config.fragment" "$here/config.$a.fragment" "${extra_fragment[$a]}" >/dev/null
	kmake "$a" -s olddefconfig
	# Every line of both fragments holds, but what the architecture's
	# fragment turns off.
	bad=0
	while read -r line; do
		opt=${line%%=*}
		grep -qx "# $opt is not set" "$here/config.$a.fragment" && continue
		grep -qx "$line" "$out/.config" || { echo "$a: not set: $line"; bad=1; }
	done < <(grep -h '^CONFIG_' "$here/config.fragment" "$here/config.$a.fragment" "${extra_fragment[$a]}")
	[ $bad = 0 ] || die "$a: configuration"
	pass "$a: configured: $(grep -c '=[ym]$' "$out/.config") options, MODULE_HASHES and MODULE_SIG_FORCE on"
done

# bazel_build ARCH: the arch's *_<suffix> targets by Bazel, and an object
# tree in WORKDIR/ARCH/build of what the checks read: the final vmlinux, the
# placeholder (WORKDIR/ARCH/vmlinux.linked), the root, modules.order with
# the stripped modules and their proofs, the release, .config and the image.
declare -A targets=([arm64]=gki)
bazel_build() {
	local a=$1 t=${targets[$1]:-} bin out=$work/$1/build
	[ -n "$t" ] || die "$a: no Bazel targets"
	local labels=(kernel hashes vmlinux Image install config)
	labels=("${labels[@]/#///examples/linux:}")
	labels=("${labels[@]/%/_$t}")
	(cd "$repo" && "$bazel" build --config=ci "${labels[@]}") || return 1
	bin=$(cd "$repo" && "$bazel" info --config=ci bazel-bin 2>/dev/null)/examples/linux
	rm -rf "$out" "$work/$a/install" && mkdir -p "$out/include/config" "$out/$(dirname "${image[$a]}")"
	cp "$bin/kernel_$t/vmlinux.unstripped" "$work/$a/vmlinux.linked"
	cp "$bin/vmlinux_$t/vmlinux" "$out/vmlinux"
	cp "$bin/hashes_$t.module_hashes.bin" "$out/.module_hashes.bin"
	cp "$bin/kernel_$t/kernel.release" "$out/include/config/kernel.release"
	cp "$bin/config_$t/.config" "$out/.config"
	cp "$bin/Image_$t/$(basename "${image[$a]}")" "$out/${image[$a]}"
	cp -r "$bin/kernel_${t}_modules/." "$bin/hashes_$t.proofs/." "$out/"
	cp -r "$bin/install_$t" "$work/$a/install"
	chmod -R u+w "$out" "$work/$a/install"
	# The initramfs packer, which a Make build leaves in its object tree.
	mkdir -p "$out/usr"
	cc -O2 -o "$out/usr/gen_init_cpio" "${pristine[${kver[$a]}]}/usr/gen_init_cpio.c"
}

phase "build ${arches[*]} side by side (make -j$jobs each; Bazel for ${bazel_arches[*]:-none})"
pids=()
for a in "${arches[@]}"; do
	(
		s=$(date +%s)
		if [ "${how[$a]}" = bazel ]; then
			bazel_build "$a" > "$work/$a/build.log" 2>&1 || exit 1
			echo "$a: built (${kver[$a]}, ${toolchain[$a]}, the Bazel rules) in $(($(date +%s) - s))s"
			exit 0
		fi
		kmake "$a" -j"$jobs" > "$work/$a/build.log" 2>&1
		echo "$a: built (${kver[$a]}, ${toolchain[$a]}, ${how[$a]}) in $(($(date +%s) - s))s"
	) &
	pids+=($!)
done
i=0
for a in "${arches[@]}"; do
	wait "${pids[$i]}" || { tail -60 "$work/$a/build.log"; die "$a: build failed (log: $work/$a/build.log)"; }
	i=$((i + 1))
done
for a in "${arches[@]}"; do
	grep -E '^  (MODHASH|BTF \[M\]) |^INFO: [0-9]+ processes' "$work/$a/build.log" | head -4
done
fi

check_arch() { # ARCH
	local a=$1 out=$work/$1/build root=$work/$1 release mods n want levels linked
	phase "$a: BTF of the final vmlinux"
	local btf=$work/$a/btf
	mkdir -p "$btf"
	linked=$out/vmlinux.unstripped
	[ "${how[$a]}" = intree ] || linked=$work/$a/vmlinux.linked
	same_btf "$a" "$linked" "$out/vmlinux" "$btf"
	# Of what the kernel loads, kernel_vmlinux(root_only) changes the root
	# alone, as llvm-objcopy would (kbuild/README.md says
	# how the files differ elsewhere).
	[ "${how[$a]}" = intree ] ||
		like_llvm_objcopy "$a (${how[$a]})" "$linked" "$out/vmlinux" "$out/.module_hashes.bin" "$btf"

	phase "$a: modules_install and the boot image"
	rm -rf "$root/lib"
	if [ "${how[$a]}" = bazel ]; then
		cp -r "$work/$a/install/lib" "$root/"
	else
		kmake "$a" modules_install INSTALL_MOD_PATH="$root" > "$root/install.log" 2>&1 ||
			{ cat "$root/install.log"; die "$a: modules_install failed"; }
	fi
	release=$(cat "$out/include/config/kernel.release")
	mods=$root/lib/modules/$release
	cp "$out/${image[$a]}" "$root/"
	ls -l "$root/$(basename "${image[$a]}")"
	n=$(find "$mods/kernel" -name '*.ko*' -type f | wc -l)
	if [ "$n" = "$(grep -c . "$out/modules.order")" ] &&
		[ -z "$(find "$mods/kernel" -name '*.ko.*' -type f)" ]; then
		pass "$a: $n modules installed uncompressed in $mods"
	else
		fail "$a: $mods has $n modules (or compressed ones), modules.order $(grep -c . "$out/modules.order")"
	fi
	if "$mh" verify --vmlinux "$out/vmlinux" "$mods/kernel" > "$root/verify-installed.txt"; then
		pass "$a: modhashes verify: all $(grep -c ": OK$" "$root/verify-installed.txt") installed modules would load"
	else
		cat "$root/verify-installed.txt"; fail "$a: modhashes verify rejects installed modules"
	fi

	# levels as the format defines it for n modules, written in the byte
	# order of the target (its ELF header), read back raw and by inspect.
	phase "$a: .module_hashes of the final vmlinux"
	"$mh" section dump .module_hashes "$out/vmlinux" "$root/module_hashes.raw"
	"$mh" inspect --json "$out/vmlinux" > "$root/inspect.json"
	if python3 - "$out/vmlinux" "$root/module_hashes.raw" "$out/.module_hashes.bin" \
		"$root/inspect.json" "$n" "${order[$a]}" <<'EOF'; then
import json, math, sys
vmlinux, raw, rootbin, inspect, n, order = sys.argv[1:]
n = int(n)
with open(vmlinux, "rb") as f:
    ident = f.read(6)
elf_order = {1: "little", 2: "big"}[ident[5]]
raw = open(raw, "rb").read()
want = 0 if n == 0 else 1 if n == 1 else math.ceil(math.log2(n))
got = int.from_bytes(raw[:4], elf_order)
rep = json.load(open(inspect))[0]["root"]
print(f"ELF {elf_order}-endian; .module_hashes: {raw[:4].hex(' ')} | {raw[4:].hex()}")
print(f"levels for {n} modules: {want}; raw bytes as {elf_order}-endian u32: {got}; "
      f"inspect: levels {rep['levels']}, byte_order {rep['byte_order']}, placeholder {rep['placeholder']}")
ok = (len(raw) == 36 and elf_order == order and got == want and want > 0
      and int.from_bytes(raw[:4], "big" if order == "little" else "little") != want
      and rep["levels"] == want and rep["byte_order"] == order and not rep["placeholder"]
      and rep["hash"] == raw[4:].hex() and raw == open(rootbin, "rb").read())
sys.exit(0 if ok else 1)
EOF
		pass "$a: .module_hashes holds levels in ${order[$a]}-endian order and the tree's root"
	else
		fail "$a: .module_hashes is not the tree's root in ${order[$a]}-endian order"
	fi

	if [ "${how[$a]}" != bazel ]; then
		phase "$a: modhashes ran with a PATH without compiler, objcopy or openssl"
		grep -F " in $out:" "$work/restricted.log" | sort | uniq -c
		local step ok=1
		local steps="tree finalize install"
		for step in $steps; do
			grep -q "^modhashes $step in $out: PATH=$work/bin/restricted\$" "$work/restricted.log" ||
				{ echo "no run of modhashes $step"; ok=0; }
		done
		if [ $ok = 1 ]; then pass "$a: modhashes $steps ran with PATH=$work/bin/restricted"
		else fail "$a: not every modhashes step ran with the restricted PATH"; fi
	fi

	# DKMS: an out-of-tree module built after the kernel, signed with the
	# key the kernel trusts, and the same module unsigned.
	local other=
	if grep -qx 'CONFIG_MODULE_SIG=y' "$out/.config"; then
		phase "$a: DKMS: hello/ built with make M= and signed with scripts/sign-file"
		local ext=$work/$a/dkms-hello
		rm -rf "$ext" && cp -r "$here/hello" "$ext"
		kmake "$a" M="$ext" modules > "$root/dkms.log" 2>&1 || { cat "$root/dkms.log"; die "$a: make M= failed"; }
		mkdir -p "$ext/signed" "$ext/unsigned"
		cp "$ext/modhashes_hello.ko" "$ext/unsigned/"
		"$out/scripts/sign-file" sha256 "$dkms/key.pem" "$dkms/cert.pem" "$ext/modhashes_hello.ko" \
			"$ext/signed/modhashes_hello.ko"
		other="dkms-signed:pkcs7:$ext/signed/modhashes_hello.ko dkms-unsigned:reject:$ext/unsigned/modhashes_hello.ko"
	fi

	phase "$a: initramfs with the installed modules and four bad ones"
	local ir=$work/$a/initramfs cases=$work/$a/initramfs/cases
	BOOT_OTHER=$other OBJCOPY=${cross[$a]}objcopy boot_initramfs "$ir" "$out" "$root" "$release" "${busybox[$a]}" \
		"$mh" "$root/verify.json" || die "$a: initramfs"

	phase "$a: boot in ${qemu[$a]%% *} (TCG), kernel decisions vs modhashes verify"
	# shellcheck disable=SC2086
	boot_check "$a" "$root/serial.log" "$root/verify.json" "$cases" ${qemu[$a]} -m 512M \
		-kernel "$root/$(basename "${image[$a]}")" -initrd "$ir/initramfs.cpio.gz" \
		-append "console=${console[$a]} loglevel=7 panic=-1 module.sig_enforce=1"
}

for a in "${arches[@]}"; do
	check_arch "$a"
done

phase "summary"
for a in "${arches[@]}"; do
	r=$(cat "$work/$a/build/include/config/kernel.release")
	echo "$a: $work/$a/$(basename "${image[$a]}"), $work/$a/lib/modules/$r/"
done
finish
