#!/usr/bin/env bash
# Builds one mini-kernel module the way kbuild does after vmlinux: compile,
# check every undefined symbol against vmlinux.unstripped ("modpost"), add
# the module's own .modinfo, and link a relocatable .ko.
#
# usage: modpost.sh CC NM VMLINUX_UNSTRIPPED INCLUDE_DIR SRC OUT
# Temporary files go next to OUT under relative paths, so nothing that
# depends on the checkout path or a random name ends up in the object.
set -euo pipefail
cc=$1 nm=$2 vmlinux=$3 inc=$4 src=$5 out=$6
name=$(basename "$out" .ko)
work=${out%.ko}.modpost
mkdir -p "$work"
cflags=(-O2 -ffreestanding -fno-pic -fno-stack-protector -fno-asynchronous-unwind-tables
	-fno-ident -fno-common -Wall -Werror -I"$inc")

"$cc" "${cflags[@]}" -c -o "$work/$name.o" "$src"

"$nm" --defined-only "$vmlinux" | awk 'NF == 3 { print $3 }' | sort -u >"$work/vmlinux.syms"
"$nm" --undefined-only "$work/$name.o" | awk '{ print $NF }' | sort -u >"$work/$name.undef"
missing=$(comm -23 "$work/$name.undef" "$work/vmlinux.syms")
if [ -n "$missing" ]; then
	echo "modpost: $name: undefined symbols not in vmlinux:" $missing >&2
	exit 1
fi

printf '%s\n' \
	'static const char name[] __attribute__((section(".modinfo"), used)) =' \
	"	\"name=$name\";" \
	'static const char vermagic[] __attribute__((section(".modinfo"), used)) =' \
	'	"vermagic=minikernel";' >"$work/$name.mod.c"
"$cc" "${cflags[@]}" -c -o "$work/$name.mod.o" "$work/$name.mod.c"

"$cc" -r -nostdlib -o "$out" "$work/$name.o" "$work/$name.mod.o"
rm -rf "$work"
