/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * evloop: pgrd's single-threaded event loop — epoll for fds, a short list
 * of one-shot millisecond timers, and a quit flag. Every handler runs on
 * the one thread, so the daemon's state needs no locks; a handler must not
 * block (the monitor API, the console and client sockets are all
 * non-blocking).
 *
 * Removing an fd or cancelling a timer from inside any handler is safe:
 * registrations are freed only after the current batch of events.
 * It knows nothing of domains. (pgr-vmm has its own loop in vmm/loop.c;
 * pgrd does not link the monitor's code.)
 */
#ifndef PGR_DAEMON_EVLOOP_H
#define PGR_DAEMON_EVLOOP_H

#include <stdint.h>

struct evloop;

typedef void (*evloop_fd_fn)(void *opaque, uint32_t events);
typedef void (*evloop_timer_fn)(void *opaque);

struct evloop *evloop_new(void);
void evloop_free(struct evloop *l);

/* Watch @fd for @events (EPOLLIN, EPOLLOUT...). 0 or -errno. */
int evloop_add(struct evloop *l, int fd, uint32_t events, evloop_fd_fn fn, void *opaque);
int evloop_mod(struct evloop *l, int fd, uint32_t events);
/* Stop watching @fd (does not close it). Unknown fds are ignored. */
void evloop_del(struct evloop *l, int fd);

/* Call @fn once, @ms milliseconds from now. Returns a timer id (> 0) for
 * evloop_cancel, or 0 when out of memory. */
uint64_t evloop_timer(struct evloop *l, unsigned int ms, evloop_timer_fn fn, void *opaque);
/* Cancel a pending timer; ids of timers that fired or were cancelled are ignored. */
void evloop_cancel(struct evloop *l, uint64_t id);

/* Run until evloop_quit. 0, or -errno if epoll fails. */
int evloop_run(struct evloop *l);
void evloop_quit(struct evloop *l);

/* Monotonic milliseconds. */
uint64_t evloop_now_ms(void);

#endif
