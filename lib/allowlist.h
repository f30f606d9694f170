/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * allowlist: which peers the relocation server accepts migrations from, as
 * xend's (xend-relocation-hosts-allow '^localhost$' '^kvm[0-9]+\.example\.com$').
 * The spec is a space-separated list of POSIX extended regular expressions;
 * each must match a whole host name or address (as if written ^...$, which
 * may also be written out), case-insensitively. A pattern may be quoted with
 * '...' or "..." as in xend-config.sxp. An empty spec allows every peer.
 *
 * It only matches strings: resolving the peer's address to a name (and
 * checking that the name resolves back) is the relocation server's job.
 */
#ifndef PGR_ALLOWLIST_H
#define PGR_ALLOWLIST_H

#include <stdbool.h>

struct allowlist;

/* NULL with *err (malloc'd, one line naming the bad pattern; err may be
 * NULL) and errno EINVAL or ENOMEM. spec may be NULL (= allow all). */
struct allowlist *allowlist_new(const char *spec, char **err);
/* True if hostname or addr (either may be NULL) matches some pattern, or
 * the list is empty. An IPv4-mapped IPv6 address (::ffff:192.0.2.1) is also
 * tried as plain IPv4; a host name's trailing dot is ignored. */
bool allowlist_match(const struct allowlist *a, const char *hostname, const char *addr);
/* How many patterns (0: allow all). */
int allowlist_count(const struct allowlist *a);
void allowlist_free(struct allowlist *a);

#endif
