/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * smp.h: finding the processors (Intel MP table, else ACPI MADT) and
 * starting the APs with INIT-SIPI-SIPI through the xAPIC, all from the BSP
 * at CPL 3 (the LAPIC page is mapped user-accessible). Each AP runs
 * trampoline.S -> entry.S at CPL 0 just long enough to reach long mode and
 * then calls main.c's ap_user_entry at CPL 3.
 *
 * It does not use x2APIC, does not hot-plug, and never sends an interrupt
 * other than INIT and STARTUP.
 */
#ifndef PGR_GUEST_SMP_H
#define PGR_GUEST_SMP_H

#include "guest.h"

/* CPUs running, the BSP (index 0) included; valid after smp_boot(). */
extern u32 smp_ncpus;

/* Find and start the APs one by one; returns smp_ncpus. Needs tsc_khz. */
u32 smp_boot(void);
/* Called by AP @cpu once at CPL 3: prints "CPU <apic id> up", tells the BSP. */
void smp_ap_arrived(u32 cpu);
/* This CPU's initial APIC id (CPUID). */
u32 smp_apic_id(void);

#endif /* PGR_GUEST_SMP_H */
