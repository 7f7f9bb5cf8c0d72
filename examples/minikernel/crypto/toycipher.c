/* A cipher module for the mini kernel: XOR with a rotating key. */
#include "minikernel.h"

MK_MODULE_INFO(license, "GPL");
MK_MODULE_INFO(description, "toy cipher");

static const unsigned char key[4] = { 0x5a, 0xa5, 0x3c, 0xc3 };

void toycipher_crypt(unsigned char *buf, unsigned int len)
{
	unsigned int i;

	for (i = 0; i < len; i++)
		buf[i] ^= key[i % sizeof(key)];
}

static int toycipher_probe(int id)
{
	unsigned char block[4] = { 1, 2, 3, (unsigned char)id };

	toycipher_crypt(block, sizeof(block));
	mk_log(block[0] == (1 ^ 0x5a) ? "toycipher: ok" : "toycipher: broken");
	return 0;
}

static const struct mk_driver toycipher = {
	.name = "toycipher",
	.probe = toycipher_probe,
};

int init_module(void)
{
	return mk_register_driver(&toycipher);
}
