// SPDX-License-Identifier: GPL-2.0-only
/*
 * lazy-ram: restore a save file's RAM after the guest has resumed, one
 * verified chunk at a time (see lazy-ram.h).
 *
 * Guest RAM stays anonymous memory registered with userfaultfd in MISSING
 * mode: a page nobody has placed yet stops whoever touches it — a vCPU,
 * KVM on its behalf, a device model — until the server thread has placed
 * it. The server places whole 2 MiB chunks of the RAM image, and only
 * after the chunk's CRC matched: the file's data extents read into a
 * buffer, checked there and copied in (UFFDIO_COPY), its holes mapped as
 * zero pages (UFFDIO_ZEROPAGE). Chunks somebody is waiting for go first; the others
 * follow in address order, so that the whole image is checked soon after
 * the resume. A chunk that does not match is never placed: whoever waits
 * for it waits until the monitor, told through @fail, exits.
 *
 * Neighbours: migration/incoming.c (starts it, fences device I/O until it
 * is done), migration/format-image.c (the chunk table).
 */
#include "migration/lazy-ram.h"

#define LOG_SUBSYS "incoming"
#include "lib/crc32c.h"
#include "lib/log.h"
#include "migration/ram.h"
#include "vmm/memory.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE 4096ULL
#define FAULT_BATCH 16
#define MAX_EXTENTS 64

struct extent {
	uint64_t start, end;
};

struct lazy_region {
	uint8_t *hva;
	uint64_t size, gpa;
	uint64_t file_off;        /* of the region's bytes in the save file */
	uint64_t first_chunk;     /* index of its first chunk in the image */
};

/* One of the two threads: its chunk buffer and the extents of its chunk. */
struct worker {
	struct lazy_ram *l;
	uint8_t *buf;
	struct extent ext[MAX_EXTENTS];
	pthread_t thread;
	bool live;
};

enum { CHUNK_MISSING, CHUNK_BUSY, CHUNK_PLACED };

struct lazy_ram {
	int uffd, file_fd, stop_fd;
	uint64_t file_len;
	uint32_t chunk_shift;
	uint64_t nr_chunks;
	uint32_t *crc;            /* expected CRC per chunk (owned) */
	uint8_t *state;           /* per chunk: CHUNK_*, atomic */
	uint64_t nr_placed;       /* atomic */
	bool failed, stop;        /* atomic */
	int nr_regions;
	struct lazy_region region[PGR_MIG_IMAGE_MAX_REGIONS];
	lazy_ram_done_fn done;
	void *opaque;
	struct worker faults, filler;
	uint64_t t_start, nr_faults;
	char error[256];
};

/* The region and chunk of chunk index @k. */
static struct lazy_region *chunk_region(struct lazy_ram *l, uint64_t k)
{
	for (int i = l->nr_regions - 1; i >= 0; i--)
		if (k >= l->region[i].first_chunk)
			return &l->region[i];
	return NULL;
}

static int64_t chunk_of_addr(struct lazy_ram *l, uint64_t addr)
{
	for (int i = 0; i < l->nr_regions; i++) {
		struct lazy_region *g = &l->region[i];

		if (addr >= (uintptr_t)g->hva && addr < (uintptr_t)g->hva + g->size)
			return (int64_t)(g->first_chunk + ((addr - (uintptr_t)g->hva) >> l->chunk_shift));
	}
	return -1;
}

/* [*pos, end): the next data extent of the file, page aligned; false at the end. */
static bool next_data(struct lazy_ram *l, uint64_t *pos, uint64_t end, uint64_t *data_end)
{
	off_t d = lseek(l->file_fd, (off_t)*pos, SEEK_DATA), h;

	if (d < 0 && errno != ENXIO)
		d = (off_t)*pos;                 /* no SEEK_DATA: all data */
	if (d < 0 || (uint64_t)d >= end)
		return false;
	h = lseek(l->file_fd, d, SEEK_HOLE);
	if (h < 0 || (uint64_t)h > end || h <= d)
		h = (off_t)end;
	*pos = (uint64_t)d & ~(PAGE - 1);
	*data_end = ((uint64_t)h + PAGE - 1) & ~(PAGE - 1);
	if (*data_end > end)
		*data_end = end;
	return true;
}

static int uffd_zero(struct lazy_ram *l, uint8_t *dst, uint64_t len)
{
	struct uffdio_zeropage z = { .range = { (uintptr_t)dst, len } };

	if (!len || ioctl(l->uffd, UFFDIO_ZEROPAGE, &z) == 0 || errno == EEXIST)
		return 0;
	return -errno;
}

