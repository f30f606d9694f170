/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * uart.h: the COM1 16550 at 0x3F8, polled both ways, and print(), which
 * writes one formatted line under a spinlock so lines from different CPUs
 * never interleave. Works at CPL 0 and at CPL 3 with IOPL=3.
 *
 * No interrupts: bytes wait for room in the transmitter (LSR.THRE; with
 * FIFOs on, one THRE allows 16 bytes, written with one rep outsb). Lines
 * end with "\n" only; callers put it in their format.
 */
#ifndef PGR_GUEST_UART_H
#define PGR_GUEST_UART_H

#include "guest.h"

/* 115200 8N1, FIFOs on, interrupts off. */
void uart_init(void);
/* A received byte, or -1 when none is waiting. */
int uart_getc(void);

void print(const char *fmt, ...) __printf(1, 2);
/* For the fault path: gives up waiting for the lock after a while. */
void print_emergency(const char *fmt, ...) __printf(1, 2);

#endif /* PGR_GUEST_UART_H */
