# Sourced by e2e.sh and cross.sh: the initramfs of the boot check, the same
# for every architecture.
#
# boot_initramfs DIR OBJTREE MODROOT RELEASE BUSYBOX MODHASHES VERIFY_JSON
#   DIR/cases lists what the guest loads, in order: three bad modules (one
#   flipped byte, another module's proof, no trailer), made from OBJTREE's
#   test modules, then every module installed under MODROOT/lib/modules/
#   RELEASE in load order (dependencies first); VERIFY_JSON gets modhashes
#   verify's prediction for each; DIR/initramfs.cpio.gz holds BUSYBOX, an
#   init that insmods each case and logs the kernel's answer, and the
#   modules. bootcheck.py reads .modinfo with $OBJCOPY (the target's).
#   BOOT_MODPROBE names modules the guest loads last with modprobe (which
#   loads their dependencies, from depmod's modules.dep); BOOT_EXTRA lists
#   more installed modules (paths below MODROOT/lib/modules/RELEASE, e.g.
#   out-of-tree ones in updates/) to insmod after the in-tree ones.
boot_initramfs() {
	local ir=$1 out=$2 root=$3 release=$4 busybox=$5 mh=$6 json=$7
	local mods=$3/lib/modules/$4 flip=$1/bad/test_bitops.ko f
	rm -rf "$ir" && mkdir -p "$ir/bad"
	cp "$mods/kernel/lib/test_bitops.ko" "$flip"
	python3 -c 'import sys
with open(sys.argv[1], "r+b") as f:
    n = f.seek(0, 2) // 3
    f.seek(n); b = f.read(1); f.seek(n); f.write(bytes([b[0] ^ 1]))' "$flip"
	cmp -s "$flip" "$mods/kernel/lib/test_bitops.ko" && { echo "the byte was not flipped" >&2; return 1; }
	cat "$out/lib/test_hexdump.ko" "$out/lib/test_bitops.merkle" > "$ir/bad/test_hexdump.ko"
	cp "$out/lib/test_module.ko" "$ir/bad/test_module.ko"
	{
		echo "flipped-byte reject /bad/test_bitops.ko $ir/bad/test_bitops.ko"
		echo "other-proof reject /bad/test_hexdump.ko $ir/bad/test_hexdump.ko"
		echo "unsigned reject /bad/test_module.ko $ir/bad/test_module.ko"
		# What modprobe loads: the named modules and their dependencies.
		local m skip=" "
		for m in ${BOOT_MODPROBE:-}; do
			skip+="$(grep -E "(^|/)$m\.ko:" "$mods/modules.dep" | tr -d :) "
		done
		python3 "$(dirname "${BASH_SOURCE[0]}")/bootcheck.py" load-order "$out" "$mods" |
			while read -r m; do
				case $skip in *" kernel/$m "*) continue ;; esac
				echo "$(basename "$m" .ko) ok /lib/modules/$release/kernel/$m $mods/kernel/$m"
			done
		for m in ${BOOT_EXTRA:-}; do
			echo "$(basename "$m" .ko) ok /lib/modules/$release/$m $mods/$m"
		done
		for m in ${BOOT_MODPROBE:-}; do
			f=$(grep -E "(^|/)$m\.ko:" "$mods/modules.dep" | cut -d: -f1)
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
while read -r name expect guest host; do
	echo "E2E-LOAD $name $guest"
	case $guest in
	modprobe:*) /bin/busybox modprobe "${guest#modprobe:}" 2>&1 ;;
	*) /bin/busybox insmod "$guest" 2>&1 ;;
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
		for f in "$ir"/bad/*.ko; do echo "file /bad/$(basename "$f") $f 0644 0 0"; done
		(cd "$root" && find lib -type d | sort | sed 's|^\(.*\)$|dir /\1 0755 0 0|')
		(cd "$root" && find lib -type f | sort | sed "s|^\(.*\)$|file /\1 $root/\1 0644 0 0|")
	} > "$ir/list"
	"${GEN_INIT_CPIO:-$out/usr/gen_init_cpio}" -t 0 "$ir/list" | gzip -n -9 > "$ir/initramfs.cpio.gz"
	ls -l "$ir/initramfs.cpio.gz"
}