/* Copy, stepping over pages already there (placed by an earlier call). */
static int uffd_copy(struct lazy_ram *l, uint8_t *dst, const uint8_t *src, uint64_t len)
{
	while (len) {
		struct uffdio_copy c = { .dst = (uintptr_t)dst, .src = (uintptr_t)src, .len = len };
		uint64_t done;

		if (ioctl(l->uffd, UFFDIO_COPY, &c) == 0)
			return 0;
		if (errno != EEXIST && errno != EAGAIN)
			return -errno;
		done = c.copy > 0 ? (uint64_t)c.copy : 0;
		if (errno == EEXIST)
			done += PAGE;
		done = done < len ? done : len;
		dst += done;
		src += done;
		len -= done;
	}
	return 0;
}

/* Chunk @k's data extents (page aligned, chunk relative) into w->ext. */
static int chunk_extents(struct worker *w, uint64_t k, uint64_t *len)
{
	struct lazy_ram *l = w->l;
	struct lazy_region *g = chunk_region(l, k);
	uint64_t start = (k - g->first_chunk) << l->chunk_shift, base = g->file_off + start;
	uint64_t pos, end, dend;
	int n = 0;

	*len = g->size - start < (1ULL << l->chunk_shift) ? g->size - start
							  : 1ULL << l->chunk_shift;
	for (pos = base, end = base + *len; n < MAX_EXTENTS && next_data(l, &pos, end, &dend);
	     pos = dend)
		w->ext[n++] = (struct extent){ pos - base, dend - base };
	if (n == MAX_EXTENTS)          /* too fragmented: the rest as data */
		w->ext[n - 1].end = *len;
	return n;
}

/* Read chunk @k's data into w->buf and check it against its CRC. */
static int check_chunk(struct worker *w, uint64_t k, uint64_t *len, int *n)
{
	struct lazy_ram *l = w->l;
	struct lazy_region *g = chunk_region(l, k);
	uint64_t base = g->file_off + ((k - g->first_chunk) << l->chunk_shift), at = 0;
	uint32_t crc = 0;

	*n = chunk_extents(w, k, len);
	for (int i = 0; i < *n; i++) {
		uint64_t e = w->ext[i].start, want = w->ext[i].end - e;
		ssize_t got = pread(l->file_fd, w->buf + e, want, (off_t)(base + e));

		if (got < 0 || (uint64_t)got < want)
			return got < 0 ? -errno : -EIO;
		crc = crc32c(crc32c_zeros(crc, e - at), w->buf + e, want);
		at = w->ext[i].end;
	}
	return crc32c_zeros(crc, *len - at) == l->crc[k] ? 0 : -EBADMSG;
}

static int place_chunk(struct worker *w, uint64_t k, uint64_t len, int n)
{
	struct lazy_region *g = chunk_region(w->l, k);
	uint8_t *dst = g->hva + ((k - g->first_chunk) << w->l->chunk_shift);
	uint64_t at = 0;
	int r = 0;

	for (int i = 0; i <= n && !r; i++) {
		uint64_t e = i < n ? w->ext[i].start : len;

		r = uffd_zero(w->l, dst + at, e - at);
		if (!r && i < n)
			r = uffd_copy(w->l, dst + e, w->buf + e, w->ext[i].end - e);
		at = i < n ? w->ext[i].end : len;
	}
	return r;
}

