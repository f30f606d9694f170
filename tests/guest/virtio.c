/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * virtio.c: modern virtio-pci and split virtqueues for the test guest (see
 * virtio.h), after the virtio 1.x specification's "Virtio Over PCI Bus" and
 * "Split Virtqueues". Every MMIO access is a trap (30-100 us on PVM), so
 * the data path touches MMIO only to notify: completions are seen in the
 * used rings in RAM.
 *
 * Ordering: x86 keeps stores in order and loads in order, so publishing an
 * avail index after its ring entry needs only a compiler barrier; the fence
 * before a notification makes the index visible before the device looks.
 */
#include "virtio.h"
#include "paging.h"
#include "tsc.h"
#include "uart.h"
#include "util.h"

/* Capability types (virtio_pci_cap.cfg_type). */
#define CAP_COMMON	1
#define CAP_NOTIFY	2
#define CAP_ISR		3
#define CAP_DEVICE	4
#define NCAPS		5

/* Common configuration registers. */
#define CC_DFSELECT	0x00
#define CC_DF		0x04
#define CC_GFSELECT	0x08
#define CC_GF		0x0c
#define CC_MSIX		0x10
#define CC_STATUS	0x14
#define CC_CFGGEN	0x15
#define CC_Q_SELECT	0x16
#define CC_Q_SIZE	0x18
#define CC_Q_MSIX	0x1a
#define CC_Q_ENABLE	0x1c
#define CC_Q_NOFF	0x1e
#define CC_Q_DESC	0x20
#define CC_Q_DRIVER	0x28
#define CC_Q_DEVICE	0x30

#define S_ACKNOWLEDGE	1
#define S_DRIVER	2
#define S_DRIVER_OK	4
#define S_FEATURES_OK	8
#define S_FAILED	0x80
#define NO_VECTOR	0xffff
#define DESC_F_NEXT	1
#define DESC_F_WRITE	2
#define AVAIL_F_NO_INTERRUPT 1
#define USED_F_NO_NOTIFY 1
#define RESET_WAIT_US	100000
#define MAX_RINGS	4		/* one blk queue + three net queues */

struct ring_mem {
	struct vring_desc desc[VIRTQ_MAX];
	u16 avail[PAGE_SIZE / 2];
	u16 used[PAGE_SIZE / 2];
} __aligned(4096);

struct cap {
	u32 bar, off, len;
	u64 addr;
};

static struct ring_mem rings[MAX_RINGS];
static u32 rings_used;

/* ---- MMIO --------------------------------------------------------------- */

static void wr64(u64 a, u64 v)
{
	mmio_write32(a, (u32)v);
	mmio_write32(a + 4, (u32)(v >> 32));
}

u8 virtio_cfg8(const struct virtio_dev *d, u32 off)
{
	return mmio_read8(d->devcfg + off);
}

u16 virtio_cfg16(const struct virtio_dev *d, u32 off)
{
	return mmio_read16(d->devcfg + off);
}

u32 virtio_cfg32(const struct virtio_dev *d, u32 off)
{
	return mmio_read32(d->devcfg + off);
}

u64 virtio_cfg64(const struct virtio_dev *d, u32 off)
{
	u8 gen;
	u64 v;

	do {
		gen = mmio_read8(d->common + CC_CFGGEN);
		v = mmio_read32(d->devcfg + off) |
		    (u64)mmio_read32(d->devcfg + off + 4) << 32;
	} while (gen != mmio_read8(d->common + CC_CFGGEN));
	return v;
}

/* ---- finding the device ------------------------------------------------- */

static void read_cap(const struct pci_fn *f, u32 at, struct cap *caps, u32 *mult)
{
	u32 type = pci_read8(f, at + 3), bar = pci_read8(f, at + 4);
	u64 base;

	if (type >= NCAPS || caps[type].addr || bar > 5)
		return;		/* the first of each type is the one to use */
	base = pci_bar_addr(f, bar);
	if (!base)
		return;
	caps[type].bar = bar;
	caps[type].off = pci_read32(f, at + 8);
	caps[type].len = pci_read32(f, at + 12);
	caps[type].addr = base + caps[type].off;
	if (type == CAP_NOTIFY)
		*mult = pci_read32(f, at + 16);
}

