/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * work.c: the memory workload of the test guest (see work.h), at CPL 3.
 *
 * Pattern: word i of page p at generation g is seed(p, g) + i * STEP, where
 * seed is a bijective 64-bit mix of (p << 32 | g): pages, generations and
 * words all differ, so a misplaced page, a stale page or one flipped bit
 * shows. Pacing: a token bucket per CPU and activity, in bytes << 32 per
 * TSC tick, refilled by the time since the CPU's last step but never by more
 * than CATCHUP_MS, so a paused VM does not rush to catch up afterwards.
 *
 * A page found wrong is reported (at most CORRUPT_LINES_PER_PAGE lines, and
 * CORRUPT_LINES_PER_SEC per CPU) and then rewritten at the next generation,
 * so one corruption is counted once rather than in every later sweep.
 */
#include "work.h"
#include "boot.h"
#include "tsc.h"
#include "uart.h"
#include "util.h"

#define STEP		0xd6e8feb86659fd93UL
#define WORDS		(PAGE_SIZE / 8)
#define MAX_RANGES	16
#define RESERVE_PAGES	512		/* default fill leaves 2 MiB free */
#define GEN_PER_PAGE	(PAGE_SIZE / 4)
#define MAX_FILL_MIB	(MAX_RAM / MIB)
#define CATCHUP_MS	10
#define PAGE_Q32	(PAGE_SIZE << 32)
#define MAX_KIB_PER_CPU	((1UL << 22) - 1)	/* keeps kib << 42 in 64 bits */
#define CORRUPT_LINES_PER_PAGE 3
#define CORRUPT_LINES_PER_SEC 20
#define SELFTEST_PAGE	0
#define SELFTEST_WORD	7

struct range {
	u64 first;		/* first data page index in this range */
	u64 base;		/* its guest-physical address */
	u64 npages;
};

struct pacer {
	u64 per_tick;		/* bytes << 32 earned per TSC tick */
	u64 credit;		/* bytes << 32 */
	u64 cap;		/* CATCHUP_MS worth, at least a page */
	bool unlimited;
};

struct cpu_work {
	u64 first, count;	/* this CPU's pages */
	u64 fill_pos, verify_pos;
	u64 sweeps;		/* sweeps this CPU completed */
	u64 last_tsc;
	u64 rng;
	u64 dirtied;
	u64 line_window;	/* CORRUPT line rate limit */
	u32 lines;
	u32 rates_seen;
	bool filled;
	struct pacer dirty, verify;
} __aligned(64);

static struct range ranges[MAX_RANGES];
static u32 nranges;
static u32 *gen;		/* generation of each data page */
static u64 npages;
static u32 ncpus = 1;
static struct cpu_work cw[MAX_CPUS];

static u32 rate_dirty, rate_verify = DEFAULT_VERIFY_MIB;
static u32 rates_gen = 1;	/* bumped when the rates change */
static u32 nfilled;		/* CPUs done filling */
static u64 sweep;		/* sweep in progress, from 1; 0 = not started */
static u32 sweep_done;		/* CPUs done with the current sweep */
static u64 sweep_start;
static u64 corrupt_total;

static u64 pattern_seed(u64 p, u32 g)
{
	return mix64(p << 32 | g);
}

static u64 *page_ptr(u64 p)
{
	for (u32 i = 0; i < nranges; i++)
		if (p - ranges[i].first < ranges[i].npages)
			return (u64 *)(ranges[i].base + (p - ranges[i].first) * PAGE_SIZE);
	return NULL;
}

static void page_write(u64 p, u32 g)
{
	u64 *w = page_ptr(p);
	u64 v = pattern_seed(p, g);

	for (u32 i = 0; i < WORDS; i++, v += STEP)
		w[i] = v;
	gen[p] = g;
}

/* ---- layout ------------------------------------------------------------- */

static void range_insert(u64 base, u64 end)
{
	u32 i = nranges;

	if (end <= base || nranges == MAX_RANGES)
		return;
	for (; i > 0 && ranges[i - 1].base > base; i--)
		ranges[i] = ranges[i - 1];
	ranges[i].base = base;
	ranges[i].npages = (end - base) / PAGE_SIZE;
	nranges++;
}

