/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * virtio-pci: the modern (1.x) virtio PCI transport shared by every
 * virtio device — PCI identity and capabilities, one 64-bit memory BAR
 * holding the common configuration, ISR, device configuration, queue
 * notification (one ioeventfd per queue) and the MSI-X table, feature
 * negotiation, device status and reset, MSI-X delivery (KVM_SIGNAL_MSI),
 * and the transport's part of the migrated state. A device (virtio-blk,
 * virtio-net) supplies a small ops table and processes its queues.
 *
 * Locking: vp->lock covers the transport and the device's queues; queue
 * processing on the main loop also holds vm->io_lock, which migration
 * takes to quiesce I/O before the last RAM pass.
 */
#ifndef PGR_DEVICES_VIRTIO_PCI_H
#define PGR_DEVICES_VIRTIO_PCI_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/pci.h"
#include "devices/virtqueue.h"

struct vm;
struct virtio_pci;
struct loop;

#define VIRTIO_MAX_QUEUES 8

struct virtio_dev_ops {
	const char *name;              /* device name in streams: "virtio-blk" */
	uint16_t device_id;            /* VIRTIO_ID_* */
	uint32_t class_code;
	int nqueues;
	uint32_t config_size;
	void (*read_config)(void *dev, uint32_t off, uint8_t *data, uint32_t len);
	void (*write_config)(void *dev, uint32_t off, const uint8_t *data, uint32_t len);
	/* Queue @q has new buffers (vp->lock held). */
	void (*queue_notify)(void *dev, int q);
	/* The driver reset the device (vp->lock held). */
	void (*reset)(void *dev);
	/* The driver set DRIVER_OK. */
	void (*driver_ok)(void *dev);
	/* Device-specific migrated state (vp->lock held). */
	json_t *(*save)(void *dev);
	int (*load)(void *dev, const json_t *st, char **err);
	void (*free)(void *dev);
};

struct msix_entry {
	uint32_t addr_lo, addr_hi, data, ctrl;
};

struct virtio_pci {
	struct vm *vm;
	struct pci_dev pci;
	const struct virtio_dev_ops *ops;
	void *dev;
	int instance;
	uint64_t host_features;        /* offered, VIRTIO_F_VERSION_1 included */
	pthread_mutex_t lock;
	uint64_t bar_addr;             /* where the BAR is mapped now, 0 = not */
	/* common configuration */
	uint32_t dfselect, gfselect;
	uint64_t guest_features;
	uint16_t msix_config, queue_select;
	uint8_t status, config_gen, isr;
	struct virtqueue vqs[VIRTIO_MAX_QUEUES];
	int notify_fd[VIRTIO_MAX_QUEUES];
	/* MSI-X */
	struct msix_entry msix[VIRTIO_MAX_QUEUES + 1];
	uint64_t pba;
	int msix_cap;                  /* offset of the MSI-X capability */
	int cfg_cap;                   /* offset of the PCI config access capability */
};

struct virtio_pci *virtio_pci_new(struct vm *vm, const struct virtio_dev_ops *ops,
				  void *dev, int instance, uint64_t features);
/* Interrupt the driver for queue @q / for a configuration change. */
void virtio_pci_notify_queue(struct virtio_pci *vp, int q);
void virtio_pci_notify_config(struct virtio_pci *vp);
bool virtio_pci_driver_ok(const struct virtio_pci *vp);
/* Look at every queue for requests left in it (after a migration or
 * restore resumed, or a failed migration gave the VM back). */
void virtio_pci_kick(struct virtio_pci *vp);
/* Watch the queue notifications on the main loop. */
int virtio_pci_attach_loop(struct virtio_pci *vp, struct loop *loop);
bool virtio_pci_has_feature(const struct virtio_pci *vp, unsigned int bit);

#endif