static int map_caps(struct virtio_dev *d, struct cap *caps)
{
	for (u32 t = CAP_COMMON; t < NCAPS; t++) {
		if (!caps[t].addr) {
			print("ERR %s %02x:%02x.%u: no virtio capability of type %u (BARs unassigned?)\n",
			      d->name, d->pci.bus, d->pci.dev, d->pci.fn, t);
			return -1;
		}
		if (paging_map_mmio(caps[t].addr, max_u64(caps[t].len, 1))) {
			print("ERR %s: cannot map BAR %u at 0x%lx\n", d->name, caps[t].bar,
			      caps[t].addr);
			return -1;
		}
	}
	d->common = caps[CAP_COMMON].addr;
	d->isr = caps[CAP_ISR].addr;
	d->devcfg = caps[CAP_DEVICE].addr;
	d->notify_base = caps[CAP_NOTIFY].addr;
	return 0;
}

int virtio_probe(struct virtio_dev *d, u32 type, const char *name)
{
	struct cap caps[NCAPS] = { 0 };
	u32 at = 0;

	d->name = name;
	if (pci_find_virtio(type, 0, &d->pci))
		return -1;
	while ((at = pci_next_cap(&d->pci, at, PCI_CAP_VENDOR)))
		read_cap(&d->pci, at, caps, &d->notify_mult);
	print("PCI %02x:%02x.%u %04x:%04x %s bar=0x%lx\n", d->pci.bus, d->pci.dev, d->pci.fn,
	      d->pci.vendor, d->pci.device, name, caps[CAP_COMMON].addr - caps[CAP_COMMON].off);
	if (map_caps(d, caps))
		return -1;
	pci_enable(&d->pci);
	return 0;
}

/* ---- initialisation ----------------------------------------------------- */

static void set_status(struct virtio_dev *d, u8 bits)
{
	mmio_write8(d->common + CC_STATUS, mmio_read8(d->common + CC_STATUS) | bits);
}

void virtio_fail(struct virtio_dev *d)
{
	set_status(d, S_FAILED);
}

bool virtio_has(const struct virtio_dev *d, u32 bit)
{
	return d->features >> bit & 1;
}

static int reset(struct virtio_dev *d)
{
	u64 end;

	mmio_write8(d->common + CC_STATUS, 0);
	end = rdtsc() + tsc_from_us(RESET_WAIT_US);
	while (mmio_read8(d->common + CC_STATUS))
		if (rdtsc() > end)
			return -1;
	return 0;
}

static u64 read_features(struct virtio_dev *d)
{
	u64 f;

	mmio_write32(d->common + CC_DFSELECT, 0);
	f = mmio_read32(d->common + CC_DF);
	mmio_write32(d->common + CC_DFSELECT, 1);
	return f | (u64)mmio_read32(d->common + CC_DF) << 32;
}

int virtio_negotiate(struct virtio_dev *d, u64 want)
{
	u64 offered;

	if (reset(d)) {
		print("ERR %s: the device did not reset\n", d->name);
		return -1;
	}
	set_status(d, S_ACKNOWLEDGE);
	set_status(d, S_DRIVER);
	offered = read_features(d);
	d->features = offered & (want | 1UL << VIRTIO_F_VERSION_1);
	if (!virtio_has(d, VIRTIO_F_VERSION_1)) {
		print("ERR %s: no VERSION_1 (offered 0x%lx): not a modern device\n", d->name, offered);
		virtio_fail(d);
		return -1;
	}
	mmio_write32(d->common + CC_GFSELECT, 0);
	mmio_write32(d->common + CC_GF, (u32)d->features);
	mmio_write32(d->common + CC_GFSELECT, 1);
	mmio_write32(d->common + CC_GF, (u32)(d->features >> 32));
	set_status(d, S_FEATURES_OK);
	if (!(mmio_read8(d->common + CC_STATUS) & S_FEATURES_OK)) {
		print("ERR %s: features 0x%lx refused\n", d->name, d->features);
		virtio_fail(d);
		return -1;
	}
	mmio_write16(d->common + CC_MSIX, NO_VECTOR);
	return 0;
}

