/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * uri: the connection URIs `pgr -c URI` and `pgr migrate DOM DEST` take, as
 * virsh's qemu:///system and qemu+ssh://host/system:
 *
 *   pgr:///system                    the local daemon, default socket
 *   pgr+unix:///path/to.sock         a local daemon on another socket
 *   pgr+tcp://host[:port]/           a daemon's TCP port (default 8002)
 *   pgr+ssh://[user@]host[:port]/    through ssh (port 0: ssh's own default)
 *   pgr+ssh://[user@]host/path.sock  the same, to a daemon on another socket
 *   host, host:port, [v6addr]:port   a bare migration destination, as
 *                                    `xm migrate DOM host`: pgr+tcp://host/
 *
 * IPv6 literals go in brackets; remote URIs may end in "/system" as virsh
 * users type them (the remote daemon's default socket). An ssh URI's other
 * paths name the remote socket: they go on the remote shell's command line
 * (`pgr tunnel PATH`), so only [A-Za-z0-9/._+,:@=-] is allowed in them.
 * Query strings, fragments and %-escapes are refused.
 * This only parses and prints: connecting is the CLI's and daemon's job.
 */
#ifndef PGR_URI_H
#define PGR_URI_H

#define URI_DEFAULT_PORT 8002
#define URI_LOCAL_PATH "/system"

enum uri_transport { URI_LOCAL, URI_UNIX, URI_TCP, URI_SSH };

struct pgr_uri {
	enum uri_transport transport;
	char *user;     /* SSH only, may be NULL */
	char *host;     /* TCP and SSH: a name or an address, without brackets */
	char *path;     /* LOCAL: "/system"; UNIX: the socket; SSH: the remote
	                 * socket, NULL for the remote daemon's default; TCP: NULL */
	int port;       /* TCP: 1..65535; SSH: 0 (ssh decides) or 1..65535; else 0 */
};

/* 0, or -EINVAL with *err (malloc'd, one line naming the URI; err may be
 * NULL; never freed first). u is overwritten, and left cleared on failure. */
int uri_parse(const char *s, struct pgr_uri *u, char **err);
void uri_clear(struct pgr_uri *u);
/* The canonical spelling (malloc'd), which uri_parse reads back the same;
 * NULL if out of memory. */
char *uri_format(const struct pgr_uri *u);

#endif
