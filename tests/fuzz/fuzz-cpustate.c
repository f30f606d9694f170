// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz-cpustate: the CPU section decoder (vmm/cpu-state.c) on arbitrary
 * bytes — a migration stream's CPU payload comes from the network. The
 * section CRC is checked before it, but a hostile source can compute CRCs.
 */
#include <stdint.h>
#include <stdlib.h>

#include "vmm/cpu-state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *err = NULL;
	struct cpu_state *s = cpu_state_decode(data, size, &err);

	if (s) {
		size_t len;
		void *again = cpu_state_encode(s, &len);   /* what decodes must encode */

		free(again);
	}
	cpu_state_free(s);
	free(err);
	return 0;
}
