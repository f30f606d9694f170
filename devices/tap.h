/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tap: the host side of a virtio-net device — a Linux tap interface,
 * opened by name (an existing one, or created when we may), no packet
 * information header, no vnet header (offloads off), non-blocking.
 */
#ifndef PGR_DEVICES_TAP_H
#define PGR_DEVICES_TAP_H

/* The tap's fd, or -errno with *err. @bridge (may be NULL): enslave it. */
int tap_open(const char *ifname, const char *bridge, char **err);

#endif
