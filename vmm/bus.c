// SPDX-License-Identifier: GPL-2.0-only
/*
 * bus: a small sorted-by-insertion table of address ranges (see bus.h).
 * A VM has a few dozen ranges at most, so a linear scan is the fastest
 * honest lookup; the hot ones (serial) are registered first.
 */
#include "vmm/bus.h"

#define LOG_SUBSYS "bus"
#include "lib/log.h"

#include <errno.h>
#include <string.h>

static bool overlaps(const struct bus_range *r, uint64_t base, uint64_t len)
{
	return base < r->base + r->len && r->base < base + len;
}

void bus_init(struct bus *bus, const char *name)
{
	bus->name = name;
	pthread_rwlock_init(&bus->lock, NULL);
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 bus_handler_fn fn, void *opaque, const char *name)
{
	int r = 0;

	if (!len)
		return -EINVAL;
	pthread_rwlock_wrlock(&bus->lock);
	for (int i = 0; i < bus->nr && !r; i++)
		if (overlaps(&bus->ranges[i], base, len))
			r = -EBUSY;
	if (!r && bus->nr == BUS_MAX_RANGES)
		r = -ENOSPC;
	if (!r)
		bus->ranges[bus->nr++] = (struct bus_range){
			.base = base, .len = len, .fn = fn, .opaque = opaque, .name = name,
		};
	pthread_rwlock_unlock(&bus->lock);
	return r;
}

int bus_unregister(struct bus *bus, uint64_t base)
{
	int r = -ENOENT;

	pthread_rwlock_wrlock(&bus->lock);
	for (int i = 0; i < bus->nr; i++) {
		if (bus->ranges[i].base != base)
			continue;
		memmove(&bus->ranges[i], &bus->ranges[i + 1],
			(bus->nr - i - 1) * sizeof(bus->ranges[0]));
		bus->nr--;
		r = 0;
		break;
	}
	pthread_rwlock_unlock(&bus->lock);
	return r;
}

bool bus_access(struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len,
		bool is_write)
{
	pthread_rwlock_rdlock(&bus->lock);
	for (int i = 0; i < bus->nr; i++) {
		struct bus_range r = bus->ranges[i];

		if (addr >= r.base && addr - r.base < r.len) {
			pthread_rwlock_unlock(&bus->lock);
			r.fn(r.opaque, addr - r.base, data, len, is_write);
			return true;
		}
	}
	pthread_rwlock_unlock(&bus->lock);
	__atomic_fetch_add(&bus->unhandled, 1, __ATOMIC_RELAXED);
	pr_debug("%s: unhandled %s at 0x%llx len %u", bus->name,
		 is_write ? "write" : "read", (unsigned long long)addr, len);
	if (!is_write)
		memset(data, 0xff, len);
	return false;
}
