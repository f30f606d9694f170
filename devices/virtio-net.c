// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-net: receive, transmit and control queues over a tap, no
 * offloads (every frame carries a zeroed virtio_net_hdr_v1), link status,
 * and announcement after a move: with VIRTIO_NET_F_GUEST_ANNOUNCE the
 * guest is asked (status bit + configuration interrupt) to announce
 * itself; in any case the monitor sends a RARP from the guest's MAC, as
 * QEMU does, so switches learn the new port even from a guest that cannot.
 * Frames that arrive while the guest has posted no receive buffers wait in
 * the tap (we stop reading it) rather than being dropped here.
 */
#include "devices/virtio-net.h"

#define LOG_SUBSYS "virtio-net"
#include "lib/log.h"
#include "devices/device.h"
#include "devices/tap.h"
#include "devices/virtio-pci.h"
#include "vmm/loop.h"
#include "vmm/vm.h"

#include <errno.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define RXQ 0
#define TXQ 1
#define CTRLQ 2
#define HDR_LEN sizeof(struct virtio_net_hdr_v1)
#define FRAME_MAX 65550

struct net_config {
	uint8_t mac[6];
	uint16_t status;
	uint16_t max_virtqueue_pairs;
	uint16_t mtu;
} __attribute__((packed));

struct virtio_net {
	struct virtio_pci *vp;
	struct vm *vm;
	int tap;
	char *ifname;
	struct net_config config;
	struct loop *loop;
	bool rx_waiting;               /* tap not polled until the guest posts buffers */
	uint8_t frame[FRAME_MAX];
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes, rx_dropped, tx_errors;
};

static void read_config(void *dev, uint32_t off, uint8_t *data, uint32_t len)
{
	struct virtio_net *vn = dev;

	if (off + len <= sizeof(vn->config))
		memcpy(data, (uint8_t *)&vn->config + off, len);
	else
		memset(data, 0, len);
}

/* One frame from the tap into one receive chain. false: nothing more to do. */
static bool rx_one(struct virtio_net *vn, struct vq_chain *c)
{
	struct virtqueue *vq = &vn->vp->vqs[RXQ];
	struct virtio_net_hdr_v1 hdr = { .num_buffers = 1 };
	ssize_t n;
	int r;

	if (!vq_has_avail(vq))
		return false;
	n = read(vn->tap, vn->frame, sizeof(vn->frame));
	if (n <= 0)
		return false;
	r = vq_pop(vq, c);
	if (r != 1)
		return false;
	if (c->in_len < HDR_LEN + (size_t)n) {
		vn->rx_dropped++;
		vq_push(vq, c, 0);
		return true;
	}
	buf_to_iov(&c->iov[c->nout], c->nin, 0, &hdr, HDR_LEN);
	buf_to_iov(&c->iov[c->nout], c->nin, HDR_LEN, vn->frame, (size_t)n);
	vq_push(vq, c, (uint32_t)(HDR_LEN + n));
	vn->rx_packets++;
	vn->rx_bytes += (uint64_t)n;
	return true;
}

static void rx_poll(struct virtio_net *vn, bool want)
{
	if (vn->loop && vn->rx_waiting == want) {
		vn->rx_waiting = !want;
		loop_mod(vn->loop, vn->tap, want ? EPOLLIN : 0);
	}
}

static void rx_locked(struct virtio_net *vn)
{
	struct vq_chain *c = malloc(sizeof(*c));
	int count = 0;

	if (!c || !virtio_pci_driver_ok(vn->vp) || !vn->vp->vqs[RXQ].enabled) {
		free(c);
		rx_poll(vn, false);
		return;
	}
	while (count < 64 && rx_one(vn, c))
		count++;
	free(c);
	if (count)
		virtio_pci_notify_queue(vn->vp, RXQ);
	rx_poll(vn, vq_has_avail(&vn->vp->vqs[RXQ]));
}

