// SPDX-License-Identifier: GPL-2.0-only
/*
 * sshcmd: the ssh argv for a pgr+ssh:// URI (see sshcmd.h).
 */
#include "lib/sshcmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sshcmd_init(struct sshcmd *c, const struct pgr_uri *u)
{
	const char *env = getenv("PGR_SSH");
	char *save = NULL;
	int n = 0;

	memset(c, 0, sizeof(*c));
	c->words = strdup(env ? env : "");
	if (!c->words)
		return -ENOMEM;
	for (char *w = strtok_r(c->words, " \t", &save); w && n < SSHCMD_MAX_ARGS - 14;
	     w = strtok_r(NULL, " \t", &save))
		c->argv[n++] = w;
	if (!n)
		c->argv[n++] = "ssh";
	c->argv[n++] = "-o";
	c->argv[n++] = "BatchMode=yes";       /* keys, never a password prompt */
	c->argv[n++] = "-T";
	if (u->port) {
		snprintf(c->port, sizeof(c->port), "%d", u->port);
		c->argv[n++] = "-p";
		c->argv[n++] = c->port;
	}
	if (u->user) {
		c->argv[n++] = "-l";
		c->argv[n++] = u->user;
	}
	c->argv[n++] = u->host;        /* lib/uri refuses one that starts with '-' */
	c->argv[n++] = "pgr";
	c->argv[n++] = "tunnel";
	if (u->path)
		c->argv[n++] = u->path;
	c->argv[n] = NULL;
	return 0;
}

void sshcmd_clear(struct sshcmd *c)
{
	free(c->words);
	c->words = NULL;
}
