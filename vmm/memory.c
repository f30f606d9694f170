// SPDX-License-Identifier: GPL-2.0-only
/*
 * memory: lays out and maps guest RAM, registers it with KVM, and records
 * the pages the monitor itself writes (see memory.h). Migration reads both
 * KVM's dirty log and vmm_dirty; this file only keeps the latter.
 */
#include "vmm/memory.h"

#define LOG_SUBSYS "memory"
#include "lib/log.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#define BITS_PER_LONG (8 * sizeof(unsigned long))

#define HUGE_ALIGN (2ULL << 20)

/*
 * Anonymous, 2 MiB aligned and marked for transparent huge pages: the
 * guest's first touch of its RAM then faults once per 2 MiB instead of
 * once per 4 KiB (seven times faster to fill 1 GiB under PVM's shadow
 * paging). Dirty logging still tracks 4 KiB pages: KVM splits as needed.
 */
static uint8_t *map_aligned(uint64_t size)
{
	uint8_t *p = mmap(NULL, size + HUGE_ALIGN, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint64_t head;

	if (p == MAP_FAILED)
		return NULL;
	head = (HUGE_ALIGN - ((uintptr_t)p & (HUGE_ALIGN - 1))) & (HUGE_ALIGN - 1);
	if (head)
		munmap(p, head);
	munmap(p + head + size, HUGE_ALIGN - head);
	return p + head;
}

static int region_map(struct gm_region *r, uint64_t gpa, uint64_t size, uint32_t slot)
{
	uint64_t pages = size / GM_PAGE_SIZE;

	r->gpa = gpa;
	r->size = size;
	r->slot = slot;
	r->hva = map_aligned(size);
	if (!r->hva)
		return -errno;
	madvise(r->hva, size, MADV_HUGEPAGE);
	r->vmm_dirty = calloc((pages + BITS_PER_LONG - 1) / BITS_PER_LONG,
			      sizeof(unsigned long));
	return r->vmm_dirty ? 0 : -ENOMEM;
}

struct guest_mem *gm_new(uint64_t ram_size)
{
	struct guest_mem *gm;
	uint64_t low = ram_size < GM_PCI_HOLE_START ? ram_size : GM_PCI_HOLE_START;
	int err;

	if (!ram_size || ram_size % GM_PAGE_SIZE) {
		errno = EINVAL;
		return NULL;
	}
	gm = calloc(1, sizeof(*gm));
	if (!gm)
		return NULL;
	gm->ram_size = ram_size;
	gm->vm_fd = -1;
	err = region_map(&gm->regions[gm->nr_regions++], 0, low, 0);
	if (!err && ram_size > low)
		err = region_map(&gm->regions[gm->nr_regions++], GM_HIGH_START,
				 ram_size - low, 1);
	if (err) {
		gm_free(gm);
		errno = -err;
		return NULL;
	}
	return gm;
}

void gm_free(struct guest_mem *gm)
{
	if (!gm)
		return;
	for (int i = 0; i < gm->nr_regions; i++) {
		if (gm->regions[i].hva)
			munmap(gm->regions[i].hva, gm->regions[i].size);
		free(gm->regions[i].vmm_dirty);
	}
	free(gm);
}

int gm_set_slot(struct guest_mem *gm, const struct gm_region *r, uint32_t flags)
{
	struct kvm_userspace_memory_region kr = {
		.slot = r->slot,
		.flags = flags,
		.guest_phys_addr = r->gpa,
		.memory_size = r->size,
		.userspace_addr = (uintptr_t)r->hva,
	};

	if (ioctl(gm->vm_fd, KVM_SET_USER_MEMORY_REGION, &kr) < 0)
		return -errno;
	return 0;
}

int gm_register(struct guest_mem *gm, int vm_fd)
{
	gm->vm_fd = vm_fd;
	for (int i = 0; i < gm->nr_regions; i++) {
		int err = gm_set_slot(gm, &gm->regions[i], 0);

		if (err) {
			pr_err("KVM_SET_USER_MEMORY_REGION slot %u: %s",
			       gm->regions[i].slot, strerror(-err));
			return err;
		}
	}
	return 0;
}

struct gm_region *gm_region_of(struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	for (int i = 0; i < gm->nr_regions; i++) {
		struct gm_region *r = &gm->regions[i];

		if (gpa >= r->gpa && len <= r->size && gpa - r->gpa <= r->size - len)
			return r;
	}
	return NULL;
}

void *gm_ptr(struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	struct gm_region *r = gm_region_of(gm, gpa, len);

	return r ? r->hva + (gpa - r->gpa) : NULL;
}

static void mark_region(struct gm_region *r, uint64_t gpa, uint64_t len)
{
	uint64_t first = (gpa - r->gpa) / GM_PAGE_SIZE;
	uint64_t last = (gpa - r->gpa + len - 1) / GM_PAGE_SIZE;

	for (uint64_t p = first; p <= last; p++)
		__atomic_fetch_or(&r->vmm_dirty[p / BITS_PER_LONG],
				  1UL << (p % BITS_PER_LONG), __ATOMIC_RELAXED);
}

void gm_mark_dirty(struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	struct gm_region *r;

	if (!len || !__atomic_load_n(&gm->logging, __ATOMIC_ACQUIRE))
		return;
	r = gm_region_of(gm, gpa, len);
	if (r)
		mark_region(r, gpa, len);
}

int gm_write(struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len)
{
	void *dst = gm_ptr(gm, gpa, len);

	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	gm_mark_dirty(gm, gpa, len);
	return 0;
}

int gm_read(struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len)
{
	const void *src = gm_ptr(gm, gpa, len);

	if (!src)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

void gm_logging_off(struct guest_mem *gm)
{
	if (!__atomic_load_n(&gm->logging, __ATOMIC_ACQUIRE))
		return;
	for (int i = 0; i < gm->nr_regions; i++)
		gm_set_slot(gm, &gm->regions[i], 0);
	__atomic_store_n(&gm->logging, false, __ATOMIC_RELEASE);
}
