// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-pci: modern virtio over PCI (see virtio-pci.h).
 *
 * BAR 4 (64-bit, 32 KiB):  0x0000 common config   0x1000 ISR
 *                          0x2000 device config    0x3000 notify (4 bytes a queue)
 *                          0x4000 MSI-X table      0x5000 MSI-X PBA
 */
#include "devices/virtio-pci.h"

#define LOG_SUBSYS "virtio"
#include "lib/log.h"
#include "devices/device.h"
#include "devices/devices.h"
#include "vmm/loop.h"
#include "vmm/vm.h"

#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define BAR_INDEX     4
#define BAR_SIZE      0x8000
#define OFF_COMMON    0x0000
#define OFF_ISR       0x1000
#define OFF_DEVICE    0x2000
#define OFF_NOTIFY    0x3000
#define OFF_MSIX      0x4000
#define OFF_PBA       0x5000
#define NOTIFY_MULT   4
#define BAR_WINDOW    0xE0000000ULL   /* BARs placed here, 1 MiB a slot */
#define VIRTIO_PCI_VENDOR 0x1af4
#define MSIX_MASKED   1u
#define NO_VECTOR     0xffff

static int nvectors(const struct virtio_pci *vp)
{
	return vp->ops->nqueues + 1;
}

/* ---- MSI-X ---- */

static bool msix_enabled(const struct virtio_pci *vp)
{
	return vp->pci.cfg[vp->msix_cap + 3] & 0x80;
}

static bool msix_function_masked(const struct virtio_pci *vp)
{
	return vp->pci.cfg[vp->msix_cap + 3] & 0x40;
}

