/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * e820: the guest's physical memory map, as the BIOS e820 call would report
 * it, derived from guest_mem's regions. boot-linux.c copies it into
 * boot_params, boot-pvh.c into the hvm_start_info memory map.
 *
 * Deliberately not here: ACPI ranges (we have no ACPI tables) and the 32-bit
 * PCI hole, which is left out of the map altogether (docs/boot.md says why).
 */
#ifndef PGR_VMM_E820_H
#define PGR_VMM_E820_H

#include <stdint.h>

#include "vmm/memory.h"

#define E820_RAM       1
#define E820_RESERVED  2

#define E820_LOW_RAM_END   0x9FC00ULL   /* 639 KiB: the MP table lives above */
#define E820_HIGH_RAM      0x100000ULL  /* 1 MiB */

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;         /* E820_RAM, E820_RESERVED */
};

/* Fill @out (room for @max) in ascending address order; the number of
 * entries, or -ENOSPC when @max is too small. */
int e820_build(const struct guest_mem *gm, struct e820_entry *out, int max);

#endif