static void vq_init(struct virtq *q, struct ring_mem *m, u16 size, u16 index)
{
	q->size = size;
	q->index = index;
	q->desc = m->desc;
	q->avail = m->avail;
	q->used = m->used;
	q->avail[0] = AVAIL_F_NO_INTERRUPT;
	for (u16 i = 0; i < size; i++)
		q->desc[i].next = (u16)(i + 1);
	q->free_head = 0;
	q->nfree = size;
}

int virtio_setup_vq(struct virtio_dev *d, u32 qi, u16 max)
{
	struct virtq *q = &d->vq[qi];
	struct ring_mem *m;
	u16 size;

	mmio_write16(d->common + CC_Q_SELECT, (u16)qi);
	size = mmio_read16(d->common + CC_Q_SIZE);
	if (!size || rings_used == MAX_RINGS || qi >= VIRTIO_MAX_VQS) {
		print("ERR %s: cannot set up queue %u (size %u)\n", d->name, qi, size);
		return -1;
	}
	while (size > max || size & (size - 1))
		size = (u16)(size & (size - 1) ? size & (size - 1) : size / 2);
	m = &rings[rings_used++];
	vq_init(q, m, size, (u16)qi);
	mmio_write16(d->common + CC_Q_SIZE, size);
	mmio_write16(d->common + CC_Q_MSIX, NO_VECTOR);
	q->notify = d->notify_base + (u64)mmio_read16(d->common + CC_Q_NOFF) * d->notify_mult;
	wr64(d->common + CC_Q_DESC, (u64)m->desc);
	wr64(d->common + CC_Q_DRIVER, (u64)m->avail);
	wr64(d->common + CC_Q_DEVICE, (u64)m->used);
	mmio_write16(d->common + CC_Q_ENABLE, 1);
	return 0;
}

void virtio_driver_ok(struct virtio_dev *d)
{
	set_status(d, S_DRIVER_OK);
	print("VIRTIO %s features=0x%lx status=0x%x\n", d->name, d->features,
	      mmio_read8(d->common + CC_STATUS));
}

/* ---- virtqueues --------------------------------------------------------- */

#define barrier() __asm__ volatile("" ::: "memory")

int virtq_add(struct virtq *q, const struct vq_buf *b, u32 n)
{
	u16 head = q->free_head, i = head, last = head;

	if (!n || n > q->nfree)
		return -1;
	for (u32 k = 0; k < n; k++) {
		struct vring_desc *d = &q->desc[i];

		d->addr = (u64)b[k].addr;
		d->len = b[k].len;
		d->flags = (u16)((b[k].device_writes ? DESC_F_WRITE : 0) |
				 (k + 1 < n ? DESC_F_NEXT : 0));
		last = i;
		i = d->next;
	}
	q->free_head = q->desc[last].next;
	q->nfree = (u16)(q->nfree - n);
	q->avail[2 + q->avail_idx % q->size] = head;
	barrier();
	q->avail[1] = ++q->avail_idx;
	return head;
}

void virtq_kick(struct virtq *q)
{
	__asm__ volatile("mfence" ::: "memory");
	if (q->used[0] & USED_F_NO_NOTIFY)
		return;
	mmio_write16(q->notify, q->index);
}

int virtq_get(struct virtq *q, u32 *len)
{
	const volatile struct vring_used_elem *e;
	u16 head, i, n = 1;

	if (q->used[1] == q->last_used)
		return -1;
	barrier();
	e = (const volatile struct vring_used_elem *)(q->used + 2) + q->last_used % q->size;
	head = (u16)e->id;
	*len = e->len;
	q->last_used++;
	if (head >= q->size)
		return -1;	/* a broken device; the chain is lost */
	for (i = head; q->desc[i].flags & DESC_F_NEXT; i = q->desc[i].next)
		n++;
	q->desc[i].next = q->free_head;
	q->free_head = head;
	q->nfree = (u16)(q->nfree + n);
	return head;
}
