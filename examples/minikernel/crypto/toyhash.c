/* A hash module for the mini kernel: FNV-1a, 32 bits. */
#include "minikernel.h"

MK_MODULE_INFO(license, "GPL");
MK_MODULE_INFO(description, "toy hash");

unsigned int toyhash(const unsigned char *buf, unsigned int len)
{
	unsigned int h = 2166136261u;
	unsigned int i;

	for (i = 0; i < len; i++) {
		h ^= buf[i];
		h *= 16777619u;
	}
	return h;
}

static int toyhash_probe(int id)
{
	unsigned char b = (unsigned char)id;

	mk_log(toyhash(&b, 1) ? "toyhash: ok" : "toyhash: zero");
	return 0;
}

static const struct mk_driver toyhash_drv = {
	.name = "toyhash",
	.probe = toyhash_probe,
};

int init_module(void)
{
	return mk_register_driver(&toyhash_drv);
}
