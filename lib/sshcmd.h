/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sshcmd: the ssh command line of a pgr+ssh:// URI (docs/relocation.md,
 * "Connecting"), the one place it is spelled for both pgr (-c) and pgrd
 * (migrate): $PGR_SSH split on blanks (default "ssh"), then
 * -o BatchMode=yes -T [-p PORT] [-l USER] HOST pgr tunnel [SOCKET].
 * Running it (stdin and stdout one end of a socketpair) is the caller's.
 */
#ifndef PGR_SSHCMD_H
#define PGR_SSHCMD_H

#include "lib/uri.h"

#define SSHCMD_MAX_ARGS 64

struct sshcmd {
	char *argv[SSHCMD_MAX_ARGS];
	char *words;       /* $PGR_SSH's words, which argv points into */
	char port[8];
};

/* Fill @c for @u (an SSH URI). 0, or -ENOMEM. */
int sshcmd_init(struct sshcmd *c, const struct pgr_uri *u);
void sshcmd_clear(struct sshcmd *c);

#endif
