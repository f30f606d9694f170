/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dial: the byte stream under pgr's connection to a pgrd, from a -c URI
 * (lib/uri) — a unix socket (pgr:///system, pgr+unix:///PATH), TCP to a
 * relocation server (pgr+tcp://HOST[:PORT]/), or an ssh child running
 * `pgr tunnel [SOCKET]` on the other host (pgr+ssh://...), whose stdin and
 * stdout are one end of a socketpair: whatever the URI, the caller gets
 * one socket fd. Speaking the protocol on it is conn.c's job; the tunnel's
 * far end is cmd-tunnel.c. docs/relocation.md, "Connecting".
 */
#ifndef PGR_CLI_DIAL_H
#define PGR_CLI_DIAL_H

#include <stdbool.h>
#include <sys/types.h>

#define PGR_DEFAULT_SOCKET "/run/peregrine/pgrd.sock"
#define DIAL_TCP_TIMEOUT_MS 10000

struct dial {
	int fd;            /* the stream to pgrd */
	char *where;       /* for messages: the socket path, HOST:PORT, or the ssh URI */
	bool remote;       /* TCP or ssh: the greeting may be an error line */
	pid_t ssh_pid;     /* the ssh child, or 0 */
	int ssh_err;       /* a memfd holding ssh's stderr, or -1 */
};

/* The local daemon's socket: @path, else $PGR_SOCKET, else the default. */
const char *dial_local_socket(const char *path);

/* Connect as @uri (NULL: the local daemon) says. 0, or -1 with *err
 * (malloc'd, one line: "failed to connect to pgrd at ..."). */
int dial_open(const char *uri, struct dial *d, char **err);

/* Once the stream has ended: how the ssh child ended and what it said on
 * stderr, as one line ("ssh to kvm2 exited with status 255: ssh: connect
 * to host kvm2 port 22: Connection refused"); NULL if there is no ssh
 * child. Waits for it (a few seconds, then kills it). malloc'd. */
char *dial_ssh_why(struct dial *d);

/* Close the stream and reap the ssh child. */
void dial_close(struct dial *d);

#endif
