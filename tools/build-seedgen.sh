#!/usr/bin/env bash
# Builds the module hashes series' reference generator,
# scripts/modules-merkle-tree.c, from the series' patch file, as kbuild
# builds it (HOSTCC -O2, the system's libcrypto), and prints its path. The
# generator is GPL and never stored in this repository: it is extracted
# from the patch each time.
#
#   tools/build-seedgen.sh SEED_PATCH OUTDIR
#
# Needs gcc, pkg-config and OpenSSL's headers (libssl-dev).
set -euo pipefail
patch=${1:?usage: build-seedgen.sh SEED_PATCH OUTDIR}
out=${2:?usage: build-seedgen.sh SEED_PATCH OUTDIR}
mkdir -p "$out"
awk 'f && /^diff --git/ {exit} f && /^\+/ {print substr($0, 2)} /^\+\+\+ b\/scripts\/modules-merkle-tree\.c$/ {f=1}' \
	"$patch" > "$out/modules-merkle-tree.c"
[ -s "$out/modules-merkle-tree.c" ] || { echo "build-seedgen.sh: no scripts/modules-merkle-tree.c in $patch" >&2; exit 1; }
# Its "ssl-common.h" (from the kernel's scripts/) is not in the series: the
# stand-in defines the one macro it uses, and EVP_MD_CTX_get_size_ex for
# OpenSSL before 3.4.
cat > "$out/ssl-common.h" <<'H'
#include <err.h>
#include <openssl/err.h>
#define ERR(cond, ...) do { if (cond) { ERR_print_errors_fp(stderr); errx(1, __VA_ARGS__); } } while (0)
#ifndef EVP_MD_CTX_get_size_ex
#define EVP_MD_CTX_get_size_ex(ctx) EVP_MD_CTX_get_size(ctx)
#endif
H
# shellcheck disable=SC2046 # pkg-config's flags are words
gcc -O2 -I"$out" $(pkg-config --cflags libcrypto) -o "$out/modules-merkle-tree" \
	"$out/modules-merkle-tree.c" $(pkg-config --libs libcrypto) >&2
echo "$out/modules-merkle-tree"