/* The first failure stops both threads and is the one reported. */
static void fail(struct lazy_ram *l, uint64_t k, int err)
{
	struct lazy_region *g = chunk_region(l, k);
	bool no = false;

	if (!__atomic_compare_exchange_n(&l->failed, &no, true, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return;
	snprintf(l->error, sizeof(l->error), "RAM image chunk at gpa 0x%" PRIx64 ": %s",
		 g->gpa + ((k - g->first_chunk) << l->chunk_shift),
		 err == -EBADMSG ? "checksum mismatch" : err == -EIO ? "file truncated" :
		 strerror(-err));
	l->done(l->opaque, l->error);
}

/* Check and place chunk @k unless the other thread has it; -1 on failure. */
static int serve_chunk(struct worker *w, uint64_t k)
{
	struct lazy_ram *l = w->l;
	uint8_t missing = CHUNK_MISSING;
	uint64_t len;
	int n, r;

	if (!__atomic_compare_exchange_n(&l->state[k], &missing, CHUNK_BUSY, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return 0;      /* placed, or being placed: its copy wakes the faulting */
	r = check_chunk(w, k, &len, &n);
	if (!r)
		r = place_chunk(w, k, len, n);
	if (r < 0) {
		fail(l, k, r);
		return -1;
	}
	__atomic_store_n(&l->state[k], CHUNK_PLACED, __ATOMIC_RELEASE);
	__atomic_add_fetch(&l->nr_placed, 1, __ATOMIC_ACQ_REL);
	return 0;
}

/* Serve the faults waiting now; -1 on a bad chunk, else how many. */
static int serve_faults(struct worker *w)
{
	struct lazy_ram *l = w->l;
	struct uffd_msg msg[FAULT_BATCH];
	ssize_t n = read(l->uffd, msg, sizeof(msg));

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	for (ssize_t i = 0; i < n / (ssize_t)sizeof(msg[0]); i++) {
		int64_t k;

		if (msg[i].event != UFFD_EVENT_PAGEFAULT)
			continue;
		k = chunk_of_addr(l, msg[i].arg.pagefault.address);
		if (k < 0)
			continue;
		l->nr_faults++;
		if (serve_chunk(w, (uint64_t)k) < 0)
			return -1;
		/* The copy woke whoever waited; a fault read late gets a spare
		 * wake. Not while the other thread places it: it would only
		 * fault again at once. */
		if (__atomic_load_n(&l->state[k], __ATOMIC_ACQUIRE) == CHUNK_PLACED)
			ioctl(l->uffd, UFFDIO_WAKE, &(struct uffdio_range){
				msg[i].arg.pagefault.address & ~(PAGE - 1), PAGE });
	}
	return (int)(n / (ssize_t)sizeof(msg[0]));
}

/* Every page is in place: the kernel's own fault handling takes over (a
 * reset or a migration may drop pages later; they come back as zeros). */
static int unregister_ram(struct lazy_ram *l)
{
	for (int i = 0; i < l->nr_regions; i++) {
		struct uffdio_range r = { (uintptr_t)l->region[i].hva, l->region[i].size };

		if (ioctl(l->uffd, UFFDIO_UNREGISTER, &r) < 0)
			pr_warn("userfaultfd: unregistering RAM region %d: %m", i);
	}
	close(l->uffd);
	l->uffd = -1;
	return 0;
}

static bool stopping(struct lazy_ram *l)
{
	return __atomic_load_n(&l->stop, __ATOMIC_ACQUIRE) ||
	       __atomic_load_n(&l->failed, __ATOMIC_ACQUIRE);
}

/* Thread 1: whatever somebody is waiting for, at once. */
static void *fault_server(void *arg)
{
	struct worker *w = arg;
	struct lazy_ram *l = w->l;
	struct pollfd p[2] = { { .fd = l->uffd, .events = POLLIN },
			       { .fd = l->stop_fd, .events = POLLIN } };

	while (!stopping(l)) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents || (p[0].revents && serve_faults(w) < 0))
			break;
	}
	return NULL;
}

/* Thread 2: every chunk in address order, then the end of it all. */
static void *filler(void *arg)
{
	struct worker *w = arg;
	struct lazy_ram *l = w->l;
	uint64_t one = 1;

	for (uint64_t k = 0; k < l->nr_chunks && !stopping(l); k++)
		if (serve_chunk(w, k) < 0)
			return NULL;
	/* Chunks the fault server took may still be on their way. */
	while (__atomic_load_n(&l->nr_placed, __ATOMIC_ACQUIRE) < l->nr_chunks && !stopping(l))
		usleep(200);
	if (stopping(l))
		return NULL;
	__atomic_store_n(&l->stop, true, __ATOMIC_RELEASE);
	if (write(l->stop_fd, &one, sizeof(one)) < 0)
		pr_warn("stopping the fault server: %m");
	pthread_join(l->faults.thread, NULL);
	l->faults.live = false;
	unregister_ram(l);
	pr_info("RAM image verified and in place %.1f ms after the restore began "
		"(%" PRIu64 " faults served)", (ram_now_ns() - l->t_start) / 1e6, l->nr_faults);
	l->done(l->opaque, NULL);
	return NULL;
}

static void worker_stop(struct worker *w)
{
	if (w->live)
		pthread_join(w->thread, NULL);
	w->live = false;
	if (w->buf)
		munmap(w->buf, 1ULL << w->l->chunk_shift);
	w->buf = NULL;
}

void lazy_ram_free(struct lazy_ram *l)
{
	uint64_t one = 1;

	if (!l)
		return;
	__atomic_store_n(&l->stop, true, __ATOMIC_RELEASE);
	if (l->stop_fd >= 0 && write(l->stop_fd, &one, sizeof(one)) < 0)
		pr_warn("waking the RAM server: %m");
	worker_stop(&l->filler);      /* first: it may be joining the other */
	worker_stop(&l->faults);
	if (l->uffd >= 0)
		close(l->uffd);       /* unregisters: RAM is ordinary memory again */
	if (l->file_fd >= 0)
		close(l->file_fd);
	if (l->stop_fd >= 0)
		close(l->stop_fd);
	free(l->crc);
	free(l->state);
	free(l);
}

static int setup_regions(struct lazy_ram *l, struct guest_mem *gm,
			 const struct format_ram_image *img, char **err)
{
	uint64_t chunk = 0;

	if (img->nr_regions != (uint32_t)gm->nr_regions)
		return asprintf(err, "RAM layout differs from the definition's"), -EINVAL;
	for (uint32_t i = 0; i < img->nr_regions; i++) {
		struct gm_region *g = &gm->regions[i];
		const struct pgr_mig_image_region *f = &img->region[i];

		if (f->gpa != g->gpa || f->size != g->size)
			return asprintf(err, "RAM region %u differs from the definition's", i), -EINVAL;
		if (f->offset + f->size > l->file_len)
			return asprintf(err, "RAM region %u: file truncated", i), -EINVAL;
		l->region[i] = (struct lazy_region){ g->hva, g->size, g->gpa, f->offset, chunk };
		chunk += (g->size + (1ULL << img->chunk_shift) - 1) >> img->chunk_shift;
	}
	l->nr_regions = (int)img->nr_regions;
	return 0;
}

static int register_ram(struct lazy_ram *l, char **err)
{
	struct uffdio_api api = { .api = UFFD_API };

	l->uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (l->uffd < 0 || ioctl(l->uffd, UFFDIO_API, &api) < 0)
		return asprintf(err, "userfaultfd: %s", strerror(errno)), -errno;
	for (int i = 0; i < l->nr_regions; i++) {
		struct lazy_region *g = &l->region[i];
		struct uffdio_register reg = {
			.range = { (uintptr_t)g->hva, g->size }, .mode = UFFDIO_REGISTER_MODE_MISSING,
		};

		madvise(g->hva, g->size, MADV_DONTNEED);  /* nothing placed behind our back */
		if (ioctl(l->uffd, UFFDIO_REGISTER, &reg) < 0)
			return asprintf(err, "userfaultfd on RAM region %d: %s", i,
					strerror(errno)), -errno;
	}
	return 0;
}

static int open_file(struct lazy_ram *l, int fd, char **err)
{
	char path[64];
	struct stat st;

	/* Our own file offset: SEEK_DATA must not move the stream's. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	l->file_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (l->file_fd < 0 || fstat(l->file_fd, &st) < 0)
		return asprintf(err, "reopening the save file: %s", strerror(errno)), -errno;
	l->file_len = (uint64_t)st.st_size;
	return 0;
}

static int worker_start(struct lazy_ram *l, struct worker *w, void *(*fn)(void *))
{
	w->l = l;
	w->buf = mmap(NULL, 1ULL << l->chunk_shift, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w->buf == MAP_FAILED) {
		w->buf = NULL;
		return -errno;
	}
	if (pthread_create(&w->thread, NULL, fn, w) != 0)
		return -EAGAIN;
	w->live = true;
	return 0;
}

struct lazy_ram *lazy_ram_start(struct guest_mem *gm, int fd, struct format_ram_image *img,
				lazy_ram_done_fn done, void *opaque, char **err)
{
	struct lazy_ram *l = calloc(1, sizeof(*l));

	*err = NULL;
	if (!l)
		return NULL;
	*l = (struct lazy_ram){ .uffd = -1, .file_fd = -1, .chunk_shift = img->chunk_shift,
				.nr_chunks = img->nr_chunks, .done = done, .opaque = opaque,
				.t_start = ram_now_ns() };
	l->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	l->state = calloc(img->nr_chunks ?: 1, 1);
	l->crc = img->chunk_crc;          /* ours from now on */
	img->chunk_crc = NULL;
	if (l->stop_fd < 0 || !l->state || !l->crc ||
	    open_file(l, fd, err) < 0 || setup_regions(l, gm, img, err) < 0 ||
	    register_ram(l, err) < 0 || worker_start(l, &l->faults, fault_server) < 0 ||
	    worker_start(l, &l->filler, filler) < 0) {
		if (!*err && asprintf(err, "cannot start the RAM server: %s", strerror(errno)) < 0)
			*err = NULL;
		lazy_ram_free(l);
		return NULL;
	}
	return l;
}
