/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * paging.c: page directories for RAM above 4 GiB, written at CPL 3 (the
 * page tables are ordinary user-accessible memory in this guest).
 *
 * Why at CPL 3: on PVM supervisor code is emulated, ~30 us per page-table
 * entry; here the entries cost nothing. Each directory is filled while it
 * is not yet linked (so no shadow-paging hypervisor write-protects it), and
 * only then entered into the PDPT: a non-present -> present change, which
 * needs no TLB invalidation. Nothing is ever unmapped.
 *
 * Device BARs (virtio.c) get uncached 2 MiB pages. Below 4 GiB that
 * rewrites entry.S's cached entry for the same frame, which nothing has
 * touched yet (an MMIO hole), so no stale translation can exist; elsewhere
 * missing tables come from mmio_tables.
 */
#include "paging.h"
#include "boot.h"
#include "util.h"

#define PTE_TABLE	0x7	/* present, writable, user */
#define PTE_LARGE	0x87	/* ... and a 2 MiB page */
#define PTE_UNCACHED	0x18	/* PCD | PWT */
#define PTE_PRESENT	0x1
#define PTE_ADDR	0x000ffffffffff000UL
#define MMIO_TABLES	8
#define LARGE_PAGE	(2 * MIB)
#define HIGH_GIBS	((MAX_RAM - LOW_4G) / GIB)

extern u64 pml4[512], pdpt[512];	/* entry.S */
static u64 pd_high[HIGH_GIBS][512] __aligned(4096);
static u64 mmio_tables[MMIO_TABLES][512] __aligned(4096);
static u32 mmio_used;

static u64 map_range(u64 start, u64 end, u64 *gibs)
{
	u64 n = 0;

	start = align_down(max_u64(start, LOW_4G), LARGE_PAGE);
	end = min_u64(end, MAX_RAM);
	for (u64 a = start; a < end; a += LARGE_PAGE, n++) {
		u64 g = (a - LOW_4G) / GIB;

		pd_high[g][(a >> 21) & 511] = a | PTE_LARGE;
		*gibs |= 1UL << g;
	}
	return n;
}

u64 paging_map_high_ram(void)
{
	const struct mmap_entry *m = boot_info.map;
	u64 gibs = 0, n = 0;

	for (u32 i = 0; i < boot_info.nmap; i++)
		if (e820_is_mapped(m[i].type))
			n += map_range(m[i].addr, m[i].addr + m[i].size, &gibs);
	for (u64 g = 0; g < HIGH_GIBS; g++)
		if (gibs & 1UL << g)
			WRITE_ONCE(pdpt[LOW_4G / GIB + g], (u64)pd_high[g] | PTE_TABLE);
	return n;
}

/* The table entry @idx of @table points to, made (empty) if missing. */
static u64 *next_table(u64 *table, u32 idx)
{
	if (!(table[idx] & PTE_PRESENT)) {
		if (mmio_used == MMIO_TABLES)
			return NULL;
		WRITE_ONCE(table[idx], (u64)mmio_tables[mmio_used++] | PTE_TABLE);
	}
	return (u64 *)(table[idx] & PTE_ADDR);
}

int paging_map_mmio(u64 addr, u64 size)
{
	u64 end = addr + size;

	for (u64 a = align_down(addr, LARGE_PAGE); a < end; a += LARGE_PAGE) {
		u64 *pdp = next_table(pml4, (a >> 39) & 511);
		u64 *pd = pdp ? next_table(pdp, (a >> 30) & 511) : NULL;

		if (!pd)
			return -1;
		WRITE_ONCE(pd[(a >> 21) & 511], a | PTE_LARGE | PTE_UNCACHED);
	}
	return 0;
}
