// SPDX-License-Identifier: GPL-2.0-only
/* test-converge: the pre-copy policy, table-driven. */
#include "migration/converge.h"
#include "unit.h"

struct step {
	uint64_t sent_bytes, duration_ms, dirty_pages;
	enum converge_decision want;
	uint32_t want_throttle;
};

struct scenario {
	const char *name;
	struct converge_params p;
	struct step steps[8];
	int nsteps;
};

#define MB (1ULL << 20)

static const struct scenario scenarios[] = {
	{ "idle guest converges after the first pass", { 300, 29, false },
	  { { 768 * MB, 1000, 10, CONVERGE_STOP_COPY, 0 } }, 1 },
	{ "steady dirtier: fits the limit on round 2, keeps halving to the floor", { 50, 29, false },
	  { { 768 * MB, 1000, 20000, CONVERGE_CONTINUE, 0 },
	    { 80 * MB, 100, 2000, CONVERGE_CONTINUE, 0 },
	    { 8 * MB, 10, 150, CONVERGE_STOP_COPY, 0 } }, 3 },
	{ "fits the limit but stopped halving: stop now", { 300, 29, false },
	  { { 768 * MB, 1000, 20000, CONVERGE_CONTINUE, 0 },
	    { 80 * MB, 100, 15000, CONVERGE_STOP_COPY, 0 } }, 2 },
	{ "non-shrinking rounds force stop-and-copy without auto-converge", { 1, 29, false },
	  { { 768 * MB, 1000, 50000, CONVERGE_CONTINUE, 0 },
	    { 200 * MB, 250, 50000, CONVERGE_CONTINUE, 0 },
	    { 200 * MB, 250, 49900, CONVERGE_FORCE, 0 } }, 3 },
	{ "auto-converge throttles instead", { 1, 29, true },
	  { { 768 * MB, 1000, 50000, CONVERGE_CONTINUE, 0 },
	    { 200 * MB, 250, 50000, CONVERGE_CONTINUE, 0 },
	    { 200 * MB, 250, 49900, CONVERGE_CONTINUE, 20 },
	    { 200 * MB, 250, 49900, CONVERGE_CONTINUE, 20 },
	    { 200 * MB, 250, 49900, CONVERGE_CONTINUE, 40 } }, 5 },
	{ "max iterations", { 1, 2, true },
	  { { 768 * MB, 1000, 50000, CONVERGE_CONTINUE, 0 },
	    { 100 * MB, 250, 25000, CONVERGE_FORCE, 0 } }, 2 },
};

int main(void)
{
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		const struct scenario *sc = &scenarios[i];
		struct converge_state st = { 0 };

		for (int k = 0; k < sc->nsteps; k++) {
			const struct step *s = &sc->steps[k];
			struct converge_round r = {
				.round = k + 1, .sent_bytes = s->sent_bytes,
				.duration_ns = s->duration_ms * 1000000ULL, .dirty_pages = s->dirty_pages,
			};
			enum converge_decision d = converge_decide(&sc->p, &st, &r);

			if (d != s->want || st.throttle_pct != s->want_throttle)
				fprintf(stderr, "%s, round %d: decision %d throttle %u\n",
					sc->name, k + 1, d, st.throttle_pct);
			CHECK_EQ_INT(d, s->want);
			CHECK_EQ_INT(st.throttle_pct, s->want_throttle);
		}
	}
	/* Bandwidth: 1 GiB in 1 s, then 0.5 GiB in 1 s averages to 0.75 GiB/s. */
	struct converge_state st = { 0 };
	struct converge_round a = { 1, 1ULL << 30, 1000000000ULL, 0 }, b = { 2, 1ULL << 29, 1000000000ULL, 0 };

	converge_update_bandwidth(&st, &a);
	converge_update_bandwidth(&st, &b);
	CHECK_EQ_U64(st.bandwidth, 3ULL << 28);
	CHECK_EQ_U64(converge_expected_downtime_ms(&st, 196608), 1000);
	return UNIT_DONE();
}
