// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz-allowlist: libFuzzer target for the relocation allow-list
 * (allowlist_new from a config value, then matching peers). Input: the
 * spec on the first line, then host names or addresses to match, one per
 * line. An empty spec must allow everyone; nothing may crash or leak.
 * Seeds: tests/fuzz/seeds/fuzz-allowlist/.
 */
#include "lib/allowlist.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *nl, *line, *err = NULL;
	struct allowlist *a;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	nl = strchr(s, '\n');
	if (nl)
		*nl = 0;
	a = allowlist_new(s, &err);
	if (!a) {
		if (!err)
			abort();
		free(err);
		free(s);
		return 0;
	}
	for (line = nl ? nl + 1 : NULL; line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		if (!allowlist_match(a, line, NULL) && allowlist_count(a) == 0)
			abort();
		allowlist_match(a, NULL, line);
		allowlist_match(a, line, line);
	}
	allowlist_free(a);
	free(s);
	return 0;
}
