/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tsc.h: the guest's only clock. tsc_calibrate() measures the TSC against
 * PIT channel 2 (gated through port 0x61, polled, no interrupt); after it,
 * the conversions below turn TSC ticks into time and back.
 *
 * It does not use kvmclock or HPET: the PIT is there on both our monitor
 * (in-kernel PIT) and QEMU, and polling it needs only port I/O at CPL 3.
 */
#ifndef PGR_GUEST_TSC_H
#define PGR_GUEST_TSC_H

#include "guest.h"

extern u64 tsc_khz;

/* Measure and set tsc_khz; returns it. */
u64 tsc_calibrate(void);
/* The hypervisor's TSC frequency from CPUID 0x40000010, or 0 if absent. */
u64 tsc_cpuid_khz(void);

static inline u64 tsc_from_us(u64 us)
{
	return us * tsc_khz / 1000;
}

static inline u64 tsc_to_us(u64 ticks)
{
	return ticks * 1000 / tsc_khz;
}

static inline u64 tsc_to_ms(u64 ticks)
{
	return ticks / tsc_khz;
}

static inline void udelay(u64 us)
{
	u64 end = rdtsc() + tsc_from_us(us);

	while (rdtsc() < end)
		cpu_relax();
}

#endif /* PGR_GUEST_TSC_H */
