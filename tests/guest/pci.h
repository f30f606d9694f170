/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pci.h: just enough PCI for the test guest's virtio drivers — bus 0 through
 * configuration mechanism #1 (ports 0xCF8/0xCFC, at CPL 3 like all our port
 * I/O), the capability list, memory BAR addresses, and turning on memory
 * decoding and bus mastering.
 *
 * It does not assign BARs (pgr-vmm places them, SeaBIOS does under QEMU),
 * does not walk bridges (everything we drive is on bus 0), and knows no
 * interrupts. virtio.c finds its devices with pci_find_virtio().
 */
#ifndef PGR_GUEST_PCI_H
#define PGR_GUEST_PCI_H

#include "guest.h"

#define PCI_VENDOR_VIRTIO	0x1af4
#define PCI_CAP_VENDOR		0x09

struct pci_fn {
	u8 bus, dev, fn;
	u16 vendor, device;
	u32 virtio_type;	/* 1 net, 2 blk, ... (from the device id) */
};

u32 pci_read32(const struct pci_fn *f, u32 off);
u8 pci_read8(const struct pci_fn *f, u32 off);
void pci_write16(const struct pci_fn *f, u32 off, u16 v);

/* The @index-th (from 0) virtio function of type @type on bus 0; 0 if
 * found. The first call scans the bus (~64 port accesses). */
int pci_find_virtio(u32 type, u32 index, struct pci_fn *out);
/* First capability at or after the list position @after (0: from the
 * start) with id @id: its config-space offset, or 0. */
u32 pci_next_cap(const struct pci_fn *f, u32 after, u8 id);
/* The address memory BAR @bar decodes (32- or 64-bit), 0 if unassigned. */
u64 pci_bar_addr(const struct pci_fn *f, u32 bar);
/* Memory decoding and bus mastering on, legacy INTx off. */
void pci_enable(const struct pci_fn *f);

#endif /* PGR_GUEST_PCI_H */
