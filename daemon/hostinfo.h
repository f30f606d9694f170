/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hostinfo: what `pgr nodeinfo` and `pgr sysinfo` show about this host —
 * CPU model and topology, memory, NUMA cells (from /proc and /sys), the
 * SMBIOS system strings the firmware gives (/sys/class/dmi/id, where
 * present) and the host UUID pgrd uses to tell hosts apart (which is
 * pgrd's own, from STATE/host-uuid or the config file, not the firmware's:
 * virtualized hosts often share one, as the seed's "migrate to the same
 * host" story shows). Read on demand; nothing is cached.
 */
#ifndef PGR_DAEMON_HOSTINFO_H
#define PGR_DAEMON_HOSTINFO_H

#include <jansson.h>
#include <stdint.h>

/* {"arch", "model", "cpus", "mhz", "sockets", "cores", "threads",
 *  "numa_cells", "memory_kib", "hostname", "host_uuid",
 *  "smbios": {"manufacturer", "product", "version", "serial", "sku", "family"}}
 * (smbios strings only where the host has them). NULL if out of memory. */
json_t *hostinfo_json(const uint8_t host_uuid[16]);

#endif
