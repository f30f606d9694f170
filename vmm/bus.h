/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bus: dispatch of port I/O and MMIO exits to the device that claimed the
 * address range. Ranges are registered while the VM is built and never
 * change while vCPUs run, so lookups take no lock; devices lock themselves.
 * It does not decode anything: a handler gets the offset into its range.
 */
#ifndef PGR_VMM_BUS_H
#define PGR_VMM_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef void (*bus_handler_fn)(void *opaque, uint64_t offset, uint8_t *data,
			       uint32_t len, bool is_write);

struct bus_range {
	uint64_t base, len;
	bus_handler_fn fn;
	void *opaque;
	const char *name;
};

#define BUS_MAX_RANGES 64

struct bus {
	const char *name;      /* "pio" or "mmio", for messages */
	pthread_rwlock_t lock;
	int nr;
	struct bus_range ranges[BUS_MAX_RANGES];
	uint64_t unhandled;    /* accesses nobody claimed */
};

void bus_init(struct bus *bus, const char *name);
/* 0, -EBUSY when it overlaps a registered range, -ENOSPC when full. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 bus_handler_fn fn, void *opaque, const char *name);
int bus_unregister(struct bus *bus, uint64_t base);
/* Returns false when no device claims @addr (reads then see all ones). */
bool bus_access(struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len,
		bool is_write);

#endif
