// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz-uri: libFuzzer target for uri_parse, which reads what users type
 * after `pgr -c` and `pgr migrate DOM`, and what pgrd is sent as a
 * migration's destination. An accepted URI must format to a spelling
 * that parses back to the same parts. Seeds: tests/fuzz/seeds/fuzz-uri/.
 */
#include "lib/uri.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *err = NULL, *again;
	struct pgr_uri u, v;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	if (uri_parse(s, &u, &err) < 0) {
		if (!err)           /* every refusal says why */
			abort();
		free(err);
		free(s);
		return 0;
	}
	again = uri_format(&u);
	if (!again || uri_parse(again, &v, NULL) < 0)
		abort();
	if (u.transport != v.transport || u.port != v.port || !same_str(u.user, v.user) ||
	    !same_str(u.host, v.host) || !same_str(u.path, v.path))
		abort();
	uri_clear(&v);
	uri_clear(&u);
	free(again);
	free(s);
	return 0;
}
