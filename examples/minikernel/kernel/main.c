/*
 * A stand-in for vmlinux: a freestanding static ELF with the sections the
 * module-hashes pipeline touches. It is linked, inspected and patched; it is
 * never run.
 */
#include "minikernel.h"

/* The placeholder the final link step fills with the Merkle root. */
const struct module_hashes_root module_hashes_root
	__attribute__((section(".module_hashes"), used, aligned(4))) = { 0, { 0 } };

/* Built-in module metadata: allocated, and dropped from the final image. */
MK_MODULE_INFO(license, "GPL");
MK_MODULE_INFO(description, "minikernel core");

/*
 * A device table alias as MODULE_DEVICE_TABLE leaves for built-in drivers:
 * nothing refers to it, so the final image strips it.
 */
const unsigned short __mod_device_table__pci__mk_core[4]
	__attribute__((used)) = { 0x1af4, 0x1000, 0, 0 };

#define MAX_DRIVERS 8

static const struct mk_driver *drivers[MAX_DRIVERS];
static int ndrivers;
static char log_buf[256];
static unsigned int log_pos;

void mk_log(const char *msg)
{
	while (*msg && log_pos < sizeof(log_buf) - 1)
		log_buf[log_pos++] = *msg++;
	log_buf[log_pos] = 0;
}

int mk_register_driver(const struct mk_driver *drv)
{
	if (ndrivers == MAX_DRIVERS)
		return -1;
	drivers[ndrivers++] = drv;
	mk_log(drv->name);
	return 0;
}

static void kernel_main(void)
{
	int i;

	mk_log("minikernel: levels=");
	log_buf[log_pos++ % sizeof(log_buf)] = (char)('0' + module_hashes_root.levels);
	for (i = 0; i < ndrivers; i++)
		drivers[i]->probe(i);
}

void _start(void)
{
	kernel_main();
	for (;;)
		;
}
