/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * resolve: a relocation peer's forward-confirmed host name, looked up on
 * a thread so that a slow or dead DNS server never stops the event loop
 * (every domain's management runs on it).
 */
#ifndef PGR_DAEMON_RESOLVE_H
#define PGR_DAEMON_RESOLVE_H

#include <sys/socket.h>

struct evloop;
struct resolver;

/* On the event loop: @addr the peer's address as text, @name its name if
 * the address resolves to one that resolves back to it, else NULL. */
typedef void (*resolve_done_fn)(void *opaque, const char *addr, const char *name);

struct resolver *resolver_new(struct evloop *l);
/* Look @sa up; @done gets @opaque later. -EBUSY when too many lookups are
 * already under way, -errno on other failures (then @done is not called). */
int resolver_start(struct resolver *r, const struct sockaddr_storage *sa, resolve_done_fn done,
		   void *opaque);
/* Lookups still under way are abandoned: their @done is never called. */
void resolver_free(struct resolver *r);

/* The address of @sa as text, an IPv4-mapped IPv6 one as plain IPv4. */
void resolve_addr_text(const struct sockaddr_storage *sa, char *buf, size_t len);

#endif