static void on_tap(void *opaque, uint32_t events)
{
	struct virtio_net *vn = opaque;

	pthread_mutex_lock(&vn->vm->io_lock);
	pthread_mutex_lock(&vn->vp->lock);
	if (vn->vm->io_stopped)
		rx_poll(vn, false);    /* frames wait in the tap */
	else
		rx_locked(vn);
	pthread_mutex_unlock(&vn->vp->lock);
	pthread_mutex_unlock(&vn->vm->io_lock);
}

static void tx_locked(struct virtio_net *vn)
{
	struct virtqueue *vq = &vn->vp->vqs[TXQ];
	struct vq_chain *c = malloc(sizeof(*c));
	bool any = false;

	while (c && vq_pop(vq, c) == 1) {
		size_t len = iov_to_buf(c->iov, c->nout, HDR_LEN, vn->frame, sizeof(vn->frame));

		if (len && write(vn->tap, vn->frame, len) == (ssize_t)len) {
			vn->tx_packets++;
			vn->tx_bytes += len;
		} else {
			vn->tx_errors++;
		}
		vq_push(vq, c, 0);
		any = true;
	}
	free(c);
	if (any)
		virtio_pci_notify_queue(vn->vp, TXQ);
}

static void ctrl_locked(struct virtio_net *vn)
{
	struct virtqueue *vq = &vn->vp->vqs[CTRLQ];
	struct vq_chain *c = malloc(sizeof(*c));
	struct virtio_net_ctrl_hdr h;

	while (c && vq_pop(vq, c) == 1) {
		uint8_t ack = VIRTIO_NET_ERR;

		if (iov_to_buf(c->iov, c->nout, 0, &h, sizeof(h)) == sizeof(h) &&
		    h.class == VIRTIO_NET_CTRL_ANNOUNCE && h.cmd == VIRTIO_NET_CTRL_ANNOUNCE_ACK) {
			vn->config.status &= ~VIRTIO_NET_S_ANNOUNCE;
			ack = VIRTIO_NET_OK;
		}
		vq_push(vq, c, (uint32_t)buf_to_iov(&c->iov[c->nout], c->nin, 0, &ack, 1));
	}
	free(c);
	virtio_pci_notify_queue(vn->vp, CTRLQ);
}

static void queue_notify(void *dev, int q)
{
	struct virtio_net *vn = dev;

	if (q == RXQ)
		rx_locked(vn);
	else if (q == TXQ)
		tx_locked(vn);
	else
		ctrl_locked(vn);
}

static void driver_ok(void *dev)
{
	struct virtio_net *vn = dev;

	rx_poll(vn, true);
}

/* A RARP request from the guest's MAC: bridges learn where it is now. */
static void send_rarp(struct virtio_net *vn)
{
	uint8_t f[60] = { 0 };
	static const uint8_t rarp[] = { 0x80, 0x35, 0, 1, 0x08, 0x00, 6, 4, 0, 3 };

	memset(f, 0xff, 6);
	memcpy(f + 6, vn->config.mac, 6);
	memcpy(f + 12, rarp, sizeof(rarp));
	memcpy(f + 22, vn->config.mac, 6);      /* sender hardware address */
	memcpy(f + 32, vn->config.mac, 6);      /* target hardware address */
	if (write(vn->tap, f, sizeof(f)) != sizeof(f))
		pr_warn("%s: sending the RARP announcement: %m", vn->ifname);
}

void virtio_net_announce(struct virtio_net *vn)
{
	pthread_mutex_lock(&vn->vp->lock);
	rx_poll(vn, true);
	send_rarp(vn);
	if (virtio_pci_has_feature(vn->vp, VIRTIO_NET_F_GUEST_ANNOUNCE) &&
	    virtio_pci_driver_ok(vn->vp)) {
		vn->config.status |= VIRTIO_NET_S_ANNOUNCE;
		virtio_pci_notify_config(vn->vp);
	}
	pthread_mutex_unlock(&vn->vp->lock);
	pr_info("%s: announced the guest's MAC after the move", vn->ifname);
}

