// SPDX-License-Identifier: GPL-2.0-only
/*
 * pci: configuration mechanism #1 and per-device config space (see pci.h).
 * BARs are placed by the monitor when devices are created (no firmware
 * does it for us); a guest may still probe their sizes and move them.
 */
#include "devices/pci.h"

#define LOG_SUBSYS "pci"
#include "lib/log.h"
#include "devices/device.h"
#include "devices/devices.h"
#include "vmm/vm.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CONF1_ADDR      0xcf8
#define CONF1_DATA      0xcfc
#define CONF1_ENABLE    0x80000000u
#define PCI_COMMAND     0x04
#define PCI_BAR0        0x10
#define PCI_INTERRUPT_LINE 0x3c

struct pci {
	struct vm *vm;
	pthread_mutex_t lock;
	uint32_t addr;         /* last value written to 0xcf8 */
	struct pci_dev *slots[PCI_MAX_SLOTS];
	struct pci_dev host_bridge;
};

static void put16(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v); put16(p + 2, v >> 16); }
static uint32_t get32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device,
		  uint32_t class_code, uint16_t subsys_vendor, uint16_t subsys_id)
{
	memset(d->cfg, 0, sizeof(d->cfg));
	memset(d->wmask, 0, sizeof(d->wmask));
	put16(d->cfg + 0x00, vendor);
	put16(d->cfg + 0x02, device);
	put32(d->cfg + 0x08, class_code << 8);        /* revision 0 */
	put16(d->cfg + 0x2c, subsys_vendor);
	put16(d->cfg + 0x2e, subsys_id);
	put16(d->wmask + PCI_COMMAND, 0x0507);        /* io, mem, master, serr, intx disable */
	d->wmask[PCI_INTERRUPT_LINE] = 0xff;
	d->wmask[0x0c] = 0xff;                         /* cache line size */
	d->wmask[0x0d] = 0xff;                         /* latency timer */
}

void pci_dev_set_bar(struct pci_dev *d, int bar, uint64_t addr, uint64_t size, bool io)
{
	uint32_t lo = io ? ((uint32_t)addr | 1) : ((uint32_t)addr | (size > 0xffffffffULL || addr >> 32 ? 4 : 0));

	d->bar_size[bar] = size;
	put32(d->cfg + PCI_BAR0 + 4 * bar, lo);
	put32(d->wmask + PCI_BAR0 + 4 * bar, (uint32_t)~(size - 1) & (io ? ~3u : ~15u));
	if (!io && (lo & 4)) {                        /* 64-bit BAR: the next one is its top */
		put32(d->cfg + PCI_BAR0 + 4 * (bar + 1), (uint32_t)(addr >> 32));
		put32(d->wmask + PCI_BAR0 + 4 * (bar + 1), (uint32_t)(~(size - 1) >> 32));
	}
}

uint64_t pci_bar_addr(const struct pci_dev *d, int bar)
{
	uint32_t lo = get32(d->cfg + PCI_BAR0 + 4 * bar);

	if (lo & 1)
		return lo & ~3u;
	if (lo & 4)
		return (lo & ~15u) | (uint64_t)get32(d->cfg + PCI_BAR0 + 4 * (bar + 1)) << 32;
	return lo & ~15u;
}

bool pci_mem_enabled(const struct pci_dev *d)
{
	return d->cfg[PCI_COMMAND] & 2;
}

int pci_add_cap(struct pci_dev *d, uint8_t id, const void *body, uint8_t len)
{
	int off = d->cap_end ? d->cap_end : 0x40;
	uint8_t *link = &d->cfg[0x34];

	if (off + 2 + len > PCI_CFG_SIZE)
		return -ENOSPC;
	while (*link)
		link = &d->cfg[*link + 1];
	*link = (uint8_t)off;
	d->cfg[0x06] |= 0x10;                  /* status: capability list */
	d->cfg[off] = id;
	d->cfg[off + 1] = 0;
	memcpy(d->cfg + off + 2, body, len);
	d->cap_end = (off + 2 + len + 3) & ~3;
	return off;
}

int pci_add(struct pci *p, struct pci_dev *d)
{
	for (int i = 1; i < PCI_MAX_SLOTS; i++) {
		if (p->slots[i])
			continue;
		p->slots[i] = d;
		d->slot = i;
		return i;
	}
	return -ENOSPC;
}

