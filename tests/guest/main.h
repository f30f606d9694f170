/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * main.h: the user-mode (CPL 3, IOPL=3) entry points of the test guest —
 * user_main on the BSP, reached from boot.c, and ap_user_entry on each AP,
 * reached from entry.S — and the heartbeat count the console reports.
 *
 * main.c owns the boot sequence at CPL 3 (command line, memory map lines,
 * TSC calibration, APs, banner) and the BSP's loop (heartbeat, console,
 * its share of the work); the work itself is work.c's.
 */
#ifndef PGR_GUEST_MAIN_H
#define PGR_GUEST_MAIN_H

#include "guest.h"

__noreturn void user_main(u64 unused);
__noreturn void ap_user_entry(u64 cpu);
/* Heartbeat lines printed so far (the last H<seq>). */
u64 main_heartbeats(void);

#endif /* PGR_GUEST_MAIN_H */