static json_t *vn_save(void *dev)
{
	struct virtio_net *vn = dev;

	return json_pack("{s:o, s:i}", "mac", dev_bytes_json(vn->config.mac, 6),
			 "status", vn->config.status);
}

static int vn_load(void *dev, const json_t *st, char **err)
{
	struct virtio_net *vn = dev;
	uint8_t mac[6];
	uint64_t status;

	if (dev_get_bytes(st, "mac", mac, 6, err) < 0 ||
	    dev_get_uint(st, "status", 0xffff, &status, err) < 0)
		return -EINVAL;
	if (memcmp(mac, vn->config.mac, 6))
		return asprintf(err, "virtio-net: the guest's MAC differs from this device's"), -EINVAL;
	vn->config.status = (uint16_t)status;
	return 0;
}

static void vn_reset(void *dev)
{
	struct virtio_net *vn = dev;

	vn->config.status = VIRTIO_NET_S_LINK_UP;
}

static void vn_free(void *dev)
{
	struct virtio_net *vn = dev;

	if (vn->tap >= 0) {
		if (vn->loop)
			loop_del(vn->loop, vn->tap);
		close(vn->tap);
	}
	free(vn->ifname);
	free(vn);
}

static const struct virtio_dev_ops net_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.class_code = 0x020000,
	.nqueues = 3,
	.config_size = sizeof(struct net_config),
	.read_config = read_config,
	.queue_notify = queue_notify,
	.reset = vn_reset,
	.driver_ok = driver_ok,
	.save = vn_save,
	.load = vn_load,
	.free = vn_free,
};

#define NET_FEATURES ((1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS) | \
		      (1ULL << VIRTIO_NET_F_CTRL_VQ) | (1ULL << VIRTIO_NET_F_GUEST_ANNOUNCE))

struct virtio_net *virtio_net_create(struct vm *vm, const struct vm_net_cfg *cfg, int index,
				     char **err)
{
	struct virtio_net *vn = calloc(1, sizeof(*vn));

	if (!vn)
		return NULL;
	vn->vm = vm;
	vn->ifname = strdup(cfg->tap ? cfg->tap : "");
	vn->tap = cfg->tap ? tap_open(cfg->tap, cfg->bridge, err) : -1;
	if (vn->tap < 0) {
		if (!cfg->tap && asprintf(err, "--net: tap= is required") < 0)
			*err = NULL;
		vn->tap = -1;
		vn_free(vn);
		return NULL;
	}
	memcpy(vn->config.mac, cfg->mac, 6);
	vn->config.status = VIRTIO_NET_S_LINK_UP;
	vn->config.max_virtqueue_pairs = 1;
	vn->config.mtu = 1500;
	vn->vp = virtio_pci_new(vm, &net_ops, vn, index, NET_FEATURES);
	if (!vn->vp) {
		if (asprintf(err, "--net tap=%s: no room for another PCI device", cfg->tap) < 0)
			*err = NULL;
		vn_free(vn);
		return NULL;
	}
	vm->virtio[vm->nvirtio++] = vn->vp;
	return vn;
}

int virtio_net_attach_loop(struct virtio_net *vn, struct loop *loop)
{
	vn->loop = loop;
	vn->rx_waiting = true;
	return loop_add(loop, vn->tap, 0, on_tap, vn);
}

json_t *virtio_net_query(const struct virtio_net *vn)
{
	char mac[18];

	format_mac(vn->config.mac, mac);
	return json_pack("{s:s, s:s, s:b, s:{s:I, s:I, s:I, s:I, s:I, s:I}}",
		"tap", vn->ifname, "mac", mac, "link-up", !!(vn->config.status & VIRTIO_NET_S_LINK_UP),
		"stats", "rx_packets", (json_int_t)vn->rx_packets, "rx_bytes", (json_int_t)vn->rx_bytes,
		"tx_packets", (json_int_t)vn->tx_packets, "tx_bytes", (json_int_t)vn->tx_bytes,
		"rx_dropped", (json_int_t)vn->rx_dropped, "tx_errors", (json_int_t)vn->tx_errors);
}
