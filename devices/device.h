/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * device: what every emulated device offers the VM and migration — a name,
 * a state version, save/load of its guest-visible state as JSON (small,
 * versioned, validated field by field on load), reset and free. Host
 * resources (fds, paths, tap names) never go in the saved state: the
 * destination supplies its own.
 */
#ifndef PGR_DEVICES_DEVICE_H
#define PGR_DEVICES_DEVICE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct device_ops {
	const char *name;      /* stream section name, e.g. "serial" */
	int version;           /* state version this build writes and reads */
	json_t *(*save)(void *dev);
	/* 0, or -EINVAL with *err (malloc'd, one line) naming the bad field. */
	int (*load)(void *dev, const json_t *state, char **err);
	void (*reset)(void *dev);
	void (*free)(void *dev);
};

struct device {
	const struct device_ops *ops;
	int instance;
	void *dev;
};

/* JSON field helpers for load functions: 0 or -EINVAL with *err set. */
int dev_get_uint(const json_t *o, const char *key, uint64_t max, uint64_t *out, char **err);
int dev_get_bytes(const json_t *o, const char *key, uint8_t *buf, size_t len, char **err);
json_t *dev_bytes_json(const uint8_t *buf, size_t len);

#endif
