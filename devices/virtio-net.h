/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * virtio-net: the virtio network device over a tap (see virtio-net.c).
 */
#ifndef PGR_DEVICES_VIRTIO_NET_H
#define PGR_DEVICES_VIRTIO_NET_H

#include <jansson.h>

#include "lib/vmconfig.h"

struct vm;
struct loop;
struct virtio_net;

struct virtio_net *virtio_net_create(struct vm *vm, const struct vm_net_cfg *cfg, int index,
				     char **err);
int virtio_net_attach_loop(struct virtio_net *vn, struct loop *loop);
/* After an incoming migration resumed: tell the network where the guest is. */
void virtio_net_announce(struct virtio_net *vn);
json_t *virtio_net_query(const struct virtio_net *vn);

#endif
