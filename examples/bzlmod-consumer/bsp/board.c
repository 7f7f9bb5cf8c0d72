/* A board's module: one function the kernel would call on load. */
int board_init(void)
{
	return 7;
}
