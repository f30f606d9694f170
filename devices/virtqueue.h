/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * virtqueue: the split virtqueue of virtio 1.x as a device sees it —
 * taking the next available descriptor chain as an iovec over guest RAM,
 * returning it through the used ring, and deciding whether the driver
 * wants an interrupt. Every byte the device writes into guest memory is
 * marked dirty (gm_mark_dirty), so pre-copy resends it. No indirect
 * descriptors or event index (not offered). Not thread-safe: the device
 * serialises access to its queues.
 */
#ifndef PGR_DEVICES_VIRTQUEUE_H
#define PGR_DEVICES_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct guest_mem;

#define VQ_MAX_SIZE  256
#define VQ_MAX_IOV   (VQ_MAX_SIZE + 2)

struct virtqueue {
	struct guest_mem *gm;
	/* configured by the driver through the common config */
	uint16_t size;                 /* entries, power of two <= VQ_MAX_SIZE */
	bool enabled;
	uint16_t msix_vector;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	/* device-side state, migrated */
	uint16_t last_avail;
	uint16_t used_idx;
};

/* One descriptor chain: the readable part then the writable part. */
struct vq_chain {
	uint16_t head;
	int nout, nin;                 /* iov[0..nout) readable, then nin writable */
	struct iovec iov[VQ_MAX_IOV];
	uint64_t gpa[VQ_MAX_IOV];      /* guest address of each iov, for dirty marking */
	uint32_t in_len;               /* total writable bytes */
};

void vq_reset(struct virtqueue *vq);
/* 1 = @c filled, 0 = nothing available, -EINVAL = the driver gave a bad
 * chain (loop, out of RAM, too long, readable after writable). */
int vq_pop(struct virtqueue *vq, struct vq_chain *c);
/* Return @c with @written bytes produced into its writable part. */
void vq_push(struct virtqueue *vq, const struct vq_chain *c, uint32_t written);
/* Mark the writable part of @c dirty up to @len bytes (the device wrote it). */
void vq_mark_written(struct virtqueue *vq, const struct vq_chain *c, uint32_t len);
/* Does the driver want an interrupt for what was just pushed? */
bool vq_should_notify(struct virtqueue *vq);
/* Any chain available? */
bool vq_has_avail(struct virtqueue *vq);
/* Copy helpers across an iovec range. */
size_t iov_to_buf(const struct iovec *iov, int n, size_t skip, void *buf, size_t len);
size_t buf_to_iov(const struct iovec *iov, int n, size_t skip, const void *buf, size_t len);

#endif
