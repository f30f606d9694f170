// SPDX-License-Identifier: GPL-2.0-only
/*
 * ram: dirty tracking and page transfer for pre-copy (see ram.h).
 *
 * Manual-protect mode (KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 with
 * INITIALLY_SET): enabling logging protects nothing and reports every page
 * dirty; KVM_GET_DIRTY_LOG only copies the bitmap; we write-protect a chunk
 * with KVM_CLEAR_DIRTY_LOG right before reading its pages, so a write that
 * races with the copy is logged again. The cost of write protection is
 * spread over the round instead of paid in one stall (the stalls QEMU shows
 * on PVM's shadow paging). Without the capability, KVM_GET_DIRTY_LOG
 * protects everything at once and this degrades to the classic scheme.
 */
#include "migration/ram.h"

#define LOG_SUBSYS "ram"
#include "lib/log.h"
#include "migration/format.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>

#define PAGE            4096ULL
#define CHUNK_PAGES     1024            /* pages protected and sent together */
#define BATCH_RUNS      128             /* runs per RAM_PAGES section */
#define BATCH_DATA      256             /* data pages per RAM_PAGES section */

uint64_t ram_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint64_t region_pages(const struct gm_region *r)
{
	return r->size / PAGE;
}

static size_t bitmap_words(uint64_t pages)
{
	return (pages + 63) / 64;
}

int ram_sender_init(struct ram_sender *rs, struct guest_mem *gm, int vm_fd,
		    struct format_writer *w)
{
	memset(rs, 0, sizeof(*rs));
	rs->gm = gm;
	rs->vm_fd = vm_fd;
	rs->w = w;
	for (int i = 0; i < gm->nr_regions; i++) {
		rs->dirty[i] = calloc(bitmap_words(region_pages(&gm->regions[i])), 8);
		if (!rs->dirty[i])
			return -ENOMEM;
	}
	return 0;
}

void ram_sender_release(struct ram_sender *rs)
{
	for (int i = 0; i < GM_MAX_REGIONS; i++)
		free(rs->dirty[i]);
	memset(rs->dirty, 0, sizeof(rs->dirty));
}

static bool enable_manual_protect(int vm_fd)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
		.args[0] = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET,
	};
	static int enabled = -1;   /* per process: a monitor has one VM */

	if (enabled < 0)
		enabled = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) >= 3 &&
			  ioctl(vm_fd, KVM_ENABLE_CAP, &cap) == 0;
	return enabled;
}

int ram_log_start(struct ram_sender *rs)
{
	struct guest_mem *gm = rs->gm;

	rs->manual = enable_manual_protect(rs->vm_fd);
	for (int i = 0; i < gm->nr_regions; i++) {
		/* Round one sends everything, so every page starts dirty. */
		memset(rs->dirty[i], 0xff, bitmap_words(region_pages(&gm->regions[i])) * 8);
		memset(gm->regions[i].vmm_dirty, 0, bitmap_words(region_pages(&gm->regions[i])) * 8);
	}
	__atomic_store_n(&gm->logging, true, __ATOMIC_RELEASE);
	for (int i = 0; i < gm->nr_regions; i++) {
		int r = gm_set_slot(gm, &gm->regions[i], KVM_MEM_LOG_DIRTY_PAGES);

		if (r < 0) {
			pr_err("enabling dirty logging on slot %u: %s", gm->regions[i].slot,
			       strerror(-r));
			ram_log_stop(rs);
			return r;
		}
	}
	pr_debug("dirty logging on (%s protect)", rs->manual ? "manual" : "automatic");
	return 0;
}

void ram_log_stop(struct ram_sender *rs)
{
	gm_logging_off(rs->gm);
}

static int64_t sync_region(struct ram_sender *rs, int i)
{
	struct gm_region *r = &rs->gm->regions[i];
	size_t words = bitmap_words(region_pages(r));
	uint64_t *kbm = calloc(words, 8);
	struct kvm_dirty_log log = { .slot = r->slot, .dirty_bitmap = kbm };
	int64_t n = 0;

	if (!kbm)
		return -ENOMEM;
	if (ioctl(rs->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0) {
		n = -errno;
		free(kbm);
		return n;
	}
	for (size_t w = 0; w < words; w++) {
		uint64_t vmm = __atomic_exchange_n(&r->vmm_dirty[w], 0, __ATOMIC_ACQ_REL);

		rs->dirty[i][w] |= kbm[w] | vmm;
		n += __builtin_popcountll(rs->dirty[i][w]);
	}
	free(kbm);
	return n;
}

int64_t ram_sync(struct ram_sender *rs)
{
	int64_t total = 0;

	for (int i = 0; i < rs->gm->nr_regions; i++) {
		int64_t n = sync_region(rs, i);

		if (n < 0) {
			pr_err("KVM_GET_DIRTY_LOG: %s", strerror((int)-n));
			return n;
		}
		total += n;
	}
	return total;
}

/* ---- sending ---- */

struct batch {
	struct format_ram_run runs[BATCH_RUNS];
	int nruns;
	int data_pages;
};

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;

	for (size_t i = 0; i < PAGE / 8; i += 8)
		if (w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] | w[i + 7])
			return false;
	return true;
}

