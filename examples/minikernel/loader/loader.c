/*
 * A user-space stand-in for the kernel's module loader check under
 * CONFIG_MODULE_HASHES, written from the format description alone (no code
 * shared with modhashes): read the root from vmlinux's .module_hashes, then
 * accept a module only if its appended Merkle proof folds to that root.
 *
 * usage: loader VMLINUX MODULE...
 * Prints "accept MODULE" or "reject MODULE: why" per module. Exit status:
 * 0 all accepted, 1 some rejected, 2 usage or I/O error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"

static const char marker[] = "~Module signature appended~\n";
#define MARKER_LEN (sizeof(marker) - 1)
#define SIGINFO_LEN 12
#define ID_TYPE_MERKLE 3

struct root {
	uint32_t levels;
	uint8_t hash[32];
};

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (!f) {
		perror(path);
		return NULL;
	}
	do {
		if (n == cap) {
			uint8_t *nb;

			cap = cap ? 2 * cap : 65536;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				fprintf(stderr, "%s: out of memory\n", path);
				return NULL;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
	} while (r > 0);
	if (ferror(f)) {
		perror(path);
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*len = n;
	return buf;
}

static uint64_t get(const uint8_t *p, int size, int big)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < size; i++)
		v |= (uint64_t)p[big ? size - 1 - i : i] << (8 * i);
	return v;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)get(p, 4, 1);
}

/* Finds .module_hashes in an ELF32 or ELF64 image of either byte order. */
static int read_root(const char *path, struct root *root)
{
	size_t len, i;
	uint8_t *img = read_file(path, &len);
	uint64_t shoff, shentsize, shnum, shstrndx, stroff, strsize;
	int is64, big, found = 0;

	if (!img)
		return -1;
	if (len < 52 || memcmp(img, "\177ELF", 4) != 0) {
		fprintf(stderr, "%s: not an ELF file\n", path);
		goto bad;
	}
	is64 = img[4] == 2;
	big = img[5] == 2;
	if (is64 && len < 64)
		goto short_file;
	shoff = get(img + (is64 ? 0x28 : 0x20), is64 ? 8 : 4, big);
	shentsize = get(img + (is64 ? 0x3a : 0x2e), 2, big);
	shnum = get(img + (is64 ? 0x3c : 0x30), 2, big);
	shstrndx = get(img + (is64 ? 0x3e : 0x32), 2, big);
	if (shstrndx >= shnum || shoff > len || shnum * shentsize > len - shoff)
		goto short_file;
#define SH(i, off32, off64, size) \
	get(img + shoff + (i) * shentsize + (is64 ? (off64) : (off32)), is64 ? (size) : 4, big)
	stroff = SH(shstrndx, 0x10, 0x18, 8);
	strsize = SH(shstrndx, 0x14, 0x20, 8);
	if (stroff > len || strsize > len - stroff)
		goto short_file;
	for (i = 0; i < shnum; i++) {
		uint64_t name = get(img + shoff + i * shentsize, 4, big);
		uint64_t off = SH(i, 0x10, 0x18, 8), size = SH(i, 0x14, 0x20, 8);

		if (name >= strsize || strnlen((char *)img + stroff + name, strsize - name) == strsize - name)
			continue;
		if (strcmp((char *)img + stroff + name, ".module_hashes") != 0)
			continue;
		if (size != 36 || off > len || size > len - off) {
			fprintf(stderr, "%s: .module_hashes is not 36 bytes inside the file\n", path);
			goto bad;
		}
		root->levels = (uint32_t)get(img + off, 4, big);
		memcpy(root->hash, img + off + 4, 32);
		found = 1;
	}
#undef SH
	if (!found) {
		fprintf(stderr, "%s: no .module_hashes section\n", path);
		goto bad;
	}
	free(img);
	return 0;
short_file:
	fprintf(stderr, "%s: truncated ELF headers\n", path);
bad:
	free(img);
	return -1;
}

static void node(const uint8_t l[32], const uint8_t r[32], uint8_t out[32])
{
	struct sha256 s;
	uint8_t tag = 2;

	sha256_init(&s);
	sha256_update(&s, &tag, 1);
	sha256_update(&s, l, 32);
	sha256_update(&s, r, 32);
	sha256_final(&s, out);
}

/* Returns NULL if the module is accepted, else the reason. */
static const char *check(const uint8_t *m, size_t len, const struct root *root)
{
	const uint8_t *info, *proof;
	uint32_t siglen, pos, i;
	uint8_t cur[32], tag = 1, bepos[4];
	struct sha256 s;

	if (len < MARKER_LEN || memcmp(m + len - MARKER_LEN, marker, MARKER_LEN) != 0)
		return "no signature marker";
	len -= MARKER_LEN;
	if (len < SIGINFO_LEN)
		return "truncated signature info";
	info = m + len - SIGINFO_LEN;
	len -= SIGINFO_LEN;
	siglen = be32(info + 8);
	if (siglen >= len)
		return "signature longer than the module";
	if (info[2] != ID_TYPE_MERKLE)
		return "not a Merkle proof";
	if (info[0] || info[1] || info[3] || info[4] || info[5] || info[6] || info[7])
		return "nonzero signature info fields";
	if (siglen != 4 + 32 * (uint64_t)root->levels)
		return "proof length does not match the tree's levels";
	proof = m + len - siglen;
	len -= siglen;

	pos = be32(proof);
	bepos[0] = proof[0]; bepos[1] = proof[1]; bepos[2] = proof[2]; bepos[3] = proof[3];
	sha256_init(&s);
	sha256_update(&s, &tag, 1);
	sha256_update(&s, bepos, 4);
	sha256_update(&s, m, len);
	sha256_final(&s, cur);
	for (i = 0; i < root->levels; i++) {
		const uint8_t *sib = proof + 4 + 32 * i;

		if (i < 32 && (pos >> i) & 1)
			node(sib, cur, cur);
		else
			node(cur, sib, cur);
	}
	if (memcmp(cur, root->hash, 32) != 0)
		return "proof does not lead to the root";
	return NULL;
}

int main(int argc, char **argv)
{
	struct root root;
	int i, rejected = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s VMLINUX MODULE...\n", argv[0]);
		return 2;
	}
	if (read_root(argv[1], &root) != 0)
		return 2;
	for (i = 2; i < argc; i++) {
		size_t len;
		uint8_t *m = read_file(argv[i], &len);
		const char *why;

		if (!m)
			return 2;
		why = check(m, len, &root);
		free(m);
		if (why) {
			printf("reject %s: %s\n", argv[i], why);
			rejected = 1;
		} else {
			printf("accept %s\n", argv[i]);
		}
	}
	return rejected;
}
