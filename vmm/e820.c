// SPDX-License-Identifier: GPL-2.0-only
/*
 * e820: the guest memory map from guest_mem's regions (see e820.h).
 * Below 1 MiB: usable up to 639 KiB, then reserved to 1 MiB (the MP
 * floating pointer, and where a PC's EBDA, VGA window and BIOS would be).
 * The 3-4 GiB PCI hole is simply absent: Linux takes the largest gap below
 * 4 GiB as PCI MMIO space and claims the IOAPIC/LAPIC pages itself.
 */
#include "vmm/e820.h"

#include <errno.h>

struct e820_list {
	struct e820_entry *out;
	int max, n;
};

static int e820_add(struct e820_list *l, uint64_t start, uint64_t end, uint32_t type)
{
	if (end <= start)
		return 0;
	if (l->n >= l->max)
		return -ENOSPC;
	l->out[l->n++] = (struct e820_entry){ .addr = start, .size = end - start, .type = type };
	return 0;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* The region starting at 0 is split around the legacy hole below 1 MiB. */
static int e820_add_low(struct e820_list *l, const struct gm_region *r)
{
	uint64_t end = r->gpa + r->size;
	int err;

	err = e820_add(l, 0, min_u64(end, E820_LOW_RAM_END), E820_RAM);
	if (!err)
		err = e820_add(l, E820_LOW_RAM_END, min_u64(end, E820_HIGH_RAM), E820_RESERVED);
	if (!err)
		err = e820_add(l, E820_HIGH_RAM, end, E820_RAM);
	return err;
}

int e820_build(const struct guest_mem *gm, struct e820_entry *out, int max)
{
	struct e820_list l = { .out = out, .max = max, .n = 0 };
	int err = 0;

	for (int i = 0; i < gm->nr_regions && !err; i++) {
		const struct gm_region *r = &gm->regions[i];

		if (r->gpa == 0)
			err = e820_add_low(&l, r);
		else
			err = e820_add(&l, r->gpa, r->gpa + r->size, E820_RAM);
	}
	return err ? err : l.n;
}
