/* A file system module for the mini kernel. */
#include "minikernel.h"

MK_MODULE_INFO(license, "GPL");
MK_MODULE_INFO(description, "tiny read-only file system");

static const char superblock[16] = "TINYFS\0\1";

static int tinyfs_probe(int id)
{
	(void)id;
	mk_log(superblock[7] == 1 ? "tinyfs: v1" : "tinyfs: unknown");
	return 0;
}

static const struct mk_driver tinyfs = {
	.name = "tinyfs",
	.probe = tinyfs_probe,
};

int init_module(void)
{
	return mk_register_driver(&tinyfs);
}