static struct pci_dev *selected(struct pci *p, uint32_t *reg)
{
	uint32_t a = p->addr;

	if (!(a & CONF1_ENABLE) || ((a >> 16) & 0xff) || ((a >> 8) & 7))
		return NULL;           /* bus 0, function 0 only */
	*reg = a & 0xfc;
	return p->slots[(a >> 11) & 0x1f];
}

static void cfg_access(struct pci *p, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	uint32_t reg;
	struct pci_dev *d = selected(p, &reg);

	reg += off;
	if (!d || reg + len > PCI_CFG_SIZE) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	if (!is_write) {
		if (d->cfg_read)
			d->cfg_read(d, reg, len);
		memcpy(data, d->cfg + reg, len);
		return;
	}
	for (uint32_t i = 0; i < len; i++)
		d->cfg[reg + i] = (d->cfg[reg + i] & ~d->wmask[reg + i]) |
				  (data[i] & d->wmask[reg + i]);
	if (d->cfg_written)
		d->cfg_written(d, reg, len);
}

static void pci_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct pci *p = opaque;

	pthread_mutex_lock(&p->lock);
	if (off < 4) {
		if (off == 0 && len == 4) {
			if (is_write)
				p->addr = get32(data) & 0x80fffffcu;
			else
				put32(data, p->addr);
		} else if (!is_write) {
			memset(data, 0xff, len);
		}
	} else {
		cfg_access(p, off - 4, data, len, is_write);
	}
	pthread_mutex_unlock(&p->lock);
}

static json_t *pci_save(void *dev)
{
	struct pci *p = dev;
	json_t *slots = json_object();

	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < PCI_MAX_SLOTS; i++) {
		char key[16];

		if (!p->slots[i])
			continue;
		snprintf(key, sizeof(key), "%d", i);
		json_object_set_new(slots, key, dev_bytes_json(p->slots[i]->cfg, PCI_CFG_SIZE));
	}
	pthread_mutex_unlock(&p->lock);
	return json_pack("{s:I, s:o}", "addr", (json_int_t)p->addr, "slots", slots);
}

static int pci_load(void *dev, const json_t *st, char **err)
{
	struct pci *p = dev;
	json_t *slots = json_object_get(st, "slots");
	uint64_t addr;

	if (dev_get_uint(st, "addr", 0xffffffffu, &addr, err) < 0)
		return -EINVAL;
	if (!json_is_object(slots) || json_object_size(slots) != (size_t)pci_count(p))
		return asprintf(err, "pci: the devices in the stream differ from this VM's"), -EINVAL;
	for (int i = 0; i < PCI_MAX_SLOTS; i++) {
		uint8_t cfg[PCI_CFG_SIZE];
		char key[16];

		if (!p->slots[i])
			continue;
		snprintf(key, sizeof(key), "%d", i);
		if (dev_get_bytes(slots, key, cfg, sizeof(cfg), err) < 0)
			return -EINVAL;
		if (memcmp(cfg, p->slots[i]->cfg, 4))
			return asprintf(err, "pci: slot %d holds another device in the stream", i), -EINVAL;
		memcpy(p->slots[i]->cfg, cfg, sizeof(cfg));
	}
	p->addr = addr;
	return 0;
}

int pci_count(const struct pci *p)
{
	int n = 0;

	for (int i = 0; i < PCI_MAX_SLOTS; i++)
		n += p->slots[i] != NULL;
	return n;
}

static void pci_free(void *dev)
{
	struct pci *p = dev;

	pthread_mutex_destroy(&p->lock);
	free(p);
}

static const struct device_ops pci_ops = {
	.name = "pci",
	.version = 1,
	.save = pci_save,
	.load = pci_load,
	.free = pci_free,
};

struct pci *pci_create(struct vm *vm)
{
	struct pci *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->vm = vm;
	pthread_mutex_init(&p->lock, NULL);
	/* 00:00.0: a host bridge (Intel 440FX ids, which every guest knows). */
	pci_dev_init(&p->host_bridge, 0x8086, 0x1237, 0x060000, 0, 0);
	p->slots[0] = &p->host_bridge;
	if (bus_register(&vm->pio, CONF1_ADDR, 8, pci_io, p, "pci") < 0 ||
	    vm_add_device(vm, &pci_ops, 0, p) < 0) {
		pci_free(p);
		return NULL;
	}
	return p;
}
