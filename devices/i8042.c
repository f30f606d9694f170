// SPDX-License-Identifier: GPL-2.0-only
/*
 * i8042: just enough of the PC keyboard controller for a guest to reset
 * the machine (command 0xfe, "pulse the reset line", on port 0x64) and for
 * Linux's probe to find an empty controller. No keyboard, no mouse.
 */
#include "devices/devices.h"

#define LOG_SUBSYS "i8042"
#include "lib/log.h"
#include "vmm/vm.h"

#include <stdlib.h>

#define I8042_DATA    0x60
#define I8042_CMD     0x64
#define CMD_READ_CTR  0x20
#define CMD_WRITE_CTR 0x60
#define CMD_SELFTEST  0xaa
#define CMD_RESET     0xfe
#define STATUS_OBF    0x01
#define STATUS_SYS    0x04

struct i8042 {
	struct vm *vm;
	uint8_t ctr;           /* controller configuration byte */
	uint8_t out;           /* output buffer */
	bool out_full;
	uint8_t pending_cmd;   /* a command waiting for its data byte */
};

static void i8042_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct i8042 *k = opaque;
	uint16_t port = (uint16_t)(off + I8042_DATA);

	if (!is_write) {
		if (port == I8042_CMD) {
			data[0] = STATUS_SYS | (k->out_full ? STATUS_OBF : 0);
		} else if (port == I8042_DATA) {
			data[0] = k->out;
			k->out_full = false;
		} else {
			data[0] = 0xff;
		}
		return;
	}
	if (port == I8042_DATA) {
		if (k->pending_cmd == CMD_WRITE_CTR)
			k->ctr = data[0];
		k->pending_cmd = 0;
		return;
	}
	if (port != I8042_CMD)
		return;
	switch (data[0]) {
	case CMD_RESET:
		pr_info("guest requested a reset");
		vm_request(k->vm, VM_REQ_RESET);
		break;
	case CMD_READ_CTR:
		k->out = k->ctr;
		k->out_full = true;
		break;
	case CMD_SELFTEST:
		k->out = 0x55;
		k->out_full = true;
		break;
	case CMD_WRITE_CTR:
		k->pending_cmd = CMD_WRITE_CTR;
		break;
	}
}

static json_t *i8042_save(void *dev)
{
	struct i8042 *k = dev;

	return json_pack("{s:i, s:i, s:b, s:i}", "ctr", k->ctr, "out", k->out,
			 "out_full", k->out_full, "pending", k->pending_cmd);
}

static int i8042_load(void *dev, const json_t *st, char **err)
{
	struct i8042 *k = dev;
	uint64_t ctr, out, pending;

	if (dev_get_uint(st, "ctr", 255, &ctr, err) < 0 ||
	    dev_get_uint(st, "out", 255, &out, err) < 0 ||
	    dev_get_uint(st, "pending", 255, &pending, err) < 0)
		return -1;
	k->ctr = ctr;
	k->out = out;
	k->pending_cmd = pending;
	k->out_full = json_is_true(json_object_get(st, "out_full"));
	return 0;
}

static void i8042_reset(void *dev)
{
	struct i8042 *k = dev;

	k->ctr = 0;
	k->out_full = false;
	k->pending_cmd = 0;
}

static const struct device_ops i8042_ops = {
	.name = "i8042",
	.version = 1,
	.save = i8042_save,
	.load = i8042_load,
	.reset = i8042_reset,
	.free = free,
};

int i8042_create(struct vm *vm)
{
	struct i8042 *k = calloc(1, sizeof(*k));

	if (!k)
		return -1;
	k->vm = vm;
	/* 0x60..0x64; port 0x61 (speaker) never reaches us: the in-kernel PIT has it. */
	if (bus_register(&vm->pio, I8042_DATA, 5, i8042_io, k, "i8042") < 0) {
		free(k);
		return -1;
	}
	return vm_add_device(vm, &i8042_ops, 0, k);
}
