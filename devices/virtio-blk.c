// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-blk: a virtio block device over a blk backend. One request queue;
 * requests are carried out synchronously on the thread that noticed them
 * (the main loop), one batch at a time: a batch is what one pass over the
 * available ring finds (at most a ring's worth). Consecutive reads (or
 * writes) of a batch that follow each other on the disk go out as one
 * preadv (pwritev), up to 16 requests or 1 MiB; if that call fails they
 * are tried one by one, so each gets its own status. A read completes as
 * soon as it is done. With cache=writethrough a write, discard, write-zeroes or
 * flush is held back: after the batch, one blk_sync (fdatasync) covers
 * them all, and only then are their completions posted — a failed sync
 * fails every one of them. So each pass returns with every request it
 * took complete, durable where the mode says so, and in the used ring;
 * migration stops device I/O under vm->io_lock, between passes, so at
 * stop-and-copy nothing is in flight and nothing completed is unsynced.
 * A backend error reaches the guest as VIRTIO_BLK_S_IOERR; a malformed
 * request as IOERR too, never a crash. Cache modes: docs/block.md.
 */
#include "devices/virtio-blk.h"

#define LOG_SUBSYS "virtio-blk"
#include "lib/log.h"
#include "block/blk.h"
#include "devices/device.h"
#include "devices/virtio-pci.h"
#include "vmm/vm.h"

#include <errno.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECTOR        512ULL
#define SEG_MAX       (VQ_MAX_IOV - 2)
#define MAX_DISCARD   (1u << 22)       /* sectors per discard/write-zeroes request */
#define MERGE_MAX     16               /* requests in one merged call */
#define MERGE_BYTES   (1u << 20)       /* bytes in one merged call */
#define MERGE_IOVS    1024             /* the kernel's UIO_MAXIOV */

/* A request whose completion waits for the batch's sync. */
struct held {
	uint16_t head;
	uint8_t status;                /* its own; IOERR too if the sync fails */
	bool flush;
	uint8_t *status_byte;          /* in guest RAM */
	uint64_t status_gpa;
};

struct virtio_blk {
	struct virtio_pci *vp;
	struct blk *blk;
	char serial[VIRTIO_BLK_ID_BYTES];
	struct virtio_blk_config config;
	/* queue processing (under vp->lock): a completion being posted, and
	 * the writethrough requests of this batch waiting for its sync */
	struct vq_chain done;
	struct held held[VQ_MAX_SIZE];
	int nheld;
	unsigned sync_failed;          /* failed batch syncs (the first is logged) */
	/* adjacent reads, or adjacent writes, of this batch: one call for all */
	struct vq_chain group[MERGE_MAX];
	int ngroup, group_iovs;
	uint32_t group_type;
	uint64_t group_sector, group_next;
	size_t group_bytes;
	struct iovec merge_iov[MERGE_IOVS];
	uint64_t merged;               /* requests carried out in a merged call */
};

