/* A user-space program with the sections finalize works on, linked by gcc
 * as static, non-PIE and PIE executables: more segment kinds (PT_TLS,
 * PT_GNU_RELRO, PT_GNU_STACK, PT_DYNAMIC), allocated relocation sections
 * and TLS symbols than a kernel has. */
#include <stdio.h>

struct module_hashes_root {
	unsigned int levels;
	unsigned char hash[32];
};

const struct module_hashes_root module_hashes_root
	__attribute__((section(".module_hashes"), used, aligned(4)));
static const char modinfo[] __attribute__((section(".modinfo"), used)) = "user.license=GPL";
const int __mod_device_table__pci__user[4] __attribute__((used)) = { 1, 2, 3, 4 };
__thread int tls_counter = 3;

int main(void)
{
	printf("%d %d\n", tls_counter, __mod_device_table__pci__user[1]);
	return 0;
}
