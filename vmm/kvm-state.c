// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvm-state: in-kernel irqchip and PIT state as a device (see kvm-state.h).
 */
#include "vmm/kvm-state.h"

#define LOG_SUBSYS "kvm"
#include "lib/log.h"
#include "devices/device.h"
#include "vmm/vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

struct kvm_state {
	struct vm *vm;
	struct kvm_irqchip chips[3];   /* PIC master, PIC slave, IOAPIC */
	struct kvm_pit_state2 pit;
	struct kvm_irqchip init_chips[3];
	struct kvm_pit_state2 init_pit;
};

static const char *const chip_names[3] = { "pic_master", "pic_slave", "ioapic" };

static int read_all(struct kvm_state *k, struct kvm_irqchip *chips, struct kvm_pit_state2 *pit)
{
	int fd = k->vm->kvm.vm_fd;

	for (int i = 0; i < 3; i++) {
		memset(&chips[i], 0, sizeof(chips[i]));
		chips[i].chip_id = i;
		if (ioctl(fd, KVM_GET_IRQCHIP, &chips[i]) < 0)
			return -errno;
	}
	return ioctl(fd, KVM_GET_PIT2, pit) < 0 ? -errno : 0;
}

static int write_all(struct kvm_state *k, struct kvm_irqchip *chips, struct kvm_pit_state2 *pit)
{
	int fd = k->vm->kvm.vm_fd;

	for (int i = 0; i < 3; i++)
		if (ioctl(fd, KVM_SET_IRQCHIP, &chips[i]) < 0)
			return -errno;
	return ioctl(fd, KVM_SET_PIT2, pit) < 0 ? -errno : 0;
}

static json_t *kvm_state_save(void *dev)
{
	struct kvm_state *k = dev;
	json_t *j;

	if (read_all(k, k->chips, &k->pit) < 0) {
		pr_err("reading irqchip/PIT state: %m");
		return NULL;
	}
	j = json_object();
	for (int i = 0; i < 3; i++)
		json_object_set_new(j, chip_names[i],
				    dev_bytes_json((uint8_t *)&k->chips[i].chip, sizeof(k->chips[i].chip)));
	json_object_set_new(j, "pit", dev_bytes_json((uint8_t *)&k->pit, sizeof(k->pit)));
	return j;
}

static int kvm_state_load(void *dev, const json_t *st, char **err)
{
	struct kvm_state *k = dev;
	struct kvm_irqchip chips[3];
	struct kvm_pit_state2 pit;
	int r;

	for (int i = 0; i < 3; i++) {
		memset(&chips[i], 0, sizeof(chips[i]));
		chips[i].chip_id = i;
		if (dev_get_bytes(st, chip_names[i], (uint8_t *)&chips[i].chip,
				  sizeof(chips[i].chip), err) < 0)
			return -EINVAL;
	}
	if (dev_get_bytes(st, "pit", (uint8_t *)&pit, sizeof(pit), err) < 0)
		return -EINVAL;
	r = write_all(k, chips, &pit);
	if (r < 0 && asprintf(err, "KVM refused the irqchip/PIT state: %s", strerror(-r)) < 0)
		*err = NULL;
	return r;
}

static void kvm_state_reset(void *dev)
{
	struct kvm_state *k = dev;

	if (write_all(k, k->init_chips, &k->init_pit) < 0)
		pr_err("resetting irqchip/PIT: %m");
}

static const struct device_ops kvm_state_ops = {
	.name = "kvm",
	.version = 1,
	.save = kvm_state_save,
	.load = kvm_state_load,
	.reset = kvm_state_reset,
	.free = free,
};

int kvm_state_create(struct vm *vm)
{
	struct kvm_state *k = calloc(1, sizeof(*k));

	if (!k)
		return -ENOMEM;
	k->vm = vm;
	if (read_all(k, k->init_chips, &k->init_pit) < 0 ||
	    vm_add_device(vm, &kvm_state_ops, 0, k) < 0) {
		free(k);
		return -EIO;
	}
	return 0;
}

int kvm_clock_get(struct vm *vm, uint64_t *ns)
{
	struct kvm_clock_data c = { 0 };

	if (ioctl(vm->kvm.vm_fd, KVM_GET_CLOCK, &c) < 0)
		return -errno;
	*ns = c.clock;
	return 0;
}

int kvm_clock_set(struct vm *vm, uint64_t ns)
{
	struct kvm_clock_data c = { .clock = ns };

	return ioctl(vm->kvm.vm_fd, KVM_SET_CLOCK, &c) < 0 ? -errno : 0;
}