static uint64_t blk_features(const struct blk *b)
{
	uint64_t f = (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
		     (1ULL << VIRTIO_BLK_F_FLUSH);

	if (b->readonly)
		return f | (1ULL << VIRTIO_BLK_F_RO);
	return f | (1ULL << VIRTIO_BLK_F_DISCARD) | (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
}

static void read_config(void *dev, uint32_t off, uint8_t *data, uint32_t len)
{
	struct virtio_blk *vb = dev;

	if (off + len <= sizeof(vb->config))
		memcpy(data, (uint8_t *)&vb->config + off, len);
	else
		memset(data, 0, len);
}

static bool range_ok(struct virtio_blk *vb, uint64_t sector, uint64_t bytes)
{
	uint64_t sectors = vb->blk->size / SECTOR;

	return sector <= sectors && bytes / SECTOR <= sectors - sector && bytes % SECTOR == 0;
}

/* Data iovec of a request: everything between the header and the status. */
static void data_iov(const struct vq_chain *c, bool in, const struct iovec **iov, int *n)
{
	if (in) {
		*iov = &c->iov[c->nout];
		*n = c->nin - 1;
	} else {
		*iov = &c->iov[1];
		*n = c->nout - 1;
	}
}

static uint32_t data_bytes(const struct vq_chain *c, bool in)
{
	const struct iovec *iov;
	uint32_t bytes = 0;
	int n;

	data_iov(c, in, &iov, &n);
	for (int i = 0; i < n; i++)
		bytes += (uint32_t)iov[i].iov_len;
	return bytes;
}

static uint8_t do_discard(struct virtio_blk *vb, const struct vq_chain *c, bool zeroes)
{
	struct virtio_blk_discard_write_zeroes seg;
	size_t off = sizeof(struct virtio_blk_outhdr);

	/* Segments follow the header in the readable part. */
	while (iov_to_buf(c->iov, c->nout, off, &seg, sizeof(seg)) == sizeof(seg)) {
		uint64_t bytes = (uint64_t)seg.num_sectors * SECTOR;
		int r;

		if (seg.num_sectors > MAX_DISCARD || !range_ok(vb, seg.sector, bytes))
			return VIRTIO_BLK_S_IOERR;
		r = zeroes ? blk_write_zeroes(vb->blk, seg.sector * SECTOR, bytes)
			   : blk_discard(vb->blk, seg.sector * SECTOR, bytes);
		if (r < 0)
			return VIRTIO_BLK_S_IOERR;
		off += sizeof(seg);
	}
	return VIRTIO_BLK_S_OK;
}

static uint8_t do_rw(struct virtio_blk *vb, const struct vq_chain *c, bool in,
		     uint64_t sector, uint32_t *written)
{
	const struct iovec *iov;
	size_t bytes = 0;
	int n, r;

	data_iov(c, in, &iov, &n);
	for (int i = 0; i < n; i++)
		bytes += iov[i].iov_len;
	if (!range_ok(vb, sector, bytes))
		return VIRTIO_BLK_S_IOERR;
	r = in ? blk_preadv(vb->blk, iov, n, sector * SECTOR)
	       : blk_pwritev(vb->blk, iov, n, sector * SECTOR);
	if (r < 0) {
		pr_debug("%s at sector %llu: %s", in ? "read" : "write",
			 (unsigned long long)sector, strerror(-r));
		return VIRTIO_BLK_S_IOERR;
	}
	if (in)
		*written += (uint32_t)bytes;
	return VIRTIO_BLK_S_OK;
}

static uint8_t do_request(struct virtio_blk *vb, const struct vq_chain *c,
			  const struct virtio_blk_outhdr *hdr, uint32_t *written)
{
	switch (hdr->type) {
	case VIRTIO_BLK_T_IN:
		return c->nin >= 1 ? do_rw(vb, c, true, hdr->sector, written) : VIRTIO_BLK_S_IOERR;
	case VIRTIO_BLK_T_OUT:
		return do_rw(vb, c, false, hdr->sector, written);
	case VIRTIO_BLK_T_FLUSH:
		/* writethrough: the batch's sync is the flush (settle) */
		if (blk_sync_before_complete(vb->blk))
			return VIRTIO_BLK_S_OK;
		return blk_flush(vb->blk) < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID:
		*written += (uint32_t)buf_to_iov(&c->iov[c->nout], c->nin - 1, 0, vb->serial,
						 sizeof(vb->serial));
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (vb->blk->readonly)
			return VIRTIO_BLK_S_IOERR;
		return do_discard(vb, c, hdr->type == VIRTIO_BLK_T_WRITE_ZEROES);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/* Does a request of this type wait for the batch's sync to complete? */
static bool held_back(const struct virtio_blk *vb, uint32_t type)
{
	return blk_sync_before_complete(vb->blk) &&
	       (type == VIRTIO_BLK_T_OUT || type == VIRTIO_BLK_T_FLUSH ||
		type == VIRTIO_BLK_T_DISCARD || type == VIRTIO_BLK_T_WRITE_ZEROES);
}

/* Post one completion: @status into the status byte, then the used ring
 * (@data bytes of data before it, already marked dirty). */
static void complete(struct virtio_blk *vb, struct virtqueue *vq, uint16_t head,
		     uint8_t *status_byte, uint64_t status_gpa, uint8_t status, uint32_t data)
{
	struct vq_chain *d = &vb->done;

	*status_byte = status;
	d->head = head;
	d->nout = 0;
	d->nin = 1;
	d->iov[0] = (struct iovec){ .iov_base = status_byte, .iov_len = 1 };
	d->gpa[0] = status_gpa;
	vq_push(vq, d, data + 1);
}

/* Where @c's status byte is; false if it has none. */
static bool status_place(const struct vq_chain *c, uint8_t **byte, uint64_t *gpa)
{
	int last = c->nout + c->nin - 1;
	const struct iovec *st = c->nin ? &c->iov[last] : NULL;

	if (!st || st->iov_len < 1)
		return false;
	*byte = (uint8_t *)st->iov_base + st->iov_len - 1;
	*gpa = c->gpa[last] + st->iov_len - 1;
	return true;
}

/* Complete @c (a request of @type, with a status byte) or hold it for the
 * batch's sync. */
static void finish(struct virtio_blk *vb, struct virtqueue *vq, const struct vq_chain *c,
		   uint32_t type, uint8_t status, uint32_t written)
{
	uint8_t *byte = NULL;
	uint64_t gpa = 0;

	status_place(c, &byte, &gpa);
	if (held_back(vb, type)) {
		/* at most a ring's worth a batch: vb->held never overflows */
		vb->held[vb->nheld++] = (struct held){
			.head = c->head, .status = status, .flush = type == VIRTIO_BLK_T_FLUSH,
			.status_byte = byte, .status_gpa = gpa,
		};
		return;
	}
	vq_mark_written(vq, c, written);
	complete(vb, vq, c->head, byte, gpa, status, written);
}

/* Carry out one request and complete it, or hold it for the batch's sync. */
static void run_request(struct virtio_blk *vb, struct virtqueue *vq, const struct vq_chain *c)
{
	struct virtio_blk_outhdr hdr;
	uint32_t written = 0;
	uint8_t *byte, status;
	uint64_t gpa;

	if (!status_place(c, &byte, &gpa)) {
		vq_push(vq, c, 0);     /* nowhere to put a status */
		return;
	}
	if (iov_to_buf(c->iov, c->nout, 0, &hdr, sizeof(hdr)) != sizeof(hdr)) {
		vq_mark_written(vq, c, 0);
		complete(vb, vq, c->head, byte, gpa, VIRTIO_BLK_S_IOERR, 0);
		return;
	}
	/* do_request sets @written: not in the same call's arguments, whose
	 * order of evaluation C leaves open (gcc passed 0: read data was not
	 * marked dirty, and a live migration lost it). */
	status = do_request(vb, c, &hdr, &written);
	finish(vb, vq, c, hdr.type, status, written);
}

/* ---- merging: adjacent reads (or writes) of a batch in one call ---- */

/* A well-formed read or write that do_rw would carry out: its type, first
 * sector, data bytes and data iovec count. */
static bool plain_rw(struct virtio_blk *vb, const struct vq_chain *c, uint32_t *type,
		     uint64_t *sector, size_t *bytes, int *niov)
{
	struct virtio_blk_outhdr hdr;
	const struct iovec *iov;
	uint8_t *byte;
	uint64_t gpa;

	if (!status_place(c, &byte, &gpa) ||
	    iov_to_buf(c->iov, c->nout, 0, &hdr, sizeof(hdr)) != sizeof(hdr) ||
	    (hdr.type != VIRTIO_BLK_T_IN && hdr.type != VIRTIO_BLK_T_OUT) ||
	    (hdr.type == VIRTIO_BLK_T_OUT && vb->blk->readonly))
		return false;
	data_iov(c, hdr.type == VIRTIO_BLK_T_IN, &iov, niov);
	*bytes = data_bytes(c, hdr.type == VIRTIO_BLK_T_IN);
	*type = hdr.type;
	*sector = hdr.sector;
	return *niov > 0 && *bytes && range_ok(vb, hdr.sector, *bytes);
}

/* The group in one preadv/pwritev; counters stay per request. */
static int merged_call(struct virtio_blk *vb)
{
	struct blk *b = vb->blk;
	bool in = vb->group_type == VIRTIO_BLK_T_IN;
	int n = 0, r;

	for (int i = 0; i < vb->ngroup; i++) {
		const struct iovec *iov;
		int k;

		data_iov(&vb->group[i], in, &iov, &k);
		memcpy(&vb->merge_iov[n], iov, k * sizeof(*iov));
		n += k;
	}
	r = in ? blk_preadv(b, vb->merge_iov, n, vb->group_sector * SECTOR)
	       : blk_pwritev(b, vb->merge_iov, n, vb->group_sector * SECTOR);
	*(in ? &b->rd_ops : &b->wr_ops) += r < 0 ? -1 : vb->ngroup - 1;
	if (r < 0) {           /* tried again one by one: counted there */
		*(in ? &b->rd_bytes : &b->wr_bytes) -= vb->group_bytes;
		b->errors--;
	} else {
		vb->merged += vb->ngroup;
	}
	return r;
}

/* Carry out the group: one call, each request completed OK; if that call
 * fails, request by request, so that each gets its own status. */
static void flush_group(struct virtio_blk *vb, struct virtqueue *vq)
{
	int n = vb->ngroup;

	if (n == 1)
		run_request(vb, vq, &vb->group[0]);
	else if (n > 1 && merged_call(vb) == 0)
		for (int i = 0; i < n; i++) {
			const struct vq_chain *c = &vb->group[i];
			bool in = vb->group_type == VIRTIO_BLK_T_IN;

			finish(vb, vq, c, vb->group_type, VIRTIO_BLK_S_OK, in ? data_bytes(c, true) : 0);
		}
	else
		for (int i = 0; i < n; i++)
			run_request(vb, vq, &vb->group[i]);
	vb->ngroup = 0;
}

static void copy_chain(struct vq_chain *to, const struct vq_chain *from)
{
	int n = from->nout + from->nin;

	to->head = from->head;
	to->nout = from->nout;
	to->nin = from->nin;
	to->in_len = from->in_len;
	memcpy(to->iov, from->iov, n * sizeof(from->iov[0]));
	memcpy(to->gpa, from->gpa, n * sizeof(from->gpa[0]));
}

/* The chain just popped into group[ngroup]: joins the group, starts a new
 * one, or (not a plain read or write) runs alone after the group. */
static void take_request(struct virtio_blk *vb, struct virtqueue *vq)
{
	struct vq_chain *c = &vb->group[vb->ngroup];
	uint32_t type;
	uint64_t sector;
	size_t bytes;
	int niov;

	if (!plain_rw(vb, c, &type, &sector, &bytes, &niov)) {
		flush_group(vb, vq);
		run_request(vb, vq, c);
		return;
	}
	if (vb->ngroup && (type != vb->group_type || sector != vb->group_next ||
			   vb->group_bytes + bytes > MERGE_BYTES || vb->group_iovs + niov > MERGE_IOVS)) {
		flush_group(vb, vq);
		copy_chain(&vb->group[0], c);
	}
	if (!vb->ngroup) {
		vb->group_type = type;
		vb->group_sector = sector;
		vb->group_bytes = 0;
		vb->group_iovs = 0;
	}
	vb->ngroup++;
	vb->group_next = sector + bytes / SECTOR;
	vb->group_bytes += bytes;
	vb->group_iovs += niov;
	if (vb->ngroup == MERGE_MAX)
		flush_group(vb, vq);
}

/*
 * The end of a writethrough batch: one sync covers every held request
 * (the flush requests among them included), then their completions go
 * out, all failed if the sync failed. Nothing held is posted before the
 * sync has returned.
 */
static void settle(struct virtio_blk *vb, struct virtqueue *vq)
{
	unsigned covered = 0, flushes = 0;
	int r;

	if (!vb->nheld)
		return;
	for (int i = 0; i < vb->nheld; i++) {
		covered += vb->held[i].status == VIRTIO_BLK_S_OK;
		flushes += vb->held[i].flush;
	}
	r = blk_sync(vb->blk, covered, flushes);
	if (r < 0 && !vb->sync_failed++)
		pr_warn("disk %s: fdatasync failed (%s): the %u write(s) and flush(es) it covered "
			"fail (logged once)", vb->blk->path, strerror(-r), covered);
	for (int i = 0; i < vb->nheld; i++) {
		const struct held *h = &vb->held[i];

		complete(vb, vq, h->head, h->status_byte, h->status_gpa,
			 r < 0 ? VIRTIO_BLK_S_IOERR : h->status, 0);
	}
	vb->nheld = 0;
}

/* One batch: up to a ring's worth of requests, then settle. 1 = more may
 * be waiting, 0 = the ring is empty, -EINVAL = a malformed chain. */
static int run_batch(struct virtio_blk *vb, struct virtqueue *vq, bool *any)
{
	int n, r = 0;

	for (n = 0; n < vq->size && (r = vq_pop(vq, &vb->group[vb->ngroup])) == 1; n++)
		take_request(vb, vq);
	flush_group(vb, vq);
	settle(vb, vq);
	*any |= n > 0;
	return r < 0 ? r : n > 0 && n == vq->size;
}

static void queue_notify(void *dev, int q)
{
	struct virtio_blk *vb = dev;
	struct virtqueue *vq = &vb->vp->vqs[q];
	bool any = false;
	int r;

	while ((r = run_batch(vb, vq, &any)) == 1)
		;
	if (r < 0)
		pr_warn("the driver gave a malformed descriptor chain; queue stopped until reset");
	if (any)
		virtio_pci_notify_queue(vb->vp, q);
}

static json_t *vb_save(void *dev)
{
	struct virtio_blk *vb = dev;

	return json_pack("{s:I, s:b}", "capacity", (json_int_t)(vb->blk->size / SECTOR),
			 "readonly", vb->blk->readonly);
}

/* The guest-visible disk must be the same on both sides. */
static int vb_load(void *dev, const json_t *st, char **err)
{
	struct virtio_blk *vb = dev;
	uint64_t cap;

	if (dev_get_uint(st, "capacity", INT64_MAX, &cap, err) < 0)
		return -EINVAL;
	if (cap != vb->blk->size / SECTOR)
		return asprintf(err, "virtio-blk: disk %s has %llu sectors here, the guest saw %llu",
				vb->blk->path, (unsigned long long)(vb->blk->size / SECTOR),
				(unsigned long long)cap), -EINVAL;
	if (json_is_true(json_object_get(st, "readonly")) != vb->blk->readonly)
		return asprintf(err, "virtio-blk: disk %s is %s here but was %s for the guest",
				vb->blk->path, vb->blk->readonly ? "read-only" : "writable",
				vb->blk->readonly ? "writable" : "read-only"), -EINVAL;
	return 0;
}

static void vb_free(void *dev)
{
	struct virtio_blk *vb = dev;

	blk_close(vb->blk);
	free(vb);
}

static const struct virtio_dev_ops blk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.class_code = 0x018000,
	.nqueues = 1,
	.config_size = sizeof(struct virtio_blk_config),
	.read_config = read_config,
	.queue_notify = queue_notify,
	.save = vb_save,
	.load = vb_load,
	.free = vb_free,
};

static void fill_config(struct virtio_blk *vb)
{
	struct virtio_blk_config *c = &vb->config;

	c->capacity = vb->blk->size / SECTOR;
	c->seg_max = SEG_MAX;
	c->blk_size = SECTOR;
	c->max_discard_sectors = MAX_DISCARD;
	c->max_discard_seg = 1;
	c->discard_sector_alignment = 8;
	c->max_write_zeroes_sectors = MAX_DISCARD;
	c->max_write_zeroes_seg = 1;
	c->write_zeroes_may_unmap = 1;
}

struct virtio_blk *virtio_blk_create(struct vm *vm, const struct vm_disk_cfg *cfg, int index,
				     char **err)
{
	struct virtio_blk *vb = calloc(1, sizeof(*vb));

	if (!vb)
		return NULL;
	vb->blk = blk_open(cfg, err);
	if (!vb->blk) {
		free(vb);
		return NULL;
	}
	snprintf(vb->serial, sizeof(vb->serial), "pgr-%s", cfg->target ? cfg->target : "vd");
	fill_config(vb);
	vb->vp = virtio_pci_new(vm, &blk_ops, vb, index, blk_features(vb->blk));
	if (!vb->vp) {
		if (asprintf(err, "disk %s: no room for another PCI device", cfg->path) < 0)
			*err = NULL;
		vb_free(vb);
		return NULL;
	}
	vm->virtio[vm->nvirtio++] = vb->vp;
	return vb;
}

json_t *virtio_blk_query(const struct virtio_blk *vb)
{
	const struct blk *b = vb->blk;

	return json_pack("{s:s, s:s, s:I, s:b, s:s, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
		"device", vb->serial + 4, "file", b->path, "size", (json_int_t)b->size,
		"readonly", b->readonly, "cache", disk_cache_name(b->cache), "stats",
		"rd_bytes", (json_int_t)b->rd_bytes, "wr_bytes", (json_int_t)b->wr_bytes,
		"rd_operations", (json_int_t)b->rd_ops, "wr_operations", (json_int_t)b->wr_ops,
		"flush_operations", (json_int_t)b->flush_ops, "failed_operations", (json_int_t)b->errors,
		"sync_operations", (json_int_t)b->sync_ops,
		"merged_operations", (json_int_t)vb->merged);
}

struct blk *virtio_blk_backend(const struct virtio_blk *vb)
{
	return vb->blk;
}
