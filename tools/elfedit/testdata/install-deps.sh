#!/bin/sh
# Installs the tools the ELF tests need: a native gcc/binutils (ELF64
# little-endian inputs and GNU objcopy as the reference) and Debian's cross
# binutils for ELF32 little-endian (i686), ELF32 big-endian (mips), ELF64
# big-endian (s390x) and MIPS64 little-endian (its own relocation format).
# Idempotent: installs only what is missing.
set -eu

need=""
for pair in \
	gcc:gcc \
	objcopy:binutils \
	i686-linux-gnu-objcopy:binutils-i686-linux-gnu \
	mips-linux-gnu-objcopy:binutils-mips-linux-gnu \
	s390x-linux-gnu-objcopy:binutils-s390x-linux-gnu \
	mips64el-linux-gnuabi64-objcopy:binutils-mips64el-linux-gnuabi64; do
	cmd=${pair%%:*}
	pkg=${pair#*:}
	command -v "$cmd" >/dev/null 2>&1 || need="$need $pkg"
done

if [ -z "$need" ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-deps.sh: missing packages:$need (run as root to install)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Other jobs may hold the dpkg lock: wait for it rather than fail.
apt-get -o DPkg::Lock::Timeout=600 update -qq
# shellcheck disable=SC2086
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $need
