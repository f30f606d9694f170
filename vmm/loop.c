// SPDX-License-Identifier: GPL-2.0-only
/*
 * loop: epoll with a small table of callbacks keyed by fd (see loop.h).
 */
#include "vmm/loop.h"

#define LOG_SUBSYS "loop"
#include "lib/log.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define LOOP_MAX_FDS 1024

struct watch {
	loop_fn fn;
	void *opaque;
	bool timer;            /* a timerfd: drained before the callback */
};

struct loop {
	int epfd;
	bool quit;
	int status;
	struct watch watches[LOOP_MAX_FDS];
};

struct loop *loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	return l;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	close(l->epfd);
	free(l);
}

int loop_add(struct loop *l, int fd, uint32_t events, loop_fn fn, void *opaque)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	if (fd < 0 || fd >= LOOP_MAX_FDS)
		return -EMFILE;
	l->watches[fd] = (struct watch){ .fn = fn, .opaque = opaque };
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 &&
	    (errno != EEXIST || epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0))
		return -errno;
	return 0;
}

int loop_mod(struct loop *l, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

void loop_del(struct loop *l, int fd)
{
	if (fd < 0 || fd >= LOOP_MAX_FDS)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	l->watches[fd] = (struct watch){ 0 };
}

int loop_add_timer(struct loop *l, uint64_t period_ms, loop_fn fn, void *opaque)
{
	struct itimerspec its = {
		.it_interval = { period_ms / 1000, (period_ms % 1000) * 1000000 },
		.it_value = { period_ms / 1000, (period_ms % 1000) * 1000000 },
	};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	int r;

	if (fd < 0)
		return -errno;
	if (timerfd_settime(fd, 0, &its, NULL) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	r = loop_add(l, fd, EPOLLIN, fn, opaque);
	if (r < 0) {
		close(fd);
		return r;
	}
	l->watches[fd].timer = true;
	return fd;
}

int loop_run(struct loop *l)
{
	struct epoll_event evs[32];

	while (!l->quit) {
		int n = epoll_wait(l->epfd, evs, 32, -1);

		if (n < 0 && errno != EINTR) {
			pr_err("epoll_wait: %m");
			return 1;
		}
		for (int i = 0; i < n && !l->quit; i++) {
			struct watch *w = &l->watches[evs[i].data.fd];
			uint64_t ticks;

			if (w->timer && read(evs[i].data.fd, &ticks, sizeof(ticks)) < 0)
				continue;
			if (w->fn)
				w->fn(w->opaque, evs[i].events);
		}
	}
	return l->status;
}

void loop_quit(struct loop *l, int status)
{
	l->quit = true;
	l->status = status;
}
