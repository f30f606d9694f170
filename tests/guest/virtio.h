/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * virtio.h: the modern virtio-pci transport and split virtqueues, for the
 * test guest's drivers (vblk.c, vnet.c). A device is found on bus 0 by its
 * virtio type; its common, notify, ISR and device configuration regions
 * come from the vendor capabilities (never from fixed offsets) and are
 * mapped uncached wherever the BARs are.
 *
 * Polling only: every queue's MSI-X vector is NO_VECTOR and the avail ring
 * asks for no interrupts; the driver looks at the used rings from the BSP's
 * loop. No indirect descriptors, no event index, no packed rings, one
 * device of each type. Ring memory is static (in the image's BSS, so below
 * the memory workload's area). Lines printed: docs/test-guest.md.
 */
#ifndef PGR_GUEST_VIRTIO_H
#define PGR_GUEST_VIRTIO_H

#include "guest.h"
#include "pci.h"

#define VIRTIO_ID_NET		1
#define VIRTIO_ID_BLOCK		2
#define VIRTIO_F_VERSION_1	32
#define VIRTIO_MAX_VQS		3
#define VIRTQ_MAX		256

struct vring_desc {
	u64 addr;
	u32 len;
	u16 flags;
	u16 next;
};

struct vring_used_elem {
	u32 id;
	u32 len;
};

/* One buffer of a chain: guest-physical = virtual here. */
struct vq_buf {
	const void *addr;
	u32 len;
	bool device_writes;
};

struct virtq {
	u16 size, index;
	u16 free_head, nfree;
	u16 avail_idx, last_used;
	struct vring_desc *desc;
	volatile u16 *avail;		/* flags, idx, ring[size] */
	volatile u16 *used;		/* flags, idx, then the elements */
	u64 notify;			/* where to write the queue index */
};

struct virtio_dev {
	struct pci_fn pci;
	const char *name;		/* "virtio-blk" */
	u64 common, isr, devcfg, notify_base;
	u32 notify_mult;
	u64 features;			/* negotiated */
	struct virtq vq[VIRTIO_MAX_VQS];
};

/* Find the first device of @type, map its regions, print its PCI line. */
int virtio_probe(struct virtio_dev *d, u32 type, const char *name);
/* Reset, acknowledge, negotiate VERSION_1 + (@want & offered); 0 once
 * FEATURES_OK stuck, -1 (device marked FAILED) otherwise. */
int virtio_negotiate(struct virtio_dev *d, u64 want);
/* Set up queue @q with at most @max entries (a power of two). */
int virtio_setup_vq(struct virtio_dev *d, u32 q, u16 max);
/* DRIVER_OK; prints the VIRTIO line with the negotiated features. */
void virtio_driver_ok(struct virtio_dev *d);
void virtio_fail(struct virtio_dev *d);
bool virtio_has(const struct virtio_dev *d, u32 bit);

u8 virtio_cfg8(const struct virtio_dev *d, u32 off);
u16 virtio_cfg16(const struct virtio_dev *d, u32 off);
u32 virtio_cfg32(const struct virtio_dev *d, u32 off);
/* A 64-bit field, read consistently (config generation before and after). */
u64 virtio_cfg64(const struct virtio_dev *d, u32 off);

/* Post a chain (readable buffers first); its head id, or -1 if no room.
 * Made visible to the device at once; it is told on virtq_kick(). */
int virtq_add(struct virtq *q, const struct vq_buf *b, u32 n);
void virtq_kick(struct virtq *q);
/* Next completed chain: its head id (the chain is freed) and the length
 * the device wrote in *@len; -1 if none. */
int virtq_get(struct virtq *q, u32 *len);

#endif /* PGR_GUEST_VIRTIO_H */
