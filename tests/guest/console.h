/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * console.h: commands over the serial line, read by polling on the BSP
 * between work steps: rate, verify, echo, stats, reset, poweroff, blk, ping (formats in
 * docs/test-guest.md). A line ends at CR or LF; empty lines are ignored.
 */
#ifndef PGR_GUEST_CONSOLE_H
#define PGR_GUEST_CONSOLE_H

#include "guest.h"

/* Read what the UART has (a bounded amount) and run any complete line. */
void console_poll(void);

#endif /* PGR_GUEST_CONSOLE_H */
