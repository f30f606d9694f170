/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pci.c: configuration mechanism #1 on bus 0 (see pci.h). Every access is
 * two port accesses, each a trap of 30-100 us on PVM, so bus 0 is scanned
 * once (one dword per slot, per function only for multi-function devices)
 * and the virtio functions found are remembered.
 */
#include "pci.h"

#define CONF1_ADDR	0xcf8
#define CONF1_DATA	0xcfc
#define CONF1_ENABLE	0x80000000u
#define PCI_ID		0x00
#define PCI_COMMAND	0x04
#define PCI_HEADER	0x0e
#define PCI_BAR0	0x10
#define PCI_SUBSYS_ID	0x2e
#define PCI_CAP_PTR	0x34
#define STATUS_CAPS	0x10
#define CMD_MEM		0x02
#define CMD_MASTER	0x04
#define CMD_INTX_OFF	0x400
#define BAR_IO		0x1
#define BAR_TYPE_64	0x4
#define DEV_MODERN	0x1040
#define DEV_LEGACY_NET	0x1000
#define DEV_LEGACY_LAST	0x103f
#define SLOTS		32
#define MAX_FOUND	8

static inline void outl(u16 port, u32 v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline u32 inl(u16 port)
{
	u32 v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void select_reg(const struct pci_fn *f, u32 off)
{
	outl(CONF1_ADDR, CONF1_ENABLE | (u32)f->bus << 16 | (u32)f->dev << 11 |
	     (u32)f->fn << 8 | (off & 0xfc));
}

u32 pci_read32(const struct pci_fn *f, u32 off)
{
	select_reg(f, off);
	return inl(CONF1_DATA);
}

u8 pci_read8(const struct pci_fn *f, u32 off)
{
	return (u8)(pci_read32(f, off) >> (8 * (off & 3)));
}

void pci_write16(const struct pci_fn *f, u32 off, u16 v)
{
	select_reg(f, off);
	outw((u16)(CONF1_DATA + (off & 2)), v);
}

/* Virtio device type of a vendor 0x1af4 function, 0 if not a virtio one.
 * Transitional ids (0x1000-0x103f) carry the type in the subsystem id. */
static u32 virtio_type(const struct pci_fn *f)
{
	if (f->vendor != PCI_VENDOR_VIRTIO)
		return 0;
	if (f->device >= DEV_MODERN && f->device < DEV_MODERN + 0x40)
		return f->device - DEV_MODERN;
	if (f->device >= DEV_LEGACY_NET && f->device <= DEV_LEGACY_LAST)
		return pci_read32(f, PCI_SUBSYS_ID & ~3u) >> 16;
	return 0;
}

static bool probe(struct pci_fn *f)
{
	u32 id = pci_read32(f, PCI_ID);

	if ((id & 0xffff) == 0xffff)
		return false;
	f->vendor = (u16)id;
	f->device = (u16)(id >> 16);
	f->virtio_type = virtio_type(f);
	return true;
}

static struct pci_fn found[MAX_FOUND];
static u32 nfound;
static bool scanned;

static void scan(void)
{
	struct pci_fn f = { 0 };

	scanned = true;
	for (f.dev = 0; f.dev < SLOTS; f.dev++) {
		u32 nfn = 1;

		for (f.fn = 0; f.fn < nfn; f.fn++) {
			if (!probe(&f))
				continue;
			if (f.fn == 0 && (pci_read8(&f, PCI_HEADER) & 0x80))
				nfn = 8;
			if (f.virtio_type && nfound < MAX_FOUND)
				found[nfound++] = f;
		}
	}
}

int pci_find_virtio(u32 type, u32 index, struct pci_fn *out)
{
	if (!scanned)
		scan();
	for (u32 i = 0; i < nfound; i++)
		if (found[i].virtio_type == type && index-- == 0) {
			*out = found[i];
			return 0;
		}
	return -1;
}

u32 pci_next_cap(const struct pci_fn *f, u32 after, u8 id)
{
	u32 off, guard = 0;

	if (!after) {
		if (!(pci_read32(f, PCI_COMMAND) >> 16 & STATUS_CAPS))
			return 0;
		off = pci_read8(f, PCI_CAP_PTR) & 0xfc;
	} else {
		off = pci_read8(f, after + 1) & 0xfc;
	}
	for (; off && guard < 48; guard++) {
		u32 hdr = pci_read32(f, off);

		if ((hdr & 0xff) == id)
			return off;
		off = (hdr >> 8) & 0xfc;
	}
	return 0;
}

u64 pci_bar_addr(const struct pci_fn *f, u32 bar)
{
	u32 lo = pci_read32(f, PCI_BAR0 + 4 * bar);
	u64 addr = lo & ~0xfu;

	if (lo & BAR_IO)
		return 0;
	if (lo & BAR_TYPE_64)
		addr |= (u64)pci_read32(f, PCI_BAR0 + 4 * (bar + 1)) << 32;
	return addr;
}

void pci_enable(const struct pci_fn *f)
{
	u16 cmd = (u16)pci_read32(f, PCI_COMMAND);

	pci_write16(f, PCI_COMMAND, cmd | CMD_MEM | CMD_MASTER | CMD_INTX_OFF);
}
