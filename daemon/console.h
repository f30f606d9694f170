/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * console: pgrd's end of one running domain's serial line. pgrd is the
 * monitor's only serial client (its unix: backend takes one at a time), so
 * it can do two things at once: append everything the guest writes to
 * STATE/log/NAME.console, and relay the line to one interactive client
 * (`pgr console`, handed over from the management API) in both directions.
 *
 * Guest output never waits for a slow client: past CONSOLE_MAX_OUT bytes
 * queued, output to the client is dropped (the log keeps it). Client input
 * waits for the serial socket (the monitor stops reading while the guest's
 * receive queue is full, or while the serial line reconnects), so nothing
 * typed is lost. If the serial connection drops while the domain runs, it
 * is retried every 500 ms.
 * It does not interpret the bytes: the escape key is the client's business.
 */
#ifndef PGR_DAEMON_CONSOLE_H
#define PGR_DAEMON_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>

#define CONSOLE_MAX_OUT (256 << 10)

struct evloop;
struct console;

/* Start relaying @serial_path (a monitor's --serial unix: socket) into
 * @log_path. Connection failures are retried. NULL if out of memory. */
struct console *console_new(struct evloop *l, const char *name, const char *serial_path,
			    const char *log_path);
/* Closes the client, if any, and the serial connection. */
void console_free(struct console *c);
/* True when the serial socket is connected. */
bool console_connected(const struct console *c);
/* True when a client is attached. */
bool console_busy(const struct console *c);

/* Give the console client @fd (taken over: closed by the console). @first
 * (@first_len bytes) is sent to the client before any guest output;
 * @input (@input_len bytes) was already read from it and goes to the guest.
 * -EBUSY (fd not taken) if a client is attached and !@force; with @force
 * the old client is disconnected. */
int console_attach(struct console *c, int fd, const char *first, size_t first_len,
		   const char *input, size_t input_len, bool force);

#endif
