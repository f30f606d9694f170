// SPDX-License-Identifier: GPL-2.0-only
/*
 * loop: epoll with a small table of callbacks keyed by fd (see loop.h).
 */
#include "vmm/loop.h"

#define LOG_SUBSYS "loop"
#include "lib/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define LOOP_MAX_FDS 1024

struct watch {
	loop_fn fn;
	void *opaque;
	bool timer;            /* a timerfd: drained before the callback */
};

struct call {
	loop_fn fn;
	void *opaque;
	struct call *next;
};

struct loop {
	int epfd;
	bool quit;
	int status;
	struct watch watches[LOOP_MAX_FDS];
	int call_fd;           /* eventfd: calls queued by other threads */
	pthread_mutex_t call_lock;
	struct call *calls, **calls_tail;
};

static void run_calls(void *opaque, uint32_t events)
{
	struct loop *l = opaque;
	struct call *c, *next;
	uint64_t n;

	if (read(l->call_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&l->call_lock);
	c = l->calls;
	l->calls = NULL;
	l->calls_tail = &l->calls;
	pthread_mutex_unlock(&l->call_lock);
	for (; c; c = next) {
		next = c->next;
		c->fn(c->opaque, 0);
		free(c);
	}
}

int loop_call(struct loop *l, loop_fn fn, void *opaque)
{
	struct call *c = calloc(1, sizeof(*c));
	uint64_t one = 1;

	if (!c)
		return -ENOMEM;
	c->fn = fn;
	c->opaque = opaque;
	pthread_mutex_lock(&l->call_lock);
	*l->calls_tail = c;
	l->calls_tail = &c->next;
	pthread_mutex_unlock(&l->call_lock);
	return write(l->call_fd, &one, sizeof(one)) < 0 ? -errno : 0;
}

struct loop *loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	pthread_mutex_init(&l->call_lock, NULL);
	l->calls_tail = &l->calls;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->epfd < 0 || l->call_fd < 0 ||
	    loop_add(l, l->call_fd, EPOLLIN, run_calls, l) < 0) {
		loop_free(l);
		return NULL;
	}
	return l;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	if (l->call_fd >= 0) {
		run_calls(l, 0);
		close(l->call_fd);
	}
	if (l->epfd >= 0)
		close(l->epfd);
	pthread_mutex_destroy(&l->call_lock);
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

	while (!__atomic_load_n(&l->quit, __ATOMIC_ACQUIRE)) {
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
	uint64_t one = 1;

	l->status = status;
	__atomic_store_n(&l->quit, true, __ATOMIC_RELEASE);
	if (write(l->call_fd, &one, sizeof(one)) < 0)
		pr_warn("waking the loop: %m");
}
