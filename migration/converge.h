/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * converge: the pre-copy policy, as pure functions of round statistics so
 * they are tested from tables (tests/unit/test-converge.c). When to stop
 * iterating and do stop-and-copy, and how hard to throttle a guest that
 * dirties memory faster than the link carries it. No I/O, no clocks.
 */
#ifndef PGR_MIGRATION_CONVERGE_H
#define PGR_MIGRATION_CONVERGE_H

#include <stdbool.h>
#include <stdint.h>

struct converge_params {
	uint64_t downtime_limit_ms;  /* target pause (default 300, as QEMU) */
	uint32_t max_iterations;     /* rounds before forcing stop-and-copy (29) */
	bool auto_converge;          /* throttle vCPUs when rounds stop shrinking */
};

struct converge_round {
	uint32_t round;              /* 1 = the first full pass */
	uint64_t sent_bytes;         /* bytes put on the wire this round */
	uint64_t duration_ns;        /* wall time of the round */
	uint64_t dirty_pages;        /* pages dirty when it ended (to send next) */
};

enum converge_decision {
	CONVERGE_CONTINUE,           /* another pre-copy round */
	CONVERGE_STOP_COPY,          /* remaining set fits the downtime limit */
	CONVERGE_FORCE,              /* out of rounds or not shrinking: pause anyway */
};

struct converge_state {
	uint64_t bandwidth;          /* bytes/s, smoothed */
	uint64_t prev_dirty;         /* dirty pages after the previous round */
	uint32_t non_shrinking;      /* consecutive rounds that did not shrink */
	uint32_t throttle_pct;       /* 0..99: share of time vCPUs are held off */
};

/* Bytes/s measured over @r, smoothed into @st. */
void converge_update_bandwidth(struct converge_state *st, const struct converge_round *r);
/* Expected downtime in ms to send @dirty_pages at @st's bandwidth. */
uint64_t converge_expected_downtime_ms(const struct converge_state *st, uint64_t dirty_pages);
/* The decision after round @r; updates the shrink and throttle bookkeeping. */
enum converge_decision converge_decide(const struct converge_params *p,
				       struct converge_state *st,
				       const struct converge_round *r);

#endif
