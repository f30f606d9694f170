// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz-domxml: libFuzzer target for domxml_parse, the parser for domain XML
 * that arrives from other hosts. Besides not crashing, every accepted
 * document must survive the round trip: format it, parse that back to the
 * same config, format again to the same bytes, and pass through the JSON a
 * migration stream would carry. Seeds: tests/fuzz/seeds/fuzz-domxml/.
 */
#include "lib/domxml.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_or_abort(const struct vm_config *a, const struct vm_config *b)
{
	json_t *ja = vmconfig_to_json(a), *jb = vmconfig_to_json(b);

	if (!ja || !jb || !json_equal(ja, jb))
		abort();
	json_decref(ja);
	json_decref(jb);
}

static void roundtrip(const struct vm_config *c)
{
	struct vm_config d, e;
	char *x1 = domxml_format(c), *x2, *err = NULL;
	json_t *j;

	if (!x1 || domxml_parse(x1, strlen(x1), &d, &err, NULL, NULL))
		abort();
	same_or_abort(c, &d);
	x2 = domxml_format(&d);
	if (!x2 || strcmp(x1, x2))
		abort();
	j = vmconfig_to_json(&d);
	if (!j || vmconfig_from_json(j, &e, &err))
		abort();
	same_or_abort(&d, &e);
	json_decref(j);
	vmconfig_clear(&d);
	vmconfig_clear(&e);
	free(x1);
	free(x2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct domxml_warning *w = NULL;
	struct vm_config c;
	char *err = NULL;
	int nw = 0;

	if (!domxml_parse((const char *)data, size, &c, &err, &w, &nw)) {
		roundtrip(&c);
		vmconfig_clear(&c);
	} else if (!err || strchr(err, '\n')) {
		abort();                /* errors are one line */
	}
	free(err);
	free(w);
	return 0;
}