static u64 collect_free_ram(void)
{
	const struct mmap_entry *m = boot_info.map;
	u64 lo = align_up((u64)_end, PAGE_SIZE), total = 0;

	for (u32 i = 0; i < boot_info.nmap; i++) {
		if (m[i].type != E820_RAM)
			continue;
		range_insert(align_up(max_u64(m[i].addr, lo), PAGE_SIZE),
			     align_down(min_u64(m[i].addr + m[i].size, MAX_RAM), PAGE_SIZE));
	}
	for (u32 i = 0; i < nranges; i++)
		total += ranges[i].npages;
	return total;
}

/* Carve @pages contiguous pages for the generation table off a range. */
static bool place_gen_table(u64 pages)
{
	for (u32 i = 0; i < nranges; i++) {
		if (ranges[i].npages < pages)
			continue;
		gen = (u32 *)ranges[i].base;
		ranges[i].base += pages * PAGE_SIZE;
		ranges[i].npages -= pages;
		return true;
	}
	return false;
}

static void number_pages(u64 want)
{
	u64 first = 0;
	u32 n = 0;

	for (u32 i = 0; i < nranges && first < want; i++) {
		ranges[n] = ranges[i];
		ranges[n].first = first;
		ranges[n].npages = min_u64(ranges[i].npages, want - first);
		first += ranges[n++].npages;
	}
	nranges = n;
	npages = first;
}

static void share_pages(u32 n)
{
	ncpus = n;
	for (u32 c = 0; c < n; c++) {
		cw[c].first = c * npages / n;
		cw[c].count = (c + 1) * npages / n - cw[c].first;
		cw[c].rng = mix64(c + 1) | 1;
	}
}

u64 work_layout(u64 fill_mib, u32 n)
{
	u64 total = collect_free_ram();
	u64 avail = total > RESERVE_PAGES ? total - RESERVE_PAGES : 0;
	u64 want = avail - (avail + GEN_PER_PAGE) / (GEN_PER_PAGE + 1);

	if (fill_mib)
		want = min_u64(want, min_u64(fill_mib, MAX_FILL_MIB) * (MIB / PAGE_SIZE));
	if (!place_gen_table((want + GEN_PER_PAGE - 1) / GEN_PER_PAGE))
		want = 0;
	number_pages(want);
	share_pages(n);
	return npages;
}

/* ---- pacing ------------------------------------------------------------- */

static void pacer_set(struct pacer *p, u64 kib_per_s, bool unlimited)
{
	u64 q32_per_s = min_u64(kib_per_s, MAX_KIB_PER_CPU) << 42;

	p->unlimited = unlimited;
	p->per_tick = q32_per_s / (tsc_khz * 1000);
	p->cap = max_u64(q32_per_s / (1000 / CATCHUP_MS), PAGE_Q32);
	p->credit = min_u64(p->credit, p->cap);
}

static void pacer_add(struct pacer *p, u64 ticks)
{
	ticks = min_u64(ticks, tsc_khz * CATCHUP_MS);
	p->credit = min_u64(p->credit + ticks * p->per_tick, p->cap);
}

static bool pacer_take(struct pacer *p)
{
	if (p->unlimited)
		return true;
	if (p->credit < PAGE_Q32)
		return false;
	p->credit -= PAGE_Q32;
	return true;
}

static void apply_rates(struct cpu_work *c)
{
	u32 g = READ_ONCE(rates_gen);
	u32 d = READ_ONCE(rate_dirty), v = READ_ONCE(rate_verify);

	pacer_set(&c->dirty, (u64)d * 1024 / ncpus, false);
	pacer_set(&c->verify, (u64)v * 1024 / ncpus, v == 0);
	c->rates_seen = g;
}

void work_set_rates(u32 dirty_mib, u32 verify_mib)
{
	WRITE_ONCE(rate_dirty, dirty_mib);
	WRITE_ONCE(rate_verify, verify_mib);
	ATOMIC_ADD(rates_gen, 1);
}

u32 work_dirty_rate(void)
{
	return READ_ONCE(rate_dirty);
}

u32 work_verify_rate(void)
{
	return READ_ONCE(rate_verify);
}

/* ---- verification ------------------------------------------------------- */

static bool line_allowed(struct cpu_work *c, u64 now)
{
	if (now - c->line_window > tsc_khz * 1000) {
		c->line_window = now;
		c->lines = 0;
	}
	return c->lines++ < CORRUPT_LINES_PER_SEC;
}

