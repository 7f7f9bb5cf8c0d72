/* The smallest kernel image the pipeline accepts: an entry point and the
 * 36-byte .module_hashes placeholder that the final vmlinux gets the root in. */
const unsigned char module_hashes[36]
	__attribute__((section(".module_hashes"), used, aligned(4))) = { 0 };

void _start(void)
{
	for (;;)
		;
}
