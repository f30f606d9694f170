// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-blk: a virtio block device over a blk backend. One request queue;
 * requests are carried out synchronously on the thread that noticed them
 * (the main loop), one batch at a time: a batch is what one pass over the
 * available ring finds (at most a ring's worth). A read completes as soon
 * as it is done. With cache=writethrough a write, discard, write-zeroes or
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
	/* queue processing (under vp->lock): the chain being looked at, and
	 * the writethrough requests of this batch waiting for its sync */
	struct vq_chain chain, done;
	struct held held[VQ_MAX_SIZE];
	int nheld;
	unsigned sync_failed;          /* failed batch syncs (the first is logged) */
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

/* Carry out one request and complete it, or hold it for the batch's sync. */
static void run_request(struct virtio_blk *vb, struct virtqueue *vq, const struct vq_chain *c)
{
	int last = c->nout + c->nin - 1;
	const struct iovec *st = c->nin ? &c->iov[last] : NULL;
	struct virtio_blk_outhdr hdr;
	uint32_t written = 0;
	uint8_t status = VIRTIO_BLK_S_IOERR;
	uint8_t *status_byte;
	uint64_t status_gpa;

	if (!st || st->iov_len < 1) {
		vq_push(vq, c, 0);     /* nowhere to put a status */
		return;
	}
	status_byte = (uint8_t *)st->iov_base + st->iov_len - 1;
	status_gpa = c->gpa[last] + st->iov_len - 1;
	if (iov_to_buf(c->iov, c->nout, 0, &hdr, sizeof(hdr)) == sizeof(hdr)) {
		status = do_request(vb, c, &hdr, &written);
		if (held_back(vb, hdr.type)) {
			/* at most a ring's worth a batch: vb->held never overflows */
			vb->held[vb->nheld++] = (struct held){
				.head = c->head, .status = status,
				.flush = hdr.type == VIRTIO_BLK_T_FLUSH,
				.status_byte = status_byte, .status_gpa = status_gpa,
			};
			return;
		}
	}
	vq_mark_written(vq, c, written);
	complete(vb, vq, c->head, status_byte, status_gpa, status, written);
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

	for (n = 0; n < vq->size && (r = vq_pop(vq, &vb->chain)) == 1; n++)
		run_request(vb, vq, &vb->chain);
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

	return json_pack("{s:s, s:s, s:I, s:b, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
		"device", vb->serial + 4, "file", b->path, "size", (json_int_t)b->size,
		"readonly", b->readonly, "stats",
		"rd_bytes", (json_int_t)b->rd_bytes, "wr_bytes", (json_int_t)b->wr_bytes,
		"rd_operations", (json_int_t)b->rd_ops, "wr_operations", (json_int_t)b->wr_ops,
		"flush_operations", (json_int_t)b->flush_ops, "failed_operations", (json_int_t)b->errors,
		"sync_operations", (json_int_t)b->sync_ops);
}

struct blk *virtio_blk_backend(const struct virtio_blk *vb)
{
	return vb->blk;
}
