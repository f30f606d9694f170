/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * serial: a 16550A UART (COM1, port 0x3f8, IRQ 4) with its backends —
 * stdio, file:PATH, unix:PATH (a listening socket one console client at a
 * time attaches to), pty, null. Output is line-buffered towards the
 * backend (flushed at newline, when full, or by serial_flush from the main
 * loop); input read by the main loop is queued for the guest, and reading
 * stops while the queue is full so nothing typed is lost.
 */
#ifndef PGR_DEVICES_SERIAL_H
#define PGR_DEVICES_SERIAL_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct serial;
struct loop;

extern const struct device_ops serial_ops;

/* Parse a --serial value; 0 or -EINVAL with *err. */
int serial_check_spec(const char *spec, char **err);
struct serial *serial_new(struct vm *vm, const char *spec, char **err);
/* Main loop hooks: register the backend's fds with the loop. */
int serial_attach_loop(struct serial *s, struct loop *loop);
void serial_flush(struct serial *s);
/* Stop reading input (e.g. stdio at EOF) — used by tests with pipes. */
const char *serial_pty_path(struct serial *s);

#endif