static void page_bad(struct cpu_work *c, u64 p, u32 g, u32 first, u64 now)
{
	u64 *w = page_ptr(p);
	u64 seed = pattern_seed(p, g), bad = 0;
	u32 lines = 0;

	for (u32 i = first; i < WORDS; i++) {
		u64 want = seed + i * STEP, got = w[i];

		if (got == want)
			continue;
		bad++;
		if (lines < CORRUPT_LINES_PER_PAGE && line_allowed(c, now)) {
			lines++;
			print("CORRUPT page=%lu gpa=0x%lx word=%u expected=0x%lx got=0x%lx\n",
			      p, (u64)w, i, want, got);
		}
	}
	ATOMIC_ADD(corrupt_total, bad);
	page_write(p, g + 1);
}

static void page_verify(struct cpu_work *c, u64 p, u64 now)
{
	u32 g = gen[p];
	const u64 *w = page_ptr(p);
	u64 v = pattern_seed(p, g);

	for (u32 i = 0; i < WORDS; i++, v += STEP)
		if (w[i] != v) {
			page_bad(c, p, g, i, now);
			return;
		}
}

static void sweep_finished(void)
{
	u64 k = READ_ONCE(sweep);

	if (ATOMIC_ADD(sweep_done, 1) != ncpus)
		return;
	print("V%lu pages=%lu ms=%lu corrupt=%lu\n", k, npages,
	      tsc_to_ms(rdtsc() - sweep_start), READ_ONCE(corrupt_total));
	WRITE_ONCE(sweep_done, 0);
	sweep_start = rdtsc();
	WRITE_ONCE(sweep, k + 1);
}

static void verify_one(struct cpu_work *c, u64 now)
{
	if (c->verify_pos < c->count)
		page_verify(c, c->first + c->verify_pos++, now);
	if (c->verify_pos < c->count)
		return;
	c->verify_pos = 0;
	c->sweeps++;
	sweep_finished();
}

/* ---- the step ----------------------------------------------------------- */

static void dirty_one(struct cpu_work *c)
{
	u64 p;

	c->rng ^= c->rng << 13;
	c->rng ^= c->rng >> 7;
	c->rng ^= c->rng << 17;
	p = c->first + c->rng % c->count;
	page_write(p, gen[p] + 1);
	__atomic_store_n(&c->dirtied, c->dirtied + 1, __ATOMIC_RELAXED);
}

static void fill_step(struct cpu_work *c)
{
	if (c->fill_pos < c->count)
		page_write(c->first + c->fill_pos++, 1);
	if (c->fill_pos == c->count) {
		c->filled = true;
		ATOMIC_ADD(nfilled, 1);
	}
}

void work_step(u32 cpu, u64 now)
{
	struct cpu_work *c = &cw[cpu];
	u64 ticks = now - c->last_tsc;
	bool busy = false;

	c->last_tsc = now;
	if (!c->filled) {
		fill_step(c);
		return;
	}
	if (!READ_ONCE(sweep)) {
		cpu_relax();
		return;
	}
	if (c->rates_seen != READ_ONCE(rates_gen))
		apply_rates(c);
	pacer_add(&c->dirty, ticks);
	pacer_add(&c->verify, ticks);
	if (c->count && pacer_take(&c->dirty)) {
		dirty_one(c);
		busy = true;
	}
	if (c->sweeps < READ_ONCE(sweep) && pacer_take(&c->verify)) {
		verify_one(c, now);
		busy = true;
	}
	if (!busy)
		cpu_relax();
}

bool work_filled(void)
{
	return READ_ONCE(nfilled) == ncpus;
}

void work_start(u64 now)
{
	if (!npages)
		return;		/* nothing to verify: no V lines at all */
	sweep_start = now;
	WRITE_ONCE(sweep, 1);
}

void work_corrupt_one(void)
{
	u64 *w;

	if (!npages)
		return;
	w = page_ptr(SELFTEST_PAGE);
	w[SELFTEST_WORD] ^= 1UL << 13;
	print("SELFTEST corrupted page=%u word=%u\n", SELFTEST_PAGE, SELFTEST_WORD);
}

void work_get_stats(struct work_stats *st)
{
	u64 s = READ_ONCE(sweep);

	st->sweeps = s ? s - 1 : 0;
	st->dirtied = 0;
	for (u32 c = 0; c < ncpus; c++)
		st->dirtied += __atomic_load_n(&cw[c].dirtied, __ATOMIC_RELAXED);
	st->corrupt = READ_ONCE(corrupt_total);
}
