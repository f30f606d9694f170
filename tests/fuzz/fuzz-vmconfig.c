// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz-vmconfig: libFuzzer target for vmconfig_from_json, which reads the
 * first section of every incoming migration stream. An accepted config must
 * write back to JSON that reads the same, and (with a kernel) to domain XML
 * that reads the same. Seeds: tests/fuzz/seeds/fuzz-vmconfig/.
 */
#include "lib/domxml.h"
#include "lib/vmconfig.h"

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
	json_t *j = vmconfig_to_json(c);
	struct vm_config d;
	char *err = NULL, *xml;

	if (!j || vmconfig_from_json(j, &d, &err))
		abort();
	same_or_abort(c, &d);
	vmconfig_clear(&d);
	json_decref(j);
	if (!c->kernel)
		return;
	xml = domxml_format(c);
	if (!xml || domxml_parse(xml, strlen(xml), &d, &err, NULL, NULL))
		abort();
	same_or_abort(c, &d);
	vmconfig_clear(&d);
	free(xml);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size, JSON_ALLOW_NUL | JSON_DECODE_ANY, NULL);
	struct vm_config c;
	char *err = NULL;

	if (!j)
		return 0;
	if (!vmconfig_from_json(j, &c, &err)) {
		roundtrip(&c);
		vmconfig_clear(&c);
	} else if (!err || strchr(err, '\n')) {
		abort();
	}
	free(err);
	json_decref(j);
	return 0;
}
