/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * memory: guest RAM. One anonymous mapping per KVM memory slot, RAM split
 * around the 32-bit PCI hole (below 3 GiB, then from 4 GiB up), plus the
 * dirty bitmaps used by migration. Every write the monitor itself makes into
 * guest memory goes through gm_write()/gm_mark_dirty(), so that pages written
 * behind KVM's back are sent again by pre-copy.
 *
 * It does not know about devices, boot or migration policy; vm.c owns one,
 * boot/ fills it, migration/ram.c reads its dirty log.
 */
#ifndef PGR_VMM_MEMORY_H
#define PGR_VMM_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GM_PAGE_SIZE     4096ULL
#define GM_PCI_HOLE_START 0xC0000000ULL   /* 3 GiB: RAM below this ... */
#define GM_HIGH_START     0x100000000ULL  /* ... and the rest from 4 GiB */
#define GM_MAX_REGIONS    4

struct gm_region {
	uint64_t gpa;          /* guest-physical start, page aligned */
	uint64_t size;         /* bytes, page aligned */
	uint8_t *hva;          /* host mapping */
	uint32_t slot;         /* KVM memory slot id */
	unsigned long *vmm_dirty; /* one bit per page: written by the monitor */
};

struct guest_mem {
	uint64_t ram_size;     /* total RAM bytes, as given by --memory */
	int nr_regions;
	struct gm_region regions[GM_MAX_REGIONS];
	int vm_fd;             /* -1 until gm_register() */
	bool logging;          /* dirty logging on: monitor writes are recorded */
};

/* Lay out and map RAM of @ram_size bytes (no KVM involved: usable in tests). */
struct guest_mem *gm_new(uint64_t ram_size);
void gm_free(struct guest_mem *gm);
/* Register every region with KVM as a memory slot. */
int gm_register(struct guest_mem *gm, int vm_fd);
/* (Re)register one region with KVM_MEM_* @flags (e.g. KVM_MEM_LOG_DIRTY_PAGES). */
int gm_set_slot(struct guest_mem *gm, const struct gm_region *r, uint32_t flags);
/* Dirty logging off on every slot (it may have been left on). */
void gm_logging_off(struct guest_mem *gm);
/* The region holding all of [gpa, gpa+len), or NULL. */
struct gm_region *gm_region_of(struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* Host pointer for [gpa, gpa+len) if it lies inside one region, else NULL. */
void *gm_ptr(struct guest_mem *gm, uint64_t gpa, uint64_t len);
/* Copy in/out; -EFAULT when the range is not RAM. gm_write marks dirty. */
int gm_write(struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len);
int gm_read(struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len);
/* Record that the monitor wrote [gpa, gpa+len) through a gm_ptr() pointer. */
void gm_mark_dirty(struct guest_mem *gm, uint64_t gpa, uint64_t len);

#endif