static void pace(struct ram_sender *rs)
{
	uint64_t now, due_ns;

	if (!rs->max_bandwidth)
		return;
	now = ram_now_ns();
	if (!rs->pace_start_ns || now - rs->pace_start_ns > 1000000000ULL) {
		rs->pace_start_ns = now;
		rs->pace_start_bytes = rs->bytes;
		return;
	}
	due_ns = (rs->bytes - rs->pace_start_bytes) * 1000000000ULL / rs->max_bandwidth;
	if (due_ns > now - rs->pace_start_ns) {
		uint64_t ns = due_ns - (now - rs->pace_start_ns);
		struct timespec ts = { ns / 1000000000ULL, ns % 1000000000ULL };

		nanosleep(&ts, NULL);
	}
}

static int flush_batch(struct ram_sender *rs, struct batch *b)
{
	struct stream *st = format_writer_stream(rs->w);
	uint64_t before = stream_tell(st);
	int r;

	if (!b->nruns)
		return 0;
	r = format_write_ram_pages(rs->w, b->runs, b->nruns);
	rs->bytes += stream_tell(st) - before;
	b->nruns = 0;
	b->data_pages = 0;
	if (r < 0)
		return r;
	if (rs->progress)
		rs->progress(rs->progress_opaque, rs);
	pace(rs);
	if (rs->cancel && __atomic_load_n(rs->cancel, __ATOMIC_ACQUIRE))
		return -ECANCELED;
	return 0;
}

static int add_page(struct ram_sender *rs, struct batch *b, uint64_t gpa,
		    const uint8_t *hva, uint32_t flags)
{
	struct format_ram_run *last = b->nruns ? &b->runs[b->nruns - 1] : NULL;
	int r;

	if (last && last->flags == flags && last->gpa + last->npages * PAGE == gpa) {
		last->npages++;
	} else {
		if (b->nruns == BATCH_RUNS && (r = flush_batch(rs, b)) < 0)
			return r;
		b->runs[b->nruns++] = (struct format_ram_run){
			.gpa = gpa, .npages = 1, .flags = flags, .hva = hva,
		};
	}
	if (flags == PGR_MIG_RUN_DATA) {
		rs->data_pages++;
		if (++b->data_pages == BATCH_DATA)
			return flush_batch(rs, b);
	} else {
		rs->zero_pages++;
	}
	return 0;
}

/* Write-protect the dirty pages of one chunk before they are read. */
static void protect_chunk(struct ram_sender *rs, struct gm_region *r, uint64_t *bits,
			  uint64_t first, uint64_t npages)
{
	struct kvm_clear_dirty_log c = {
		.slot = r->slot, .first_page = first, .num_pages = (uint32_t)npages,
		.dirty_bitmap = bits,
	};

	if (ioctl(rs->vm_fd, KVM_CLEAR_DIRTY_LOG, &c) < 0)
		pr_warn("KVM_CLEAR_DIRTY_LOG at page %llu: %m", (unsigned long long)first);
}

static int send_chunk(struct ram_sender *rs, struct batch *b, int ri, uint64_t first,
		      uint64_t npages, bool paused)
{
	struct gm_region *r = &rs->gm->regions[ri];
	uint64_t *bits = &rs->dirty[ri][first / 64];
	unsigned char resident[CHUNK_PAGES];
	int err;

	if (rs->manual && !paused)
		protect_chunk(rs, r, bits, first, npages);
	if (mincore(r->hva + first * PAGE, npages * PAGE, resident) < 0)
		memset(resident, 1, sizeof(resident));
	for (uint64_t p = 0; p < npages; p++) {
		uint8_t *hva = r->hva + (first + p) * PAGE;
		uint32_t flags;

		if (!(bits[p / 64] & (1ULL << (p % 64))))
			continue;
		flags = (resident[p] & 1) && !page_is_zero(hva) ? PGR_MIG_RUN_DATA : PGR_MIG_RUN_ZERO;
		err = add_page(rs, b, r->gpa + (first + p) * PAGE, hva, flags);
		if (err)
			return err;
	}
	memset(bits, 0, bitmap_words(npages) * 8);
	return 0;
}

static bool chunk_dirty(const uint64_t *bits, uint64_t npages)
{
	for (size_t w = 0; w < bitmap_words(npages); w++)
		if (bits[w])
			return true;
	return false;
}

int ram_send_dirty(struct ram_sender *rs, bool paused)
{
	struct batch *b = calloc(1, sizeof(*b));
	int err = b ? 0 : -ENOMEM;

	for (int i = 0; i < rs->gm->nr_regions && !err; i++) {
		uint64_t pages = region_pages(&rs->gm->regions[i]);

		for (uint64_t first = 0; first < pages && !err; first += CHUNK_PAGES) {
			uint64_t n = pages - first < CHUNK_PAGES ? pages - first : CHUNK_PAGES;

			if (chunk_dirty(&rs->dirty[i][first / 64], n))
				err = send_chunk(rs, b, i, first, n, paused);
		}
	}
	if (!err)
		err = flush_batch(rs, b);
	free(b);
	return err;
}

/* ---- receiving ---- */

int ram_receive_section(struct format_reader *r, struct guest_mem *gm)
{
	struct format_ram_run run;
	int more;

	while ((more = format_read_ram_run(r, &run)) == 1) {
		uint64_t len = (uint64_t)run.npages * PAGE;
		void *dst = gm_ptr(gm, run.gpa, len);

		if (!dst)
			return format_reader_fail(r, -ERANGE, "pages at 0x%llx+%llu are not RAM of this VM",
						  (unsigned long long)run.gpa, (unsigned long long)len);
		if (run.flags == PGR_MIG_RUN_DATA) {
			if (format_read_ram_data(r, &run, dst) < 0)
				return -EIO;
		} else {
			madvise(dst, len, MADV_DONTNEED);   /* reads back as zeros */
		}
	}
	return more;
}
