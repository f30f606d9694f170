/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * paging.h: mapping guest RAM above 4 GiB. entry.S's prebuilt tables cover
 * 0-4 GiB; this adds 2 MiB identity mappings for the memory map's RAM from
 * 4 GiB up to MAX_RAM (64 GiB), from user mode.
 *
 * paging_map_mmio() maps a device's memory BAR uncached (PCD|PWT), at any
 * address below 2^48, with 2 MiB pages and tables from a small pool.
 *
 * It never removes a mapping nor changes one that was used, so no TLB flush
 * is ever needed: an MMIO entry is written before its first access.
 */
#ifndef PGR_GUEST_PAGING_H
#define PGR_GUEST_PAGING_H

#include "guest.h"

/* Map the memory map's RAM above 4 GiB; returns the 2 MiB pages mapped. */
u64 paging_map_high_ram(void);
/* Identity-map [@addr, @addr + @size) uncached; 0, or -1 out of tables. */
int paging_map_mmio(u64 addr, u64 size);

#endif /* PGR_GUEST_PAGING_H */
