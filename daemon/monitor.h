/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * monitor: pgrd's client for one pgr-vmm's API socket (QMP-shaped JSON
 * lines, docs/api.md): the greeting, commands with numbered ids answered
 * through callbacks, and events passed up as they come. Non-blocking, on
 * the daemon's event loop; any number of commands may be outstanding.
 *
 * It knows the wire protocol, not what the commands mean (vmm.c and
 * lifecycle.c do). A dropped connection is reported once through
 * ops->closed; commands still waiting then are dropped without a call.
 */
#ifndef PGR_DAEMON_MONITOR_H
#define PGR_DAEMON_MONITOR_H

#include <jansson.h>

struct evloop;
struct monitor;

struct monitor_ops {
	void (*ready)(void *opaque);                       /* greeting received */
	void (*event)(void *opaque, const char *name, json_t *data);
	void (*closed)(void *opaque);                      /* EOF or error */
};

/* @ret: the "return" value (borrowed) or NULL; @err: the error's desc, or
 * NULL on success. */
typedef void (*monitor_reply_fn)(void *opaque, json_t *ret, const char *err);

/* Connect to a monitor's socket: a connected non-blocking fd, or -errno
 * (-ENOENT / -ECONNREFUSED while the monitor is not listening yet). */
int monitor_connect(const char *path);
/* Take over @fd (closed by monitor_free). NULL on failure (fd not closed). */
struct monitor *monitor_new(struct evloop *l, int fd, const struct monitor_ops *ops,
			    void *opaque);
/* Safe from inside any of @m's callbacks. */
void monitor_free(struct monitor *m);

/* Send @cmd with @args (stolen; may be NULL). 0 or -errno (-EPIPE when
 * the connection is gone; @fn is then never called). */
int monitor_command(struct monitor *m, const char *cmd, json_t *args,
		    monitor_reply_fn fn, void *opaque);
/* Send @cmd with @fd passed along (SCM_RIGHTS), as `getfd` wants; the
 * caller keeps its own @fd. -EAGAIN while other output is still queued. */
int monitor_command_fd(struct monitor *m, const char *cmd, json_t *args, int fd,
		       monitor_reply_fn fn, void *opaque);
/* The greeting line ({"QMP":...} or a pgrd's {"pgrd":...}), borrowed; NULL before. */
json_t *monitor_greeting(const struct monitor *m);
/* The desc of an {"error":...} line the peer sent instead of a greeting
 * (then closed is reported): a relocation server's refusal. */
const char *monitor_refusal(const struct monitor *m);
int monitor_fd(const struct monitor *m);
/* After closed: the errno that broke the connection (ECONNREFUSED...), 0 for EOF. */
int monitor_error(const struct monitor *m);
/* Take the socket back out (with nothing buffered either way): the fd, or
 * -EPROTO. Pending replies are dropped; the monitor is then only freed. */
int monitor_detach(struct monitor *m);
/* Read and handle whatever the socket already holds (events written just
 * before the monitor exited), without waiting. */
void monitor_drain(struct monitor *m);
/* True once the greeting arrived and until the connection drops. */
int monitor_usable(const struct monitor *m);

#endif
