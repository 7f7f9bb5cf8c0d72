/* The interface the mini kernel offers its modules. */
#ifndef MINIKERNEL_H
#define MINIKERNEL_H

/* Same layout as the kernel's struct module_hashes_root: 36 bytes. */
struct module_hashes_root {
	unsigned int levels;
	unsigned char hash[32];
};

struct mk_driver {
	const char *name;
	int (*probe)(int id);
};

void mk_log(const char *msg);
int mk_register_driver(const struct mk_driver *drv);

/* What MODULE_INFO does: a string in the ALLOC section .modinfo. */
#define MK_MODULE_INFO(tag, text) \
	static const char mk_modinfo_##tag[] \
		__attribute__((section(".modinfo"), used, aligned(1))) = #tag "=" text

#endif
