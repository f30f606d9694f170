/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pci: the PCI host bridge on configuration mechanism #1 (ports 0xcf8 and
 * 0xcfc-0xcff), bus 0 only, and the configuration space of each device on
 * it: identity, command/status, BARs with size probing, capabilities.
 * Devices (virtio-pci) own a struct pci_dev and get callbacks when the
 * guest writes their config space. Saved state: every device's 256 bytes.
 */
#ifndef PGR_DEVICES_PCI_H
#define PGR_DEVICES_PCI_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct pci;

#define PCI_MAX_SLOTS 32
#define PCI_CFG_SIZE  256

struct pci_dev {
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];   /* bits the guest may write */
	uint64_t bar_size[6];          /* 0: BAR unused */
	int slot;
	int cap_end;                   /* next free capability offset */
	void *opaque;
	/* Called after the guest wrote config space (under the PCI lock). */
	void (*cfg_written)(struct pci_dev *d, uint32_t off, uint32_t len);
	/* Called before the guest reads config space: refresh cfg[] there. */
	void (*cfg_read)(struct pci_dev *d, uint32_t off, uint32_t len);
};

struct pci *pci_create(struct vm *vm);
/* Identity fields, then BARs via pci_dev_set_bar; returns the slot or -errno. */
void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device,
		  uint32_t class_code, uint16_t subsys_vendor, uint16_t subsys_id);
void pci_dev_set_bar(struct pci_dev *d, int bar, uint64_t addr, uint64_t size, bool io);
int pci_add(struct pci *p, struct pci_dev *d);
uint64_t pci_bar_addr(const struct pci_dev *d, int bar);
/* Is memory decoding on (command register bit 1)? */
bool pci_mem_enabled(const struct pci_dev *d);
/* Add a capability (id, then @len bytes of body after the 2-byte header);
 * returns its offset in config space. */
int pci_add_cap(struct pci_dev *d, uint8_t id, const void *body, uint8_t len);

#endif