static void msix_fire(struct virtio_pci *vp, uint16_t vector)
{
	struct msix_entry *e;
	struct kvm_msi msi;

	if (vector >= nvectors(vp))
		return;
	e = &vp->msix[vector];
	if ((e->ctrl & MSIX_MASKED) || msix_function_masked(vp)) {
		vp->pba |= 1ULL << vector;
		return;
	}
	msi = (struct kvm_msi){ .address_lo = e->addr_lo, .address_hi = e->addr_hi, .data = e->data };
	if (ioctl(vp->vm->kvm.vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
		pr_debug("%s: KVM_SIGNAL_MSI: %m", vp->ops->name);
}

static void msix_unmasked(struct virtio_pci *vp)
{
	for (int v = 0; v < nvectors(vp); v++)
		if ((vp->pba & (1ULL << v)) && !(vp->msix[v].ctrl & MSIX_MASKED) &&
		    !msix_function_masked(vp)) {
			vp->pba &= ~(1ULL << v);
			msix_fire(vp, (uint16_t)v);
		}
}

static void interrupt(struct virtio_pci *vp, uint16_t vector, uint8_t isr_bit)
{
	vp->isr |= isr_bit;
	if (msix_enabled(vp))
		msix_fire(vp, vector);
	/* No INTx routing yet: drivers here use MSI-X or poll. */
}

void virtio_pci_notify_queue(struct virtio_pci *vp, int q)
{
	if (vq_should_notify(&vp->vqs[q]))
		interrupt(vp, vp->vqs[q].msix_vector, 1);
}

void virtio_pci_notify_config(struct virtio_pci *vp)
{
	vp->config_gen++;
	interrupt(vp, vp->msix_config, 2);
}

bool virtio_pci_driver_ok(const struct virtio_pci *vp)
{
	return vp->status & VIRTIO_CONFIG_S_DRIVER_OK;
}

bool virtio_pci_has_feature(const struct virtio_pci *vp, unsigned int bit)
{
	return vp->guest_features & (1ULL << bit);
}

/* ---- common configuration ---- */

static uint64_t offered(const struct virtio_pci *vp)
{
	return vp->host_features;
}

static void device_reset(struct virtio_pci *vp)
{
	vp->status = 0;
	vp->guest_features = 0;
	vp->dfselect = vp->gfselect = 0;
	vp->msix_config = NO_VECTOR;
	vp->queue_select = 0;
	vp->isr = 0;
	for (int q = 0; q < vp->ops->nqueues; q++)
		vq_reset(&vp->vqs[q]);
	if (vp->ops->reset)
		vp->ops->reset(vp->dev);
}

static struct virtqueue *selected_vq(struct virtio_pci *vp)
{
	return vp->queue_select < vp->ops->nqueues ? &vp->vqs[vp->queue_select] : NULL;
}

/* The register at @off as a 64-bit value with its width (for sub-accesses). */
static uint64_t common_read(struct virtio_pci *vp, uint32_t off)
{
	struct virtqueue *vq = selected_vq(vp);

	switch (off) {
	case 0x00: return vp->dfselect;
	case 0x04: return vp->dfselect < 2 ? (uint32_t)(offered(vp) >> (32 * vp->dfselect)) : 0;
	case 0x08: return vp->gfselect;
	case 0x0c: return vp->gfselect < 2 ? (uint32_t)(vp->guest_features >> (32 * vp->gfselect)) : 0;
	case 0x10: return vp->msix_config;
	case 0x12: return vp->ops->nqueues;
	case 0x14: return vp->status;
	case 0x15: return vp->config_gen;
	case 0x16: return vp->queue_select;
	case 0x18: return vq ? vq->size : 0;
	case 0x1a: return vq ? vq->msix_vector : NO_VECTOR;
	case 0x1c: return vq ? vq->enabled : 0;
	case 0x1e: return vp->queue_select;
	case 0x20: return vq ? vq->desc_gpa : 0;
	case 0x28: return vq ? vq->avail_gpa : 0;
	case 0x30: return vq ? vq->used_gpa : 0;
	}
	return 0;
}

static void set_status(struct virtio_pci *vp, uint8_t v)
{
	if (!v) {
		device_reset(vp);
		return;
	}
	if ((v & VIRTIO_CONFIG_S_FEATURES_OK) && !(vp->status & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    ((vp->guest_features & ~offered(vp)) ||
	     !(vp->guest_features & (1ULL << VIRTIO_F_VERSION_1))))
		v &= ~VIRTIO_CONFIG_S_FEATURES_OK;   /* refuse what we did not offer */
	if ((v & VIRTIO_CONFIG_S_DRIVER_OK) && !(vp->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    vp->ops->driver_ok) {
		vp->status = v;
		vp->ops->driver_ok(vp->dev);
	}
	vp->status = v;
}

static void set_u64_half(uint64_t *reg, uint32_t off_in_reg, uint64_t v, uint32_t len)
{
	uint64_t mask = len >= 8 ? ~0ULL : ((1ULL << (8 * len)) - 1);

	*reg = (*reg & ~(mask << (8 * off_in_reg))) | ((v & mask) << (8 * off_in_reg));
}

static void common_write(struct virtio_pci *vp, uint32_t off, uint64_t v, uint32_t len)
{
	struct virtqueue *vq = selected_vq(vp);

	if (off >= 0x20 && off < 0x38) {
		uint64_t *reg = !vq ? NULL : off < 0x28 ? &vq->desc_gpa :
				off < 0x30 ? &vq->avail_gpa : &vq->used_gpa;

		if (reg && !vq->enabled)
			set_u64_half(reg, off & 7, v, len);
		return;
	}
	switch (off) {
	case 0x00: vp->dfselect = (uint32_t)v; break;
	case 0x08: vp->gfselect = (uint32_t)v; break;
	case 0x0c:
		if (vp->gfselect < 2 && !(vp->status & VIRTIO_CONFIG_S_FEATURES_OK))
			set_u64_half(&vp->guest_features, 4 * vp->gfselect, v, 4);
		break;
	case 0x10: vp->msix_config = (uint16_t)v; break;
	case 0x14: set_status(vp, (uint8_t)v); break;
	case 0x16: vp->queue_select = (uint16_t)v; break;
	case 0x18:
		if (vq && !vq->enabled && v && v <= VQ_MAX_SIZE && !(v & (v - 1)))
			vq->size = (uint16_t)v;
		break;
	case 0x1a: if (vq) vq->msix_vector = (uint16_t)v; break;
	case 0x1c: if (vq && v == 1) vq->enabled = true; break;
	}
}

static void common_access(struct virtio_pci *vp, uint32_t off, uint8_t *data, uint32_t len,
			  bool is_write)
{
	/* 64-bit registers may be accessed as two 32-bit halves. */
	uint32_t base = off >= 0x20 ? (off & ~7u) : off;
	uint64_t v = 0;

	if (is_write) {
		memcpy(&v, data, len);
		common_write(vp, off >= 0x20 ? off : base, v, len);
		return;
	}
	v = common_read(vp, base) >> (8 * (off - base));
	memcpy(data, &v, len);
}

/* ---- the BAR ---- */

static void msix_access(struct virtio_pci *vp, uint32_t off, uint8_t *data, uint32_t len,
			bool is_write)
{
	uint8_t *table = (uint8_t *)vp->msix;

	if (off + len > (uint32_t)nvectors(vp) * 16) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	if (!is_write) {
		memcpy(data, table + off, len);
		return;
	}
	memcpy(table + off, data, len);
	msix_unmasked(vp);
}

/*
 * With vm->io_lock held. Once a migration has stopped device I/O, a
 * request is left in its ring: the destination (or this monitor, if the
 * migration fails) takes it from there (virtio_pci_kick). Processing it
 * here too would run it twice — on shared storage, a late write over
 * newer data.
 */
static void notify_queue_locked(struct virtio_pci *vp, int q)
{
	if (vp->vm->io_stopped)
		return;
	if (q < vp->ops->nqueues && vp->vqs[q].enabled && virtio_pci_driver_ok(vp))
		vp->ops->queue_notify(vp->dev, q);
}

void virtio_pci_kick(struct virtio_pci *vp)
{
	pthread_mutex_lock(&vp->vm->io_lock);
	pthread_mutex_lock(&vp->lock);
	for (int q = 0; q < vp->ops->nqueues; q++)
		notify_queue_locked(vp, q);
	pthread_mutex_unlock(&vp->lock);
	pthread_mutex_unlock(&vp->vm->io_lock);
}

static void bar_access(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct virtio_pci *vp = opaque;
	uint64_t v = 0;

	if (len > 8)
		return;
	if (off >= OFF_NOTIFY && off < OFF_MSIX && is_write) {
		/* Only without an ioeventfd: run the queue here. */
		pthread_mutex_lock(&vp->vm->io_lock);
		pthread_mutex_lock(&vp->lock);
		notify_queue_locked(vp, (int)((off - OFF_NOTIFY) / NOTIFY_MULT));
		pthread_mutex_unlock(&vp->lock);
		pthread_mutex_unlock(&vp->vm->io_lock);
		return;
	}
	pthread_mutex_lock(&vp->lock);
	if (off < OFF_ISR && off < 0x38) {
		common_access(vp, (uint32_t)off, data, len, is_write);
	} else if (off == OFF_ISR && !is_write) {
		data[0] = vp->isr;    /* reading clears it */
		vp->isr = 0;
	} else if (off >= OFF_DEVICE && off < OFF_DEVICE + vp->ops->config_size) {
		if (is_write && vp->ops->write_config)
			vp->ops->write_config(vp->dev, (uint32_t)(off - OFF_DEVICE), data, len);
		else if (!is_write)
			vp->ops->read_config(vp->dev, (uint32_t)(off - OFF_DEVICE), data, len);
	} else if (off >= OFF_MSIX && off < OFF_PBA) {
		msix_access(vp, (uint32_t)(off - OFF_MSIX), data, len, is_write);
	} else if (off >= OFF_PBA && off < OFF_PBA + 8 && !is_write) {
		v = vp->pba >> (8 * (off - OFF_PBA));
		memcpy(data, &v, len);
	} else if (!is_write) {
		memset(data, 0, len);
	}
	pthread_mutex_unlock(&vp->lock);
}

static void on_notify(void *opaque, uint32_t events)
{
	struct virtio_pci *vp = opaque;
	uint64_t n;

	for (int q = 0; q < vp->ops->nqueues; q++) {
		if (read(vp->notify_fd[q], &n, sizeof(n)) != sizeof(n))
			continue;
		pthread_mutex_lock(&vp->vm->io_lock);
		pthread_mutex_lock(&vp->lock);
		notify_queue_locked(vp, q);
		pthread_mutex_unlock(&vp->lock);
		pthread_mutex_unlock(&vp->vm->io_lock);
	}
}

static int set_ioeventfd(struct virtio_pci *vp, int q, uint64_t bar, bool assign)
{
	struct kvm_ioeventfd io = {
		.addr = bar + OFF_NOTIFY + (uint64_t)q * NOTIFY_MULT,
		.len = 0,
		.fd = vp->notify_fd[q],
		.flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN,
	};

	return ioctl(vp->vm->kvm.vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

/* Map the BAR where config space says, if memory decoding is on. */
static void bar_update(struct virtio_pci *vp)
{
	uint64_t want = pci_mem_enabled(&vp->pci) ? pci_bar_addr(&vp->pci, BAR_INDEX) : 0;

	if (want == vp->bar_addr)
		return;
	if (vp->bar_addr) {
		for (int q = 0; q < vp->ops->nqueues; q++)
			set_ioeventfd(vp, q, vp->bar_addr, false);
		bus_unregister(&vp->vm->mmio, vp->bar_addr);
		vp->bar_addr = 0;
	}
	if (!want || want >= 0x100000000000ULL)
		return;
	if (bus_register(&vp->vm->mmio, want, BAR_SIZE, bar_access, vp, vp->ops->name) < 0) {
		pr_warn("%s: BAR at 0x%llx overlaps another device", vp->ops->name,
			(unsigned long long)want);
		return;
	}
	vp->bar_addr = want;
	for (int q = 0; q < vp->ops->nqueues; q++)
		if (set_ioeventfd(vp, q, want, true) < 0)
			pr_warn("%s: ioeventfd for queue %d: %m", vp->ops->name, q);
}

/* ---- config space: MSI-X control, the PCI config access capability ---- */

static void cfg_cap_access(struct virtio_pci *vp, bool is_write)
{
	uint8_t *cap = vp->pci.cfg + vp->cfg_cap;
	uint32_t off, len;

	memcpy(&off, cap + 8, 4);
	memcpy(&len, cap + 12, 4);
	if (cap[4] != BAR_INDEX || (len != 1 && len != 2 && len != 4) || off + len > BAR_SIZE)
		return;
	bar_access(vp, off, cap + 16, len, is_write);
}

static void cfg_written(struct pci_dev *d, uint32_t off, uint32_t len)
{
	struct virtio_pci *vp = d->opaque;

	if (off <= 0x04 + 1 || (off >= 0x10 + 4 * BAR_INDEX && off < 0x18 + 4 * BAR_INDEX))
		bar_update(vp);
	if (off <= (uint32_t)vp->msix_cap + 3 && off + len > (uint32_t)vp->msix_cap + 2) {
		pthread_mutex_lock(&vp->lock);
		msix_unmasked(vp);
		pthread_mutex_unlock(&vp->lock);
	}
	if (off >= (uint32_t)vp->cfg_cap + 16 && off < (uint32_t)vp->cfg_cap + 20)
		cfg_cap_access(vp, true);
}

static void cfg_read(struct pci_dev *d, uint32_t off, uint32_t len)
{
	struct virtio_pci *vp = d->opaque;

	if (off >= (uint32_t)vp->cfg_cap + 16 && off < (uint32_t)vp->cfg_cap + 20)
		cfg_cap_access(vp, false);
}

static void add_vendor_cap(struct virtio_pci *vp, uint8_t type, uint32_t offset,
			   uint32_t length, uint8_t extra_len, uint32_t extra)
{
	uint8_t body[18] = { 0 };

	body[0] = (uint8_t)(16 + extra_len);   /* cap_len */
	body[1] = type;
	body[2] = BAR_INDEX;
	memcpy(body + 6, &offset, 4);
	memcpy(body + 10, &length, 4);
	if (extra_len)
		memcpy(body + 14, &extra, 4);
	pci_add_cap(&vp->pci, 0x09, body, (uint8_t)(14 + extra_len));
}

static void build_config_space(struct virtio_pci *vp, int slot)
{
	uint16_t ctrl = (uint16_t)(nvectors(vp) - 1);
	uint8_t msix[10];
	uint32_t table = OFF_MSIX | BAR_INDEX, pba = OFF_PBA | BAR_INDEX;

	pci_dev_init(&vp->pci, VIRTIO_PCI_VENDOR, (uint16_t)(0x1040 + vp->ops->device_id),
		     vp->ops->class_code, VIRTIO_PCI_VENDOR, vp->ops->device_id);
	vp->pci.cfg[0x08] = 1;                          /* revision 1: modern only */
	pci_dev_set_bar(&vp->pci, BAR_INDEX, BAR_WINDOW + (uint64_t)slot * 0x100000, BAR_SIZE, false);
	memcpy(msix, &ctrl, 2);
	memcpy(msix + 2, &table, 4);
	memcpy(msix + 6, &pba, 4);
	vp->msix_cap = pci_add_cap(&vp->pci, 0x11, msix, sizeof(msix));
	vp->pci.wmask[vp->msix_cap + 3] = 0xc0;          /* enable, function mask */
	add_vendor_cap(vp, VIRTIO_PCI_CAP_COMMON_CFG, OFF_COMMON, 0x38, 0, 0);
	add_vendor_cap(vp, VIRTIO_PCI_CAP_NOTIFY_CFG, OFF_NOTIFY, 0x1000, 4, NOTIFY_MULT);
	add_vendor_cap(vp, VIRTIO_PCI_CAP_ISR_CFG, OFF_ISR, 4, 0, 0);
	add_vendor_cap(vp, VIRTIO_PCI_CAP_DEVICE_CFG, OFF_DEVICE, vp->ops->config_size, 0, 0);
	add_vendor_cap(vp, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 4, 0);
	vp->cfg_cap = vp->pci.cap_end - 20;
	memset(vp->pci.wmask + vp->cfg_cap + 4, 0xff, 1);    /* bar */
	memset(vp->pci.wmask + vp->cfg_cap + 8, 0xff, 12);   /* offset, length, data */
	vp->pci.cfg[0x3d] = 1;                           /* INTA, though unrouted */
	vp->pci.opaque = vp;
	vp->pci.cfg_written = cfg_written;
	vp->pci.cfg_read = cfg_read;
	vp->pci.cfg[0x04] = 0x06;                        /* memory decode, bus master */
}

/* ---- migration ---- */

static json_t *vq_save(const struct virtqueue *vq)
{
	return json_pack("{s:i, s:b, s:i, s:I, s:I, s:I, s:i, s:i}", "size", vq->size,
			 "enabled", vq->enabled, "vector", vq->msix_vector,
			 "desc", (json_int_t)vq->desc_gpa, "avail", (json_int_t)vq->avail_gpa,
			 "used", (json_int_t)vq->used_gpa, "last_avail", vq->last_avail,
			 "used_idx", vq->used_idx);
}

static json_t *vp_save(void *opaque)
{
	struct virtio_pci *vp = opaque;
	json_t *queues = json_array(), *j;

	pthread_mutex_lock(&vp->lock);
	for (int q = 0; q < vp->ops->nqueues; q++)
		json_array_append_new(queues, vq_save(&vp->vqs[q]));
	j = json_pack("{s:i, s:I, s:I, s:I, s:i, s:i, s:i, s:i, s:o, s:I, s:o, s:o}",
		"status", vp->status, "features", (json_int_t)vp->guest_features,
		"dfselect", (json_int_t)vp->dfselect, "gfselect", (json_int_t)vp->gfselect,
		"msix_config", vp->msix_config, "queue_select", vp->queue_select,
		"config_gen", vp->config_gen, "isr", vp->isr,
		"msix", dev_bytes_json((uint8_t *)vp->msix, sizeof(vp->msix)),
		"pba", (json_int_t)vp->pba, "queues", queues,
		"device", vp->ops->save ? vp->ops->save(vp->dev) : json_object());
	pthread_mutex_unlock(&vp->lock);
	return j;
}

static int vq_load(struct virtio_pci *vp, struct virtqueue *vq, const json_t *j, char **err)
{
	uint64_t size, vector, desc, avail, used, last, uidx;

	if (dev_get_uint(j, "size", VQ_MAX_SIZE, &size, err) < 0 ||
	    dev_get_uint(j, "vector", 0xffff, &vector, err) < 0 ||
	    dev_get_uint(j, "desc", UINT64_MAX >> 12, &desc, err) < 0 ||
	    dev_get_uint(j, "avail", UINT64_MAX >> 12, &avail, err) < 0 ||
	    dev_get_uint(j, "used", UINT64_MAX >> 12, &used, err) < 0 ||
	    dev_get_uint(j, "last_avail", 0xffff, &last, err) < 0 ||
	    dev_get_uint(j, "used_idx", 0xffff, &uidx, err) < 0)
		return -EINVAL;
	if (!size || (size & (size - 1)))
		return asprintf(err, "%s: queue size %llu is not a power of two", vp->ops->name,
				(unsigned long long)size), -EINVAL;
	vq->size = (uint16_t)size;
	vq->enabled = json_is_true(json_object_get(j, "enabled"));
	vq->msix_vector = (uint16_t)vector;
	vq->desc_gpa = desc;
	vq->avail_gpa = avail;
	vq->used_gpa = used;
	vq->last_avail = (uint16_t)last;
	vq->used_idx = (uint16_t)uidx;
	return 0;
}

static int vp_load_fields(struct virtio_pci *vp, const json_t *st, char **err)
{
	uint64_t status, features, dsel, gsel, mcfg, qsel, gen, isr, pba;
	json_t *queues = json_object_get(st, "queues");

	if (dev_get_uint(st, "status", 255, &status, err) < 0 ||
	    dev_get_uint(st, "features", INT64_MAX, &features, err) < 0 ||
	    dev_get_uint(st, "dfselect", UINT32_MAX, &dsel, err) < 0 ||
	    dev_get_uint(st, "gfselect", UINT32_MAX, &gsel, err) < 0 ||
	    dev_get_uint(st, "msix_config", 0xffff, &mcfg, err) < 0 ||
	    dev_get_uint(st, "queue_select", 0xffff, &qsel, err) < 0 ||
	    dev_get_uint(st, "config_gen", 255, &gen, err) < 0 ||
	    dev_get_uint(st, "isr", 255, &isr, err) < 0 ||
	    dev_get_uint(st, "pba", INT64_MAX, &pba, err) < 0 ||
	    dev_get_bytes(st, "msix", (uint8_t *)vp->msix, sizeof(vp->msix), err) < 0)
		return -EINVAL;
	if (features & ~offered(vp))
		return asprintf(err, "%s: the guest uses features 0x%llx this device does not offer",
				vp->ops->name, (unsigned long long)(features & ~offered(vp))), -EINVAL;
	if (!json_is_array(queues) || json_array_size(queues) != (size_t)vp->ops->nqueues)
		return asprintf(err, "%s: wrong number of queues", vp->ops->name), -EINVAL;
	for (int q = 0; q < vp->ops->nqueues; q++)
		if (vq_load(vp, &vp->vqs[q], json_array_get(queues, q), err) < 0)
			return -EINVAL;
	vp->status = (uint8_t)status;
	vp->guest_features = features;
	vp->dfselect = (uint32_t)dsel;
	vp->gfselect = (uint32_t)gsel;
	vp->msix_config = (uint16_t)mcfg;
	vp->queue_select = (uint16_t)qsel;
	vp->config_gen = (uint8_t)gen;
	vp->isr = (uint8_t)isr;
	vp->pba = pba;
	return 0;
}

static int vp_load(void *opaque, const json_t *st, char **err)
{
	struct virtio_pci *vp = opaque;
	int r;

	pthread_mutex_lock(&vp->lock);
	r = vp_load_fields(vp, st, err);
	if (!r && vp->ops->load)
		r = vp->ops->load(vp->dev, json_object_get(st, "device"), err);
	pthread_mutex_unlock(&vp->lock);
	if (!r)
		bar_update(vp);        /* config space came with the PCI device's state */
	return r;
}

static void vp_reset(void *opaque)
{
	struct virtio_pci *vp = opaque;

	pthread_mutex_lock(&vp->lock);
	device_reset(vp);
	memset(vp->msix, 0, sizeof(vp->msix));
	for (int v = 0; v < nvectors(vp); v++)
		vp->msix[v].ctrl = MSIX_MASKED;
	vp->pba = 0;
	pthread_mutex_unlock(&vp->lock);
}

static void vp_free(void *opaque)
{
	struct virtio_pci *vp = opaque;

	for (int q = 0; q < vp->ops->nqueues; q++)
		if (vp->notify_fd[q] >= 0) {
			if (vp->vm->loop)
				loop_del(vp->vm->loop, vp->notify_fd[q]);
			close(vp->notify_fd[q]);
		}
	if (vp->ops->free)
		vp->ops->free(vp->dev);
	pthread_mutex_destroy(&vp->lock);
	free(vp);
}

static const struct device_ops virtio_blk_dev_ops = {
	.name = "virtio-blk", .version = 1, .save = vp_save, .load = vp_load,
	.reset = vp_reset, .free = vp_free,
};
static const struct device_ops virtio_net_dev_ops = {
	.name = "virtio-net", .version = 1, .save = vp_save, .load = vp_load,
	.reset = vp_reset, .free = vp_free,
};

struct virtio_pci *virtio_pci_new(struct vm *vm, const struct virtio_dev_ops *ops,
				  void *dev, int instance, uint64_t features)
{
	struct virtio_pci *vp = calloc(1, sizeof(*vp));
	int slot;

	if (!vp)
		return NULL;
	vp->vm = vm;
	vp->ops = ops;
	vp->dev = dev;
	vp->instance = instance;
	vp->host_features = features | (1ULL << VIRTIO_F_VERSION_1);
	pthread_mutex_init(&vp->lock, NULL);
	for (int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		vp->vqs[q].gm = vm->gm;
		vp->notify_fd[q] = -1;
	}
	for (int q = 0; q < ops->nqueues; q++)
		vp->notify_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	slot = pci_add(vm->pci, &vp->pci);
	if (slot < 0) {
		free(vp);
		return NULL;
	}
	build_config_space(vp, slot);
	vp_reset(vp);
	if (vm_add_device(vm, ops->device_id == 2 ? &virtio_blk_dev_ops : &virtio_net_dev_ops,
			  instance, vp) < 0)
		return NULL;
	bar_update(vp);
	return vp;
}

/* Watch the queue notifications once the main loop exists. */
int virtio_pci_attach_loop(struct virtio_pci *vp, struct loop *loop)
{
	for (int q = 0; q < vp->ops->nqueues; q++) {
		int r = loop_add(loop, vp->notify_fd[q], EPOLLIN, on_notify, vp);

		if (r < 0)
			return r;
	}
	return 0;
}
