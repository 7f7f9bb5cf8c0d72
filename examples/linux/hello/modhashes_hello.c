// SPDX-License-Identifier: GPL-2.0
/*
 * The out-of-tree module of examples/linux: built with `make M=` by Bazel's
 * kernel_external_module, authenticated by the same Merkle root as the
 * in-tree modules, with no signing key.
 */
#include <linux/init.h>
#include <linux/module.h>

static int __init modhashes_hello_init(void)
{
	pr_info("modhashes_hello: loaded, proven by the kernel's module hashes\n");
	return 0;
}

static void __exit modhashes_hello_exit(void)
{
}

module_init(modhashes_hello_init);
module_exit(modhashes_hello_exit);
MODULE_DESCRIPTION("Out-of-tree module of the modhashes example");
MODULE_LICENSE("GPL");
