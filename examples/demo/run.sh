#!/usr/bin/env bash
# The whole pipeline on an embedded example, in out/demo:
#   tree      hash the 33 modules of examples/vectors/n33, write root + proofs
#   finalize  a host-built stand-in vmlinux.unstripped -> vmlinux with the root
#   install   modules with their proofs appended (gzip), as modules_install
#   verify    ask, as the kernel would, whether vmlinux accepts each module
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$top/out/demo
rm -rf "$out"
mkdir -p "$out/bin"
cd "$top"
go build -o "$out/bin/modhashes" ./tools/modhashes
mh=$out/bin/modhashes

echo "== tree: examples/vectors/n33"
cp -r examples/vectors/n33 "$out/obj"
chmod -R u+w "$out/obj"
rm -rf "$out/obj/expected"
"$mh" tree --objtree "$out/obj" --root-c "$out/root.c" --root-bin "$out/root.bin" --endian little
sed -n '4,5p' "$out/root.c"

echo "== finalize: vmlinux.unstripped -> vmlinux"
cc -O1 -no-pie -Wl,--emit-relocs -o "$out/vmlinux.unstripped" examples/demo/vmlinux.c
"$mh" finalize --root-bin "$out/root.bin" "$out/vmlinux.unstripped" "$out/vmlinux"
"$mh" inspect "$out/vmlinux"

echo "== install: modules with proofs, gzip"
"$mh" install --objtree "$out/obj" --dest "$out/install" --kernel-release 0.0-demo --compress gzip
find "$out/install" -name '*.ko*' | sort | head -n3

echo "== verify: every installed module against vmlinux"
"$mh" verify --vmlinux "$out/vmlinux" "$out/install/lib/modules/0.0-demo/kernel" | tail -n3
echo "== verify: a tampered module is refused"
mod=$(find "$out/install" -name 'mod_7.ko.gz')
gzip -dc "$mod" > "$out/tampered.ko"
printf '\x5a' | dd of="$out/tampered.ko" bs=1 seek=16 conv=notrunc status=none
if "$mh" verify --vmlinux "$out/vmlinux" "$out/tampered.ko"; then
	echo "tampered module accepted" >&2
	exit 1
fi
echo "demo done: outputs in out/demo"
