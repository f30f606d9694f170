/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * devices: the machine's device set, created in a fixed order so that
 * device instances, PCI slots and saved-state order are the same on every
 * host: PCI host bridge, COM1, i8042, PM block, then the configured disks
 * and NICs. One constructor per device file.
 */
#ifndef PGR_DEVICES_DEVICES_H
#define PGR_DEVICES_DEVICES_H

#include "devices/device.h"

struct vm;
struct pm;
struct pci;

/* Build every device of @vm->cfg; 0 or -errno with *err. */
int devices_create(struct vm *vm, char **err);

/* Claim every disk image (blk_lock), or none: -EBUSY with *err. */
int devices_lock_disks(struct vm *vm, char **err);
void devices_unlock_disks(struct vm *vm);
/* Stop taking device requests (migration's stop-and-copy; io_lock held). */
void devices_stop_io(struct vm *vm);
/* Take requests again and process what waited in the rings. */
void devices_resume_io(struct vm *vm);

int i8042_create(struct vm *vm);
struct pm *pm_create(struct vm *vm);
void pm_press_power_button(struct pm *p);
int pci_count(const struct pci *p);

#endif
