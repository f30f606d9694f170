/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * paging.h: mapping guest RAM above 4 GiB. entry.S's prebuilt tables cover
 * 0-4 GiB; this adds 2 MiB identity mappings for the memory map's RAM from
 * 4 GiB up to MAX_RAM (64 GiB), from user mode.
 *
 * It never changes or removes a mapping, so no TLB flush is ever needed.
 */
#ifndef PGR_GUEST_PAGING_H
#define PGR_GUEST_PAGING_H

#include "guest.h"

/* Map the memory map's RAM above 4 GiB; returns the 2 MiB pages mapped. */
u64 paging_map_high_ram(void);

#endif /* PGR_GUEST_PAGING_H */
