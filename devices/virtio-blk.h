/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * virtio-blk: the virtio block device (see virtio-blk.c).
 */
#ifndef PGR_DEVICES_VIRTIO_BLK_H
#define PGR_DEVICES_VIRTIO_BLK_H

#include <jansson.h>

#include "lib/vmconfig.h"

struct vm;
struct virtio_blk;

struct virtio_blk *virtio_blk_create(struct vm *vm, const struct vm_disk_cfg *cfg, int index,
				     char **err);
/* The backend, for claiming and releasing the image (blk_lock). */
struct blk *virtio_blk_backend(const struct virtio_blk *vb);
/* query-block entry: file, size, counters. */
json_t *virtio_blk_query(const struct virtio_blk *vb);

#endif
