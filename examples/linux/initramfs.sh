# Sourced by checks.sh: the initramfs of the boot check, the same for
# every architecture, and the module helpers of e2e.sh, cross.sh and bazel.sh.
#
# boot_initramfs DIR OBJTREE MODROOT RELEASE BUSYBOX MODHASHES VERIFY_JSON
#   DIR/cases lists what the guest loads, in order: four bad modules (one
#   flipped byte in an installed, maybe compressed, module; another module's
#   proof; no trailer; an installed module stripped again), made from
#   OBJTREE's test modules and the installed ones, then every module
#   installed under MODROOT/lib/modules/RELEASE in load order (dependencies
#   first); VERIFY_JSON gets modhashes verify's prediction for each;
#   DIR/initramfs.cpio.gz holds BUSYBOX, an init that loads each case and
#   logs the kernel's answer, and the modules. bootcheck.py reads .modinfo
#   with $OBJCOPY (the target's), which also strips the fourth bad module.
#   BOOT_MODPROBE names modules the guest loads last with modprobe (which
#   loads their dependencies, from depmod's modules.dep); BOOT_MODPROBE_ALL=1
#   loads every in-tree module with modprobe instead of insmod; BOOT_EXTRA
#   lists more installed modules (paths below MODROOT/lib/modules/RELEASE,
#   e.g. out-of-tree ones in updates/) to insmod after the in-tree ones;
#   BOOT_OTHER lists CASE:EXPECT:FILE modules from outside the install
#   (EXPECT ok, reject, or pkcs7: loads by a PKCS#7 signature, which
#   modhashes verify cannot check) to insmod after those.
#   KMOD_ROOT, a root directory with Debian's kmod (the Bazel chroot), puts
#   kmod and its libraries into the initramfs for insmod and modprobe: kmod
#   hands compressed modules to the kernel to decompress, busybox cannot.
# plain FILE: an installed module's bytes, decompressed as the kernel would.
plain() {
	case $1 in
	*.zst) zstd -qdc "$1" ;;
	*.xz) xz -dc "$1" ;;
	*.gz) gzip -dc "$1" ;;
	*) cat "$1" ;;
	esac
}

# build_id FILE: its GNU build ID. The host's readelf may exit 1 on notes of
# the chroot's newer binutils: only what it prints counts.
build_id() { { readelf -n "$1" 2>/dev/null || true; } | sed -n 's/^ *Build ID: //p'; }

