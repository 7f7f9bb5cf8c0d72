/* A module: one function the kernel would call on load. */
int hello_init(void)
{
	return 5;
}
