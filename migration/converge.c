// SPDX-License-Identifier: GPL-2.0-only
/*
 * converge: pre-copy stopping and throttling policy (see converge.h).
 * Bandwidth is an exponential average (weight 1/2) of each round's rate,
 * so one slow round (page-cache misses, a hiccup) does not end pre-copy
 * too early or too late. A round "does not shrink" when it leaves at least
 * 95% of the previous round's dirty set; two such rounds in a row either
 * raise the throttle by 20 points (auto-converge, up to 99%) or, without
 * it, force stop-and-copy: further rounds would only resend the same pages.
 *
 * Fitting the downtime limit is necessary but not sufficient: while each
 * round still halves the dirty set, one more round (cheap: it is small)
 * makes the pause shorter still, so we stop early only once the expected
 * pause is under CONVERGE_FLOOR_MS or the set stopped halving. The limit
 * is the most a user accepts, not the pause we aim for.
 */
#include "migration/converge.h"

#define PAGE_BYTES        4096ULL
#define NON_SHRINK_LIMIT  2
#define THROTTLE_STEP     20
#define THROTTLE_MAX      99
#define CONVERGE_FLOOR_MS 1

void converge_update_bandwidth(struct converge_state *st, const struct converge_round *r)
{
	uint64_t bw;

	if (!r->duration_ns || !r->sent_bytes)
		return;
	bw = (uint64_t)((double)r->sent_bytes * 1e9 / (double)r->duration_ns);
	st->bandwidth = st->bandwidth ? (st->bandwidth + bw) / 2 : bw;
}

uint64_t converge_expected_downtime_ms(const struct converge_state *st, uint64_t dirty_pages)
{
	if (!st->bandwidth)
		return UINT64_MAX;
	return (uint64_t)((double)dirty_pages * PAGE_BYTES * 1000.0 / (double)st->bandwidth);
}

static bool shrinking(const struct converge_state *st, const struct converge_round *r)
{
	return r->round <= 1 || r->dirty_pages * 100 < st->prev_dirty * 95;
}

static bool halving(const struct converge_state *st, const struct converge_round *r)
{
	return r->round <= 1 || r->dirty_pages * 2 <= st->prev_dirty;
}

enum converge_decision converge_decide(const struct converge_params *p,
				       struct converge_state *st,
				       const struct converge_round *r)
{
	enum converge_decision d = CONVERGE_CONTINUE;
	uint64_t expected;
	bool halved;

	converge_update_bandwidth(st, r);
	halved = halving(st, r);
	st->non_shrinking = shrinking(st, r) ? 0 : st->non_shrinking + 1;
	st->prev_dirty = r->dirty_pages;
	expected = converge_expected_downtime_ms(st, r->dirty_pages);
	if (expected <= p->downtime_limit_ms &&
	    (expected < CONVERGE_FLOOR_MS || !halved || r->round >= p->max_iterations))
		return CONVERGE_STOP_COPY;
	if (r->round >= p->max_iterations)
		return CONVERGE_FORCE;
	if (st->non_shrinking >= NON_SHRINK_LIMIT) {
		if (!p->auto_converge || st->throttle_pct >= THROTTLE_MAX)
			return CONVERGE_FORCE;
		st->throttle_pct += THROTTLE_STEP;
		if (st->throttle_pct > THROTTLE_MAX)
			st->throttle_pct = THROTTLE_MAX;
		st->non_shrinking = 0;
	}
	return d;
}
