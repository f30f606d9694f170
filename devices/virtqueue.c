// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtqueue: split-ring processing (see virtqueue.h). Indices are read
 * with acquire and published with release ordering, as the virtio
 * specification's memory model requires.
 */
#include "devices/virtqueue.h"

#include "vmm/memory.h"

#include <errno.h>
#include <linux/virtio_ring.h>
#include <stddef.h>
#include <string.h>

void vq_reset(struct virtqueue *vq)
{
	struct guest_mem *gm = vq->gm;

	memset(vq, 0, sizeof(*vq));
	vq->gm = gm;
	vq->size = VQ_MAX_SIZE;
	vq->msix_vector = 0xffff;
}

static volatile uint16_t *avail_idx(struct virtqueue *vq)
{
	return gm_ptr(vq->gm, vq->avail_gpa + 2, 2);
}

bool vq_has_avail(struct virtqueue *vq)
{
	volatile uint16_t *idx = vq->enabled ? avail_idx(vq) : NULL;

	return idx && __atomic_load_n(idx, __ATOMIC_ACQUIRE) != vq->last_avail;
}

static int add_desc(struct virtqueue *vq, struct vq_chain *c, const struct vring_desc *d)
{
	int i = c->nout + c->nin;
	void *p;

	if (i == VQ_MAX_IOV)
		return -EINVAL;
	p = d->len ? gm_ptr(vq->gm, d->addr, d->len) : NULL;
	if (d->len && !p)
		return -EINVAL;
	if (d->flags & VRING_DESC_F_WRITE) {
		c->nin++;
		c->in_len += d->len;
	} else {
		if (c->nin)
			return -EINVAL;    /* readable after writable */
		c->nout++;
	}
	c->iov[i] = (struct iovec){ .iov_base = p, .iov_len = d->len };
	c->gpa[i] = d->addr;
	return 0;
}

int vq_pop(struct virtqueue *vq, struct vq_chain *c)
{
	struct vring_desc *table;
	uint16_t *ring, idx;

	if (!vq_has_avail(vq))
		return 0;
	table = gm_ptr(vq->gm, vq->desc_gpa, (uint64_t)vq->size * sizeof(*table));
	ring = gm_ptr(vq->gm, vq->avail_gpa + 4, (uint64_t)vq->size * 2);
	if (!table || !ring)
		return -EINVAL;
	c->head = ring[vq->last_avail % vq->size];
	c->nout = c->nin = 0;
	c->in_len = 0;
	if (c->head >= vq->size)
		return -EINVAL;
	idx = c->head;
	for (int n = 0; ; n++) {
		struct vring_desc d = table[idx];

		if (n == vq->size || add_desc(vq, c, &d) < 0)
			return -EINVAL;
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		if (d.flags & VRING_DESC_F_INDIRECT || d.next >= vq->size)
			return -EINVAL;
		idx = d.next;
	}
	vq->last_avail++;
	return 1;
}

void vq_mark_written(struct virtqueue *vq, const struct vq_chain *c, uint32_t len)
{
	for (int i = c->nout; i < c->nout + c->nin && len; i++) {
		uint32_t n = c->iov[i].iov_len < len ? (uint32_t)c->iov[i].iov_len : len;

		gm_mark_dirty(vq->gm, c->gpa[i], n);
		len -= n;
	}
}

void vq_push(struct virtqueue *vq, const struct vq_chain *c, uint32_t written)
{
	uint64_t elem_gpa = vq->used_gpa + 4 + (uint64_t)(vq->used_idx % vq->size) * 8;
	struct vring_used_elem *e = gm_ptr(vq->gm, elem_gpa, sizeof(*e));
	uint16_t *idx = gm_ptr(vq->gm, vq->used_gpa + 2, 2);

	if (!e || !idx)
		return;
	vq_mark_written(vq, c, written);
	e->id = c->head;
	e->len = written;
	gm_mark_dirty(vq->gm, elem_gpa, sizeof(*e));
	vq->used_idx++;
	__atomic_store_n(idx, vq->used_idx, __ATOMIC_RELEASE);
	gm_mark_dirty(vq->gm, vq->used_gpa + 2, 2);
}

bool vq_should_notify(struct virtqueue *vq)
{
	uint16_t *flags = gm_ptr(vq->gm, vq->avail_gpa, 2);

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return !flags || !(*flags & VRING_AVAIL_F_NO_INTERRUPT);
}

/* Copy between an iovec (from byte @skip on) and a flat buffer. */
static size_t iov_copy(const struct iovec *iov, int n, size_t skip, uint8_t *buf, size_t len,
		       bool to_iov)
{
	size_t done = 0;

	for (int i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l -= skip;
		if (l > len - done)
			l = len - done;
		if (to_iov)
			memcpy((uint8_t *)iov[i].iov_base + skip, buf + done, l);
		else
			memcpy(buf + done, (uint8_t *)iov[i].iov_base + skip, l);
		done += l;
		skip = 0;
	}
	return done;
}

size_t iov_to_buf(const struct iovec *iov, int n, size_t skip, void *buf, size_t len)
{
	return iov_copy(iov, n, skip, buf, len, false);
}

size_t buf_to_iov(const struct iovec *iov, int n, size_t skip, const void *buf, size_t len)
{
	return iov_copy(iov, n, skip, (uint8_t *)buf, len, true);
}