boot_initramfs() {
	local ir=$1 out=$2 root=$3 release=$4 busybox=$5 mh=$6 json=$7
	local mods=$3/lib/modules/$4 f installed
	rm -rf "$ir" && mkdir -p "$ir/bad"
	# As built to be installed: stripped at build time if configured.
	built() { if [ -f "$out/$1.stripped" ]; then echo "$out/$1.stripped"; else echo "$out/$1"; fi; }
	installed=$(ls "$mods/kernel/lib/test_bitops.ko"*)
	local flip=$ir/bad/${installed##*/}
	cp "$installed" "$flip"
	python3 -c 'import sys
with open(sys.argv[1], "r+b") as f:
    n = f.seek(0, 2) // 3
    f.seek(n); b = f.read(1); f.seek(n); f.write(bytes([b[0] ^ 1]))' "$flip"
	cmp -s "$flip" "$installed" && { echo "the byte was not flipped" >&2; return 1; }
	cat "$(built lib/test_hexdump.ko)" "$out/lib/test_bitops.merkle" > "$ir/bad/test_hexdump.ko"
	cp "$(built lib/test_module.ko)" "$ir/bad/test_module.ko"
	# Stripping an installed module drops its proof (objcopy keeps only what
	# the ELF headers describe).
	plain "$(ls "$mods/kernel/lib/test_memcat_p.ko"*)" > "$ir/bad/test_memcat_p.ko"
	"${OBJCOPY:-objcopy}" --strip-unneeded "$ir/bad/test_memcat_p.ko"
	{
		echo "flipped-byte reject /bad/${flip##*/} $flip"
		echo "other-proof reject /bad/test_hexdump.ko $ir/bad/test_hexdump.ko"
		echo "unsigned reject /bad/test_module.ko $ir/bad/test_module.ko"
		echo "stripped-after-install reject /bad/test_memcat_p.ko $ir/bad/test_memcat_p.ko"
		# What modprobe loads: the named modules and their dependencies.
		local m name skip=" "
		for m in ${BOOT_MODPROBE:-}; do
			skip+="$(grep -E "(^|/)$m\.ko(\.[a-z]+)?:" "$mods/modules.dep" | tr -d :) "
		done
		python3 "$(dirname "${BASH_SOURCE[0]}")/bootcheck.py" load-order "$out" "$mods" |
			while read -r m; do
				case $skip in *" kernel/$m "*) continue ;; esac
				name=${m##*/}
				name=${name%.ko*}
				if [ "${BOOT_MODPROBE_ALL:-0}" = 1 ]; then
					echo "$name ok modprobe:$name $mods/kernel/$m"
				else
					echo "$name ok /lib/modules/$release/kernel/$m $mods/kernel/$m"
				fi
			done
		for m in ${BOOT_EXTRA:-}; do
			name=${m##*/}
			echo "${name%.ko*} ok /lib/modules/$release/$m $mods/$m"
		done
		# Each in a directory of its own, under its file name (which
		# bootcheck.py takes for the module's name).
		for m in ${BOOT_OTHER:-}; do
			f=${m#*:*:}
			mkdir -p "$ir/other/${m%%:*}"
			cp "$f" "$ir/other/${m%%:*}/"
			echo "${m%%:*} $(echo "$m" | cut -d: -f2) /other/${m%%:*}/${f##*/} $ir/other/${m%%:*}/${f##*/}"
		done
		for m in ${BOOT_MODPROBE:-}; do
			f=$(grep -E "(^|/)$m\.ko(\.[a-z]+)?:" "$mods/modules.dep" | cut -d: -f1)
			echo "$m ok modprobe:$m $mods/$f"
		done
	} > "$ir/cases"
	"$mh" verify --json --vmlinux "$out/vmlinux" $(awk '{print $4}' "$ir/cases") > "$json" || true

	cat > "$ir/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
echo "E2E sig_enforce=$(/bin/busybox cat /sys/module/module/parameters/sig_enforce)"
# The console prints kernel messages late: quiet it, and print what each
# insmod logged from the ring buffer instead.
/bin/busybox dmesg -n 1
/bin/busybox dmesg -c > /dev/null
# kmod if it is here (it hands compressed modules to the kernel), which
# is insmod and modprobe by the name it is run as.
insmod="/bin/busybox insmod" modprobe="/bin/busybox modprobe"
[ -x /sbin/kmod ] && insmod=/sbin/insmod modprobe=/sbin/modprobe
echo "E2E loader=$insmod, $modprobe"
while read -r name expect guest host; do
	echo "E2E-LOAD $name $guest"
	case $guest in
	modprobe:*) $modprobe "${guest#modprobe:}" 2>&1 ;;
	*) $insmod "$guest" 2>&1 ;;
	esac
	rc=$?
	/bin/busybox dmesg -c | /bin/busybox sed 's/^/E2E-KMSG /'
	echo "E2E-RESULT $name rc=$rc"
done < /cases
echo "E2E-PROC-MODULES"
/bin/busybox cat /proc/modules
echo "E2E-END"
/bin/busybox reboot -f
INIT
	{
		echo "dir /dev 0755 0 0"
		echo "nod /dev/console 0600 0 0 c 5 1"
		echo "dir /proc 0755 0 0"
		echo "dir /sys 0755 0 0"
		echo "dir /bin 0755 0 0"
		echo "file /bin/busybox $busybox 0755 0 0"
		echo "file /init $ir/init 0755 0 0"
		echo "file /cases $ir/cases 0644 0 0"
		echo "dir /bad 0755 0 0"
		for f in "$ir"/bad/*; do echo "file /bad/$(basename "$f") $f 0644 0 0"; done
		if [ -d "$ir/other" ]; then
			(cd "$ir" && find other -type d | sort | sed 's|^\(.*\)$|dir /\1 0755 0 0|')
			(cd "$ir" && find other -type f | sort | sed "s|^\(.*\)$|file /\1 $ir/\1 0644 0 0|")
		fi
		[ -z "${KMOD_ROOT:-}" ] || kmod_files "$KMOD_ROOT"
		(cd "$root" && find lib -type d | sort | sed 's|^\(.*\)$|dir /\1 0755 0 0|')
		(cd "$root" && find lib -type f | sort | sed "s|^\(.*\)$|file /\1 $root/\1 0644 0 0|")
	} > "$ir/list"
	"${GEN_INIT_CPIO:-$out/usr/gen_init_cpio}" -t 0 "$ir/list" | gzip -n -9 > "$ir/initramfs.cpio.gz"
	ls -l "$ir/initramfs.cpio.gz"
}

# kmod_files ROOT: gen_init_cpio lines for ROOT's kmod as /sbin/kmod, the
# libraries it links (and dlopens, for zstd and xz) and the dynamic loader,
# at the paths they have in ROOT.
kmod_files() {
	local root=$1 todo=(usr/bin/kmod) seen=" " f lib dir part interp
	echo "dir /sbin 0755 0 0"
	echo "file /sbin/kmod $root/usr/bin/kmod 0755 0 0"
	echo "slink /sbin/insmod kmod 0777 0 0"
	echo "slink /sbin/modprobe kmod 0777 0 0"
	interp=$(readelf -l "$root/usr/bin/kmod" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
	todo+=("${interp#/}")
	# A library's path in ROOT, for the dynamic loader's default directories.
	lib_path() { local dir; for dir in usr/lib/x86_64-linux-gnu lib/x86_64-linux-gnu; do
		[ -e "$root/$dir/$1" ] && { echo "$dir/$1"; return; }; done; }
	for lib in libzstd.so.1 liblzma.so.5; do
		todo+=($(lib_path "$lib"))
	done
	while [ ${#todo[@]} -gt 0 ]; do
		f=${todo[0]}
		todo=("${todo[@]:1}")
		case $seen in *" $f "*) continue ;; esac
		seen+="$f "
		if [ "$f" != usr/bin/kmod ]; then
			dir=
			for part in $(dirname "$f" | tr / ' '); do
				dir+=/$part
				echo "dir $dir 0755 0 0"
			done
			echo "file /$f $(realpath "$root/$f") 0755 0 0"
		fi
		for lib in $(readelf -d "$root/$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			todo+=($(lib_path "$lib"))
		done
	done
}
