/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * loop: the monitor's one I/O event loop (epoll) on the main thread: file
 * descriptors with callbacks, and periodic timers. Everything that is not a
 * vCPU or the migration thread happens here, so device backends and the API
 * need no locks among themselves.
 */
#ifndef PGR_VMM_LOOP_H
#define PGR_VMM_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
typedef void (*loop_fn)(void *opaque, uint32_t events);

struct loop *loop_new(void);
void loop_free(struct loop *l);
/* Watch @fd for @events (EPOLLIN, ...); replaces an existing watch. */
int loop_add(struct loop *l, int fd, uint32_t events, loop_fn fn, void *opaque);
int loop_mod(struct loop *l, int fd, uint32_t events);
void loop_del(struct loop *l, int fd);
/* A periodic timer; returns its fd (delete with loop_del + close). */
int loop_add_timer(struct loop *l, uint64_t period_ms, loop_fn fn, void *opaque);
/* From any thread: run @fn(@opaque, 0) on the loop thread soon, in order. */
int loop_call(struct loop *l, loop_fn fn, void *opaque);
/* Run until loop_quit; returns the status given to loop_quit. */
int loop_run(struct loop *l);
/* Any thread may call it. */
void loop_quit(struct loop *l, int status);

#endif
