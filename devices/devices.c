// SPDX-License-Identifier: GPL-2.0-only
/*
 * devices: creates the machine's devices in their fixed order (see
 * devices.h). Disks and NICs join here when their devices exist.
 */
#include "devices/devices.h"

#include "block/blk.h"

#include "devices/pci.h"
#include "devices/serial.h"
#include "devices/virtio-blk.h"
#include "devices/virtio-net.h"
#include "devices/virtio-pci.h"
#include "vmm/kvm-state.h"
#include "vmm/vm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int devices_create(struct vm *vm, char **err)
{
	if (kvm_state_create(vm) < 0) {
		*err = strdup("cannot read the in-kernel irqchip and PIT state");
		return -EIO;
	}
	vm->pci = pci_create(vm);
	if (!vm->pci) {
		*err = strdup("cannot create the PCI host bridge");
		return -ENOMEM;
	}
	vm->serial = serial_new(vm, vm->opts.serial ? vm->opts.serial : "stdio", err);
	if (!vm->serial)
		return -EINVAL;
	if (vm_add_device(vm, &serial_ops, 0, vm->serial) < 0 || i8042_create(vm) < 0) {
		*err = strdup("cannot create the i8042 controller");
		return -ENOMEM;
	}
	vm->pm = pm_create(vm);
	if (!vm->pm) {
		*err = strdup("cannot create the PM block");
		return -ENOMEM;
	}
	for (int i = 0; i < vm->cfg.ndisks; i++) {
		vm->blks[i] = virtio_blk_create(vm, &vm->cfg.disks[i], i, err);
		if (!vm->blks[i])
			return -EINVAL;
		vm->nblks++;
	}
	for (int i = 0; i < vm->cfg.nnets; i++) {
		vm->nets[i] = virtio_net_create(vm, &vm->cfg.nets[i], i, err);
		if (!vm->nets[i])
			return -EINVAL;
		vm->nnets++;
	}
	return 0;
}

int devices_lock_disks(struct vm *vm, char **err)
{
	for (int i = 0; i < vm->nblks; i++) {
		int r = blk_lock(virtio_blk_backend(vm->blks[i]), err);

		if (r < 0) {
			while (i--)
				blk_unlock(virtio_blk_backend(vm->blks[i]));
			return r;
		}
	}
	return 0;
}

void devices_unlock_disks(struct vm *vm)
{
	for (int i = 0; i < vm->nblks; i++)
		blk_unlock(virtio_blk_backend(vm->blks[i]));
}

void devices_stop_io(struct vm *vm)
{
	vm->io_stopped = true;
}

void devices_resume_io(struct vm *vm)
{
	pthread_mutex_lock(&vm->io_lock);
	vm->io_stopped = false;
	pthread_mutex_unlock(&vm->io_lock);
	for (int i = 0; i < vm->nvirtio; i++)
		virtio_pci_kick(vm->virtio[i]);
}
