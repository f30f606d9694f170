// SPDX-License-Identifier: GPL-2.0-only
/*
 * pm: an ACPI PM1a event and control block at port 0x600, where QEMU's
 * PIIX4 PM sits once SeaBIOS has set it up, so one guest binary powers off
 * the same way under both monitors: writing SLP_EN to PM1a_CNT (0x604)
 * powers the machine off; system-powerdown sets PWRBTN_STS in PM1a_STS
 * (0x600), raising SCI (IRQ 9) when the guest enabled it. No ACPI tables
 * yet: a guest finds the block by convention.
 */
#include "devices/devices.h"

#define LOG_SUBSYS "pm"
#include "lib/log.h"
#include "vmm/vm.h"

#include <pthread.h>
#include <stdlib.h>

#define PM_BASE        0x600
#define PM_LEN         6
#define PM1_STS        0
#define PM1_EN         2
#define PM1_CNT        4
#define PWRBTN         (1u << 8)
#define SLP_EN         (1u << 13)
#define SCI_EN         (1u << 0)
#define SCI_IRQ        9

struct pm {
	struct vm *vm;
	pthread_mutex_t lock;
	uint16_t sts, en, cnt;
};

static void pm_update_sci(struct pm *p)
{
	kvm_irq_line(&p->vm->kvm, SCI_IRQ, !!(p->sts & p->en));
}

static uint16_t *pm_reg(struct pm *p, uint64_t off)
{
	if (off < PM1_EN)
		return &p->sts;
	return off < PM1_CNT ? &p->en : &p->cnt;
}

static void pm_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct pm *p = opaque;
	uint16_t *reg, val = 0;
	unsigned int shift = (off & 1) * 8;

	pthread_mutex_lock(&p->lock);
	reg = pm_reg(p, off);
	if (!is_write) {
		val = *reg >> shift;
		data[0] = (uint8_t)val;
		if (len > 1)
			data[1] = (uint8_t)(val >> 8);
		pthread_mutex_unlock(&p->lock);
		return;
	}
	val = (uint16_t)((data[0] | (len > 1 ? data[1] << 8 : 0)) << shift);
	if (reg == &p->sts)
		p->sts &= ~val;        /* write one to clear */
	else
		*reg = val;
	pm_update_sci(p);
	if (reg == &p->cnt && (val & SLP_EN)) {
		pr_info("guest powered off");
		vm_request(p->vm, VM_REQ_POWEROFF);
	}
	pthread_mutex_unlock(&p->lock);
}

void pm_press_power_button(struct pm *p)
{
	pthread_mutex_lock(&p->lock);
	p->sts |= PWRBTN;
	pm_update_sci(p);
	pthread_mutex_unlock(&p->lock);
}

static json_t *pm_save(void *dev)
{
	struct pm *p = dev;

	return json_pack("{s:i, s:i, s:i}", "sts", p->sts, "en", p->en, "cnt", p->cnt);
}

static int pm_load(void *dev, const json_t *st, char **err)
{
	struct pm *p = dev;
	uint64_t sts, en, cnt;

	if (dev_get_uint(st, "sts", 0xffff, &sts, err) < 0 ||
	    dev_get_uint(st, "en", 0xffff, &en, err) < 0 ||
	    dev_get_uint(st, "cnt", 0xffff, &cnt, err) < 0)
		return -1;
	p->sts = sts;
	p->en = en;
	p->cnt = cnt & ~SLP_EN;
	return 0;
}

static void pm_reset(void *dev)
{
	struct pm *p = dev;

	p->sts = p->en = 0;
	p->cnt = SCI_EN;       /* ACPI mode is always on: there is no SMI to switch */
}

static void pm_free(void *dev)
{
	struct pm *p = dev;

	pthread_mutex_destroy(&p->lock);
	free(p);
}

static const struct device_ops pm_ops = {
	.name = "pm",
	.version = 1,
	.save = pm_save,
	.load = pm_load,
	.reset = pm_reset,
	.free = pm_free,
};

struct pm *pm_create(struct vm *vm)
{
	struct pm *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->vm = vm;
	p->cnt = SCI_EN;
	pthread_mutex_init(&p->lock, NULL);
	if (bus_register(&vm->pio, PM_BASE, PM_LEN, pm_io, p, "pm") < 0 ||
	    vm_add_device(vm, &pm_ops, 0, p) < 0) {
		pm_free(p);
		return NULL;
	}
	return p;
}
