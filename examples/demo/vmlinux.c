/*
 * A stand-in for vmlinux.unstripped: a host program with the sections the
 * module-hashes pipeline touches. The zero root placeholder is what the
 * kernel's linker script provides; .modinfo and a __mod_device_table__
 * symbol are what finalize strips.
 */
struct module_hashes_root {
	unsigned int levels;
	unsigned char hash[32];
};

__attribute__((section(".module_hashes"), used, aligned(4)))
const struct module_hashes_root module_hashes_root;

__attribute__((section(".modinfo"), used))
static const char modinfo[] = "demo.license=GPL\0demo.description=example";

__attribute__((used))
const int __mod_device_table__demo__pci = 1;

int main(void)
{
	return module_hashes_root.levels == 0;
}
