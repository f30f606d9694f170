/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * work.h: the memory workload. Usable RAM above the guest image becomes a
 * generation table (u32 per page) followed by the data pages; page p at
 * generation g holds pattern words f(p, g, i). Each CPU owns a contiguous
 * share of the page indices: it fills them (generation 1), then dirties
 * random pages of its share (generation + 1) and verifies its share in
 * sweeps, both paced by TSC to the total rates set with work_set_rates().
 * The last CPU to finish a sweep prints its V line.
 *
 * It does not print heartbeats or read commands (main.c, console.c); it
 * never blocks: every call does at most a page or two of work.
 */
#ifndef PGR_GUEST_WORK_H
#define PGR_GUEST_WORK_H

#include "guest.h"

#define DEFAULT_VERIFY_MIB 1000

struct work_stats {
	u64 sweeps;		/* complete sweeps of all pages */
	u64 dirtied;		/* pages rewritten by dirtying, all CPUs */
	u64 corrupt;		/* words found wrong, all CPUs */
};

/* Lay out the work area from the memory map: @fill_mib of data pages, or
 * when 0 all usable RAM above the image minus 2 MiB. Returns data pages. */
u64 work_layout(u64 fill_mib, u32 ncpus);
/* One step on CPU @cpu: fill a page, or dirty/verify as the pacing allows. */
void work_step(u32 cpu, u64 now);
/* True once every CPU has filled its share. */
bool work_filled(void);
/* BSP, once, after READY: start dirtying and the first sweep. */
void work_start(u64 now);
/* Flip one bit of one word (the selftest-corrupt option); prints what. */
void work_corrupt_one(void);

/* Total rates in MiB/s: dirty 0 = none, verify 0 = as fast as possible. */
void work_set_rates(u32 dirty_mib, u32 verify_mib);
u32 work_dirty_rate(void);
u32 work_verify_rate(void);
void work_get_stats(struct work_stats *st);

#endif /* PGR_GUEST_WORK_H */
