// SPDX-License-Identifier: GPL-2.0-only
/*
 * resolve: peer names off the event loop (see resolve.h). Each lookup runs
 * on a detached thread and hands its result back through a pipe the loop
 * watches. The pipe's write end belongs to the lookups as much as to the
 * resolver: it is closed by whichever lets go of it last, so a lookup that
 * outlives pgrd's shutdown writes into a pipe nobody reads, never into a
 * reused descriptor.
 */
#include "daemon/resolve.h"

#define LOG_SUBSYS "api"
#include "lib/log.h"
#include "daemon/evloop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define MAX_LOOKUPS 16

struct pipe_end {
	int fd;
	int refs;                 /* atomic: the resolver and each lookup */
};

struct resolver {
	struct evloop *loop;
	int rfd;
	struct pipe_end *w;
	int pending;              /* lookups not yet handed back (loop only) */
};

struct lookup {
	struct pipe_end *w;
	struct sockaddr_storage sa;
	char addr[INET6_ADDRSTRLEN];
	char name[NI_MAXHOST];
	bool named;
	resolve_done_fn done;
	void *opaque;
};

static void pipe_end_put(struct pipe_end *w)
{
	if (__atomic_sub_fetch(&w->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		close(w->fd);
		free(w);
	}
}

void resolve_addr_text(const struct sockaddr_storage *sa, char *buf, size_t len)
{
	const struct sockaddr_in6 *s6 = (const void *)sa;

	if (sa->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], buf, len);
	else if (getnameinfo((const struct sockaddr *)sa, sizeof(*sa), buf, len, NULL, 0,
			     NI_NUMERICHOST) != 0)
		snprintf(buf, len, "?");
}

/* The peer's name, if its address resolves to one that resolves back to
 * the address (else a forged PTR record could claim any name). */
static bool confirmed_name(const struct sockaddr_storage *sa, const char *addr, char *name,
			   size_t len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	bool ok = false;

	if (getnameinfo((const struct sockaddr *)sa, sizeof(*sa), name, len, NULL, 0,
			NI_NAMEREQD) != 0)
		return false;
	if (getaddrinfo(name, NULL, &hints, &res) != 0)
		return false;
	for (struct addrinfo *ai = res; ai && !ok; ai = ai->ai_next) {
		char text[INET6_ADDRSTRLEN];

		resolve_addr_text((const struct sockaddr_storage *)ai->ai_addr, text, sizeof(text));
		ok = !strcmp(text, addr);
	}
	freeaddrinfo(res);
	return ok;
}

static void *lookup_thread(void *arg)
{
	struct lookup *k = arg;
	struct pipe_end *w = k->w;

	k->named = confirmed_name(&k->sa, k->addr, k->name, sizeof(k->name));
	if (write(w->fd, &k, sizeof(k)) != sizeof(k))
		free(k);                  /* pgrd has gone: nobody waits for it */
	pipe_end_put(w);
	return NULL;
}

static void results_ready(void *opaque, uint32_t events)
{
	struct resolver *r = opaque;
	struct lookup *k;

	while (read(r->rfd, &k, sizeof(k)) == sizeof(k)) {
		r->pending--;
		k->done(k->opaque, k->addr, k->named ? k->name : NULL);
		free(k);
	}
}

int resolver_start(struct resolver *r, const struct sockaddr_storage *sa, resolve_done_fn done,
		   void *opaque)
{
	struct lookup *k;
	pthread_attr_t attr;
	pthread_t t;
	int err;

	if (r->pending >= MAX_LOOKUPS)
		return -EBUSY;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	*k = (struct lookup){ .w = r->w, .sa = *sa, .done = done, .opaque = opaque };
	resolve_addr_text(sa, k->addr, sizeof(k->addr));
	__atomic_add_fetch(&r->w->refs, 1, __ATOMIC_ACQ_REL);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&t, &attr, lookup_thread, k);
	pthread_attr_destroy(&attr);
	if (err) {
		pipe_end_put(r->w);
		free(k);
		return -err;
	}
	r->pending++;
	return 0;
}

struct resolver *resolver_new(struct evloop *l)
{
	struct resolver *r = calloc(1, sizeof(*r));
	int p[2];

	if (!r)
		return NULL;
	r->w = calloc(1, sizeof(*r->w));
	if (!r->w || pipe2(p, O_CLOEXEC) < 0) {
		free(r->w);
		free(r);
		return NULL;
	}
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	*r->w = (struct pipe_end){ .fd = p[1], .refs = 1 };
	r->loop = l;
	r->rfd = p[0];
	if (evloop_add(l, r->rfd, EPOLLIN, results_ready, r) < 0) {
		close(p[0]);
		pipe_end_put(r->w);
		free(r);
		return NULL;
	}
	return r;
}

void resolver_free(struct resolver *r)
{
	if (!r)
		return;
	if (r->pending)
		pr_debug("abandoning %d peer name lookups", r->pending);
	evloop_del(r->loop, r->rfd);
	close(r->rfd);            /* a late lookup's write fails: EPIPE */
	pipe_end_put(r->w);
	free(r);
}
