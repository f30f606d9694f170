// SPDX-License-Identifier: GPL-2.0-only
/*
 * evloop: epoll plus one-shot timers for pgrd (see evloop.h). Fd
 * registrations are heap records pointed to by epoll's data; a removed
 * record is marked dead and freed after the batch it may still appear in.
 * Timers are a list kept sorted by due time: pgrd has a handful at most.
 */
#include "daemon/evloop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define EVLOOP_BATCH 32

struct watch {
	int fd;
	bool dead;
	evloop_fd_fn fn;
	void *opaque;
	struct watch *next;        /* all watches, live and dead */
};

struct timer {
	uint64_t id, due;
	evloop_timer_fn fn;
	void *opaque;
	struct timer *next;
};

struct evloop {
	int epfd;
	bool quit;
	struct watch *watches;
	struct timer *timers;      /* sorted by due, then id */
	uint64_t next_timer_id;
};

uint64_t evloop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct evloop *evloop_new(void)
{
	struct evloop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int e = errno;

		free(l);
		errno = e;
		return NULL;
	}
	l->next_timer_id = 1;
	return l;
}

void evloop_free(struct evloop *l)
{
	if (!l)
		return;
	while (l->watches) {
		struct watch *w = l->watches;

		l->watches = w->next;
		free(w);
	}
	while (l->timers) {
		struct timer *t = l->timers;

		l->timers = t->next;
		free(t);
	}
	close(l->epfd);
	free(l);
}

static struct watch *find_watch(struct evloop *l, int fd)
{
	for (struct watch *w = l->watches; w; w = w->next)
		if (w->fd == fd && !w->dead)
			return w;
	return NULL;
}

int evloop_add(struct evloop *l, int fd, uint32_t events, evloop_fd_fn fn, void *opaque)
{
	struct watch *w = calloc(1, sizeof(*w));
	struct epoll_event ev = { .events = events };

	if (!w)
		return -ENOMEM;
	*w = (struct watch){ .fd = fd, .fn = fn, .opaque = opaque, .next = l->watches };
	ev.data.ptr = w;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;

		free(w);
		return -e;
	}
	l->watches = w;
	return 0;
}

int evloop_mod(struct evloop *l, int fd, uint32_t events)
{
	struct watch *w = find_watch(l, fd);
	struct epoll_event ev = { .events = events };

	if (!w)
		return -ENOENT;
	ev.data.ptr = w;
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

void evloop_del(struct evloop *l, int fd)
{
	struct watch *w = find_watch(l, fd);

	if (!w)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	w->dead = true;
}

static void reap_watches(struct evloop *l)
{
	struct watch **p = &l->watches;

	while (*p) {
		struct watch *w = *p;

		if (w->dead) {
			*p = w->next;
			free(w);
		} else {
			p = &w->next;
		}
	}
}

uint64_t evloop_timer(struct evloop *l, unsigned int ms, evloop_timer_fn fn, void *opaque)
{
	struct timer *t = calloc(1, sizeof(*t)), **p = &l->timers;

	if (!t)
		return 0;
	*t = (struct timer){ .id = l->next_timer_id++, .due = evloop_now_ms() + ms,
			     .fn = fn, .opaque = opaque };
	while (*p && (*p)->due <= t->due)
		p = &(*p)->next;
	t->next = *p;
	*p = t;
	return t->id;
}

void evloop_cancel(struct evloop *l, uint64_t id)
{
	for (struct timer **p = &l->timers; *p; p = &(*p)->next)
		if ((*p)->id == id) {
			struct timer *t = *p;

			*p = t->next;
			free(t);
			return;
		}
}

/* Fire the timers that are due; a timer set by a handler waits for the next turn. */
static void run_timers(struct evloop *l)
{
	uint64_t now = evloop_now_ms(), last = l->next_timer_id;

	while (l->timers && l->timers->due <= now && l->timers->id < last && !l->quit) {
		struct timer *t = l->timers;

		l->timers = t->next;
		t->fn(t->opaque);
		free(t);
	}
}

static int next_timeout(struct evloop *l)
{
	uint64_t now;

	if (!l->timers)
		return -1;
	now = evloop_now_ms();
	if (l->timers->due <= now)
		return 0;
	return l->timers->due - now > 60000 ? 60000 : (int)(l->timers->due - now);
}

int evloop_run(struct evloop *l)
{
	struct epoll_event evs[EVLOOP_BATCH];

	l->quit = false;
	while (!l->quit) {
		int n = epoll_wait(l->epfd, evs, EVLOOP_BATCH, next_timeout(l));

		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n && !l->quit; i++) {
			struct watch *w = evs[i].data.ptr;

			if (!w->dead)
				w->fn(w->opaque, evs[i].events);
		}
		reap_watches(l);
		run_timers(l);
	}
	return 0;
}

void evloop_quit(struct evloop *l)
{
	l->quit = true;
}
