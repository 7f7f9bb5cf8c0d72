/* A module: one function the kernel would call on load. */
int world_init(void)
{
	return 5;
}
