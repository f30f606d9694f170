/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vnet.h: the virtio-net driver and the test guest's tiny IPv4 host. It
 * answers ARP for its address (ip=A.B.C.D, default 10.0.0.2), ICMP echo
 * and UDP echo (port 7); it sends a gratuitous ARP at start and whenever
 * the device asks it to announce itself (VIRTIO_NET_F_GUEST_ANNOUNCE,
 * acknowledged on the control queue); and "ping A.B.C.D" on the serial
 * line sends one echo request. Lines (NET, ANNOUNCE, PONG, PING):
 * docs/test-guest.md.
 *
 * No TCP, no IP fragments, no routing (every peer is on the link), no
 * offloads, one NIC. Polled from the BSP's loop like everything else.
 */
#ifndef PGR_GUEST_VNET_H
#define PGR_GUEST_VNET_H

#include "guest.h"

/* Take a command-line word if it is ours (ip=). */
bool vnet_option(const char *w, size_t len);
/* Find and set up the NIC (PCI, VIRTIO, NET lines); false if none. */
bool vnet_init(void);
/* One bounded step: received frames, transmit completions, ping timeout. */
void vnet_step(u64 now);
/* Every console poll (5 ms): the device's announce request. */
void vnet_poll_config(void);
/* The serial command "ping A.B.C.D". */
void vnet_ping(const char *arg);
/* Frames received and sent so far; false when there is no NIC. */
bool vnet_stats(u64 *rx, u64 *tx);

#endif /* PGR_GUEST_VNET_H */
