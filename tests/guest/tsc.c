/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tsc.c: TSC calibration against PIT channel 2, at CPL 3 with IOPL=3.
 *
 * Channel 2 is programmed in mode 0 (interrupt on terminal count) with its
 * gate held high through port 0x61; bit 5 of port 0x61 shows its output,
 * which goes high when the count runs out. Both ends of a 50 ms window are
 * bracketed by TSC reads; of up to MAX_WINDOWS windows the tightest is kept,
 * stopping early once one is within 0.2%.
 */
#include "tsc.h"

#define PIT_HZ		1193182UL
#define PIT_CH2		0x42
#define PIT_CMD		0x43
#define PIT_CMD_CH2_MODE0 0xb0	/* channel 2, lobyte/hibyte, mode 0, binary */
#define PORT_61		0x61
#define P61_GATE2	0x01
#define P61_SPEAKER	0x02
#define P61_OUT2	0x20
#define WINDOW_MS	50	/* the PIT counts 16 bits: 54.9 ms at most */
#define MAX_WINDOWS	5
#define GOOD_ENOUGH	500	/* stop once within 0.2% */
#define POLL_LIMIT	10000000UL
#define FALLBACK_KHZ	2000000UL

u64 tsc_khz = FALLBACK_KHZ;

struct window {
	u64 ticks;		/* best estimate of the window in TSC ticks */
	u64 error;		/* +- this much */
};

/*
 * One PIT window of @count PIT ticks. The count starts while the last
 * outb is handled, somewhere in [a, b]; OUT2 rises after the previous poll's
 * read and before this one's, somewhere in [prev, d]. On PVM each port
 * access is a trap of 30-100 us and the vCPU may be preempted in one, so
 * both ends are bracketed and the caller keeps the tightest window.
 */
static bool pit_window(u16 count, struct window *w)
{
	u64 a, b, c, d, prev, lo, hi;
	u64 polls = 0;
	u8 v;

	outb(PORT_61, (inb(PORT_61) & ~P61_SPEAKER) | P61_GATE2);
	outb(PIT_CMD, PIT_CMD_CH2_MODE0);
	outb(PIT_CH2, count & 0xff);
	a = rdtsc();
	outb(PIT_CH2, count >> 8);
	b = rdtsc();
	prev = a;
	for (;;) {
		c = rdtsc();
		v = inb(PORT_61);
		d = rdtsc();
		if (v & P61_OUT2)
			break;
		prev = c;
		if (++polls > POLL_LIMIT)
			return false;
	}
	if (!polls)
		return false;	/* OUT2 high at once: no PIT behind port 0x61 */
	lo = prev > b ? prev - b : 0;
	hi = d - a;
	w->ticks = (lo + hi) / 2;
	w->error = (hi - lo) / 2;
	return true;
}

u64 tsc_calibrate(void)
{
	u16 count = (u16)(PIT_HZ * WINDOW_MS / 1000);
	struct window best = { 0, ~0UL }, w;

	for (int i = 0; i < MAX_WINDOWS; i++) {
		if (!pit_window(count, &w))
			break;
		if (w.error < best.error)
			best = w;
		if (best.error * GOOD_ENOUGH < best.ticks)
			break;
	}
	if (best.ticks)
		tsc_khz = best.ticks * PIT_HZ / ((u64)count * 1000);
	else if (tsc_cpuid_khz())
		tsc_khz = tsc_cpuid_khz();
	return tsc_khz;
}

u64 tsc_cpuid_khz(void)
{
	u32 a, b, c, d;

	cpuid(0x40000000, &a, &b, &c, &d);
	if (a < 0x40000010 || a > 0x400000ff)
		return 0;
	cpuid(0x40000010, &a, &b, &c, &d);
	return a;
}
