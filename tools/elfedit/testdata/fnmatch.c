/* Reads "pattern\tname" lines and prints 1 or 0 for fnmatch(pattern,
 * name, 0): the oracle for elfedit's pattern matching. */
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
	char line[4096];

	while (fgets(line, sizeof(line), stdin)) {
		char *tab = strchr(line, '\t');
		char *nl = strchr(line, '\n');

		if (!tab || !nl)
			return 2;
		*tab = 0;
		*nl = 0;
		printf("%d\n", fnmatch(line, tab + 1, 0) == 0);
	}
	return 0;
}
