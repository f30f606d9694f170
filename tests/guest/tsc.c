/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tsc.c: TSC calibration against PIT channel 2, at CPL 3 with IOPL=3.
 *
 * Channel 2 is programmed in mode 0 (interrupt on terminal count) with its
 * gate held high through port 0x61; bit 5 of port 0x61 shows its output,
 * which goes high when the count runs out. Each window's end is taken
 * halfway between the last two polls, so the error is about one port read
 * (an exit) per window; the median of a few windows is kept.
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
#define WINDOW_MS	10
#define WINDOWS		3
#define POLL_LIMIT	10000000UL
#define FALLBACK_KHZ	2000000UL

u64 tsc_khz = FALLBACK_KHZ;

/* TSC ticks in one PIT window of @count PIT ticks, or 0 if the PIT is absent. */
static u64 pit_window(u16 count)
{
	u64 start, prev, now;
	u64 polls = 0;

	outb(PORT_61, (inb(PORT_61) & ~P61_SPEAKER) | P61_GATE2);
	outb(PIT_CMD, PIT_CMD_CH2_MODE0);
	outb(PIT_CH2, count & 0xff);
	outb(PIT_CH2, count >> 8);
	start = prev = rdtsc();
	for (;;) {
		u8 v = inb(PORT_61);

		now = rdtsc();
		if (v & P61_OUT2)
			break;
		prev = now;
		if (++polls > POLL_LIMIT)
			return 0;
	}
	if (!polls)
		return 0;	/* OUT2 high at once: no PIT behind port 0x61 */
	return (prev + now) / 2 - start;
}

static void sort_ticks(u64 *v)
{
	for (int i = 0; i < WINDOWS; i++)
		for (int j = i + 1; j < WINDOWS; j++)
			if (v[j] < v[i]) {
				u64 t = v[i];

				v[i] = v[j];
				v[j] = t;
			}
}

u64 tsc_calibrate(void)
{
	u16 count = (u16)(PIT_HZ * WINDOW_MS / 1000);
	u64 ticks[WINDOWS];

	for (int i = 0; i < WINDOWS; i++)
		ticks[i] = pit_window(count);
	sort_ticks(ticks);
	if (ticks[WINDOWS / 2])
		tsc_khz = ticks[WINDOWS / 2] * PIT_HZ / ((u64)count * 1000);
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
