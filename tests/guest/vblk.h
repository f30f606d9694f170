/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vblk.h: the virtio-blk driver and disk workload of the test guest.
 * Command line: blk=write|verify|mix, blkseed=N, blkmib=N, blkrate=N
 * (KiB/s). Each 4 KiB block of the region holds a pattern that is a
 * function of (seed, block, generation); "write" writes generation 1,
 * flushes, reads back and checks; "verify" only reads and checks
 * generation 1 (a disk written by an earlier run); "mix" writes once, then
 * runs random writes and sequential verify passes for ever, up to 8
 * requests in flight, checking every read against a per-block generation
 * table. Lines (BLK, BW, BV, BLKCORRUPT, BLKERR, BLKZERO):
 * docs/test-guest.md.
 *
 * Everything runs on the BSP by polling, in bounded steps; nothing here
 * waits for the device except at init (GET_ID).
 */
#ifndef PGR_GUEST_VBLK_H
#define PGR_GUEST_VBLK_H

#include "guest.h"

/* Take a command-line word if it is ours (blk=, blkseed=...). */
bool vblk_option(const char *w, size_t len);
/* Find and set up the disk (prints PCI, VIRTIO, BLK lines); false if none. */
bool vblk_init(void);
/* One bounded step: completions, new requests, pacing. */
void vblk_step(u64 now);
/* The serial command "blk <arg>": discard or zero. */
void vblk_command(const char *arg);

#endif /* PGR_GUEST_VBLK_H */
