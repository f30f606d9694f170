// SPDX-License-Identifier: GPL-2.0-only
/*
 * migration/uri: the three kinds of migration endpoint — file:PATH,
 * tcp:HOST:PORT and unix:PATH — parsed in one place for both sides.
 */
#include "migration/migration.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int migration_check_uri(const char *uri, char **err)
{
	const char *colon;

	if ((!strncmp(uri, "file:", 5) || !strncmp(uri, "unix:", 5)) && uri[5])
		return 0;
	if (!strncmp(uri, "tcp:", 4) && (colon = strrchr(uri + 4, ':')) &&
	    colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1) &&
	    atoi(colon + 1) > 0 && atoi(colon + 1) < 65536)
		return 0;
	if (asprintf(err, "'%s' is not a migration URI (file:PATH, tcp:HOST:PORT, unix:PATH)",
		     uri) < 0)
		*err = NULL;
	return -EINVAL;
}
