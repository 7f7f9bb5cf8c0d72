#!/bin/sh
# Installs, from Debian's packages and only when missing, the tools the Go
# tests compare against: gcc and GNU binutils (objcopy is the reference for
# finalize/strip), cross binutils for ELF32/ELF64 in both byte orders, the
# gzip/xz/zstd tools, kmod's modinfo (compressed modules) and depmod, OpenSSL,
# GNU time for the benchmarks, and make for the kbuild driver's test.
# Idempotent; needs root when something is missing.
set -eu
missing=
for pair in \
	gcc:gcc \
	objcopy:binutils \
	i686-linux-gnu-objcopy:binutils-i686-linux-gnu \
	mips-linux-gnu-objcopy:binutils-mips-linux-gnu \
	mips64el-linux-gnuabi64-objcopy:binutils-mips64el-linux-gnuabi64 \
	s390x-linux-gnu-objcopy:binutils-s390x-linux-gnu \
	gzip:gzip \
	xz:xz-utils \
	zstd:zstd \
	modinfo:kmod \
	depmod:kmod \
	openssl:openssl \
	/usr/bin/time:time \
	make:make; do
	cmd=${pair%%:*} pkg=${pair#*:}
	command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || [ -x "/sbin/$cmd" ] ||
		missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
# Other jobs may hold the dpkg lock: wait for it rather than fail.
$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
# shellcheck disable=SC2086
$sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing
