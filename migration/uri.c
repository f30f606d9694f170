// SPDX-License-Identifier: GPL-2.0-only
/*
 * migration/uri: the kinds of migration endpoint — file:PATH,
 * tcp:HOST:PORT, unix:PATH and fd:NAME / fd:N (a socket handed over:
 * named with the API's getfd for migrate, inherited fd number N for
 * --incoming) — checked in one place for both sides. Opening them is
 * channel.c's business.
 */
#include "migration/migration.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

bool migration_fd_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n && n <= MIGRATION_FD_NAME_MAX && strspn(name, NAME_CHARS) == n;
}

int migration_fd_number(const char *uri)
{
	const char *n = uri + 3;
	size_t len;

	if (strncmp(uri, "fd:", 3))
		return -1;
	len = strlen(n);
	if (!len || len > 9 || strspn(n, "0123456789") != len)
		return -1;
	return atoi(n);
}

int migration_check_uri(const char *uri, char **err)
{
	const char *colon;

	if ((!strncmp(uri, "file:", 5) || !strncmp(uri, "unix:", 5)) && uri[5])
		return 0;
	if (!strncmp(uri, "tcp:", 4) && (colon = strrchr(uri + 4, ':')) &&
	    colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1) &&
	    atoi(colon + 1) > 0 && atoi(colon + 1) < 65536)
		return 0;
	if (!strncmp(uri, "fd:", 3) && migration_fd_name_ok(uri + 3))
		return 0;
	if (asprintf(err, "'%s' is not a migration URI (file:PATH, tcp:HOST:PORT, unix:PATH, "
		     "fd:NAME)", uri) < 0)
		*err = NULL;
	return -EINVAL;
}
